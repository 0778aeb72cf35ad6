/**
 * The precomputed runs the app ships (public/runs, made by `npm run
 * precompute`): the sample trimming keeps every metric and a fair share of
 * each sample set within its budget; the committed files parse with this
 * build's schemas and still match their index and their lab's preset (a
 * stale file fails here: rerun `npm run precompute -- --only <lab>`); and
 * onnxruntime-web's Wasm is looked for inside the app's folder wherever the
 * build is hosted.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { SPECS } from '../../src/experiments/catalog';
import { coerceOverrides, resolveConfig } from '../../src/experiments/config';
import { evenlySpaced, precomputedIndex, trimSamples } from '../../src/experiments/precomputed';
import { parseRunFile, type RunFileContent } from '../../src/experiments/run-file';
import { ortWasmBase } from '../../src/pretrained/env';
import * as v from 'valibot';

const RUNS = new URL('../../public/runs/', import.meta.url);

test('evenlySpaced: n distinct increasing indices from the whole range, or all of them', () => {
  expect(evenlySpaced(10, 3)).toEqual([0, 3, 6]);
  expect(evenlySpaced(4, 9)).toEqual([0, 1, 2, 3]);
  expect(evenlySpaced(0, 2)).toEqual([]);
  for (const [total, n] of [[100, 7], [60, 35], [18, 17]] as const) {
    const idx = evenlySpaced(total, n);
    expect(idx).toHaveLength(n);
    expect(new Set(idx).size).toBe(n);
    expect(idx.every((x, i) => x >= 0 && x < total && (i === 0 || x > idx[i - 1]!))).toBe(true);
    expect(idx.at(-1)!).toBeGreaterThanOrEqual(total - Math.ceil(total / n)); // reaches the end of the range
  }
});

function content(rowsPerSet: number[], rowBytes: number): RunFileContent {
  return {
    run: { experiment: 'x', preset: null, seed: 1, config: {}, environment: { backend: 'cpu' }, status: 'done', summary: null },
    metrics: [{ kind: 'm', value: 1 }, { kind: 'm', value: 2 }],
    samples: rowsPerSet.map((n, s) => ({ at: { set: s }, rows: Array.from({ length: n }, (_, i) => ({ i: String(i).padStart(3, '0'), pad: 'x'.repeat(rowBytes) })) })),
    datasets: { 'd.jsonl': [1, 2, 3] },
  };
}

const bytesOf = (c: RunFileContent) => c.samples.reduce((n, s) => n + s.rows.reduce((m: number, r) => m + JSON.stringify(r).length + 1, 0), 0);

test('trimSamples: the same k rows from every set, the most that fit the budget, metrics and datasets whole', () => {
  const full = content([20, 20, 5], 100);
  const rowBytes = JSON.stringify(full.samples[0]!.rows[0]).length + 1;
  const budget = 25 * rowBytes; // k = 10 from the two sets of 20 and all 5 of the small one: 25 rows
  const { content: trimmed, kept, of } = trimSamples(full, budget);
  expect(of).toBe(45);
  expect(trimmed.samples.map((s) => s.rows.length)).toEqual([10, 10, 5]);
  expect(kept).toBe(25);
  expect(bytesOf(trimmed)).toBeLessThanOrEqual(budget);
  expect(trimSamples(full, budget + 2 * rowBytes - 1).kept).toBe(25); // k = 11 needs two more rows
  expect(trimSamples(full, budget + 2 * rowBytes).kept).toBe(27);
  expect(trimmed.metrics).toEqual(full.metrics);
  expect(trimmed.datasets).toEqual(full.datasets);
  expect(trimmed.samples.map((s) => s.at)).toEqual(full.samples.map((s) => s.at));
  // Rows keep their order and come from the whole set, not just its start.
  const kept0 = trimmed.samples[0]!.rows.map((r) => Number((r as { i: string }).i));
  expect(kept0).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  // A budget too small for anything still keeps one row per set; a large one keeps everything.
  expect(trimSamples(full, 1).content.samples.map((s) => s.rows.length)).toEqual([1, 1, 1]);
  expect(trimSamples(full, 1e9).kept).toBe(45);
});

test('every lab ships a precomputed run; each parses, matches its index, and was made with the current presets', () => {
  const index = v.parse(precomputedIndex, JSON.parse(readFileSync(new URL('index.json', RUNS), 'utf8')));
  // Every lab ships one (a new lab needs its line in bin/precompute.ts and its card in pages/landing/cards.ts).
  expect(index.runs.map((e) => e.experiment).sort()).toEqual(Object.keys(SPECS).sort());
  for (const entry of index.runs) {
    const where = `public/runs/${entry.file}`;
    expect(existsSync(new URL(entry.file, RUNS)), where).toBe(true);
    const text = readFileSync(new URL(entry.file, RUNS), 'utf8');
    expect(Buffer.byteLength(text), `${where}: bytes in the index`).toBe(entry.bytes);
    const h = createHash('sha256').update(text).digest('hex');
    expect(entry.id.replaceAll('-', ''), `${where}: id from its SHA-256`).toBe(h.slice(0, 32));
    const run = parseRunFile(text);
    expect(run.run).toMatchObject({ experiment: entry.experiment, preset: entry.preset, seed: entry.seed, status: 'done' });
    expect(run.run.config, `${where}: the index's config is the file's`).toEqual(entry.config);
    expect(run.samples.reduce((n, s) => n + s.rows.length, 0)).toBe(entry.samples.kept);
    expect(run.metrics.length, where).toBeGreaterThan(0);
    const spec = SPECS[entry.experiment]!;
    const now = resolveConfig(spec, entry.preset, coerceOverrides(spec.config.fields, entry.overrides));
    expect(now, `${where} was made with other settings than ${entry.preset} has now: rerun \`npm run precompute -- --only ${entry.experiment}\``)
      .toEqual(entry.config);
  }
});

test('ortWasmBase: ort/ inside the app, on this origin for an absolute base, beside assets/ for a relative one', () => {
  expect(ortWasmBase('/', 'http://127.0.0.1:5173', 'http://127.0.0.1:5173/src/pretrained/env.ts')).toBe('http://127.0.0.1:5173/ort/');
  expect(ortWasmBase('/lab/', 'https://example.org', 'https://example.org/lab/assets/env-1.js')).toBe('https://example.org/lab/ort/');
  expect(ortWasmBase('./', 'https://example.org', 'https://example.org/some/path/assets/env-1.js')).toBe('https://example.org/some/path/ort/');
  expect(ortWasmBase('./', 'https://user.github.io', 'https://user.github.io/assets/lab.worker-2.js')).toBe('https://user.github.io/ort/');
});
