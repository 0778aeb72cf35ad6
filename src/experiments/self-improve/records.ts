/**
 * What a self-improvement run stores: its metric records (one per
 * iteration, and the step-wise evaluations of the grokking view), the
 * attempts shown in the sample browser, and the state a checkpoint carries.
 * Each is a valibot schema and the type it infers, so a record read back
 * from IndexedDB or an imported run.jsonl is checked before a page reads it.
 */
import * as v from 'valibot';
import { FAMILY_NAMES, SPLIT_NAMES } from '../../core/puzzles';
import { count, real, realOrNull, realRecord, str } from '../schemas';

const perSplit = v.object({ train: real, val: real, test: real });
const perSplitTable = v.object({ train: realRecord, val: realRecord, test: realRecord });

/** One iteration's evaluation and what its loop counted. */
export const iterationRecord = v.object({
  kind: v.literal('iteration'),
  iteration: count,
  /** Optimizer steps so far (warm start included). */
  step: count,
  seconds: real,
  /** Greedy accuracy per split (fraction; NaN for an empty split). */
  accuracy: perSplit,
  /** pass@k and pass@1 with the unbiased estimator; null when pass@k is off. */
  passAtK: v.nullable(perSplit),
  passAt1: v.nullable(perSplit),
  /** Greedy accuracy per split by difficulty ("3" → 0.5) and by family. */
  byDifficulty: perSplitTable,
  byFamily: perSplitTable,
  /** Attempts sampled, correct attempts, unique solutions kept this iteration, and in total. */
  attempted: count,
  correctAttempts: count,
  kept: count,
  keptTotal: count,
  /** Problems solved by rationalisation this iteration. */
  rationalized: count,
  /** Mean of the last training losses read (nats per token); null when nothing trained. */
  trainLoss: realOrNull,
  /** ‖θ‖₂ over every parameter. */
  weightNorm: real,
  /** The highest difficulty the loop attempted. */
  curriculumLevel: count,
});
export type IterationRecord = v.InferOutput<typeof iterationRecord>;

/** Train and validation accuracy (≤ 200 problems each) at an optimizer step: the grokking view's points. */
export const evalRecord = v.object({
  kind: v.literal('eval'),
  step: count,
  train: real,
  val: real,
  weightNorm: real,
});
export type EvalRecord = v.InferOutput<typeof evalRecord>;

/** The arms of a residue-table run: with the config's weight decay, and the comparison copy with none. */
export const ARMS = ['decay', 'none'] as const;
export type Arm = (typeof ARMS)[number];

/**
 * A residue-table run's evaluation of one arm at an optimizer step, on every
 * pair of both splits: the grokking views' points (docs/grokking.md).
 */
export const grokRecord = v.object({
  kind: v.literal('grok'),
  arm: v.picklist(ARMS),
  step: count,
  /** Seconds since the run started. */
  seconds: real,
  /** Greedy accuracy (fraction) and mean cross-entropy (nats) of the answer token, on every train and validation pair. */
  train: real,
  val: real,
  trainLoss: real,
  valLoss: real,
  /** ‖θ‖₂ over every parameter, and over the views weight decay acts on (matrices and embeddings; core/metrics/fourier). */
  weightNorm: real,
  decayedNorm: real,
  /** The residue embeddings' Fourier spectrum (core/metrics/fourier embeddingFourier): shares[i] is frequency i + 1's. */
  fourier: v.object({
    shares: v.array(real),
    constantShare: real,
    topShare: real,
    topM: count,
    normalizedEntropy: real,
    effectiveFrequencies: real,
    keyFrequencies: v.array(count),
    keyShare: real,
  }),
});
export type GrokRecord = v.InferOutput<typeof grokRecord>;

export const record = v.variant('kind', [iterationRecord, evalRecord, grokRecord], 'must be an iteration, eval or grok record');
export type SelfImproveRecord = v.InferOutput<typeof record>;

/** Where sample sets and checkpoints belong: after iteration i (0 is the warm start). */
export const position = v.object({ iteration: count });
export type SelfImprovePosition = v.InferOutput<typeof position>;

/** One problem's attempts in an iteration, for the sample browser. */
export const attemptRow = v.object({
  split: v.picklist(SPLIT_NAMES),
  family: v.picklist(FAMILY_NAMES),
  difficulty: count,
  prompt: str,
  answer: str,
  attempts: v.array(v.object({ text: str, correct: v.boolean(), reason: v.nullable(str) })),
});
export type AttemptRow = v.InferOutput<typeof attemptRow>;

/** What a checkpoint carries besides the models; bump STATE_VERSION when it changes. */
export const STATE_VERSION = 1;
export const state = v.object({
  /** Every solution kept so far, as [prompt, answer] in canonical form. */
  kept: v.array(v.tuple([str, str])),
  curriculumLevel: count,
  /** Optimizer steps so far. */
  step: count,
});
export type LoopState = v.InferOutput<typeof state>;
