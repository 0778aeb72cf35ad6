/**
 * The symbiosis lab's settings: one table, each field with its default,
 * bounds, doc, label and group (fields.ts), the rules across fields, and
 * the named presets. The defaults are the classroom setting (`classroom`):
 * the corpus Generator (trained here on the train rows the Student never
 * sees), all five methods, one seed in a few minutes on a CPU; how it was
 * sized is in docs/symbiosis.md. `tiny` keeps the lab's first setting.
 */
import * as v from 'valibot';
import { DEFAULT_GENERATOR_MODEL, GENERATOR_MODEL_IDS } from '../../core/models';
import {
  type ConfigOf, type Rule, type TrainedModel, atMost, bool, defineConfig, headsDivideWidth, int, list, memoryRules, menu, modelShapeFields, num,
  pretrainedModelField, text,
} from '../fields';
import type { Preset } from '../types';
import { HARD_SELECTORS } from './hard';
import { SYMBIOSIS_METHODS } from './methods';

/** Where the Generator comes from (the field `generator`). */
export const GENERATORS = ['corpus', 'tiny', 'pretrained'] as const;

const METHODS_GROUP = 'Methods';
const GENERATOR = 'Generator';
const HARD = 'Hard examples';
const DATA = 'Data';
const STUDENT = 'Student';
const MEASURING = 'Measuring';

/** A prompt template that must contain each of `fields` as {field}. */
const template = (...fields: string[]) =>
  v.pipe(
    v.string('must be text'),
    v.check((s) => fields.every((f) => s.includes(`{${f}}`)), `must contain ${fields.map((f) => `{${f}}`).join(' and ')}`),
  );

