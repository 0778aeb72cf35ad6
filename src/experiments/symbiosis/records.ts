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
});
export type SetupRecord = v.InferOutput<typeof setupRecord>;

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
  'kind', [generationRecord, hardExamplesRecord, staticSetRecord, setupRecord, tableRecord],
  'must be a generation, hard-examples, static-set, setup or table record',
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

/** What a checkpoint carries besides the models; bump STATE_VERSION when it changes. */
export const STATE_VERSION = 1;
export const state = v.object({
  /** The static set (written once per replicate). */
  staticSet: v.array(example),
  /** The examples that helped the Symbiosis Student most last generation (the pretrained Generator's few-shot). */
  helped: v.array(example),
  /** Each method's optimizer steps so far (the x axis of its loss curve). */
  steps: v.record(method, count),
  /** The pretrained Generator's model, in words, once it has written. */
  generatorModel: v.nullable(str),
});
export type ReplicateState = v.InferOutput<typeof state>;
