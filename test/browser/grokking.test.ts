/**
 * The self-improvement page's grokking views, in real headless Chromium on
 * the CPU backend: a share link to the grokking-classroom preset shrunk to a
 * few dozen steps (a ∘ b mod 7, width 8) runs to the end, and the residue
 * view shows both arms' verdicts, its charts with a point per evaluation
 * after step 0, the spectrum with its key-frequency readout, and the
 * milestones table. Screenshot: .scratch/grokking-view.png (git-ignored).
 */
import { expect, test } from 'vitest';
import { openAdjust, openLabPage, useLab, waitForRunStatus } from './harness';

const lab = useLab();

const settings: Record<string, string> = {
  modulus: '7', trainFraction: '0.5', dModel: '8', nHeads: '2', warmStartSteps: '40', cooldownSteps: '10', evalEvery: '10',
};
const shareLink = `#/lab/self-improve?preset=grokking-classroom&seed=1&${new URLSearchParams(settings).toString()}`;

test('grokking-classroom, shrunk: the residue grokking view renders both arms, the charts and the Fourier readout', async () => {
  const { page, errors } = await openLabPage(lab(), shareLink);
  expect(await page.getByRole('radio', { name: /^grokking-classroom/ }).isChecked()).toBe(true);
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitForRunStatus(page, 'done', 120_000);

  const view = page.getByTestId('residue-grokking');
  await view.waitFor();
  expect(await view.getByRole('heading', { level: 2 }).textContent()).toBe('Grokking: + mod 7');
  // Evaluations at steps 0, 10, 20, 30, 40; step 0 is left off the log axis.
  const points = await view.locator('figure.line-chart').evaluateAll((els) => els.map((e) => e.getAttribute('data-points')));
  expect(points).toEqual(['4', '4', '4', '4']);
  expect(await page.getByTestId('grok-verdict').textContent()).toMatch(/With weight decay 1: (detected at step \d+|not detected: .+)\./);
  expect(await page.getByTestId('grok-verdict-none').textContent()).toMatch(/Without weight decay: (detected|not detected)/);
  expect(await page.getByTestId('key-frequencies').textContent()).toMatch(/Key frequencies \(the fewest holding 80% of the power\):\s*[1-3](, [1-3])*/);
  // One bar per frequency 1…3 for each arm.
  expect(await page.getByTestId('fourier-spectrum').locator('rect').count()).toBe(6);
  expect(await page.getByTestId('key-frequencies-over-time').textContent()).toMatch(/step 0: \{[\d, ]+\}.*step 40: \{[\d, ]+\}/s);
  await page.screenshot({ path: '.scratch/grokking-view.png', fullPage: true });
  expect(errors).toEqual([]);
}, 240_000);

test('a long puzzles run (the grokking preset, shrunk to a small model) shows a measured duration estimate before it starts', async () => {
  const small = new URLSearchParams({ dModel: '16', nHeads: '2', batchSize: '8', trainSize: '60', valSize: '20', testSize: '20', seedSetSize: '60' });
  const { page, errors } = await openLabPage(lab(), `#/lab/self-improve?preset=grokking&seed=1&${small.toString()}`);
  const estimate = page.getByTestId('duration-estimate');
  expect(await estimate.textContent()).toContain('20,000 training steps of 8 sequences');
  await estimate.getByRole('button', { name: 'Estimate the duration' }).click();
  await estimate.locator('li').first().waitFor({ timeout: 120_000 });
  const lines = await estimate.locator('li').allTextContents();
  // The CPU is always measured: ms per step and the steps' total in words.
  expect(lines.find((l) => l.startsWith('CPU'))).toMatch(/\d+ ms per step → about (\d+ s|\d+ min \d+ s|\d+ h \d+ min) of training/);
  expect(lines.some((l) => l.startsWith('WebGPU'))).toBe(true);
  expect(errors).toEqual([]);
}, 240_000);
