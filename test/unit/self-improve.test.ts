/**
 * The self-improvement experiment on a tiny setting: it runs end to end,
 * emits what the page and the runner need, and a run resumed from a
 * checkpoint ends exactly where the uninterrupted run does.
 */
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../../src/core/backends/cpu';
import { detectGrokking } from '../../src/core/metrics/grokking';
import { passAtK } from '../../src/core/metrics/pass-at-k';
import { coerceOverrides, hashToLink, linkToHash, overridesToStrings, resolveConfig } from '../../src/experiments/config';
import { type IterationMetrics, type SelfImproveConfig, runSplits, selfImprove } from '../../src/experiments/self-improve';
import { type ExperimentEvent, RunCancelled, type RunCheckpoint } from '../../src/experiments/types';
import { parseRunArgs } from '../../bin/run-experiment';

const tiny: Partial<SelfImproveConfig> = {
  families: ['reverse'], minDifficulty: 1, maxDifficulty: 1, trainSize: 16, valSize: 6, testSize: 6, seedSetSize: 8,
  dModel: 16, nLayers: 1, nHeads: 2, warmStartSteps: 6, iterations: 2, samplesPerProblem: 2, stepsPerIteration: 4,
  batchSize: 4, passSamples: 2, passK: 2, evalEvery: 5,
};

async function runTiny(seed: number, opts: { resume?: RunCheckpoint; abortAfterCheckpoint?: number } = {}) {
  const config = resolveConfig(selfImprove, 'classroom', tiny);
  const events: ExperimentEvent[] = [];
  const controller = new AbortController();
  const summary = await selfImprove.run(config, {
    seed,
    createBackend: async (c) => new CpuBackend(c),
    now: () => 0,
    signal: controller.signal,
    resume: opts.resume,
    emit: (e) => {
      events.push(e);
      if (e.type === 'checkpoint' && e.checkpoint.iteration === opts.abortAfterCheckpoint) controller.abort();
    },
  }).catch((err: unknown) => err);
  return { summary, events };
}

describe('self-improve run', () => {
  test('emits iterations 0…N with accuracies, progress to 100%, samples and checkpoints', async () => {
    const { summary, events } = await runTiny(1);
    const its = events.flatMap((e) => (e.type === 'metrics' && e.record.kind === 'iteration' ? [e.record as IterationMetrics] : []));
    expect(its.map((r) => r.iteration)).toEqual([0, 1, 2]);
    for (const r of its) {
      for (const s of ['train', 'val', 'test'] as const) {
        expect(r.accuracy[s]).toBeGreaterThanOrEqual(0);
        expect(r.accuracy[s]).toBeLessThanOrEqual(1);
      }
      expect(r.passAtK).not.toBeNull();
      expect(Object.keys(r.byFamily.val)).toEqual(['reverse']);
    }
    const progress = events.filter((e) => e.type === 'progress');
    const lastProgress = progress[progress.length - 1]!;
    expect(lastProgress).toMatchObject({ type: 'progress' });
    if (lastProgress.type === 'progress') expect(lastProgress.done).toBe(lastProgress.total);
    expect(events.filter((e) => e.type === 'checkpoint')).toHaveLength(3);
    expect(events.some((e) => e.type === 'samples' && e.rows.length > 0)).toBe(true);
    const evals = events.filter((e) => e.type === 'metrics' && e.record.kind === 'eval');
    expect(evals.length).toBeGreaterThan(0); // evalEvery feeds the grokking monitor
    expect(summary).toMatchObject({ iterations: [{ iteration: 0 }, { iteration: 1 }, { iteration: 2 }] });
  });

  test('same seed, same run; a run cancelled after a checkpoint and resumed ends identically', async () => {
    const full = await runTiny(2);
    const again = await runTiny(2);
    const metrics = (ev: ExperimentEvent[]) => ev.flatMap((e) => (e.type === 'metrics' ? [e.record] : []));
    expect(metrics(again.events)).toEqual(metrics(full.events));

    const cut = await runTiny(2, { abortAfterCheckpoint: 1 });
    expect(cut.summary).toBeInstanceOf(RunCancelled);
    const ckpt = cut.events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : [])).pop()!;
    expect(ckpt.iteration).toBe(1);
    const resumed = await runTiny(2, { resume: ckpt });
    expect(resumed.summary).toEqual(full.summary);
    const finalParams = (ev: ExperimentEvent[]) => ev.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint.params] : [])).pop();
    expect(finalParams(resumed.events)).toEqual(finalParams(full.events));
  });

  test('puzzles for export are the run\'s splits', () => {
    const config = resolveConfig(selfImprove, 'classroom', tiny);
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
    expect(resolveConfig(selfImprove, link.preset, coerceOverrides(selfImprove.defaultConfig, link.overrides))).toEqual(config);
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
    expect(detectGrokking(late)).toEqual({ detected: true, step: 1000, trainSaturatedAt: 200, delay: 5 });
    const together = [{ step: 100, train: 1, val: 0.95 }];
    expect(detectGrokking(together)).toMatchObject({ detected: false, reason: expect.stringMatching(/rose with training/) });
    expect(detectGrokking([{ step: 1, train: 0.2, val: 0 }])).toMatchObject({ detected: false, reason: expect.stringMatching(/train accuracy never/) });
    expect(detectGrokking([{ step: 1, train: 1, val: 0 }])).toMatchObject({ detected: false, reason: expect.stringMatching(/validation accuracy never/) });
  });
});
