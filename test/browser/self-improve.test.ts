/**
 * The self-improvement lab page end to end, in real headless Chromium, on the
 * CPU backend with a tiny config opened from a share link:
 *   start from the page → the accuracy chart gets its first point → reload
 *   after the first checkpoint → the run is in the history as interrupted →
 *   resume it to the end → export the run (run.jsonl) and the model
 *   (.safetensors) → import the run back (a new run, same final accuracies)
 *   → compare the two (dashed series) → an import whose pass@k was not
 *   computed shows "—", not 0 → a bad file and a bad share link each show
 *   their error, naming the line or field.
 * Screenshots go to .scratch/self-improve*.png (git-ignored): look at them.
 */
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { decodeCheckpoint } from '../../src/core/checkpoint';
import { resolveConfig } from '../../src/experiments/config';
import { selfImprove } from '../../src/experiments/self-improve';
import { openAdjust, openLabPage, useLab, waitForRunStatus as waitForStatus } from './harness';

const lab = useLab();

/**
 * A small run. stepsPerIteration is long enough that the reload lands inside
 * iteration 1: 4,000 steps of this model take about 4 s on a 2-core machine
 * (400 steps did not: the whole run was done before the page showed the
 * warm-start checkpoint, on CI and here).
 */
const settings: Record<string, string> = {
  iterations: '2', trainSize: '24', valSize: '8', testSize: '8', seedSetSize: '8', warmStartSteps: '20',
  stepsPerIteration: '4000', passSamples: '2', passK: '2', dModel: '32', nLayers: '1', nHeads: '2',
};
const shareLink = `#/lab/self-improve?preset=classroom&seed=1&${new URLSearchParams(settings).toString()}`;

const RUN_TIMEOUT = 240_000;

function row(page: Page, runId: string): Locator {
  return page.locator(`li[data-run-id="${runId}"]`);
}

async function runStatus(page: Page): Promise<string> {
  return (await page.getByTestId('run-status').getAttribute('data-status')) ?? '';
}

/** Points on the accuracy chart (one per iteration). */
async function accuracyPoints(page: Page): Promise<number> {
  return Number(await page.locator('[data-testid="accuracy-chart"] figure').getAttribute('data-points'));
}

async function waitForAccuracyPoints(page: Page, n: number, timeout: number): Promise<void> {
  await page.waitForFunction(
    (k) => Number(document.querySelector('[data-testid="accuracy-chart"] figure')?.getAttribute('data-points')) >= k,
    n,
    { timeout },
  );
}

/** The ids of the listed runs, newest first. */
async function runIds(page: Page): Promise<string[]> {
  return page.locator('li[data-run-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id') ?? ''));
}

async function download(page: Page, button: Locator): Promise<{ name: string; bytes: Buffer; path: string }> {
  const [d] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const path = await d.path();
  return { name: d.suggestedFilename(), bytes: readFileSync(path), path };
}

