/**
 * Reading a programs run: its iterations in order, the summary run()
 * returns, the headless runner's table row, the run history's headline,
 * and the series and tallies the page draws. Pure: the page imports these,
 * so it never re-parses or re-aggregates a record.
 */
import * as v from 'valibot';
import { SPLIT_NAMES, type SplitName } from '../../core/puzzles';
import type { LinkState } from '../config';
import { fieldToString } from '../fields';
import { real } from '../schemas';
import type { AttemptRow as SelfImproveRow } from '../self-improve/records';
import type { ProgramsConfig } from './config';
import { type AttemptRow, type IterationRecord, type ProgramsPosition, type ProgramsRecord, VERDICTS, type Verdict, type WarmStartRecord } from './records';

export { VERDICTS };

/** The iteration records in iteration order. */
export function iterations(records: readonly ProgramsRecord[]): IterationRecord[] {
  return records.filter((r): r is IterationRecord => r.kind === 'iteration').sort((a, b) => a.iteration - b.iteration);
}

/** The GPT coder's warm start, or null (the pretrained coder has none). */
export function warmStartOf(records: readonly ProgramsRecord[]): WarmStartRecord | null {
  return records.find((r): r is WarmStartRecord => r.kind === 'warm-start') ?? null;
}

export function describePosition(at: ProgramsPosition): string {
  return at.iteration === 0 ? 'iteration 0 (before any feedback)' : `iteration ${at.iteration}`;
}

/** The per-split numbers a summary keeps for each iteration. */
type PerSplit = Record<SplitName, number>;

export interface ProgramsSummary {
  seconds: number;
  /** The coder in words, as the last iteration named it (null when no iteration ran). */
  coder: string | null;
  iterations: {
    iteration: number;
    passAt1: PerSplit;
    passAtK: PerSplit;
    generalAt1: PerSplit;
    generalShare: PerSplit;
    keptTotal: number;
  }[];
}

const perSplit = (r: IterationRecord, metric: 'passAt1' | 'passAtK' | 'generalAt1' | 'generalShare'): PerSplit =>
  Object.fromEntries(SPLIT_NAMES.map((s) => [s, r.scores[s][metric]])) as PerSplit;

export function summarize(records: readonly ProgramsRecord[], seconds: number): ProgramsSummary {
  const its = iterations(records);
  return {
    seconds,
    coder: its.at(-1)?.coder ?? null,
    iterations: its.map((r) => ({
      iteration: r.iteration, passAt1: perSplit(r, 'passAt1'), passAtK: perSplit(r, 'passAtK'),
      generalAt1: perSplit(r, 'generalAt1'), generalShare: perSplit(r, 'generalShare'), keptTotal: r.keptTotal,
    })),
  };
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);

/** The headless runner's row for an iteration record. */
export function tableRow(r: ProgramsRecord): Record<string, string | number> | null {
  if (r.kind !== 'iteration') return null;
  const { train, val, test } = r.scores;
  return {
    iter: r.iteration, 'train pass@1': pct(train.passAt1), 'val pass@1': pct(val.passAt1), 'test pass@1': pct(test.passAt1),
    'val pass@k': pct(val.passAtK), 'val general@1': pct(val.generalAt1), 'generalise': pct(val.generalShare),
    errors: SPLIT_NAMES.reduce((s, x) => s + r.scores[x].verdicts.error, 0), kept: r.keptTotal,
    loss: r.trainLoss === null ? '—' : r.trainLoss.toFixed(3), seconds: r.seconds.toFixed(1),
  };
}

const headline = v.object({
  iterations: v.array(v.object({ iteration: v.number(), passAt1: v.object({ val: real, test: real }), generalAt1: v.object({ val: real, test: real }) })),
});

/** The last iteration's validation and test pass@1 (visible and generalising) from a stored summary, or null. */
export function finalScores(summary: unknown): { iteration: number; val: number; test: number; generalVal: number; generalTest: number } | null {
  const s = v.safeParse(headline, summary);
  const last = s.success ? s.output.iterations.at(-1) : undefined;
  return last ? { iteration: last.iteration, ...last.passAt1, generalVal: last.generalAt1.val, generalTest: last.generalAt1.test } : null;
}

/** One metric of one split per iteration, NaN as null (a gap in a chart, never 0). */
export function splitSeries(its: readonly IterationRecord[], split: SplitName, metric: 'passAt1' | 'passAtK' | 'generalAt1' | 'generalAtK' | 'generalShare' | 'hiddenShare'): (number | null)[] {
  return its.map((r) => {
    const x = r.scores[split][metric];
    return Number.isNaN(x) ? null : x;
  });
}

