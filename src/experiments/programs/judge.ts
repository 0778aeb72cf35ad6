/**
 * Judging programs: each runs in the sandbox (through the host's
 * RunContext.runProgram) on its visible puzzle and on the puzzle's hidden
 * inputs (core/puzzles verifyProgram), and a split's programs are scored:
 * pass@1 and pass@k on the visible puzzle and generalising, the share of
 * passing programs that generalise, verdict counts, and pass@1 by family
 * and difficulty. The attempt browser's rows are built here too.
 */
import { meanPassAtK } from '../../core/metrics/pass-at-k';
import { type Json, type ProgramRun, type ProgramVerdict, type Puzzle, type RunVerdict, programInput, verifyProgram } from '../../core/puzzles';
import type { Attempt, SplitScores, Verdict } from './records';

/** Runs one program on one input (the host's sandbox with the run's limits). */
export type Runner = (source: string, input: Json) => Promise<ProgramRun>;

/** A problem's n programs and their verdicts, in order. */
export interface JudgedProblem {
  puzzle: Puzzle;
  programs: string[];
  verdicts: ProgramVerdict[];
}

/** Characters kept of a program, and of an output or printed text, in the attempt browser. */
const PROGRAM_CHARS = 4000;
const OUTPUT_CHARS = 500;

/** Judge each of `programs` on `puzzle` and its hidden inputs; a program written twice is run once. */
export async function judge(puzzle: Puzzle, hidden: readonly Puzzle[], programs: readonly string[], run: Runner): Promise<JudgedProblem> {
  const seen = new Map<string, ProgramVerdict>();
  const verdicts: ProgramVerdict[] = [];
  for (const source of programs) {
    let verdict = seen.get(source);
    if (!verdict) {
      verdict = await verifyProgram(puzzle, hidden, source, run);
      seen.set(source, verdict);
    }
    verdicts.push(verdict);
  }
  return { puzzle, programs: [...programs], verdicts };
}

/** A run's verdict as one word: passed, or why not. */
export function verdictOf(v: RunVerdict): Verdict {
  return v.passed ? 'passed' : v.reason;
}

/** Milliseconds the sandbox spent on a problem's programs (each distinct program counted once). */
export function sandboxMs(p: JudgedProblem): number {
  return [...new Set(p.verdicts)].reduce((s, v) => s + v.visible.run.ms + v.hidden.reduce((h, r) => h + r.run.ms, 0), 0);
}

const fraction = (num: number, den: number) => (den === 0 ? NaN : num / den);

/** The scores of one split's problems, with k of pass@k. */
export function scoreSplit(problems: readonly JudgedProblem[], k: number): SplitScores {
  const verdicts = Object.fromEntries((['passed', 'wrong', 'type', 'error', 'timeout', 'memory', 'output'] as const).map((x) => [x, 0])) as Record<Verdict, number>;
  const all = problems.flatMap((p) => p.verdicts);
  for (const v of all) verdicts[verdictOf(v.visible.verdict)]++;
  const n = (p: JudgedProblem) => p.verdicts.length;
  const visible = problems.map((p) => ({ n: n(p), c: p.verdicts.filter((v) => v.passesVisible).length }));
  const general = problems.map((p) => ({ n: n(p), c: p.verdicts.filter((v) => v.passesVisible && v.generalises).length }));
  const passing = all.filter((v) => v.passesVisible);
  return {
    problems: problems.length,
    programs: all.length,
    passAt1: meanPassAtK(visible, 1),
    passAtK: meanPassAtK(visible, k),
    generalAt1: meanPassAtK(general, 1),
    generalAtK: meanPassAtK(general, k),
    generalShare: fraction(passing.filter((v) => v.generalises).length, passing.length),
    hiddenShare: fraction(all.reduce((s, v) => s + v.hiddenShare, 0), all.length),
    verdicts,
  };
}

/** pass@1 per group of problems (by family, by difficulty): on the visible puzzle, or generalising. */
export function passByGroup(problems: readonly JudgedProblem[], group: (p: Puzzle) => string, generalising: boolean): Record<string, number> {
  const groups = new Map<string, { n: number; c: number }[]>();
  for (const p of problems) {
    const c = p.verdicts.filter((v) => v.passesVisible && (!generalising || v.generalises)).length;
    const list = groups.get(group(p.puzzle)) ?? [];
    list.push({ n: p.verdicts.length, c });
    groups.set(group(p.puzzle), list);
  }
  return Object.fromEntries([...groups].map(([g, counts]) => [g, meanPassAtK(counts, 1)]));
}

const cut = (text: string, chars: number) => (text.length > chars ? `${text.slice(0, chars)}… (${text.length} characters)` : text);

/** What a run gave back, as text: the returned value's JSON, or the sandbox's message. */
function outputOf(run: ProgramRun): string {
  if (run.outcome !== 'value') return run.message ?? run.outcome;
  return run.value === undefined ? 'undefined' : JSON.stringify(run.value);
}

/** One program's row in the attempt browser. */
export function attemptOf(program: string, v: ProgramVerdict): Attempt {
  const { run, verdict } = v.visible;
  const failed = v.hidden.find((h) => !h.verdict.passed);
  return {
    program: cut(program, PROGRAM_CHARS),
    outcome: run.outcome,
    output: cut(outputOf(run), OUTPUT_CHARS),
    printed: cut(run.printed, OUTPUT_CHARS),
    verdict: verdictOf(verdict),
    message: verdict.passed ? null : (verdict.message ?? verdict.reason),
    hiddenPassed: v.hidden.filter((h) => h.verdict.passed).length,
    hidden: v.hidden.length,
    generalises: v.passesVisible && v.generalises,
    hiddenFailure: failed ? { input: programInput(failed.puzzle), expected: failed.puzzle.answer, got: cut(outputOf(failed.run), OUTPUT_CHARS) } : null,
  };
}
