/**
 * Multinomial naive Bayes over token ids: the simple text-classification
 * baseline a small neural classifier should reach on the same tokens
 * (McCallum & Nigam 1998, "A comparison of event models for naive Bayes
 * text classification"). Each class k has a prior log π_k (its share of the
 * training rows) and a token distribution
 *   θ_kt = (n_kt + α) / (Σ_t' n_kt' + α·V)      (Laplace/Lidstone smoothing)
 * and a text x₁…x_m is labelled argmax_k log π_k + Σ_i log θ_k,x_i.
 * Pure: token ids in, predictions out.
 */

export interface NaiveBayes {
  /** K log priors. */
  logPrior: Float64Array;
  /** K × V log θ, row-major (class k's row at k·V). */
  logTheta: Float64Array;
  K: number;
  V: number;
}

/** Fit on `rows` (token ids in [0, V), label in [0, K)); α > 0 is the smoothing pseudo-count. */
export function fitNaiveBayes(rows: readonly { tokens: readonly number[]; label: number }[], K: number, V: number, alpha = 1): NaiveBayes {
  if (!(alpha > 0)) throw new Error(`naive Bayes: alpha must be > 0, got ${alpha}`);
  if (rows.length === 0) throw new Error('naive Bayes: no training rows');
  const counts = new Float64Array(K * V);
  const totals = new Float64Array(K);
  const docs = new Float64Array(K);
  for (const r of rows) {
    if (!(r.label >= 0 && r.label < K)) throw new Error(`naive Bayes: label ${r.label} is outside 0…${K - 1}`);
    docs[r.label]!++;
    for (const t of r.tokens) {
      if (!(t >= 0 && t < V)) throw new Error(`naive Bayes: token ${t} is outside 0…${V - 1}`);
      counts[r.label * V + t]!++;
      totals[r.label]!++;
    }
  }
  const logPrior = Float64Array.from(docs, (d) => Math.log(d / rows.length));
  const logTheta = new Float64Array(K * V);
  for (let k = 0; k < K; k++) {
    const denom = Math.log(totals[k]! + alpha * V);
    for (let t = 0; t < V; t++) logTheta[k * V + t] = Math.log(counts[k * V + t]! + alpha) - denom;
  }
  return { logPrior, logTheta, K, V };
}

/** The class of each text (argmax of the log posterior; the first class on ties; a class never seen has prior −∞). */
export function predictNaiveBayes(nb: NaiveBayes, texts: readonly (readonly number[])[]): number[] {
  return texts.map((tokens) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let k = 0; k < nb.K; k++) {
      let s = nb.logPrior[k]!;
      for (const t of tokens) s += nb.logTheta[k * nb.V + t]!;
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    return best;
  });
}

/** Share of `rows` naive Bayes fitted on `train` labels correctly. */
export function naiveBayesAccuracy(
  train: readonly { tokens: readonly number[]; label: number }[], test: readonly { tokens: readonly number[]; label: number }[],
  K: number, V: number, alpha = 1,
): number {
  if (test.length === 0) return NaN;
  const predicted = predictNaiveBayes(fitNaiveBayes(train, K, V, alpha), test.map((r) => r.tokens));
  return predicted.filter((p, i) => p === test[i]!.label).length / test.length;
}
