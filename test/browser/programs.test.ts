/**
 * The programs lab page end to end in headless Chromium, with the pretrained
 * coder: a tiny causal LM the test writes (test/support/tiny-onnx, a
 * 2,048-token context for the program prompts) is served at
 * /tiny-models/coder; the run, started from a share link, loads it through
 * transformers.js in the lab worker (onnxruntime-web's Wasm from the app),
 * and the lab worker's nested sandbox worker (QuickJS's Wasm from the app)
 * runs every program it writes. Its programs are nonsense: they must be run,
 * judged and shown as text (never rendered or run in the page), the charts
 * get one point per iteration, and the direct-answer link points at the
 * self-improvement lab on the same puzzles; a short run there is then shown
 * beside the programs (its answers to each train puzzle); an evaluation-only
 * run is drawn with the first overlaid; a long run is cancelled while the
 * coder writes. No request leaves
 * the dev server. Screenshots: .scratch/programs-tiny.png,
 * .scratch/programs-beside-direct.png.
 */
import { expect, test } from 'vitest';
import { tinyLmFiles } from '../support/tiny-onnx';
import { openAdjust, openLabPage, useLab, waitForRunStatus } from './harness';

const lab = useLab();

const settings: Record<string, string> = {
  pretrainedModel: '/tiny-models/coder', trainSize: '3', valSize: '2', testSize: '2', samplesPerProblem: '2', passK: '2',
  iterations: '1', maxNewTokens: '24', hiddenInputs: '2', timeoutMs: '500',
};

