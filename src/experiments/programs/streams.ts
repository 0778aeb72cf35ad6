/**
 * The run's random streams, named in one place, and its puzzles: the same
 * draw as the self-improvement lab's (its runSplits, stream tag 1), so the
 * same seed and puzzle settings give both labs the same puzzles and the
 * direct-answer mode can be read beside the program mode. Fixed forever:
 * changing a tag changes every run's results.
 */
import { type Puzzle, type Splits, canonicalForm, fnv1a, hiddenPuzzles } from '../../core/puzzles';
import { type Key, foldIn } from '../../core/rng';
import { runSplits } from '../self-improve/splits';
import { streamKey } from '../session';
import type { ProgramsConfig } from './config';

export const STREAM = {
  /** The puzzles (shared with the self-improvement lab). */
  splits: 1,
  /** The GPT coder's initial parameters. */
  init: 2,
  /** A puzzle's hidden inputs: part fnv1a(its canonical form), so a puzzle has the same ones wherever it is listed. */
  hidden: 3,
  /** The GPT coder's warm-start programs (part 0), their puzzles (part 1) and its batches (part 2). */
  warmStart: 4,
  /** Iteration i uses tag 1000 + i, with a PART. */
  iteration: 1000,
} as const;

/** The parts of an iteration's stream; writing also folds in the split's index. */
export const PART = { write: 0, fineTune: 1 } as const;

export function programSplits(c: ProgramsConfig, seed: number): Splits {
  return runSplits(c, seed);
}

/** A puzzle's hidden inputs (core/puzzles hiddenPuzzles), drawn from the run's key; too many for its level is an error naming hiddenInputs. */
export function hiddenFor(runKey: Key, p: Puzzle, count: number): Puzzle[] {
  try {
    return hiddenPuzzles(p, foldIn(streamKey(runKey, STREAM.hidden), fnv1a(canonicalForm(p))), count);
  } catch (e) {
    throw new Error(`hiddenInputs: ${e instanceof Error ? e.message.replace(/^count: /, '') : String(e)}`, { cause: e });
  }
}
