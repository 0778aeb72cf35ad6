/**
 * Diversity-aware fine-tuning: the advantages are unbiased estimates of the
 * objectives' gradients (by enumeration on a small categorical policy), the
 * surrogate rows' gradient has the right sign and scale on a real model, and
 * a tiny λ sweep runs end to end, reports what it did not compute as null,
 * and resumes bit-identically.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runExperiment } from '../../bin/run-experiment';
import type { TokenBatch } from '../../src/core/backend';
import { CpuBackend } from '../../src/core/backends/cpu';
import { initParams } from '../../src/core/gpt/init';
import { targetLevel, verifyTarget } from '../../src/core/puzzles';
import { PUZZLE_ALPHABET } from '../../src/core/puzzles/types';
import { keyFromSeed } from '../../src/core/rng';
import { scoreContinuations } from '../../src/core/score';
import { CharTokenizer } from '../../src/core/tokenizer/char';
import { sftBatch } from '../../src/core/train';
import { coerceOverrides, resolveConfig } from '../../src/experiments/config';
import { diversity } from '../../src/experiments/diversity';
import type { DiversityConfig } from '../../src/experiments/diversity/config';
import {
  type PromptSamples, additiveAdvantages, advantageScale, concatBatches, diversityEstimate, editDistance, normalizedEditDistance,
  polychromicAdvantages, setDiversity, surrogateBatch,
} from '../../src/experiments/diversity/objectives';
import type { DiagnosticRecord, DiversityRecord, EvaluationRecord } from '../../src/experiments/diversity/records';
import {
  aggregate, aggregateRecords, diagnosticSeries, emptyTally, evaluationNotes, gradientShares, preferredSplit, summarize, sweep, sweepTable,
  tableRow,
} from '../../src/experiments/diversity/report';
import { CheckpointError } from '../../src/experiments/session';
import type { EmbedResult, RunCheckpoint, RunContext } from '../../src/experiments/types';
import { RunCancelled } from '../../src/experiments/types';
import { runTiny as runExperimentTiny } from '../support/run-tiny';

describe('the diversity score and the advantages', () => {
  test('normalised edit distance and D', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(normalizedEditDistance('1+2', '1+2')).toBe(0);
    expect(normalizedEditDistance('1+2', '3*4')).toBe(1);
    expect(normalizedEditDistance('1+2', '1+2*3')).toBeCloseTo(2 / 5, 15);
    expect(normalizedEditDistance('', '')).toBe(0);
    expect(setDiversity(['ab', 'ab', 'cd'])).toBeCloseTo(2 / 3, 15); // pairs 0, 1, 1
    expect(setDiversity(['ab'])).toBeNaN();
  });

  test('additive: leave-one-out contributions on a hand-made set (they sum to 0)', () => {
    // D = 2/3; without a duplicate 'ab': D = 1, so c = 2/3 − 1; without 'cd': D = 0, so c = 2/3.
    const a = additiveAdvantages(['ab', 'ab', 'cd']);
    expect(a.score).toBeCloseTo(2 / 3, 15);
    expect(a.advantages[0]).toBeCloseTo(-1 / 3, 15);
    expect(a.advantages[1]).toBeCloseTo(-1 / 3, 15);
    expect(a.advantages[2]).toBeCloseTo(2 / 3, 15);
    expect(() => additiveAdvantages(['a', 'b'])).toThrow(/at least 3/);
  });

  test('polychromic: set scores and marginal advantages on a hand-made set', () => {
    // Sets of 2 from {'12' ✓, '12' ✓, '34' ✗}: f{0,1} = 1·0, f{0,2} = f{1,2} = ½·1; mean 1/3.
    const p = polychromicAdvantages(['12', '12', '34'], [true, true, false], 2);
    expect(p.sets).toBe(3);
    expect(p.score).toBeCloseTo(1 / 3, 15);
    expect(p.advantages[0]).toBeCloseTo(0.25 - 1 / 3, 15);
    expect(p.advantages[1]).toBeCloseTo(0.25 - 1 / 3, 15);
    // The wrong but different answer is pushed up: it makes its sets diverse while the others bring the quality.
    expect(p.advantages[2]).toBeCloseTo(0.5 - 1 / 3, 15);
    expect(polychromicAdvantages(['1', '2', '3'], [false, false, false], 2).advantages).toEqual([0, 0, 0]);
    expect(() => polychromicAdvantages(['1', '2', '3'], [true, true, true], 3)).toThrow(/setSize/);
    expect(advantageScale('polychromic', 5, 3)).toBe(1.5);
  });

  // A categorical policy over K strings, p = softmax(θ): the exact ∇E[J] by enumeration
  // against the exact expectation of the surrogate's gradient Σ_i s·A_i ∇log p(y_i).
  const strings = ['1+2', '3', '2*1+1'];
  const correct = [true, true, false];
  const theta = [0.3, -0.2, 0.5];
  const softmax = (t: number[]) => {
    const e = t.map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  };
  const tuples = (n: number): number[][] => (n === 0 ? [[]] : tuples(n - 1).flatMap((t) => strings.map((_, k) => [...t, k])));
  /** E over n-tuples of value(tuple) and, per θ_k, E[value · Σ_i ∂log p(y_i)/∂θ_k] (∂log p(y)/∂θ_k = 1[y=k] − p_k). */
  const expectation = (t: number[], n: number, value: (ys: number[]) => number, perSample?: (ys: number[]) => number[]) => {
    const p = softmax(t);
    const grad = [0, 0, 0];
    let mean = 0;
    for (const ys of tuples(n)) {
      const prob = ys.reduce((q, y) => q * p[y]!, 1);
      const v = value(ys);
      mean += prob * v;
      const weights = perSample ? perSample(ys) : ys.map(() => v);
      for (let k = 0; k < 3; k++) grad[k] += prob * ys.reduce((s, y, i) => s + weights[i]! * ((y === k ? 1 : 0) - p[k]!), 0);
    }
    return { mean, grad };
  };
  const finiteDifference = (n: number, value: (ys: number[]) => number) => theta.map((_, k) => {
    const h = 1e-5;
    const up = theta.map((x, j) => (j === k ? x + h : x));
    const down = theta.map((x, j) => (j === k ? x - h : x));
    return (expectation(up, n, value).mean - expectation(down, n, value).mean) / (2 * h);
  });

  test('additive: E[Σ A_i ∇log p(y_i)] = ∇E[D] (no 1/n)', () => {
    const n = 3;
    const D = (ys: number[]) => setDiversity(ys.map((y) => strings[y]!));
    const exact = expectation(theta, n, D).grad;
    expect(exact.map((g, k) => g - finiteDifference(n, D)[k]!).every((x) => Math.abs(x) < 1e-7)).toBe(true);
    const surrogate = expectation(theta, n, D, (ys) => additiveAdvantages(ys.map((y) => strings[y]!)).advantages).grad;
    expect(Math.max(...exact.map(Math.abs))).toBeGreaterThan(0.01);
    for (let k = 0; k < 3; k++) expect(surrogate[k]).toBeCloseTo(exact[k]!, 12);
  });

  test('polychromic: E[Σ (k/(n−k))·A_i ∇log p(y_i)] = ∇E[f] for sets of k', () => {
    const n = 4;
    for (const k of [2, 3]) {
      const f = (ys: number[]) => (ys.filter((y) => correct[y]).length / ys.length) * setDiversity(ys.map((y) => strings[y]!));
      const exact = finiteDifference(k, f);
      const s = advantageScale('polychromic', n, k);
      const surrogate = expectation(theta, n, () => 0, (ys) => {
        const a = polychromicAdvantages(ys.map((y) => strings[y]!), ys.map((y) => correct[y]!), k).advantages;
        return a.map((x) => s * x);
      }).grad;
      expect(Math.max(...exact.map(Math.abs))).toBeGreaterThan(0.01);
      for (let j = 0; j < 3; j++) expect(surrogate[j]).toBeCloseTo(exact[j]!, 7);
    }
  });
});

