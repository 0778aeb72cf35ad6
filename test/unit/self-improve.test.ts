/**
 * The self-improvement experiment on a tiny setting: it runs end to end,
 * emits what the page and the runner need, and a run resumed from a
 * checkpoint ends exactly where the uninterrupted run does.
 */
import { describe, expect, test } from 'vitest';
import { detectGrokking } from '../../src/core/metrics/grokking';
import { passAtK } from '../../src/core/metrics/pass-at-k';
import { verify } from '../../src/core/puzzles';
import { coerceOverrides, hashToLink, linkToHash, overridesToStrings, resolveConfig } from '../../src/experiments/config';
import { selfImprove } from '../../src/experiments/self-improve';
import type { SelfImproveConfig } from '../../src/experiments/self-improve/config';
import { residueBatch, residueOptim } from '../../src/experiments/self-improve/grokking';
import { evaluations, grokPoints, iterations } from '../../src/experiments/self-improve/report';
import { lrAt } from '../../src/core/optim';
import { residueTokenizer } from '../../src/core/puzzles/residues';
import { labSplits, runSplits } from '../../src/experiments/self-improve/splits';
import { CheckpointError } from '../../src/experiments/session';
import { RunCancelled } from '../../src/experiments/types';
import { parseRunArgs } from '../../bin/run-experiment';
import { runTiny } from '../support/run-tiny';

const tiny: Partial<SelfImproveConfig> = {
  families: ['reverse'], minDifficulty: 1, maxDifficulty: 1, trainSize: 16, valSize: 6, testSize: 6, seedSetSize: 8,
  dModel: 16, nLayers: 1, nHeads: 2, warmStartSteps: 6, iterations: 2, samplesPerProblem: 2, stepsPerIteration: 4,
  batchSize: 4, passSamples: 2, passK: 2, evalEvery: 5,
};
const config = resolveConfig(selfImprove, 'classroom', tiny);

describe('self-improve run', () => {
  test('emits iterations 0…N, progress to 100%, attempts per iteration and checkpoints in its own words', async () => {
    const run = await runTiny(selfImprove, config);
    expect(run.error).toBeNull();
    const its = iterations(run.records);
    expect(its.map((r) => r.iteration)).toEqual([0, 1, 2]);
    const splits = runSplits(config, 1);
    for (const r of its) {
      // An accuracy is a count of a split's puzzles: k / n exactly.
      for (const s of ['train', 'val', 'test'] as const) expect(Number.isInteger(r.accuracy[s] * splits[s].length)).toBe(true);
      expect(r.passAtK).not.toBeNull();
      expect(Object.keys(r.byFamily.val)).toEqual(['reverse']);
    }
    const progress = run.events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
    expect(run.checkpoints.map((c) => c.label)).toEqual(['the warm start', 'iteration 1', 'iteration 2']);
    expect(run.checkpoints.map((c) => c.progress.done)).toEqual([...run.checkpoints.map((c) => c.progress.done)].sort((a, b) => a - b));
    // One sample set per iteration; each row's verdicts are the verifier's own.
    expect(run.samples.map((s) => s.at)).toEqual([{ iteration: 1 }, { iteration: 2 }]);
    const byPrompt = new Map(splits.train.map((p) => [p.prompt, p]));
    for (const row of run.samples.flatMap((s) => s.rows)) {
      for (const a of row.attempts) expect(a.correct).toBe(verify(byPrompt.get(row.prompt)!, a.text).correct);
    }
    // evalEvery 5 feeds the grokking monitor at steps 5, 10, … and at each iteration's end.
    expect(evaluations(run.records).map((e) => e.step)).toEqual([5, 6, 10, 14]);
    expect(run.summary).toMatchObject({ iterations: [{ iteration: 0 }, { iteration: 1 }, { iteration: 2 }] });
  });

  test('same seed, same run; a run cancelled after a checkpoint and resumed ends identically', async () => {
    const full = await runTiny(selfImprove, config, { seed: 2 });
    const again = await runTiny(selfImprove, config, { seed: 2 });
    expect(again.records).toEqual(full.records);

    const cut = await runTiny(selfImprove, config, { seed: 2, stopAfter: (c) => c.label === 'iteration 1' });
    expect(cut.error).toBeInstanceOf(RunCancelled);
    const ckpt = cut.checkpoints.at(-1)!;
    expect(ckpt.at).toEqual({ iteration: 1 });
    const resumed = await runTiny(selfImprove, config, { seed: 2, resume: ckpt });
    expect(resumed.summary).toEqual(full.summary);
    expect([...ckpt.records, ...resumed.records]).toEqual(full.records);
    expect(resumed.checkpoints.at(-1)!.params).toEqual(full.checkpoints.at(-1)!.params);
    expect(resumed.checkpoints.at(-1)!.progress).toEqual(full.checkpoints.at(-1)!.progress);
  });

  test('a checkpoint of another lab, an earlier state version or a foreign state is refused, naming why', async () => {
    const cut = await runTiny(selfImprove, config, { stopAfter: () => true });
    const ckpt = cut.checkpoints[0]!;
    const refused = async (resume: typeof ckpt) => (await runTiny(selfImprove, config, { resume })).error;
    expect(await refused({ ...ckpt, experiment: 'collapse' })).toBeInstanceOf(CheckpointError);
    expect(String(await refused({ ...ckpt, stateVersion: 0 }))).toMatch(/an earlier version of the self-improve lab \(state version 0; this version reads 1\)/);
    expect(String(await refused({ ...ckpt, state: { kept: 'all', curriculumLevel: 1, step: 0 } }))).toMatch(/state\.kept/);
  });

  test('puzzles for export are the run\'s splits', () => {
    const rows = selfImprove.datasets!(config, 3)['puzzles.jsonl']!;
    const s = runSplits(config, 3);
    expect(rows).toHaveLength(s.train.length + s.val.length + s.test.length);
    expect(rows[0]).toEqual({ split: 'train', family: 'reverse', difficulty: s.train[0]!.difficulty, prompt: s.train[0]!.prompt, answer: s.train[0]!.answer });
  });
});

