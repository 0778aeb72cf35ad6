/**
 * "Write an arithmetic expression equal to N": a verifiable task with many
 * right answers, so that the diversity of a model's answers and pass@k mean
 * something (the diversity lab's task).
 *
 *   prompt   "=14:"                       (characters of the puzzles alphabet)
 *   answers  "7+7", "2*7", "9+5", "(3+4)*2", "8*2-2", …  any expression that
 *            evaluates to N, over single-digit operands 0–9 with + − * and
 *            parentheses, usual precedence (* before + −, left to right),
 *            within the level's operand and length limits.
 *
 * Difficulty d ∈ 1…3 sets the limits: operands 2 … d+1, length ≤ 2(d+1)+1
 * characters (a flat chain of d+1 operands plus one pair of parentheses).
 * The verifier is a recursive-descent parser and evaluator that gives the
 * reason for a failure. Seed sets (the warm start's labelled answers) are
 * drawn from the level's flat chains ("8*2-2"), enumerated exhaustively, so
 * every target's number of solutions is known exactly.
 *
 * Everything is a pure function of its arguments and a Key.
 */
import { type Key, Rng, foldIn } from '../rng';
import type { SplitName } from './splits';

export interface TargetLevel {
  difficulty: number;
  /** An answer uses between minOperands and maxOperands single-digit operands. */
  minOperands: number;
  maxOperands: number;
  /** Characters an answer may have at most. */
  maxLength: number;
}

export const TARGET_DIFFICULTIES = [1, 2, 3] as const;

/** The limits of difficulty d (1–3): one line per level in `targetLevelText`. */
export function targetLevel(difficulty: number): TargetLevel {
  if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > 3) {
    throw new Error(`difficulty: must be an integer from 1 to 3, got ${difficulty}`);
  }
  const maxOperands = difficulty + 1;
  return { difficulty, minOperands: 2, maxOperands, maxLength: 2 * maxOperands + 1 };
}

/** What difficulty d means, for the docs and the UI. */
export function targetLevelText(difficulty: number): string {
  const l = targetLevel(difficulty);
  return `${l.minOperands}–${l.maxOperands} single-digit operands, + − * and parentheses, at most ${l.maxLength} characters`;
}

/** The prompt of target N: "=N:". */
export function targetPrompt(target: number): string {
  return `=${target}:`;
}

// --- the verifier --------------------------------------------------------------

class ParseError extends Error {
  constructor(readonly position: number, message: string) {
    super(message);
  }
}

export type ParseResult =
  | { ok: true; value: number; operands: number }
  | { ok: false; position: number; message: string };

/**
 * Parse and evaluate an expression (no surrounding or inner whitespace):
 *   expr   := term (('+' | '-') term)*
 *   term   := factor ('*' factor)*
 *   factor := digit | '(' expr ')'
 * Integers throughout (≤ 9^maxOperands, exact in a double).
 */