/** Programs of every split by verdict on the visible puzzle, per iteration: verdict → counts in iteration order. */
export function verdictSeries(its: readonly IterationRecord[]): Record<Verdict, number[]> {
  return Object.fromEntries(VERDICTS.map((x) => [x, its.map((r) => SPLIT_NAMES.reduce((s, split) => s + r.scores[split].verdicts[x], 0))])) as Record<Verdict, number[]>;
}

/** A grouped pass@1 table (by family or difficulty) of one split: the groups, and one row of values (null: not in that iteration) per group. */
export function groupTable(
  its: readonly IterationRecord[], split: SplitName, table: 'passByFamily' | 'generalByFamily' | 'passByDifficulty' | 'generalByDifficulty',
): { groups: string[]; values: (number | null)[][] } {
  const groups = [...new Set(its.flatMap((r) => Object.keys(r[table][split])))].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
  return { groups, values: groups.map((g) => its.map((r) => r[table][split][g] ?? null)) };
}

/** An attempt browser's problems, filtered: all, those with a passing program, or those without. */
export function filterRows(rows: readonly AttemptRow[], filter: 'all' | 'passed' | 'generalised' | 'failed'): AttemptRow[] {
  switch (filter) {
    case 'all':
      return [...rows];
    case 'passed':
      return rows.filter((r) => r.attempts.some((a) => a.verdict === 'passed'));
    case 'generalised':
      return rows.filter((r) => r.attempts.some((a) => a.generalises));
    case 'failed':
      return rows.filter((r) => r.attempts.every((a) => a.verdict !== 'passed'));
    default:
      return filter satisfies never;
  }
}

/** What a verdict means, for the page and its legend. */
export const VERDICT_WORDS: Record<Verdict, string> = {
  passed: 'returned the right answer',
  wrong: 'returned a wrong answer',
  type: 'returned a value of the wrong type',
  error: 'did not run: a syntax error, an exception, or no solve',
  timeout: 'ran past its time limit',
  memory: 'ran out of memory or stack',
  output: 'returned or printed too much',
};

/**
 * A link to the self-improvement lab (the direct-answer mode: the model
 * writes the answer itself) on this run's puzzles: its write-up-replica
 * preset with this run's seed and puzzle settings, which draw the same
 * puzzles (streams.ts). Its seed set is cut to the train problems when
 * there are fewer than the preset's 10.
 */
export function directAnswerLink(c: Pick<ProgramsConfig, 'families' | 'minDifficulty' | 'maxDifficulty' | 'trainSize' | 'valSize' | 'testSize'>, seed: number): LinkState {
  const overrides: Record<string, string> = {};
  for (const key of ['families', 'minDifficulty', 'maxDifficulty', 'trainSize', 'valSize', 'testSize'] as const) overrides[key] = fieldToString(c[key]);
  if (c.trainSize < 10) overrides.seedSetSize = String(c.trainSize);
  return { experiment: 'self-improve', preset: 'write-up-replica', seed, overrides };
}

/** A direct answer of the self-improvement lab to one puzzle: what the model wrote and whether it was right. */
export interface DirectAnswer {
  text: string;
  correct: boolean;
}

/** A stored run as far as directAnswers reads it (the page's ActiveRun is one). */
interface StoredRun {
  experiment: string;
  samples: readonly { at: Record<string, unknown>; rows: readonly unknown[] }[];
}

/**
 * The direct-answer mode beside the program mode: a self-improvement run's
 * answers (its attempt browser's rows) by puzzle prompt, at `iteration` if
 * it stored that iteration, else at its last. The two labs draw the same
 * puzzles from the same seed and puzzle settings (streams.ts), so a prompt
 * names one puzzle in both. That lab stores its sampled answers to the
 * train problems only. Null for a run of another lab or with no rows.
 */
export function directAnswers(run: StoredRun, iteration: number): { iteration: number; byPrompt: Map<string, DirectAnswer[]> } | null {
  if (run.experiment !== 'self-improve') return null;
  // Sound: a self-improvement run's rows were checked against its attempt-row schema when they were stored or emitted.
  const sets = run.samples.map((s) => ({ iteration: Number(s.at.iteration), rows: s.rows as readonly SelfImproveRow[] }));
  const stored = [...new Set(sets.map((s) => s.iteration))].sort((a, b) => a - b);
  const at = stored.includes(iteration) ? iteration : stored.at(-1);
  if (at === undefined) return null;
  const byPrompt = new Map<string, DirectAnswer[]>();
  for (const s of sets) {
    if (s.iteration !== at) continue;
    for (const r of s.rows) byPrompt.set(r.prompt, r.attempts.map((a) => ({ text: a.text, correct: a.correct })));
  }
  return { iteration: at, byPrompt };
}