describe('config, presets and share links', () => {
  test('presets resolve and validate; bad fields are named', () => {
    for (const name of Object.keys(selfImprove.presets)) expect(() => resolveConfig(selfImprove, name, {})).not.toThrow();
    expect(() => resolveConfig(selfImprove, 'nope', {})).toThrow(/preset: unknown preset 'nope'/);
    expect(() => resolveConfig(selfImprove, null, { iterations: -1 })).toThrow(/iterations: must be an integer from 0/);
    expect(() => resolveConfig(selfImprove, null, { families: ['chess'] })).toThrow(/families.0: must be one of/);
    expect(() => resolveConfig(selfImprove, null, { minDifficulty: 5, maxDifficulty: 2 })).toThrow(/minDifficulty: must be ≤ maxDifficulty/);
    expect(() => resolveConfig(selfImprove, null, { seedSetSize: 500 })).toThrow(/seedSetSize/);
    expect(() => resolveConfig(selfImprove, null, { lr: 1 })).toThrow(/lr: unknown key/);
  });

  test('a share link round-trips through the same schema', () => {
    const config = resolveConfig(selfImprove, 'classroom', { iterations: 7, families: ['reverse', 'sort'] });
    const overrides = overridesToStrings(resolveConfig(selfImprove, 'classroom', {}), config);
    const hash = linkToHash({ experiment: 'self-improve', preset: 'classroom', seed: 3, overrides });
    expect(hash).toBe('#/lab/self-improve?preset=classroom&seed=3&families=reverse%2Csort&iterations=7');
    const link = hashToLink(hash)!;
    expect(link).toMatchObject({ experiment: 'self-improve', preset: 'classroom', seed: 3 });
    expect(resolveConfig(selfImprove, link.preset, coerceOverrides(selfImprove.config.fields, link.overrides))).toEqual(config);
    expect(() => hashToLink('#/lab/self-improve?seed=-2')).toThrow(/seed: must be a non-negative integer/);
    expect(hashToLink('#/engine')).toBeNull();
  });

  test('runner flags are parsed, with errors naming the flag', () => {
    expect(parseRunArgs(['self-improve', '--preset', 'classroom', '--seed', '2', '--out', 'x', '--set', 'iterations=3']))
      .toEqual({ experiment: 'self-improve', preset: 'classroom', seed: 2, out: 'x', overrides: { iterations: '3' } });
    expect(() => parseRunArgs(['self-improve', '--seed'])).toThrow(/--seed: needs a value/);
    expect(() => parseRunArgs(['self-improve', '--bogus', '1'])).toThrow(/unknown flag '--bogus'/);
    expect(() => parseRunArgs(['self-improve', '--seed', 'x'])).toThrow(/seed/);
  });
});

describe('metrics', () => {
  test('pass@k is the unbiased estimator', () => {
    expect(passAtK(10, 0, 3)).toBe(0);
    expect(passAtK(10, 10, 3)).toBe(1);
    expect(passAtK(5, 1, 1)).toBeCloseTo(0.2, 12);
    // 1 − C(3,2)/C(5,2) = 1 − 3/10
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 12);
    expect(() => passAtK(3, 1, 4)).toThrow(/k must be in/);
  });

  test('grokking rule: detected only when validation comes long after training', () => {
    const late = [{ step: 100, train: 0.5, val: 0.1 }, { step: 200, train: 1, val: 0.1 }, { step: 1000, train: 1, val: 0.95 }];
    expect(detectGrokking(late)).toEqual({ detected: true, step: 1000, trainSaturatedAt: 200, valReachedAt: 1000, delay: 5 });
    const together = [{ step: 100, train: 1, val: 0.95 }];
    expect(detectGrokking(together)).toMatchObject({ detected: false, reason: expect.stringMatching(/rose with training/) });
    expect(detectGrokking([{ step: 1, train: 0.2, val: 0 }])).toMatchObject({ detected: false, reason: expect.stringMatching(/train accuracy never/) });
    expect(detectGrokking([{ step: 1, train: 1, val: 0 }])).toMatchObject({ detected: false, reason: expect.stringMatching(/validation accuracy never/) });
  });
});