export const fields = {
  methods: list(SYMBIOSIS_METHODS, [...SYMBIOSIS_METHODS], 'method', {
    label: 'Methods', group: METHODS_GROUP, hint: 'run side by side on the same splits and seeds',
    doc: 'The methods run side by side (same splits, seeds and Student init).',
  }),
  replicates: int(1, 1, 100, {
    label: 'Replicates', group: METHODS_GROUP, hint: 'independent seeds; ≥ 2 gives intervals over runs',
    doc: 'Independent repetitions (splits, init, sampling) folded from the run key; ≥ 2 gives t-intervals over replicates.',
  }),
  generations: int(3, 1, 100, { label: 'Generations', group: METHODS_GROUP, hint: 'T', doc: 'T: generations after generation 0.' }),
  syntheticPerGeneration: int(800, 2, 100_000, {
    label: 'Examples per generation', group: METHODS_GROUP, hint: 'what each method trains on',
    doc: 'n: examples each method trains on per generation (the Real batch, the synthetic set).',
  }),
  staticSetSize: int(800, 2, 1_000_000, {
    label: 'Static set', group: METHODS_GROUP, hint: 'written once, sampled each generation',
    doc: 'Size of the static set, written once up front; each generation draws n of it.',
  }),
  epochsPerGeneration: int(4, 1, 100, { label: 'Epochs per generation', group: METHODS_GROUP, doc: "Passes over a generation's data." }),
  generator: menu(GENERATORS, 'corpus', {
    label: 'Generator', group: GENERATOR,
    hint: 'corpus: its own GPT, trained here on rows the Student never sees (or a saved one); tiny: learns from a seed set of the pool; pretrained: an instruct model (downloads)',
    doc: "'corpus': a GPT with its own tokenizer trained in the lab on its own labelled corpus, disjoint from the Student's pool, validation and test, or given as a Generator file (generator.ts); 'tiny': the Student's architecture taught on a seed set of the pool (the lab's first Generator); 'pretrained': an instruct model through ctx.generateText (browser). The in-lab ones are genuinely fine-tuned on hard examples.",
  }),
  pretrainedModel: pretrainedModelField(GENERATOR_MODEL_IDS, DEFAULT_GENERATOR_MODEL, {
    label: 'Pretrained model', group: GENERATOR, hint: 'downloaded once, then cached by the browser',
    doc: "Pretrained Generator: the instruct model, a Hugging Face id from core/models' GENERATOR_MODELS or a URL path the app serves a model folder at.",
  }),
  generatorCorpusSize: int(0, 0, 1_000_000, {
    label: 'Generator corpus', group: GENERATOR, hint: '0: every train row the Student never sees',
    doc: "Corpus Generator: the most rows of its own corpus (the train rows outside the Student's pool, validation and test), class-balanced; 0: all of them.",
  }),
  generatorVocabSize: int(2048, 259, 8192, {
    label: 'Generator vocabulary', group: GENERATOR, doc: "Corpus Generator: its own BPE vocabulary bound, trained on its corpus (the first 20,000 texts).",
  }),
  generatorMaxTokens: int(48, 4, 1024, {
    label: 'Generator text tokens', group: GENERATOR, hint: 'its own tokens', doc: 'Corpus Generator: the longest text it learns and writes, in its own tokens.',
  }),
  generatorDModel: int(64, 4, 1024, { label: 'Generator width', group: GENERATOR, doc: "C: the corpus Generator's embedding width." }),
  generatorLayers: int(2, 1, 64, { label: 'Generator layers', group: GENERATOR, doc: "L: the corpus Generator's transformer blocks." }),
  generatorHeads: int(4, 1, 64, { label: 'Generator heads', group: GENERATOR, doc: "NH: the corpus Generator's attention heads; must divide its width." }),
  generatorBatchSize: int(16, 1, 1024, { label: 'Generator batch', group: GENERATOR, doc: 'Corpus Generator: rows per optimizer step of its training.' }),
  seedSetSize: int(200, 1, 100_000, {
    label: 'Seed set', group: GENERATOR, hint: 'tiny Generator: labelled pool rows it learns from',
    doc: 'Tiny Generator: labelled pool rows it learns class-conditional text from.',
  }),
  generatorSteps: int(2000, 0, 1_000_000, {
    label: 'Generator steps', group: GENERATOR, doc: 'In-lab Generator: optimizer steps of its training (corpus: on its corpus; tiny: on the seed set).',
  }),
  generatorLearningRate: num(3e-3, 0, 1, { label: 'Generator LR', group: GENERATOR, doc: 'In-lab Generator: peak learning rate of its training and adaptation.' }),
  generatorAdaptSteps: int(20, 0, 1_000_000, {
    label: 'Adapt steps', group: GENERATOR, hint: 'fine-tuning on the hard examples, per generation',
    doc: "In-lab Generator: fine-tuning steps on the hard examples each Symbiosis generation (each Symbiosis method adapts its own copy, cumulative over generations).",
  }),
  promptPrefixTokens: int(4, 0, 1024, {
    label: 'Prompt prefix', group: GENERATOR, hint: 'tokens of a hard example that start a new one',
    doc: 'In-lab Generator: tokens (its own) of each hard example\u2019s text that start the examples written around it.',
  }),
  staticPrefixTokens: int(4, 0, 1024, {
    label: 'Static prompt prefix', group: GENERATOR, hint: 'tokens of one of its own rows that start each static example; 0: the class alone',
    doc: "In-lab Generator: each static-set example starts with the first tokens (its own) of a random row of that class from the Generator's own rows (the corpus Generator's corpus, the tiny one's seed set), as Symbiosis's start with a hard example's; 0: written from the class alone.",
  }),
  temperature: num(0.9, 0, 10, {
    label: 'Temperature', group: GENERATOR, doc: 'Sampling temperature of every writer (tiny Generator, Recursive Student, pretrained model).',
  }),
  topP: num(0.95, 0.01, 1, { label: 'Top-p', group: GENERATOR, doc: 'Nucleus (top-p) of every writer.' }),
  pretrainedMaxNewTokens: int(96, 8, 4096, {
    label: 'New tokens', group: GENERATOR, hint: 'per pretrained output', doc: "Pretrained Generator: new tokens per output (its own tokenizer's).",
  }),
  fewShotExamples: int(2, 0, 20, {
    label: 'Few-shot examples', group: GENERATOR, hint: 'that helped most last generation',
    doc: 'Pretrained Generator: few-shot examples (those that helped most last generation) per Symbiosis prompt.',
  }),
  classPrompt: text('Write a short news article (2–3 sentences) in the category {label}. Only the article.', template('label'), {
    label: 'Class prompt', group: GENERATOR, hint: '{label}: the class name', doc: 'Pretrained Generator: the class-conditional prompt ({label} is the class name).',
  }),
  hardPrompt: text(
    'The following text, labelled {label}, was difficult for a student model:\n"{text}"\n' +
    'Write clear teaching material on its concepts: a new short text (2–3 sentences) in the category {label}. Only the text.',
    template('text', 'label'),
    { label: 'Hard-example prompt', group: GENERATOR, hint: '{text}, {label}', doc: 'Pretrained Generator: the Symbiosis prompt around a hard example ({text}, {label}).' },
  ),
  hardExamples: int(50, 1, 100_000, { label: 'Hard examples K', group: HARD, doc: 'K: hard examples mined per Symbiosis generation.' }),
  hardSelector: menu(HARD_SELECTORS, 'loss', {
    label: 'Selector', group: HARD, doc: "How hardness is scored: 'loss' (the original), 'entropy' or 'margin' (docs/symbiosis.md).",
  }),
  anchorShare: num(0.5, 0, 1, {
    label: 'Balanced: anchor share', group: HARD, hint: 'of its n examples, opened by the Generator\u2019s own rows instead of hard examples',
    doc: "Symbiosis-balanced with an in-lab Generator: the share of each generation's n examples that its adapted Generator writes opened by its own rows of every class (as the static set), the rest around the per-class hard examples; 0: all around hard examples.",
  }),
  mineOn: menu(['validation', 'pool'], 'validation', {
    label: 'Mined on', group: HARD,
    doc: "'validation': the labelled validation set (the original); 'pool': an unlabelled pool slice of valSize rows, with the Student's predicted labels.",
  }),
  poolSize: int(2400, 10, 500_000, {
    label: 'Real pool', group: DATA, doc: "Real labelled rows: the Real method's fresh batches, the seed set, the Student's pretraining texts.",
  }),
  valSize: int(200, 2, 100_000, { label: 'Validation', group: DATA, doc: 'Labelled validation rows: where hard examples are mined (as the original).' }),
  testSize: int(500, 2, 100_000, { label: 'Test', group: DATA, doc: 'Test rows: every accuracy in the tables.' }),
  ...modelShapeFields({ dModel: 32, nLayers: 1, nHeads: 2 }, STUDENT, 'the Student (and the tiny Generator)'),
  vocabSize: int(2048, 259, 8192, { label: 'BPE vocabulary', group: STUDENT, doc: "The Student's BPE vocabulary bound (bytes + 3 specials + merges), trained on its pool." }),
  maxTextTokens: int(48, 4, 1024, {
    label: 'Text tokens', group: STUDENT, hint: 'longer texts are cut',
    doc: 'Text tokens a Student sees (longer texts are cut); also the longest text the Student (Recursive) or the tiny Generator writes.',
  }),
  lmWeight: num(0.3, 0, 10, {
    label: 'Write weight', group: STUDENT, hint: 'label → text training beside classification',
    doc: 'Weight of the write direction (mean token loss) beside the classification loss (mean over examples).',
  }),
  writeEpochs: int(1, 0, 100, {
    label: 'Write epochs', group: STUDENT, hint: 'of the epochs per generation',
    doc: 'Of the E passes of a generation, how many also train the write direction (on every example); spread evenly.',
  }),
  pretrainSteps: int(1000, 0, 1_000_000, {
    label: 'Pretraining steps', group: STUDENT, hint: 'plain LM on the pool texts', doc: 'Plain-LM steps on the pool texts before generation 0.',
  }),
  pretrainLearningRate: num(3e-3, 0, 1, { label: 'Pretraining LR', group: STUDENT, doc: 'Peak learning rate of the pretraining.' }),
  batchSize: int(8, 1, 1024, {
    label: 'Batch', group: STUDENT, doc: 'Examples per optimizer step (each gives a classify row and, with lmWeight > 0, a write row).',
  }),
  learningRate: num(3e-3, 0, 1, {
    label: 'Learning rate', group: STUDENT, doc: "Peak learning rate of the Student's labelled training (warmup, then cosine within each generation).",
  }),
  weightDecay: num(0.01, 0, 10, {
    label: 'Weight decay', group: STUDENT,
    doc: "AdamW's decoupled weight decay on the matrices, in every phase (0.01: light, as fine-tuning a pretrained model usually is).",
  }),
  continueAcrossGenerations: bool(true, {
    label: 'Continue across generations', group: STUDENT, hint: 'the original; off: restart each generation',
    doc: 'Keep training the same Student across generations (the original); off: restart from the pretrained Student each generation.',
  }),
  selfBleuSamples: int(100, 2, 10_000, {
    label: 'Self-BLEU samples', group: MEASURING, hint: 'hypotheses per generation', doc: 'Hypotheses per generation for Self-BLEU (3-gram, words).',
  }),
  sampleRowsPerGeneration: int(100, 0, 100_000, {
    label: 'Browsed rows', group: MEASURING, hint: 'per method and generation', doc: 'Rows per method per generation in the sample browser.',
  }),
};