describe('the surrogate rows on a model', () => {
  const tok = new CharTokenizer(PUZZLE_ALPHABET);
  const gpt = { vocabSize: tok.vocabSize, contextLength: 16, dModel: 16, nLayers: 1, nHeads: 2 };
  const level = targetLevel(2);
  const prompt = (target: number) => [tok.bos, ...tok.encode(`=${target}:`)];
  const raw = [
    { target: 5, texts: ['2+3', '5*1', '2+3'] },
    { target: 6, texts: ['3+3', '2*4', '9-3+0'] },
  ];
  const sets: PromptSamples[] = raw.map((r) => ({
    prompt: prompt(r.target),
    samples: r.texts.map((text) => ({ text, tokens: [...tok.encode(text), tok.eos], correct: verifyTarget(r.target, text, level).correct })),
  }));
  const lambda = 0.7;
  const P = sets.length;

  for (const [objective, s] of [['additive', 1], ['polychromic', 2 / (3 - 2)]] as const) {
    test(`${objective}: ∇(Σ w·ce) = −λ·s·Σ A_i ∇log p(y_i) / P, from per-sample log-likelihood gradients`, async () => {
      const backend = new CpuBackend(gpt);
      await backend.setParams(initParams(gpt, keyFromSeed(7)));
      const estimate = diversityEstimate(sets, objective, 2);
      const got = (await backend.gradients(surrogateBatch(estimate, lambda))).grads;
      const want = new Float64Array(got.length);
      for (const set of sets) {
        const texts = set.samples.map((y) => y.text);
        const { advantages } = objective === 'additive' ? additiveAdvantages(texts) : polychromicAdvantages(texts, set.samples.map((y) => y.correct), 2);
        for (const [i, y] of set.samples.entries()) {
          // sftBatch weights the completion's tokens 1/count: its gradient is ∇(−log p(y)) / count.
          const one = sftBatch([{ prompt: set.prompt, completion: y.tokens }], set.prompt.length + y.tokens.length - 1);
          const count = one.weights.filter((w) => w > 0).length;
          const g = (await backend.gradients(one)).grads;
          for (let j = 0; j < g.length; j++) want[j] += (lambda * s * advantages[i]! * count * g[j]!) / P;
        }
      }
      let maxDiff = 0;
      let maxAbs = 0;
      for (let j = 0; j < got.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[j]! - want[j]!));
        maxAbs = Math.max(maxAbs, Math.abs(want[j]!));
      }
      expect(maxAbs).toBeGreaterThan(1e-3);
      expect(maxDiff / maxAbs).toBeLessThan(1e-4);
    });
  }

  test('a descent step on the rows raises Σ A_i log p(y_i); rows of two batches add up', async () => {
    const backend = new CpuBackend(gpt);
    const params = initParams(gpt, keyFromSeed(8));
    await backend.setParams(params);
    const estimate = diversityEstimate(sets, 'additive', 2);
    expect(estimate.score).toBeCloseTo((setDiversity(raw[0]!.texts) + setDiversity(raw[1]!.texts)) / 2, 15);
    expect(estimate.sampleQuality).toBeCloseTo(5 / 6, 15); // all but '2*4' (= 8, not 6)
    const objective = async () => {
      const ll = await scoreContinuations(backend, estimate.rows.map((r) => ({ prompt: r.prompt, continuation: r.completion })));
      return estimate.rows.reduce((sum, r, i) => sum + r.advantage * ll[i]!, 0);
    };
    const before = await objective();
    const surrogate = surrogateBatch(estimate, lambda);
    const g = (await backend.gradients(surrogate)).grads;
    await backend.setParams(params.map((x, j) => x - 0.05 * g[j]!));
    expect(await objective()).toBeGreaterThan(before);

    await backend.setParams(params);
    const quality: TokenBatch = sftBatch([{ prompt: prompt(4), completion: [...tok.encode('2*2+0'), tok.eos] }], 9);
    const both = (await backend.gradients(concatBatches(quality, surrogate))).grads;
    const a = (await backend.gradients(quality)).grads;
    const b = (await backend.gradients(surrogate)).grads;
    expect(Math.max(...both.map((x, j) => Math.abs(x - a[j]! - b[j]!)))).toBeLessThan(1e-6);
    // The halves of the prompts add up to the whole estimate.
    const h0 = (await backend.gradients(surrogateBatch(estimate, lambda, (p) => p === 0))).grads;
    const h1 = (await backend.gradients(surrogateBatch(estimate, lambda, (p) => p === 1))).grads;
    expect(Math.max(...b.map((x, j) => Math.abs(x - h0[j]! - h1[j]!)))).toBeLessThan(1e-6);
  });
});

