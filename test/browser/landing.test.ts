/**
 * The start page and the precomputed runs (public/runs) in real headless
 * Chromium, with nothing stored in the browser:
 *   - the start page is the default route; each lab's card draws its
 *     precomputed run (a chart with points) and its key numbers equal what
 *     the shipped file holds, read here from the file's JSON lines (not
 *     through the page's report code);
 *   - axe-core finds no serious or critical violation on it, at 1366×900 and
 *     390×844 (screenshots of both in .scratch/);
 *   - each lab page opens on its precomputed run and says so, with nothing
 *     added to the run history, and axe-core finds no serious or critical
 *     violation with those results shown, at 1366×900 and 390×844; "Keep a copy" imports it, and
 *     after a reload the page opens on that stored run instead.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { SYMBIOSIS_METHODS, methodLabel } from '../../src/experiments/symbiosis/report';
import { formatNumber, formatPercent } from '../../src/ui/format';
import { axeReport } from './axe';
import { openLabPage, useLab, waitForRunStatus } from './harness';

const lab = useLab();

const RUNS = new URL('../../public/runs/', import.meta.url);
type Json = Record<string, unknown> & { kind: string };
interface Entry { experiment: string; file: string; id: string; preset: string; seed: number }
const index = JSON.parse(readFileSync(new URL('index.json', RUNS), 'utf8')) as { runs: Entry[] };
const LABS = ['self-improve', 'collapse', 'diversity', 'symbiosis', 'programs'];

/** A shipped file's metric records, straight from its JSON lines. */
function recordsOf(experiment: string): Json[] {
  const entry = index.runs.find((e) => e.experiment === experiment)!;
  return readFileSync(new URL(entry.file, RUNS), 'utf8').trim().split('\n').slice(1)
    .map((line) => JSON.parse(line) as { metrics?: Json })
    .flatMap((l) => (l.metrics ? [l.metrics] : []));
}

const num = (x: unknown) => (x === null ? NaN : (x as number));
const firstLast = <T>(xs: T[], key: (x: T) => number): [T, T] => {
  const sorted = [...xs].sort((a, b) => key(a) - key(b));
  return [sorted[0]!, sorted.at(-1)!];
};

