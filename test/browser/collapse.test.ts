/**
 * The collapse lab page end to end, in real headless Chromium on the CPU
 * backend:
 *   the analytic demos draw at once (Gaussian, then Zipf) → the classroom
 *   preset runs from the page to the end → every chart has a curve for every
 *   mode, embedding diversity says why it was not computed (no model can be
 *   downloaded here), the histogram and the sample viewer fill → an uploaded
 *   corpus: a bad file is refused naming the file, a good one runs, and
 *   validity says it was not computed because a text has no known grammar.
 * Screenshots go to .scratch/collapse*.png (git-ignored): look at them.
 */
import { writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { classroomGrammar } from '../../src/core/grammar/classroom';
import { Rng } from '../../src/core/rng';
import { COLLAPSE_MODES } from '../../src/experiments/collapse/config';
import { openAdjust, openLabPage, useLab, waitForRunStatus } from './harness';

const lab = useLab();

const RUN_TIMEOUT = 360_000;

/** The accessible description of a collapse chart: "title: n points; at generation g: replace 1.2, accumulate …". */
async function chartDescription(page: Page, metric: string): Promise<{ points: number; label: string }> {
  const figure = page.locator(`[data-testid="collapse-charts"] [data-metric="${metric}"] figure.line-chart`);
  return { points: Number(await figure.getAttribute('data-points')), label: (await figure.getAttribute('aria-label')) ?? '' };
}

test('collapse lab: analytic demos, the classroom preset with every mode, an uploaded corpus', async () => {
  const { page, errors } = await openLabPage(lab(), '#/lab/collapse');
  expect(await page.getByRole('link', { name: 'Collapse' }).getAttribute('aria-current')).toBe('page');
  expect(await page.getByRole('radio', { name: /^classroom/ }).isChecked()).toBe(true);

  // --- the analytic demos draw without training anything ----------------------
  const caption = page.getByTestId('analytic-caption');
  await caption.waitFor({ timeout: 60_000 });
  expect(await caption.textContent()).toMatch(/median of [\d.]+ under replace \(theory for the mean: [\d.]+; σ₀² = 1\)/);
  await page.getByRole('tab', { name: 'Zipf vocabulary' }).click();
  await page.waitForFunction(() => /symbols, a median of [\d.,]+ survive/.test(document.querySelector('[data-testid="analytic-caption"]')?.textContent ?? ''), undefined, { timeout: 60_000 });
  await page.locator('#z-v').fill('1');
  await page.getByText('Symbols V: must be an integer from 2').waitFor();
  await page.locator('#z-v').fill('100');

  // --- the classroom preset, from the page, on the CPU -----------------------------
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitForRunStatus(page, 'running', 60_000);
  await page.getByTestId('progress-text').waitFor();
  await waitForRunStatus(page, 'done', RUN_TIMEOUT);
  await page.screenshot({ path: '.scratch/collapse-done.png', fullPage: true });

  for (const metric of ['perplexity', 'validity', 'distinct2', 'tailMass', 'selfBleu', 'entropy', 'trueLogLik']) {
    const d = await chartDescription(page, metric);
    expect(d.points, metric).toBe(6); // generations 0…5
    for (const mode of COLLAPSE_MODES) expect(d.label, `${metric}: ${mode}`).toMatch(new RegExp(`${mode} [\\d.e+-]+`));
  }
  // No embedding model can be downloaded here: the chart says so, and no number stands in for it.
  expect(await page.getByTestId('missing-embeddingDiversity').textContent()).toMatch(/^not computed: /);
  expect(await page.getByTestId('latest').textContent()).toMatch(/replace, generation 5: [\d.]+/);
  // Every mode's numbers are in the table: 1 reference + 6 shared/replace rows + 5 per other mode.
  expect(await page.locator('[data-testid="collapse-table"] tbody tr').count()).toBe(1 + 6 + 5 * 3);
  expect(await page.locator('[data-testid="likelihood-histogram"] figure.line-chart').getAttribute('data-points')).toBe('24');
  expect(await page.locator('[data-testid="sample-viewer"] tbody tr').count()).toBe(6);

  // --- an uploaded corpus: a bad file is refused, a good one runs ---------------------
  const small = {
    corpus: 'upload', generations: '1', realSize: '60', heldOutSize: '30', samplesPerGeneration: '40', firstSteps: '20',
    stepsPerGeneration: '5', modes: 'replace,accumulate', embeddingSamples: '0',
  };
  await page.goto(`${lab().url}/#/lab/collapse?preset=classroom&seed=2&${new URLSearchParams(small).toString()}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Setup' }).waitFor();
  expect(await page.locator('#corpus').inputValue()).toBe('upload');
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
  writeFileSync('.scratch/not-text.txt', Buffer.from([0x68, 0x69, 0x00, 0xff]));
  await page.locator('#corpus-file').setInputFiles('.scratch/not-text.txt');
  expect(await page.getByTestId('upload-error').textContent()).toContain('not-text.txt: not a text file (a NUL byte at byte 2)');
  const g = classroomGrammar();
  const rng = Rng.fromSeed(4);
  const story = Array.from({ length: 150 }, () => g.sample(rng).join(' ')).filter((s) => s.split(' ').length >= 3);
  writeFileSync('.scratch/story.txt', story.map((s) => `${s[0]!.toUpperCase()}${s.slice(1)}.`).join('\n'));
  await page.locator('#corpus-file').setInputFiles('.scratch/story.txt');
  expect(await page.getByTestId('upload-ok').textContent()).toMatch(/story\.txt: \d+ sentences/);
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  // The finished classroom run (seed 1) is on show until the new one (seed 2) takes its place.
  await page.locator('.run-panel .which', { hasText: 'seed 2' }).waitFor({ timeout: 60_000 });
  await waitForRunStatus(page, 'done', RUN_TIMEOUT);
  expect(await page.getByTestId('missing-validity').textContent()).toBe('not computed: an uploaded text has no known grammar');
  expect((await chartDescription(page, 'perplexity')).points).toBe(2);
  await page.screenshot({ path: '.scratch/collapse-upload.png', fullPage: true });

  expect(errors).toEqual([]);
}, 600_000);
