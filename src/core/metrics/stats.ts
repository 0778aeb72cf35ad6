/**
 * Summary statistics for reporting results over seeds and test items:
 * means, sample standard deviations, Student-t confidence intervals for a
 * mean, Wilson intervals for an accuracy, and quantiles for bands.
 *
 * "Not computable" is NaN, never 0: a mean of nothing, a spread of one value
 * and an interval from one run are reported as NaN so that a chart shows a
 * gap instead of a made-up number.
 */

/** Arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** Sample standard deviation sqrt(Σ(x − x̄)² / (n − 1)) (two passes); NaN for n < 2. */
export function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - m) ** 2;
  return Math.sqrt(ss / (n - 1));
}

/**
 * The q-quantile with linear interpolation between order statistics
 * (Hyndman & Fan type 7, numpy's default): h = (n − 1)q, x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋).
 * NaN for no values; NaN values are not allowed.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  if (Number.isNaN(sorted[n - 1]!)) throw new Error('quantile: values contain NaN');
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

// ---------------------------------------------------------------------------
// Student's t quantile, from its CDF through the regularized incomplete beta
// function (Numerical Recipes §6.1, §6.4), inverted by bisection.

/** ln Γ(x) for x > 0, Lanczos approximation (g = 7, 9 terms; |rel err| ≲ 1e-15). */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x); // reflection
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for I_x(a, b), modified Lentz (Numerical Recipes betacf). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b) for x in [0, 1]. */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) otherwise.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Student's t CDF P(T ≤ t) with df degrees of freedom: 1 − ½ I_{df/(df+t²)}(df/2, ½) for t ≥ 0. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTCdf: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Student's t quantile t_{p, df}: the t with P(T ≤ t) = p (e.g. p = 0.975,
 * df = 2 → 4.3027). Bisection on the CDF to full double precision; df may be
 * fractional; df = ∞ gives the standard normal quantile.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`studentTQuantile: df must be > 0, got ${df}`);
  const cdf = df === Infinity ? normalCdf : (t: number) => studentTCdf(t, df);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (p === 0.5) return 0;
  let lo = 0;
  let hi = 1;
  while (cdf(hi) < p) hi *= 2; // bracket: hi doubles until the CDF passes p
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Standard normal CDF Φ(x) = ½ erfc(−x/√2), with erfc(z) = Q(½, z²) for z ≥ 0. */
export function normalCdf(x: number): number {
  const z = x / Math.SQRT2;
  const q = upperGammaHalf(z * z); // erfc(|z|)
  return x <= 0 ? 0.5 * q : 1 - 0.5 * q;
}

/** Q(½, y) = Γ(½, y)/Γ(½) (regularized upper incomplete gamma at a = ½), series for y < 1.5, continued fraction otherwise (Numerical Recipes gser/gcf). */
function upperGammaHalf(y: number): number {
  const a = 0.5;
  if (y <= 0) return 1;
  const lnFront = -y + a * Math.log(y) - lnGamma(a);
  if (y < a + 1) {
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < 500; n++) {
      ap += 1;
      del *= y / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(lnFront);
  }
  const tiny = 1e-300;
  let b = y + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-17) break;
  }
  return Math.exp(lnFront) * h;
}

// ---------------------------------------------------------------------------

export interface MeanInterval {
  mean: number;
  low: number;
  high: number;
  /** Number of values the interval was computed from. */
  n: number;
}

/**
 * 95% confidence interval for the mean of n independent values (e.g. one
 * final accuracy per seed): x̄ ± t_{0.975, n−1} · s / √n, with s the sample
 * standard deviation. n = 1: the mean is that value and the bounds are NaN
 * (one run says nothing about spread); n = 0: everything NaN.
 */
export function meanCI95(values: ArrayLike<number>): MeanInterval {
  const n = values.length;
  const m = mean(values);
  if (n < 2) return { mean: m, low: NaN, high: NaN, n };
  const half = (studentTQuantile(0.975, n - 1) * sampleStd(values)) / Math.sqrt(n);
  return { mean: m, low: m - half, high: m + half, n };
}

export interface ProportionInterval {
  /** The observed proportion successes / n. */
  p: number;
  low: number;
  high: number;
  n: number;
}

/** z_{0.975}, the two-sided 95% normal critical value. */
export const Z95 = 1.959963984540054;

/**
 * 95% Wilson score interval for a proportion (Wilson 1927), e.g. accuracy on
 * n test items: (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
 * Unlike p̂ ± z·√(p̂(1−p̂)/n) it stays inside [0, 1] and is not empty at p̂ = 0 or 1.
 * n = 0: NaN everywhere.
 */
export function binomialCI95(successes: number, n: number): ProportionInterval {
  if (!Number.isInteger(n) || n < 0) throw new Error(`binomialCI95: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new Error(`binomialCI95: successes must be an integer in [0, n=${n}], got ${successes}`);
  }
  if (n === 0) return { p: NaN, low: NaN, high: NaN, n };
  const p = successes / n;
  const z2 = Z95 * Z95;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // Clamp rounding at the ends: at p̂ = 0 the low bound is exactly 0 (and 1 at p̂ = 1).
  return { p, low: successes === 0 ? 0 : Math.max(0, center - half), high: successes === n ? 1 : Math.min(1, center + half), n };
}