/** What each card must say, computed from the file alone: label → value. */
function expectedNumbers(experiment: string): Record<string, string> {
  const records = recordsOf(experiment);
  const of = (kind: string) => records.filter((r) => r.kind === kind);
  switch (experiment) {
    case 'self-improve': {
      const [a, b] = firstLast(of('iteration'), (r) => num(r.iteration));
      const acc = (r: Json, s: string) => (r.accuracy as Record<string, number | null>)[s];
      return {
        [`validation accuracy, iteration ${a.iteration} → ${b.iteration}`]: `${formatPercent(acc(a, 'val'))} → ${formatPercent(acc(b, 'val'))}`,
        [`test accuracy, iteration ${a.iteration} → ${b.iteration}`]: `${formatPercent(acc(a, 'test'))} → ${formatPercent(acc(b, 'test'))}`,
      };
    }
    case 'collapse': {
      const out: Record<string, string> = {};
      for (const mode of ['replace', 'accumulate']) {
        const [a, b] = firstLast(of('generation').filter((r) => r.mode === mode), (r) => num(r.generation));
        out[`perplexity under ${mode}, generation ${a.generation} → ${b.generation}`] = `${formatNumber(num(a.perplexity), 3)} → ${formatNumber(num(b.perplexity), 3)}`;
      }
      return out;
    }
    case 'diversity': {
      // The run's own aggregates, on the seen targets (train) where the objective acts.
      const tuned = of('aggregate').filter((r) => r.model === 'fine-tuned' && r.split === 'train');
      const [a, b] = firstLast(tuned, (r) => num(r.lambda));
      const mean = (r: Json, m: string) => (r.metrics as Record<string, { mean: number | null }>)[m]!.mean;
      return {
        [`Distinct-2, λ = ${a.lambda} → ${b.lambda}`]: `${formatNumber(mean(a, 'distinct2'), 3)} → ${formatNumber(mean(b, 'distinct2'), 3)}`,
        [`correct answers, λ = ${a.lambda} → ${b.lambda}`]: `${formatPercent(mean(a, 'quality'))} → ${formatPercent(mean(b, 'quality'))}`,
      };
    }
    case 'symbiosis': {
      const out: Record<string, string> = {};
      for (const method of SYMBIOSIS_METHODS) {
        const rows = of('generation').filter((r) => r.method === method);
        if (rows.length === 0) continue; // a method the preset does not run (tiny has no Symbiosis-balanced)
        const last = Math.max(...rows.map((r) => num(r.generation)));
        const finals = rows.filter((r) => r.generation === last).map((r) => num(r.testAccuracy));
        out[`${methodLabel(method)}, generation ${last}`] = formatPercent(finals.reduce((s, x) => s + x, 0) / finals.length);
      }
      return out;
    }
    case 'programs': {
      const [a, b] = firstLast(of('iteration'), (r) => num(r.iteration));
      const val = (r: Json, m: string) => (r.scores as Record<string, Record<string, number>>).val![m];
      const span = `iteration ${a.iteration} → ${b.iteration}`;
      return {
        [`validation pass@1, ${span}`]: `${formatPercent(val(a, 'passAt1'))} → ${formatPercent(val(b, 'passAt1'))}`,
        [`passing validation programs that also pass every hidden input, iteration ${b.iteration}`]: formatPercent(val(b, 'generalShare')),
      };
    }
    default:
      throw new Error(`no expectation for ${experiment}`);
  }
}

async function cardNumbers(page: Page, experiment: string): Promise<Record<string, string>> {
  const rows = page.locator(`[data-testid="lab-card"][data-lab="${experiment}"] [data-testid="card-number"]`);
  const pairs = await rows.evaluateAll((els) => els.map((el) => [el.querySelector('dt')?.textContent?.trim() ?? '', el.querySelector('dd')?.textContent?.trim() ?? '']));
  return Object.fromEntries(pairs);
}

test('the start page shows every lab with its precomputed run: charts, numbers equal to the files, no serious axe finding', async () => {
  expect(index.runs.map((e) => e.experiment).sort()).toEqual([...LABS].sort());
  const { page, errors } = await lab().newPage();
  for (const [width, height, name] of [[1366, 900, 'desktop'], [390, 844, 'phone']] as const) {
    await page.setViewportSize({ width, height });
    await page.goto(`${lab().url}/`);
    await page.getByRole('heading', { name: /Small language models, trained in your browser/ }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole('link', { name: 'Start', exact: true }).getAttribute('aria-current')).toBe('page');
    for (const experiment of LABS) {
      const card = page.locator(`[data-testid="lab-card"][data-lab="${experiment}"]`);
      const chart = card.locator('figure.line-chart');
      await chart.waitFor({ timeout: 60_000 });
      expect(Number(await chart.getAttribute('data-points')), `${experiment}: chart points`).toBeGreaterThan(0);
      expect(await cardNumbers(page, experiment), `${experiment}: the card's numbers`).toEqual(expectedNumbers(experiment));
      expect(await card.getByRole('link', { name: /^Open / }).getAttribute('href')).toBe(`#/lab/${experiment}`);
    }
    // Nothing was trained or stored in this fresh browser: every number above came from public/runs.
    expect(await page.getByTestId('your-runs').count()).toBe(0);
    // What a visitor sees first, before anything is opened or scrolled.
    await page.screenshot({ path: `.scratch/landing-${name}.png` });
    await page.screenshot({ path: `.scratch/landing-${name}-full.png`, fullPage: true });
    if (name === 'desktop') {
      // The collapse card's instant demo: a Gaussian refitted to its own samples, computed when opened.
      await page.getByText('Also instant: a bell curve refitted to its own samples').click();
      const demo = page.locator('[data-testid="gaussian-demo"] figure.line-chart');
      await demo.waitFor({ timeout: 60_000 });
      expect(Number(await demo.getAttribute('data-points'))).toBe(61); // generations 0…60
    }
    const axe = await axeReport(page);
    console.log(`axe on the start page (${name}, ${width}×${height}): ${axe.passed} rules passed; violating nodes by impact ${JSON.stringify(axe.counts)}`);
    expect(axe.passed).toBeGreaterThan(10); // axe ran
    expect(axe.serious, `axe (${name})`).toEqual([]);
  }
  // The engine page is one click away.
  await page.getByRole('link', { name: 'Engine', exact: true }).click();
  await page.getByTestId('webgpu-status').waitFor({ timeout: 30_000 });
  expect(errors).toEqual([]);
});