// --- the experiment ----------------------------------------------------------------

const tiny: Partial<DiversityConfig> = {
  lambdas: [0, 1], replicates: 1, difficulty: 1, minTarget: 0, maxTarget: 18, trainTargets: 6, valTargets: 2, testTargets: 3,
  seedsPerTarget: 4, dModel: 16, nLayers: 1, nHeads: 2, warmStartSteps: 12, fineTuneSteps: 6, batchSize: 8,
  samplesPerPrompt: 4, promptsPerEstimate: 3, setSize: 2, diversityEvery: 3, diagnoseEvery: 3, evalSamples: 4, passK: 2,
  embedBatchSize: 5, viewerPrompts: 1, evalSplits: ['train', 'test'],
};

/** Unit vectors from a text's length and operators: a stand-in for a sentence-embedding model. */
const fakeEmbed = (calls: number[]): NonNullable<RunContext['embed']> => async (texts): Promise<EmbedResult> => {
  calls.push(texts.length);
  return {
    ok: true, model: 'fake-embedder',
    vectors: texts.map((t) => {
      const v = Float32Array.from([1 + t.length, 1 + t.split('+').length, 1 + t.split('*').length]);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    }),
  };
};

function runTiny(overrides: Partial<DiversityConfig>, opts: { resume?: RunCheckpoint; stopAfter?: (c: RunCheckpoint) => boolean; embed?: RunContext['embed'] } = {}) {
  const config = resolveConfig(diversity, 'classroom', { ...tiny, ...overrides });
  return runExperimentTiny(diversity, config, { seed: 3, resume: opts.resume, stopAfter: opts.stopAfter, host: { embed: opts.embed } });
}

