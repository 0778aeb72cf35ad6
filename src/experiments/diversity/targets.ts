/**
 * The run's random streams, named in one place, and its targets: a pure
 * function of the config's task fields and the seed (the export writes them
 * as targets.jsonl).
 */
import { makeTargetSplits, type TargetSplits } from '../../core/puzzles/targets';
import { keyFromSeed } from '../../core/rng';
import { streamKey } from '../session';
import type { DiversityConfig } from './config';

/** foldIn(runKey, tag) then parts (streamKey). Fixed forever: changing one changes every run's results. */
export const STREAM = {
  /** The targets and their seed answers. */
  task: 1,
  /** Replicate r: tag 2, part r, then a REP part. */
  replicate: 2,
} as const;

/** The parts of a replicate's stream. */
export const REP = {
  /** The model's initial parameters. */
  init: 1,
  /** The warm start's quality batches. */
  warmBatches: 2,
  /** Fine-tuning's quality batches (the same for every λ). */
  fineTuneBatches: 3,
  /** The diversity estimate's prompts at step s: part s. */
  prompts: 4,
  /** The diversity estimate's samples at step s: part s. */
  samples: 5,
  /** The evaluation's samples on a split: part SPLIT_NAMES.indexOf(split). */
  evaluation: 6,
} as const;

export function runTargets(c: DiversityConfig, seed: number): TargetSplits {
  return makeTargetSplits({
    difficulty: c.difficulty, minTarget: c.minTarget, maxTarget: c.maxTarget, seedsPerTarget: c.seedsPerTarget,
    sizes: { train: c.trainTargets, val: c.valTargets, test: c.testTargets },
  }, streamKey(keyFromSeed(seed), STREAM.task));
}