test('each lab page opens on its precomputed run, stores nothing, and keeps a copy only when asked', async () => {
  const serious: string[] = []; // axe's findings on every lab, asserted at the end
  for (const experiment of LABS) {
    const entry = index.runs.find((e) => e.experiment === experiment)!;
    const { page, errors } = await openLabPage(lab(), `#/lab/${experiment}`, { width: 1366, height: 900 });
    const note = page.getByTestId('precomputed-note');
    await note.waitFor({ timeout: 60_000 });
    expect(await note.textContent()).toContain(`This is what the ${entry.preset} preset gives`);
    await waitForRunStatus(page, 'done', 10_000);
    expect(await page.locator('.run-panel .which').textContent()).toBe(`${entry.preset} · seed ${entry.seed} · ${entry.id.slice(0, 8)}`);
    // The run's charts are drawn from the file.
    const points = await page.locator('main figure.line-chart').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-points'))));
    expect(Math.max(...points), `${experiment}: chart points`).toBeGreaterThan(0);
    expect(await page.locator('li[data-run-id]').count(), `${experiment}: nothing stored`).toBe(0);
    // The link that reproduces it names the preset and seed.
    expect(await page.locator('#run-link').inputValue()).toContain(`#/lab/${experiment}?preset=${entry.preset}&seed=${entry.seed}`);
    // axe with the results on the page (every chart drawn, tables and sample browsers filled from the file), wide and narrow.
    await page.waitForLoadState('networkidle');
    for (const [width, height] of [[1366, 900], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))); // relaid out
      await page.screenshot({ path: `.scratch/lab-${experiment}-precomputed-${width}.png` });
      const axe = await axeReport(page);
      console.log(`axe on #/lab/${experiment} with its precomputed run (${width}×${height}): ${axe.passed} rules passed; violating nodes by impact ${JSON.stringify(axe.counts)}`);
      expect(axe.passed).toBeGreaterThan(10);
      serious.push(...axe.serious.map((line) => `#/lab/${experiment} at ${width}×${height}: ${line}`));
    }
    await page.setViewportSize({ width: 1366, height: 900 });

    if (experiment === 'collapse') {
      await page.getByRole('button', { name: 'Keep a copy in my run history' }).click();
      await page.locator('li[data-run-id]').first().waitFor({ timeout: 30_000 });
      await note.waitFor({ state: 'detached', timeout: 10_000 });
      const [stored] = await page.locator('li[data-run-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id') ?? ''));
      expect(stored).not.toBe(entry.id); // a new run of the visitor's, with the same records
      await page.reload();
      await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 60_000 });
      await page.locator('.run-panel .which', { hasText: stored!.slice(0, 8) }).waitFor({ timeout: 30_000 });
      expect(await note.count()).toBe(0);
      await page.screenshot({ path: '.scratch/collapse-kept-copy.png' });
    }
    expect(errors, experiment).toEqual([]);
    await page.context().close();
  }
  expect(serious, 'axe on the lab pages').toEqual([]);
});
