/**
 * The embedding's Fourier spectrum against hand-computed cases: a channel
 * A·cos(2πka/p + φ) puts p²A²/2 on frequency k (p²A² on k = p/2 for even p),
 * a constant c puts (p·c)² on k = 0, white noise spreads evenly; plus
 * Parseval (Σ power = p·ΣE²) and the relabelling a → m·a, which moves the
 * power at k to k·m⁻¹ (mod p).
 */
import { describe, expect, test } from 'vitest';
import { paramLayout } from '../../src/core/gpt/config';
import { initParams } from '../../src/core/gpt/init';
import {
  decayedWeightNorm, embeddingFourier, fourierConcentration, fourierSpectrum, residueEmbedding, weightNorm,
} from '../../src/core/metrics/fourier';
import { Rng, keyFromSeed } from '../../src/core/rng';

/** E (p,C) with E[a,c] = columns[c](a). */
function embedding(p: number, columns: ((a: number) => number)[]): Float64Array {
  const C = columns.length;
  const e = new Float64Array(p * C);
  for (let a = 0; a < p; a++) columns.forEach((f, c) => (e[a * C + c] = f(a)));
  return e;
}

const sumSq = (xs: ArrayLike<number>) => Array.from(xs).reduce((s, x) => s + x * x, 0);

