/**
 * Program puzzles: every family in a "write `solve(input)`" form, and the
 * verifier that runs such a program on the visible puzzle and on hidden
 * puzzles of the same family and difficulty, so that a program that
 * computes is told apart from one that returns a memorised answer
 * (docs/puzzles.md, "Program form"; docs/sandbox.md for how programs run).
 *
 * Everything here is pure: running a program is the caller's `ProgramRunner`
 * (src/sandbox runs it in QuickJS inside a worker); this module only words
 * the prompt, draws the hidden inputs, converts a returned value to an
 * answer text and scores the runs.
 */
import { type Key, foldIn } from '../rng';
import { generatePuzzle } from './families';
import { canonicalForm } from './splits';
import type { AnswerKind, FamilyName, Puzzle } from './types';
import { normalizeAnswer } from './verify';

/** JSON values: what crosses into and out of a sandboxed program. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * How one run of a program ended (the sandbox's answer, restated here so
 * that core does not depend on the sandbox):
 *   value    it returned; `value` is the JSON of what it returned (absent for undefined)
 *   error    a syntax error, an uncaught exception, no `solve`, or a value that is not JSON
 *   timeout  it ran past its deadline (interrupted, or its worker terminated)
 *   memory   it ran out of memory or stack
 *   output   its return value or its printed text was over the size cap
 */
export type ProgramOutcome = 'value' | 'error' | 'timeout' | 'memory' | 'output';
export const PROGRAM_OUTCOMES: readonly ProgramOutcome[] = ['value', 'error', 'timeout', 'memory', 'output'];

export interface ProgramRun {
  outcome: ProgramOutcome;
  value?: Json;
  /** Why it failed (outcome ≠ value), e.g. "ReferenceError: 'fetch' is not defined". */
  message?: string;
  /** What console.log printed, one line per call, capped. */
  printed: string;
  /** Wall-clock milliseconds of the run. */
  ms: number;
}

/** Runs `source` (which defines `solve`) on one input. src/sandbox provides one; tests may pass their own. */
export type ProgramRunner = (source: string, input: Json) => Promise<ProgramRun>;

/** What `input` is for each family, and what `solve` must return; shown in the prompt and in docs/puzzles.md. */
export const PROGRAM_CONTRACTS: Record<FamilyName, { input: string; returns: string; example: { input: string; answer: Json } }> = {
  arithmetic: {
    input: 'a string holding an integer expression: non-negative integers, the operators + - * and parentheses, no spaces, '
      + 'with the usual precedence (* before + and -, equal operators left to right)',
    returns: 'the value of the expression as an integer number',
    example: { input: '2+3*4', answer: 14 },
  },
  rpn: {
    input: 'a string holding an expression in reverse Polish notation: non-negative integers and the operators + - *, '
      + 'separated by single spaces; an operator applies to the two values before it ("7 2 -" means 7-2)',
    returns: 'the value of the expression as an integer number',
    example: { input: '3 4 + 2 *', answer: 14 },
  },
  brackets: {
    input: 'a string of the brackets ( ) [ ] { } and nothing else',
    returns: 'true if every bracket is closed by one of the same kind in the right order (the string is balanced), else false, as a boolean',
    example: { input: '({[]})', answer: true },
  },
  modular: {
    input: 'a string "a+b%p", "a-b%p" or "a*b%p" with non-negative integers a, b and p, meaning (a op b) mod p',
    returns: 'that residue as an integer number in [0, p) (so "3-5%7" gives 5, not -2)',
    example: { input: '12+45%97', answer: 57 },
  },
  reverse: {
    input: 'a string of decimal digits',
    returns: 'the same digits in reverse order, as a string (keep every zero: "0310" gives "0130")',
    example: { input: '314', answer: '413' },
  },
  sort: {
    input: 'a string of decimal digits',
    returns: 'the same digits sorted ascending, as a string (keep every zero: "3010" gives "0013")',
    example: { input: '314', answer: '134' },
  },
};

