/**
 * The puzzle families. Each is a pure `(key, difficulty) → Puzzle`; the
 * `levels` table of each family is what the docs and the UI show for
 * "what does difficulty d mean here".
 */
import { type Key, Rng } from '../rng';
import { depthOf, evaluate, exprLevel, parenPairs, randomExpr, toInfix, toPostfix } from './expression';
import { type FamilyName, type Puzzle, type PuzzleFamily, checkDifficulty } from './types';

const range10 = (f: (d: number) => string) => Array.from({ length: 10 }, (_, i) => f(i + 1));

function exprLevelText(d: number, notation: 'infix' | 'postfix'): string {
  const l = exprLevel(d);
  const shape = notation === 'postfix' ? '' : l.nested ? ', nested (parentheses where needed)' : ', flat (no parentheses)';
  return `${l.operands} operands of ≤${l.maxDigits} digit${l.maxDigits > 1 ? 's' : ''}, ${l.ops.join(' ')}${shape}`;
}

/** Infix integer arithmetic with the usual precedence: "2+3*4=" → "14". */
export const arithmetic: PuzzleFamily = {
  name: 'arithmetic',
  answerKind: 'integer',
  levels: range10((d) => exprLevelText(d, 'infix')),
  generate(key, difficulty) {
    checkDifficulty(difficulty);
    const level = exprLevel(difficulty);
    const expr = randomExpr(new Rng(key), level);
    const text = toInfix(expr);
    return {
      family: 'arithmetic', difficulty, prompt: `${text}=`, answer: String(evaluate(expr)), answerKind: 'integer',
      meta: { operands: level.operands, depth: depthOf(expr), parentheses: parenPairs(text) },
    };
  },
};

/** Reverse Polish notation: "3 4 + 2 *=" → "14". Same trees as arithmetic. */
export const rpn: PuzzleFamily = {
  name: 'rpn',
  answerKind: 'integer',
  levels: range10((d) => exprLevelText(d, 'postfix')),
  generate(key, difficulty) {
    checkDifficulty(difficulty);
    const level = exprLevel(difficulty);
    const expr = randomExpr(new Rng(key), level);
    return {
      family: 'rpn', difficulty, prompt: `${toPostfix(expr)}=`, answer: String(evaluate(expr)), answerKind: 'integer',
      meta: { operands: level.operands, depth: depthOf(expr) },
    };
  },
};

// Brackets -------------------------------------------------------------------
// d sets pairs = d + 1 (so 4 … 22 characters), kinds d1–3: (), d4–6: () [],
// d7–10: () [] {}, and maximum depth ⌈(d+1)/2⌉ + 1. Half the puzzles are
// balanced; the other half are near misses of a balanced string: one closing
// bracket of the wrong kind, two neighbours swapped, or one bracket deleted.

const OPEN = '([{';
const CLOSE = ')]}';

function bracketLevel(d: number) {
  return { pairs: d + 1, kinds: d <= 3 ? 1 : d <= 6 ? 2 : 3, maxDepth: Math.ceil((d + 1) / 2) + 1 };
}

/** Reference balance check (a stack); the test suite has its own independent one. */
export function isBalanced(s: string): boolean {
  const stack: string[] = [];
  for (const ch of s) {
    const o = OPEN.indexOf(ch);
    if (o >= 0) stack.push(CLOSE[o]!);
    else if (stack.pop() !== ch) return false;
  }
  return stack.length === 0;
}

function randomBalanced(rng: Rng, pairs: number, kinds: number, maxDepth: number): string {
  let out = '';
  const stack: number[] = [];
  let opened = 0;
  while (out.length < 2 * pairs) {
    const canOpen = opened < pairs && stack.length < maxDepth;
    const canClose = stack.length > 0;
    if (canOpen && (!canClose || rng.uniform() < 0.5)) {
      const k = rng.int(kinds);
      stack.push(k);
      out += OPEN[k];
      opened++;
    } else {
      out += CLOSE[stack.pop()!];
    }
  }
  return out;
}

function maxDepthOf(s: string): number {
  let depth = 0;
  let max = 0;
  for (const ch of s) {
    depth += OPEN.includes(ch) ? 1 : -1;
    max = Math.max(max, depth);
  }
  return max;
}

