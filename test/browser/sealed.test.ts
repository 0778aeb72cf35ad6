/**
 * Sealed boundaries: text that looks like HTML stays text. For each lab, a
 * run file whose sample rows (model outputs, prompts, dataset texts), error
 * and file name carry `<img src=x onerror=…>`, `</script><script>…`, a
 * right-to-left override and a 1 MB line is imported, the lab page opened
 * and the run viewed; a share link carrying the same strings is opened too.
 * Nothing may run (the handlers set window.__sealed), no <img src=x> or
 * injected <script> may appear in the document, the page must stay
 * responsive and report no error, and the strings must be shown as text
 * where the page shows them (the history's file name and error always).
 */
import { expect, test } from 'vitest';
import { experimentByName } from '../../src/experiments';
import { RUN_FILE_FORMAT, RUN_FILE_VERSION } from '../../src/experiments/run-file';
import { useLab } from './harness';

const lab = useLab();

const IMG = '<img src=x onerror="window.__sealed=\'img\'">sealed-img';
const SCRIPT = '</script><script>window.__sealed=\'script\'</script>sealed-script';
const RTL = '\u202Esealed-rtl\u202C gnp.exe';
const MB_LINE = `sealed-long ${'W'.repeat(1_000_000)}`;

/** Sample rows and their position, per lab, every text field hostile. */
const SAMPLES: Record<string, { at: unknown; rows: unknown[] }> = {
  'self-improve': {
    at: { iteration: 1 },
    rows: [{
      split: 'train', family: 'reverse', difficulty: 1, prompt: IMG, answer: SCRIPT,
      attempts: [{ text: `${RTL} ${MB_LINE}`, correct: false, reason: IMG }, { text: SCRIPT, correct: true, reason: null }],
    }],
  },
  collapse: {
    at: { generation: 1, mode: 'replace' },
    rows: [
      { kind: 'viewer', mode: 'replace', generation: 1, prompt: IMG, text: `${SCRIPT} ${RTL}`, valid: false, reason: IMG },
      { kind: 'sample', mode: 'replace', generation: 1, prompt: '', text: MB_LINE, valid: null, reason: null },
    ],
  },
  diversity: {
    at: { replicate: 0, lambda: null },
    rows: [{
      model: 'base', lambda: null, replicate: 0, split: 'train', target: 1, prompt: IMG, seeds: [SCRIPT, RTL],
      samples: [{ text: `${SCRIPT} ${MB_LINE}`, correct: false, reason: null, detail: IMG }],
    }],
  },
  programs: {
    at: { iteration: 1 },
    rows: [{
      split: 'train', family: 'reverse', difficulty: 1, prompt: IMG, input: SCRIPT, answer: RTL, examples: 1,
      attempts: [{
        program: `function solve(x) { return '${SCRIPT}'; } // ${MB_LINE}`, outcome: 'value', output: IMG, printed: SCRIPT, verdict: 'wrong',
        message: RTL, hiddenPassed: 0, hidden: 2, generalises: false, hiddenFailure: { input: IMG, expected: SCRIPT, got: RTL },
      }],
    }],
  },
  symbiosis: {
    at: { replicate: 0, generation: 1, method: 'symbiosis' },
    rows: [{
      replicate: 0, generation: 1, method: 'symbiosis', text: `${IMG} ${MB_LINE}`, label: SCRIPT, prompt: { text: RTL, label: IMG },
      predicted: SCRIPT, correct: false, helped: 0.1,
    }],
  },
};

function runFile(experiment: string): string {
  const exp = experimentByName(experiment);
  const samples = SAMPLES[experiment]!;
  return [
    {
      format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION, counts: { metrics: 0, samples: 1, dataset: 0 },
      run: {
        experiment, preset: null, seed: 1, config: exp.config.defaults, environment: { backend: 'cpu', description: RTL },
        status: 'failed', summary: null, error: `${IMG} ${SCRIPT} ${RTL}`,
      },
    },
    { samples },
  ].map((x) => JSON.stringify(x)).join('\n') + '\n';
}

const PAGES: [string, string][] = [
  ['self-improve', 'self-improve'], ['collapse', 'collapse'], ['diversity', 'diversity'], ['programs', 'programs'], ['symbiosis', 'symbiosis'],
];

test.each(PAGES)('%s: hostile text in an imported run and a share link is shown as text, never run', async (experiment, route) => {
  const { page, errors } = await lab().newPage();
  // Import through the persistence page (the same origin's database as the app's).
  await page.goto(`${lab().url}/test/browser/pages/persist.html`);
  await page.waitForFunction(() => window.persistReady === true);
  const runId = await page.evaluate(
    ({ text, name }) => window.lab.importRun(new File([text], name)).then((r) => r.runId),
    { text: runFile(experiment), name: `${IMG}.jsonl` },
  );
  await page.goto(`${lab().url}/#/lab/${route}`);
  await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
  const item = page.locator(`[data-run-id="${runId}"]`);
  await item.waitFor({ timeout: 30_000 });
  const listed = (await item.textContent()) ?? '';
  await item.locator('button', { hasText: /^View/ }).click();
  await page.waitForTimeout(1500);
  // Open every disclosure, so that collapsed sample viewers render their rows too.
  await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
  await page.waitForTimeout(500);

  const state = await page.evaluate(() => ({
    ran: (window as unknown as { __sealed?: string }).__sealed ?? null,
    images: document.querySelectorAll('img[src="x"]').length,
    scripts: [...document.scripts].filter((s) => s.textContent?.includes('__sealed')).length,
    text: document.body.textContent ?? '',
  }));
  expect(state.ran, 'an injected handler ran').toBeNull();
  expect(state.images).toBe(0);
  expect(state.scripts).toBe(0);
  // The history shows the file name and the error as text.
  expect(listed).toContain(IMG);
  expect(listed).toContain(SCRIPT);
  const shown = ['sealed-img', 'sealed-script', 'sealed-rtl', 'sealed-long'].filter((m) => state.text.includes(m));
  console.log(`${experiment}: shown as text: ${shown.join(', ')}; long line ${state.text.includes(MB_LINE) ? 'whole' : 'not shown whole'}`);

  // A share link with the same strings: refused field values, shown as text.
  await page.goto(`${lab().url}/#/lab/${route}?seed=${encodeURIComponent(IMG)}&${encodeURIComponent(SCRIPT)}=${encodeURIComponent(RTL)}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
  await page.waitForTimeout(500);
  const link = await page.evaluate(() => ({
    ran: (window as unknown as { __sealed?: string }).__sealed ?? null,
    images: document.querySelectorAll('img[src="x"]').length,
    text: document.body.textContent ?? '',
  }));
  expect(link.ran).toBeNull();
  expect(link.images).toBe(0);
  expect(link.text).toContain('sealed-img');
  // Still responsive.
  expect(await page.evaluate(() => 1 + 1)).toBe(2);
  expect(errors).toEqual([]);
  await page.context().close();
});