/** The input `solve` receives for a puzzle: its prompt without the question mark, "=" and command word. */
export function programInput(p: Pick<Puzzle, 'family' | 'prompt'>): string {
  switch (p.family) {
    case 'arithmetic':
    case 'rpn':
    case 'modular':
      return p.prompt.replace(/=$/, '');
    case 'brackets':
      return p.prompt.replace(/\?$/, '');
    case 'reverse':
      return p.prompt.replace(/^rev /, '').replace(/=$/, '');
    case 'sort':
      return p.prompt.replace(/^sort /, '').replace(/=$/, '');
    default:
      return p.family satisfies never;
  }
}

/** The instructions a model gets to write a program for one puzzle (plain text, English). */
export function programPrompt(p: Pick<Puzzle, 'family' | 'prompt'>): string {
  const c = PROGRAM_CONTRACTS[p.family];
  return [
    'Write a JavaScript function `solve(input)` that returns the answer for any input of this kind.',
    `\`input\` is ${c.input}.`,
    `Return ${c.returns}.`,
    `Example: solve(${JSON.stringify(c.example.input)}) returns ${JSON.stringify(c.example.answer)}.`,
    `It will be run on solve(${JSON.stringify(programInput(p))}) and on other inputs of the same kind that you do not see.`,
    'Plain JavaScript only: no imports, no network, no files, no DOM; console.log output is shown to you. '
      + 'Reply with the code alone.',
  ].join('\n');
}

/**
 * The program in a model's reply: the first fenced code block if there is
 * one (```js … ```), else the whole text; a leading `export ` before a
 * declaration is dropped, since the program runs as a script.
 */
export function extractProgram(reply: string): string {
  const fenced = /```[A-Za-z]*[ \t]*\r?\n([\s\S]*?)```/.exec(reply);
  const code = fenced ? fenced[1]! : reply;
  return code.replace(/^([ \t]*)export\s+(default\s+)?(?=(async\s+)?function\b|const\b|let\b|var\b)/gm, '$1').trim();
}

/**
 * The canonical answer text of a value `solve` returned, or null when it has
 * the wrong type: integers as numbers (an integer-valued number) or as digit
 * strings (for answers beyond 2^53 a program may compute with BigInt and
 * return a string), booleans as booleans or "true"/"false", digit sequences
 * as strings only (a number would drop leading zeros).
 */
export function programAnswerText(value: Json | undefined, kind: AnswerKind): string | null {
  switch (kind) {
    case 'integer':
      if (typeof value === 'number') return Number.isInteger(value) ? normalizeAnswer(String(value), kind) : null;
      return typeof value === 'string' ? normalizeAnswer(value, kind) : null;
    case 'boolean':
      if (typeof value === 'boolean') return String(value);
      return typeof value === 'string' ? normalizeAnswer(value, kind) : null;
    case 'digits':
      return typeof value === 'string' ? normalizeAnswer(value, kind) : null;
    default:
      return kind satisfies never;
  }
}

/** The verdict on one run: passed, or why not (a run that did not return, the wrong type, the wrong answer). */
export type RunVerdict =
  | { passed: true }
  | { passed: false; reason: Exclude<ProgramOutcome, 'value'> | 'type' | 'wrong'; message?: string };

/** Judge one run of a program against one puzzle's answer. */
export function judgeRun(puzzle: Pick<Puzzle, 'answer' | 'answerKind'>, run: ProgramRun): RunVerdict {
  if (run.outcome !== 'value') return { passed: false, reason: run.outcome, ...(run.message !== undefined ? { message: run.message } : {}) };
  const text = programAnswerText(run.value, puzzle.answerKind);
  if (text === null) {
    const shown = run.value === undefined ? 'undefined' : JSON.stringify(run.value).slice(0, 80);
    return { passed: false, reason: 'type', message: `expected ${puzzle.answerKind === 'digits' ? 'a digit string' : `a${puzzle.answerKind === 'integer' ? 'n integer' : ' boolean'}`}, got ${shown}` };
  }
  return text === puzzle.answer ? { passed: true } : { passed: false, reason: 'wrong', message: `returned ${text}, expected ${puzzle.answer}` };
}

/**
 * `count` hidden puzzles for a visible one: same family and difficulty,
 * drawn from `key` (the seeded rng), all distinct and none equal to the
 * visible one, chosen so that no constant passes them all. Boolean
 * families alternate the two answers, starting with the one the visible
 * puzzle does not have (as many of each, ±1, where the level has enough
 * puzzles); other families take the first draws, with the last swapped
 * when needed so that at least one answer differs from the visible one and
 * not all are equal. Throws, naming `count`, when the level has too few
 * puzzles for that.
 */
