/**
 * Diversity metrics: hand-computed Distinct-n, entropy, tail mass, cosine
 * diversity and histograms; BLEU and Self-BLEU against NLTK
 * (test/reference/make_bleu_fixtures.py → fixtures/bleu/nltk-bleu.json).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  type Token, distinctN, histogram, meanPairwiseCosineDistance, rareVocabulary, relativeTailMass, selfBleu,
  selfBleuScores, sentenceBleu, tailMass, tokenEntropy,
} from '../../src/core/metrics/diversity';
import { Rng, keyFromSeed } from '../../src/core/rng';

describe('distinctN', () => {
  test('hand-computed ratios', () => {
    const seqs = [[1, 2, 1, 2], [1, 2, 3]];
    expect(distinctN(seqs, 1)).toBe(3 / 7); // tokens 1, 2, 3 of 7
    expect(distinctN(seqs, 2)).toBe(3 / 5); // (1,2)×3, (2,1), (2,3)
    expect(distinctN(seqs, 4)).toBe(1); // one 4-gram; n-grams do not cross sequences
    expect(distinctN(seqs, 5)).toBeNaN();
    expect(distinctN([], 1)).toBeNaN();
  });

  test('tokens are compared by value, without key collisions', () => {
    expect(distinctN([['a,b', 'c'], ['a', 'b,c']], 2)).toBe(1);
    expect(distinctN([[1], ['1']], 1)).toBe(1);
    expect(distinctN([['x', 'x'], ['x']], 1)).toBe(1 / 3);
    expect(() => distinctN([[1]], 0)).toThrow(/positive integer/);
  });
});

describe('BLEU and Self-BLEU match NLTK', () => {
  interface Fixture {
    source: string;
    corpora: Record<string, Token[][]>;
    cases: { corpus: string; maxN: number; smoothing: 'method1' | 'none'; perHypothesis: number[]; selfBleu: number }[];
    sentences: { name: string; references: Token[][]; hypothesis: Token[]; maxN: number; smoothing: 'method1' | 'none'; bleu: number }[];
  }
  const fx = JSON.parse(readFileSync(new URL('../reference/fixtures/bleu/nltk-bleu.json', import.meta.url), 'utf8')) as Fixture;
  // Absolute 1e-12 everywhere, and relative 1e-12 too, for the ~1e-100 scores of smoothing 'none'.
  const close = (got: number, want: number) => Math.abs(got - want) <= 1e-12 && Math.abs(got - want) <= 1e-12 * Math.abs(want) + 1e-300;

  test(`Self-BLEU per hypothesis and mean (${fx.source})`, () => {
    expect(fx.cases.length).toBeGreaterThanOrEqual(24);
    let worst = 0;
    const bad: string[] = [];
    for (const c of fx.cases) {
      const seqs = fx.corpora[c.corpus]!;
      const got = selfBleuScores(seqs, { maxN: c.maxN, smoothing: c.smoothing });
      c.perHypothesis.forEach((want, i) => {
        worst = Math.max(worst, Math.abs(got[i]! - want));
        if (!close(got[i]!, want)) bad.push(`${c.corpus} N=${c.maxN} ${c.smoothing} #${i}: ${got[i]} vs ${want}`);
      });
      const mean = selfBleu(seqs, { maxN: c.maxN, smoothing: c.smoothing });
      if (!close(mean, c.selfBleu)) bad.push(`${c.corpus} N=${c.maxN} ${c.smoothing} mean: ${mean} vs ${c.selfBleu}`);
    }
    console.log(`Self-BLEU vs NLTK: largest difference ${worst.toExponential(2)}`);
    expect(bad).toEqual([]);
  });

  test('sentence BLEU with given references (NLTK docstring examples)', () => {
    const bad = fx.sentences
      .map((s) => ({ s, got: sentenceBleu(s.hypothesis, s.references, { maxN: s.maxN, smoothing: s.smoothing }) }))
      .filter(({ s, got }) => !close(got, s.bleu))
      .map(({ s, got }) => `${s.name} N=${s.maxN} ${s.smoothing}: ${got} vs ${s.bleu}`);
    expect(bad).toEqual([]);
    const party1 = fx.sentences.find((s) => s.name === 'party-1' && s.maxN === 4)!;
    expect(party1.bleu.toFixed(8)).toMatch(/^0\.5045/); // NLTK's docs print 0.5045...
  });

  test('default settings are 3-gram, method1; fewer than two sequences is NaN', () => {
    const seqs = fx.corpora['sentences']!;
    expect(selfBleu(seqs)).toBe(selfBleu(seqs, { maxN: 3, smoothing: 'method1', epsilon: 0.1 }));
    expect(selfBleu([['a', 'b']])).toBeNaN();
    expect(selfBleu([['a', 'b', 'c'], ['a', 'b', 'c']])).toBe(1);
    expect(sentenceBleu(['a'], [])).toBeNaN();
  });

  test('a seeded subsample scores the chosen hypotheses against all others', () => {
    const seqs = fx.corpora['random-40']!;
    const full = selfBleuScores(seqs);
    const key = keyFromSeed(3);
    const sub = selfBleuScores(seqs, { maxHypotheses: 10, key });
    const chosen = [...sub.keys()].filter((i) => !Number.isNaN(sub[i]!));
    expect(chosen).toHaveLength(10);
    for (const i of chosen) expect(sub[i]).toBe(full[i]);
    expect(selfBleuScores(seqs, { maxHypotheses: 10, key })).toEqual(sub);
    expect(selfBleuScores(seqs, { maxHypotheses: 10, key: keyFromSeed(4) })).not.toEqual(sub);
    expect(selfBleu(seqs, { maxHypotheses: 10, key })).toBeCloseTo(chosen.reduce((a, i) => a + full[i]!, 0) / 10, 14);
    expect(() => selfBleu(seqs, { maxHypotheses: 10 })).toThrow(/key is required/);
  });
});

describe('entropy and tail mass', () => {
  test('tokenEntropy in bits', () => {
    expect(tokenEntropy([['a', 'b'], ['a', 'a']])).toBeCloseTo(-(0.75 * Math.log2(0.75) + 0.25 * Math.log2(0.25)), 14);
    expect(tokenEntropy([[0, 1], [2, 3]])).toBe(2);
    expect(tokenEntropy([[7, 7, 7]])).toBe(0);
    expect(tokenEntropy([[], []])).toBeNaN();
  });

  test('rare vocabulary: least frequent first, ties by token value, never above the share', () => {
    const ref = [['a', 'a', 'b', 'd'], ['a', 'b', 'a', 'c', 'a', 'b']]; // a:5 b:3 c:1 d:1, 10 tokens
    const r = rareVocabulary(ref, 0.2);
    expect([...r.tokens].sort()).toEqual(['c', 'd']);
    expect(r.referenceShare).toBe(0.2);
    const r15 = rareVocabulary(ref, 0.15); // c and d tie at 1; c sorts first, d would exceed 1.5 tokens
    expect([...r15.tokens]).toEqual(['c']);
    expect(r15.referenceShare).toBe(0.1);
    expect(rareVocabulary([[3, 1, 2, 1]], 0.5).tokens).toEqual(new Set([2, 3])); // ties among ids: ascending
    expect(tailMass([['c', 'a', 'x', 'd']], r.tokens)).toBe(0.5);
    expect(relativeTailMass([['c', 'a', 'x', 'd']], r)).toBeCloseTo(2.5, 14);
    expect(relativeTailMass(ref, r)).toBe(1); // the reference scores 1 by construction
    expect(relativeTailMass([['a', 'b']], r)).toBe(0);
    expect(relativeTailMass(ref, rareVocabulary(ref, 0.05))).toBeNaN(); // the rarest token alone exceeds 5%
    expect(tailMass([[]], r.tokens)).toBeNaN();
    expect(() => rareVocabulary(ref, 0)).toThrow(/tailShare/);
  });
});

describe('meanPairwiseCosineDistance', () => {
  test('hand-computed values', () => {
    // cos: (e1,e2) 0, (e1,[1,1]) 1/√2, (e2,[1,1]) 1/√2 → mean √2/3.
    expect(meanPairwiseCosineDistance([[1, 0], [0, 1], [1, 1]])).toBeCloseTo(1 - Math.SQRT2 / 3, 14);
    expect(meanPairwiseCosineDistance([[2, 0], [0, 5], [3, 3]])).toBeCloseTo(1 - Math.SQRT2 / 3, 14); // scale-free
    expect(meanPairwiseCosineDistance([[1, 2], [2, 4]])).toBeCloseTo(0, 14);
    expect(meanPairwiseCosineDistance([[1, 0], [-1, 0]])).toBe(2);
    expect(meanPairwiseCosineDistance([[1, 0]])).toBeNaN();
    expect(() => meanPairwiseCosineDistance([[1, 0], [0, 0]])).toThrow(/vector 1 has zero/);
    expect(() => meanPairwiseCosineDistance([[1, 0], [0, 1, 2]])).toThrow(/length 3/);
  });

  test('equals the naive all-pairs sum and the closed form', () => {
    const rng = Rng.fromSeed(11);
    const N = 37;
    const D = 5;
    const vecs = Array.from({ length: N }, () => Float32Array.from({ length: D }, () => rng.normal() + 0.3));
    const unit = vecs.map((v) => {
      const n = Math.hypot(...v);
      return Array.from(v, (x) => x / n);
    });
    let naive = 0;
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) naive += unit[i]!.reduce((s, x, k) => s + x * unit[j]![k]!, 0);
    const want = 1 - naive / ((N * (N - 1)) / 2);
    // For unit vectors Σ_{i<j} u_i·u_j = (‖Σ u_i‖² − N) / 2.
    const sum = Array.from({ length: D }, (_, k) => unit.reduce((s, u) => s + u[k]!, 0));
    const closed = 1 - (sum.reduce((s, x) => s + x * x, 0) - N) / (N * (N - 1));
    expect(Math.abs(closed - want)).toBeLessThan(1e-12);
    expect(Math.abs(meanPairwiseCosineDistance(vecs) - want)).toBeLessThan(1e-12);
  });
});

describe('histogram', () => {
  test('fixed edges, clipped values in the end bins, NaN dropped', () => {
    const h = histogram([-1, 0, 0.25, 0.5, 0.999, 1, 2, NaN, -Infinity], { min: 0, max: 1, bins: 4 });
    expect(h.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(h.counts).toEqual([3, 1, 1, 3]);
    expect(h).toMatchObject({ clippedLow: 2, clippedHigh: 1, clipped: 3, dropped: 1 });
  });

  test('every edge value lands in the bin that starts there', () => {
    for (const [min, max, bins] of [[-1.3, 2.9, 7], [0, 0.3, 3], [0, 1, 10], [1e-3, 7e-3, 6]] as const) {
      const h = histogram([], { min, max, bins });
      for (let b = 0; b < bins; b++) {
        expect(histogram([h.edges[b]!], { min, max, bins }).counts[b]).toBe(1);
        expect(histogram([(h.edges[b]! + h.edges[b + 1]!) / 2], { min, max, bins }).counts[b]).toBe(1);
      }
      expect(histogram([max], { min, max, bins }).counts[bins - 1]).toBe(1);
    }
    expect(() => histogram([1], { min: 1, max: 1, bins: 2 })).toThrow(/min < max/);
    expect(() => histogram([1], { min: 0, max: 1, bins: 0 })).toThrow(/bins/);
  });
});