describe('diversity run', () => {
  test('a tiny sweep emits diagnostics, evaluations, aggregates, samples and checkpoints at {replicate, lambda}', async () => {
    const calls: number[] = [];
    const { summary, events, records, samples, checkpoints } = await runTiny({}, { embed: fakeEmbed(calls) });
    const diag = records.filter((r): r is DiagnosticRecord => r.kind === 'diagnostic');
    expect(diag.map((d) => [d.lambda, d.step])).toEqual([[0, 0], [0, 3], [1, 0], [1, 3]]);
    for (const d of diag.filter((x) => x.lambda === 0)) {
      expect(d.lossShare).toBe(0);
      expect(d.gradShare).toBe(0);
      expect(d.diversityScore).toBeGreaterThan(0); // measured all the same
    }
    for (const d of diag.filter((x) => x.lambda === 1)) {
      expect(d.lossShare).toBeGreaterThan(0);
      expect(d.gradShare).toBeGreaterThan(0);
      expect(d.lossShare).toBeCloseTo(d.diversityScore / (d.qualityLoss + d.diversityScore), 12);
      expect(d.gradShare).toBeCloseTo(d.diversityGradNorm / (d.qualityGradNorm + d.diversityGradNorm), 12);
    }
    // Same base, same batches and samples until λ acts: the first diagnostic of each λ is the same measurement.
    expect(diag[2]!.qualityLoss).toBe(diag[0]!.qualityLoss);
    expect(diag[2]!.diversityScore).toBe(diag[0]!.diversityScore);

    const evals = records.filter((r): r is EvaluationRecord => r.kind === 'evaluation');
    expect(evals.map((e) => [e.model, e.lambda, e.split])).toEqual([
      ['base', null, 'train'], ['base', null, 'test'], ['fine-tuned', 0, 'train'], ['fine-tuned', 0, 'test'], ['fine-tuned', 1, 'train'], ['fine-tuned', 1, 'test'],
    ]);
    for (const e of evals) {
      // Every prompt has m samples, so mean pass@1 is the share of correct verdicts.
      expect(e.quality).toBeCloseTo(e.validity.correct / (e.prompts * e.samplesPerPrompt), 12);
      expect(e.passAtK).toBeGreaterThanOrEqual(e.quality - 1e-12);
      expect(Object.values(e.validity).reduce((a, b) => a + b, 0)).toBe(e.prompts * e.samplesPerPrompt);
      expect(e.embeddingDiversity).not.toBeNull();
      expect(e.notes.embeddingDiversity).toMatch(/^fake-embedder, \d+ texts in batches of 5/);
    }
    // The fine-tuned models carry their diagnostics' mean shares; the base model none.
    expect(evals[4]!.gradShare).toBeCloseTo((diag[2]!.gradShare + diag[3]!.gradShare) / 2, 15);
    expect(evals[0]!.gradShare).toBeNull();
    expect(Math.max(...calls)).toBeLessThanOrEqual(5);
    expect(records.filter((r) => r.kind === 'aggregate').map((r) => [r.lambda, r.split])).toEqual([
      [null, 'train'], [null, 'test'], [0, 'train'], [0, 'test'], [1, 'train'], [1, 'test'],
    ]);

    const s = summary!;
    expect(Object.keys(s.lambdas)).toEqual(['0', '1']);
    expect(s.lambdas['0']!.diagnostics!.lossShare.mean).toBe(0);
    expect(s.lambdas['0']!.splits.test!.change!.quality).toEqual({ mean: 0, low: null, high: null, n: 1 }); // one replicate: no interval
    expect(s.lambdas['1']!.splits.train!.metrics.quality.mean).toBe(evals[4]!.quality);
    expect(s.lambdas['1']!.splits.test!.change!.quality.mean).toBeCloseTo(evals[5]!.quality - evals[3]!.quality, 15);
    expect(s.lambdas['1']!.notes).toContain('one replicate: no confidence intervals');

    const progress = events.filter((e) => e.type === 'progress');
    const last = progress[progress.length - 1]!;
    expect(last.type === 'progress' && last.done === last.total).toBe(true);
    const units = [{ replicate: 0, lambda: null }, { replicate: 0, lambda: 0 }, { replicate: 0, lambda: 1 }];
    expect(checkpoints.map((c) => [c.at, c.label, c.experiment, c.stateVersion])).toEqual([
      [units[0], 'replicate 1, the base model', 'diversity', 1], [units[1], 'replicate 1, λ = 0', 'diversity', 1], [units[2], 'replicate 1, λ = 1', 'diversity', 1],
    ]);
    // The base model travels with every checkpoint: it is the params of the first.
    for (const c of checkpoints) expect(c.extraParams.base).toEqual(checkpoints[0]!.params);
    expect(samples.map((e) => e.at)).toEqual(units);
    expect(samples.map((e) => e.rows.map((r) => [r.lambda, r.split]))).toEqual([
      [[null, 'train'], [null, 'test']], [[0, 'train'], [0, 'test']], [[1, 'train'], [1, 'test']],
    ]); // one prompt per split per unit
    expect(samples[2]!.rows[1]!.samples).toHaveLength(4);
  });

  test('not computed is null with the reason, never 0', async () => {
    const failing: RunContext['embed'] = async () => ({ ok: false, reason: 'out of memory' });
    const a = await runTiny({ lambdas: [1], fineTuneSteps: 3 }, { embed: failing });
    const b = await runTiny({ lambdas: [1], fineTuneSteps: 3 });
    for (const [run, reason] of [[a, 'not computed: out of memory'], [b, 'not computed: this host has no embedding model']] as const) {
      const evals = run.records.filter((r): r is EvaluationRecord => r.kind === 'evaluation');
      expect(evals).toHaveLength(4);
      for (const e of evals) {
        expect(e.embeddingDiversity).toBeNull();
        expect(e.notes.embeddingDiversity).toBe(reason);
      }
      const s = run.summary!;
      expect(s.lambdas['1']!.splits.test!.metrics.embeddingDiversity).toEqual({ mean: null, low: null, high: null, n: 0 });
      expect(s.lambdas['1']!.splits.test!.change).toBeNull(); // λ = 0 is not in the sweep
      expect(s.lambdas['1']!.notes).toContain('λ = 0 is not in the sweep: no changes against it');
      expect(s.lambdas['1']!.notes).toContain(`embedding diversity ${reason}`);
    }
  });

  test('a run cancelled after a checkpoint and resumed ends as the uninterrupted one (polychromic, two replicates)', async () => {
    const o: Partial<DiversityConfig> = { objective: 'polychromic', replicates: 2, warmStartSteps: 8, evalSplits: ['test'] };
    const full = await runTiny(o);
    // After a fine-tuning of replicate 1, and after replicate 2's base model.
    for (const at of [{ replicate: 0, lambda: 0 }, { replicate: 1, lambda: null }]) {
      const part = await runTiny(o, { stopAfter: (c) => c.at.replicate === at.replicate && c.at.lambda === at.lambda });
      expect(part.error).toBeInstanceOf(RunCancelled);
      const ckpt = part.checkpoints.at(-1)!;
      expect(ckpt.at).toEqual(at);
      const resumed = await runTiny(o, { resume: ckpt });
      expect(resumed.events[0]).toEqual({ type: 'log', message: `resumed after ${ckpt.label}` });
      expect(resumed.summary).toEqual(full.summary);
      expect([...ckpt.records, ...resumed.records]).toEqual(full.records);
      expect(resumed.checkpoints.at(-1)!.params).toEqual(full.checkpoints.at(-1)!.params);
      expect(resumed.checkpoints.at(-1)!.progress).toEqual(full.checkpoints.at(-1)!.progress);
    }
    const s = full.summary!;
    expect(s.lambdas['1']!.splits.test!.metrics.quality.n).toBe(2);
    expect(s.lambdas['1']!.diagnostics!.diversityScore.mean).not.toBeNull();
  });

  test('a checkpoint that is not a step of this sweep, or of an earlier state version, is refused with the reason', async () => {
    const o: Partial<DiversityConfig> = { lambdas: [1], fineTuneSteps: 3, evalSplits: ['test'] };
    const part = await runTiny(o, { stopAfter: () => true });
    const ckpt = part.checkpoints[0]!;
    const elsewhere = await runTiny({ ...o, lambdas: [2] }, { resume: { ...ckpt, at: { replicate: 0, lambda: 1 } } });
    expect(elsewhere.error).toBeInstanceOf(CheckpointError);
    expect(String(elsewhere.error)).toMatch(/after replicate 1, λ = 1\) is not a step of this run's sweep/);
    const stale = await runTiny(o, { resume: { ...ckpt, stateVersion: 0 } });
    expect(String(stale.error)).toMatch(/an earlier version of the diversity lab \(state version 0; this version reads 1\)/);
    const foreign = await runTiny(o, { resume: { ...ckpt, state: { unitsDone: 1, seconds: 3 } } });
    expect(String(foreign.error)).toMatch(/state is not what the diversity lab saves/);
  });
});