export function hiddenPuzzles(visible: Puzzle, key: Key, count: number): Puzzle[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`count: must be a positive integer, got ${count}`);
  const isBoolean = visible.answerKind === 'boolean';
  const seen = new Set([canonicalForm(visible)]);
  const pool: Puzzle[] = [];
  const enough = (): boolean => {
    if (isBoolean) return pool.filter((q) => q.answer === 'true').length >= count && pool.filter((q) => q.answer === 'false').length >= count;
    return pool.length >= count && pool.some((q) => q.answer !== visible.answer) && new Set(pool.map((q) => q.answer)).size >= Math.min(2, count);
  };
  const maxDraws = 200 * count + 1000;
  for (let draw = 0; draw < maxDraws && !enough(); draw++) {
    const p = generatePuzzle(visible.family, foldIn(key, draw), visible.difficulty);
    const id = canonicalForm(p);
    if (seen.has(id)) continue;
    seen.add(id);
    pool.push(p);
  }
  const out: Puzzle[] = [];
  if (isBoolean) {
    const opposite = pool.filter((q) => q.answer !== visible.answer);
    const same = pool.filter((q) => q.answer === visible.answer);
    while (out.length < count && (opposite.length > 0 || same.length > 0)) {
      const takeOpposite = out.length % 2 === 0 ? opposite.length > 0 : same.length === 0;
      out.push((takeOpposite ? opposite : same).shift()!);
    }
  } else {
    out.push(...pool.slice(0, count));
    const first = out[0]?.answer;
    if (out.length === count && out.every((q) => q.answer === first)) {
      // All equal: swap the last for the first later draw with another answer (one that differs from the visible, if all equal it).
      const other = pool.slice(count).find((q) => q.answer !== first);
      if (other && count > 1) out[count - 1] = other;
      else if (other && first === visible.answer) out[0] = other;
    }
  }
  const answers = new Set(out.map((q) => q.answer));
  const beatsConstants = out.some((q) => q.answer !== visible.answer) && answers.size >= Math.min(2, count);
  if (out.length < count || !beatsConstants) {
    throw new Error(`count: the ${visible.family} puzzles of difficulty ${visible.difficulty} allow only ${out.length < count ? out.length : count - 1} hidden ones that no constant passes; ask for fewer`);
  }
  return out;
}

/** A program's scores on one puzzle: the visible input, and the hidden ones (the share that generalises). */
export interface ProgramVerdict {
  /** The verdict and run on the visible puzzle. */
  visible: { verdict: RunVerdict; run: ProgramRun };
  /** One per hidden puzzle, in order. */
  hidden: { puzzle: Puzzle; verdict: RunVerdict; run: ProgramRun }[];
  passesVisible: boolean;
  /** Hidden puzzles passed / hidden puzzles. */
  hiddenShare: number;
  /** Every hidden puzzle passed. */
  generalises: boolean;
}

/**
 * Run a program on the visible puzzle and on each hidden one (sequentially,
 * each in a fresh VM through `run`) and score it.
 */
export async function verifyProgram(visible: Puzzle, hidden: readonly Puzzle[], source: string, run: ProgramRunner): Promise<ProgramVerdict> {
  if (hidden.length === 0) throw new Error('hidden: give at least one hidden puzzle (hiddenPuzzles draws them)');
  const visibleRun = await run(source, programInput(visible));
  const hiddenRows: ProgramVerdict['hidden'] = [];
  for (const puzzle of hidden) {
    const r = await run(source, programInput(puzzle));
    hiddenRows.push({ puzzle, verdict: judgeRun(puzzle, r), run: r });
  }
  const passed = hiddenRows.filter((h) => h.verdict.passed).length;
  const visibleVerdict = judgeRun(visible, visibleRun);
  return {
    visible: { verdict: visibleVerdict, run: visibleRun },
    hidden: hiddenRows,
    passesVisible: visibleVerdict.passed,
    hiddenShare: passed / hiddenRows.length,
    generalises: passed === hiddenRows.length,
  };
}
