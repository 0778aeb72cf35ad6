/**
 * The diversity lab page end to end in headless Chromium on the CPU: the
 * quick preset (λ ∈ {0, 2}, one replicate) runs from the page; the loss and
 * gradient shares are charted per λ (λ = 0 carries none), the results have
 * the base model and both λ with the change against λ = 0, and the viewer
 * shows each model's answers. A bad λ list names the field. At a laptop's
 * and a phone's width every result lies inside its card (none hidden in a
 * box scrolled sideways); screenshots go to .scratch/.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Lab, openAdjust, startLab } from './harness';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
  mkdirSync('.scratch', { recursive: true });
});

afterAll(async () => {
  await lab?.close();
});

test('diversity lab: a λ sweep from the page, its shares, results and answers', async () => {
  const { page, errors } = await lab.newPage();
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`${lab.url}/#/lab/diversity?preset=quick&seed=1&lambdas=0,x`);
  await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('link-error').textContent()).toMatch(/λ values: item 2: must be a number/);
  await openAdjust(page);
  await page.locator('#lambdas').fill('0, 2');
  await page.locator('#lambdas').dispatchEvent('change');
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') === 'done', undefined, { timeout: 300_000 });

  const share = page.locator('[data-chart="grad-share"] figure.line-chart');
  expect(Number(await share.getAttribute('data-points'))).toBeGreaterThan(1);
  const label = (await share.getAttribute('aria-label')) ?? '';
  expect(label).toMatch(/λ = 0 0(\.0+)?\b/); // λ = 0 carries no share
  expect(label).toMatch(/λ = 2 0\.\d+/);

  const results = page.getByTestId('diversity-table');
  const models = results.locator('[data-lambda]');
  expect(await models.evaluateAll((els) => els.map((e) => e.getAttribute('data-lambda')))).toEqual(['base', '0', '2']);
  const two = results.locator('[data-lambda="2"]');
  // quality in percent, its change against λ = 0 in percentage points
  expect(await two.locator('[data-metric="quality"]').textContent()).toMatch(/\d+\.\d%.*[+−]?\d+\.\d pt.*vs λ = 0/s);
  expect(await two.locator('[data-metric="gradShare"] dd').textContent()).toMatch(/^\s*\d+\.\d%\s*$/); // one replicate: no interval
  expect(await results.locator('[data-lambda="0"] .change').count()).toBe(0); // λ = 0 is the reference
  expect(await page.getByText('one replicate: no confidence intervals').count()).toBe(1);
  expect(await page.locator('[data-testid="diversity-prompt"]').count()).toBeGreaterThan(0);

  for (const [width, height, name] of [[1366, 900, 'desktop'], [390, 844, 'phone']] as const) {
    await page.setViewportSize({ width, height });
    // Every value's box lies inside its model's box, and every model's inside the results: nothing to scroll sideways to.
    const outside = await results.evaluate((root) => {
      const inside = (a: DOMRect, b: DOMRect) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5;
      const box = root.getBoundingClientRect();
      return [...root.querySelectorAll('[data-lambda]')].flatMap((model) => {
        const m = model.getBoundingClientRect();
        const bad = [...model.querySelectorAll('dd')].filter((dd) => !inside(dd.getBoundingClientRect(), m)).map((dd) => dd.textContent);
        return inside(m, box) && root.scrollWidth <= root.clientWidth ? bad : [`${model.getAttribute('data-lambda')} outside`, ...bad];
      });
    });
    expect(outside, `results overflow at ${width}×${height}`).toEqual([]);
    await page.screenshot({ path: `.scratch/diversity-done-${name}.png`, fullPage: true });
    await results.screenshot({ path: `.scratch/diversity-results-${name}.png` });
  }
  expect(errors).toEqual([]);
}, 400_000);
