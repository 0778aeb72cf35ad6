/**
 * The run's random streams, named in one place, and its puzzles: a pure
 * function of the config's data fields and the seed (the page shows them
 * and the export writes them as puzzles.jsonl).
 */
import { type Splits, makeSplits } from '../../core/puzzles';
import { residueSplits } from '../../core/puzzles/residues';
import { keyFromSeed } from '../../core/rng';
import { streamKey } from '../session';
import type { SelfImproveConfig } from './config';

/** foldIn(runKey, tag) then parts (streamKey). Fixed forever: changing one changes every run's results. */
export const STREAM = {
  /** The puzzles. */
  splits: 1,
  /** The model's initial parameters. */
  init: 2,
  /** Iteration i (0: the warm start) uses tag 1000 + i, with a PART. */
  iteration: 1000,
  /** The grokking view's evaluation after step s: part s. */
  stepEval: 10_000,
} as const;

/** The parts of an iteration's stream. */
export const PART = { attempt: 0, fineTune: 1, evaluate: 2, rationalize: 3 } as const;

/** Pairs a residue-table run trains on: round(trainFraction · p²); every other pair validates, none tests. */
export function residueTrainCount(c: Pick<SelfImproveConfig, 'modulus' | 'trainFraction'>): number {
  return Math.round(c.trainFraction * c.modulus ** 2);
}

/** The run's splits: its puzzles, or (task residue table) the table's pairs shuffled by the same stream. */
export function labSplits(c: SelfImproveConfig, seed: number): Splits {
  if (c.task !== 'residue table') return runSplits(c, seed);
  const train = residueTrainCount(c);
  return residueSplits(c.modulus, c.operation, { train, val: c.modulus ** 2 - train, test: 0 }, streamKey(keyFromSeed(seed), STREAM.splits));
}

/** The puzzle fields of a config; the programs lab draws its puzzles here too, so one seed gives both labs the same puzzles. */
export type PuzzleFields = Pick<SelfImproveConfig, 'families' | 'minDifficulty' | 'maxDifficulty' | 'trainSize' | 'valSize' | 'testSize'>;

export function runSplits(c: PuzzleFields, seed: number): Splits {
  return makeSplits({
    families: c.families, minDifficulty: c.minDifficulty, maxDifficulty: c.maxDifficulty,
    sizes: { train: c.trainSize, val: c.valSize, test: c.testSize },
    fractions: { train: 0.7, val: 0.15, test: 0.15 },
  }, streamKey(keyFromSeed(seed), STREAM.splits));
}
