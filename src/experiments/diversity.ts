/**
 * Diversity-aware fine-tuning with a λ sweep: loss = quality_loss − λ · diversity.
 *
 * The write-up this reproduces trained with that loss, found that at λ = 0.3
 * diversity carried 2.5% of the loss signal (too weak to matter), and planned
 * λ = 1 and 2 with n = 5 samples per prompt, 8 prompts per diversity estimate
 * and an update every 3 steps. Its evaluation then ran out of memory
 * embedding 10,000 texts at once and reported 0.0; here a metric that was not
 * computed is null with the reason, never 0.
 *
 * The task (core/puzzles/targets): "=14:" → any expression equal to 14
 * ("7+7", "2*7", "9+5", …), so there are many right answers per prompt and
 * both diversity and pass@k mean something.
 *
 *   per replicate r (independent seeds foldIn(runKey, r)):
 *     warm start: a char-level GPT, SFT on the seed set (several distinct
 *       correct answers per training target); evaluate it: the base model;
 *     per λ, side by side from that same base model, with the same batches
 *     and sampling keys (only λ differs):
 *       S steps; every step a quality batch (SFT on the seed pairs, weights
 *       1/#tokens); every `diversityEvery` steps, also diversity rows: n
 *       samples for each of P training prompts, scored, with REINFORCE
 *       weights (below); ONE optimizer step over the combined batch;
 *       every `diagnoseEvery` steps, the shares of the loss and of the
 *       gradient that the diversity term carries;
 *       evaluate (held-out targets, and the seen ones); checkpoint.
 *   then mean and 95% CI over replicates per λ, and the change against λ = 0
 *   (paired by replicate).
 *
 * Diversity of a set Y = {y_1…y_n} of one prompt's samples (characters):
 *   d(a, b) = Levenshtein(a, b) / max(|a|, |b|)   (0 for two empty strings)
 *   D(Y)    = mean of d over the n(n−1)/2 unordered pairs, in [0, 1].
 *
 * Additive objective, J = E[D(Y)], Y ~ p_θ(·|x)^n. Its gradient is
 * Σ_i E[(D(Y) − b_i) ∇log p(y_i)] for any baseline b_i that does not depend
 * on y_i; b_i = D(Y∖y_i) gives each sample's leave-one-out contribution
 *   c_i = D(Y) − D(Y∖y_i),   A_i = c_i − mean_j c_j,
 * and the estimate ∇̂J = Σ_i A_i ∇log p(y_i). For this D the c_i already sum
 * to zero, so the centring changes nothing and the estimate is unbiased
 * (checked by enumeration in the tests). Needs n ≥ 3.
 *
 * Polychromic objective (Hamid et al. 2025, "Polychromic objectives for
 * reinforcement learning"): a set S of k samples scores
 *   f(S) = (mean over S of q_i) · D(S),   q_i = 1 if y_i verifies, else 0;
 * over all C(n, k) subsets of the n samples, each sample's advantage is
 *   A_i = mean_{S ∋ i} f(S) − mean_S f(S).
 * Since mean_S f = (k/n)·mean_{S∋i} f + ((n−k)/n)·mean_{S∌i} f, A_i equals
 * ((n−k)/n)·(mean_{S∋i} f − mean_{S∌i} f), so E[Σ_i A_i ∇log p(y_i)] =
 * ((n−k)/k)·∇E[f]: the surrogate scales A_i by k/(n−k) to estimate ∇E[f]
 * itself (so λ means the same thing for both objectives). Needs 2 ≤ k < n.
 *
 * The surrogate rows. The engine minimises Σ_{b,t} w_bt · ce_bt with
 * ce = −log p(target). Giving every completion token of sample y_i (prompt p)
 * the weight
 *   w_i = +λ · s · A_i / P          (s = 1 additive, k/(n−k) polychromic)
 * makes the rows' gradient Σ_i w_i ∇(−log p(y_i)) = −λ · (1/P) Σ_p ∇̂J_p, so
 * ∇(Σ w·ce) over the combined batch = ∇quality_loss − λ·∇̂J: a descent step
 * on it raises log p of the positive-advantage samples and lowers it for the
 * negative ones, i.e. ascends J. (Not λ·A_i/(n·P): with leave-one-out
 * contributions, which already scale like 1/n, that would estimate ∇J/n.)
 *
 * Diagnostics: loss share |λ·J̄| / (|L_q| + |λ·J̄|) with J̄ the mean of D (or
 * f) over the P prompts, and gradient share ‖λ·g_J‖ / (‖g_q‖ + ‖λ·g_J‖) with
 * g_q, g_J the gradients of the quality rows and of the surrogate rows at
 * λ = 1 (`backend.gradients`, before clipping). A share says how loud the
 * term is, not whether it steers: the cosine between the surrogate gradients
 * of two disjoint halves of the P prompts says how much of it is signal
 * rather than sampling noise (≈ 0: mostly noise).
 *
 * Evaluation, on each split of `evalSplits` (held-out targets; the seen
 * training targets, where a correct answer outside the prompt's seed set
 * counts as novel): m samples per prompt at the run's
 * temperature; quality = share correct (pass@1, the unbiased c/n), pass@k
 * (unbiased estimator, k ≤ m); Distinct-2 (character bigrams pooled over the
 * prompt's m samples) and Self-BLEU (character 3-grams, uniform weights,
 * NLTK method1 smoothing, each sample against the prompt's other m − 1),
 * D(Y) of the m samples, and embedding diversity (1 − mean pairwise cosine
 * of ctx.embed vectors, embedded in batches), each computed within a
 * prompt's sample set and averaged over prompts; all samples count, correct
 * or not. Distinct correct answers per prompt, and a tally of verdicts.
 *
 * Randomness: every phase draws from foldIn of the run key (task) or of the
 * replicate's key (init, batches, samples, evaluation), so a run resumed from
 * a checkpoint continues exactly as the uninterrupted one.
 */
import * as v from 'valibot';
import type { Backend, TokenBatch } from '../core/backend';
import type { GptConfig } from '../core/gpt/config';
import { initParams } from '../core/gpt/init';
import { distinctN, meanPairwiseCosineDistance, selfBleu } from '../core/metrics/diversity';
import { meanPassAtK } from '../core/metrics/pass-at-k';
import { meanCI95 } from '../core/metrics/stats';
import {
  TARGET_FAILURES, type TargetFailure, type TargetLevel, type TargetSplits, type TargetTask, makeTargetSplits, targetLevel, verifyTarget,
} from '../core/puzzles/targets';
import { SPLIT_NAMES, type SplitName } from '../core/puzzles/splits';
import { PUZZLE_ALPHABET } from '../core/puzzles/types';
import { type Key, Rng, foldIn, keyFromSeed } from '../core/rng';
import { generate } from '../core/sample';
import { distinctChoices, integerIn, numberIn, positiveInt } from '../core/schema';
import { CharTokenizer } from '../core/tokenizer/char';
import { type WeightedRow, sftBatch, weightedBatch } from '../core/train';
import { runEmbedder } from './embedding';
import { type StepPoint, epochCycler, finalLoss, phaseOptim, resetOptimizer, trainPhase } from './phases';
import { type Experiment, type MetricRecord, RunCancelled, type RunContext } from './types';