// --- the report: what the page reads -------------------------------------------------

/** A hand-made evaluation of one model, replicate and split. */
function evaluation(lambda: number | null, replicate: number, quality: number, split: EvaluationRecord['split'] = 'test'): EvaluationRecord {
  const validity = { ...emptyTally(), correct: Math.round(quality * 10), wrong: 10 - Math.round(quality * 10) };
  return {
    kind: 'evaluation', objective: 'additive', model: lambda === null ? 'base' : 'fine-tuned', lambda, replicate, split, prompts: 2,
    samplesPerPrompt: 5, quality, k: 2, passAtK: quality, distinct2: null, selfBleu: 0.5, editDiversity: 0.4, embeddingDiversity: null,
    distinctCorrect: 1, novelCorrect: 0, validity, notes: { embeddingDiversity: 'not computed: embedBatchSize is 0' },
    lossShare: null, gradShare: null, trainLoss: 1, seconds: 0,
  };
}

function diagnostic(lambda: number, replicate: number, step: number, gradShare: number): DiagnosticRecord {
  return {
    kind: 'diagnostic', objective: 'additive', lambda, replicate, step, qualityLoss: 1, diversityScore: 0.5, lossShare: gradShare / 2, gradShare,
    qualityGradNorm: 1, diversityGradNorm: 1, gradCosine: null, halvesAgreement: NaN, sampleQuality: 1, sampleDistinct: 1,
  };
}

