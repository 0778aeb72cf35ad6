/**
 * pass@k, the unbiased estimator of Chen et al. (2021, "Evaluating Large
 * Language Models Trained on Code"): with n samples of which c are correct,
 *   pass@k = 1 − C(n−c, k) / C(n, k),
 * computed as a running product to stay exact for large n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k))) throw new Error('passAtK: n, c, k must be integers');
  if (k < 1 || k > n) throw new Error(`passAtK: k must be in [1, n=${n}], got ${k}`);
  if (c < 0 || c > n) throw new Error(`passAtK: c must be in [0, n=${n}], got ${c}`);
  if (n - c < k) return 1;
  // C(n−c, k) / C(n, k) = Π_{i=n−c+1}^{n} (1 − k / i)
  let ratio = 1;
  for (let i = n - c + 1; i <= n; i++) ratio *= 1 - k / i;
  return 1 - ratio;
}

/** Mean pass@k over problems, each with its own (n, c). */
export function meanPassAtK(results: readonly { n: number; c: number }[], k: number): number {
  if (results.length === 0) return NaN;
  return results.reduce((s, r) => s + passAtK(r.n, r.c, k), 0) / results.length;
}