export const OBJECTIVES = ['additive', 'polychromic'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface DiversityConfig extends Record<string, unknown> {
  /** 'additive': quality_loss − λ·E[D]; 'polychromic': quality_loss − λ·E[mean quality × D] over sets of setSize. */
  objective: Objective;
  /** The λ values run side by side from the same base model (include 0 for the changes against it). */
  lambdas: number[];
  /** Independent seeds inside the run (own init, batches and samples), for the mean and 95% CI. */
  replicates: number;
  /** Task difficulty 1–3: answers of 2…d+1 single-digit operands, ≤ 2(d+1)+1 characters. */
  difficulty: number;
  /** Targets are integers in [minTarget, maxTarget] with at least seedsPerTarget answers. */
  minTarget: number;
  maxTarget: number;
  /** Targets per split (disjoint by target). */
  trainTargets: number;
  valTargets: number;
  testTargets: number;
  /** Distinct correct answers per training target in the seed set (the quality data). */
  seedsPerTarget: number;
  /** Model width C, depth L and heads NH (the context fits the longest prompt and answer). */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** SFT steps of the warm start (the base model every λ starts from), and its peak learning rate. */
  warmStartSteps: number;
  warmStartLearningRate: number;
  /** Fine-tuning steps per λ, and their peak learning rate (warmup then cosine). */
  fineTuneSteps: number;
  learningRate: number;
  /** AdamW's decoupled weight decay on the matrices, in every phase (0.1, as nanoGPT). */
  weightDecay: number;
  /** Quality rows (seed pairs) per optimizer step. */
  batchSize: number;
  /** n: samples per prompt for each diversity estimate. */
  samplesPerPrompt: number;
  /** P: training prompts per diversity estimate. */
  promptsPerEstimate: number;
  /** Add diversity rows every this many steps (the steps in between are quality only). */
  diversityEvery: number;
  /** k: samples per set of the polychromic objective (2 ≤ k < n). */
  setSize: number;
  /** Sampling temperature of the diversity samples and of the evaluation. */
  temperature: number;
  /** Measure loss and gradient shares every this many steps (a multiple of diversityEvery; 0: never). */
  diagnoseEvery: number;
  /**
   * The splits evaluated: 'val'/'test' are held-out targets; 'train' the seen
   * targets, where correct answers outside the seed set count as novel.
   */
  evalSplits: SplitName[];
  /** m: samples per evaluation prompt (pass@k, Distinct-2, Self-BLEU within each prompt's m samples). */
  evalSamples: number;
  /** k of pass@k (≤ evalSamples). */
  passK: number;
  /** Texts per ctx.embed call for embedding diversity (0: not computed). */
  embedBatchSize: number;
  /** Evaluation prompts shown per λ in the sample viewer. */
  viewerPrompts: number;
}

/**
 * The classroom setting: the write-up's λ values and diversity settings
 * (n = 5, P = 8, every 3 steps), a 1-layer d=32 model, 3 replicates; 35 s
 * of CPU in Node (37–53 s wall on a shared 2-core machine). 16 training targets × 4 seed answers at
 * difficulty 2 are learnt by heart in 400 warm-start steps (≈ 95% correct on
 * seen targets), so the base model is a narrow one with room to diversify;
 * held-out targets stay near chance at this size (reported, not hidden).
 */
export const defaultConfig: DiversityConfig = {
  objective: 'additive',
  lambdas: [0, 0.3, 1, 2],
  replicates: 3,
  difficulty: 2,
  minTarget: 0,
  maxTarget: 30,
  trainTargets: 16,
  valTargets: 4,
  testTargets: 8,
  seedsPerTarget: 4,
  dModel: 32,
  nLayers: 1,
  nHeads: 2,
  warmStartSteps: 400,
  warmStartLearningRate: 1e-2,
  fineTuneSteps: 90,
  learningRate: 1e-2,
  weightDecay: 0.1,
  batchSize: 32,
  samplesPerPrompt: 5,
  promptsPerEstimate: 8,
  diversityEvery: 3,
  setSize: 3,
  temperature: 1,
  diagnoseEvery: 15,
  evalSplits: ['train', 'test'],
  evalSamples: 20,
  passK: 10,
  embedBatchSize: 64,
  viewerPrompts: 4,
};

const splitSize = (c: Pick<DiversityConfig, 'trainTargets' | 'valTargets' | 'testTargets'>, s: SplitName) =>
  s === 'train' ? c.trainTargets : s === 'val' ? c.valTargets : c.testTargets;

/** A number, or a numeric string (a share link or a form field gives lists as strings). */
const lambdaValue = v.pipe(
  v.union([v.number(), v.pipe(v.string(), v.trim(), v.nonEmpty(), v.transform(Number))], 'must be a number'),
  v.check((x) => Number.isFinite(x) && x >= 0 && x <= 100, (i) => `must be a number from 0 to 100, got ${String(i.input)}`),
);

const schema = v.pipe(
  v.strictObject({
    objective: v.picklist(OBJECTIVES, `must be one of ${OBJECTIVES.join(', ')}`),
    lambdas: v.pipe(
      v.array(lambdaValue, 'must be a list of numbers'),
      v.minLength(1, 'give at least one λ'),
      v.maxLength(8, 'at most 8 values'),
      v.check((l) => new Set(l).size === l.length, 'lists a value twice'),
    ),
    replicates: integerIn(1, 20),
    difficulty: integerIn(1, 3),
    minTarget: integerIn(0, 999),
    maxTarget: integerIn(0, 999),
    trainTargets: integerIn(1, 1000),
    valTargets: integerIn(0, 1000),
    testTargets: integerIn(0, 1000),
    seedsPerTarget: integerIn(1, 100),
    dModel: positiveInt(),
    nLayers: integerIn(1, 16),
    nHeads: positiveInt(),
    warmStartSteps: integerIn(0, 1_000_000),
    warmStartLearningRate: numberIn(0, 1),
    fineTuneSteps: integerIn(0, 1_000_000),
    learningRate: numberIn(0, 1),
    weightDecay: numberIn(0, 10),
    batchSize: integerIn(1, 4096),
    samplesPerPrompt: integerIn(3, 16),
    promptsPerEstimate: integerIn(1, 256),
    diversityEvery: integerIn(1, 1000),
    setSize: integerIn(2, 15),
    temperature: numberIn(0.05, 10),
    diagnoseEvery: integerIn(0, 1_000_000),
    evalSplits: distinctChoices(SPLIT_NAMES, 'split'),
    evalSamples: integerIn(1, 256),
    passK: integerIn(1, 256),
    embedBatchSize: integerIn(0, 4096),
    viewerPrompts: integerIn(0, 100),
  }),
  v.forward(v.check((c) => c.minTarget <= c.maxTarget, (i) => `must be ≤ maxTarget (${i.input.maxTarget})`), ['minTarget']),
  v.forward(v.check((c) => c.dModel % c.nHeads === 0, (i) => `must divide dModel (${i.input.dModel})`), ['nHeads']),
  v.forward(
    v.check((c) => c.objective !== 'polychromic' || c.setSize < c.samplesPerPrompt, (i) => `must be < samplesPerPrompt (${i.input.samplesPerPrompt})`),
    ['setSize'],
  ),
  v.forward(v.check((c) => c.promptsPerEstimate <= c.trainTargets, (i) => `must be ≤ trainTargets (${i.input.trainTargets})`), ['promptsPerEstimate']),
  v.forward(v.check((c) => c.passK <= c.evalSamples, (i) => `must be ≤ evalSamples (${i.input.evalSamples})`), ['passK']),
  v.forward(
    v.check((c) => c.diagnoseEvery % c.diversityEvery === 0, (i) => `must be a multiple of diversityEvery (${i.input.diversityEvery})`),
    ['diagnoseEvery'],
  ),
  v.forward(
    v.check((c) => c.evalSplits.every((s) => splitSize(c, s) > 0), (i) => `includes an empty split (${i.input.evalSplits.filter((s) => splitSize(i.input, s) === 0).join(', ')})`),
    ['evalSplits'],
  ),
) as unknown as v.GenericSchema<unknown, DiversityConfig>;

// --- the diversity score and the advantages (pure; exported for the tests) ------------

/** Levenshtein distance (unit insert/delete/substitute) between two strings, by UTF-16 unit. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** d(a, b) = Levenshtein(a, b) / max(|a|, |b|) in [0, 1]; 0 for two empty strings. */
export function normalizedEditDistance(a: string, b: string): number {
  const m = Math.max(a.length, b.length);
  return m === 0 ? 0 : editDistance(a, b) / m;
}

/** (n×n) symmetric matrix of d, zero diagonal. */
function distanceMatrix(texts: readonly string[]): Float64Array {
  const n = texts.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) d[i * n + j] = d[j * n + i] = normalizedEditDistance(texts[i]!, texts[j]!);
  }
  return d;
}

