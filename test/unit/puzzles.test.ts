/**
 * Property tests of the puzzle generators, the verifier and the splits.
 * Answers are checked with evaluators written here, independently of the
 * generators (a recursive-descent parser, a stack machine, pair removal).
 */
import { describe, expect, test } from 'vitest';
import { FAMILIES, FAMILY_NAMES, generatePuzzle, makeSplits, normalizeAnswer, verify, type Puzzle } from '../../src/core/puzzles';
import { foldIn, keyFromSeed } from '../../src/core/rng';

/** Infix evaluator: expr := term (('+'|'-') term)*, term := factor ('*' factor)*, factor := int | '(' expr ')'. */
function evalInfix(text: string): number {
  let i = 0;
  const peek = () => text[i];
  const factor = (): number => {
    if (peek() === '(') {
      i++;
      const v = expr();
      if (text[i++] !== ')') throw new Error(`expected ) in ${text}`);
      return v;
    }
    const m = /^\d+/.exec(text.slice(i));
    if (!m) throw new Error(`expected a number at ${i} in ${text}`);
    i += m[0].length;
    return Number(m[0]);
  };
  const term = (): number => {
    let v = factor();
    while (peek() === '*') {
      i++;
      v *= factor();
    }
    return v;
  };
  const expr = (): number => {
    let v = term();
    while (peek() === '+' || peek() === '-') {
      const op = text[i++];
      const r = term();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = expr();
  if (i !== text.length) throw new Error(`trailing text in ${text}`);
  return v;
}

function evalRpn(text: string): number {
  const stack: number[] = [];
  for (const tok of text.split(' ')) {
    if (/^\d+$/.test(tok)) stack.push(Number(tok));
    else {
      const b = stack.pop()!, a = stack.pop()!;
      stack.push(tok === '+' ? a + b : tok === '-' ? a - b : a * b);
    }
  }
  if (stack.length !== 1) throw new Error(`bad RPN ${text}`);
  return stack[0]!;
}

function balancedByPairRemoval(s: string): boolean {
  let prev = '';
  while (prev !== s) {
    prev = s;
    s = s.replace(/\(\)|\[\]|\{\}/g, '');
  }
  return s === '';
}

function independentAnswer(p: Puzzle): string {
  const body = p.prompt.slice(0, -1); // drop the trailing '=' or '?'
  switch (p.family) {
    case 'arithmetic': return String(evalInfix(body));
    case 'rpn': return String(evalRpn(body));
    case 'brackets': return String(balancedByPairRemoval(body));
    case 'modular': {
      const m = /^(\d+)([+\-*])(\d+)%(\d+)$/.exec(body)!;
      const [a, b, mod] = [Number(m[1]), Number(m[3]), Number(m[4])];
      const raw = m[2] === '+' ? a + b : m[2] === '-' ? a - b : a * b;
      return String(((raw % mod) + mod) % mod);
    }
    case 'reverse': return body.slice(4).split('').reverse().join('');
    case 'sort': return body.slice(5).split('').sort().join('');
    default: return p.family satisfies never;
  }
}

const CASES = FAMILY_NAMES.flatMap((family) => Array.from({ length: 10 }, (_, i) => ({ family, difficulty: i + 1 })));

describe('generators', () => {
  test.each(CASES)('$family at difficulty $difficulty: answers match an independent evaluator, levels hold', ({ family, difficulty }) => {
    for (let i = 0; i < 60; i++) {
      const key = foldIn(keyFromSeed(difficulty), i);
      const p = generatePuzzle(family, key, difficulty);
      expect(p.answer).toBe(independentAnswer(p));
      expect(generatePuzzle(family, key, difficulty)).toEqual(p); // pure in the key
      expect(verify(p, p.answer)).toEqual({ correct: true });
      const body = p.prompt.slice(0, -1);
      switch (family) {
        case 'arithmetic':
        case 'rpn': {
          const operands = body.match(/\d+/g)!;
          expect(operands).toHaveLength(2 + Math.floor((difficulty - 1) / 2));
          for (const o of operands) expect(o.length).toBeLessThanOrEqual(1 + Math.floor((difficulty - 1) / 4));
          if (difficulty === 1) expect(body).not.toMatch(/[-*]/);
          if (difficulty === 2) expect(body).not.toMatch(/\*/);
          if (family === 'arithmetic' && difficulty < 5) expect(body).not.toMatch(/[()]/);
          break;
        }
        case 'brackets': {
          const pairs = difficulty + 1;
          expect([2 * pairs, 2 * pairs - 1]).toContain(body.length);
          const kinds = difficulty <= 3 ? '()' : difficulty <= 6 ? '()[]' : '()[]{}';
          for (const ch of body) expect(kinds).toContain(ch);
          if (p.answer === 'true') expect(p.meta.depth).toBeLessThanOrEqual(Math.ceil((difficulty + 1) / 2) + 1);
          break;
        }
        case 'modular': {
          const [a, b] = [p.meta.a as number, p.meta.b as number];
          expect(a).toBeLessThan(p.meta.p as number);
          expect(b).toBeLessThan(p.meta.p as number);
          break;
        }
        case 'reverse':
        case 'sort':
          expect(p.answer).toHaveLength(difficulty + 2);
          break;
      }
    }
  });

  test('brackets are near misses when unbalanced, and both answers occur', () => {
    const answers = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePuzzle('brackets', foldIn(keyFromSeed(77), i), 6);
      answers.add(p.answer);
      if (p.answer === 'false') expect(['wrong-kind', 'swap', 'deleted']).toContain(p.meta.flaw);
    }
    expect([...answers].sort()).toEqual(['false', 'true']);
  });

  test('difficulty out of range names the field', () => {
    expect(() => generatePuzzle('arithmetic', keyFromSeed(1), 0)).toThrow(/difficulty: must be an integer from 1 to 10/);
    expect(() => generatePuzzle('rpn', keyFromSeed(1), 11)).toThrow(/difficulty/);
    expect(Object.keys(FAMILIES)).toHaveLength(6);
    for (const f of Object.values(FAMILIES)) expect(f.levels).toHaveLength(10);
  });
});

describe('verifier', () => {
  const p = { answer: '-14', answerKind: 'integer' as const };
  test('normalises formatting only', () => {
    expect(verify(p, ' -014 ')).toEqual({ correct: true });
    expect(verify({ answer: '0', answerKind: 'integer' }, '-0')).toEqual({ correct: true });
    expect(verify({ answer: 'true', answerKind: 'boolean' }, 'True')).toEqual({ correct: true });
    expect(verify({ answer: '123', answerKind: 'digits' }, '1 2 3')).toEqual({ correct: true });
  });
  test('gives the reason for a failure', () => {
    expect(verify(p, '')).toMatchObject({ correct: false, reason: 'empty' });
    expect(verify(p, '  ')).toMatchObject({ correct: false, reason: 'empty' });
    expect(verify(p, '14x')).toMatchObject({ correct: false, reason: 'unparsable' });
    expect(verify(p, '14')).toMatchObject({ correct: false, reason: 'wrong', normalized: '14' });
    expect(verify({ answer: 'true', answerKind: 'boolean' }, 'yes')).toMatchObject({ reason: 'unparsable' });
    expect(normalizeAnswer('+7', 'integer')).toBe('7');
  });
});

describe('splits', () => {
  const spec = {
    families: ['arithmetic', 'rpn', 'brackets'] as const,
    minDifficulty: 3, maxDifficulty: 7,
    sizes: { train: 60, val: 20, test: 20 },
    fractions: { train: 0.6, val: 0.2, test: 0.2 },
  };
  test('are disjoint, sized, deterministic per seed, and in range', () => {
    const a = makeSplits(spec, keyFromSeed(1));
    expect(makeSplits(spec, keyFromSeed(1))).toEqual(a);
    const ids = (ps: Puzzle[]) => ps.map((p) => `${p.family}|${p.prompt}`);
    const [tr, va, te] = [new Set(ids(a.train)), new Set(ids(a.val)), new Set(ids(a.test))];
    expect([tr.size, va.size, te.size]).toEqual([60, 20, 20]);
    for (const x of va) expect(tr.has(x)).toBe(false);
    for (const x of te) expect(tr.has(x) || va.has(x)).toBe(false);
    for (const p of [...a.train, ...a.val, ...a.test]) {
      expect(p.difficulty).toBeGreaterThanOrEqual(3);
      expect(p.difficulty).toBeLessThanOrEqual(7);
    }
    // Another seed draws other puzzles, but a puzzle's split never changes.
    const b = makeSplits(spec, keyFromSeed(2));
    expect(ids(b.train)).not.toEqual(ids(a.train));
    for (const x of ids(b.train)) expect(va.has(x) || te.has(x)).toBe(false);
  });

  test('boolean families are balanced within each split', () => {
    const s = makeSplits({ ...spec, families: ['brackets'] }, keyFromSeed(3));
    for (const split of [s.train, s.val, s.test]) {
      const t = split.filter((p) => p.answer === 'true').length;
      expect(Math.abs(t - (split.length - t))).toBeLessThanOrEqual(1);
    }
  });

  test('a puzzle space too small for the sizes names the field', () => {
    expect(() => makeSplits({ ...spec, families: ['modular'], minDifficulty: 1, maxDifficulty: 1, sizes: { train: 30, val: 10, test: 10 } }, keyFromSeed(1)))
      .toThrow(/sizes: not enough distinct puzzles/);
  });
});

test('docs/puzzles.md shows the difficulty table the code generates', async () => {
  const { readFileSync } = await import('node:fs');
  const { difficultyTableMarkdown } = await import('../../src/core/puzzles');
  const doc = readFileSync(new URL('../../docs/puzzles.md', import.meta.url), 'utf8');
  expect(doc).toContain(difficultyTableMarkdown());
});
