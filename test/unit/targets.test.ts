/**
 * "Write an expression equal to N": the verifier, the exhaustive solution
 * table, seed sets and splits. The recursive-descent verifier and the
 * enumerator's left-to-right fold are two independent evaluators; they are
 * checked against each other on every flat chain of a level.
 */
import { describe, expect, test } from 'vitest';
import {
  eligibleTargets, flatSolutions, makeTargetSplits, parseExpression, targetLevel, targetPrompt, verifyTarget,
} from '../../src/core/puzzles';
import { keyFromSeed } from '../../src/core/rng';

const spec = { difficulty: 2, minTarget: 0, maxTarget: 30, sizes: { train: 16, val: 4, test: 8 }, seedsPerTarget: 4 };

describe('verifier', () => {
  const level = targetLevel(2); // 2–3 operands, ≤ 7 characters

  test('accepts different expressions of the same value', () => {
    for (const answer of ['7+7', '2*7', '9+5', '9+5-0', '(3+4)*2', '2*(9-2)', ' 8*2-2 ']) {
      expect(verifyTarget(14, answer, level), answer).toMatchObject({ correct: true, value: 14 });
    }
  });

  test('rejects with the reason', () => {
    const reason = (answer: string, target = 14) => {
      const v = verifyTarget(target, answer, level);
      return v.correct ? 'correct' : v.reason;
    };
    expect(reason('')).toBe('empty');
    expect(reason('   ')).toBe('empty');
    expect(reason('7+8')).toBe('wrong');
    expect(verifyTarget(14, '7+8', level)).toMatchObject({ value: 15, detail: 'equals 15, not 14' });
    expect(reason('14')).toBe('unparsable'); // operands are single digits
    expect(reason('7++7')).toBe('unparsable');
    expect(reason('(7+7')).toBe('unparsable');
    expect(reason('7+7)')).toBe('unparsable');
    expect(reason('2 * 7')).toBe('unparsable');
    expect(reason('-2+16')).toBe('unparsable'); // no unary minus
    expect(reason('7')).toBe('too short');
    expect(reason('(7)')).toBe('too short');
    expect(reason('1+2+3+8')).toBe('too long'); // 4 operands, 7 characters: the operand limit
    expect(reason('1+1+1+1+1')).toBe('too long'); // 9 characters: the length limit
    expect(reason('-0', 0)).toBe('unparsable');
  });

  test('precedence, parentheses and no negative zero', () => {
    expect(parseExpression('2+3*4')).toEqual({ ok: true, value: 14, operands: 3 });
    expect(parseExpression('(2+3)*4')).toEqual({ ok: true, value: 20, operands: 3 });
    expect(parseExpression('9-3-2')).toEqual({ ok: true, value: 4, operands: 3 });
    expect(parseExpression('2-3*4')).toEqual({ ok: true, value: -10, operands: 3 });
    const zero = parseExpression('(0-1)*0');
    expect(zero.ok && Object.is(zero.value, 0)).toBe(true);
    expect(parseExpression('2+')).toMatchObject({ ok: false, position: 2 });
  });

  test('the parser agrees with the enumerator on every flat chain of difficulties 1 and 2', () => {
    for (const d of [1, 2]) {
      const table = flatSolutions(targetLevel(d));
      let count = 0;
      for (const [value, texts] of table) {
        for (const text of texts) {
          const p = parseExpression(text);
          if (!p.ok || p.value !== value) throw new Error(`${text}: parser ${JSON.stringify(p)}, enumerator ${value}`);
          count++;
        }
      }
      // 10²·3 chains of 2 operands, plus 10³·3² of 3 at difficulty 2.
      expect(count).toBe(d === 1 ? 300 : 300 + 9000);
    }
  });

  test('levels', () => {
    expect(targetLevel(1)).toEqual({ difficulty: 1, minOperands: 2, maxOperands: 2, maxLength: 5 });
    expect(targetLevel(3)).toEqual({ difficulty: 3, minOperands: 2, maxOperands: 4, maxLength: 9 });
    expect(() => targetLevel(4)).toThrow(/difficulty: must be an integer from 1 to 3/);
    expect(targetPrompt(14)).toBe('=14:');
  });
});

describe('seed sets and splits', () => {
  test('deterministic per key; another key draws other splits', () => {
    const a = makeTargetSplits(spec, keyFromSeed(1));
    expect(makeTargetSplits(spec, keyFromSeed(1))).toEqual(a);
    const b = makeTargetSplits(spec, keyFromSeed(2));
    expect(b.test.map((t) => t.target)).not.toEqual(a.test.map((t) => t.target));
  });

  test('splits are disjoint by target, have their sizes, and lie in the range', () => {
    for (const seed of [1, 2, 3]) {
      const s = makeTargetSplits(spec, keyFromSeed(seed));
      expect([s.train.length, s.val.length, s.test.length]).toEqual([16, 4, 8]);
      const targets = [...s.train, ...s.val, ...s.test].map((t) => t.target);
      expect(new Set(targets).size).toBe(targets.length);
      for (const t of targets) expect(t >= 0 && t <= 30).toBe(true);
      expect(new Set([...s.val, ...s.test].flatMap((t) => t.seeds)).size).toBe(0); // seeds only for training targets
    }
  });

  test('every seed answer is distinct and verifies; prompts are the targets\' prompts', () => {
    const level = targetLevel(spec.difficulty);
    const s = makeTargetSplits(spec, keyFromSeed(4));
    for (const t of s.train) {
      expect(t.prompt).toBe(`=${t.target}:`);
      expect(t.seeds).toHaveLength(4);
      expect(new Set(t.seeds).size).toBe(4);
      for (const a of t.seeds) expect(verifyTarget(t.target, a, level), `${t.prompt}${a}`).toMatchObject({ correct: true });
      expect(t.flatSolutions).toBeGreaterThanOrEqual(4);
    }
  });

  test('too few eligible targets is an error naming sizes', () => {
    // Difficulty 1: a+b, a−b, a·b reach only 19 targets in 0…40 with ≥ 4 answers.
    expect(eligibleTargets({ difficulty: 1, minTarget: 0, maxTarget: 40, seedsPerTarget: 4 })).toHaveLength(19);
    expect(() => makeTargetSplits({ ...spec, difficulty: 1, maxTarget: 40 }, keyFromSeed(1))).toThrow(/^sizes: 28 targets asked for, but only 19/);
  });
});