export type SymbiosisConfig = ConfigOf<typeof fields>;

/** Recursive's Student writes the next generation's data, so it must learn the write direction. */
const recursiveWrites = (field: 'lmWeight' | 'writeEpochs'): Rule<SymbiosisConfig> => ({
  field,
  ok: (c) => !c.methods.includes('recursive') || c[field] > 0,
  message: () => 'must be > 0 when Recursive runs: its Student writes the next data',
});

/**
 * The models a run trains, from the settings alone: the Student (and the tiny
 * Generator, the same shape) on BPE tokens, a context of the text tokens plus
 * 4 (setup.ts), a step of classify rows and as many write rows; and the
 * corpus Generator (writer.ts), rows of its own text tokens plus 4.
 */
export function trainedModels(c: SymbiosisConfig): TrainedModel[] {
  const gpt = { vocabSize: c.vocabSize, contextLength: c.maxTextTokens + 4, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const student = { gpt, batch: 2 * c.batchSize, what: 'the Student' };
  if (c.generator !== 'corpus') return [student];
  // The corpus Generator trains beside the Student on a backend of its own (its vocabulary is a bound: the BPE may stop short of it).
  const generator = {
    vocabSize: c.generatorVocabSize, contextLength: c.generatorMaxTokens + 4, dModel: c.generatorDModel, nLayers: c.generatorLayers, nHeads: c.generatorHeads,
  };
  return [student, { gpt: generator, batch: c.generatorBatchSize, what: 'the corpus Generator' }];
}

export const config = defineConfig(fields, [
  headsDivideWidth,
  ...memoryRules(trainedModels),
  {
    field: 'promptPrefixTokens',
    ok: (c) => c.promptPrefixTokens < c.maxTextTokens,
    message: (c, name) => `must be less than ${name('maxTextTokens')} (${c.maxTextTokens})`,
  },
  {
    field: 'promptPrefixTokens',
    ok: (c) => c.generator !== 'corpus' || c.promptPrefixTokens < c.generatorMaxTokens,
    message: (c) => `must be less than generatorMaxTokens (${c.generatorMaxTokens}) with the corpus Generator`,
  },
  {
    field: 'staticPrefixTokens',
    ok: (c) => c.staticPrefixTokens < (c.generator === 'corpus' ? c.generatorMaxTokens : c.maxTextTokens),
    message: (c) => `must be less than ${c.generator === 'corpus' ? `generatorMaxTokens (${c.generatorMaxTokens})` : `maxTextTokens (${c.maxTextTokens})`}`,
  },
  {
    field: 'generatorHeads',
    ok: (c) => c.generatorDModel % c.generatorHeads === 0,
    message: (c) => `must divide generatorDModel (${c.generatorDModel})`,
  },
  atMost('seedSetSize', 'poolSize'),
  {
    field: 'valSize',
    ok: (c) => c.mineOn !== 'pool' || c.valSize <= c.poolSize,
    message: (c, name) => `must be ≤ ${name('poolSize')} (${c.poolSize}) when mining on the pool`,
  },
  recursiveWrites('lmWeight'),
  atMost('writeEpochs', 'epochsPerGeneration'),
  recursiveWrites('writeEpochs'),
]);

/** The original's sizes (docs/write-ups.md): 1000 real / 200 validation / 500 test, 3 generations of 200, 2 epochs, 50 hard examples, batch 8. */
const WRITE_UP_SIZES: Partial<SymbiosisConfig> = {
  poolSize: 1000, valSize: 200, testSize: 500, generations: 3, syntheticPerGeneration: 200, staticSetSize: 400,
  epochsPerGeneration: 2, hardExamples: 50, batchSize: 8,
};

/** The four methods of the original (without the lab's extension). */
const ORIGINAL_METHODS: SymbiosisConfig['methods'] = ['real', 'static', 'recursive', 'symbiosis'];

/**
 * The lab's first classroom setting (before the corpus Generator): the tiny
 * Generator on a 200-row seed set, a d = 24 Student on 24 tokens. Kept as the
 * reference its earlier numbers were measured with.
 */
const FIRST_SETTING: Partial<SymbiosisConfig> = {
  methods: ORIGINAL_METHODS, generator: 'tiny', generatorSteps: 150, pretrainSteps: 300, dModel: 24, vocabSize: 1536, maxTextTokens: 24, staticPrefixTokens: 0,
};

export const presets: Record<string, Preset<SymbiosisConfig>> = {
  classroom: {
    description: 'The classroom setting: the corpus Generator (trained here on the rows the Student never sees), all five methods, one replicate; a few minutes per seed on a CPU.',
    overrides: {},
  },
  'write-up': {
    description: "The original's sizes (docs/write-ups.md: 1000 real / 200 validation / 500 test, 3 generations of 200, 2 epochs, 50 hard examples, batch 8) with the pretrained Generator (browser).",
    overrides: { ...WRITE_UP_SIZES, generator: 'pretrained', pretrainedModel: 'onnx-community/Qwen2-0.5B-Instruct-ONNX' },
  },
  'write-up-lab': {
    description: "The original's sizes with the corpus Generator (runs anywhere, offline).",
    overrides: WRITE_UP_SIZES,
  },
  replicated: {
    description: 'As classroom, three replicates in one run: Table 1 and the differences with t-intervals over replicates.',
    overrides: { replicates: 3 },
  },
  tiny: {
    description: "The lab's first classroom setting: the tiny Generator on a 200-row seed set of the pool, the four original methods, a d = 24 Student on 24 tokens.",
    overrides: FIRST_SETTING,
  },
  'write-up-tiny': {
    description: "The original's sizes with the tiny Generator of the first setting.",
    overrides: { ...FIRST_SETTING, ...WRITE_UP_SIZES },
  },
};
