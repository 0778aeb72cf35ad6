/**
 * What a diversity run stores: its metric records (the diagnostics taken
 * while fine-tuning, one evaluation per model and split, and the aggregates
 * over replicates), the prompts shown in the sample viewer, where a sample
 * set or checkpoint belongs ({replicate, lambda}), and the state a checkpoint
 * carries. Each is a valibot schema and the type it infers, so a record read
 * back from IndexedDB or an imported run.jsonl is checked before a page reads
 * it. Symbols (J̄, L_q, g_J, …) as in docs/diversity.md.
 */
import * as v from 'valibot';
import { TARGET_FAILURES } from '../../core/puzzles/targets';
import { SPLIT_NAMES } from '../../core/puzzles/splits';
import { count, real, realOrNull, str } from '../schemas';
import { OBJECTIVES } from './config';

const objective = v.picklist(OBJECTIVES);
const split = v.picklist(SPLIT_NAMES);
/** 'base': the warm-started model every λ starts from (lambda null). */
const model = v.picklist(['base', 'fine-tuned']);

/** The metrics of an evaluation, in the order the page's tables show them. */
export const EVAL_METRICS = [
  'quality', 'passAtK', 'distinct2', 'selfBleu', 'editDiversity', 'embeddingDiversity', 'distinctCorrect', 'novelCorrect',
] as const;
export type EvalMetric = (typeof EVAL_METRICS)[number];

/** The diagnostics aggregated over replicates. */
export const DIAGNOSTIC_METRICS = ['lossShare', 'gradShare', 'diversityScore', 'qualityLoss', 'gradCosine', 'halvesAgreement'] as const;
export type DiagnosticMetric = (typeof DIAGNOSTIC_METRICS)[number];

/** Loss and gradient shares of the diversity term at one step of one (replicate, λ) fine-tuning. */
export const diagnosticRecord = v.object({
  kind: v.literal('diagnostic'),
  objective,
  lambda: real,
  replicate: count,
  /** Fine-tuning step (0: before the first update). */
  step: count,
  /** L_q: the quality rows' loss, nats per token. */
  qualityLoss: real,
  /** J̄: the mean over the P prompts of D (additive) or of mean_S f(S) (polychromic). */
  diversityScore: real,
  /** |λ·J̄| / (|L_q| + |λ·J̄|). */
  lossShare: real,
  /** λ‖g_J‖ / (‖g_q‖ + λ‖g_J‖). */
  gradShare: real,
  qualityGradNorm: real,
  /** ‖g_J‖: the surrogate rows' gradient norm at λ = 1 (what any λ scales). */
  diversityGradNorm: real,
  /** cos(g_q, g_J) of the two loss gradients: > 0 they pull the same way; null when either is 0. */
  gradCosine: realOrNull,
  /**
   * cos of the surrogate gradients of two disjoint halves of the P prompts:
   * near 0, the estimate is mostly sampling noise (a large share of noise
   * steers nothing); null when P = 1 or a half's gradient is 0.
   */
  halvesAgreement: realOrNull,
  /** Share of the P·n training samples that verify, and of distinct texts per prompt. */
  sampleQuality: real,
  sampleDistinct: real,
});
export type DiagnosticRecord = v.InferOutput<typeof diagnosticRecord>;

/** An object schema with the same schema under each key (built key by key: the mapped type says what each key holds). */
function each<const K extends string, S extends v.GenericSchema>(keys: readonly K[], schema: S) {
  return v.object(Object.fromEntries(keys.map((k) => [k, schema])) as Record<K, S>);
}

/** Verdict counts over evaluation samples: correct, and each way an answer fails. */
export const validityTally = each(['correct', ...TARGET_FAILURES], count);
export type ValidityTally = v.InferOutput<typeof validityTally>;

