/**
 * Train / validation / test splits that never share a puzzle.
 *
 * A puzzle's split is decided by a hash of its canonical form (family and
 * prompt), not by the order it was drawn in: a puzzle is always in the same
 * split, whatever the seed, so no seed can leak a test puzzle into training.
 * The seed decides which puzzles are drawn. Boolean families are balanced
 * (half true, half false in each split) by rejecting surplus draws.
 */
import { type Key, Rng, foldIn } from '../rng';
import { generatePuzzle } from './families';
import type { FamilyName, Puzzle } from './types';

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface SplitSpec {
  families: readonly FamilyName[];
  /** Inclusive difficulty range, each puzzle uniform in it. */
  minDifficulty: number;
  maxDifficulty: number;
  sizes: Record<SplitName, number>;
  /** Share of the hash space owned by each split, e.g. {train: .8, val: .1, test: .1}. */
  fractions: Record<SplitName, number>;
}

export type Splits = Record<SplitName, Puzzle[]>;

/** FNV-1a 32-bit hash of a string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function canonicalForm(p: Puzzle): string {
  return `${p.family}|${p.prompt}`;
}

/** The split a puzzle belongs to, from its hash and the fractions. */
export function splitOf(p: Puzzle, fractions: Record<SplitName, number>): SplitName {
  const u = fnv1a(canonicalForm(p)) / 2 ** 32;
  const total = fractions.train + fractions.val + fractions.test;
  if (u < fractions.train / total) return 'train';
  if (u < (fractions.train + fractions.val) / total) return 'val';
  return 'test';
}

/**
 * Draw puzzles until every split has its size. Throws, naming the split, if
 * the puzzle space is too small (e.g. modular arithmetic with a small p).
 */
export function makeSplits(spec: SplitSpec, key: Key): Splits {
  if (spec.families.length === 0) throw new Error('families: choose at least one puzzle family');
  if (spec.minDifficulty > spec.maxDifficulty) {
    throw new Error(`minDifficulty: ${spec.minDifficulty} is above maxDifficulty ${spec.maxDifficulty}`);
  }
  const out: Splits = { train: [], val: [], test: [] };
  const seen = new Set<string>();
  // Boolean answers per split: a draw is kept only if it does not put one side more than one ahead.
  const trueCount: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  const falseCount: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  const rng = new Rng(key);
  const want = spec.sizes.train + spec.sizes.val + spec.sizes.test;
  const maxDraws = 200 * want + 1000;
  for (let draw = 0; draw < maxDraws; draw++) {
    if (SPLIT_NAMES.every((s) => out[s].length >= spec.sizes[s])) return out;
    const family = spec.families[rng.int(spec.families.length)]!;
    const difficulty = spec.minDifficulty + rng.int(spec.maxDifficulty - spec.minDifficulty + 1);
    const p = generatePuzzle(family, foldIn(key, draw), difficulty);
    const id = canonicalForm(p);
    if (seen.has(id)) continue;
    const split = splitOf(p, spec.fractions);
    if (out[split].length >= spec.sizes[split]) continue;
    if (p.answerKind === 'boolean') {
      const isTrue = p.answer === 'true';
      if (isTrue ? trueCount[split] > falseCount[split] : falseCount[split] > trueCount[split]) continue;
      if (isTrue) trueCount[split]++;
      else falseCount[split]++;
    }
    seen.add(id);
    out[split].push(p);
  }
  const short = SPLIT_NAMES.filter((s) => out[s].length < spec.sizes[s])
    .map((s) => `${s} has ${out[s].length} of ${spec.sizes[s]}`);
  throw new Error(`sizes: not enough distinct puzzles for these families and difficulties (${short.join(', ')}); lower the sizes or widen the difficulty range`);
}
