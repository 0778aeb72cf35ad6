/**
 * Hard examples: how hard each example is for the Student, from its
 * posteriors p(k | text) over the K labels, and the K hardest. The
 * selectors and why they differ are in docs/symbiosis.md ("Hard examples").
 */

export const HARD_SELECTORS = ['loss', 'entropy', 'margin'] as const;
export type HardSelector = (typeof HARD_SELECTORS)[number];

/** The index of the largest of p (the first on ties). */
export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
  return best;
}

/** The share of each of the K labels (K fractions); null for no labels. */
export function labelShares(labels: readonly number[], K: number): number[] | null {
  if (labels.length === 0) return null;
  const counts = new Array<number>(K).fill(0);
  for (const y of labels) counts[y]!++;
  return counts.map((c) => c / labels.length);
}

/**
 * Hardness of each example from the Student's posteriors (n rows of K
 * probabilities); higher is harder. y = labels[i], or the argmax when
 * `labels` is null (unlabelled text: the Student's own label).
 *   loss     −log p(y)
 *   entropy  −Σ_k p(k) log p(k)            (label-free)
 *   margin   −(p(y) − max_{j≠y} p(j))     (a small or negative margin is hard)
 */
export function hardnessScores(
  posteriors: readonly ArrayLike<number>[], labels: readonly number[] | null, selector: HardSelector,
): Float64Array {
  return Float64Array.from(posteriors, (p, i) => {
    const y = labels ? labels[i]! : argmax(p);
    switch (selector) {
      case 'loss':
        return -Math.log(Math.max(p[y]!, 1e-300));
      case 'entropy': {
        let h = 0;
        for (let k = 0; k < p.length; k++) if (p[k]! > 0) h -= p[k]! * Math.log(p[k]!);
        return h;
      }
      case 'margin': {
        let other = -Infinity;
        for (let k = 0; k < p.length; k++) if (k !== y) other = Math.max(other, p[k]!);
        return -(p[y]! - other);
      }
      default:
        return selector satisfies never;
    }
  });
}

/** Indices of the k highest scores (hardnessScores), hardest first (ties: lower index first). */
export function hardest(scores: ArrayLike<number>, k: number): number[] {
  return [...Array(scores.length).keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
}

/** Indices of the k hardest examples by `selector`, hardest first. */
export function selectHard(
  posteriors: readonly ArrayLike<number>[], labels: readonly number[] | null, selector: HardSelector, k: number,
): number[] {
  return hardest(hardnessScores(posteriors, labels, selector), k);
}

/**
 * Indices of k hard examples as a per-class quota (Symbiosis-balanced): class
 * c of the K classes gets ⌊k/K⌋ or one more (the extra ones to the classes
 * whose hardest example is hardest), filled with that class's hardest
 * examples; a class with fewer examples than its quota gives the rest to the
 * hardest examples left in any class. `labels[i]` is example i's class (the
 * true label, or the Student's own on unlabelled text). Hardest first (ties:
 * lower index first).
 */
export function hardestPerClass(scores: ArrayLike<number>, labels: readonly number[], K: number, k: number): number[] {
  const order = hardest(scores, scores.length);
  const byClass: number[][] = Array.from({ length: K }, () => []);
  for (const i of order) byClass[labels[i]!]!.push(i);
  // Classes by their hardest example (classes with none last, in class order).
  const classes = [...byClass.keys()].sort((a, b) => {
    const [x, y] = [byClass[a]![0], byClass[b]![0]];
    if (x === undefined || y === undefined) return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0) || a - b;
    return scores[y]! - scores[x]! || x - y;
  });
  const want = Math.min(k, scores.length);
  const quota = new Array<number>(K).fill(Math.floor(want / K));
  classes.slice(0, want % K).forEach((c) => quota[c]!++);
  const picked = new Set<number>();
  for (let c = 0; c < K; c++) for (const i of byClass[c]!.slice(0, quota[c])) picked.add(i);
  for (const i of order) {
    if (picked.size >= want) break;
    picked.add(i);
  }
  return order.filter((i) => picked.has(i));
}