/** One model (the base or one λ) of one replicate on one split. */
export const evaluationRecord = v.object({
  kind: v.literal('evaluation'),
  objective,
  model,
  /** null for the base model. */
  lambda: realOrNull,
  replicate: count,
  split,
  prompts: count,
  samplesPerPrompt: count,
  /** Share of correct samples = mean pass@1 (unbiased, c/n per prompt). */
  quality: real,
  k: count,
  /** Mean pass@k, unbiased estimator. */
  passAtK: real,
  /** Within each prompt's samples, averaged over the prompts where computable; null when none (see notes). */
  distinct2: realOrNull,
  selfBleu: realOrNull,
  /** D of each prompt's samples (the additive objective's own measure). */
  editDiversity: realOrNull,
  embeddingDiversity: realOrNull,
  /** Mean number of distinct correct answers per prompt, and of those outside the prompt's seed set (all of them on held-out targets). */
  distinctCorrect: real,
  novelCorrect: real,
  validity: validityTally,
  /** Why a metric is null, and which embedding model was used, by metric. */
  notes: v.record(v.string(), str),
  /** Mean over this fine-tuning's diagnostics; null for the base model or without diagnostics. */
  lossShare: realOrNull,
  gradShare: realOrNull,
  /** Mean of the last quality losses read during fine-tuning (or the warm start); null when none was read. */
  trainLoss: realOrNull,
  seconds: real,
});
export type EvaluationRecord = v.InferOutput<typeof evaluationRecord>;

/** Mean and 95% CI (Student t) over replicates; null where not computable (fewer than 2 values for the bounds). */
export const interval = v.object({ mean: realOrNull, low: realOrNull, high: realOrNull, n: count });
export type Interval = v.InferOutput<typeof interval>;

const evalIntervals = each(EVAL_METRICS, interval);
const diagnosticIntervals = each(DIAGNOSTIC_METRICS, interval);

/** One split's evaluations of one model over replicates. */
export const splitAggregate = v.object({
  /** Mean and CI over replicates. */
  metrics: evalIntervals,
  /** This λ minus λ = 0, paired by replicate; null for the base model or when λ = 0 is not in the sweep. */
  change: v.nullable(evalIntervals),
  /** Verdicts summed over replicates. */
  validity: validityTally,
});
export type SplitAggregate = v.InferOutput<typeof splitAggregate>;

/** What one model (the base, or one λ) did over the replicates: the part shared by every split. */
const lambdaEntries = {
  /** null: the base model. */
  lambda: realOrNull,
  /** Replicates with an evaluation of this model. */
  replicates: count,
  /** Per replicate the mean over its diagnostics, then mean and CI over replicates; null for the base model. */
  diagnostics: v.nullable(diagnosticIntervals),
  /** What is missing and why ("one replicate: no confidence intervals", …). */
  notes: v.array(str),
};

/** One model over replicates, every split: an entry of the summary. */
export const lambdaAggregate = v.object({ ...lambdaEntries, splits: v.partial(v.object({ train: splitAggregate, val: splitAggregate, test: splitAggregate })) });
export type LambdaAggregate = v.InferOutput<typeof lambdaAggregate>;

/** One model (the base, or one λ) on one split, over replicates: emitted once the sweep is done. */
export const aggregateRecord = v.object({
  kind: v.literal('aggregate'),
  model,
  split,
  ...lambdaEntries,
  ...splitAggregate.entries,
});
export type AggregateRecord = v.InferOutput<typeof aggregateRecord>;

export const record = v.variant('kind', [diagnosticRecord, evaluationRecord, aggregateRecord], 'must be a diagnostic, evaluation or aggregate record');
export type DiversityRecord = v.InferOutput<typeof record>;

/** Where sample sets and checkpoints belong: after replicate r's base model (lambda null) or its fine-tuning with λ. */
export const position = v.object({ replicate: count, lambda: realOrNull });
export type DiversityPosition = v.InferOutput<typeof position>;

/** A position in the lab's words ("replicate 2, λ = 0.3"; replicates count from 1). */
export function describePosition(at: DiversityPosition): string {
  return `replicate ${at.replicate + 1}, ${at.lambda === null ? 'the base model' : `λ = ${at.lambda}`}`;
}

/** One evaluation prompt answered by one model, for the sample viewer. */
export const promptRow = v.object({
  model,
  lambda: realOrNull,
  replicate: count,
  split,
  target: count,
  prompt: str,
  /** The prompt's seed answers (the quality data on seen targets). */
  seeds: v.array(str),
  samples: v.array(v.object({
    text: str,
    correct: v.boolean(),
    /** Why a wrong answer fails, and in words; null when correct. */
    reason: v.nullable(v.picklist(TARGET_FAILURES)),
    detail: v.nullable(str),
  })),
});
export type PromptRow = v.InferOutput<typeof promptRow>;

/**
 * What a checkpoint carries besides the models (the current one, and the
 * replicate's base in `extra.base`): nothing — the position says which unit
 * is done, and every unit starts from the base or a fresh init. Bump
 * STATE_VERSION when that changes.
 */
export const STATE_VERSION = 1;
export const state = v.strictObject({});
export type DiversityState = v.InferOutput<typeof state>;
