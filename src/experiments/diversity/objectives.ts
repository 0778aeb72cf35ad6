/**
 * The diversity objectives, pure (docs/diversity.md derives them): the score
 * D(Y) (mean normalised edit distance over pairs), each sample's advantage
 * under the additive objective (leave-one-out) and the polychromic one (sets
 * of k), and the surrogate rows whose weighted cross-entropy has gradient
 * −λ·∇̂J, so one optimizer step over quality rows and surrogate rows descends
 * quality_loss − λ·J. Exported for the tests, which check the advantages
 * against exact gradients by enumeration.
 */
import type { TokenBatch } from '../../core/backend';
import { globalNorm } from '../../core/optim';
import { type WeightedRow, weightedBatch } from '../../core/train';
import type { Objective } from './config';

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

/** s in w_i = λ·s·A_i/P: 1 (additive), k/(n−k) (polychromic), so that the rows estimate ∇J itself (docs/diversity.md). */
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

/** Score P prompts' samples with the objective's advantages (docs/diversity.md). */
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
 * so that ∇(Σ w·ce) = −λ·∇̂J (docs/diversity.md). `keep` selects prompts by index.
 */
export function surrogateBatch(e: DiversityEstimate, lambda: number, keep: (promptIndex: number) => boolean = () => true): TokenBatch {
  return weightedCompletionBatch(e.rows
    .filter((row) => keep(row.promptIndex))
    .map((row) => ({ prompt: row.prompt, completion: row.completion, weight: (lambda * e.scale * row.advantage) / e.prompts })));
}

function dot(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/** x·y / (‖x‖‖y‖); null when either is 0 (or the value is not finite). */
export function cosine(x: Float32Array, y: Float32Array): number | null {
  const c = dot(x, y) / (globalNorm(x) * globalNorm(y));
  return Number.isFinite(c) ? c : null;
}
