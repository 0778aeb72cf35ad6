/**
 * Diversity of generated text, measured on token sequences (arrays of token
 * ids or of word strings): Distinct-n, Self-BLEU, unigram entropy, tail
 * mass, embedding (cosine) diversity, and fixed-axis histograms.
 *
 * "Not computable" is NaN, never 0 (the write-up's evaluation reported 0.0
 * for a metric that had failed): Distinct-n of a set with no n-grams,
 * Self-BLEU of fewer than two sequences, entropy of no tokens, cosine
 * diversity of fewer than two vectors.
 *
 * Tokens are compared by value with `Map` semantics (the number 1 and the
 * string "1" are different tokens). N-grams never cross sequence boundaries.
 */
import { Rng, type Key } from '../rng';

export type Token = number | string;
export type TokenSeqs = readonly (readonly Token[])[];

/** Small integer ids for tokens, so n-grams can be keyed by a joined string without collisions. */
function internAll(seqs: TokenSeqs): number[][] {
  const ids = new Map<Token, number>();
  return seqs.map((seq) =>
    seq.map((tok) => {
      let id = ids.get(tok);
      if (id === undefined) ids.set(tok, (id = ids.size));
      return id;
    }),
  );
}

/** Counts of the n-grams of one interned sequence, keyed "id,id,…". */
function ngramCounts(seq: readonly number[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= seq.length; i++) {
    const key = seq.slice(i, i + n).join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function checkOrder(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
}

/**
 * Distinct-n (Li et al. 2016, "A Diversity-Promoting Objective Function for
 * Neural Conversation Models"): number of distinct n-grams / total number of
 * n-grams, pooled over the whole set. In (0, 1]; NaN when the set has no
 * n-gram (every sequence shorter than n).
 */
export function distinctN(seqs: TokenSeqs, n: number): number {
  checkOrder(n, 'distinctN');
  const unique = new Set<string>();
  let total = 0;
  for (const seq of internAll(seqs)) {
    for (let i = 0; i + n <= seq.length; i++) {
      unique.add(seq.slice(i, i + n).join(','));
      total++;
    }
  }
  return total === 0 ? NaN : unique.size / total;
}

// ---------------------------------------------------------------------------
// BLEU and Self-BLEU, with NLTK's `sentence_bleu` semantics (nltk 3.8,
// nltk/translate/bleu_score.py), checked against it to 1e-12 by the fixture
// test/reference/fixtures/bleu/nltk-bleu.json (test/reference/make_bleu_fixtures.py):
//   p_k   = Σ_g min(c_hyp(g), max_ref c_ref(g)) / max(1, #k-grams of the hypothesis)   (clipped precision)
//   BLEU  = BP · exp(Σ_{k=1..N} (1/N) · log p_k),   N = maxN, uniform weights
//   BP    = 1 if h > r, 0 if h = 0, else exp(1 − r/h); h = hypothesis length,
//           r = the reference length closest to h (ties: the shorter one)
//   BLEU  = 0 whenever no unigram matches (before any smoothing).
// Smoothing 'method1' (Chen & Cherry 2014, NLTK SmoothingFunction().method1,
// epsilon 0.1): a zero match count for order k gives p_k = epsilon / max(1, #k-grams),
// also for orders longer than the hypothesis. 'none' is NLTK's method0: a
// zero p_k becomes the smallest normal double, so BLEU is ~1e-103 rather than 0.

export interface BleuOptions {
  /** Highest n-gram order N; weights are uniform 1/N. Default 3 (the lab's stated Self-BLEU setting). */
  maxN?: number;
  /** Default 'method1'. */
  smoothing?: 'method1' | 'none';
  /** method1's epsilon. Default 0.1 (Chen & Cherry 2014, NLTK's default). */
  epsilon?: number;
}

/** NLTK method0's stand-in for log 0 (Python's sys.float_info.min). */
const FLOAT_MIN_NORMAL = 2.2250738585072014e-308;

function bleuFromCounts(matches: readonly number[], totals: readonly number[], hypLen: number, refLen: number, opts: Required<BleuOptions>): number {
  if (matches[0] === 0) return 0;
  let logSum = 0;
  for (let k = 0; k < opts.maxN; k++) {
    const denom = Math.max(1, totals[k]!);
    const p = matches[k]! > 0 ? matches[k]! / denom : opts.smoothing === 'method1' ? opts.epsilon / denom : FLOAT_MIN_NORMAL;
    logSum += (1 / opts.maxN) * Math.log(p);
  }
  const bp = hypLen > refLen ? 1 : hypLen === 0 ? 0 : Math.exp(1 - refLen / hypLen);
  return bp * Math.exp(logSum);
}

function resolveBleuOptions(opts: BleuOptions, what: string): Required<BleuOptions> {
  const r = { maxN: opts.maxN ?? 3, smoothing: opts.smoothing ?? 'method1', epsilon: opts.epsilon ?? 0.1 };
  checkOrder(r.maxN, what);
  if (r.smoothing !== 'method1' && r.smoothing !== 'none') throw new Error(`${what}: smoothing must be 'method1' or 'none', got ${String(r.smoothing)}`);
  if (!(r.epsilon > 0)) throw new Error(`${what}: epsilon must be > 0, got ${r.epsilon}`);
  return r;
}

/** The reference length closest to h among `lengths` (ties: the shorter), as NLTK's closest_ref_length. */
function closestLength(lengths: Iterable<number>, h: number): number {
  let best = Infinity;
  for (const r of lengths) if (Math.abs(r - h) < Math.abs(best - h) || (Math.abs(r - h) === Math.abs(best - h) && r < best)) best = r;
  return best;
}

/** Sentence-level BLEU of one hypothesis against its references (NLTK sentence_bleu; settings above). NaN with no references. */
export function sentenceBleu(hypothesis: readonly Token[], references: TokenSeqs, opts: BleuOptions = {}): number {
  const o = resolveBleuOptions(opts, 'sentenceBleu');
  if (references.length === 0) return NaN;
  const [hyp, ...refs] = internAll([hypothesis, ...references]);
  const matches: number[] = [];
  const totals: number[] = [];
  for (let n = 1; n <= o.maxN; n++) {
    const hc = ngramCounts(hyp!, n);
    const refCounts = refs.map((r) => ngramCounts(r, n));
    let m = 0;
    for (const [g, c] of hc) m += Math.min(c, refCounts.reduce((mx, rc) => Math.max(mx, rc.get(g) ?? 0), 0));
    matches.push(m);
    totals.push(Math.max(0, hyp!.length - n + 1));
  }
  return bleuFromCounts(matches, totals, hyp!.length, closestLength(refs.map((r) => r.length), hyp!.length), o);
}

export interface SelfBleuOptions extends BleuOptions {
  /**
   * Score at most this many hypotheses, a subsample drawn without replacement
   * with `key` (every other sequence stays a reference). Default: all.
   */
  maxHypotheses?: number;
  /** Required when maxHypotheses < the number of sequences. */
  key?: Key;
}

/**
 * Self-BLEU (Zhu et al. 2018, Texygen) per hypothesis: entry i is
 * sentenceBleu(seqs[i], all seqs[j], j ≠ i); entries left out of a
 * `maxHypotheses` subsample are NaN (not computed).
 *
 * Cost: the clipped count max_{j≠i} c_j(g) needs only the largest count of g
 * over all sequences, its owner, and the second largest, so one pass builds
 * an index in O(total n-grams · maxN) and each hypothesis is scored in
 * O(its length · maxN): no O(N²) pairwise loop at any set size. The
 * subsample exists to reproduce protocols that score a sample of hypotheses
 * and to bound the scoring pass on very large sets.
 */
export function selfBleuScores(seqs: TokenSeqs, opts: SelfBleuOptions = {}): Float64Array {
  const o = resolveBleuOptions(opts, 'selfBleu');
  const N = seqs.length;
  const scores = new Float64Array(N).fill(NaN);
  if (N < 2) return scores;

  let chosen: number[] = [...Array(N).keys()];
  if (opts.maxHypotheses !== undefined && opts.maxHypotheses < N) {
    if (!Number.isInteger(opts.maxHypotheses) || opts.maxHypotheses < 1) {
      throw new Error(`selfBleu: maxHypotheses must be a positive integer, got ${opts.maxHypotheses}`);
    }
    if (!opts.key) throw new Error('selfBleu: key is required to subsample hypotheses (maxHypotheses < number of sequences)');
    chosen = new Rng(opts.key).shuffle(chosen).slice(0, opts.maxHypotheses).sort((a, b) => a - b);
  }

  const ids = internAll(seqs);
  // Per order: each sequence's n-gram counts, and per n-gram the top two counts over all sequences.
  const counts: Map<string, number>[][] = [];
  const top: Map<string, { c1: number; owner: number; c2: number }>[] = [];
  for (let n = 1; n <= o.maxN; n++) {
    const perSeq = ids.map((s) => ngramCounts(s, n));
    const best = new Map<string, { c1: number; owner: number; c2: number }>();
    perSeq.forEach((m, j) => {
      for (const [g, c] of m) {
        const t = best.get(g);
        if (!t) best.set(g, { c1: c, owner: j, c2: 0 });
        else if (c > t.c1) Object.assign(t, { c2: t.c1, c1: c, owner: j });
        else if (c > t.c2) t.c2 = c;
      }
    });
    counts.push(perSeq);
    top.push(best);
  }

  // Closest other length: another sequence of the same length wins; otherwise the nearest
  // shorter or longer length (removing i's own length does not change those), shorter on ties.
  const lengths = ids.map((s) => s.length);
  const lengthCount = new Map<number, number>();
  for (const L of lengths) lengthCount.set(L, (lengthCount.get(L) ?? 0) + 1);
  const others = (h: number) => [...lengthCount].filter(([L, c]) => L !== h || c > 1).map(([L]) => L);
  const closestOther = new Map<number, number>();

  for (const i of chosen) {
    const matches: number[] = [];
    const totals: number[] = [];
    for (let k = 0; k < o.maxN; k++) {
      let m = 0;
      for (const [g, c] of counts[k]![i]!) {
        const t = top[k]!.get(g)!;
        m += Math.min(c, t.owner === i ? t.c2 : t.c1);
      }
      matches.push(m);
      totals.push(Math.max(0, lengths[i]! - k));
    }
    const h = lengths[i]!;
    if (!closestOther.has(h)) closestOther.set(h, closestLength(others(h), h));
    scores[i] = bleuFromCounts(matches, totals, h, closestOther.get(h)!, o);
  }
  return scores;
}

/** Self-BLEU: the mean over (possibly subsampled) hypotheses of selfBleuScores. NaN for fewer than 2 sequences. */
export function selfBleu(seqs: TokenSeqs, opts: SelfBleuOptions = {}): number {
  const scores = selfBleuScores(seqs, opts);
  let s = 0;
  let n = 0;
  for (const x of scores) {
    if (!Number.isNaN(x)) {
      s += x;
      n++;
    }
  }
  return n === 0 ? NaN : s / n;
}

// ---------------------------------------------------------------------------

function unigramCounts(seqs: TokenSeqs): { counts: Map<Token, number>; total: number } {
  const counts = new Map<Token, number>();
  let total = 0;
  for (const seq of seqs) {
    for (const tok of seq) counts.set(tok, (counts.get(tok) ?? 0) + 1);
    total += seq.length;
  }
  return { counts, total };
}

/** Unigram Shannon entropy in bits, H = −Σ_w p(w) log₂ p(w), p from token counts over the whole set. NaN with no tokens. */
export function tokenEntropy(seqs: TokenSeqs): number {
  const { counts, total } = unigramCounts(seqs);
  if (total === 0) return NaN;
  let h = 0;
  for (const c of counts.values()) h -= (c / total) * Math.log2(c / total);
  return h;
}

/** Total order on tokens for tie-breaking: numbers (ascending) before strings (UTF-16 code-unit order). */
function compareTokens(a: Token, b: Token): number {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface RareVocabulary {
  /** The rare tokens. */
  tokens: ReadonlySet<Token>;
  /** Their share of the reference corpus's tokens (≤ tailShare): the reference's own tail mass. */
  referenceShare: number;
  tailShare: number;
}

/**
 * The rare vocabulary of a reference corpus: its least frequent tokens that
 * together make up at most the last `tailShare` of its token mass.
 * Tokens are taken in order of increasing count (ties: by token value,
 * numbers ascending, then strings in code-unit order) for as long as the
 * running count stays ≤ tailShare · total, so `referenceShare` ≤ tailShare
 * and is the largest such prefix. Empty when the rarest token alone exceeds
 * the share. Tokens absent from the reference are not in the set.
 */
export function rareVocabulary(referenceSeqs: TokenSeqs, tailShare = 0.2): RareVocabulary {
  if (!(tailShare > 0 && tailShare <= 1)) throw new Error(`rareVocabulary: tailShare must be in (0, 1], got ${tailShare}`);
  const { counts, total } = unigramCounts(referenceSeqs);
  const order = [...counts].sort((a, b) => a[1] - b[1] || compareTokens(a[0], b[0]));
  const tokens = new Set<Token>();
  let mass = 0;
  for (const [tok, c] of order) {
    if (mass + c > tailShare * total) break;
    mass += c;
    tokens.add(tok);
  }
  return { tokens, referenceShare: total === 0 ? NaN : mass / total, tailShare };
}

/** Tail mass: the share of all tokens in seqs that belong to rareSet. NaN with no tokens. */
export function tailMass(seqs: TokenSeqs, rareSet: ReadonlySet<Token>): number {
  let hits = 0;
  let total = 0;
  for (const seq of seqs) {
    for (const tok of seq) if (rareSet.has(tok)) hits++;
    total += seq.length;
  }
  return total === 0 ? NaN : hits / total;
}

/** tailMass(seqs) / the reference corpus's own tail mass, so the reference itself scores 1; NaN when the rare set is empty. */
export function relativeTailMass(seqs: TokenSeqs, rare: RareVocabulary): number {
  if (!(rare.referenceShare > 0)) return NaN;
  return tailMass(seqs, rare.tokens) / rare.referenceShare;
}

// ---------------------------------------------------------------------------

/**
 * Embedding ("semantic") diversity: 1 − mean cosine similarity over all
 * N(N−1)/2 unordered pairs, cos(u, v) = u·v / (‖u‖‖v‖) (vectors need not be
 * normalized). With unit vectors û_i and s = Σ û_i, Σ_{i<j} û_i·û_j =
 * (‖s‖² − N) / 2, so it costs O(N·D), not O(N²·D). NaN for fewer than 2
 * vectors; throws on a zero vector (its cosine is undefined) or mismatched
 * lengths.
 */
export function meanPairwiseCosineDistance(vectors: readonly ArrayLike<number>[]): number {
  const N = vectors.length;
  if (N < 2) return NaN;
  const D = vectors[0]!.length;
  const s = new Float64Array(D); // Σ û_i
  for (let i = 0; i < N; i++) {
    const v = vectors[i]!;
    if (v.length !== D) throw new Error(`meanPairwiseCosineDistance: vector ${i} has length ${v.length}, expected ${D}`);
    let sq = 0;
    for (let k = 0; k < D; k++) sq += v[k]! * v[k]!;
    if (!(sq > 0) || !Number.isFinite(sq)) throw new Error(`meanPairwiseCosineDistance: vector ${i} has zero (or non-finite) norm`);
    const inv = 1 / Math.sqrt(sq);
    for (let k = 0; k < D; k++) s[k]! += v[k]! * inv;
  }
  let sNorm2 = 0;
  for (let k = 0; k < D; k++) sNorm2 += s[k]! * s[k]!;
  return 1 - (sNorm2 - N) / (N * (N - 1));
}

export interface Histogram {
  /** bins + 1 edges, evenly spaced from min to max. */
  edges: number[];
  /** counts[b] for [edges[b], edges[b+1]) — the last bin also holds max — plus clipped values in the end bins. */
  counts: number[];
  /** Values below min (counted in bin 0) and above max (counted in the last bin), ±Infinity included. */
  clippedLow: number;
  clippedHigh: number;
  clipped: number;
  /** NaN values, left out of every bin. */
  dropped: number;
}

/**
 * Histogram on fixed edges, so that several generations are drawn on the
 * same axis: bins of width (max − min)/bins; out-of-range values go to the
 * end bins and are reported as clipped.
 */
export function histogram(values: ArrayLike<number>, opts: { min: number; max: number; bins: number }): Histogram {
  const { min, max, bins } = opts;
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) throw new Error(`histogram: need finite min < max, got min ${min}, max ${max}`);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  const edges = Array.from({ length: bins + 1 }, (_, b) => (b === bins ? max : min + ((max - min) * b) / bins));
  const counts = new Array<number>(bins).fill(0);
  let clippedLow = 0;
  let clippedHigh = 0;
  let dropped = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) {
      dropped++;
      continue;
    }
    let b: number;
    if (x < min) {
      clippedLow++;
      b = 0;
    } else if (x > max) {
      clippedHigh++;
      b = bins - 1;
    } else {
      b = Math.min(bins - 1, Math.floor(((x - min) / (max - min)) * bins));
      // The edges are the truth: fix rounding of the division at a bin boundary.
      while (b < bins - 1 && x >= edges[b + 1]!) b++;
      while (b > 0 && x < edges[b]!) b--;
    }
    counts[b] = counts[b]! + 1;
  }
  return { edges, counts, clippedLow, clippedHigh, clipped: clippedLow + clippedHigh, dropped };
}