describe('the report: aggregation over replicates, for the summary and the page', () => {
  const c = { replicates: 2, lambdas: [1, 0], evalSplits: ['test'] as EvaluationRecord['split'][], diagnoseEvery: 3 };
  const records: DiversityRecord[] = [
    evaluation(null, 0, 0.2), evaluation(0, 0, 0.3), evaluation(1, 0, 0.5),
    diagnostic(1, 0, 0, 0.2), diagnostic(1, 0, 3, 0.4), diagnostic(1, 1, 0, 0.6),
    evaluation(null, 1, 0.4), evaluation(0, 1, 0.3), evaluation(1, 1, 0.7),
  ];
  const t975 = 12.706204736174705; // Student t, 1 degree of freedom

  test('mean and 95% CI per metric, the change against λ = 0 paired by replicate, the diagnostics per replicate first', () => {
    const a = aggregate(records, c, 1);
    const q = a.splits.test!.metrics.quality;
    expect(q.mean).toBeCloseTo(0.6, 15);
    expect(q.high! - q.mean!).toBeCloseTo(t975 * 0.1, 12); // t · sd / √n, sd of {0.5, 0.7} = 0.1·√2
    expect(q.n).toBe(2);
    const change = a.splits.test!.change!.quality;
    expect(change.mean).toBeCloseTo(0.3, 15); // (0.5 − 0.3 + 0.7 − 0.3) / 2
    expect(change.low).toBeCloseTo(0.3 - t975 * 0.1, 12); // sd of {0.2, 0.4} is 0.1·√2, over √2
    expect(a.splits.test!.metrics.distinct2).toEqual({ mean: null, low: null, high: null, n: 0 });
    expect(a.splits.test!.validity).toEqual({ ...emptyTally(), correct: 12, wrong: 8 });
    // Replicate 0: mean of 0.2 and 0.4 = 0.3; replicate 1: 0.6; then their mean.
    expect(a.diagnostics!.gradShare.mean).toBeCloseTo(0.45, 15);
    expect(a.diagnostics!.halvesAgreement).toEqual({ mean: null, low: null, high: null, n: 0 }); // NaN is left out
    expect(a.notes).toEqual(['embedding diversity not computed: embedBatchSize is 0']);
    expect(aggregate(records, c, null).diagnostics).toBeNull();
    expect(aggregate(records, c, null).splits.test!.change).toBeNull();
  });

  test('a run in progress: models not yet evaluated are left out of the table, the rest have what they have', () => {
    const sofar = records.slice(0, 6);
    expect(sweepTable(sofar, c).map((a) => [a.lambda, a.replicates, a.splits.test!.metrics.quality.n])).toEqual([[null, 1, 1], [0, 1, 1], [1, 1, 1]]);
    expect(sweepTable(sofar.slice(0, 2), c).map((a) => a.lambda)).toEqual([null, 0]);
    expect(sweep(records, c).lambdas['1']).toEqual(aggregate(records, c, 1));
    expect(Object.keys(sweep(records, c).lambdas)).toEqual(['0', '1']); // integer-like keys sort first in JS objects
  });

  test('the shares per λ and step, the notes, the viewer, the history line and the runner row', () => {
    const series = diagnosticSeries(records);
    expect([...series.keys()]).toEqual([1]);
    expect(series.get(1)!.map((p) => [p.step, p.gradShare])).toEqual([[0, 0.4], [3, 0.4]]);
    expect(evaluationNotes(records)).toEqual(['embedding diversity not computed: embedBatchSize is 0']);
    expect(preferredSplit(['val', 'test'])).toBe('val');
    expect(preferredSplit(['test', 'train'])).toBe('train');
    const summary = summarize(records, { ...c, objective: 'additive' }, 1);
    expect(gradientShares(JSON.parse(JSON.stringify(summary)))).toEqual([{ lambda: '0', gradShare: null }, { lambda: '1', gradShare: 0.45 }]);
    expect(gradientShares({ iterations: [] })).toBeNull();
    const [agg] = aggregateRecords(summary.lambdas['1']!, c);
    expect(tableRow(agg!)).toMatchObject({ 'λ': '1', rep: 'mean', split: 'test', quality: '60.0%', 'grad share': '45.0%', 'distinct-2': '—' });
    expect(tableRow(records[1]!)).toMatchObject({ 'λ': '0', rep: '1', quality: '30.0%', 'loss share': '—' });
    expect(tableRow(records[3]!)).toBeNull();
  });
});

