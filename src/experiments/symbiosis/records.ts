/**
 * What a symbiosis run stores: its metric records (what a replicate drew
 * and built, the static set, each method's Student after each generation,
 * the hard examples each Symbiosis generation mined, and Table 1 at the
 * end), the rows of the sample browser, where sample sets and checkpoints
 * belong, and the state a checkpoint carries. Each is a valibot schema and
 * the type it infers, so a record read back from IndexedDB or an imported
 * run.jsonl is checked before a page reads it.
 */
import * as v from 'valibot';
import { count, real, realOrNull, str } from '../schemas';
import { HARD_SELECTORS } from './hard';
import { SYMBIOSIS_METHODS } from './methods';

const method = v.picklist(SYMBIOSIS_METHODS, `must be one of ${SYMBIOSIS_METHODS.join(', ')}`);
const shares = v.array(real);
const droppedReasons = v.record(v.string(), count);

/** One method's Student after one generation. */
export const generationRecord = v.object({
  kind: v.literal('generation'),
  replicate: count,
  method,
  generation: count,
  /** Generation 0 is one Student shared by every method (its row repeats per method); so is a generation one method copies from another (methods.ts, sameAs). */
  sharedBy: v.array(method),
  /** Test accuracy (fraction) and its Wilson 95% interval over testN examples. */
  testAccuracy: real,
  testLow: real,
  testHigh: real,
  testN: count,
  valAccuracy: real,
  /** Mean of the last objective values read (classification + lmWeight · write, nats); null at generation 0 or without data. */
  trainLoss: realOrNull,
  /** The objective as read during this generation's training: [the method's Student step (counted across generations), nats], every 10 steps. */
  lossCurve: v.array(v.tuple([count, real])),
  /** Examples trained on this generation, and their label shares (K fractions; null without data). */
  dataSize: count,
  labelShares: v.nullable(shares),
  /** Share of the test examples the Student labels as each class (K fractions): a Student collapsed onto one class shows here. */
  predictedShares: shares,
  /** Share of the data the Student labelled as its given label before training on it; null at generation 0 or without data. */
  studentAgreement: realOrNull,
  /** Distinct-2 and Self-BLEU (3-gram) of the data's words; null when there is no data. */
  distinct2: realOrNull,
  selfBleu: realOrNull,
  /** Outputs written this generation, and dropped (empty or unusable), by reason. */
  generated: count,
  dropped: count,
  droppedReasons,
  /** Where the data came from, in words. */
  source: str,
  /** Optimizer steps this generation, and seconds since the run began. */
  steps: count,
  seconds: real,
});
export type GenerationRecord = v.InferOutput<typeof generationRecord>;

/** A hard example as the page lists it: its text, the label the Generator was given, the Student's label, its score. */
const hardExample = v.object({ text: str, label: str, predicted: str, score: real });

/** The hard examples a Symbiosis generation mined. */
export const hardExamplesRecord = v.object({
  kind: v.literal('hard-examples'),
  replicate: count,
  /** The method that mined them (runs before the lab had Symbiosis-balanced stored none: Symbiosis). */
  method: v.optional(method, 'symbiosis'),
  /** 'ranked': the K hardest (the original); 'per-class': a quota of K/classes per class (Symbiosis-balanced). */
  quota: v.optional(v.picklist(['ranked', 'per-class']), 'ranked'),
  generation: count,
  selector: v.picklist(HARD_SELECTORS),
  minedOn: v.picklist(['validation', 'pool']),
  count,
  /** Label shares of the hard examples (the labels the Generator is given). */
  labelShares: shares,
  /** Share whose label the Student got wrong (validation only; null on the unlabelled pool). */
  misclassified: realOrNull,
  meanScore: real,
  /** The first 10, hardest first. */
  examples: v.array(hardExample),
});
export type HardExamplesRecord = v.InferOutput<typeof hardExamplesRecord>;

