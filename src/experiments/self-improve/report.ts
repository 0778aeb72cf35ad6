/**
 * Reading a self-improvement run: its iterations and step-wise evaluations
 * in order, the summary run() returns, the headless runner's table row and
 * the run history's one-line headline. Pure: the page imports these, so it
 * never re-parses a record.
 */
import * as v from 'valibot';
import { type GrokResult, defaultGrokRule, detectGrokking } from '../../core/metrics/grokking';
import type { SplitName } from '../../core/puzzles';
import { real } from '../schemas';
import type { EvalRecord, IterationRecord, SelfImproveRecord } from './records';

/** The iteration records in iteration order. */
export function iterations(records: readonly SelfImproveRecord[]): IterationRecord[] {
  return records.filter((r): r is IterationRecord => r.kind === 'iteration').sort((a, b) => a.iteration - b.iteration);
}

/** The step-wise evaluations (every `evalEvery` steps, and at each iteration's end), in step order. */
export function evaluations(records: readonly SelfImproveRecord[]): EvalRecord[] {
  return records.filter((r): r is EvalRecord => r.kind === 'eval').sort((a, b) => a.step - b.step);
}

export interface SelfImproveSummary {
  seconds: number;
  iterations: { iteration: number; accuracy: Record<SplitName, number> }[];
  /** The grokking monitor's verdict on the step-wise evaluations (core/metrics/grokking, its default rule). */
  grokking: GrokResult;
}

export function summarize(records: readonly SelfImproveRecord[], seconds: number): SelfImproveSummary {
  return {
    seconds,
    iterations: iterations(records).map((r) => ({ iteration: r.iteration, accuracy: r.accuracy })),
    grokking: detectGrokking(evaluations(records), defaultGrokRule),
  };
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);

/** The headless runner's row for an iteration record. */
export function tableRow(r: SelfImproveRecord): Record<string, string | number> | null {
  if (r.kind !== 'iteration') return null;
  return {
    iter: r.iteration, step: r.step, train: pct(r.accuracy.train), val: pct(r.accuracy.val), test: pct(r.accuracy.test),
    'val pass@k': r.passAtK ? pct(r.passAtK.val) : '—', kept: r.kept, 'kept total': r.keptTotal,
    loss: r.trainLoss === null ? '—' : r.trainLoss.toFixed(4), seconds: r.seconds.toFixed(1),
  };
}

const accuracyOnly = v.object({
  iterations: v.array(v.object({ iteration: v.number(), accuracy: v.object({ val: real, test: real }) })),
});

/** The last iteration's validation and test accuracy from a stored summary, or null when it has none. */
export function finalAccuracy(summary: unknown): { iteration: number; val: number; test: number } | null {
  const s = v.safeParse(accuracyOnly, summary);
  const last = s.success ? s.output.iterations.at(-1) : undefined;
  return last ? { iteration: last.iteration, ...last.accuracy } : null;
}
