/**
 * The diversity lab page end to end in headless Chromium on the CPU: the
 * quick preset (λ ∈ {0, 2}, one replicate) runs from the page; the loss and
 * gradient shares are charted per λ (λ = 0 carries none), the table has the
 * base model and both λ with the change against λ = 0, and the viewer shows
 * each model's answers. A bad λ list names the field.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Lab, startLab } from './harness';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
  mkdirSync('.scratch', { recursive: true });
});

afterAll(async () => {
  await lab?.close();
});

test('diversity lab: a λ sweep from the page, its shares, table and answers', async () => {
  const { page, errors } = await lab.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${lab.url}/#/lab/diversity?preset=quick&seed=1&lambdas=0,x`);
  await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('link-error').textContent()).toMatch(/lambdas\.1.*must be a number/);
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
  const rows = page.locator('[data-testid="diversity-table"] tbody tr');
  expect(await rows.count()).toBe(3); // base, λ = 0, λ = 2
  expect(await page.locator('[data-testid="diversity-table"] tr[data-lambda="2"]').textContent()).toMatch(/%.*\n?.*pt/s);
  expect(await page.locator('[data-testid="diversity-samples"] tbody tr').count()).toBeGreaterThan(0);
  await page.screenshot({ path: '.scratch/diversity-done.png', fullPage: true });
  expect(errors).toEqual([]);
}, 400_000);