test('programs lab: a tiny local coder writes programs, the nested sandbox judges them, the page shows them as text', async () => {
  const { page, errors } = await openLabPage(lab(), `#/lab/programs?preset=classroom&seed=2&${new URLSearchParams(settings).toString()}`);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const lm = tinyLmFiles({ seed: 5, eosFrom: null, maxPositions: 2048 }).files;
  await page.context().route(`${lab().url}/tiny-models/coder/**`, async (route) => {
    const file = new URL(route.request().url()).pathname.replace('/tiny-models/coder/', '');
    const body = lm[file];
    if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
    await route.fulfill({ status: 200, body: typeof body === 'string' ? body : Buffer.from(body), contentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
  });
  expect(await page.locator('#pretrainedModel').inputValue()).toBe('/tiny-models/coder');
  // The page says the pretrained coder learns in context, not by fine-tuning.
  expect(await page.locator('.lab-shell .intro').textContent()).toMatch(/cannot be fine-tuned in a browser.*in-context/s);

  // What the page showed while the run went: the model's download progress and the text it was writing.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    new MutationObserver(() => {
      for (const id of ['download', 'stream']) {
        const text = document.querySelector(`[data-testid="${id}"]`)?.textContent;
        if (text && !seen.some((s) => s.startsWith(`${id}:`))) seen.push(`${id}: ${text}`);
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForFunction(
    () => ['done', 'failed'].includes(document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? ''),
    undefined,
    { timeout: 300_000 },
  );
  const panel = (await page.locator('.run-panel').textContent()) ?? '';
  await waitForRunStatus(page, 'done', 1000).catch(() => {
    throw new Error(`the run did not finish: ${panel}`);
  });

  expect(await page.getByTestId('coder-in-use').textContent()).toBe('/tiny-models/coder (pretrained, in-context)');
  const loopRun = (await page.locator('li.run.viewing').getAttribute('data-run-id'))!;
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  expect(seen.find((s) => s.startsWith('download:'))).toMatch(/Downloading \/tiny-models\/coder/);
  expect(seen.find((s) => s.startsWith('stream:'))).toMatch(/\/tiny-models\/coder is writing:/);
  // The model's files are kept in the browser's Cache API: a second run does not download them again.
  const cached = await page.evaluate(async () => (await (await caches.open('transformers-cache')).keys()).map((r) => r.url));
  expect(cached.filter((u) => u.startsWith(`${lab().url}/tiny-models/coder/onnx/`)).length).toBeGreaterThan(0);
  expect(await page.getByTestId('latest').textContent()).toMatch(/After iteration 1:.*validation pass@1 \d+\.\d%/s);
  for (const chart of ['pass-chart', 'passk-chart', 'verdict-chart']) {
    expect(await page.locator(`[data-testid="${chart}"] figure`).getAttribute('data-points'), chart).toBe('2');
  }

  // The attempts: every program as text in a <pre>, with its verdict; the validation split by default, 2 problems × 2 programs.
  const browser = page.getByTestId('attempt-browser');
  const attempts = browser.locator('li.attempt');
  expect(await attempts.count()).toBe(4);
  const verdicts = await attempts.evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
  for (const v of verdicts) expect(['passed', 'wrong', 'type', 'error', 'timeout', 'memory', 'output']).toContain(v);
  const pres = browser.getByTestId('program-text');
  expect(await pres.count()).toBe(4);
  // Text only: no element was made from a program, whatever it holds.
  expect(await pres.evaluateAll((els) => els.map((e) => e.childElementCount))).toEqual([0, 0, 0, 0]);
  for (const text of await pres.allTextContents()) expect(text.length).toBeGreaterThan(0);
  await browser.locator('select').nth(1).selectOption('train');
  expect(await browser.locator('li.attempt').count()).toBe(6);

  // The direct-answer mode: a link to the self-improvement lab on the same puzzles.
  const link = await page.getByTestId('direct-link').getAttribute('href');
  expect(link).toMatch(/^#\/lab\/self-improve\?preset=write-up-replica&seed=2&/);
  expect(link).toContain('trainSize=3');
  expect(link).toContain('families=arithmetic%2Crpn%2Cbrackets');

  await page.screenshot({ path: '.scratch/programs-tiny.png', fullPage: true });

  // The direct-answer mode on the same puzzles: a short self-improvement run from that link (a tiny GPT, a few steps)…
  const tinyDirect = new URLSearchParams({
    iterations: '1', warmStartSteps: '2', stepsPerIteration: '2', dModel: '16', nLayers: '1', nHeads: '2', samplesPerProblem: '2', passSamples: '1', passK: '1',
  });
  await page.goto(`${lab().url}/${link!}&${tinyDirect.toString()}`); // same document: a hash change
  await page.getByRole('heading', { name: 'Self-improvement on puzzles' }).waitFor({ timeout: 30_000 });
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitForRunStatus(page, 'done', 120_000);
  // …listed on the programs page with its final accuracy, and shown beside the programs: its answers to each train puzzle.
  await page.goto(`${lab().url}/#/lab/programs`);
  await page.getByTestId('attempt-browser').waitFor({ timeout: 30_000 });
  await page.getByTestId('show-direct').click();
  const direct = page.getByTestId('attempt-browser');
  await direct.locator('select').nth(1).selectOption('train');
  await direct.getByTestId('direct-answer').first().waitFor({ timeout: 10_000 });
  const said = await direct.getByTestId('direct-answer').allTextContents();
  expect(said).toHaveLength(3);
  for (const line of said) expect(line).toMatch(/Direct answers \(self-improvement run, iteration 1\):.*[✓✗].*[✓✗]/s);
  await direct.screenshot({ path: '.scratch/programs-beside-direct.png' });
  await direct.locator('select').nth(1).selectOption('val');
  expect(await direct.getByTestId('direct-answer').first().textContent()).toContain('not stored');
  // The evaluation-only loop (no worked examples) on the same link, with the first run's validation pass@1 overlaid, dashed.
  await page.goto(`${lab().url}/#/lab/programs?preset=classroom&seed=2&${new URLSearchParams({ ...settings, fewShot: '0' }).toString()}`);
  await page.waitForFunction(() => (document.querySelector('#fewShot') as HTMLInputElement | null)?.value === '0');
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitForRunStatus(page, 'running', 30_000);
  await waitForRunStatus(page, 'done', 120_000);
  await page.locator(`li[data-run-id="${loopRun}"]`).getByLabel('Compare').check();
  const passChart = page.getByTestId('pass-chart');
  await passChart.locator('[data-testid="chart-legend"]').getByText(`validation · run ${loopRun.slice(0, 8)}`).waitFor({ timeout: 10_000 });
  expect(await passChart.getByRole('img').getAttribute('aria-label')).toContain(`validation · run ${loopRun.slice(0, 8)} 0.000`);
  expect(await passChart.textContent()).toContain(`Dashed purple: validation pass@1 of run ${loopRun.slice(0, 8)}`);

  // Cancel while the coder writes: a long run (the same link, 1,000 new tokens a program) stops at once, saying so.
  await page.goto(`${lab().url}/#/lab/programs?preset=classroom&seed=2&${new URLSearchParams({ ...settings, maxNewTokens: '1000', iterations: '3' }).toString()}`);
  await page.waitForFunction(() => (document.querySelector('#maxNewTokens') as HTMLInputElement | null)?.value === '1000');
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByTestId('stream').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  await waitForRunStatus(page, 'cancelled', 15_000);
  expect(await page.getByTestId('run-status').textContent()).toContain('Cancelled');
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isEnabled()).toBe(true);

  // Nothing was fetched from anywhere but the dev server (the model, onnxruntime's and QuickJS's Wasm included).
  expect(requests.filter((u) => !u.startsWith(lab().url) && !u.startsWith('data:') && !u.startsWith('blob:'))).toEqual([]);
  expect(errors).toEqual([]);
}, 420_000);
