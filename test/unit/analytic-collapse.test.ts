/**
 * The instant collapse demos against their theory, over many seeds.
 *
 * Tolerances are k standard errors of a mean over S independent seeds, with
 * the standard error derived exactly where the distribution is known (the
 * Gaussian and the categorical) and estimated from the seeds otherwise
 * (regression). Every test runs on a fixed key, so it is deterministic; the
 * tolerances say how surprising a failure would be, not how often it flakes.
 */
import { describe, expect, test } from 'vitest';
import {
  bandOverSeeds, choleskySolve, gaussianCollapse, regressionCollapse, resolveGaussianConfig, resolveRegressionConfig,
  resolveZipfConfig, zipfCollapse, zipfProbabilities,
} from '../../src/core/collapse/analytic';
import { mean, quantile, sampleStd } from '../../src/core/metrics/stats';
import { keyFromSeed } from '../../src/core/rng';

const column = (series: number[][], t: number) => series.map((s) => s[t]!);

describe('Gaussian fit/resample', () => {
  // σ̂²_t = σ0² · Π_{k=0..t} Y_k with Y_k i.i.d. (the sample variance of fresh draws is independent
  // of the past): Y = χ²_{n−1}/n (ML) or χ²_{n−1}/(n−1) (unbiased). With E[χ²_ν] = ν and
  // E[(χ²_ν)²] = ν(ν+2): E[Y] = a, E[Y²] = b gives E[σ̂²_t] = σ0² a^{t+1} and
  // Var[σ̂²_t] = σ0⁴ (b^{t+1} − a^{2(t+1)}). The mean over S seeds has standard error √(Var/S);
  // we allow 4.5 of them at each t. The product is skewed (log-normal-like), so the sample mean
  // tends to fall below its expectation, but at S = 2000 and t ≤ 20 that bias (< 0.2 relative:
  // the mass beyond the top 1/S quantile of a log-normal with σ_log² = 21·ψ′(4.5) ≈ 5.2) is well
  // inside 4.5 SE (≈ 0.8 relative at t = 20, ≈ 0.05 at t = 0, which still separates (n−1)/n from 1).
  const n = 10;
  const T = 20;
  const S = 2000;
  const sigma0 = 1.5;

  test('ML variance follows σ0²((n−1)/n)^(t+1), generation 0 being the fit to real samples', () => {
    const r = gaussianCollapse(keyFromSeed(1), { samplesPerGeneration: n, generations: T, seeds: S, sigma0, mu0: 3 });
    expect(r.variance).toHaveLength(S);
    expect(r.variance[0]).toHaveLength(T + 1);
    const a = (n - 1) / n;
    const b = ((n - 1) * (n + 1)) / (n * n);
    for (let t = 0; t <= T; t++) {
      const expected = sigma0 ** 2 * a ** (t + 1);
      expect(r.theory![t]).toBeCloseTo(expected, 12);
      const se = Math.sqrt((sigma0 ** 4 * (b ** (t + 1) - a ** (2 * (t + 1)))) / S);
      expect(Math.abs(mean(column(r.variance, t)) - expected)).toBeLessThan(4.5 * se);
      expect(r.varianceBand.mean[t]).toBeCloseTo(mean(column(r.variance, t)), 12);
    }
    expect(r.theory![T]).toBeLessThan(0.12 * sigma0 ** 2);
    expect(r.truth).toEqual({ mean: 3, variance: sigma0 ** 2 });
    // The fitted mean drifts (a random walk) but stays centred on μ0.
    expect(Math.abs(mean(column(r.mean, T)) - 3)).toBeLessThan(4.5 * sampleStd(column(r.mean, T)) / Math.sqrt(S));
  });

  test('the unbiased estimator does not shrink in expectation, though each run still collapses', () => {
    const r = gaussianCollapse(keyFromSeed(2), { samplesPerGeneration: n, generations: T, seeds: S, sigma0, estimator: 'unbiased' });
    const b = (n + 1) / (n - 1); // E[(χ²_{n−1}/(n−1))²]
    for (let t = 0; t <= T; t++) {
      expect(r.theory![t]).toBe(sigma0 ** 2);
      const se = Math.sqrt((sigma0 ** 4 * (b ** (t + 1) - 1)) / S);
      expect(Math.abs(mean(column(r.variance, t)) - sigma0 ** 2)).toBeLessThan(4.5 * se);
    }
    // At t = 5 ML would give 0.9^6 ≈ 0.53 σ0²: more than 4.5 SE (≈ 0.11 σ0²) below what we see.
    expect(mean(column(r.variance, 5))).toBeGreaterThan(0.8 * sigma0 ** 2);
    // The median run: exp(21 · E[log χ²₉/9]) ≈ 0.09 of σ0².
    expect(r.varianceBand.median[T]).toBeLessThan(0.3 * sigma0 ** 2);
  });

  test('accumulating all samples keeps the variance near σ0²; replacing them collapses it', () => {
    const cfg = { samplesPerGeneration: n, generations: 50, seeds: 200 };
    const replace = gaussianCollapse(keyFromSeed(3), cfg);
    const accumulate = gaussianCollapse(keyFromSeed(3), { ...cfg, mode: 'accumulate' });
    expect(accumulate.theory).toBeNull();
    // Replace: median ≈ exp(51 · E[log χ²₉/10]) ≈ 1e-5. Accumulate: the median run stays within a factor 2.
    expect(replace.varianceBand.median[50]).toBeLessThan(1e-3);
    expect(accumulate.varianceBand.median[50]).toBeGreaterThan(0.5);
    expect(accumulate.varianceBand.median[50]).toBeLessThan(1.5);
    expect(accumulate.varianceBand.low[50]).toBeGreaterThan(100 * replace.varianceBand.high[50]!);
    // Generation 0 is the same fit on the same real samples in both modes.
    expect(column(accumulate.variance, 0)).toEqual(column(replace.variance, 0));
  });

  test('same key, same runs; other keys differ; seed s does not depend on how many seeds run', () => {
    const k = keyFromSeed(7);
    const a = gaussianCollapse(k, { seeds: 5, generations: 10 });
    expect(gaussianCollapse(k, { seeds: 5, generations: 10 })).toEqual(a);
    expect(gaussianCollapse(keyFromSeed(8), { seeds: 5, generations: 10 }).variance).not.toEqual(a.variance);
    expect(gaussianCollapse(k, { seeds: 3, generations: 10 }).variance).toEqual(a.variance.slice(0, 3));
  });
});

