/**
 * Precomputed runs: finished runs of each lab's classroom preset, made by
 * `npm run precompute` (bin/precompute.ts) with the headless runner and
 * shipped as data in `public/runs/`, so the landing page and each lab page
 * show a real result before the visitor trains anything.
 *
 *   public/runs/index.json     PrecomputedIndex: per run its file, the preset, seed, config and
 *                              data that reproduce it, its size and how its samples were trimmed
 *   public/runs/<lab>.jsonl    the run in the run.jsonl format (run-file.ts), sample rows trimmed
 *
 * Pure (no DOM, no Node): the script writes with it, the page reads with it.
 */
import * as v from 'valibot';
import { count } from './schemas';
import type { RunFileContent } from './run-file';

export const PRECOMPUTED_FORMAT = 'symbiosis-lab/precomputed';
/** Bumped when the index's layout changes incompatibly. */
export const PRECOMPUTED_VERSION = 1;

/** One precomputed run as the index lists it. */
const runEntry = v.strictObject({
  /** The experiment's name, e.g. 'collapse'; its page is #/lab/<experiment>. */
  experiment: v.pipe(v.string(), v.minLength(1)),
  /** The run file, relative to the index (e.g. 'collapse.jsonl'). */
  file: v.pipe(v.string(), v.regex(/^[a-z0-9-]+\.jsonl$/, 'must be a file name like collapse.jsonl')),
  /** A stable id for the run (from the file's SHA-256), so the page can tell it from the visitor's runs. */
  id: v.pipe(v.string(), v.minLength(1)),
  preset: v.nullable(v.string()),
  seed: count,
  /** Settings changed from the preset, as `--set key=value` strings ({} for the preset as it is). */
  overrides: v.record(v.string(), v.string()),
  /** The whole resolved config the run used (also in the file's first line). */
  config: v.record(v.string(), v.unknown()),
  /** The labelled-dataset folder given with --data (symbiosis), as named in the command; null for none. */
  data: v.nullable(v.string()),
  /** The command that reproduces the run (before trimming). */
  command: v.string(),
  /** Size of the shipped file in bytes. */
  bytes: count,
  /** Sample rows kept in the file and in the run as it was written. */
  samples: v.strictObject({ kept: count, of: count }),
  /** Seconds the run took on the machine that made it (CPU backend, Node). */
  seconds: v.number(),
  /** Where it ran: {backend, runtime, platform}. */
  environment: v.record(v.string(), v.string()),
});

export const precomputedIndex = v.strictObject({
  format: v.literal(PRECOMPUTED_FORMAT),
  version: v.literal(PRECOMPUTED_VERSION),
  runs: v.array(runEntry),
});

export type PrecomputedIndex = v.InferOutput<typeof precomputedIndex>;
export type PrecomputedEntry = v.InferOutput<typeof runEntry>;

/** `n` indices spread evenly over 0…total-1 (all of them when n ≥ total). */
export function evenlySpaced(total: number, n: number): number[] {
  if (n >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
}

/**
 * The run with at most `budget` bytes of sample rows (as JSON): the same
 * number of rows k from every sample set, the largest k that fits (at least
 * one), spread evenly over each set so every split, mode or method keeps
 * some. Metrics, the header and the datasets are kept whole.
 */
export function trimSamples(content: RunFileContent, budget: number): { content: RunFileContent; kept: number; of: number } {
  const sizes = content.samples.map((s) => s.rows.map((row) => JSON.stringify(row).length + 1));
  const of = sizes.reduce((n, set) => n + set.length, 0);
  const bytesAt = (k: number) => sizes.reduce((total, set) => total + evenlySpaced(set.length, k).reduce((n, i) => n + set[i]!, 0), 0);
  const most = Math.max(0, ...sizes.map((set) => set.length));
  let k = Math.min(1, most);
  while (k < most && bytesAt(k + 1) <= budget) k++;
  const samples = content.samples.map((s) => ({ at: s.at, rows: evenlySpaced(s.rows.length, k).map((i) => s.rows[i]) }));
  return { content: { ...content, samples }, kept: samples.reduce((n, s) => n + s.rows.length, 0), of };
}
