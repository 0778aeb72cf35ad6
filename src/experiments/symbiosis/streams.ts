/**
 * The run's random streams, named in one place. Replicate r draws every
 * phase from streamKey(replicateKey(runKey, r), tag, …parts); the parts
 * are the generation and, where methods differ, the method's stream number
 * (methods.ts). Fixed forever: changing a tag changes every run's results.
 */
import type { Key } from '../../core/rng';
import { streamKey } from '../session';

export const STREAM = {
  /** foldIn(runKey, replicate) then the replicate number: the replicate's root. */
  replicate: 1,
  /** Its pool / validation / test draw. */
  splits: 2,
  /** The Student's initial parameters. */
  init: 3,
  /** The tiny Generator's seed set, and the order it learns it in. */
  seedSet: 4,
  /** The pretraining batches. */
  pretrain: 5,
  generator: 6,
  /** The static set: part 0 its labels, part 1 its writing. */
  staticSet: 7,
  /** Self-BLEU's hypotheses: part 0 the static set; (g, method) a generation's data. */
  bleu: 8,
  /** A generation's training order: (g, method). */
  train: 100,
  /** Static's subset of the static set at generation g. */
  subset: 200,
  /** Writing at generation g: (g, method, 0) the labels, (g, method, 1) the sampling. */
  write: 300,
  /** An in-lab Generator's adaptation batches at generation g (the method's stream as a part when it is not Symbiosis's: NEW with symbiosis-balanced). */
  adapt: 400,
  /** NEW (corpus Generator): its corpus cap's draw. */
  corpus: 9,
  /** NEW (corpus Generator): its initial parameters. */
  generatorInit: 10,
  /** NEW (corpus Generator): the order it learns its corpus in. */
  generatorTrain: 11,
  /** NEW (static set): which of the Generator's own rows opens each static example. */
  staticPrefix: 12,
  /** NEW (Symbiosis-balanced): generation g's anchor share, (g, 0) its labels, (g, 1) which of the Generator's own rows open them. */
  anchor: 500,
} as const;

/** The root of replicate `rep`'s streams. */
export function replicateKey(runKey: Key, rep: number): Key {
  return streamKey(runKey, STREAM.replicate, rep);
}