describe('categorical (Zipf) re-estimation', () => {
  const cfg = { vocabSize: 50, zipfExponent: 1.1, samplesPerGeneration: 200, generations: 30, seeds: 300 };

  test('the original tail is the rarest symbols holding at most tailShare of the mass', () => {
    const r = zipfCollapse(keyFromSeed(1), { ...cfg, seeds: 1, generations: 0 });
    const p = zipfProbabilities(50, 1.1);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    const tail = r.truth.tailSymbols;
    expect(tail[tail.length - 1]).toBe(49); // the rarest symbol, and a contiguous run of ranks up to it
    expect(tail).toEqual(Array.from({ length: tail.length }, (_, i) => 50 - tail.length + i));
    expect(r.truth.tailMass).toBeLessThanOrEqual(0.2);
    expect(r.truth.tailMass + p[tail[0]! - 1]!).toBeGreaterThan(0.2); // one more symbol would exceed the share
    expect(r.truth.entropy).toBeCloseTo(-p.reduce((h, x) => h + x * Math.log2(x), 0), 12);
  });

  test('replace: support never grows, entropy falls, tail mass is a martingale', () => {
    const r = zipfCollapse(keyFromSeed(2), cfg);
    for (const sup of r.support) for (let t = 1; t < sup.length; t++) expect(sup[t]).toBeLessThanOrEqual(sup[t - 1]!);
    expect(r.supportBand.mean[30]).toBeLessThan(0.6 * r.supportBand.mean[0]!);
    expect(r.entropyBand.mean[30]).toBeLessThan(r.entropyBand.mean[0]! - 0.5);
    // Counts re-estimation is a Wright–Fisher chain: the tail's share p_t satisfies E[p_t] = q and
    // Var[p_t] = q(1−q)(1 − (1 − 1/m)^{t+1}), so the mean over S seeds is within 4.5·√(Var/S) of q,
    // while the median run loses tail.
    const q = r.truth.tailMass;
    const m = cfg.samplesPerGeneration;
    for (let t = 0; t <= 30; t++) {
      const se = Math.sqrt((q * (1 - q) * (1 - (1 - 1 / m) ** (t + 1))) / cfg.seeds);
      expect(Math.abs(mean(column(r.tailMass, t)) - q)).toBeLessThan(4.5 * se);
    }
    expect(r.tailMassBand.low[30]).toBeLessThan(r.tailMassBand.low[0]! - 0.05);
  });

  test('accumulate: every symbol seen at generation 0 keeps its mass', () => {
    const r = zipfCollapse(keyFromSeed(2), { ...cfg, mode: 'accumulate' });
    for (const sup of r.support) expect(new Set(sup).size).toBe(1);
    const replace = zipfCollapse(keyFromSeed(2), cfg);
    expect(column(r.support, 0)).toEqual(column(replace.support, 0));
    expect(r.entropyBand.mean[30]).toBeGreaterThan(replace.entropyBand.mean[30]! + 0.3);
    expect(zipfCollapse(keyFromSeed(2), { ...cfg, seeds: 2 })).toEqual(zipfCollapse(keyFromSeed(2), { ...cfg, seeds: 2 }));
    expect(zipfCollapse(keyFromSeed(3), { ...cfg, seeds: 2 }).entropy).not.toEqual(zipfCollapse(keyFromSeed(2), { ...cfg, seeds: 2 }).entropy);
  });
});

