/** The headless runner writes the files the issue names, in their documented shapes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { decodeCheckpoint } from '../../src/core/checkpoint';
import { parseRunFile } from '../../src/experiments/run-file';
import { runExperiment } from '../../bin/run-experiment';

const out = mkdtempSync(join(tmpdir(), 'lab-run-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('run self-improve writes metrics.jsonl, puzzles.jsonl, summary.json, run.jsonl and the model', async () => {
  const tiny = {
    families: 'reverse', minDifficulty: '1', maxDifficulty: '1', trainSize: '16', valSize: '6', testSize: '6', seedSetSize: '8',
    dModel: '16', nLayers: '1', nHeads: '2', warmStartSteps: '6', iterations: '2', samplesPerProblem: '2',
    stepsPerIteration: '4', batchSize: '4', passSamples: '2', passK: '2',
  };
  await runExperiment({ experiment: 'self-improve', preset: 'classroom', seed: 1, out, overrides: tiny });
  const lines = (f: string) => readFileSync(join(out, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(summary.seconds).toBeGreaterThan(0);
  expect(summary.iterations.map((i: { iteration: number }) => i.iteration)).toEqual([0, 1, 2]);
  for (const it of summary.iterations) {
    for (const split of ['train', 'val', 'test']) {
      expect(it.accuracy[split]).toBeGreaterThanOrEqual(0);
      expect(it.accuracy[split]).toBeLessThanOrEqual(1);
    }
  }
  expect(summary).toMatchObject({ experiment: 'self-improve', preset: 'classroom', seed: 1, environment: { backend: 'cpu' } });

  const metrics = lines('metrics.jsonl');
  expect(metrics.filter((m) => m.kind === 'iteration')).toHaveLength(3);
  const puzzles = lines('puzzles.jsonl');
  expect(puzzles).toHaveLength(28);
  expect(Object.keys(puzzles[0]).sort()).toEqual(['answer', 'difficulty', 'family', 'prompt', 'split']);
  expect(new Set(puzzles.map((p) => p.split))).toEqual(new Set(['train', 'val', 'test']));

  const run = parseRunFile(readFileSync(join(out, 'run.jsonl'), 'utf8'));
  expect(run.metrics).toEqual(metrics);
  const model = decodeCheckpoint(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
  expect(model.meta.iteration).toBe('2');
  expect(model.tokenizer?.kind).toBe('char');
});