/** The static set, written once per replicate. */
export const staticSetRecord = v.object({
  kind: v.literal('static-set'),
  replicate: count,
  generated: count,
  dropped: count,
  droppedReasons,
  size: count,
  distinct2: realOrNull,
  selfBleu: realOrNull,
});
export type StaticSetRecord = v.InferOutput<typeof staticSetRecord>;

/** What a replicate drew and built. */
export const setupRecord = v.object({
  kind: v.literal('setup'),
  replicate: count,
  dataset: str,
  labelNames: v.array(str),
  sizes: v.object({ pool: count, val: count, test: count, seedSet: count }),
  /** Share of each class among the test labels (K fractions). */
  testLabelShares: shares,
  vocabSize: count,
  contextLength: count,
  parameters: count,
  /** Final losses (nats per token) of the Student's pretraining and of the tiny Generator's training; null when it did not train. */
  pretrainLoss: realOrNull,
  generatorLoss: realOrNull,
  /** The Generator, in words. */
  generator: str,
  /** Naive Bayes (core/metrics/naive-bayes) on the Student's tokens of the real rows Real trains on, tested on the test set: the simple baseline line. */
  naiveBayes: v.optional(v.nullable(v.object({ accuracy: real, low: real, high: real, trainRows: count }))),
});
export type SetupRecord = v.InferOutput<typeof setupRecord>;

/**
 * The Generator's quality, measured once per replicate on the static set it
 * wrote (balanced over the classes, before any adaptation): what a classifier
 * learns from its samples alone, how varied they are, and how well it
 * predicts real held-out text of each class.
 */
export const generatorRecord = v.object({
  kind: v.literal('generator'),
  replicate: count,
  /** The config's generator ('corpus', 'tiny', 'pretrained'), its name in words, and where it came from. */
  generator: v.picklist(['corpus', 'tiny', 'pretrained']),
  name: str,
  origin: v.picklist(['trained', 'loaded', 'pretrained']),
  /** Labelled rows it learnt from (corpus: its own corpus; tiny: the seed set); null: not known (pretrained). */
  corpusRows: v.nullable(count),
  /** Its parameters, optimizer steps and final training loss (nats per token); null: not known or not trained here. */
  parameters: v.nullable(count),
  steps: v.nullable(count),
  trainLoss: realOrNull,
  /** The samples the quality is measured on (the static set) and their label shares. */
  samples: count,
  /** Naive Bayes trained on the samples alone, on the Student's tokens, tested on the test set (fraction, Wilson 95%); null: no samples. */
  classifierAccuracy: realOrNull,
  classifierLow: realOrNull,
  classifierHigh: realOrNull,
  /** The same classifier trained on as many real pool rows: what the samples would give were they real. */
  realAccuracy: realOrNull,
  /** Distinct-2 of the samples' words, and of as many real pool rows. */
  distinct2: realOrNull,
  realDistinct2: realOrNull,
  /** Per class: exp(mean NLL per token) of real test texts of that class under the Generator prompted with the class (its own tokens); null: not computable (perplexityNote says why). */
  perplexity: v.array(realOrNull),
  perplexityNote: v.nullable(str),
  /** A few samples per class, in class order. */
  examples: v.array(v.object({ label: str, text: str })),
});
export type GeneratorRecord = v.InferOutput<typeof generatorRecord>;

/** An accuracy (fraction) with its 95% interval; NaN bounds: not computable. */
export const accuracyInterval = v.object({ mean: real, low: real, high: real });
export type AccuracyInterval = v.InferOutput<typeof accuracyInterval>;

/** The class a final Student predicts most often on the test set, and that class's share of its predictions, of the test labels and of its last data (null: it had none). */
export const topClass = v.object({ label: str, predicted: real, inTest: real, inData: realOrNull });
export type TopClass = v.InferOutput<typeof topClass>;

