/**
 * The collapse lab's "real" language: the grammar's sampler and its exact
 * parser agree (every sample parses; log-probabilities are the product of
 * arc and emission probabilities), Z is exact (brute-force enumeration on a
 * small grammar, Monte Carlo frequencies on the classroom one), and the
 * parser's errors say where and why.
 */
import { describe, expect, test } from 'vitest';
import { classroomGrammar } from '../../src/core/grammar/classroom';
import { Grammar, type GrammarSpec } from '../../src/core/grammar/grammar';
import { Rng } from '../../src/core/rng';

/** a (b | c)* with the end possible after each word; maxWords 3. */
const tiny: GrammarSpec = {
  name: 'tiny',
  start: 's',
  maxWords: 3,
  classes: [
    { name: 'A', words: ['a'], zipf: 0, description: 'an a' },
    { name: 'BC', words: ['b', 'c'], zipf: 1, description: 'a b or c' },
  ],
  states: {
    s: { arcs: [{ cls: 'A', p: 1, to: 't' }], end: 0 },
    t: { arcs: [{ cls: 'BC', p: 0.5, to: 't' }], end: 0.5 },
  },
};

describe('grammar', () => {
  test('exact probabilities on a tiny grammar: enumeration sums to 1 after truncation', () => {
    const g = new Grammar(tiny);
    // P(a) = .5; P(a x) = .5·emit(x)·.5; emit(b) = 1/(1+1/2) = 2/3, emit(c) = 1/3.
    expect(Math.exp(g.logZ)).toBeCloseTo(0.5 + 0.25 + 0.125, 12); // lengths 1, 2, 3
    const emit = { b: 2 / 3, c: 1 / 3 };
    const a = g.parse(['a']);
    expect(a.valid && Math.exp(a.logProb)).toBeCloseTo(0.5 / 0.875, 12);
    const abc = g.parse(['a', 'b', 'c']);
    expect(abc.valid && Math.exp(abc.logProb)).toBeCloseTo((0.5 * emit.b * 0.5 * emit.c * 0.5) / 0.875, 12);
    let total = 0;
    const words = ['b', 'c'];
    const all: string[][] = [['a']];
    for (const x of words) all.push(['a', x]);
    for (const x of words) for (const y of words) all.push(['a', x, y]);
    for (const s of all) {
      const p = g.parse(s);
      expect(p.valid).toBe(true);
      if (p.valid) total += Math.exp(p.logProb);
    }
    expect(total).toBeCloseTo(1, 12);
    expect(g.parse(['a', 'b', 'b', 'b'])).toMatchObject({ valid: false, reason: 'longer than 3 words' });
  });

  test('classroom: every sample parses, sampling is seeded, frequencies match the exact probabilities', () => {
    const g = classroomGrammar();
    const draw = (seed: number, n: number) => {
      const rng = Rng.fromSeed(seed);
      return Array.from({ length: n }, () => g.sample(rng).join(' '));
    };
    expect(draw(5, 50)).toEqual(draw(5, 50));
    expect(draw(5, 50)).not.toEqual(draw(6, 50));
    const n = 20_000;
    const counts = new Map<string, number>();
    for (const s of draw(7, n)) {
      const p = g.parse(s.split(' '));
      expect(p.valid, s).toBe(true);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    // The most frequent sentences: observed count within 5 standard deviations of n·P.
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    for (const [s, c] of top) {
      const p = g.parse(s.split(' '));
      if (!p.valid) throw new Error(s);
      const prob = Math.exp(p.logProb);
      expect(Math.abs(c - n * prob), s).toBeLessThan(5 * Math.sqrt(n * prob * (1 - prob)) + 1);
    }
  });

  test('the parser says where and why a sentence is not grammatical', () => {
    const g = classroomGrammar();
    expect(g.parse('the cats sleeps'.split(' '))).toEqual({ valid: false, reason: '"sleeps" (a singular intransitive verb) cannot come after "cats"', at: 2 });
    expect(g.parse('the cat'.split(' '))).toEqual({ valid: false, reason: 'cannot end after "cat"', at: 2 });
    expect(g.parse('the zebra sleeps'.split(' '))).toEqual({ valid: false, reason: '"zebra" is not a word of the grammar', at: 1 });
    expect(g.parse('sleeps'.split(' '))).toMatchObject({ valid: false, at: 0, reason: expect.stringContaining('at the start') });
    expect(g.parse([])).toMatchObject({ valid: false, reason: 'empty sentence' });
    expect(g.parse('alice sees the old red dogs near bob'.split(' ')).valid).toBe(true);
  });

  test('a malformed grammar is rejected naming the state, class or word', () => {
    expect(() => new Grammar({ ...tiny, states: { ...tiny.states, t: { arcs: [{ cls: 'BC', p: 0.4, to: 't' }], end: 0.5 } } }))
      .toThrow(/state t: probabilities sum to 0.9/);
    expect(() => new Grammar({ ...tiny, states: { ...tiny.states, s: { arcs: [{ cls: 'X', p: 1, to: 't' }], end: 0 } } }))
      .toThrow(/state s has an arc of unknown class X/);
    expect(() => new Grammar({ ...tiny, classes: [...tiny.classes, { name: 'D', words: ['b'], zipf: 0, description: '' }] }))
      .toThrow(/word "b" is in classes BC and D/);
    expect(() => new Grammar({
      ...tiny, states: { ...tiny.states, s: { arcs: [{ cls: 'A', p: 0.5, to: 't' }, { cls: 'A', p: 0.5, to: 's' }], end: 0 } },
    })).toThrow(/two arcs of class A/);
  });
});