describe('linear regression on its own labels', () => {
  const d = 5;
  const n = 20;
  const cfg = { features: d, pointsPerGeneration: n, noiseStd: 1, generations: 10, seeds: 150, testSize: 400 };
  const perGeneration = d / (n - d - 1); // σ² d / (n − d − 1), σ = 1

  test('replace: test error grows linearly, (t+1)·σ²d/(n−d−1)', () => {
    const r = regressionCollapse(keyFromSeed(1), cfg);
    // E[testError_t] equals the theory exactly (the test x are independent of ŵ_t); the SE is
    // estimated from the seeds (S = 150, so the CLT applies; inverse-Wishart moments are finite for n > d + 3).
    for (let t = 0; t <= 10; t++) {
      const errs = column(r.testError, t);
      expect(r.theory![t]).toBeCloseTo((t + 1) * perGeneration, 12);
      expect(Math.abs(mean(errs) - r.theory![t]!)).toBeLessThan((5 * sampleStd(errs)) / Math.sqrt(cfg.seeds));
    }
    expect(r.testErrorBand.mean[10]).toBeGreaterThan(6 * r.testErrorBand.mean[0]!);
  });

  test('accumulate: test error stays bounded (≈ π²/6 of generation 0)', () => {
    const acc = regressionCollapse(keyFromSeed(1), { ...cfg, mode: 'accumulate' });
    const rep = regressionCollapse(keyFromSeed(1), cfg);
    expect(acc.theory).toBeNull();
    expect(column(acc.testError, 0)).toEqual(column(rep.testError, 0));
    expect(acc.testErrorBand.mean[10]).toBeLessThan(2 * perGeneration);
    expect(acc.testErrorBand.mean[10]).toBeLessThan(2 * acc.testErrorBand.mean[0]!);
    expect(rep.testErrorBand.mean[10]).toBeGreaterThan(4 * acc.testErrorBand.mean[10]!);
    // Later generations barely move: the last five means lie within 15% of each other.
    const tail = acc.testErrorBand.mean.slice(6);
    expect(Math.max(...tail) / Math.min(...tail)).toBeLessThan(1.15);
  });

  test('deterministic per key', () => {
    const small = { ...cfg, seeds: 3, generations: 3 };
    expect(regressionCollapse(keyFromSeed(5), small)).toEqual(regressionCollapse(keyFromSeed(5), small));
    expect(regressionCollapse(keyFromSeed(6), small).testError).not.toEqual(regressionCollapse(keyFromSeed(5), small).testError);
  });

  test('Cholesky solve', () => {
    // A = [[4, 2, 0], [2, 5, 1], [0, 1, 3]], x = [1, −2, 3] → b = A x = [0, −5, 7].
    const x = choleskySolve([4, 2, 0, 2, 5, 1, 0, 1, 3], [0, -5, 7], 3);
    expect(Array.from(x).map((v) => +v.toFixed(12))).toEqual([1, -2, 3]);
    expect(() => choleskySolve([1, 2, 2, 1], [1, 1], 2)).toThrow(/not positive definite/);
  });
});

describe('configs and bands', () => {
  test('validation names the field', () => {
    expect(() => resolveGaussianConfig({ samplesPerGeneration: 1 })).toThrow(/samplesPerGeneration: must be an integer from 2/);
    expect(() => resolveGaussianConfig({ sigma0: 0 })).toThrow(/sigma0: must be a number above 0/);
    expect(() => resolveGaussianConfig({ estimator: 'mle' as 'ml' })).toThrow(/estimator: must be one of ml, unbiased/);
    expect(() => resolveGaussianConfig({ typo: 1 } as never)).toThrow(/typo: unknown key/);
    expect(() => resolveZipfConfig({ mode: 'keep' as 'replace' })).toThrow(/mode: must be one of replace, accumulate/);
    expect(() => resolveZipfConfig({ tailShare: 0 })).toThrow(/tailShare/);
    expect(() => resolveRegressionConfig({ features: 33 })).toThrow(/features: must be an integer from 1 to 32/);
    expect(() => resolveRegressionConfig({ features: 10, pointsPerGeneration: 11 })).toThrow(/pointsPerGeneration: must be at least features \+ 2 \(12\)/);
    expect(resolveGaussianConfig({}).samplesPerGeneration).toBe(10);
  });

  test('band over seeds: mean, median and type-7 quantiles per generation', () => {
    const band = bandOverSeeds([[1, 2], [3, 4], [5, 6]]);
    expect(band.mean).toEqual([3, 4]);
    expect(band.median).toEqual([3, 4]);
    expect(band.low[0]).toBeCloseTo(1.4, 14); // h = 0.2 between 1 and 3
    expect(band.high[1]).toBeCloseTo(5.6, 14);
    expect(band.quantiles).toEqual([0.1, 0.9]);
    expect(quantile([1, 3, 5], 0.1)).toBeCloseTo(band.low[0]!, 14);
  });
});