/** Mean of d over the unordered pairs of `members` (indices into the n×n matrix); NaN for < 2 members. */
function meanPairDistance(d: Float64Array, n: number, members: readonly number[]): number {
  if (members.length < 2) return NaN;
  let s = 0;
  for (let a = 0; a < members.length; a++) for (let b = a + 1; b < members.length; b++) s += d[members[a]! * n + members[b]!]!;
  return s / ((members.length * (members.length - 1)) / 2);
}

/** D(Y): the mean normalised edit distance over the unordered pairs of texts; NaN for fewer than 2. */
export function setDiversity(texts: readonly string[]): number {
  const n = texts.length;
  return meanPairDistance(distanceMatrix(texts), n, [...Array(n).keys()]);
}

/**
 * Additive objective: D(Y) and each sample's advantage A_i = c_i − mean c,
 * c_i = D(Y) − D(Y∖y_i) (leave-one-out contribution). n ≥ 3.
 */
export function additiveAdvantages(texts: readonly string[]): { score: number; advantages: number[] } {
  const n = texts.length;
  if (n < 3) throw new Error(`additiveAdvantages: needs at least 3 samples, got ${n}`);
  const d = distanceMatrix(texts);
  const all = [...Array(n).keys()];
  const score = meanPairDistance(d, n, all);
  const contributions = all.map((i) => score - meanPairDistance(d, n, all.filter((j) => j !== i)));
  const mean = contributions.reduce((a, b) => a + b, 0) / n;
  return { score, advantages: contributions.map((c) => c - mean) };
}

/** Every k-subset of {0…n−1}, in lexicographic order. */
function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === k) {
      out.push([...chosen]);
      return;
    }
    for (let i = start; i <= n - (k - chosen.length); i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return out;
}

/**
 * Polychromic objective over all C(n, k) subsets S: f(S) = mean_{i∈S} q_i · D(S);
 * score = mean_S f(S); A_i = mean_{S∋i} f(S) − mean_S f(S). 2 ≤ k < n.
 */
export function polychromicAdvantages(
  texts: readonly string[], correct: readonly boolean[], setSize: number,
): { score: number; advantages: number[]; sets: number } {
  const n = texts.length;
  if (correct.length !== n) throw new Error(`polychromicAdvantages: ${n} texts but ${correct.length} verdicts`);
  if (!(Number.isInteger(setSize) && setSize >= 2 && setSize < n)) throw new Error(`polychromicAdvantages: setSize must be in [2, ${n - 1}], got ${setSize}`);
  const d = distanceMatrix(texts);
  const sets = combinations(n, setSize);
  const f = sets.map((S) => (S.filter((i) => correct[i]).length / setSize) * meanPairDistance(d, n, S));
  const score = f.reduce((a, b) => a + b, 0) / sets.length;
  const advantages = [...Array(n).keys()].map((i) => {
    let s = 0;
    let count = 0;
    sets.forEach((S, j) => {
      if (S.includes(i)) {
        s += f[j]!;
        count++;
      }
    });
    return s / count - score;
  });
  return { score, advantages, sets: sets.length };
}

/** s in w_i = λ·s·A_i/P: 1 (additive), k/(n−k) (polychromic), so that the rows estimate ∇J itself (file comment). */
export function advantageScale(objective: Objective, n: number, setSize: number): number {
  switch (objective) {
    case 'additive': return 1;
    case 'polychromic': return setSize / (n - setSize);
    default: return objective satisfies never;
  }
}

/** Sequences with a weight on each completion token: prompt (BOS…) then completion; (B,T) with T = the longest row − 1. */
export function weightedCompletionBatch(
  rows: readonly { prompt: readonly number[]; completion: readonly number[]; weight: number }[],
): TokenBatch {
  const weighted = rows.map((r): WeightedRow => {
    const tokens = [...r.prompt, ...r.completion];
    return { tokens, weights: tokens.slice(1).map((_, t) => (t + 1 >= r.prompt.length ? r.weight : 0)) };
  });
  return weightedBatch(weighted, Math.max(1, ...weighted.map((r) => r.tokens.length - 1)));
}