describe('config and the headless runner', () => {
  test('presets validate; lists from a link or the CLI become numbers; bad fields are named', () => {
    for (const name of Object.keys(diversity.presets)) expect(() => resolveConfig(diversity, name, {})).not.toThrow();
    const w = resolveConfig(diversity, 'write-up', {});
    expect([w.lambdas, w.samplesPerPrompt, w.promptsPerEstimate, w.diversityEvery]).toEqual([[0, 0.3, 1, 2], 5, 8, 3]);
    const c = resolveConfig(diversity, null, coerceOverrides(diversity.config.fields, { lambdas: '0, 0.5,4', evalSplits: 'val' }));
    expect(c.lambdas).toEqual([0, 0.5, 4]);
    expect(c.evalSplits).toEqual(['val']);
    expect(() => resolveConfig(diversity, null, { lambdas: [1, 1] })).toThrow(/lambdas: lists a value twice/);
    expect(() => resolveConfig(diversity, null, coerceOverrides(diversity.config.fields, { lambdas: '0,x' }))).toThrow(/lambdas.1: must be a number/);
    expect(() => resolveConfig(diversity, null, { objective: 'polychromic', setSize: 5 })).toThrow(/setSize: must be < samplesPerPrompt/);
    expect(resolveConfig(diversity, null, { setSize: 5 }).setSize).toBe(5); // unused by the additive objective
    expect(() => resolveConfig(diversity, null, { diagnoseEvery: 10 })).toThrow(/diagnoseEvery: must be a multiple of diversityEvery/);
    expect(() => resolveConfig(diversity, null, { testTargets: 0 })).toThrow(/evalSplits: includes an empty split \(test\)/);
    expect(() => resolveConfig(diversity, null, { minTarget: 40 })).toThrow(/minTarget: must be ≤ maxTarget \(30\)/);
  });

  test('the form: every field has a human label, in the page\'s fieldsets', () => {
    expect(diversity.config.groups.map((g) => [g.legend, g.fields.length])).toEqual([
      ['Objective', 8], ['Task', 7], ['Model', 3], ['Training', 7], ['Evaluation', 5],
    ]);
    expect(diversity.config.groups[1]!.note).toMatch(/many right answers/);
    for (const [key, field] of Object.entries(diversity.config.fields)) expect(field.label, key).not.toMatch(/^[a-z]+[A-Z]/);
  });

  const out = mkdtempSync(join(tmpdir(), 'lab-diversity-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('`run diversity --out DIR` writes summary.json with seconds and one entry per λ', async () => {
    const overrides = Object.fromEntries(Object.entries({ ...tiny, fineTuneSteps: 3, evalSplits: ['test'] })
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
    await runExperiment({ experiment: 'diversity', preset: 'classroom', seed: 1, out, overrides });
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.seconds).toBeGreaterThan(0);
    expect(Object.keys(summary.lambdas)).toEqual(['0', '1']);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const tuned = metrics.find((r) => r.kind === 'evaluation' && r.lambda === 1);
    expect(summary.lambdas['1'].splits.test.metrics.quality.mean).toBe(tuned.quality); // one replicate: the mean is its value
    expect(summary.lambdas['1'].splits.test.change.quality.n).toBe(1);
    const targets = readFileSync(join(out, 'targets.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(targets).toHaveLength(11);
  });
});
