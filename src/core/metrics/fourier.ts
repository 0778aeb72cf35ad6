/**
 * The Fourier spectrum of a modular-arithmetic model's token embeddings, and
 * the weight norm: the two progress measures that explain grokking
 * (docs/grokking.md). A network that generalises on a + b mod p represents
 * each residue a by cos/sin(2πka/p) at a few "key" frequencies k (Nanda et
 * al. 2023, "Progress measures for grokking via mechanistic
 * interpretability"), so the embedding's power concentrates on them; a
 * memorising network's embedding is spread over all frequencies. Weight decay
 * shrinks the weight norm while this happens (Liu et al. 2022, "Omnigrok").
 *
 * "Not computable" is NaN, never 0 (an embedding with no non-constant power
 * has no shares).
 */
import { type ParamLayout, viewOf } from '../gpt/config';

/** The spectrum of E (p,C): rows are the embeddings of residues 0…p−1. */
export interface FourierSpectrum {
  /** The modulus (rows of E). */
  p: number;
  /** Frequencies 1…⌊p/2⌋, in order (the index of every array below). */
  frequencies: number[];
  /** power[i] = Σ_c |F_k[c]|² + |F_{p−k}[c]|² for k = frequencies[i] (once for k = p/2); F_k[c] = Σ_a E[a,c]·e^(−2πi·k·a/p). */
  power: number[];
  /** Σ_c |F_0[c]|² = p² · Σ_c (mean over a of E[a,c])²: the power of the mean embedding, reported apart. */
  constantPower: number;
  /** Σ of all power, constant included; = p · Σ E² (Parseval). */
  totalPower: number;
  /** power / Σ power (non-constant shares, summing to 1); NaN when E has no non-constant part. */
  shares: number[];
}

/** Concentration of a spectrum on few frequencies. */
export interface FourierConcentration {
  /** Σ of the m largest non-constant shares, m = topM (1 when all power is on ≤ m frequencies). */
  topShare: number;
  topM: number;
  /** Shannon entropy of the shares in nats, divided by ln(number of frequencies): 1 uniform (white noise), 0 one frequency. */
  normalizedEntropy: number;
  /** exp(entropy): the number of equally strong frequencies with the same entropy (1 … ⌊p/2⌋). */
  effectiveFrequencies: number;
  /** The fewest frequencies, strongest first, whose shares reach keyShare (ties broken by the lower frequency). */
  keyFrequencies: number[];
  keyShare: number;
}

/**
 * The Fourier spectrum of the embedding rows E (p,C), row-major (E[a*C + c]),
 * along the residue axis a, summed over channels c, each frequency k ≥ 1
 * combined with its conjugate p−k. O(p²·C) by the direct sum (p ≤ a few
 * hundred here, so an FFT would buy nothing).
 */
export function fourierSpectrum(embedding: ArrayLike<number>, p: number, C: number): FourierSpectrum {
  if (!Number.isInteger(p) || p < 2) throw new Error(`fourierSpectrum: p must be an integer ≥ 2, got ${p}`);
  if (!Number.isInteger(C) || C < 1) throw new Error(`fourierSpectrum: C must be a positive integer, got ${C}`);
  if (embedding.length !== p * C) {
    throw new Error(`fourierSpectrum: embedding must hold p·C = ${p}·${C} = ${p * C} values, got ${embedding.length}`);
  }
  for (let i = 0; i < embedding.length; i++) {
    if (!Number.isFinite(embedding[i]!)) throw new Error(`fourierSpectrum: embedding value ${i} (residue ${Math.floor(i / C)}) is not finite`);
  }
  // Twiddle tables: cos/sin(2π·j/p) for j = (k·a) mod p, so every angle is exact up to one rounding.
  const cosT = new Float64Array(p);
  const sinT = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    cosT[j] = Math.cos((2 * Math.PI * j) / p);
    sinT[j] = Math.sin((2 * Math.PI * j) / p);
  }
  // P[k] = Σ_c |F_k[c]|² for k = 0…p−1.
  const P = new Float64Array(p);
  const re = new Float64Array(C);
  const im = new Float64Array(C);
  for (let k = 0; k < p; k++) {
    re.fill(0);
    im.fill(0);
    for (let a = 0; a < p; a++) {
      const j = (k * a) % p;
      const c0 = cosT[j]!;
      const s0 = sinT[j]!;
      const row = a * C;
      for (let c = 0; c < C; c++) {
        const x = embedding[row + c]!;
        re[c] += x * c0;
        im[c] -= x * s0;
      }
    }
    let s = 0;
    for (let c = 0; c < C; c++) s += re[c]! * re[c]! + im[c]! * im[c]!;
    P[k] = s;
  }
  const half = Math.floor(p / 2);
  const frequencies: number[] = [];
  const power: number[] = [];
  for (let k = 1; k <= half; k++) {
    frequencies.push(k);
    power.push(2 * k === p ? P[k]! : P[k]! + P[p - k]!);
  }
  const nonConstant = power.reduce((s, x) => s + x, 0);
  // A spectrum that is numerically all constant (rows equal up to rounding) has no shares.
  const total = P.reduce((s, x) => s + x, 0);
  const shares = nonConstant > 1e-12 * total && nonConstant > 0 ? power.map((x) => x / nonConstant) : power.map(() => NaN);
  return { p, frequencies, power, constantPower: P[0]!, totalPower: total, shares };
}