describe('fourierSpectrum', () => {
  // p = 7: channel 0 = cos(2π·2a/7) + 5, channel 1 = 3·sin(2π·3a/7).
  const p = 7;
  const e = embedding(p, [(a) => Math.cos((2 * Math.PI * 2 * a) / p) + 5, (a) => 3 * Math.sin((2 * Math.PI * 3 * a) / p)]);
  const s = fourierSpectrum(e, p, 2);

  test('exact cosines: p²A²/2 on their frequency, the constant apart', () => {
    expect(s.frequencies).toEqual([1, 2, 3]);
    expect(s.power[0]).toBeCloseTo(0, 9);
    expect(s.power[1]).toBeCloseTo(49 / 2, 9); // 7²·1²/2
    expect(s.power[2]).toBeCloseTo((49 * 9) / 2, 9); // 7²·3²/2
    expect(s.constantPower).toBeCloseTo((7 * 5) ** 2, 9); // (Σ_a 5)²
    expect(s.shares[0]).toBeCloseTo(0, 12);
    expect(s.shares[1]).toBeCloseTo(0.1, 12); // 24.5 / 245
    expect(s.shares[2]).toBeCloseTo(0.9, 12);
  });

  test('Parseval: all power = p·ΣE²', () => {
    expect(s.totalPower).toBeCloseTo(p * sumSq(e), 8);
    expect(s.constantPower + s.power.reduce((a, b) => a + b, 0)).toBeCloseTo(s.totalPower, 8);
    const noise = new Rng(keyFromSeed(3));
    const r = Float64Array.from({ length: 12 * 5 }, () => noise.normal());
    const sr = fourierSpectrum(r, 12, 5);
    expect(sr.constantPower + sr.power.reduce((a, b) => a + b, 0)).toBeCloseTo(12 * sumSq(r), 8);
  });

  test('even p: the Nyquist frequency p/2 is its own conjugate and counted once', () => {
    const sp = fourierSpectrum(embedding(8, [(a) => (a % 2 === 0 ? 1 : -1)]), 8, 1);
    expect(sp.frequencies).toEqual([1, 2, 3, 4]);
    expect(sp.power[3]).toBeCloseTo(64, 10); // |Σ_a (−1)^a·e^(−iπa)|² = 8²
    expect(sp.totalPower).toBeCloseTo(64, 10); // p·ΣE² = 8·8
    expect(sp.shares[3]).toBeCloseTo(1, 12);
  });

  test('shares do not change with scale or a cyclic relabelling a → a + s', () => {
    const scaled = fourierSpectrum(e.map((x) => 10 * x), p, 2);
    const shifted = fourierSpectrum(embedding(p, [(a) => e[((a + 3) % p) * 2]!, (a) => e[((a + 3) % p) * 2 + 1]!]), p, 2);
    for (let i = 0; i < 3; i++) {
      expect(scaled.shares[i]).toBeCloseTo(s.shares[i]!, 12);
      expect(shifted.shares[i]).toBeCloseTo(s.shares[i]!, 12);
    }
  });

  test('relabelling a → m·a (p prime) moves the power at k to k·m⁻¹ mod p', () => {
    const q = 11;
    const noise = new Rng(keyFromSeed(5));
    const r = Float64Array.from({ length: q * 3 }, () => noise.normal());
    const m = 3; // 3·4 = 12 ≡ 1 (mod 11): m⁻¹ = 4
    const relabelled = new Float64Array(q * 3);
    for (let a = 0; a < q; a++) for (let c = 0; c < 3; c++) relabelled[a * 3 + c] = r[((m * a) % q) * 3 + c]!;
    const before = fourierSpectrum(r, q, 3);
    const after = fourierSpectrum(relabelled, q, 3);
    const fold = (k: number) => Math.min(k % q, q - (k % q));
    for (const k of after.frequencies) expect(after.power[k - 1]).toBeCloseTo(before.power[fold(k * 4) - 1]!, 8);
  });

  test('white noise spreads evenly over the ⌊p/2⌋ frequencies', () => {
    const q = 31;
    const C = 2000;
    const noise = new Rng(keyFromSeed(11));
    const sn = fourierSpectrum(Float32Array.from({ length: q * C }, () => noise.normal()), q, C);
    for (const share of sn.shares) expect(Math.abs(share - 1 / 15)).toBeLessThan(0.01); // each ≈ 1/15 ± ~2.2% relative sd
    const conc = fourierConcentration(sn, { topM: 3, keyShare: 0.8 });
    expect(conc.normalizedEntropy).toBeGreaterThan(0.999);
    expect(conc.effectiveFrequencies).toBeGreaterThan(14.9);
    expect(conc.topShare).toBeLessThan(0.22); // 3/15 = 0.2 for an exactly flat spectrum
    expect(conc.keyFrequencies.length).toBe(12); // 12 shares of ≈1/15 first reach 0.8
  });

  test('an embedding with no non-constant part has no shares (NaN, not 0)', () => {
    const flat = fourierSpectrum(embedding(5, [() => 2, () => -1]), 5, 2);
    expect(flat.constantPower).toBeCloseTo(25 * 5, 10); // (5·2)² + (5·−1)²
    expect(flat.shares.every(Number.isNaN)).toBe(true);
    const conc = fourierConcentration(flat);
    expect(conc.topShare).toBeNaN();
    expect(conc.normalizedEntropy).toBeNaN();
    expect(conc.keyFrequencies).toEqual([]);
  });

  test('bad input names the field', () => {
    expect(() => fourierSpectrum(new Float32Array(13), 7, 2)).toThrow(/p·C = 7·2 = 14 values, got 13/);
    expect(() => fourierSpectrum(new Float32Array(2), 1, 2)).toThrow(/p must be an integer ≥ 2/);
    expect(() => fourierSpectrum(new Float32Array(0), 7, 0)).toThrow(/C must be a positive integer/);
    expect(() => fourierSpectrum(Float32Array.of(1, NaN, 0, 0), 2, 2)).toThrow(/value 1 \(residue 0\) is not finite/);
    expect(() => fourierConcentration(s, { topM: 0 })).toThrow(/topM/);
    expect(() => fourierConcentration(s, { keyShare: 1.5 })).toThrow(/keyShare/);
  });
});

