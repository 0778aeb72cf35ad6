/** The headless runner writes the files the issue names, in their documented shapes. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { decodeCheckpoint } from '../../src/core/checkpoint';
import { parseRunFile } from '../../src/experiments/run-file';
import { runExperiment } from '../../bin/run-experiment';
import { tinyEmbedderFiles, writeModelFiles } from '../support/tiny-onnx';

const out = mkdtempSync(join(tmpdir(), 'lab-run-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('run self-improve --preset grokking-classroom (shrunk) writes the verdict and both arms\' final accuracies', async () => {
  const dir = join(out, 'grok');
  const tiny = { modulus: '7', trainFraction: '0.5', dModel: '8', nHeads: '2', warmStartSteps: '30', cooldownSteps: '10', evalEvery: '10' };
  await runExperiment({ experiment: 'self-improve', preset: 'grokking-classroom', seed: 2, out: dir, overrides: tiny });
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  // The verdict is the weight-decay arm's, with both steps named whether or not it grokked.
  expect(summary.grokking).toEqual(summary.decay.grokking);
  expect(Object.keys(summary.grokking)).toEqual(expect.arrayContaining(['detected', 'trainSaturatedAt', 'valReachedAt']));
  for (const arm of [summary.decay, summary.noDecay]) {
    expect(arm.final.step).toBe(30);
    // Accuracy on every pair: k / 25 for train (round(0.5 · 49)), k / 24 for validation.
    expect(Number.isInteger(Math.round(arm.final.train * 25 * 1e9) / 1e9)).toBe(true);
    expect(Number.isInteger(Math.round(arm.final.val * 24 * 1e9) / 1e9)).toBe(true);
    expect(arm.seconds).toBeGreaterThan(0);
  }
  expect(summary.iterations).toEqual([{ iteration: 0, accuracy: { train: summary.decay.final.train, val: summary.decay.final.val, test: null } }]);
  const puzzles = readFileSync(join(dir, 'puzzles.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(puzzles).toHaveLength(49);
});

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
  // An accuracy is a count of the split's puzzles: k / n exactly, with n from the config the run wrote.
  const sizes: Record<string, number> = { train: summary.config.trainSize, val: summary.config.valSize, test: summary.config.testSize };
  for (const it of summary.iterations) {
    for (const split of ['train', 'val', 'test']) {
      const k = it.accuracy[split] * sizes[split]!;
      expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-9);
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
  expect(model.meta.checkpoint).toBe('iteration 2');
  expect(model.tokenizer?.kind).toBe('char');
});

test('the runner as a process: collapse with --embedding-model (a tiny local model) computes embedding diversity and exits 0', () => {
  // A child process, as a person runs it: the flag, the model's loading through transformers.js, the exit status.
  const model = join(out, 'embedder');
  writeModelFiles(model, tinyEmbedderFiles({ seed: 3 }).files);
  const dir = join(out, 'collapse-embed');
  const sets = {
    realSize: 40, heldOutSize: 20, samplesPerGeneration: 30, generations: 1, modes: 'replace', dModel: 16, nLayers: 1, nHeads: 2,
    firstSteps: 10, stepsPerGeneration: 4, batchSize: 8, embeddingSamples: 12, selfBleuSamples: 10, gaussianSeeds: 5, gaussianGenerations: 4,
  };
  const args = ['tsx', 'bin/lab.ts', 'run', 'collapse', '--seed', '2', '--out', dir, '--embedding-model', model,
    ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
  const r = spawnSync('npx', args, { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  for (const g of summary.modes.replace) {
    expect(g.embeddingDiversity).toBeGreaterThan(0);
    expect(g.embeddingNote).toContain('12 samples');
  }
}, 150_000);
