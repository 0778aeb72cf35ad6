/**
 * Lining chart series up on one x axis (LineChart takes one x array and
 * values aligned with it): runs, modes or methods that reached different
 * iterations, generations or steps.
 */

/** The sorted union of several x arrays. */
export function unionX(...lists: readonly (readonly number[])[]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** `ys` (given at `xs`) read at each of `at`; null where it has no value. */
export function valuesAt(at: readonly number[], xs: readonly number[], ys: readonly (number | null)[]): (number | null)[] {
  const m = new Map(xs.map((x, i) => [x, ys[i] ?? null]));
  return at.map((x) => m.get(x) ?? null);
}