/** Rows of a then rows of b, right-padded (weight 0) to the longer T. */
export function concatBatches(a: TokenBatch, b: TokenBatch): TokenBatch {
  const T = Math.max(a.T, b.T);
  const B = a.B + b.B;
  const out: TokenBatch = { B, T, inputs: new Int32Array(B * T), targets: new Int32Array(B * T), weights: new Float32Array(B * T) };
  const copy = (src: TokenBatch, rowOffset: number) => {
    for (let r = 0; r < src.B; r++) {
      const from = r * src.T;
      const to = (rowOffset + r) * T;
      out.inputs.set(src.inputs.subarray(from, from + src.T), to);
      out.targets.set(src.targets.subarray(from, from + src.T), to);
      out.weights.set(src.weights.subarray(from, from + src.T), to);
    }
  };
  copy(a, 0);
  copy(b, a.B);
  return out;
}

/** One prompt's n samples: the prompt's ids (BOS…), each sample's text, generated ids (EOS included when it stopped) and verdict. */
export interface PromptSamples {
  prompt: readonly number[];
  samples: readonly { text: string; tokens: readonly number[]; correct: boolean }[];
}

/** A scored diversity estimate: J̄ over the prompts, and each sample's row with its advantage A_i. */
export interface DiversityEstimate {
  objective: Objective;
  /** P. */
  prompts: number;
  /** s of the weights λ·s·A_i/P. */
  scale: number;
  /** Mean over the prompts of D (additive) or of mean_S f(S) (polychromic). */
  score: number;
  /** Share of the samples that verify, and mean share of distinct texts per prompt. */
  sampleQuality: number;
  sampleDistinct: number;
  rows: { promptIndex: number; prompt: readonly number[]; completion: readonly number[]; advantage: number }[];
}

/** Score P prompts' samples with the objective's advantages (file comment). */
export function diversityEstimate(sets: readonly PromptSamples[], objective: Objective, setSize: number): DiversityEstimate {
  let score = 0;
  let correct = 0;
  let total = 0;
  let distinct = 0;
  const rows: DiversityEstimate['rows'] = [];
  sets.forEach((set, p) => {
    const texts = set.samples.map((y) => y.text);
    const ok = set.samples.map((y) => y.correct);
    const scored = objective === 'additive' ? additiveAdvantages(texts) : polychromicAdvantages(texts, ok, setSize);
    score += scored.score;
    correct += ok.filter(Boolean).length;
    total += texts.length;
    distinct += new Set(texts).size / texts.length;
    set.samples.forEach((y, i) => rows.push({ promptIndex: p, prompt: set.prompt, completion: y.tokens, advantage: scored.advantages[i]! }));
  });
  const P = sets.length;
  const n = sets[0]?.samples.length ?? 0;
  return {
    objective, prompts: P, scale: advantageScale(objective, n, setSize),
    score: score / P, sampleQuality: correct / total, sampleDistinct: distinct / P, rows,
  };
}

/**
 * The surrogate rows: weight +λ·s·A_i/P on every completion token of sample i,
 * so that ∇(Σ w·ce) = −λ·∇̂J (file comment). `keep` selects prompts by index.
 */
export function surrogateBatch(e: DiversityEstimate, lambda: number, keep: (promptIndex: number) => boolean = () => true): TokenBatch {
  return weightedCompletionBatch(e.rows
    .filter((row) => keep(row.promptIndex))
    .map((row) => ({ prompt: row.prompt, completion: row.completion, weight: (lambda * e.scale * row.advantage) / e.prompts })));
}

function norm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

function dot(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

// --- records and summary --------------------------------------------------------------

/** Loss and gradient shares of the diversity term at one step of one (λ, replicate) unit. */
export interface DiagnosticRecord extends MetricRecord {
  kind: 'diagnostic';
  objective: Objective;
  lambda: number;
  replicate: number;
  /** Fine-tuning step (0: before the first update). */
  step: number;
  /** L_q: the quality rows' loss, nats per token. */
  qualityLoss: number;
  /** J̄: the mean over the P prompts of D (additive) or of mean_S f(S) (polychromic). */
  diversityScore: number;
  /** |λ·J̄| / (|L_q| + |λ·J̄|). */
  lossShare: number;
  /** λ‖g_J‖ / (‖g_q‖ + λ‖g_J‖). */
  gradShare: number;
  qualityGradNorm: number;
  /** ‖g_J‖: the surrogate rows' gradient norm at λ = 1 (what any λ scales). */
  diversityGradNorm: number;
  /** cos(g_q, g_J) of the two loss gradients: > 0 they pull the same way; null when either is 0. */
  gradCosine: number | null;
  /**
   * cos of the surrogate gradients of two disjoint halves of the P prompts:
   * near 0, the estimate is mostly sampling noise (a large share of noise
   * steers nothing); null when P = 1 or a half's gradient is 0.
   */
  halvesAgreement: number | null;
  /** Share of the P·n training samples that verify, and of distinct texts per prompt. */
  sampleQuality: number;
  sampleDistinct: number;
}

/** Verdict counts over all evaluation samples. */
export type ValidityTally = Record<'correct' | TargetFailure, number>;

export interface EvaluationRecord extends MetricRecord {
  kind: 'evaluation';
  objective: Objective;
  /** 'base': the warm-started model every λ starts from (lambda null). */
  model: 'base' | 'fine-tuned';
  lambda: number | null;
  replicate: number;
  split: SplitName;
  prompts: number;
  samplesPerPrompt: number;
  /** Share of correct samples = mean pass@1 (unbiased, c/n per prompt). */
  quality: number;
  k: number;
  /** Mean pass@k, unbiased estimator. */
  passAtK: number;
  /** Within each prompt's samples, averaged over the prompts where computable; null when none (see notes). */
  distinct2: number | null;
  selfBleu: number | null;
  /** D of each prompt's samples (the additive objective's own measure). */
  editDiversity: number | null;
  embeddingDiversity: number | null;
  /** Mean number of distinct correct answers per prompt, and of those outside the prompt's seed set (all of them on held-out targets). */
  distinctCorrect: number;
  novelCorrect: number;
  validity: ValidityTally;
  /** Why a metric is null, and which embedding model was used. */
  notes: Record<string, string>;
  /** Mean over this unit's diagnostics; null for the base model or without diagnostics. */
  lossShare: number | null;
  gradShare: number | null;
  /** Mean of the last quality losses read during fine-tuning (or the warm start). */
  trainLoss: number | null;
  seconds: number;
}

/** Mean and 95% CI (Student t) over replicates; null where not computable (fewer than 2 values for the bounds). */
export interface Interval {
  mean: number | null;
  low: number | null;
  high: number | null;
  n: number;
}

export const EVAL_METRICS = [
  'quality', 'passAtK', 'distinct2', 'selfBleu', 'editDiversity', 'embeddingDiversity', 'distinctCorrect', 'novelCorrect',
] as const;
export type EvalMetric = (typeof EVAL_METRICS)[number];
export const DIAGNOSTIC_METRICS = ['lossShare', 'gradShare', 'diversityScore', 'qualityLoss', 'gradCosine', 'halvesAgreement'] as const;
export type DiagnosticMetric = (typeof DIAGNOSTIC_METRICS)[number];

/** One split's evaluation over replicates. */
export interface SplitAggregate {
  /** Mean and CI over replicates. */
  metrics: Record<EvalMetric, Interval>;
  /** This λ minus λ = 0, paired by replicate; null for the base model or when λ = 0 is not in the sweep. */
  change: Record<EvalMetric, Interval> | null;
  /** Verdicts summed over replicates. */
  validity: ValidityTally;
}

export interface LambdaAggregate {
  /** null: the base model. */
  lambda: number | null;
  replicates: number;
  splits: Partial<Record<SplitName, SplitAggregate>>;
  /** Per replicate the mean over its diagnostics, then mean and CI over replicates; null for the base model. */
  diagnostics: Record<DiagnosticMetric, Interval> | null;
  notes: string[];
}

/** One λ (or the base model) on one split, over replicates. */
export interface AggregateRecord extends MetricRecord, SplitAggregate, Omit<LambdaAggregate, 'splits'> {
  kind: 'aggregate';
  model: 'base' | 'fine-tuned';
  split: SplitName;
}

export interface DiversitySummary {
  seconds: number;
  objective: Objective;
  evalSplits: SplitName[];
  /** The base model (before any λ), over replicates. */
  base: LambdaAggregate;
  /** Per λ, keyed by String(λ): "0", "0.3", "1", "2". */
  lambdas: Record<string, LambdaAggregate>;
  definitions: Record<string, string>;
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

function interval(values: readonly (number | null)[]): Interval {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x));
  const ci = meanCI95(xs);
  return { mean: finiteOrNull(ci.mean), low: finiteOrNull(ci.low), high: finiteOrNull(ci.high), n: ci.n };
}