export function parseExpression(text: string): ParseResult {
  let i = 0;
  let operands = 0;
  const describe = (at: number) => (at < text.length ? `'${text[at]}'` : 'the end');
  const factor = (): number => {
    const ch = text[i];
    if (ch === '(') {
      i++;
      const v = expr();
      if (text[i] !== ')') throw new ParseError(i, `expected ')' at position ${i}, found ${describe(i)}`);
      i++;
      return v;
    }
    if (ch !== undefined && ch >= '0' && ch <= '9') {
      i++;
      operands++;
      return ch.charCodeAt(0) - 48;
    }
    throw new ParseError(i, `expected a digit or '(' at position ${i}, found ${describe(i)}`);
  };
  const term = (): number => {
    let v = factor();
    while (text[i] === '*') {
      i++;
      v *= factor();
    }
    return v;
  };
  const expr = (): number => {
    let v = term();
    while (text[i] === '+' || text[i] === '-') {
      const op = text[i++];
      const r = term();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  try {
    const value = expr();
    if (i !== text.length) {
      const what = text[i]! >= '0' && text[i]! <= '9' ? 'an operator (operands are single digits)' : 'an operator';
      return { ok: false, position: i, message: `expected ${what} at position ${i}, found ${describe(i)}` };
    }
    return { ok: true, value: value === 0 ? 0 : value, operands }; // no −0
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, position: e.position, message: e.message };
    throw e;
  }
}

/** Why an answer fails, in the order verifyTarget checks. */
export const TARGET_FAILURES = ['empty', 'too long', 'unparsable', 'too short', 'wrong'] as const;
export type TargetFailure = (typeof TARGET_FAILURES)[number];

export type TargetVerdict =
  | { correct: true; value: number; operands: number }
  | { correct: false; reason: TargetFailure; detail: string; value: number | null };

/**
 * Check an answer to "=target:". Surrounding whitespace is forgiven, nothing
 * else. Checked in order: empty; longer than maxLength characters ('too
 * long'); not an expression ('unparsable'); more operands than allowed ('too
 * long') or fewer ('too short'); a value other than the target ('wrong').
 */
export function verifyTarget(target: number, answer: string, level: TargetLevel): TargetVerdict {
  const text = answer.trim();
  if (text === '') return { correct: false, reason: 'empty', detail: 'no answer', value: null };
  if (text.length > level.maxLength) {
    return { correct: false, reason: 'too long', detail: `${text.length} characters, at most ${level.maxLength}`, value: null };
  }
  const parsed = parseExpression(text);
  if (!parsed.ok) return { correct: false, reason: 'unparsable', detail: parsed.message, value: null };
  if (parsed.operands > level.maxOperands) {
    return { correct: false, reason: 'too long', detail: `${parsed.operands} operands, at most ${level.maxOperands}`, value: parsed.value };
  }
  if (parsed.operands < level.minOperands) {
    return { correct: false, reason: 'too short', detail: `${parsed.operands} operand${parsed.operands === 1 ? '' : 's'}, at least ${level.minOperands}`, value: parsed.value };
  }
  if (parsed.value !== target) return { correct: false, reason: 'wrong', detail: `equals ${parsed.value}, not ${target}`, value: parsed.value };
  return { correct: true, value: parsed.value, operands: parsed.operands };
}

// --- solutions, seed sets, splits --------------------------------------------------

const OPS = ['+', '-', '*'] as const;
const solutionCache = new Map<number, ReadonlyMap<number, readonly string[]>>();

/**
 * Every flat chain of the level (minOperands…maxOperands digits joined by
 * + − *, no parentheses), grouped by value, in a fixed order. 10^k·3^(k−1)
 * chains of k operands: 270,000 at difficulty 3. Memoised per level.
 */
export function flatSolutions(level: TargetLevel): ReadonlyMap<number, readonly string[]> {
  const cached = solutionCache.get(level.maxOperands * 100 + level.minOperands);
  if (cached) return cached;
  const byValue = new Map<number, string[]>();
  for (let k = level.minOperands; k <= level.maxOperands; k++) {
    const digits = new Array<number>(k).fill(0);
    const ops = new Array<number>(k - 1).fill(0);
    const combos = 10 ** k * 3 ** (k - 1);
    for (let c = 0; c < combos; c++) {
      let x = c;
      for (let j = 0; j < k; j++, x = Math.floor(x / 10)) digits[j] = x % 10;
      for (let j = 0; j < k - 1; j++, x = Math.floor(x / 3)) ops[j] = x % 3;
      // Value with * before + −: a running sum of finished terms and the current product.
      let sum = 0;
      let sign = 1;
      let product = digits[0]!;
      let text = String(digits[0]);
      for (let j = 0; j < k - 1; j++) {
        const op = OPS[ops[j]!];
        text += op + digits[j + 1];
        if (op === '*') product *= digits[j + 1]!;
        else {
          sum += sign * product;
          sign = op === '+' ? 1 : -1;
          product = digits[j + 1]!;
        }
      }
      const value = sum + sign * product;
      const list = byValue.get(value);
      if (list) list.push(text);
      else byValue.set(value, [text]);
    }
  }
  solutionCache.set(level.maxOperands * 100 + level.minOperands, byValue);
  return byValue;
}

export interface TargetTask {
  split: SplitName;
  target: number;
  prompt: string;
  /** Distinct correct answers for the warm start (training targets only; [] otherwise). */
  seeds: string[];
  /** How many flat chains of the level equal the target (parenthesised answers come on top). */
  flatSolutions: number;
}

export type TargetSplits = Record<SplitName, TargetTask[]>;

export interface TargetSpec {
  difficulty: number;
  /** Targets are integers in [minTarget, maxTarget] with at least seedsPerTarget flat solutions. */
  minTarget: number;
  maxTarget: number;
  sizes: Record<SplitName, number>;
  /** Distinct correct answers per training target in the seed set. */
  seedsPerTarget: number;
}

/** The targets in [minTarget, maxTarget] that have at least seedsPerTarget flat solutions, ascending. */
export function eligibleTargets(spec: Omit<TargetSpec, 'sizes'>): number[] {
  const solutions = flatSolutions(targetLevel(spec.difficulty));
  const out: number[] = [];
  for (let n = spec.minTarget; n <= spec.maxTarget; n++) if ((solutions.get(n)?.length ?? 0) >= spec.seedsPerTarget) out.push(n);
  return out;
}

/** seedsPerTarget distinct flat solutions of `target`, drawn without replacement with foldIn(key, target). */
export function seedAnswers(target: number, level: TargetLevel, count: number, key: Key): string[] {
  const all = flatSolutions(level).get(target) ?? [];
  if (all.length < count) throw new Error(`seedsPerTarget: target ${target} has only ${all.length} solutions, asked for ${count}`);
  const order = new Rng(foldIn(key, target)).shuffle(all.map((_, i) => i));
  return order.slice(0, count).map((i) => all[i]!);
}

/**
 * Train / validation / test targets, disjoint by target: the eligible
 * targets shuffled with the key, then cut in that order. Each training target
 * carries its seed answers. Throws, naming `sizes`, when there are too few.
 */
export function makeTargetSplits(spec: TargetSpec, key: Key): TargetSplits {
  if (spec.minTarget > spec.maxTarget) throw new Error(`minTarget: ${spec.minTarget} is above maxTarget ${spec.maxTarget}`);
  if (!Number.isInteger(spec.seedsPerTarget) || spec.seedsPerTarget < 1) {
    throw new Error(`seedsPerTarget: must be a positive integer, got ${spec.seedsPerTarget}`);
  }
  const level = targetLevel(spec.difficulty);
  const eligible = eligibleTargets(spec);
  const want = spec.sizes.train + spec.sizes.val + spec.sizes.test;
  if (eligible.length < want) {
    throw new Error(
      `sizes: ${want} targets asked for, but only ${eligible.length} in [${spec.minTarget}, ${spec.maxTarget}] ` +
      `have ≥ ${spec.seedsPerTarget} solutions at difficulty ${spec.difficulty}; widen the range or lower the sizes`,
    );
  }
  const order = new Rng(foldIn(key, 1)).shuffle([...eligible]);
  const solutions = flatSolutions(level);
  const task = (split: SplitName, target: number): TargetTask => ({
    split, target, prompt: targetPrompt(target),
    seeds: split === 'train' ? seedAnswers(target, level, spec.seedsPerTarget, foldIn(key, 2)) : [],
    flatSolutions: solutions.get(target)!.length,
  });
  const cut = (from: number, n: number, split: SplitName) => order.slice(from, from + n).sort((a, b) => a - b).map((t) => task(split, t));
  return {
    train: cut(0, spec.sizes.train, 'train'),
    val: cut(spec.sizes.train, spec.sizes.val, 'val'),
    test: cut(spec.sizes.train + spec.sizes.val, spec.sizes.test, 'test'),
  };
}
