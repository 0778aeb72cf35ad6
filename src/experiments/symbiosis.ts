/**
 * Generative Data Symbiosis (design §1): a Generator writes labelled
 * synthetic data, a Student is fine-tuned on it, the Student's hard examples
 * are fed back to the Generator, which is adapted to target them; repeat for
 * T generations. Three baselines run beside it on the same splits, seeds and
 * Student initialisation.
 *
 *   setup, per replicate: draw pool / validation / test (makeLabelledSplits); train a
 *     byte-level BPE on the pool texts; pretrain the Student as a plain LM on
 *     the pool texts (the analogue of pythia's pretraining, shared by every
 *     method). The tiny Generator starts from that pretrained LM and learns
 *     class-conditional text on a labelled seed set from the pool; it then
 *     writes the static set. Generation 0 is the pretrained Student before
 *     any labelled training (≈ chance).
 *   generation g = 1…T, each method in turn:
 *     real       a fresh batch of n real pool rows (consecutive slices of the
 *                shuffled pool; it wraps around only when the pool runs out)
 *     static     a random n-subset of the static set, written once up front
 *     recursive  g = 1: Static's generation 1 itself (same data, order and
 *                Student, computed once: the gen-0 Student never saw a
 *                label, so it cannot write labelled text); g ≥ 2: n examples
 *                written by this method's own Student (prompt BOS · label ·
 *                SEP), balanced over the labels
 *     symbiosis  mine K hard examples with this method's Student (on the
 *                labelled validation set as the original, or on an unlabelled
 *                pool slice with the Student's own predicted labels), adapt
 *                the Generator to them, write n examples around them
 *   then: the Student's verdict on every example (before training on it),
 *   `epochsPerGeneration` passes over the data, test and validation accuracy.
 *
 * The Student (one token per label, so one forward scores all K labels):
 *   classify  BOS · text[:maxTextTokens] · SEP → label token     weight 1 (mean over examples)
 *   write     BOS · label token · SEP → text · EOS               weight lmWeight (mean over tokens)
 * Label k's token is the byte LABEL_BYTES[k], a byte no normalised text
 * contains (at most 36 classes); SEP is the newline byte. The prediction is
 * the argmax of the K label logits at SEP; the posterior p(k | text) is their
 * softmax (restricted to the labels, as a classification head would give).
 * The write direction makes the Student a class-conditional LM (Recursive
 * needs it) and, through the tied embedding, also helps classification
 * (AG News, an earlier setting: 40% without it, 49% with it); it joins
 * `writeEpochs` of the E passes over each generation's data.
 *
 * Adapting the Generator (the original's step D):
 *   tiny        genuinely fine-tuned (`generatorAdaptSteps` steps, cumulative
 *               over generations) on the hard examples with their labels,
 *               then prompted with each hard example's label and the first
 *               `promptPrefixTokens` tokens of its text;
 *   pretrained  (ctx.generateText, browser only) cannot be fine-tuned, so its
 *               adaptation is a prompt curriculum: each hard example quoted
 *               in the original's template, plus, as few-shot examples, the
 *               synthetic examples that HELPED most in the previous generation.
 *   "Helped" (HELPED_DEFINITION): the drop of the Student's loss
 *   −log p(label | text) on that example across the generation's training.
 *   It measures how much the Student learned that example, not whether it
 *   raised test accuracy.
 *
 * Hard examples: the K highest scores of the chosen selector (hardnessScores):
 * loss −log p(y|x) (the original), predictive entropy, or the margin
 * p(y|x) − max_{j≠y} p(j|x) (smallest is hardest); y is the label, or the
 * Student's own prediction on unlabelled text.
 *
 * Reporting: every generation's test accuracy carries its Wilson 95%
 * interval; Table 1 gives per method the initial (generation 0) and final
 * accuracy and their change, as the mean ± t-interval over replicates (one
 * replicate: the Wilson interval, which covers test-set sampling only).
 * `summarize` turns the table into sentences that claim only what the
 * intervals support, and checks the write-up's claims (WRITE_UP_CLAIMS).
 *
 * Randomness: every phase draws from foldIn(runKey, tag, replicate, …); a
 * checkpoint after each generation (all methods) holds everything later
 * phases read, so a resumed run ends bit-identical to an uninterrupted one.
 */
import * as v from 'valibot';
import type { Backend } from '../core/backend';
import { DataError, type LabelledDataset, type LabelledRow, makeLabelledSplits, stratifiedSample } from '../core/data/labelled';
import type { GptConfig } from '../core/gpt/config';
import { initParams } from '../core/gpt/init';
import { DEFAULT_GENERATOR_MODEL, GENERATOR_MODEL_IDS } from '../core/models';
import { distinctN, selfBleu } from '../core/metrics/diversity';
import { binomialCI95, meanCI95 } from '../core/metrics/stats';
import { type Key, Rng, foldIn, keyFromSeed } from '../core/rng';
import { generate } from '../core/sample';
import { distinctChoices, integerIn, numberIn, positiveInt } from '../core/schema';
import { type Tokenizer, tokenizerFromJSON, trainBpe } from '../core/tokenizer';
import { type WeightedRow, weightedBatch } from '../core/train';
import { type StepPoint, epochCycler, finalLoss, phaseOptim, resetOptimizer, trainPhase } from './phases';
import { type ChatMessage, type Experiment, type MetricRecord, RunCancelled, type RunContext, type RunInput } from './types';

export const SYMBIOSIS_METHODS = ['real', 'static', 'recursive', 'symbiosis'] as const;
export type SymbiosisMethod = (typeof SYMBIOSIS_METHODS)[number];
export const HARD_SELECTORS = ['loss', 'entropy', 'margin'] as const;
export type HardSelector = (typeof HARD_SELECTORS)[number];

const METHOD_TITLES: Record<SymbiosisMethod, string> = {
  real: 'Real', static: 'Static', recursive: 'Recursive', symbiosis: 'Symbiosis',
};

/**
 * Label k's token: a byte no normalised text contains, so the label's
 * embedding (tied to its output row) serves the label alone: the bytes
 * UTF-8 never uses (0xC0, 0xC1, 0xF5–0xFF), then control bytes, which
 * `normalise` removes from every text.
 */
export const LABEL_BYTES: readonly number[] = [
  0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
];
/** The separator's byte token (newline: normalised texts never contain one). */
const SEP = 0x0a;
/** A written example with fewer words than this is dropped as unusable. */
export const MIN_WORDS = 3;
/** The name of the dataset in ctx.inputs. */
export const DATASET_INPUT = 'dataset';

export const HELPED_DEFINITION =
  "helped = the drop in the Student's loss −log p(label | text) on a synthetic example across the generation's training " +
  '(before − after, nats); it shows what the Student learned from that example, not whether the example raised test accuracy';

export interface SymbiosisConfig extends Record<string, unknown> {
  /** 'tiny': a GPT trained in the lab (CPU or GPU, offline, genuinely fine-tuned); 'pretrained': an instruct model through ctx.generateText (browser). */
  generator: 'tiny' | 'pretrained';
  /** The methods run side by side (same splits, seeds and Student init). */
  methods: SymbiosisMethod[];
  /** Independent repetitions (splits, init, sampling) folded from the run key; ≥ 2 gives t-intervals over replicates. */
  replicates: number;
  /** Real labelled rows: the Real method's fresh batches, the seed set, the Student's pretraining texts. */
  poolSize: number;
  /** Labelled validation rows: where hard examples are mined (as the original). */
  valSize: number;
  /** Test rows: every accuracy in the tables. */
  testSize: number;
  /** T: generations after generation 0. */
  generations: number;
  /** n: examples each method trains on per generation (the Real batch, the synthetic set). */
  syntheticPerGeneration: number;
  /** Size of the static set, written once up front; each generation draws n of it. */
  staticSetSize: number;
  /** Passes over a generation's data. */
  epochsPerGeneration: number;
  /** Examples per optimizer step (each gives a classify row and, with lmWeight > 0, a write row). */
  batchSize: number;
  /** Peak learning rate of the Student's labelled training (warmup, then cosine within each generation). */
  learningRate: number;
  /** AdamW's decoupled weight decay on the matrices, in every phase (0.01: light, as fine-tuning a pretrained model usually is). */
  weightDecay: number;
  /** Keep training the same Student across generations (the original); off: restart from the pretrained Student each generation. */
  continueAcrossGenerations: boolean;
  /** K: hard examples mined per Symbiosis generation. */
  hardExamples: number;
  /** How hardness is scored: 'loss' (the original), 'entropy' or 'margin'. */
  hardSelector: HardSelector;
  /** 'validation': the labelled validation set (the original); 'pool': an unlabelled pool slice of valSize rows, with the Student's predicted labels. */
  mineOn: 'validation' | 'pool';
  /** BPE vocabulary bound (bytes + 3 specials + merges). */
  vocabSize: number;
  /** Text tokens a Student sees (longer texts are cut); also the longest text a tiny model writes. */
  maxTextTokens: number;
  /** Student (and tiny Generator) width C, depth L, heads NH. */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Weight of the write direction (mean token loss) beside the classification loss (mean over examples). */
  lmWeight: number;
  /** Of the E passes of a generation, how many also train the write direction (on every example); spread evenly. */
  writeEpochs: number;
  /** Plain-LM steps on the pool texts before generation 0, and their peak learning rate. */
  pretrainSteps: number;
  pretrainLearningRate: number;
  /** Tiny Generator: labelled pool rows it learns from, its steps on them and its learning rate. */
  seedSetSize: number;
  generatorSteps: number;
  generatorLearningRate: number;
  /** Tiny Generator: fine-tuning steps on the hard examples each Symbiosis generation. */
  generatorAdaptSteps: number;
  /** Tiny Generator: tokens of each hard example's text that start the examples written around it. */
  promptPrefixTokens: number;
  /** Sampling temperature and nucleus of every writer (tiny Generator, Recursive Student, pretrained model). */
  temperature: number;
  topP: number;
  /** Pretrained Generator: the instruct model, a Hugging Face id from core/models' GENERATOR_MODELS or a URL path the app serves a model folder at. */
  pretrainedModel: string;
  /** Pretrained Generator: new tokens per output (its own tokenizer's). */
  pretrainedMaxNewTokens: number;
  /** Pretrained Generator: few-shot examples (those that helped most last generation) per Symbiosis prompt. */
  fewShotExamples: number;
  /** Pretrained Generator: the class-conditional prompt ({label} is the class name). */
  classPrompt: string;
  /** Pretrained Generator: the Symbiosis prompt around a hard example ({text}, {label}). */
  hardPrompt: string;
  /** Hypotheses per generation for Self-BLEU (3-gram, words). */
  selfBleuSamples: number;
  /** Rows per method per generation in the sample browser. */
  sampleRowsPerGeneration: number;
}