export const table1Row = v.object({
  method,
  /** Test accuracy of generation 0 (the pretrained Student, shared by all methods). */
  initial: accuracyInterval,
  /** Test accuracy after the last generation. */
  final: accuracyInterval,
  /** final − initial (mean over replicates; interval over replicates, NaN with one). */
  change: accuracyInterval,
  /** Per replicate: the final test accuracy. */
  finals: v.array(real),
  /** Per replicate: the final Student's most-predicted class (table.ts); null where it cannot be told. */
  finalTopClass: v.array(v.nullable(topClass)),
});
export type Table1Row = v.InferOutput<typeof table1Row>;

/** Table 1: per method the initial and final test accuracy and their change, with intervals. */
export const table1 = v.object({
  numClasses: count,
  labelNames: v.array(str),
  /** 1/K. */
  chance: real,
  replicates: count,
  testSize: count,
  generations: count,
  /** 'replicates': t-intervals of the mean over replicates; 'wilson': one replicate, Wilson intervals of its test accuracy. */
  interval: v.picklist(['replicates', 'wilson']),
  rows: v.array(table1Row),
});
export type Table1 = v.InferOutput<typeof table1>;

/** Table 1 and its summary sentences, once the run has finished. */
export const tableRecord = v.object({ kind: v.literal('table'), table: table1, summary: v.array(str) });
export type TableRecord = v.InferOutput<typeof tableRecord>;

export const record = v.variant(
  'kind', [generationRecord, hardExamplesRecord, staticSetRecord, setupRecord, generatorRecord, tableRecord],
  'must be a generation, hard-examples, static-set, setup, generator or table record',
);
export type SymbiosisRecord = v.InferOutput<typeof record>;

/** Where sample sets and checkpoints belong: a replicate (0-based), a generation, a method (null for a checkpoint, which holds every method). */
export const position = v.object({ replicate: count, generation: count, method: v.nullable(method) });
export type SymbiosisPosition = v.InferOutput<typeof position>;

/** A row of the sample browser: one training example of a method's generation. */
export const sampleRow = v.object({
  replicate: count,
  generation: count,
  method,
  text: str,
  label: str,
  /** The hard example it was written around (Symbiosis), else null. */
  prompt: v.nullable(v.object({ text: str, label: str })),
  /** The Student's label for it before training on it, and whether that was its given label. */
  predicted: str,
  correct: v.boolean(),
  /** HELPED_DEFINITION (report.ts), nats. */
  helped: real,
});
export type SampleRow = v.InferOutput<typeof sampleRow>;

/** A labelled example (label: the class id). */
const example = v.object({ text: str, label: count });

/** A corpus Generator trained in this replicate: what its parameters (extra 'generator') need to be written again or saved (generator.ts). */
const trainedGenerator = v.object({
  config: v.object({ vocabSize: count, contextLength: count, dModel: count, nLayers: count, nHeads: count }),
  tokenizer: v.unknown(),
  maxTokens: count,
  corpusRows: count,
  /** Its corpus's fingerprints, base64 (generator.ts, hashesToBase64). */
  corpusHashes: str,
  steps: count,
  trainLoss: realOrNull,
});
export type TrainedGenerator = v.InferOutput<typeof trainedGenerator>;

/** What a checkpoint carries besides the models; bump STATE_VERSION when it changes. 2: the corpus Generator. */
export const STATE_VERSION = 2;
export const state = v.object({
  /** The static set (written once per replicate). */
  staticSet: v.array(example),
  /** Per Symbiosis method, the examples that helped its Student most last generation (the pretrained Generator's few-shot). */
  helped: v.record(method, v.array(example)),
  /** Each method's optimizer steps so far (the x axis of its loss curve). */
  steps: v.record(method, count),
  /** The pretrained Generator's model, in words, once it has written. */
  generatorModel: v.nullable(str),
  /** The corpus Generator this replicate trained (null: none, or it was loaded from a file, which the run reads again). */
  trainedGenerator: v.nullable(trainedGenerator),
});
export type ReplicateState = v.InferOutput<typeof state>;