function sumTallies(ts: readonly ValidityTally[]): ValidityTally {
  const out = emptyTally();
  for (const t of ts) for (const k of Object.keys(out) as (keyof ValidityTally)[]) out[k] += t[k];
  return out;
}

function emptyTally(): ValidityTally {
  return Object.fromEntries(['correct', ...TARGET_FAILURES].map((k) => [k, 0])) as ValidityTally;
}

const DEFINITIONS: Record<string, string> = {
  diversity: 'D(Y) = mean over unordered pairs of Levenshtein(a, b) / max(|a|, |b|), on the characters of the answers',
  additiveAdvantage: 'A_i = c_i − mean c, c_i = D(Y) − D(Y without y_i); weight λ·A_i/P per completion token',
  polychromicScore: 'f(S) = (share of S that verifies) · D(S) over all k-subsets; A_i = mean f of sets containing i − mean f; weight λ·(k/(n−k))·A_i/P',
  lossShare: '|λ·J̄| / (|L_q| + |λ·J̄|), J̄ = mean over the P prompts of D (or of mean f)',
  gradShare: 'λ‖g_J‖ / (‖g_q‖ + λ‖g_J‖), gradients before clipping',
  halvesAgreement: 'cosine between the surrogate gradients of two disjoint halves of the P prompts (≈ 0: mostly sampling noise)',
  evaluation: 'm samples per prompt; quality = pass@1 (c/m), pass@k unbiased; Distinct-2 (char bigrams), Self-BLEU (char 3-grams, method1), D and embedding diversity within each prompt, averaged over prompts; all samples, correct or not',
  novelCorrect: 'distinct correct answers per prompt that are not in its seed set (on held-out targets: all distinct correct answers)',
  change: 'λ minus λ = 0, paired by replicate; 95% CI over replicates (Student t)',
};

// --- run --------------------------------------------------------------------------------

/** Phase tags for foldIn: one independent stream per use. */
const TAG = { task: 1, replicate: 2 } as const;
const REP = { init: 1, warmBatches: 2, fineTuneBatches: 3, prompts: 4, samples: 5, evaluation: 6 } as const;

interface RunState {
  /** Units completed (base and λ units, in run order). */
  unitsDone: number;
  seconds: number;
}

interface Sample {
  text: string;
  /** The generated ids (EOS included when the row stopped on it). */
  tokens: number[];
}

/** The run's targets: a pure function of the config's task fields and the seed. */
export function runTargets(c: DiversityConfig, seed: number): TargetSplits {
  return makeTargetSplits({
    difficulty: c.difficulty, minTarget: c.minTarget, maxTarget: c.maxTarget, seedsPerTarget: c.seedsPerTarget,
    sizes: { train: c.trainTargets, val: c.valTargets, test: c.testTargets },
  }, foldIn(keyFromSeed(seed), TAG.task));
}

const lambdaKey = (l: number) => String(l);

/** Rows per generate call (evaluation and diversity samples). */
const GEN_BATCH = 64;