/**
 * The classroom setting (the `tiny` preset): the tiny Generator, all four
 * methods, one seed in under 4 minutes on one CPU core (AG News: ~220 s).
 * Tuned so that Real ends ≥ 25 points above chance on AG News (Real's test
 * accuracy after generation 3, seeds 1–4):
 *   - vocabulary 1536 and 24 text tokens: word-level tokens carry the topic
 *     (naive Bayes on the same tokens: 50% at 512, 62% at 1024, 69% at 2048);
 *     the LM head (V·C per position) is most of a step's cost, so d=24;
 *   - 4 passes over 800 examples per generation, batch 8 (3 passes: 46%);
 *     the write direction in 1 of the 4 passes: 56% and a third cheaper
 *     (all 4: 52.5%, 2: 54%); pretraining 300 steps (in earlier settings 50
 *     steps gave 29%, 600 no better than 300);
 *   - learning rate 3e-3 (AdamW, warmup then cosine per generation): the
 *     original's 5e-5 suits a pretrained 160M model and leaves this
 *     from-scratch GPT at chance (25.0%, seed 1); 1e-2 was worse, 5e-3 no better.
 */
export const defaultConfig: SymbiosisConfig = {
  generator: 'tiny',
  methods: [...SYMBIOSIS_METHODS],
  replicates: 1,
  poolSize: 2400,
  valSize: 200,
  testSize: 500,
  generations: 3,
  syntheticPerGeneration: 800,
  staticSetSize: 800,
  epochsPerGeneration: 4,
  batchSize: 8,
  learningRate: 3e-3,
  weightDecay: 0.01,
  continueAcrossGenerations: true,
  hardExamples: 50,
  hardSelector: 'loss',
  mineOn: 'validation',
  vocabSize: 1536,
  maxTextTokens: 24,
  dModel: 24,
  nLayers: 1,
  nHeads: 2,
  lmWeight: 0.3,
  writeEpochs: 1,
  pretrainSteps: 300,
  pretrainLearningRate: 3e-3,
  seedSetSize: 200,
  generatorSteps: 150,
  generatorLearningRate: 3e-3,
  generatorAdaptSteps: 20,
  promptPrefixTokens: 4,
  temperature: 0.9,
  topP: 0.95,
  pretrainedModel: DEFAULT_GENERATOR_MODEL,
  pretrainedMaxNewTokens: 96,
  fewShotExamples: 2,
  classPrompt: 'Write a short news article (2–3 sentences) in the category {label}. Only the article.',
  hardPrompt:
    'The following text, labelled {label}, was difficult for a student model:\n"{text}"\n' +
    'Write clear teaching material on its concepts: a new short text (2–3 sentences) in the category {label}. Only the text.',
  selfBleuSamples: 100,
  sampleRowsPerGeneration: 100,
};

const template = (...fields: string[]) =>
  v.pipe(
    v.string('must be text'),
    v.check((s) => fields.every((f) => s.includes(`{${f}}`)), `must contain ${fields.map((f) => `{${f}}`).join(' and ')}`),
  );

const schema = v.pipe(
  v.strictObject({
    generator: v.picklist(['tiny', 'pretrained'], "must be 'tiny' or 'pretrained'"),
    methods: distinctChoices(SYMBIOSIS_METHODS, 'method'),
    replicates: integerIn(1, 100),
    poolSize: integerIn(10, 500_000),
    valSize: integerIn(2, 100_000),
    testSize: integerIn(2, 100_000),
    generations: integerIn(1, 100),
    syntheticPerGeneration: integerIn(2, 100_000),
    staticSetSize: integerIn(2, 1_000_000),
    epochsPerGeneration: integerIn(1, 100),
    batchSize: integerIn(1, 1024),
    learningRate: numberIn(0, 1),
    weightDecay: numberIn(0, 10),
    continueAcrossGenerations: v.boolean('must be true or false'),
    hardExamples: integerIn(1, 100_000),
    hardSelector: v.picklist(HARD_SELECTORS, `must be one of ${HARD_SELECTORS.join(', ')}`),
    mineOn: v.picklist(['validation', 'pool'], "must be 'validation' or 'pool'"),
    vocabSize: integerIn(259, 8192),
    maxTextTokens: integerIn(4, 1024),
    dModel: positiveInt(),
    nLayers: integerIn(1, 32),
    nHeads: positiveInt(),
    lmWeight: numberIn(0, 10),
    writeEpochs: integerIn(0, 100),
    pretrainSteps: integerIn(0, 1_000_000),
    pretrainLearningRate: numberIn(0, 1),
    seedSetSize: integerIn(1, 100_000),
    generatorSteps: integerIn(0, 1_000_000),
    generatorLearningRate: numberIn(0, 1),
    generatorAdaptSteps: integerIn(0, 1_000_000),
    promptPrefixTokens: integerIn(0, 1024),
    temperature: numberIn(0, 10),
    topP: numberIn(0.01, 1),
    pretrainedModel: v.pipe(
      v.string('must be a model id'),
      v.check(
        (x) => GENERATOR_MODEL_IDS.includes(x) || /^\/[\w./-]+$/.test(x),
        `must be one of ${GENERATOR_MODEL_IDS.join(', ')}, or a path the app serves a model folder at (starting with /)`,
      ),
    ),
    pretrainedMaxNewTokens: integerIn(8, 4096),
    fewShotExamples: integerIn(0, 20),
    classPrompt: template('label'),
    hardPrompt: template('text', 'label'),
    selfBleuSamples: integerIn(2, 10_000),
    sampleRowsPerGeneration: integerIn(0, 100_000),
  }),
  v.forward(v.check((c) => c.dModel % c.nHeads === 0, (i) => `must divide dModel (${i.input.dModel})`), ['nHeads']),
  v.forward(v.check((c) => c.promptPrefixTokens < c.maxTextTokens, (i) => `must be less than maxTextTokens (${i.input.maxTextTokens})`), ['promptPrefixTokens']),
  v.forward(v.check((c) => c.seedSetSize <= c.poolSize, (i) => `must be ≤ poolSize (${i.input.poolSize})`), ['seedSetSize']),
  v.forward(
    v.check((c) => c.mineOn !== 'pool' || c.valSize <= c.poolSize, (i) => `must be ≤ poolSize (${i.input.poolSize}) when mining on the pool`),
    ['valSize'],
  ),
  v.forward(
    v.check((c) => !c.methods.includes('recursive') || c.lmWeight > 0, 'must be > 0 when Recursive runs: its Student writes the next data'),
    ['lmWeight'],
  ),
  v.forward(v.check((c) => c.writeEpochs <= c.epochsPerGeneration, (i) => `must be ≤ epochsPerGeneration (${i.input.epochsPerGeneration})`), ['writeEpochs']),
  v.forward(
    v.check((c) => !c.methods.includes('recursive') || c.writeEpochs > 0, 'must be > 0 when Recursive runs: its Student writes the next data'),
    ['writeEpochs'],
  ),
) as unknown as v.GenericSchema<unknown, SymbiosisConfig>;

// --- the dataset input ---------------------------------------------------------------

/**
 * The run's dataset from ctx.inputs: UTF-8 JSON of a LabelledDataset. Throws
 * a DataError naming the field (`splits.train[3].label`); a missing input
 * says to choose a dataset.
 */
