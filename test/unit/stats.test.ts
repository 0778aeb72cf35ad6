/**
 * Summary statistics: hand-computed means and spreads, Student-t quantiles
 * against closed forms (df = 1, 2) and R's qt(), Wilson intervals against
 * Newcombe (1998, Stat. Med. 17:857, Table II, method 3).
 */
import { describe, expect, test } from 'vitest';
import { binomialCI95, mean, meanCI95, normalCdf, quantile, sampleStd, studentTCdf, studentTQuantile } from '../../src/core/metrics/stats';

describe('mean, sampleStd, quantile', () => {
  test('hand-computed values', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9]; // Σ(x − 5)² = 32
    expect(mean(xs)).toBe(5);
    expect(sampleStd(xs)).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(quantile([4, 1, 3, 2], 0)).toBe(1);
    expect(quantile([4, 1, 3, 2], 1)).toBe(4);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.1)).toBeCloseTo(1.3, 14); // h = 0.3
  });

  test('not computable is NaN, not 0', () => {
    expect(mean([])).toBeNaN();
    expect(sampleStd([3])).toBeNaN();
    expect(quantile([], 0.5)).toBeNaN();
    expect(() => quantile([1], 1.5)).toThrow(/q must be/);
  });
});

describe('Student t', () => {
  test('df = 1 and 2 match their closed forms', () => {
    for (const p of [0.6, 0.9, 0.975, 0.995]) {
      expect(studentTQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 10); // Cauchy
      expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 12);
    }
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3);
  });

  test('matches tabulated critical values (R qt)', () => {
    const table: [number, number, number][] = [
      [0.975, 3, 3.182446305284263], [0.975, 5, 2.570581835636314], [0.975, 10, 2.228138851986274],
      [0.975, 30, 2.042272456301238], [0.975, 100, 1.983971518523552], [0.995, 4, 4.604094871415897],
      [0.975, Infinity, 1.959963984540054],
    ];
    for (const [p, df, t] of table) expect(Math.abs(studentTQuantile(p, df) - t)).toBeLessThan(1e-9);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.228138851986274, 9);
  });

  test('the CDF inverts the quantile and is symmetric', () => {
    for (const df of [1, 2.5, 7, 40]) {
      for (const p of [0.01, 0.3, 0.8, 0.999]) expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 12);
      expect(studentTCdf(-1.3, df) + studentTCdf(1.3, df)).toBeCloseTo(1, 14);
    }
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 14);
  });
});

describe('confidence intervals', () => {
  test('meanCI95 uses t with n − 1 degrees of freedom', () => {
    const ci = meanCI95([1, 2, 3]); // s = 1, n = 3: half-width = t_{0.975,2}/√3
    const half = 4.302652729749464 / Math.sqrt(3);
    expect(ci.mean).toBe(2);
    expect(ci.low).toBeCloseTo(2 - half, 12);
    expect(ci.high).toBeCloseTo(2 + half, 12);
    expect(ci.n).toBe(3);
  });

  test('one value has no interval; no values have no mean', () => {
    expect(meanCI95([0.7])).toEqual({ mean: 0.7, low: NaN, high: NaN, n: 1 });
    expect(meanCI95([])).toEqual({ mean: NaN, low: NaN, high: NaN, n: 0 });
  });

  test('Wilson interval matches Newcombe (1998)', () => {
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662], [15, 148, 0.0624, 0.1605], [0, 20, 0, 0.1611], [1, 29, 0.0061, 0.1718],
    ];
    for (const [s, n, lo, hi] of cases) {
      const ci = binomialCI95(s, n);
      expect(ci.p).toBe(s / n);
      expect(Math.abs(ci.low - lo)).toBeLessThan(5e-5);
      expect(Math.abs(ci.high - hi)).toBeLessThan(5e-5);
    }
    expect(binomialCI95(10, 10).high).toBe(1);
    expect(binomialCI95(0, 0).p).toBeNaN();
    expect(() => binomialCI95(11, 10)).toThrow(/successes/);
    expect(() => binomialCI95(1, 2.5)).toThrow(/n must be/);
  });
});