async function run(c: DiversityConfig, ctx: RunContext): Promise<DiversitySummary> {
  const runKey = keyFromSeed(ctx.seed);
  const repKey = (r: number, tag: number) => foldIn(foldIn(foldIn(runKey, TAG.replicate), r), tag);
  const level: TargetLevel = targetLevel(c.difficulty);
  const splits = runTargets(c, ctx.seed);
  const tok = new CharTokenizer(PUZZLE_ALPHABET);
  const promptIds = (t: TargetTask) => [tok.bos, ...tok.encode(t.prompt)];
  const all = [...splits.train, ...splits.val, ...splits.test];
  const maxPrompt = Math.max(...all.map((t) => t.prompt.length));
  const contextLength = Math.ceil((1 + maxPrompt + level.maxLength + 1) / 8) * 8;
  const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const backend: Backend = await ctx.createBackend(gpt);
  const seedPairs = splits.train.flatMap((t) => t.seeds.map((s) => ({ prompt: promptIds(t), completion: [...tok.encode(s), tok.eos] })));
  const records: MetricRecord[] = [];
  const started = ctx.now();

  // Units in run order: per replicate the base, then one per λ. Progress counts
  // optimizer steps and generate calls of the evaluation.
  const unitsPerReplicate = 1 + c.lambdas.length;
  const totalUnits = c.replicates * unitsPerReplicate;
  const evalBatches = c.evalSplits.reduce((n, split) => n + Math.ceil((splits[split].length * c.evalSamples) / GEN_BATCH), 0);
  const workOf = (unit: number) => (unit % unitsPerReplicate === 0 ? c.warmStartSteps : c.fineTuneSteps) + evalBatches;
  const workBefore = (unit: number) => [...Array(unit).keys()].reduce((s, u) => s + workOf(u), 0);
  const totalWork = workBefore(totalUnits);
  let doneWork = 0;
  const progress = (phase: string, units: number) => {
    doneWork += units;
    ctx.emit({ type: 'progress', phase, done: Math.min(doneWork, totalWork), total: totalWork });
  };
  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new RunCancelled();
  };
  const emit = (record: MetricRecord) => {
    records.push(record);
    ctx.emit({ type: 'metrics', record });
  };

  /** `count` samples per target, in batches of GEN_BATCH rows; rows: targets × count. */
  const sampleAnswers = async (tasks: readonly TargetTask[], count: number, key: Key, phase?: string): Promise<Sample[][]> => {
    const jobs = tasks.flatMap((t, i) => Array.from({ length: count }, () => ({ i, prompt: promptIds(t) })));
    const out: Sample[][] = tasks.map(() => []);
    for (let start = 0; start < jobs.length; start += GEN_BATCH) {
      checkCancel();
      const chunk = jobs.slice(start, start + GEN_BATCH);
      const gens = await generate(backend, chunk.map((j) => j.prompt), {
        maxNewTokens: level.maxLength + 1, temperature: c.temperature, topK: 0, topP: 1, stopTokens: [tok.eos], key: foldIn(key, start),
      });
      gens.forEach((g, j) => out[chunk[j]!.i]!.push({ text: tok.decode(g.tokens), tokens: g.tokens }));
      if (phase) progress(phase, 1);
    }
    return out;
  };

  /** SFT on the seed pairs: a shuffled epoch order per key; batches of batchSize rows. */
  const qualityBatches = (key: Key) => {
    const next = epochCycler(seedPairs.length, new Rng(key));
    return (): TokenBatch => {
      const rows = next(c.batchSize).map((i) => seedPairs[i]!);
      return sftBatch(rows, Math.max(...rows.map((r) => r.prompt.length + r.completion.length - 1)));
    };
  };

  /** The warm start of replicate r from a fresh init; returns the base parameters and the last losses' mean. */
  const warmStart = async (r: number) => {
    await backend.setParams(initParams(gpt, repKey(r, REP.init)));
    await resetOptimizer(backend);
    const phase = `replicate ${r + 1}: warm start`;
    const result = await trainPhase(backend, ctx, {
      nextBatch: qualityBatches(repKey(r, REP.warmBatches)), optim: phaseOptim(c.warmStartLearningRate, c.weightDecay, c.warmStartSteps),
      steps: c.warmStartSteps, phase,
    });
    checkCancel();
    progress(phase, result.steps);
    return { params: await backend.getParams(), loss: finalLoss(result.points) };
  };

  /** One diversity estimate of replicate r at a step: P training prompts × n samples, scored. */
  const sampleEstimate = async (r: number, step: number) => {
    const rng = new Rng(foldIn(repKey(r, REP.prompts), step));
    const prompts = rng.shuffle([...splits.train]).slice(0, c.promptsPerEstimate);
    const samples = await sampleAnswers(prompts, c.samplesPerPrompt, foldIn(repKey(r, REP.samples), step));
    const sets = prompts.map((t, p) => ({
      prompt: promptIds(t),
      samples: samples[p]!.map((y) => ({ ...y, correct: verifyTarget(t.target, y.text, level).correct })),
    }));
    return diversityEstimate(sets, c.objective, c.setSize);
  };

  /** Fine-tune from `base` with this λ; emits diagnostics; returns the mean shares and the last quality losses. */
  const fineTune = async (r: number, lambda: number, base: Float32Array) => {
    await backend.setParams(base);
    await resetOptimizer(backend);
    const phase = `replicate ${r + 1}: λ = ${lambda}`;
    const nextQuality = qualityBatches(repKey(r, REP.fineTuneBatches));
    const optim = phaseOptim(c.learningRate, c.weightDecay, c.fineTuneSteps);
    const losses: StepPoint[] = [];
    const diagnostics: DiagnosticRecord[] = [];
    for (let s0 = 0; s0 < c.fineTuneSteps; s0 += c.diversityEvery) {
      checkCancel();
      const segment = Math.min(c.diversityEvery, c.fineTuneSteps - s0);
      const diagnose = c.diagnoseEvery > 0 && s0 % c.diagnoseEvery === 0;
      // Batches of this segment, drawn in order whether or not diversity rows join them.
      const batches = Array.from({ length: segment }, () => nextQuality());
      // λ = 0 trains on quality rows only; it samples only to measure J̄ at diagnostic steps.
      const estimate = lambda > 0 || diagnose ? await sampleEstimate(r, s0) : null;
      if (estimate && diagnose) {
        const q = await backend.gradients(batches[0]!);
        // g_J = g_A + g_B: the rows are independent, so the two halves' gradients add up to the whole.
        const half = (h: number) => surrogateBatch(estimate, 1, (p) => (p < estimate.prompts / 2 ? 0 : 1) === h);
        const gA = (await backend.gradients(half(0))).grads;
        const gB = c.promptsPerEstimate > 1 ? (await backend.gradients(half(1))).grads : new Float32Array(gA.length);
        const g = gA.map((x, i) => x + gB[i]!);
        const qNorm = norm(q.grads);
        const gNorm = norm(g);
        const cosine = (a: Float32Array, b: Float32Array) => {
          const x = dot(a, b) / (norm(a) * norm(b));
          return Number.isFinite(x) ? x : null;
        };
        const lossTerm = Math.abs(lambda * estimate.score);
        const record: DiagnosticRecord = {
          kind: 'diagnostic', objective: c.objective, lambda, replicate: r, step: s0,
          qualityLoss: q.loss, diversityScore: estimate.score,
          lossShare: lossTerm / (Math.abs(q.loss) + lossTerm),
          gradShare: (lambda * gNorm) / (qNorm + lambda * gNorm),
          qualityGradNorm: qNorm, diversityGradNorm: gNorm, gradCosine: cosine(q.grads, g),
          halvesAgreement: c.promptsPerEstimate > 1 ? cosine(gA, gB) : null,
          sampleQuality: estimate.sampleQuality, sampleDistinct: estimate.sampleDistinct,
        };
        diagnostics.push(record);
        emit(record);
      }
      if (estimate && lambda > 0) batches[0] = concatBatches(batches[0]!, surrogateBatch(estimate, lambda));
      // The loss is read at each segment's last step, which has quality rows only unless diversityEvery is 1 (then the surrogate's value is included).
      const result = await trainPhase(backend, ctx, { nextBatch: (step) => batches[step - s0]!, optim, steps: segment, phase, startStep: s0, readEvery: segment });
      losses.push(...result.points);
      checkCancel();
      progress(phase, result.steps);
    }
    const meanOf = (f: (d: DiagnosticRecord) => number) => (diagnostics.length ? diagnostics.reduce((s, d) => s + f(d), 0) / diagnostics.length : null);
    return { lossShare: meanOf((d) => d.lossShare), gradShare: meanOf((d) => d.gradShare), loss: finalLoss(losses) };
  };

  /** Embedding diversity per prompt through ctx.embed, in batches of embedBatchSize texts; null with the reason otherwise. */
  const embed = runEmbedder(ctx);
  const embeddingDiversity = async (sets: readonly string[][]): Promise<{ value: number | null; note: string }> => {
    if (c.embedBatchSize === 0) return { value: null, note: 'not computed: embedBatchSize is 0' };
    const texts = sets.flat();
    const vectors: Float32Array[] = [];
    let model = '';
    for (let start = 0; start < texts.length; start += c.embedBatchSize) {
      checkCancel();
      const r = await embed(texts.slice(start, start + c.embedBatchSize));
      if (!r.ok) return { value: null, note: `not computed: ${r.reason}` };
      vectors.push(...r.vectors);
      model = r.model;
    }
    let offset = 0;
    const perPrompt = sets.map((s) => {
      const d = meanPairwiseCosineDistance(vectors.slice(offset, offset + s.length));
      offset += s.length;
      return d;
    });
    const m = meanOfFinite(perPrompt);
    return m.value === null
      ? { value: null, note: 'not computed: no prompt had two embeddable samples' }
      : { value: m.value, note: `${model}, ${texts.length} texts in batches of ${c.embedBatchSize}${m.note}` };
  };

  /** Evaluate the model on the backend on one split: m samples per prompt. */
  const evaluate = async (r: number, split: SplitName, phase: string) => {
    const tasks = splits[split];
    const samples = await sampleAnswers(tasks, c.evalSamples, foldIn(repKey(r, REP.evaluation), SPLIT_NAMES.indexOf(split)), phase);
    const tally = emptyTally();
    const verdicts = tasks.map((t, p) => samples[p]!.map((y) => {
      const v = verifyTarget(t.target, y.text, level);
      tally[v.correct ? 'correct' : v.reason]++;
      return v;
    }));
    const texts = samples.map((ys) => ys.map((y) => y.text));
    const correctSets = texts.map((ts, p) => new Set(ts.filter((_, i) => verdicts[p]![i]!.correct)));
    const counts = verdicts.map((vs) => ({ n: vs.length, c: vs.filter((x) => x.correct).length }));
    const notes: Record<string, string> = {};
    const perPrompt = (name: string, f: (ts: string[]) => number) => {
      const m = meanOfFinite(texts.map(f));
      if (m.value === null) notes[name] = 'not computed: no prompt had the n-grams or pairs it needs';
      else if (m.note) notes[name] = m.note.trim();
      return m.value;
    };
    const chars = (ts: string[]) => ts.map((t) => [...t]);
    const embedding = await embeddingDiversity(texts);
    notes.embeddingDiversity = embedding.note;
    return {
      samples, verdicts,
      metrics: {
        quality: meanPassAtK(counts, 1),
        k: c.passK,
        passAtK: meanPassAtK(counts, c.passK),
        distinct2: perPrompt('distinct2', (ts) => distinctN(chars(ts), 2)),
        selfBleu: perPrompt('selfBleu', (ts) => selfBleu(chars(ts), { maxN: 3, smoothing: 'method1' })),
        editDiversity: perPrompt('editDiversity', setDiversity),
        embeddingDiversity: embedding.value,
        distinctCorrect: correctSets.reduce((n, set) => n + set.size, 0) / tasks.length,
        novelCorrect: correctSets.reduce((n, set, p) => n + [...set].filter((a) => !tasks[p]!.seeds.includes(a)).length, 0) / tasks.length,
        validity: tally,
        notes,
      },
    };
  };

  let state: RunState;
  let base: Float32Array | null = null;

  const saveCheckpoint = (params: Float32Array) => {
    ctx.emit({
      type: 'checkpoint',
      checkpoint: {
        iteration: state.unitsDone - 1, modelConfig: gpt, tokenizer: tok.toJSON(), params, extraParams: base ? { base } : {},
        state: { ...state, seconds: state.seconds + (ctx.now() - started) / 1000 }, records: [...records],
      },
    });
  };

  if (ctx.resume) {
    const r = ctx.resume;
    state = { ...(r.state as RunState) };
    base = r.extraParams.base ?? null;
    records.push(...r.records);
    doneWork = workBefore(state.unitsDone);
    ctx.emit({ type: 'log', message: `resumed after unit ${state.unitsDone} of ${totalUnits}` });
  } else {
    state = { unitsDone: 0, seconds: 0 };
  }

  const seconds = () => state.seconds + (ctx.now() - started) / 1000;
  while (state.unitsDone < totalUnits) {
    checkCancel();
    const unit = state.unitsDone;
    const r = Math.floor(unit / unitsPerReplicate);
    const slot = unit % unitsPerReplicate;
    const lambda = slot === 0 ? null : c.lambdas[slot - 1]!;
    let trainLoss: number | null;
    let shares: { lossShare: number | null; gradShare: number | null } = { lossShare: null, gradShare: null };
    if (lambda === null) {
      const w = await warmStart(r);
      base = w.params;
      trainLoss = w.loss;
    } else {
      const f = await fineTune(r, lambda, base!);
      trainLoss = f.loss;
      shares = f;
    }
    const name = lambda === null ? 'base' : `λ = ${lambda}`;
    const viewer: unknown[] = [];
    for (const split of c.evalSplits) {
      const e = await evaluate(r, split, `replicate ${r + 1}: ${name}, ${split} evaluation`);
      const record: EvaluationRecord = {
        kind: 'evaluation', objective: c.objective, model: lambda === null ? 'base' : 'fine-tuned', lambda, replicate: r,
        split, prompts: splits[split].length, samplesPerPrompt: c.evalSamples, ...e.metrics,
        lossShare: shares.lossShare, gradShare: shares.gradShare, trainLoss, seconds: seconds(),
      };
      emit(record);
      viewer.push(...splits[split].slice(0, c.viewerPrompts).map((t, p) => ({
        model: record.model, lambda, replicate: r, split, target: t.target, prompt: t.prompt, seeds: t.seeds,
        samples: e.samples[p]!.map((y, i) => {
          const v = e.verdicts[p]![i]!;
          return { text: y.text, correct: v.correct, reason: v.correct ? null : v.reason, detail: v.correct ? null : v.detail };
        }),
      })));
    }
    ctx.emit({ type: 'samples', iteration: unit, rows: viewer });
    state.unitsDone++;
    saveCheckpoint(await backend.getParams());
  }

  backend.dispose();
  const evaluations = records.filter((x): x is EvaluationRecord => x.kind === 'evaluation');
  const diagnostics = records.filter((x): x is DiagnosticRecord => x.kind === 'diagnostic');
  const byReplicate = (rows: EvaluationRecord[]) => [...Array(c.replicates).keys()].map((r) => rows.find((x) => x.replicate === r) ?? null);
  const rowsOf = (lambda: number | null, split: SplitName) =>
    byReplicate(evaluations.filter((x) => x.lambda === lambda && x.split === split && x.model === (lambda === null ? 'base' : 'fine-tuned')));
  const hasZero = c.lambdas.includes(0);
  const splitAggregate = (lambda: number | null, split: SplitName): SplitAggregate => {
    const rows = rowsOf(lambda, split);
    const zero = lambda !== null && hasZero ? rowsOf(0, split) : null;
    const metricOf = (x: EvaluationRecord | null, m: EvalMetric) => (x ? x[m] : null);
    return {
      metrics: Object.fromEntries(EVAL_METRICS.map((m) => [m, interval(rows.map((x) => metricOf(x, m)))])) as Record<EvalMetric, Interval>,
      change: zero
        ? Object.fromEntries(EVAL_METRICS.map((m) => [m, interval(rows.map((x, r) => {
          const a = metricOf(x, m);
          const b = metricOf(zero[r] ?? null, m);
          return a === null || b === null ? null : a - b;
        }))])) as Record<EvalMetric, Interval>
        : null,
      validity: sumTallies(rows.flatMap((x) => (x ? [x.validity] : []))),
    };
  };
  const aggregate = (lambda: number | null): LambdaAggregate => {
    const notes: string[] = [];
    if (c.replicates < 2) notes.push('one replicate: no confidence intervals');
    if (lambda !== null && !hasZero) notes.push('λ = 0 is not in the sweep: no changes against it');
    if (lambda !== null && c.diagnoseEvery === 0) notes.push('diagnoseEvery is 0: no loss or gradient shares');
    const embeddingNote = evaluations.find((x) => x.lambda === lambda && x.embeddingDiversity === null)?.notes.embeddingDiversity;
    if (embeddingNote) notes.push(`embedding diversity ${embeddingNote}`);
    const diag = [...Array(c.replicates).keys()].map((r) => diagnostics.filter((d) => d.lambda === lambda && d.replicate === r));
    return {
      lambda,
      replicates: new Set(evaluations.filter((x) => x.lambda === lambda).map((x) => x.replicate)).size,
      splits: Object.fromEntries(c.evalSplits.map((split) => [split, splitAggregate(lambda, split)])),
      diagnostics: lambda === null ? null : Object.fromEntries(DIAGNOSTIC_METRICS.map((m) => [m, interval(diag.map((ds) => {
        const xs = ds.map((d) => d[m]).filter((x): x is number => x !== null && Number.isFinite(x));
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
      }))])) as Record<DiagnosticMetric, Interval>,
      notes,
    };
  };
  const emitAggregate = (a: LambdaAggregate) => {
    for (const split of c.evalSplits) {
      const { lambda, replicates, diagnostics: diag, notes } = a;
      emit({
        kind: 'aggregate', model: lambda === null ? 'base' : 'fine-tuned', lambda, split, replicates, ...a.splits[split]!, diagnostics: diag, notes,
      } satisfies AggregateRecord);
    }
  };
  const baseAggregate = aggregate(null);
  emitAggregate(baseAggregate);
  const lambdas: Record<string, LambdaAggregate> = {};
  for (const lambda of c.lambdas) {
    const a = aggregate(lambda);
    lambdas[lambdaKey(lambda)] = a;
    emitAggregate(a);
  }
  return { seconds: seconds(), objective: c.objective, evalSplits: c.evalSplits, base: baseAggregate, lambdas, definitions: DEFINITIONS };
}