describe('fourierConcentration', () => {
  // Shares (0, 0.1, 0.9) from the p = 7 case above.
  const p = 7;
  const s = fourierSpectrum(
    embedding(p, [(a) => Math.cos((2 * Math.PI * 2 * a) / p), (a) => 3 * Math.sin((2 * Math.PI * 3 * a) / p)]), p, 2,
  );

  test('top-m share, entropy and key frequencies by hand', () => {
    const h = -(0.1 * Math.log(0.1) + 0.9 * Math.log(0.9)); // 0.325083 nats
    const c = fourierConcentration(s, { topM: 1, keyShare: 0.8 });
    expect(c.topShare).toBeCloseTo(0.9, 12);
    expect(c.normalizedEntropy).toBeCloseTo(h / Math.log(3), 10);
    expect(c.effectiveFrequencies).toBeCloseTo(Math.exp(h), 10);
    expect(c.keyFrequencies).toEqual([3]);
    expect(fourierConcentration(s, { keyShare: 0.95 }).keyFrequencies).toEqual([3, 2]);
    expect(fourierConcentration(s, { keyShare: 0.9 }).keyFrequencies).toEqual([3]); // 0.9 reaches 0.9 exactly
    expect(fourierConcentration(s, { topM: 5 }).topShare).toBeCloseTo(1, 12); // m beyond the frequencies: everything
  });

  test('one frequency: entropy 0, one effective frequency', () => {
    const one = fourierSpectrum(embedding(9, [(a) => Math.cos((2 * Math.PI * 4 * a) / 9)]), 9, 1);
    const c = fourierConcentration(one, { topM: 1 });
    expect(c.topShare).toBeCloseTo(1, 12);
    expect(c.normalizedEntropy).toBeCloseTo(0, 10);
    expect(c.effectiveFrequencies).toBeCloseTo(1, 10);
    expect(c.keyFrequencies).toEqual([4]);
  });
});

describe('residueEmbedding and weight norms', () => {
  const config = { vocabSize: 9, contextLength: 4, dModel: 8, nLayers: 1, nHeads: 2 };
  const layout = paramLayout(config);
  const params = initParams(config, keyFromSeed(1));

  test('residueEmbedding is rows firstId…firstId+p−1 of wte', () => {
    const rows = residueEmbedding(params, layout, 7);
    expect(rows.length).toBe(7 * 8);
    expect(rows[0]).toBe(params[layout.wte.offset]);
    const shifted = residueEmbedding(params, layout, 7, 2);
    expect(shifted[0]).toBe(params[layout.wte.offset + 2 * 8]);
    expect(() => residueEmbedding(params, layout, 8, 2)).toThrow(/ids 2…9 are outside the vocabulary \[0, 9\)/);
  });

  test('embeddingFourier reads the residue rows of wte and summarises them', () => {
    // Residue a's row (ids 1…7, C = 8): cos(2π·3a/7) in channel 0, 2 everywhere else (a constant).
    const ps = new Float32Array(params);
    for (let a = 0; a < 7; a++) {
      for (let c = 0; c < 8; c++) ps[layout.wte.offset + (1 + a) * 8 + c] = c === 0 ? Math.cos((2 * Math.PI * 3 * a) / 7) : 2;
    }
    const f = embeddingFourier(ps, layout, 7, { firstId: 1, topM: 1 });
    expect(f.shares.map((x) => +x.toFixed(6))).toEqual([0, 0, 1]);
    expect(f.keyFrequencies).toEqual([3]);
    expect(f.topShare).toBeCloseTo(1, 6);
    // Constant power (7·2)²·7 channels = 1372; the cosine's 7²/2 = 24.5.
    expect(f.constantShare).toBeCloseTo(1372 / (1372 + 24.5), 6);
  });

  test('weightNorm is the L2 norm; decayedWeightNorm leaves out LayerNorm and biases', () => {
    expect(weightNorm([3, 4])).toBe(5);
    let undecayed = 0;
    for (const v of layout.views) if (!v.decay) for (let i = v.offset; i < v.offset + v.size; i++) undecayed += params[i]! ** 2;
    expect(undecayed).toBe(3 * 8); // three LayerNorm weight vectors of ones, biases 0
    expect(decayedWeightNorm(params, layout) ** 2 + undecayed).toBeCloseTo(weightNorm(params) ** 2, 4);
    expect(decayedWeightNorm(params, layout)).toBeLessThan(weightNorm(params));
  });
});