describe('the residue-table task (grokking-classroom)', () => {
  test('the preset is a valid config of the residue task, with its no-weight-decay arm; bad table settings are named', () => {
    const c = resolveConfig(selfImprove, 'grokking-classroom', {});
    expect(c).toMatchObject({
      task: 'residue table', modulus: 31, operation: '+', trainFraction: 0.4, compareNoDecay: true, weightDecay: 1,
      dModel: 32, nLayers: 1, nHeads: 4, warmStartSteps: 2500, cooldownSteps: 500, evalEvery: 10, learningRate: 1e-2,
    });
    const splits = labSplits(c, 1);
    expect([splits.train.length, splits.val.length, splits.test.length]).toEqual([384, 577, 0]);
    // The schedule: warmup to the peak by step 9, held to step 1,999, a cosine to 0 at 2,500.
    const o = residueOptim(c, c.weightDecay);
    expect([lrAt(9, o), lrAt(1999, o), lrAt(2250, o), lrAt(2500, o)]).toEqual([1e-2, 1e-2, expect.closeTo(5e-3, 12), 0]);
    expect(o.beta2).toBe(0.999);
    const base = { task: 'residue table' } as const;
    expect(() => resolveConfig(selfImprove, 'grokking-classroom', { ...base, evalEvery: 0 })).toThrow(/evalEvery: must be > 0 for a residue-table run/);
    expect(() => resolveConfig(selfImprove, 'grokking-classroom', { cooldownSteps: 2495 })).toThrow(/cooldownSteps: with the 10 warmup steps, must fit in warmStartSteps \(2500\)/);
    expect(() => resolveConfig(selfImprove, 'grokking-classroom', { trainFraction: 1 })).toThrow(/trainFraction: leaves no pair/);
    expect(() => resolveConfig(selfImprove, 'grokking-classroom', { modulus: 200 })).toThrow(/modulus: must be an integer from 2 to 113/);
  });

  test('a batch is every pair of a split: a ∘ b = as four ids, the answer the target at "="', () => {
    const tok = residueTokenizer(5, '+');
    const pairs = [{ prompt: '3 + 4 =', answer: '2' }, { prompt: '0 + 1 =', answer: '1' }].map((q) => ({
      ...q, family: 'modular' as const, difficulty: 1, answerKind: 'integer' as const, meta: {},
    }));
    const b = residueBatch(pairs, (t) => tok.encode(t));
    // Words 0…4 are ids 0…4, '+' is 5, '=' is 6.
    expect(Array.from(b.inputs)).toEqual([3, 5, 4, 6, 0, 5, 1, 6]);
    expect(Array.from(b.targets)).toEqual([0, 0, 0, 2, 0, 0, 0, 1]);
    expect(Array.from(b.weights)).toEqual([0, 0, 0, 0.5, 0, 0, 0, 0.5]);
  });

  test('a tiny table run: both arms from the same parameters, evaluated on every pair, the summary judging each', async () => {
    const c = resolveConfig(selfImprove, 'grokking-classroom', {
      modulus: 7, trainFraction: 0.5, dModel: 8, nHeads: 2, warmStartSteps: 25, cooldownSteps: 5, evalEvery: 10,
    });
    const run = await runTiny(selfImprove, c);
    expect(run.error).toBeNull();
    const decay = grokPoints(run.records, 'decay');
    const none = grokPoints(run.records, 'none');
    expect(decay.map((r) => r.step)).toEqual([0, 10, 20, 25]);
    expect(none.map((r) => r.step)).toEqual([0, 10, 20, 25]);
    // Same init: identical at step 0; then weight decay shrinks the decayed norm.
    expect({ ...none[0], arm: 'decay', seconds: 0 }).toEqual({ ...decay[0], seconds: 0 });
    expect(decay.at(-1)!.decayedNorm).toBeLessThan(none.at(-1)!.decayedNorm);
    const [nTrain, nVal] = [25, 24]; // round(0.5 · 49) = 25 (24.5 rounds up), the other 24 validate
    for (const r of [...decay, ...none]) {
      expect(Number.isInteger(r.train * nTrain) && Number.isInteger(r.val * nVal)).toBe(true);
      expect(r.fourier.shares).toHaveLength(3); // frequencies 1…⌊7/2⌋
      expect(r.fourier.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    expect(iterations(run.records).map((r) => [r.iteration, r.accuracy.train, r.accuracy.val])).toEqual([[0, decay.at(-1)!.train, decay.at(-1)!.val]]);
    const s = run.summary!;
    expect(s.decay?.final).toMatchObject({ step: 25, train: decay.at(-1)!.train, val: decay.at(-1)!.val });
    expect(s.noDecay?.final).toMatchObject({ step: 25, train: none.at(-1)!.train, val: none.at(-1)!.val });
    expect(s.grokking).toEqual(s.decay!.grokking);
    expect(run.checkpoints.map((k) => k.at)).toEqual([{ iteration: 0 }]);
    const progress = run.events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.at(-1)).toMatchObject({ done: progress.at(-1)!.total });
  });
});