export const brackets: PuzzleFamily = {
  name: 'brackets',
  answerKind: 'boolean',
  levels: range10((d) => {
    const l = bracketLevel(d);
    return `${2 * l.pairs} brackets of ${OPEN.slice(0, l.kinds).split('').map((o, i) => o + CLOSE[i]).join(' ')}, depth ≤${l.maxDepth}; half near misses`;
  }),
  generate(key, difficulty) {
    checkDifficulty(difficulty);
    const rng = new Rng(key);
    const l = bracketLevel(difficulty);
    let s = randomBalanced(rng, l.pairs, l.kinds, l.maxDepth);
    const depth = maxDepthOf(s);
    let flaw = 'none';
    if (rng.uniform() < 0.5) {
      // Near misses; each is re-checked because a swap can, rarely, stay balanced.
      const chars = [...s];
      const kind = l.kinds > 1 ? rng.int(3) : 1 + rng.int(2);
      if (kind === 0) {
        const closers = chars.flatMap((ch, i) => (CLOSE.includes(ch) ? [i] : []));
        const i = closers[rng.int(closers.length)]!;
        const k = CLOSE.indexOf(chars[i]!);
        chars[i] = CLOSE[(k + 1 + rng.int(l.kinds - 1)) % l.kinds]!;
        flaw = 'wrong-kind';
      } else if (kind === 1) {
        const i = rng.int(chars.length - 1);
        const left = chars[i]!;
        chars[i] = chars[i + 1]!;
        chars[i + 1] = left;
        flaw = 'swap';
      } else {
        chars.splice(rng.int(chars.length), 1);
        flaw = 'deleted';
      }
      s = chars.join('');
      if (isBalanced(s)) {
        // Swapping two equal neighbours changes nothing: delete one bracket instead (odd length never balances).
        s = s.slice(0, -1);
        flaw = 'deleted';
      }
    }
    const balanced = isBalanced(s);
    return {
      family: 'brackets', difficulty, prompt: `${s}?`, answer: balanced ? 'true' : 'false', answerKind: 'boolean',
      meta: { length: s.length, depth, kinds: l.kinds, flaw: balanced ? 'none' : flaw },
    };
  },
};

// Modular arithmetic (the grokking task of Power et al. 2022) -------------------
// d sets the modulus p and the operation: p from [5, 7, 11, 13, 17, 23, 31, 47, 67, 97],
// d1–4: a+b, d5–7: a−b, d8–10: a·b, all mod p, a and b in [0, p).

const MODULI = [5, 7, 11, 13, 17, 23, 31, 47, 67, 97] as const;

function modularLevel(d: number) {
  return { p: MODULI[d - 1]!, op: d <= 4 ? '+' : d <= 7 ? '-' : '*' } as const;
}

export const modular: PuzzleFamily = {
  name: 'modular',
  answerKind: 'integer',
  levels: range10((d) => {
    const l = modularLevel(d);
    return `a${l.op}b mod ${l.p}, a and b in [0, ${l.p})`;
  }),
  generate(key, difficulty) {
    checkDifficulty(difficulty);
    const rng = new Rng(key);
    const { p, op } = modularLevel(difficulty);
    const a = rng.int(p);
    const b = rng.int(p);
    const raw = op === '+' ? a + b : op === '-' ? a - b : a * b;
    return {
      family: 'modular', difficulty, prompt: `${a}${op}${b}%${p}=`, answer: String(((raw % p) + p) % p),
      answerKind: 'integer', meta: { p, op, a, b },
    };
  },
};

// Reverse and sort a digit sequence ------------------------------------------
// d sets the length: d + 2 digits (3 … 12).

function digitsOf(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(10));
}

export const reverse: PuzzleFamily = {
  name: 'reverse',
  answerKind: 'digits',
  levels: range10((d) => `reverse ${d + 2} digits`),
  generate(key, difficulty) {
    checkDifficulty(difficulty);
    const xs = digitsOf(new Rng(key), difficulty + 2);
    return {
      family: 'reverse', difficulty, prompt: `rev ${xs.join('')}=`, answer: [...xs].reverse().join(''),
      answerKind: 'digits', meta: { length: xs.length },
    };
  },
};

export const sort: PuzzleFamily = {
  name: 'sort',
  answerKind: 'digits',
  levels: range10((d) => `sort ${d + 2} digits ascending`),
  generate(key, difficulty) {
    checkDifficulty(difficulty);
    const xs = digitsOf(new Rng(key), difficulty + 2);
    return {
      family: 'sort', difficulty, prompt: `sort ${xs.join('')}=`, answer: [...xs].sort((a, b) => a - b).join(''),
      answerKind: 'digits', meta: { length: xs.length },
    };
  },
};

export const FAMILIES: Record<FamilyName, PuzzleFamily> = { arithmetic, rpn, brackets, modular, reverse, sort };

/** The difficulty table of every family as Markdown (docs/puzzles.md embeds it; a test keeps them equal). */
export function difficultyTableMarkdown(): string {
  const names = Object.keys(FAMILIES) as FamilyName[];
  const head = `| d | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|`;
  const rows = Array.from({ length: 10 }, (_, i) => `| ${i + 1} | ${names.map((f) => FAMILIES[f].levels[i]).join(' | ')} |`);
  return [head, ...rows].join('\n');
}

/** Generate one puzzle of a named family. */
export function generatePuzzle(family: FamilyName, key: Key, difficulty: number): Puzzle {
  const f = FAMILIES[family];
  if (!f) throw new Error(`family: unknown puzzle family '${String(family)}'`);
  return f.generate(key, difficulty);
}
