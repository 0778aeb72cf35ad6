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
import type { Arm, EvalRecord, GrokRecord, IterationRecord, SelfImproveRecord } from './records';

/** The iteration records in iteration order. */
export function iterations(records: readonly SelfImproveRecord[]): IterationRecord[] {
  return records.filter((r): r is IterationRecord => r.kind === 'iteration').sort((a, b) => a.iteration - b.iteration);
}

/** The step-wise evaluations (every `evalEvery` steps, and at each iteration's end), in step order. */
export function evaluations(records: readonly SelfImproveRecord[]): EvalRecord[] {
  return records.filter((r): r is EvalRecord => r.kind === 'eval').sort((a, b) => a.step - b.step);
}

/** A residue-table run's evaluations of one arm, in step order. */
export function grokPoints(records: readonly SelfImproveRecord[], arm: Arm): GrokRecord[] {
  return records.filter((r): r is GrokRecord => r.kind === 'grok' && r.arm === arm).sort((a, b) => a.step - b.step);
}

/** How one arm of a residue-table run ended: its verdict and its last evaluation (every pair of each split). */
export interface ArmSummary {
  grokking: GrokResult;
  final: { step: number; train: number; val: number; trainLoss: number; valLoss: number; keyFrequencies: number[] };
  /** Seconds this arm's steps and evaluations took (absent for a resumed run). */
  seconds?: number;
}

export function armSummary(points: readonly GrokRecord[], seconds?: number): ArmSummary | null {
  const last = points.at(-1);
  if (!last) return null;
  return {
    grokking: detectGrokking(points, defaultGrokRule),
    final: { step: last.step, train: last.train, val: last.val, trainLoss: last.trainLoss, valLoss: last.valLoss, keyFrequencies: last.fourier.keyFrequencies },
    ...(seconds === undefined ? {} : { seconds }),
  };
}

export interface SelfImproveSummary {
  seconds: number;
  iterations: { iteration: number; accuracy: Record<SplitName, number> }[];
  /** The grokking monitor's verdict on the step-wise evaluations (core/metrics/grokking, its default rule). */
  grokking: GrokResult;
  /** Residue-table runs: the weight-decay arm (the one `grokking` judges) and the no-weight-decay comparison. */
  decay?: ArmSummary;
  noDecay?: ArmSummary;
}

export function summarize(records: readonly SelfImproveRecord[], seconds: number, armSeconds: Partial<Record<Arm, number>> = {}): SelfImproveSummary {
  const summary: SelfImproveSummary = {
    seconds,
    iterations: iterations(records).map((r) => ({ iteration: r.iteration, accuracy: r.accuracy })),
    grokking: detectGrokking(evaluations(records), defaultGrokRule),
  };
  const decay = armSummary(grokPoints(records, 'decay'), armSeconds.decay);
  const none = armSummary(grokPoints(records, 'none'), armSeconds.none);
  if (decay) Object.assign(summary, { grokking: decay.grokking, decay });
  if (none) summary.noDecay = none;
  return summary;
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);

/** The headless runner's row for an iteration record. */
export function tableRow(r: SelfImproveRecord): Record<string, string | number> | null {
  if (r.kind === 'grok') {
    // A residue-table run: a row every 250 steps per arm (its evaluations come every few steps).
    if (r.step % 250 !== 0) return null;
    return {
      arm: r.arm === 'decay' ? 'weight decay' : 'none', step: r.step, train: pct(r.train), val: pct(r.val),
      'train loss': r.trainLoss.toFixed(4), 'val loss': r.valLoss.toFixed(3), '‖θ‖ decayed': r.decayedNorm.toFixed(2),
      'top-5 share': r.fourier.topShare.toFixed(2), key: r.fourier.keyFrequencies.length <= 6 ? r.fourier.keyFrequencies.join(' ') : `${r.fourier.keyFrequencies.length} freq.`,
      seconds: r.seconds.toFixed(1),
    };
  }
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