export function parseDatasetInput(input: RunInput | undefined): LabelledDataset {
  if (!input) {
    throw new DataError('dataset', null, null, 'no dataset: choose one in the setup (headless: --data DIR, a folder with train*.jsonl and test.jsonl)');
  }
  const source = input.name;
  const fail = (field: string | null, problem: string): never => {
    throw new DataError(source, null, field, problem);
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input.bytes));
  } catch (e) {
    return fail(null, `not a dataset (expected UTF-8 JSON of a labelled dataset: ${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(null, 'expected a JSON object {name, source, labelNames, splits}');
  const d = json as Record<string, unknown>;
  if (typeof d.name !== 'string') fail('name', 'must be a string');
  if (!Array.isArray(d.labelNames)) return fail('labelNames', 'must be a list of class names');
  const labelNames = d.labelNames as unknown[];
  labelNames.forEach((n, i) => {
    if (typeof n !== 'string' || n.trim() === '') fail(`labelNames[${i}]`, 'must be a non-empty string');
  });
  if (new Set(labelNames).size !== labelNames.length) fail('labelNames', 'lists a class twice');
  const K = labelNames.length;
  if (K < 2) fail('labelNames', `${K} class${K === 1 ? '' : 'es'}: a classifier needs at least 2`);
  if (K > LABEL_BYTES.length) {
    fail('labelNames', `${K} classes: the Student gives each class its own one-byte token, and there are ${LABEL_BYTES.length}`);
  }
  if (typeof d.splits !== 'object' || d.splits === null || Array.isArray(d.splits)) return fail('splits', 'must be an object: split name → rows');
  const splits: Record<string, LabelledRow[]> = {};
  for (const [name, rows] of Object.entries(d.splits as Record<string, unknown>)) {
    if (!Array.isArray(rows)) return fail(`splits.${name}`, 'must be a list of rows {text, label}');
    splits[name] = rows.map((row: unknown, i) => {
      const at = `splits.${name}[${i}]`;
      if (typeof row !== 'object' || row === null) return fail(at, 'must be an object {text, label}');
      const { text, label } = row as Record<string, unknown>;
      if (typeof text !== 'string' || text.trim() === '') return fail(`${at}.text`, 'must be a non-empty string');
      if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= K) {
        return fail(`${at}.label`, `must be a class id 0…${K - 1}, got ${JSON.stringify(label)}`);
      }
      return { text, label };
    });
  }
  if (Object.keys(splits).length === 0) fail('splits', 'has no split');
  return {
    name: d.name as string,
    source: (d.source ?? { kind: 'file', fileName: source }) as LabelledDataset['source'],
    labelNames: labelNames as string[],
    splits,
  };
}

// --- hard examples -------------------------------------------------------------------

/**
 * Hardness of each example from the Student's posteriors (n rows of K
 * probabilities); higher is harder. y = labels[i], or the argmax when
 * `labels` is null (unlabelled text: the Student's own label).
 *   loss     −log p(y)
 *   entropy  −Σ_k p(k) log p(k)            (label-free)
 *   margin   −(p(y) − max_{j≠y} p(j))     (a small or negative margin is hard)
 */
export function hardnessScores(
  posteriors: readonly ArrayLike<number>[], labels: readonly number[] | null, selector: HardSelector,
): Float64Array {
  return Float64Array.from(posteriors, (p, i) => {
    const y = labels ? labels[i]! : argmax(p);
    switch (selector) {
      case 'loss':
        return -Math.log(Math.max(p[y]!, 1e-300));
      case 'entropy': {
        let h = 0;
        for (let k = 0; k < p.length; k++) if (p[k]! > 0) h -= p[k]! * Math.log(p[k]!);
        return h;
      }
      case 'margin': {
        let other = -Infinity;
        for (let k = 0; k < p.length; k++) if (k !== y) other = Math.max(other, p[k]!);
        return -(p[y]! - other);
      }
      default:
        return selector satisfies never;
    }
  });
}

/** Indices of the k highest scores (hardnessScores), hardest first (ties: lower index first). */
export function hardest(scores: ArrayLike<number>, k: number): number[] {
  return [...Array(scores.length).keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
}

/** Indices of the k hardest examples by `selector`, hardest first. */
export function selectHard(
  posteriors: readonly ArrayLike<number>[], labels: readonly number[] | null, selector: HardSelector, k: number,
): number[] {
  return hardest(hardnessScores(posteriors, labels, selector), k);
}

function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
  return best;
}

// --- Table 1 and the summary -------------------------------------------------------

/** An accuracy (fraction) with its 95% interval; NaN bounds: not computable. */
export interface AccuracyInterval {
  mean: number;
  low: number;
  high: number;
}

export interface Table1Row {
  method: SymbiosisMethod;
  /** Test accuracy of generation 0 (the pretrained Student, shared by all methods). */
  initial: AccuracyInterval;
  /** Test accuracy after the last generation. */
  final: AccuracyInterval;
  /** final − initial (mean over replicates; interval over replicates, NaN with one). */
  change: AccuracyInterval;
  /** Per replicate: the final test accuracy. */
  finals: number[];
  /**
   * Per replicate: the class the final Student predicts most often on the
   * test set, and that class's share of its predictions, of the test labels,
   * and of the last generation's training data (null: it had none). null
   * for a replicate whose records predate these shares (a run resumed
   * across an update of the lab).
   */
  finalTopClass: (TopClass | null)[];
}

export interface TopClass {
  label: string;
  predicted: number;
  inTest: number;
  inData: number | null;
}

/**
 * A Student has collapsed onto one class when it gives that class at least
 * half of the room between its true share and all of the test set (K = 4,
 * balanced: ≥ 62.5% of the predictions; K = 2: ≥ 75%).
 */
export const isCollapsedOntoOneClass = (t: TopClass) => t.predicted >= t.inTest + (1 - t.inTest) / 2;

export interface Table1 {
  numClasses: number;
  labelNames: string[];
  /** 1/K. */
  chance: number;
  replicates: number;
  testSize: number;
  generations: number;
  /** 'replicates': t-intervals of the mean over replicates; 'wilson': one replicate, Wilson intervals of its test accuracy. */
  interval: 'replicates' | 'wilson';
  rows: Table1Row[];
}

/** A write-up claim, as data the table can check. */
export type Claim =
  | { text: string; kind: 'beats'; better: SymbiosisMethod; worse: SymbiosisMethod[] }
  | { text: string; kind: 'improves'; method: SymbiosisMethod }
  | { text: string; kind: 'above-chance'; method: SymbiosisMethod };

/** What the write-up's prose claims (its own table reports Real 84.0, Static 41.0, Recursive 26.8, Symbiosis 25.0%). */
export const WRITE_UP_CLAIMS: Claim[] = [
  { text: 'Symbiosis improves on Static', kind: 'beats', better: 'symbiosis', worse: ['static'] },
  { text: 'Symbiosis beats Recursive', kind: 'beats', better: 'symbiosis', worse: ['recursive'] },
  { text: 'Real is the upper bound', kind: 'beats', better: 'real', worse: ['static', 'recursive', 'symbiosis'] },
  { text: 'Symbiosis improves the Student across generations', kind: 'improves', method: 'symbiosis' },
];

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} points`;
const bounds = (a: AccuracyInterval) => (Number.isFinite(a.low) && Number.isFinite(a.high) ? ` [${pct(a.low)}, ${pct(a.high)}]` : ' [interval not computable]');
const hasInterval = (a: AccuracyInterval) => Number.isFinite(a.low) && Number.isFinite(a.high);

/** 'above': a's interval lies wholly above b's; 'below': wholly below; 'overlap'; 'unknown': an interval is missing. */
function separation(a: AccuracyInterval, b: AccuracyInterval): 'above' | 'below' | 'overlap' | 'unknown' {
  if (!hasInterval(a) || !hasInterval(b)) return 'unknown';
  if (a.low > b.high) return 'above';
  if (a.high < b.low) return 'below';
  return 'overlap';
}

/**
 * Table 1 in sentences that state only what the intervals support: each
 * method's final accuracy with its interval; a flag where the interval
 * includes chance; a comparison of two methods only where their intervals do
 * not overlap (otherwise "within noise"); and each claim checked —
 * supported (intervals separate the claimed way), contradicted (separate the
 * other way), or not shown (they overlap, or a method did not run).
 */
export function summarize(table: Table1, claims: readonly Claim[] = WRITE_UP_CLAIMS): string[] {
  const lines: string[] = [];
  const how = table.interval === 'replicates'
    ? `95% intervals are t-intervals of the mean over ${table.replicates} replicates (${table.testSize} test examples each)`
    : `one replicate: 95% intervals are Wilson intervals of its test accuracy (n = ${table.testSize}); they cover test-set sampling only, not seed-to-seed variation, so run more replicates before concluding`;
  lines.push(`Test accuracy after generation 0 (initial) and ${table.generations} (final); ${table.numClasses} classes, chance ${pct(table.chance)}; ${how}.`);
  const byMethod = new Map(table.rows.map((r) => [r.method, r]));
  for (const r of table.rows) {
    const chanceFlag = hasInterval(r.final) && r.final.low <= table.chance && table.chance <= r.final.high
      ? ` Its interval includes chance (${pct(table.chance)}): not distinguishable from guessing.`
      : hasInterval(r.final) && r.final.high < table.chance ? ` It is below chance (${pct(table.chance)}).` : '';
    lines.push(`${METHOD_TITLES[r.method]}: final ${pct(r.final.mean)}${bounds(r.final)} (initial ${pct(r.initial.mean)}, change ${points(r.change.mean)}).${chanceFlag}`);
    const collapsed = r.finalTopClass.flatMap((t, rep) => (t !== null && isCollapsedOntoOneClass(t) ? [{ t, rep }] : []));
    if (collapsed.length > 0) {
      const { t, rep } = collapsed.reduce((a, b) => (b.t.predicted > a.t.predicted ? b : a));
      const where = table.replicates > 1 ? ` in ${collapsed.length} of ${table.replicates} replicates (at most: replicate ${rep + 1})` : '';
      const data = t.inData === null ? '' : ` Its last generation's training data was ${pct(t.inData)} ${t.label}.`;
      lines.push(`${METHOD_TITLES[r.method]}'s final Student has collapsed onto one class${where}: it labels ${pct(t.predicted)} of the test set ${t.label}, whose true share is ${pct(t.inTest)}.${data}`);
    }
  }
  for (let i = 0; i < table.rows.length; i++) {
    for (let j = i + 1; j < table.rows.length; j++) {
      const a = table.rows[i]!;
      const b = table.rows[j]!;
      const s = separation(a.final, b.final);
      const [hi, lo] = a.final.mean >= b.final.mean ? [a, b] : [b, a];
      if (s === 'above' || s === 'below') {
        lines.push(`${METHOD_TITLES[hi.method]} > ${METHOD_TITLES[lo.method]}: ${pct(hi.final.mean)} vs ${pct(lo.final.mean)}, the intervals do not overlap.`);
      } else {
        const why = s === 'unknown' ? 'no interval to compare' : 'the intervals overlap';
        lines.push(`${METHOD_TITLES[a.method]} vs ${METHOD_TITLES[b.method]}: the difference (${Math.abs(100 * (a.final.mean - b.final.mean)).toFixed(1)} points) is within noise (${why}).`);
      }
    }
  }
  for (const claim of claims) lines.push(`Write-up claim "${claim.text}": ${checkClaim(claim, byMethod, table.chance)}.`);
  return lines;
}

function checkClaim(claim: Claim, rows: ReadonlyMap<SymbiosisMethod, Table1Row>, chance: number): string {
  switch (claim.kind) {
    case 'beats': {
      const missing = [claim.better, ...claim.worse].filter((m) => !rows.has(m));
      if (missing.length > 0) return `not checked (${missing.map((m) => METHOD_TITLES[m]).join(', ')} did not run)`;
      const a = rows.get(claim.better)!;
      const verdicts = claim.worse.map((m) => ({ m, s: separation(a.final, rows.get(m)!.final) }));
      const against = verdicts.filter((x) => x.s === 'below');
      if (against.length > 0) {
        return `CONTRADICTED: ${against.map((x) => METHOD_TITLES[x.m]).join(', ')} ${against.length > 1 ? 'are' : 'is'} higher than ${METHOD_TITLES[claim.better]} and the intervals do not overlap`;
      }
      const open = verdicts.filter((x) => x.s !== 'above');
      if (open.length > 0) {
        return `not shown: ${METHOD_TITLES[claim.better]} vs ${open.map((x) => METHOD_TITLES[x.m]).join(', ')} is within noise`;
      }
      return 'supported: the intervals do not overlap';
    }
    case 'improves': {
      const r = rows.get(claim.method);
      if (!r) return `not checked (${METHOD_TITLES[claim.method]} did not run)`;
      const s = separation(r.final, r.initial);
      if (s === 'below') return `CONTRADICTED: ${METHOD_TITLES[claim.method]} ends below where it started (${pct(r.final.mean)} < ${pct(r.initial.mean)}), intervals apart`;
      if (s === 'above') return `supported: ${pct(r.initial.mean)} → ${pct(r.final.mean)}, intervals apart`;
      return `not shown: ${pct(r.initial.mean)} → ${pct(r.final.mean)} is within noise`;
    }
    case 'above-chance': {
      const r = rows.get(claim.method);
      if (!r) return `not checked (${METHOD_TITLES[claim.method]} did not run)`;
      if (!hasInterval(r.final)) return 'not shown: no interval';
      if (r.final.high < chance) return `CONTRADICTED: below chance (${pct(r.final.mean)})`;
      if (r.final.low > chance) return 'supported';
      return `not shown: the interval includes chance (${pct(chance)})`;
    }
    default:
      return claim satisfies never;
  }
}

// --- records -----------------------------------------------------------------------

/** One method's Student after one generation. */
export interface GenerationRecord extends MetricRecord {
  kind: 'generation';
  replicate: number;
  method: SymbiosisMethod;
  generation: number;
  /** Generation 0 is one Student shared by every method (its row repeats per method). */
  sharedBy: SymbiosisMethod[];
  /** Test accuracy (fraction) and its Wilson 95% interval over testN examples. */
  testAccuracy: number;
  testLow: number;
  testHigh: number;
  testN: number;
  valAccuracy: number;
  /** Mean of the last objective values read (classification + lmWeight · write, nats); null at generation 0. */
  trainLoss: number | null;
  /** The objective as read during this generation's training: [the method's Student step (counted across generations), nats], every 10 steps. */
  lossCurve: [number, number][];
  /** Examples trained on this generation, and their label shares (K fractions; null without data). */
  dataSize: number;
  labelShares: number[] | null;
  /** Share of the test examples the Student labels as each class (K fractions): a Student collapsed onto one class shows here. */
  predictedShares: number[];
  /** Share of the data the Student labelled as its given label before training on it; null at generation 0. */
  studentAgreement: number | null;
  /** Distinct-2 and Self-BLEU (3-gram) of the data's words; null when there is no data. */
  distinct2: number | null;
  selfBleu: number | null;
  /** Outputs written this generation, and dropped (empty or unusable), by reason. */
  generated: number;
  dropped: number;
  droppedReasons: Record<string, number>;
  /** Where the data came from, in words. */
  source: string;
  steps: number;
  seconds: number;
}

/** The hard examples a Symbiosis generation mined. */
export interface HardExamplesRecord extends MetricRecord {
  kind: 'hard-examples';
  replicate: number;
  generation: number;
  selector: HardSelector;
  minedOn: 'validation' | 'pool';
  count: number;
  /** Label shares of the hard examples (the labels the Generator is given). */
  labelShares: number[];
  /** Share whose label the Student got wrong (validation only; null on the unlabelled pool). */
  misclassified: number | null;
  meanScore: number;
  examples: { text: string; label: string; predicted: string; score: number }[];
}

/** The static set, written once per replicate. */
export interface StaticSetRecord extends MetricRecord {
  kind: 'static-set';
  replicate: number;
  generated: number;
  dropped: number;
  droppedReasons: Record<string, number>;
  size: number;
  distinct2: number | null;
  selfBleu: number | null;
}

/** What a replicate drew and built. */
export interface SetupRecord extends MetricRecord {
  kind: 'setup';
  replicate: number;
  dataset: string;
  labelNames: string[];
  sizes: { pool: number; val: number; test: number; seedSet: number };
  /** Share of each class among the test labels (K fractions). */
  testLabelShares: number[];
  vocabSize: number;
  contextLength: number;
  parameters: number;
  pretrainLoss: number | null;
  generatorLoss: number | null;
  generator: string;
}

export interface TableRecord extends MetricRecord {
  kind: 'table';
  table: Table1;
  summary: string[];
}

/** A row of the sample browser: one training example of a method's generation. */
export interface SampleRow {
  replicate: number;
  generation: number;
  method: SymbiosisMethod;
  text: string;
  label: string;
  /** The hard example it was written around (Symbiosis), else null. */
  prompt: { text: string; label: string } | null;
  /** The Student's label for it before training on it, and whether that was its given label. */
  predicted: string;
  correct: boolean;
  /** See HELPED_DEFINITION (nats). */
  helped: number;
}

export interface SymbiosisSummary {
  seconds: number;
  dataset: { name: string; labelNames: string[]; pool: number; val: number; test: number };
  generator: string;
  chance: number;
  /** Per method: test accuracy per generation (0…T; fraction, mean over replicates), its interval, and each replicate's. */
  methods: Partial<Record<SymbiosisMethod, {
    accuracy: number[]; low: number[]; high: number[]; valAccuracy: number[]; byReplicate: number[][];
  }>>;
  table: Table1;
  summary: string[];
  helped: string;
}

// --- state -------------------------------------------------------------------------

interface Example {
  text: string;
  label: number;
}

/** A written example, and the hard example it was written around (index into that generation's list). */
interface Written extends Example {
  hard: number | null;
}

interface ReplicateState {
  replicate: number;
  /** The last generation completed. */
  generation: number;
  /** Seconds spent in this run before the checkpoint (all replicates). */
  seconds: number;
  staticSet: Example[];
  /** The examples that helped the Symbiosis Student most last generation (the pretrained Generator's few-shot). */
  helped: Example[];
  /** Each method's optimizer steps so far (the x axis of its loss curve). */
  steps: Partial<Record<SymbiosisMethod, number>>;
  pretrainLoss: number | null;
  generatorLoss: number | null;
  generatorModel: string | null;
}

// --- helpers ---------------------------------------------------------------------------

/** C0 control characters and DEL: the bytes of the label tokens and SEP, never part of a text. */
const isControl = (code: number) => code < 0x20 || code === 0x7f;
/** One space between words, control characters turned into spaces. */
const normalise = (text: string) =>
  Array.from(text, (ch) => (isControl(ch.charCodeAt(0)) ? ' ' : ch)).join('').replace(/\s+/g, ' ').trim();
/** A byte-level model can write bytes that are not UTF-8 (decoded as U+FFFD) or control characters other than whitespace: unusable text. */
function isInvalidText(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0xfffd || (isControl(code) && !(code >= 0x09 && code <= 0x0d))) return true;
  }
  return false;
}
const words = (text: string) => text.toLowerCase().split(' ').filter((w) => w !== '');

