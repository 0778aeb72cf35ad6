/**
 * The self-improve run's metric stream, read for plotting. Records come from
 * IndexedDB (NaN kept) or from an imported run.jsonl (NaN written as null),
 * and an imported file may be from another version: every number is read
 * defensively, and one that was not computed becomes null — drawn as a gap
 * and printed as "—", never as 0.
 */
import { type FamilyName, FAMILY_NAMES, SPLIT_NAMES, type SplitName } from '../../../core/puzzles';
import type { AttemptRow } from '../../../experiments/self-improve';
import type { MetricRecord } from '../../../experiments/types';
import { valueOrNull } from '../../format';

export type PerSplit = Record<SplitName, number | null>;

/** One iteration's record, as numbers or null. */
export interface IterationPoint {
  iteration: number;
  /** Optimizer steps so far, warm start included. */
  step: number | null;
  accuracy: PerSplit;
  /** null when the run did not compute pass@k (passSamples 0). */
  passAtK: PerSplit | null;
  passAt1: PerSplit | null;
  /** Greedy accuracy per split and difficulty ("3" → 0.5); a difficulty absent from the split is missing. */
  byDifficulty: Record<SplitName, Record<string, number | null>>;
  attempted: number | null;
  correctAttempts: number | null;
  kept: number | null;
  keptTotal: number | null;
  rationalized: number | null;
  trainLoss: number | null;
  weightNorm: number | null;
}

/** A train/val evaluation at an optimizer step (the grokking view). */
export interface StepPoint {
  step: number;
  train: number | null;
  val: number | null;
  weightNorm: number | null;
}

function objectOf(x: unknown): Record<string, unknown> | null {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

function perSplit(x: unknown): PerSplit | null {
  const o = objectOf(x);
  if (!o) return null;
  return { train: valueOrNull(o.train), val: valueOrNull(o.val), test: valueOrNull(o.test) };
}

function tableOf(x: unknown): Record<string, number | null> {
  const o = objectOf(x) ?? {};
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, valueOrNull(v)]));
}

/** The iteration records, one per iteration (the last wins), in iteration order. */
export function iterationPoints(records: readonly MetricRecord[]): IterationPoint[] {
  const byIteration = new Map<number, IterationPoint>();
  for (const r of records) {
    if (r.kind !== 'iteration' || typeof r.iteration !== 'number') continue;
    const byDiff = objectOf(r.byDifficulty) ?? {};
    byIteration.set(r.iteration, {
      iteration: r.iteration,
      step: valueOrNull(r.step),
      accuracy: perSplit(r.accuracy) ?? { train: null, val: null, test: null },
      passAtK: perSplit(r.passAtK),
      passAt1: perSplit(r.passAt1),
      byDifficulty: Object.fromEntries(SPLIT_NAMES.map((s) => [s, tableOf(byDiff[s])])) as IterationPoint['byDifficulty'],
      attempted: valueOrNull(r.attempted),
      correctAttempts: valueOrNull(r.correctAttempts),
      kept: valueOrNull(r.kept),
      keptTotal: valueOrNull(r.keptTotal),
      rationalized: valueOrNull(r.rationalized),
      trainLoss: valueOrNull(r.trainLoss),
      weightNorm: valueOrNull(r.weightNorm),
    });
  }
  return [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
}

/** The step-wise evaluations ('eval' records, made every `evalEvery` steps), in step order. */
export function evalPoints(records: readonly MetricRecord[]): StepPoint[] {
  const bySteps = new Map<number, StepPoint>();
  for (const r of records) {
    if (r.kind !== 'eval' || typeof r.step !== 'number') continue;
    bySteps.set(r.step, { step: r.step, train: valueOrNull(r.train), val: valueOrNull(r.val), weightNorm: valueOrNull(r.weightNorm) });
  }
  return [...bySteps.values()].sort((a, b) => a.step - b.step);
}

/** The final accuracies from a run's summary (`iterations[last].accuracy`), or null. */
export function finalAccuracy(summary: unknown): { iteration: number; accuracy: PerSplit } | null {
  const iterations = objectOf(summary)?.iterations;
  if (!Array.isArray(iterations) || iterations.length === 0) return null;
  const last = objectOf(iterations[iterations.length - 1]);
  const accuracy = perSplit(last?.accuracy);
  return last && accuracy && typeof last.iteration === 'number' ? { iteration: last.iteration, accuracy } : null;
}

function isFamily(x: unknown): x is FamilyName {
  return typeof x === 'string' && (FAMILY_NAMES as readonly string[]).includes(x);
}

/** The rows of a samples event that have the AttemptRow shape (an imported file may hold anything). */
export function attemptRows(rows: readonly unknown[]): AttemptRow[] {
  const out: AttemptRow[] = [];
  for (const row of rows) {
    const o = objectOf(row);
    if (!o || !isFamily(o.family) || typeof o.prompt !== 'string' || typeof o.answer !== 'string' || !Array.isArray(o.attempts)) continue;
    out.push({
      split: o.split === 'val' || o.split === 'test' ? o.split : 'train',
      family: o.family,
      difficulty: typeof o.difficulty === 'number' ? o.difficulty : NaN,
      prompt: o.prompt,
      answer: o.answer,
      attempts: o.attempts.map((a) => {
        const x = objectOf(a) ?? {};
        return { text: String(x.text ?? ''), correct: x.correct === true, reason: typeof x.reason === 'string' ? x.reason : null };
      }),
    });
  }
  return out;
}