test('self-improve lab: run, reload, resume, export, import, compare, bad file, bad link', async () => {
  // --- the share link fills the form ----------------------------------------
  const { page, errors } = await openLabPage(lab(), shareLink);
  expect(await page.getByRole('link', { name: 'Self-improvement' }).getAttribute('aria-current')).toBe('page');
  for (const [field, value] of Object.entries(settings)) expect(await page.locator(`#${field}`).inputValue(), field).toBe(value);
  expect(await page.locator('#seed').inputValue()).toBe('1');
  expect(await page.getByRole('radio', { name: /^classroom/ }).isChecked()).toBe(true);
  expect(await page.getByTestId('link-error').count()).toBe(0);
  expect(await page.getByTestId('changed-fields').textContent()).toContain('changed from classroom');
  await page.waitForFunction(() => /width 32, 1 layer, 2 heads, .* [\d,]+ parameters/.test(document.querySelector('[data-testid="model-summary"]')?.textContent?.replace(/\s+/g, ' ') ?? ''));
  expect(await page.locator('#share-link').inputValue()).toContain(shareLink.replace(/&.*/, ''));

  // --- start on the CPU; the accuracy chart gets iteration 0 -----------------
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitForStatus(page, 'running', 60_000);
  await page.getByTestId('progress-text').waitFor();
  await waitForAccuracyPoints(page, 1, RUN_TIMEOUT);
  expect(await page.getByTestId('latest').textContent()).toMatch(/After iteration 0:.*train \d+\.\d%/s);
  const [runId] = await runIds(page);
  expect(runId).toBeTruthy();
  expect(await row(page, runId!).getAttribute('data-status')).toBe('running');
  await page.screenshot({ path: '.scratch/self-improve-running.png', fullPage: true });
  await page.locator('.run-panel').screenshot({ path: '.scratch/self-improve-run-panel.png' });

  // --- reload once the first checkpoint is saved ---------------------------
  await page.waitForFunction(
    () => (document.querySelector('[data-testid="run-log"]')?.textContent ?? '').includes('saved after the warm start'),
    undefined,
    { timeout: RUN_TIMEOUT },
  );
  expect(await runStatus(page), 'the run must still be going when the page reloads').toBe('running');
  await page.reload();

  // The newest run opens by itself, marked interrupted, with what it had saved.
  await page.getByRole('heading', { name: 'Setup' }).waitFor();
  await row(page, runId!).waitFor({ timeout: 30_000 });
  await page.waitForFunction((id) => document.querySelector(`li[data-run-id="${id}"]`)?.getAttribute('data-status') === 'interrupted', runId, {
    timeout: 30_000,
  });
  expect(await row(page, runId!).getByTestId('run-status-badge').textContent()).toBe('interrupted — resume?');
  await waitForStatus(page, 'interrupted', 30_000);
  expect(await page.getByTestId('run-status').textContent()).toContain('Resume continues from its last checkpoint');
  expect(await accuracyPoints(page)).toBeGreaterThanOrEqual(1); // on a loaded machine the run may also have saved iteration 1 before the reload
  await page.screenshot({ path: '.scratch/self-improve-interrupted.png', fullPage: true });

  // --- resume it to the end ---------------------------------------------------
  await row(page, runId!).getByRole('button', { name: 'Resume', exact: true }).click();
  await waitForStatus(page, 'running', 60_000);
  // A fast machine may have saved iteration 1 as well before the reload; either is its last checkpoint.
  expect(await page.getByTestId('run-log').textContent()).toMatch(/resumed after (the warm start|iteration 1)/);
  await waitForStatus(page, 'done', RUN_TIMEOUT);
  await waitForAccuracyPoints(page, 3, 10_000);
  expect(await accuracyPoints(page)).toBe(3);
  await page.waitForFunction((id) => document.querySelector(`li[data-run-id="${id}"]`)?.getAttribute('data-status') === 'done', runId);
  const finalLine = (await row(page, runId!).locator('.result').textContent())!.replace(/·\s*[\d.]+ [KMG]?i?B\s*$/, '').trim();
  expect(finalLine).toMatch(/^after iteration 2: validation \d+\.\d% · test \d+\.\d%/);
  expect(await page.getByTestId('latest').textContent()).toContain('After iteration 2');
  expect(await page.getByTestId('grok-result').textContent()).toMatch(/Not detected|Detected at step/);
  expect(await page.locator('section[aria-labelledby="samples-title"] tbody tr').count()).toBeGreaterThan(0);
  // The run's own link carries the same settings as the link it was started from.
  const runLink = new URL(await page.locator('#run-link').inputValue());
  const query = (hash: string) => Object.fromEntries(new URLSearchParams(hash.split('?')[1]));
  // A setting equal to the classroom preset's own value is not an override, so the run's link leaves it out.
  const classroom = resolveConfig(selfImprove, 'classroom', {}) as Record<string, unknown>;
  const overrides = Object.fromEntries(Object.entries(query(shareLink)).filter(([k, v]) => String(classroom[k]) !== v));
  expect(query(runLink.hash)).toEqual(overrides);
  await page.screenshot({ path: '.scratch/self-improve.png', fullPage: true });

  // --- export the run and the model ------------------------------------------
  const jsonl = await download(page, row(page, runId!).getByRole('button', { name: 'Export JSONL' }));
  expect(jsonl.name).toMatch(/^self-improve-seed1-[0-9a-f]{8}\.jsonl$/);
  const lines = jsonl.bytes.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const header = lines[0] as { format: string; run: { status: string; config: Record<string, unknown>; summary: { iterations: unknown[] } } };
  expect(header.format).toBe('symbiosis-lab/run');
  expect(header.run.status).toBe('done');
  expect(header.run.config.stepsPerIteration).toBe(Number(settings.stepsPerIteration));
  const iterationRecords = lines.filter((l) => (l.metrics as { kind?: string } | undefined)?.kind === 'iteration');
  expect(iterationRecords.map((l) => (l.metrics as { iteration: number }).iteration)).toEqual([0, 1, 2]);

  const model = await download(page, row(page, runId!).getByRole('button', { name: 'Export model' }));
  expect(model.name).toMatch(/^self-improve-seed1-[0-9a-f]{8}\.safetensors$/);
  const checkpoint = decodeCheckpoint(new Uint8Array(model.bytes));
  expect(checkpoint.config.dModel).toBe(32);
  expect(checkpoint.meta.experiment).toBe('self-improve');
  expect(checkpoint.meta.checkpoint).toBe('iteration 2');

  // --- import it back: a new run with the same final accuracies ---------------
  await page.locator('#import-run').setInputFiles(jsonl.path);
  await page.getByText(/^Imported .* as a new run/).waitFor({ timeout: 30_000 });
  const ids = await runIds(page);
  expect(ids).toHaveLength(2);
  const importedId = ids.find((id) => id !== runId)!;
  const imported = row(page, importedId);
  expect(await imported.textContent()).toContain('imported from');
  expect(await imported.getAttribute('data-status')).toBe('done');
  const importedLine = (await imported.locator('.result').textContent())!.replace(/·\s*[\d.]+ [KMG]?i?B\s*$/, '').trim();
  expect(importedLine).toBe(finalLine);
  // The imported run is the one shown now; its charts come from the file.
  await page.waitForFunction((id) => document.querySelector(`li[data-run-id="${id}"]`)?.classList.contains('viewing'), importedId);
  await waitForAccuracyPoints(page, 3, 10_000);
  expect(await imported.getByRole('button', { name: 'Export model' }).count()).toBe(0); // metrics only, no checkpoint

  // --- compare: the other run's validation accuracy, dashed -------------------
  await row(page, runId!).getByLabel('Compare').check();
  const legend = page.locator('section[aria-labelledby="charts-title"] > [data-testid="chart-legend"]'); // one key for the panel
  await legend.getByText(`validation · run ${runId!.slice(0, 8)}`).waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="accuracy-chart"]').screenshot({ path: '.scratch/self-improve-compare.png' });

  // --- a metric that was not computed is "—", never 0 --------------------------
  const noPass = jsonl.bytes.toString('utf8').trim().split('\n').map((l, i) => {
    const line = JSON.parse(l) as { run?: { config: Record<string, unknown> }; metrics?: Record<string, unknown> };
    if (i === 0) line.run!.config.passSamples = 0;
    if (line.metrics?.kind === 'iteration') {
      line.metrics.passAtK = null;
      line.metrics.passAt1 = null;
    }
    return JSON.stringify(line);
  }).join('\n') + '\n';
  await page.locator('#import-run').setInputFiles({ name: 'no-pass-at-k.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(noPass) });
  await page.getByText(/^Imported no-pass-at-k\.jsonl as a new run/).waitFor({ timeout: 30_000 });
  await page.getByTestId('pass-missing').waitFor({ timeout: 10_000 });
  expect(await page.getByTestId('latest').textContent()).toMatch(/validation pass@2\s*—/);
  const noPassId = (await runIds(page)).find((id) => id !== runId && id !== importedId)!;
  await row(page, noPassId).getByRole('button', { name: 'Delete…' }).click();
  await row(page, noPassId).getByRole('button', { name: 'Delete', exact: true }).click();
  await row(page, noPassId).waitFor({ state: 'detached', timeout: 10_000 });

  // --- a bad file: its error names what is wrong, and nothing is imported -------
  await page.locator('#import-run').setInputFiles({ name: 'bad.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from('{"hello":1}\n') });
  const importError = page.getByTestId('history-error');
  await importError.waitFor({ timeout: 30_000 });
  expect(await importError.textContent()).toMatch(/could not import bad\.jsonl: run file, line 1: not a Symbiosis Lab run file/);
  const cut = jsonl.bytes.toString('utf8').trim().split('\n').slice(0, 3).join('\n') + '\n';
  await page.locator('#import-run').setInputFiles({ name: 'cut.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(cut) });
  await page.waitForFunction(() => (document.querySelector('[data-testid="history-error"]')?.textContent ?? '').includes('cut.jsonl'));
  expect(await importError.textContent()).toMatch(/counts\.metrics: the header announces \d+ metrics lines but the file has 2/);
  expect(await runIds(page)).toHaveLength(2);
  await page.locator('section[aria-labelledby="history-title"]').screenshot({ path: '.scratch/self-improve-history.png' });

  // --- a bad share link: the error names each field -----------------------------
  await page.goto(`${lab().url}/#/lab/self-improve?preset=classroom&seed=1&iterations=lots&colour=blue`); // same document: a hash change
  const linkError = page.getByTestId('link-error');
  await linkError.waitFor({ timeout: 10_000 });
  const linkText = (await linkError.textContent()) ?? '';
  expect(linkText).toContain('Iterations: must be an integer from 0 to 10000 (the link says “lots”)');
  expect(linkText).toContain('colour: unknown key (the link says “blue”)');
  expect(await page.locator('#iterations-error').textContent()).toContain('Iterations: must be an integer from 0 to 10000');
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
  await page.screenshot({ path: '.scratch/self-improve-bad-link.png' });
  // A rule across fields, on a fresh load of the link.
  await page.goto(`${lab().url}/#/lab/self-improve?preset=classroom&seed=1&nHeads=3`);
  await page.reload();
  await linkError.waitFor({ timeout: 30_000 });
  expect(await linkError.textContent()).toContain('Heads: must divide Width (64) (the link says “3”)');
  expect(await page.locator('#nHeads-error').textContent()).toBe('Heads: must divide Width (64)');
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);

  // A bad seed in a link is named too, and the rest of the link still fills the form.
  await page.goto(`${lab().url}/#/lab/self-improve?preset=grokking&seed=-4&dModel=64`);
  await page.waitForFunction(() => (document.querySelector('[data-testid="link-error"]')?.textContent ?? '').includes('Seed: must be a non-negative integer'));
  expect(await page.getByRole('radio', { name: /^grokking(?!-)/ }).isChecked()).toBe(true);
  expect(await page.locator('#dModel').inputValue()).toBe('64');

  // Editing the form: the URL follows it, and settings that ask for more puzzles than exist are caught before a run.
  await page.locator('#seed').fill('2');
  await page.locator('#dModel').fill('32');
  await page.locator('#minDifficulty').fill('1');
  await page.locator('#maxDifficulty').fill('1'); // modular arithmetic mod 5: 25 puzzles, the preset asks for 4,000
  await page.waitForFunction(() => /^#\/lab\/self-improve\?preset=grokking&seed=2&dModel=32&maxDifficulty=1&minDifficulty=1$/.test(location.hash));
  const dataError = page.getByTestId('data-error');
  await dataError.waitFor({ timeout: 30_000 });
  expect(await dataError.textContent()).toMatch(/^sizes: not enough distinct puzzles/);
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
  await page.locator('section[aria-labelledby="setup-title"]').screenshot({ path: '.scratch/self-improve-setup.png' });

  expect(errors).toEqual([]);
});