/** How concentrated a spectrum's non-constant power is: top-m share, normalised entropy, key frequencies. */
export function fourierConcentration(spectrum: FourierSpectrum, opts: { topM?: number; keyShare?: number } = {}): FourierConcentration {
  const topM = opts.topM ?? 5;
  const keyShare = opts.keyShare ?? 0.8;
  if (!Number.isInteger(topM) || topM < 1) throw new Error(`fourierConcentration: topM must be a positive integer, got ${topM}`);
  if (!(keyShare > 0 && keyShare <= 1)) throw new Error(`fourierConcentration: keyShare must be in (0, 1], got ${keyShare}`);
  const { shares, frequencies } = spectrum;
  const n = shares.length;
  if (shares.some((s) => Number.isNaN(s))) {
    return { topShare: NaN, topM, normalizedEntropy: NaN, effectiveFrequencies: NaN, keyFrequencies: [], keyShare };
  }
  const order = [...shares.keys()].sort((i, j) => shares[j]! - shares[i]! || i - j);
  let topShare = 0;
  for (let i = 0; i < Math.min(topM, n); i++) topShare += shares[order[i]!]!;
  let entropy = 0;
  for (const s of shares) if (s > 0) entropy -= s * Math.log(s);
  const keyFrequencies: number[] = [];
  let held = 0;
  // A tiny slack so that shares summing to exactly keyShare in exact arithmetic are not missed by a rounding.
  for (const i of order) {
    if (held >= keyShare - 1e-12) break;
    keyFrequencies.push(frequencies[i]!);
    held += shares[i]!;
  }
  return {
    topShare: Math.min(1, topShare), topM,
    normalizedEntropy: n > 1 ? entropy / Math.log(n) : 0,
    effectiveFrequencies: Math.exp(entropy),
    keyFrequencies, keyShare,
  };
}

/**
 * The embedding rows (p,C) of the tokens firstId…firstId+p−1 of a GPT's
 * parameters (a copy-free view into wte), for a tokenizer that gives residue
 * a the id firstId + a.
 */
export function residueEmbedding(params: Float32Array, layout: ParamLayout, p: number, firstId = 0): Float32Array {
  const [V, C] = layout.wte.shape as [number, number];
  if (!Number.isInteger(firstId) || firstId < 0 || firstId + p > V) {
    throw new Error(`residueEmbedding: ids ${firstId}…${firstId + p - 1} are outside the vocabulary [0, ${V})`);
  }
  return viewOf(params, layout.wte).subarray(firstId * C, (firstId + p) * C);
}

/** What an evaluation emits: the non-constant shares by frequency, the constant's share of all power, and the concentration. */
export interface EmbeddingFourier extends FourierConcentration {
  /** shares[i] is the share of frequency i + 1 (NaN when there is no non-constant power). */
  shares: number[];
  /** constantPower / totalPower (NaN for an all-zero embedding). */
  constantShare: number;
}

/** The Fourier summary of a GPT's residue embeddings (ids firstId…firstId+p−1): fourierSpectrum then fourierConcentration. */
export function embeddingFourier(
  params: Float32Array, layout: ParamLayout, p: number, opts: { firstId?: number; topM?: number; keyShare?: number } = {},
): EmbeddingFourier {
  const C = layout.wte.shape[1]!;
  const spectrum = fourierSpectrum(residueEmbedding(params, layout, p, opts.firstId ?? 0), p, C);
  return {
    ...fourierConcentration(spectrum, opts),
    shares: spectrum.shares,
    constantShare: spectrum.totalPower > 0 ? spectrum.constantPower / spectrum.totalPower : NaN,
  };
}

/** ‖θ‖₂ = sqrt(Σ θ²) over all values (accumulated in double). */
export function weightNorm(params: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < params.length; i++) s += params[i]! * params[i]!;
  return Math.sqrt(s);
}

/**
 * ‖θ‖₂ over the views weight decay acts on (matrices and embeddings), leaving
 * out the LayerNorm weights, which start at 1 and would put a floor of
 * sqrt(#LayerNorm weights) under the total.
 */
export function decayedWeightNorm(params: Float32Array, layout: ParamLayout): number {
  let s = 0;
  for (const view of layout.views) {
    if (!view.decay) continue;
    for (let i = view.offset; i < view.offset + view.size; i++) s += params[i]! * params[i]!;
  }
  return Math.sqrt(s);
}