/**
 * Clean one output of a pretrained instruct model: drop preamble lines
 * ("Sure, here is …:") and label lines ("Category: …"), "Article:"-style
 * prefixes, markdown emphasis and outer quotes; collapse whitespace. Returns
 * the text, or why it is unusable (empty; fewer than MIN_WORDS words).
 */
export function cleanGeneratedText(raw: string): { text: string } | { dropped: 'empty' | 'too short' } {
  const lines = raw.split(/\r?\n/)
    .map((l) => l.replace(/\*\*|__|`/g, '').replace(/^#+\s*/, '').trim())
    .filter((l) => !/^(sure|certainly|here is|here's|okay|ok)\b.*:$/i.test(l) && !/^(category|label|topic|class)\s*:/i.test(l))
    .map((l) => l.replace(/^(news article|article|example|text|title|teaching material)\s*:\s*/i, ''));
  let text = normalise(lines.join(' '));
  const quoted = /^["“'](.*)["”']$/.exec(text);
  if (quoted) text = normalise(quoted[1]!);
  if (text === '') return { dropped: 'empty' };
  if (words(text).length < MIN_WORDS) return { dropped: 'too short' };
  return { text };
}

/** The share of each of the K labels; null for no labels. */
function labelShares(labels: readonly number[], K: number): number[] | null {
  if (labels.length === 0) return null;
  const counts = new Array<number>(K).fill(0);
  for (const y of labels) counts[y]!++;
  return counts.map((c) => c / labels.length);
}

function fillTemplate(t: string, fields: Record<string, string>): string {
  return t.replace(/\{(\w+)\}/g, (m, name: string) => fields[name] ?? m);
}

const SYSTEM_PROMPT = 'You write short, clear training examples for a text classifier. Answer with the example text only.';

// --- run ----------------------------------------------------------------------------------

/** Phase tags for foldIn(runKey, tag): one independent stream per use. */
const TAG = {
  replicate: 1, splits: 2, init: 3, seedSet: 4, pretrain: 5, generator: 6, staticSet: 7, bleu: 8,
  train: 100, subset: 200, write: 300, adapt: 400,
} as const;

async function run(c: SymbiosisConfig, ctx: RunContext): Promise<SymbiosisSummary> {
  if (c.generator === 'pretrained' && !ctx.generateText) {
    throw new Error("generator: 'pretrained' needs a pretrained instruct model, which this host cannot run (the browser lab can); choose generator 'tiny'");
  }
  const dataset = parseDatasetInput(ctx.inputs?.[DATASET_INPUT]);
  const K = dataset.labelNames.length;
  const names = dataset.labelNames;
  const runKey = keyFromSeed(ctx.seed);
  const records: MetricRecord[] = [];
  const started = ctx.now();
  const methods = SYMBIOSIS_METHODS.filter((m) => c.methods.includes(m));
  const methodIndex = (m: SymbiosisMethod) => SYMBIOSIS_METHODS.indexOf(m);
  const labelTokens = LABEL_BYTES.slice(0, K);
  const needsStatic = methods.includes('static') || methods.includes('recursive');
  const tinyGenerator = c.generator === 'tiny' && (needsStatic || methods.includes('symbiosis'));
  const n = c.syntheticPerGeneration;

  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new RunCancelled();
  };
  const emit = (record: MetricRecord) => {
    records.push(record);
    ctx.emit({ type: 'metrics', record });
  };

  // Progress: one unit per optimizer step (nominal: E·n/b per generation) and per written example.
  const trainUnits = Math.ceil((c.epochsPerGeneration * n) / c.batchSize);
  const setupUnits = c.pretrainSteps + (tinyGenerator ? c.generatorSteps : 0) + (needsStatic ? c.staticSetSize : 0);
  const generationUnits = (g: number) => methods.reduce((u, m) => u + trainUnits + (
    m === 'symbiosis' ? n + (c.generator === 'tiny' ? c.generatorAdaptSteps : 0) : m === 'recursive' && g >= 2 ? n : 0
  ), 0);
  let replicateUnits = setupUnits;
  for (let g = 1; g <= c.generations; g++) replicateUnits += generationUnits(g);
  const totalUnits = c.replicates * replicateUnits;
  let doneUnits = 0;
  const progress = (phase: string, units: number) => {
    doneUnits += units;
    ctx.emit({ type: 'progress', phase, done: Math.min(doneUnits, totalUnits), total: totalUnits });
  };

  let priorSeconds = 0;
  let firstReplicate = 0;
  if (ctx.resume) {
    const s = ctx.resume.state as ReplicateState;
    records.push(...ctx.resume.records);
    priorSeconds = s.seconds;
    firstReplicate = s.replicate;
  }
  const elapsed = () => priorSeconds + (ctx.now() - started) / 1000;
  let splitSizes = { pool: 0, val: 0, test: 0 };
  let generatorName = c.generator === 'tiny' ? 'tiny in-lab GPT (fine-tuned on the hard examples)' : 'pretrained instruct model (prompt curriculum)';

  for (let rep = firstReplicate; rep < c.replicates; rep++) {
    const resume = rep === firstReplicate ? ctx.resume : undefined;
    const repKey = foldIn(foldIn(runKey, TAG.replicate), rep);
    const key = (tag: number, ...parts: number[]) => parts.reduce((k, p) => foldIn(k, p), foldIn(repKey, tag));
    const phaseName = (what: string) => (c.replicates > 1 ? `${what} (replicate ${rep + 1})` : what);

    // --- data and tokenizer ---
    const sizes = { pool: c.poolSize, val: c.valSize, test: c.testSize };
    const splits = makeLabelledSplits(dataset, sizes, key(TAG.splits));
    splitSizes = sizes;
    const clean = (rows: readonly LabelledRow[]): Example[] => rows.map((r) => ({ text: normalise(r.text), label: r.label }));
    const pool = clean(splits.pool);
    const val = clean(splits.val);
    const test = clean(splits.test);
    const tok: Tokenizer = resume ? tokenizerFromJSON(resume.tokenizer) : trainBpe(pool.map((r) => r.text), { vocabSize: c.vocabSize });
    const encodeText = (text: string) => tok.encode(text).slice(0, c.maxTextTokens);
    // BOS · label · SEP · text · EOS is the longest row.
    const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength: c.maxTextTokens + 4, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
    const backend: Backend = await ctx.createBackend(gpt);
    const testTokens = test.map((r) => encodeText(r.text));
    const valTokens = val.map((r) => encodeText(r.text));
    // The unlabelled mining slice: the end of the pool (the Real batches start at its beginning).
    const mineSlice = c.mineOn === 'pool' ? pool.slice(pool.length - c.valSize) : val;
    const mineTokens = c.mineOn === 'pool' ? mineSlice.map((r) => encodeText(r.text)) : valTokens;

    /** Train from `from` for `steps` steps on batches from `nextRows` (fresh AdamW moments); returns params and the mean of the last losses read. */
    const train = async (
      from: Float32Array, steps: number, nextRows: (step: number) => WeightedRow[], lr: number, phase: string, stepOffset: number,
    ): Promise<{ params: Float32Array; loss: number | null; events: StepPoint[] }> => {
      await backend.setParams(from);
      if (steps === 0) return { params: from, loss: null, events: [] };
      await resetOptimizer(backend);
      const { points } = await trainPhase(backend, ctx, {
        nextBatch: (s) => weightedBatch(nextRows(s)), optim: phaseOptim(lr, c.weightDecay, steps), steps, phase, stepOffset,
      });
      checkCancel();
      return { params: await backend.getParams(), loss: finalLoss(points), events: points };
    };

    /** Rows in a shuffled cycle through `count` items, `perStep` at a time (epoch after epoch). */
    const cycler = (count: number, perStep: number, k: Key) => {
      const next = epochCycler(count, new Rng(k));
      return () => next(perStep);
    };

    /** The write direction, BOS · label · SEP → text · EOS, each target token weighted `weight`. */
    const writeRow = (tokens: readonly number[], label: number, weight: number): WeightedRow => {
      const row = [tok.bos, labelTokens[label]!, SEP, ...tokens, tok.eos];
      return { tokens: row, weights: row.slice(1).map((_, t) => (t >= 2 ? weight : 0)) };
    };
    const writeTargets = (tokens: readonly number[]) => tokens.length + 1;

    /**
     * The Student's batch: per example a classify row (weight 1/b) and, where
     * `write` says so, a write row (lmWeight / write targets in the batch).
     */
    const studentRows = (examples: readonly { tokens: number[]; label: number; write: boolean }[]): WeightedRow[] => {
      const b = examples.length;
      const writers = c.lmWeight > 0 ? examples.filter((e) => e.write) : [];
      const targets = writers.reduce((s, e) => s + writeTargets(e.tokens), 0);
      const rows: WeightedRow[] = examples.map((e) => {
        const row = [tok.bos, ...e.tokens, SEP, labelTokens[e.label]!];
        return { tokens: row, weights: row.slice(1).map((_, t) => (t === row.length - 2 ? 1 / b : 0)) };
      });
      for (const e of writers) rows.push(writeRow(e.tokens, e.label, c.lmWeight / targets));
      return rows;
    };

    /** p(k | text) over the K labels (softmax of the label logits at SEP), for the parameters on the backend. */
    const posteriors = async (texts: readonly (readonly number[])[]): Promise<Float64Array[]> => {
      const out: Float64Array[] = new Array(texts.length);
      const order = [...texts.keys()].sort((a, b) => texts[a]!.length - texts[b]!.length);
      const V = gpt.vocabSize;
      for (let s = 0; s < order.length; s += 64) {
        const chunk = order.slice(s, s + 64);
        const seqs = chunk.map((i) => [tok.bos, ...texts[i]!, SEP]);
        const T = Math.max(...seqs.map((q) => q.length));
        const inputs = new Int32Array(chunk.length * T);
        seqs.forEach((q, b) => inputs.set(q, b * T));
        const logits = await backend.lastLogits(inputs, chunk.length, T, Int32Array.from(seqs, (q) => q.length - 1));
        chunk.forEach((i, b) => {
          const z = labelTokens.map((t) => logits[b * V + t]!);
          const max = Math.max(...z);
          const e = z.map((x) => Math.exp(x - max));
          const sum = e.reduce((a, x) => a + x, 0);
          out[i] = Float64Array.from(e, (x) => x / sum);
        });
      }
      return out;
    };
    const accuracyOf = (post: readonly Float64Array[], labels: readonly number[]) => post.filter((p, i) => argmax(p) === labels[i]).length;

    /** Write examples with the tiny model on the backend: prompt BOS · label · SEP · prefix; text = prefix + the new tokens. */
    const writeTiny = async (params: Float32Array, jobs: readonly { label: number; prefix: number[]; hard: number | null }[], k: Key, phase: string) => {
      await backend.setParams(params);
      const written: Written[] = [];
      const dropped: Record<string, number> = {};
      for (let s = 0; s < jobs.length; s += 64) {
        checkCancel();
        const chunk = jobs.slice(s, s + 64);
        const gens = await generate(backend, chunk.map((j) => [tok.bos, labelTokens[j.label]!, SEP, ...j.prefix]), {
          maxNewTokens: c.maxTextTokens - Math.max(...chunk.map((j) => j.prefix.length)) + 1,
          temperature: c.temperature, topK: 0, topP: c.topP, stopTokens: [tok.eos], key: foldIn(k, s),
        });
        gens.forEach((g, i) => {
          const job = chunk[i]!;
          const fresh = g.tokens.filter((t) => t !== tok.eos);
          const raw = tok.decode([...job.prefix, ...fresh]);
          const text = normalise(raw);
          const reason = normalise(tok.decode(fresh)) === '' ? 'empty'
            : isInvalidText(raw) ? 'invalid bytes' : words(text).length < MIN_WORDS ? 'too short' : null;
          if (reason) dropped[reason] = (dropped[reason] ?? 0) + 1;
          else written.push({ text, label: job.label, hard: job.hard });
        });
        progress(phase, chunk.length);
      }
      return { written, dropped, generated: jobs.length };
    };

    /** Write examples with the pretrained model (ctx.generateText); outputs are cleaned, unusable ones counted and dropped. */
    const writePretrained = async (requests: { messages: ChatMessage[]; label: number; hard: number | null }[], k: Key, phase: string) => {
      let reported = 0;
      const result = await ctx.generateText!(
        requests.map((r) => ({ messages: r.messages })),
        { maxNewTokens: c.pretrainedMaxNewTokens, temperature: c.temperature, topP: c.topP, seed: new Rng(k).uint32(), model: c.pretrainedModel },
        (done) => {
          if (done <= reported) return;
          progress(phase, done - reported);
          reported = done;
        },
      );
      checkCancel();
      if (!result.ok) throw new Error(`generator: the pretrained model could not write (${result.reason})`);
      if (result.texts.length !== requests.length) {
        throw new Error(`generator: asked for ${requests.length} texts, the pretrained model returned ${result.texts.length}`);
      }
      progress(phase, requests.length - reported);
      generatorName = `${result.model} (pretrained, prompt curriculum)`;
      state.generatorModel = generatorName;
      const written: Written[] = [];
      const dropped: Record<string, number> = {};
      result.texts.forEach((raw, i) => {
        const r = cleanGeneratedText(raw);
        if ('dropped' in r) dropped[r.dropped] = (dropped[r.dropped] ?? 0) + 1;
        else written.push({ text: r.text, label: requests[i]!.label, hard: requests[i]!.hard });
      });
      return { written, dropped, generated: requests.length };
    };

    /** n labels, balanced (each ⌊n/K⌋ or one more), in a seeded order. */
    const balancedLabels = (count: number, k: Key) => new Rng(k).shuffle(Array.from({ length: count }, (_, i) => i % K));
    const classMessages = (label: number): ChatMessage[] => [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: fillTemplate(c.classPrompt, { label: names[label]! }) },
    ];

    const textMetrics = (data: readonly Example[], k: Key) => {
      const seqs = data.map((e) => words(e.text));
      const d2 = data.length > 0 ? distinctN(seqs, 2) : NaN;
      const sb = data.length > 1 ? selfBleu(seqs, { maxN: 3, maxHypotheses: c.selfBleuSamples, key: k }) : NaN;
      return { distinct2: Number.isFinite(d2) ? d2 : null, selfBleu: Number.isFinite(sb) ? sb : null };
    };

    // --- setup, or the state a checkpoint holds ---
    let state: ReplicateState;
    let pretrained: Float32Array;
    let generatorParams: Float32Array | null = null;
    const student: Partial<Record<SymbiosisMethod, Float32Array>> = {};

    const saveCheckpoint = (generation: number) => {
      state.generation = generation;
      const extra: Record<string, Float32Array> = { pretrained };
      if (generatorParams) extra.generator = generatorParams;
      for (const m of methods) extra[`student:${m}`] = student[m]!;
      ctx.emit({
        type: 'checkpoint',
        checkpoint: {
          iteration: rep * (c.generations + 1) + generation, modelConfig: gpt, tokenizer: tok.toJSON(),
          params: student[methods[0]!]!, extraParams: extra, state: structuredClone({ ...state, seconds: elapsed() }), records: [...records],
        },
      });
    };

    if (resume) {
      state = structuredClone(resume.state as ReplicateState);
      pretrained = resume.extraParams.pretrained!;
      generatorParams = resume.extraParams.generator ?? null;
      for (const m of methods) student[m] = resume.extraParams[`student:${m}`]!;
      if (state.generatorModel) generatorName = state.generatorModel;
      doneUnits = rep * replicateUnits + setupUnits;
      for (let g = 1; g <= state.generation; g++) doneUnits += generationUnits(g);
      ctx.emit({ type: 'log', message: `resumed replicate ${rep + 1} after generation ${state.generation}` });
    } else {
      state = { replicate: rep, generation: 0, seconds: 0, staticSet: [], helped: [], steps: {}, pretrainLoss: null, generatorLoss: null, generatorModel: null };
      // Pretrain the Student as a plain LM on the pool texts: BOS · text · EOS.
      const poolTokens = pool.map((r) => encodeText(r.text));
      const nextPretrain = cycler(poolTokens.length, 2 * c.batchSize, key(TAG.pretrain));
      const lmRows = (): WeightedRow[] => {
        const rows = nextPretrain().map((i) => [tok.bos, ...poolTokens[i]!, tok.eos]);
        const targets = rows.reduce((s, r) => s + r.length - 1, 0);
        return rows.map((r) => ({ tokens: r, weights: r.slice(1).map(() => 1 / targets) }));
      };
      const pre = await train(initParams(gpt, key(TAG.init)), c.pretrainSteps, lmRows, c.pretrainLearningRate, phaseName('pretrain'), 0);
      progress(phaseName('pretrain'), c.pretrainSteps);
      pretrained = pre.params;
      state.pretrainLoss = pre.loss;
      for (const m of methods) student[m] = pretrained;

      // The tiny Generator: the pretrained LM, taught class-conditional text on the seed set.
      if (tinyGenerator) {
        const seedSet = clean(stratifiedSample(splits.pool, c.seedSetSize, key(TAG.seedSet), 'seedSetSize'));
        const seedTokens = seedSet.map((r) => encodeText(r.text));
        const nextSeed = cycler(seedSet.length, 2 * c.batchSize, key(TAG.generator));
        const genRows = () => {
          const picked = nextSeed();
          const targets = picked.reduce((s, i) => s + writeTargets(seedTokens[i]!), 0);
          return picked.map((i) => writeRow(seedTokens[i]!, seedSet[i]!.label, 1 / targets));
        };
        const g0 = await train(pretrained, c.generatorSteps, genRows, c.generatorLearningRate, phaseName('generator'), 0);
        progress(phaseName('generator'), c.generatorSteps);
        generatorParams = g0.params;
        state.generatorLoss = g0.loss;
      }

      // The static set: written once, before any adaptation, balanced over the labels.
      if (needsStatic) {
        const labels = balancedLabels(c.staticSetSize, key(TAG.staticSet, 0));
        const out = c.generator === 'tiny'
          ? await writeTiny(generatorParams!, labels.map((label) => ({ label, prefix: [], hard: null })), key(TAG.staticSet, 1), phaseName('static set'))
          : await writePretrained(labels.map((label) => ({ messages: classMessages(label), label, hard: null })), key(TAG.staticSet, 1), phaseName('static set'));
        state.staticSet = out.written.map(({ text, label }) => ({ text, label }));
        if (state.staticSet.length === 0) throw new Error('generator: every output of the static set was empty or unusable; nothing to train on');
        emit({
          kind: 'static-set', replicate: rep, generated: out.generated, dropped: out.generated - out.written.length, droppedReasons: out.dropped,
          size: state.staticSet.length, ...textMetrics(state.staticSet, key(TAG.bleu, 0)),
        } satisfies StaticSetRecord);
      }
      emit({
        kind: 'setup', replicate: rep, dataset: dataset.name, labelNames: names,
        sizes: { ...sizes, seedSet: tinyGenerator ? c.seedSetSize : 0 }, testLabelShares: labelShares(test.map((r) => r.label), K)!, vocabSize: tok.vocabSize, contextLength: gpt.contextLength,
        parameters: backend.layout.total, pretrainLoss: state.pretrainLoss, generatorLoss: state.generatorLoss, generator: generatorName,
      } satisfies SetupRecord);

      // Generation 0: the pretrained Student, before any labelled training.
      await backend.setParams(pretrained);
      const testPost = await posteriors(testTokens);
      const valPost = await posteriors(valTokens);
      const correct = accuracyOf(testPost, test.map((r) => r.label));
      const ci = binomialCI95(correct, test.length);
      for (const m of methods) {
        emit({
          kind: 'generation', replicate: rep, method: m, generation: 0, sharedBy: [...methods],
          testAccuracy: ci.p, testLow: ci.low, testHigh: ci.high, testN: test.length,
          valAccuracy: accuracyOf(valPost, val.map((r) => r.label)) / val.length, trainLoss: null, lossCurve: [],
          dataSize: 0, labelShares: null, predictedShares: labelShares(testPost.map(argmax), K)!, studentAgreement: null, distinct2: null, selfBleu: null,
          generated: 0, dropped: 0, droppedReasons: {}, source: 'the pretrained Student (no labelled training)', steps: 0, seconds: elapsed(),
        } satisfies GenerationRecord);
      }
      saveCheckpoint(0);
    }

    // --- generations ---
    const bothFirst = methods.includes('static') && methods.includes('recursive');
    for (let g = state.generation + 1; g <= c.generations; g++) {
      let shared: { params: Float32Array; steps: number; events: StepPoint[]; record: GenerationRecord; rows: SampleRow[] } | null = null;
      for (const m of methods) {
        checkCancel();
        const mi = methodIndex(m);
        const phase = phaseName(m);
        if (m === 'recursive' && shared) {
          // Recursive's generation 1 is Static's (same data, order and Student): computed once, reported for both.
          student[m] = shared.params;
          state.steps[m] = shared.steps;
          for (const e of shared.events) ctx.emit({ type: 'step', phase, ...e });
          progress(phase, trainUnits);
          emit({ ...shared.record, method: m, source: "Static's generation 1 (the gen-0 Student cannot write labelled text)" } satisfies GenerationRecord);
          ctx.emit({ type: 'samples', iteration: (rep * (c.generations + 1) + g) * SYMBIOSIS_METHODS.length + mi, rows: shared.rows.map((r) => ({ ...r, method: m })) });
          continue;
        }
        let data: Written[];
        let generated = 0;
        let droppedReasons: Record<string, number> = {};
        let hardList: Example[] = [];
        let source: string;
        switch (m) {
          case 'real': {
            data = Array.from({ length: n }, (_, i) => ({ ...pool[((g - 1) * n + i) % pool.length]!, hard: null }));
            source = g * n <= pool.length ? `a fresh real batch (pool rows ${(g - 1) * n}…${g * n - 1})` : 'a real batch (the pool ran out: rows repeat)';
            break;
          }
          case 'static':
          case 'recursive': {
            if (m === 'static' || g === 1) {
              // Recursive's generation 1 takes exactly static's generation-1 subset: the two start from the same data.
              const order = new Rng(key(TAG.subset, g)).shuffle([...state.staticSet.keys()]).slice(0, n);
              data = order.map((i) => ({ ...state.staticSet[i]!, hard: null }));
              source = m === 'static' ? 'a random subset of the static set' : "the Generator's static subset (generation 1: the gen-0 Student cannot write labelled text)";
              break;
            }
            const labels = balancedLabels(n, key(TAG.write, g, mi, 0));
            const out = await writeTiny(student[m]!, labels.map((label) => ({ label, prefix: [], hard: null })), key(TAG.write, g, mi, 1), phase);
            ({ written: data, generated } = out);
            droppedReasons = out.dropped;
            source = `written by the generation-${g - 1} Recursive Student`;
            break;
          }
          case 'symbiosis': {
            // Mine K hard examples with this method's current Student.
            await backend.setParams(student[m]!);
            const post = await posteriors(mineTokens);
            const labels = c.mineOn === 'validation' ? mineSlice.map((r) => r.label) : null;
            const scores = hardnessScores(post, labels, c.hardSelector);
            const picked = hardest(scores, Math.min(c.hardExamples, mineSlice.length));
            // The Generator is told the label: the true one on validation, the Student's own on the unlabelled pool.
            hardList = picked.map((i) => ({ text: mineSlice[i]!.text, label: labels ? labels[i]! : argmax(post[i]!) }));
            emit({
              kind: 'hard-examples', replicate: rep, generation: g, selector: c.hardSelector, minedOn: c.mineOn, count: picked.length,
              labelShares: labelShares(hardList.map((h) => h.label), K)!,
              misclassified: labels ? picked.filter((i) => argmax(post[i]!) !== labels[i]).length / picked.length : null,
              meanScore: picked.reduce((s, i) => s + scores[i]!, 0) / picked.length,
              examples: picked.slice(0, 10).map((i, j) => ({
                text: hardList[j]!.text, label: names[hardList[j]!.label]!, predicted: names[argmax(post[i]!)]!, score: scores[i]!,
              })),
            } satisfies HardExamplesRecord);
            // Each hard example gets ⌊n/K⌋ or one more of the n requests, in turn.
            const jobs = Array.from({ length: n }, (_, i) => i % hardList.length);
            if (c.generator === 'tiny') {
              // Step D: fine-tune the Generator on the hard examples with their labels (cumulative over generations).
              const hardTokens = picked.map((i) => mineTokens[i]!); // hardList[j] is mineSlice[picked[j]]
              const nextHard = cycler(hardList.length, Math.min(2 * c.batchSize, hardList.length), key(TAG.adapt, g));
              const adaptRows = () => {
                const idx = nextHard();
                const targets = idx.reduce((s, i) => s + writeTargets(hardTokens[i]!), 0);
                return idx.map((i) => writeRow(hardTokens[i]!, hardList[i]!.label, 1 / targets));
              };
              const adapted = await train(generatorParams!, c.generatorAdaptSteps, adaptRows, c.generatorLearningRate, phaseName('generator (adapting)'), (g - 1) * c.generatorAdaptSteps);
              progress(phaseName('generator (adapting)'), c.generatorAdaptSteps);
              generatorParams = adapted.params;
              const out = await writeTiny(generatorParams, jobs.map((h) => ({
                label: hardList[h]!.label, prefix: hardTokens[h]!.slice(0, c.promptPrefixTokens), hard: h,
              })), key(TAG.write, g, mi, 1), phase);
              ({ written: data, generated } = out);
              droppedReasons = out.dropped;
              source = `the tiny Generator fine-tuned on ${hardList.length} hard examples (${c.hardSelector}, ${c.mineOn})`;
            } else {
              const shots = state.helped.slice(0, c.fewShotExamples);
              const requests = jobs.map((h) => {
                const hard = hardList[h]!;
                // Few-shot: the examples that helped most last generation, those of the same label first.
                const ordered = [...shots.filter((s) => s.label === hard.label), ...shots.filter((s) => s.label !== hard.label)];
                const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];
                for (const s of ordered) {
                  messages.push({ role: 'user', content: fillTemplate(c.classPrompt, { label: names[s.label]! }) }, { role: 'assistant', content: s.text });
                }
                messages.push({ role: 'user', content: fillTemplate(c.hardPrompt, { text: hard.text, label: names[hard.label]! }) });
                return { messages, label: hard.label, hard: h };
              });
              const out = await writePretrained(requests, key(TAG.write, g, mi, 1), phase);
              ({ written: data, generated } = out);
              droppedReasons = out.dropped;
              source = `the pretrained Generator prompted with ${hardList.length} hard examples and ${shots.length} examples that helped`;
            }
            break;
          }
          default:
            throw new Error(m satisfies never);
        }
        checkCancel();

        // The Student's verdict on its data before training on it, then training, then its loss again.
        const tokens = data.map((e) => encodeText(e.text));
        const labelsOf = data.map((e) => e.label);
        await backend.setParams(student[m]!);
        const before = data.length > 0 ? await posteriors(tokens) : [];
        const from = c.continueAcrossGenerations ? student[m]! : pretrained;
        const steps = Math.ceil((c.epochsPerGeneration * data.length) / c.batchSize);
        const examples = data.map((e, i) => ({ tokens: tokens[i]!, label: e.label }));
        // Exactly E passes: E shuffles laid end to end, cut into batches. Recursive's generation 1 uses Static's stream (the same run).
        const rng = new Rng(key(TAG.train, g, m === 'recursive' && g === 1 ? methodIndex('static') : mi));
        const order: number[] = [];
        for (let e = 0; e < c.epochsPerGeneration; e++) order.push(...rng.shuffle([...examples.keys()]));
        // The write direction joins `writeEpochs` of the E passes, spread evenly (every example gets it in each of them).
        const writes = (j: number) => {
          const e = Math.floor(j / examples.length);
          return Math.floor(((e + 1) * c.writeEpochs) / c.epochsPerGeneration) > Math.floor((e * c.writeEpochs) / c.epochsPerGeneration);
        };
        const stepOffset = state.steps[m] ?? 0;
        const batchAt = (s: number) => order.slice(s * c.batchSize, (s + 1) * c.batchSize)
          .map((i, j) => ({ ...examples[i]!, write: writes(s * c.batchSize + j) }));
        const t = await train(from, steps, (s) => studentRows(batchAt(s)), c.learningRate, phase, stepOffset);
        progress(phase, trainUnits);
        student[m] = t.params;
        state.steps[m] = stepOffset + steps;
        // "Helped" is needed for every example of Symbiosis (its few-shot ranking), elsewhere only for the rows browsed.
        const measured = m === 'symbiosis' ? data.length : Math.min(data.length, c.sampleRowsPerGeneration);
        const after = measured > 0 ? await posteriors(tokens.slice(0, measured)) : [];
        const helped = after.map((p, i) => Math.log(Math.max(p[labelsOf[i]!]!, 1e-300)) - Math.log(Math.max(before[i]![labelsOf[i]!]!, 1e-300)));
        if (m === 'symbiosis') {
          const ranked = [...helped.keys()].sort((a, b) => helped[b]! - helped[a]! || a - b);
          state.helped = ranked.slice(0, Math.max(c.fewShotExamples, 0)).map((i) => ({ text: data[i]!.text, label: data[i]!.label }));
        }

        // Evaluate.
        const testPost = await posteriors(testTokens);
        const valPost = await posteriors(valTokens);
        const ci = binomialCI95(accuracyOf(testPost, test.map((r) => r.label)), test.length);
        const dropped = Object.values(droppedReasons).reduce((a, b) => a + b, 0);
        const record: GenerationRecord = {
          kind: 'generation', replicate: rep, method: m, generation: g, sharedBy: m === 'static' && g === 1 && bothFirst ? ['static', 'recursive'] : [m],
          testAccuracy: ci.p, testLow: ci.low, testHigh: ci.high, testN: test.length,
          valAccuracy: accuracyOf(valPost, val.map((r) => r.label)) / val.length, trainLoss: t.loss,
          lossCurve: t.events.map((e) => [e.step, e.loss]),
          dataSize: data.length, labelShares: labelShares(labelsOf, K), predictedShares: labelShares(testPost.map(argmax), K)!,
          studentAgreement: data.length > 0 ? before.filter((p, i) => argmax(p) === labelsOf[i]).length / data.length : null,
          ...textMetrics(data, key(TAG.bleu, g, m === 'recursive' && g === 1 ? methodIndex('static') : mi)), generated, dropped, droppedReasons, source, steps, seconds: elapsed(),
        };
        emit(record);
        const rows: SampleRow[] = data.slice(0, c.sampleRowsPerGeneration).map((e, i) => ({
          replicate: rep, generation: g, method: m, text: e.text, label: names[e.label]!,
          prompt: e.hard === null ? null : { text: hardList[e.hard]!.text, label: names[hardList[e.hard]!.label]! },
          predicted: names[argmax(before[i]!)]!, correct: argmax(before[i]!) === e.label, helped: helped[i]!,
        }));
        ctx.emit({ type: 'samples', iteration: (rep * (c.generations + 1) + g) * SYMBIOSIS_METHODS.length + mi, rows });
        if (m === 'static' && g === 1 && bothFirst) shared = { params: t.params, steps: state.steps[m]!, events: t.events, record, rows };
      }
      saveCheckpoint(g);
    }
    backend.dispose();
  }

  // --- Table 1 and the summary ---
  const table = tableFrom(records, methods, names, c, splitSizes.test);
  const summary = summarize(table);
  emit({ kind: 'table', table, summary } satisfies TableRecord);
  const gens = records.filter((r): r is GenerationRecord => r.kind === 'generation');
  const perMethod: SymbiosisSummary['methods'] = {};
  for (const m of methods) {
    const byReplicate = Array.from({ length: c.replicates }, (_, rep) =>
      gens.filter((r) => r.method === m && r.replicate === rep).sort((a, b) => a.generation - b.generation).map((r) => r.testAccuracy));
    const accuracy: number[] = [];
    const low: number[] = [];
    const high: number[] = [];
    const valAccuracy: number[] = [];
    for (let g = 0; g <= c.generations; g++) {
      const at = gens.filter((r) => r.method === m && r.generation === g);
      const iv = intervalOf(at, c.replicates);
      accuracy.push(iv.mean);
      low.push(iv.low);
      high.push(iv.high);
      valAccuracy.push(at.reduce((s, r) => s + r.valAccuracy, 0) / at.length);
    }
    perMethod[m] = { accuracy, low, high, valAccuracy, byReplicate };
  }
  return {
    seconds: elapsed(),
    dataset: { name: dataset.name, labelNames: names, ...splitSizes },
    generator: generatorName,
    chance: 1 / K,
    methods: perMethod,
    table,
    summary,
    helped: HELPED_DEFINITION,
  };
}

/** Mean and 95% interval of the test accuracy over replicates (t), or with one replicate its Wilson interval. */
function intervalOf(rows: readonly GenerationRecord[], replicates: number): AccuracyInterval {
  if (replicates === 1 && rows.length === 1) return { mean: rows[0]!.testAccuracy, low: rows[0]!.testLow, high: rows[0]!.testHigh };
  const ci = meanCI95(rows.map((r) => r.testAccuracy));
  return { mean: ci.mean, low: ci.low, high: ci.high };
}

function tableFrom(
  records: readonly MetricRecord[], methods: readonly SymbiosisMethod[], labelNames: readonly string[], c: SymbiosisConfig, testSize: number,
): Table1 {
  const K = labelNames.length;
  const gens = records.filter((r): r is GenerationRecord => r.kind === 'generation');
  const setups = records.filter((r): r is SetupRecord => r.kind === 'setup');
  const topClass = (r: GenerationRecord): TopClass | null => {
    const testShares = setups.find((s) => s.replicate === r.replicate)?.testLabelShares as number[] | undefined;
    if (!Array.isArray(r.predictedShares) || !Array.isArray(testShares)) return null;
    const k = argmax(r.predictedShares);
    return { label: labelNames[k]!, predicted: r.predictedShares[k]!, inTest: testShares[k]!, inData: r.labelShares === null ? null : r.labelShares[k]! };
  };
  const rows = methods.map((m): Table1Row => {
    const initial = gens.filter((r) => r.method === m && r.generation === 0).sort((a, b) => a.replicate - b.replicate);
    const final = gens.filter((r) => r.method === m && r.generation === c.generations).sort((a, b) => a.replicate - b.replicate);
    const changes = final.map((r, i) => r.testAccuracy - initial[i]!.testAccuracy);
    const change = meanCI95(changes);
    return {
      method: m, initial: intervalOf(initial, c.replicates), final: intervalOf(final, c.replicates),
      change: { mean: change.mean, low: change.low, high: change.high }, finals: final.map((r) => r.testAccuracy),
      finalTopClass: final.map(topClass),
    };
  });
  return {
    numClasses: K, labelNames: [...labelNames], chance: 1 / K, replicates: c.replicates, testSize, generations: c.generations,
    interval: c.replicates > 1 ? 'replicates' : 'wilson', rows,
  };
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

export const symbiosis: Experiment<SymbiosisConfig, SymbiosisSummary> = {
  name: 'symbiosis',
  title: 'Generative data symbiosis',
  description: "A Generator writes labelled data, a Student learns from it, the Student's hard examples steer the Generator — beside real data, a static synthetic set and recursive self-training, with intervals and a chance line.",
  defaultConfig,
  schema,
  tableRow: (r) => {
    if (r.kind !== 'generation') return null;
    const m = r as GenerationRecord;
    if (m.method !== m.sharedBy[0]) return null; // a shared row prints once
    return {
      rep: m.replicate + 1, gen: m.generation, method: m.generation === 0 ? 'all' : m.sharedBy.join('+'),
      test: `${(100 * m.testAccuracy).toFixed(1)}%`, ci95: `${(100 * m.testLow).toFixed(1)}–${(100 * m.testHigh).toFixed(1)}`,
      val: `${(100 * m.valAccuracy).toFixed(1)}%`, loss: fmt(m.trainLoss), data: m.dataSize, dropped: m.dropped,
      'distinct-2': fmt(m.distinct2), 'self-bleu': fmt(m.selfBleu), seconds: m.seconds.toFixed(1),
    };
  },
  presets: {
    tiny: {
      description: 'The classroom default: the tiny in-lab Generator, all four methods, one replicate; a few minutes per seed on a CPU.',
      overrides: {},
    },
    'write-up': {
      description: "The original's sizes (1000 real / 200 validation / 500 test, 3 generations of 200, 2 epochs, 50 hard examples, batch 8) with the pretrained Generator (browser).",
      overrides: {
        generator: 'pretrained', pretrainedModel: 'onnx-community/Qwen2-0.5B-Instruct-ONNX',
        poolSize: 1000, valSize: 200, testSize: 500, generations: 3, syntheticPerGeneration: 200,
        staticSetSize: 400, epochsPerGeneration: 2, hardExamples: 50, batchSize: 8,
      },
    },
    'write-up-tiny': {
      description: "The original's sizes with the tiny in-lab Generator (runs anywhere, offline).",
      overrides: {
        poolSize: 1000, valSize: 200, testSize: 500, generations: 3, syntheticPerGeneration: 200, staticSetSize: 400,
        epochsPerGeneration: 2, hardExamples: 50, batchSize: 8,
      },
    },
    replicated: {
      description: 'As tiny, three replicates in one run: Table 1 with t-intervals over replicates.',
      overrides: { replicates: 3 },
    },
  },
  run,
};