/** Mean of the finite values, with a note on how many were left out; null when none is finite. */
function meanOfFinite(xs: readonly number[]): { value: number | null; note: string } {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return { value: null, note: '' };
  const left = xs.length - ok.length;
  return { value: ok.reduce((a, b) => a + b, 0) / ok.length, note: left ? ` (${left} of ${xs.length} prompts not computable, left out)` : '' };
}

const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const fixed = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

export const diversity: Experiment<DiversityConfig, DiversitySummary> = {
  name: 'diversity',
  title: 'Diversity-aware fine-tuning',
  description: 'quality_loss − λ·diversity, λ side by side: how much of the signal diversity carries, and what it does to quality and pass@k.',
  defaultConfig,
  schema,
  datasets: (c, seed) => {
    const s = runTargets(c, seed);
    return {
      'targets.jsonl': [...s.train, ...s.val, ...s.test].map((t) => ({
        split: t.split, target: t.target, prompt: t.prompt, seeds: t.seeds, flatSolutions: t.flatSolutions,
      })),
    };
  },
  tableRow: (r) => {
    if (r.kind !== 'evaluation' && r.kind !== 'aggregate') return null;
    const row = (lambda: number | null, rep: string, split: string, m: Record<EvalMetric, number | null>, shares: { loss: number | null; grad: number | null }, seconds: string) => ({
      'λ': lambda === null ? 'base' : String(lambda), rep, split, quality: pct(m.quality), 'pass@k': pct(m.passAtK),
      'distinct-2': fixed(m.distinct2), 'self-bleu': fixed(m.selfBleu), D: fixed(m.editDiversity), novel: fixed(m.novelCorrect, 2),
      'loss share': pct(shares.loss), 'grad share': pct(shares.grad), seconds,
    });
    if (r.kind === 'evaluation') {
      const e = r as EvaluationRecord;
      return row(e.lambda, String(e.replicate + 1), e.split, e, { loss: e.lossShare, grad: e.gradShare }, e.seconds.toFixed(1));
    }
    const a = r as AggregateRecord;
    const means = Object.fromEntries(EVAL_METRICS.map((m) => [m, a.metrics[m].mean])) as Record<EvalMetric, number | null>;
    return row(a.lambda, 'mean', a.split, means, { loss: a.diagnostics?.lossShare.mean ?? null, grad: a.diagnostics?.gradShare.mean ?? null }, '');
  },
  presets: {
    classroom: {
      description: 'The write-up\u2019s planned λ ∈ {0, 0.3, 1, 2}, n = 5, 8 prompts per estimate every 3 steps; 3 replicates, about a minute on a CPU.',
      overrides: {},
    },
    'write-up': {
      description: 'The write-up\u2019s planned settings (λ ∈ {0, 0.3, 1, 2}, n = 5, 8 prompts per estimate, every 3 steps) with 240 fine-tuning steps and 5 replicates.',
      overrides: {
        lambdas: [0, 0.3, 1, 2], samplesPerPrompt: 5, promptsPerEstimate: 8, diversityEvery: 3,
        replicates: 5, fineTuneSteps: 240, diagnoseEvery: 30,
      },
    },
    'every-step': {
      description: 'A stronger, less noisy diversity term: n = 8, 16 prompts per estimate, every step, λ up to 8; diversity takes over and quality falls.',
      overrides: { lambdas: [0, 0.5, 2, 8], samplesPerPrompt: 8, promptsPerEstimate: 16, diversityEvery: 1 },
    },
    polychromic: {
      description: 'As every-step with the set-level polychromic objective (mean correctness × diversity of sets of 4 of the 8 samples).',
      overrides: { objective: 'polychromic', lambdas: [0, 2, 8], samplesPerPrompt: 8, promptsPerEstimate: 16, diversityEvery: 1, setSize: 4 },
    },
    quick: {
      description: 'λ ∈ {0, 2}, one replicate: a first look in about ten seconds.',
      overrides: { lambdas: [0, 2], replicates: 1 },
    },
  },
  run,
};
