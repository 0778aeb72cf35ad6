/**
 * What a collapse run stores: per mode and generation what its model and
 * samples measured, the real corpus measured the same way, the likelihood
 * histograms, the sample viewer's rows, and the state a checkpoint carries.
 * Each is a valibot schema and the type it infers.
 */
import * as v from 'valibot';
import { count, real, realOrNull, str } from '../schemas';
import { COLLAPSE_MODES } from './config';

const mode = v.picklist(COLLAPSE_MODES);

/** What each generation of each mode measured. null: not computed (see the matching note). */
export const generationRecord = v.object({
  kind: v.literal('generation'),
  mode,
  generation: count,
  /** The modes this row's model belongs to: generation 0 is one model shared by every mode (its row repeats per mode). */
  sharedBy: v.array(mode),
  /** exp(mean negative log-likelihood per token) on the held-out real sentences (words and the end token). */
  perplexity: real,
  /** Share of samples the grammar accepts (an unfinished sample counts as invalid); null without a grammar. */
  validity: realOrNull,
  /** Mean true log-likelihood (nats) of the accepted samples under the grammar; null without a grammar or accepted samples. */
  trueLogLik: realOrNull,
  distinct1: real,
  distinct2: real,
  selfBleu: real,
  /** Unigram entropy of the samples' words, bits. */
  entropy: real,
  /** Share of the real corpus's rare words among the samples' words, relative to the real corpus (real = 1). */
  tailMass: real,
  /** 1 − mean pairwise cosine similarity of sentence embeddings; null when not computed. */
  embeddingDiversity: realOrNull,
  /** Why embeddingDiversity is null, or the embedding model used. */
  embeddingNote: str,
  /** Mean sentence length of the samples, words. */
  meanLength: real,
  /** Sentences the model trained on this generation, and the share of them that were real. */
  dataSize: count,
  realShare: real,
  /** Mean of the last training losses read (nats per token). */
  trainLoss: realOrNull,
  seconds: real,
});
export type GenerationRecord = v.InferOutput<typeof generationRecord>;

/** The real corpus measured the same way: the line every curve is compared with. */
export const referenceRecord = v.object({
  kind: v.literal('reference'),
  corpus: str,
  vocabularySize: count,
  rareWords: count,
  /** exp(mean −log P_true per token) of the held-out sentences under the grammar: the best possible perplexity; null without a grammar. */
  truePerplexity: realOrNull,
  /** Mean true log-likelihood of the real sentences; null without a grammar. */
  trueLogLik: realOrNull,
  distinct1: real,
  distinct2: real,
  selfBleu: real,
  entropy: real,
  meanLength: real,
  /** Why validity and true likelihood are missing, when they are. */
  note: v.nullable(str),
});
export type ReferenceRecord = v.InferOutput<typeof referenceRecord>;

/** Per-token log-likelihood of a generation's samples under the generation-0 model, on fixed bins. */
export const histogramRecord = v.object({
  kind: v.literal('histogram'),
  mode,
  generation: count,
  edges: v.array(real),
  counts: v.array(count),
  clipped: count,
});
export type HistogramRecord = v.InferOutput<typeof histogramRecord>;

export const record = v.variant('kind', [generationRecord, referenceRecord, histogramRecord], 'must be a generation, reference or histogram record');
export type CollapseRecord = v.InferOutput<typeof record>;

/** Where a sample set belongs ({generation, mode}), or a checkpoint (after every mode of a generation: mode null). */
export const position = v.object({ generation: count, mode: v.nullable(mode) });
export type CollapsePosition = v.InferOutput<typeof position>;

/** A row of the sample viewer: a prompt and one generation's continuation ('viewer'), or a free sample ('sample'). */
export const viewerRow = v.object({
  kind: v.picklist(['viewer', 'sample']),
  mode,
  generation: count,
  prompt: str,
  text: str,
  /** null without a grammar. */
  valid: v.nullable(v.boolean()),
  reason: v.nullable(str),
});
export type ViewerRow = v.InferOutput<typeof viewerRow>;

const sentences = v.array(v.array(str));

/** What a checkpoint carries besides the models; bump STATE_VERSION when it changes. */
export const STATE_VERSION = 1;
export const state = v.object({
  /** Generation 0's samples. */
  gen0Samples: sentences,
  /** Per mode: the data the next generation is built from (the last samples, or everything so far), and the last samples. */
  modes: v.record(mode, v.object({ pool: sentences, samples: sentences })),
});
export type CollapseState = v.InferOutput<typeof state>;
