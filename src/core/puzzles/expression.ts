/**
 * Random integer expression trees, shared by the arithmetic (infix) and RPN
 * (postfix) families. Difficulty d sets, by a table both families document:
 *   operands  2 + ⌊(d−1)/2⌋        (2 … 6)
 *   digits    1 + ⌊(d−1)/4⌋        (1 … 3) per operand, at most
 *   operators d1: +   d2: + −   d≥3: + − ×
 *   shape     d1–4: a flat chain read with the usual precedence ("2+3*4");
 *             d5–10: a random tree, so infix needs parentheses ("(2+3)*4"),
 *             depth ≤ ⌈(d+1)/2⌉
 */
import { Rng } from '../rng';

export type Op = '+' | '-' | '*';
export type Expr = { kind: 'num'; value: number } | { kind: 'op'; op: Op; left: Expr; right: Expr };

export interface ExprLevel {
  operands: number;
  maxDigits: number;
  ops: readonly Op[];
  /** Random trees (parentheses) rather than flat chains. */
  nested: boolean;
  maxDepth: number;
}

export function exprLevel(d: number): ExprLevel {
  return {
    operands: 2 + Math.floor((d - 1) / 2),
    maxDigits: 1 + Math.floor((d - 1) / 4),
    ops: d === 1 ? ['+'] : d === 2 ? ['+', '-'] : ['+', '-', '*'],
    nested: d >= 5,
    maxDepth: Math.ceil((d + 1) / 2),
  };
}

function randomNumber(rng: Rng, maxDigits: number): Expr {
  const digits = 1 + rng.int(maxDigits);
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  return { kind: 'num', value: lo + rng.int(10 ** digits - lo) };
}

/** A random expression with exactly `level.operands` leaves (flat chain or nested tree, per level). */
export function randomExpr(rng: Rng, level: ExprLevel): Expr {
  return level.nested ? randomTree(rng, level) : randomChain(rng, level);
}

/** a op b op c … parsed with × before ± and left associativity: renders without parentheses. */
function randomChain(rng: Rng, level: ExprLevel): Expr {
  const nums = Array.from({ length: level.operands }, () => randomNumber(rng, level.maxDigits));
  const ops = Array.from({ length: level.operands - 1 }, () => level.ops[rng.int(level.ops.length)]!);
  // Fold products first, then sums, both left to right.
  const terms: Expr[] = [nums[0]!];
  const termOps: Op[] = [];
  ops.forEach((op, i) => {
    if (op === '*') terms[terms.length - 1] = { kind: 'op', op, left: terms[terms.length - 1]!, right: nums[i + 1]! };
    else {
      termOps.push(op);
      terms.push(nums[i + 1]!);
    }
  });
  return termOps.reduce<Expr>((acc, op, i) => ({ kind: 'op', op, left: acc, right: terms[i + 1]! }), terms[0]!);
}

/** A random tree with exactly `level.operands` leaves and depth ≤ maxDepth. */
function randomTree(rng: Rng, level: ExprLevel): Expr {
  const build = (leaves: number, depthLeft: number): Expr => {
    if (leaves === 1) return randomNumber(rng, level.maxDigits);
    // Split the leaves so that both sides still fit in the remaining depth.
    const cap = 2 ** (depthLeft - 1);
    const minLeft = Math.max(1, leaves - cap);
    const maxLeft = Math.min(leaves - 1, cap);
    const left = minLeft + rng.int(maxLeft - minLeft + 1);
    const op = level.ops[rng.int(level.ops.length)]!;
    return { kind: 'op', op, left: build(left, depthLeft - 1), right: build(leaves - left, depthLeft - 1) };
  };
  const depth = Math.max(level.maxDepth, Math.ceil(Math.log2(level.operands)));
  return build(level.operands, depth);
}

export function evaluate(e: Expr): number {
  if (e.kind === 'num') return e.value;
  const a = evaluate(e.left);
  const b = evaluate(e.right);
  switch (e.op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default: return e.op satisfies never;
  }
}

const PRECEDENCE: Record<Op, number> = { '+': 1, '-': 1, '*': 2 };

/** Infix with the fewest parentheses that keep the tree's meaning. */
export function toInfix(e: Expr): string {
  if (e.kind === 'num') return String(e.value);
  const p = PRECEDENCE[e.op];
  const wrap = (child: Expr, isRight: boolean): string => {
    const s = toInfix(child);
    if (child.kind === 'num') return s;
    const cp = PRECEDENCE[child.op];
    // Left operand needs parentheses only for lower precedence; the right one also
    // for equal precedence under − (a−(b+c)) and under * only when lower.
    const needs = cp < p || (isRight && cp === p && e.op === '-');
    return needs ? `(${s})` : s;
  };
  return `${wrap(e.left, false)}${e.op}${wrap(e.right, true)}`;
}

/** Postfix (reverse Polish), tokens separated by single spaces. */
export function toPostfix(e: Expr): string {
  if (e.kind === 'num') return String(e.value);
  return `${toPostfix(e.left)} ${toPostfix(e.right)} ${e.op}`;
}

/** Number of operator nodes on the longest root-to-leaf path. */
export function depthOf(e: Expr): number {
  return e.kind === 'num' ? 0 : 1 + Math.max(depthOf(e.left), depthOf(e.right));
}

/** Number of parenthesis pairs in an infix string. */
export function parenPairs(s: string): number {
  return [...s].filter((ch) => ch === '(').length;
}
