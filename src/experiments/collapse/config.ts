/**
 * The collapse lab's settings, one table (fields.ts), and its presets. The
 * defaults are the classroom setting: a seed in under a minute on one CPU
 * core — 400 real sentences, 5 generations of 400 samples, a 1-layer GPT;
 * top-p 0.9 makes the tails vanish within a few generations (at top-p 1
 * perplexity still rises under replace, but the diversity measures move
 * slowly: the `pure-sampling` preset).
 */
import { CLASSROOM_GRAMMAR } from '../../core/grammar/classroom';
import {
  type ConfigOf, type TrainedModel, bool, defineConfig, headsDivideWidth, int, list, memoryRules, menu, modelShapeFields, num,
} from '../fields';
import type { Preset } from '../types';

export const COLLAPSE_MODES = ['replace', 'accumulate', 'real-mix', 'accumulate-subsample'] as const;
export type CollapseMode = (typeof COLLAPSE_MODES)[number];

/** The name of the uploaded corpus in RunContext.inputs. */
export const CORPUS_INPUT = 'corpus';

const DATA = 'Data';
const TRAINING = 'Training';
const MEASURING = 'Measuring';

export const fields = {
  corpus: menu(['grammar', 'upload'], 'grammar', {
    label: 'Real corpus', group: DATA, hint: 'the generated grammar (exact truth) or a .txt file you upload',
    doc: "'grammar': the generated classroom grammar; 'upload': a .txt file given with the run (no grammar: validity not computed).",
  }),
  realSize: int(400, 20, 100_000, {
    label: 'Real sentences', group: DATA, hint: 'generation 0 trains on these',
    doc: 'Real training sentences of generation 0 (and the fixed budget of accumulate-subsample).',
  }),
  heldOutSize: int(200, 10, 100_000, { label: 'Held-out sentences', group: DATA, hint: 'for perplexity', doc: 'Real sentences held out for perplexity.' }),
  samplesPerGeneration: int(400, 10, 100_000, {
    label: 'Samples N', group: DATA, hint: 'each generation writes', doc: "N: sentences each generation's model writes (the next generation's data).",
  }),
  generations: int(5, 1, 100, { label: 'Generations', group: DATA, hint: 'after generation 0', doc: 'Generations after generation 0.' }),
  uploadMaxVocab: int(1000, 10, 50_000, {
    label: 'Upload vocabulary', group: DATA, hint: 'most words kept; the rest become <unk>',
    doc: 'Uploaded corpus: the most words kept in its vocabulary (the rest become <unk>).',
  }),
  modes: list(COLLAPSE_MODES, [...COLLAPSE_MODES], 'mode', {
    label: 'Modes', group: 'Modes', hint: 'run side by side on the same seed', doc: "The ways to build a generation's data, run side by side.",
  }),
  realMixFraction: num(0.25, 0, 1, {
    label: 'Real share r', group: 'Modes', hint: 'fresh real data in each real-mix generation',
    doc: 'r: the share of fresh real sentences in each real-mix generation.',
  }),
  ...modelShapeFields({ dModel: 32, nLayers: 1, nHeads: 2 }, 'Model', 'the word-level GPT'),
  firstSteps: int(300, 1, 1_000_000, {
    label: 'Steps, generation 0', group: TRAINING, hint: 'from scratch on real data', doc: 'Optimizer steps of generation 0 (from scratch).',
  }),
  stepsPerGeneration: int(100, 1, 1_000_000, {
    label: 'Steps per generation', group: TRAINING, hint: 'continuing from the previous generation', doc: 'Optimizer steps of each later generation.',
  }),
  continueTraining: bool(true, {
    label: 'Continue training', group: TRAINING, hint: 'off: every generation retrains from the same initialisation',
    doc: "Continue each mode's model from its previous generation; off: retrain from the same init for firstSteps.",
  }),
  batchSize: int(32, 1, 4096, { label: 'Batch', group: TRAINING, hint: 'sentences per step', doc: 'Sentences per optimizer step.' }),
  learningRate: num(1e-2, 0, 1, {
    label: 'Learning rate', group: TRAINING, hint: 'peak; warmup then cosine', doc: 'Peak learning rate (warmup, then cosine within each generation).',
  }),
  weightDecay: num(0.1, 0, 10, {
    label: 'Weight decay', group: TRAINING, hint: 'AdamW, decoupled', doc: "AdamW's decoupled weight decay on the matrices (0.1, as nanoGPT).",
  }),
  temperature: num(1, 0.05, 10, { label: 'Temperature', group: 'Sampling', hint: 'of the samples', doc: "Sampling temperature of every generation's samples." }),
  topP: num(0.9, 0.01, 1, {
    label: 'Top-p', group: 'Sampling', hint: '< 1 cuts the tail, as deployed generators do',
    doc: "Nucleus (top-p) of every generation's samples; < 1 cuts the tail, as deployed generators do.",
  }),
  viewerPrompts: int(6, 0, 100, {
    label: 'Viewer prompts', group: MEASURING, hint: 'answered by every generation',
    doc: 'Prompts (the first two words of held-out sentences) every generation answers in the sample viewer.',
  }),
  embeddingSamples: int(200, 0, 10_000, {
    label: 'Embedded samples', group: MEASURING, hint: 'per generation; 0 turns it off', doc: 'Samples per generation embedded for embedding diversity (0: off).',
  }),
  selfBleuSamples: int(100, 2, 10_000, {
    label: 'Self-BLEU samples', group: MEASURING, hint: 'hypotheses per generation', doc: 'Hypotheses per generation for Self-BLEU (each against all other samples).',
  }),
  histogramBins: int(24, 2, 200, { label: 'Histogram bins', group: MEASURING, doc: 'Bins of the per-token log-likelihood histogram.' }),
  gaussianN: int(20, 2, 100_000, {
    label: 'Gaussian n', group: MEASURING, hint: 'for the summary', doc: 'The analytic Gaussian demo in the summary: samples per generation n.',
  }),
  gaussianGenerations: int(50, 1, 10_000, { label: 'Gaussian generations', group: MEASURING, doc: 'The analytic Gaussian demo: generations.' }),
  gaussianSeeds: int(200, 1, 10_000, { label: 'Gaussian seeds', group: MEASURING, doc: 'The analytic Gaussian demo: seeds (for the 10–90% band).' }),
};

export type CollapseConfig = ConfigOf<typeof fields>;

/**
 * The model a run trains, from the settings alone: word tokens (the grammar's
 * words, or an upload's kept vocabulary, plus BOS, EOS and <unk>) and a
 * context of the longest sentence (the grammar's 20 words; an upload's are cut
 * to about as many) with BOS and EOS.
 */
export function trainedModels(c: CollapseConfig): TrainedModel[] {
  const words = c.corpus === 'grammar' ? CLASSROOM_GRAMMAR.classes.reduce((n, k) => n + k.words.length, 0) : c.uploadMaxVocab;
  const contextLength = Math.ceil((CLASSROOM_GRAMMAR.maxWords + 2) / 8) * 8;
  return [{ gpt: { vocabSize: words + 3, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads }, batch: c.batchSize, what: 'the model' }];
}

export const config = defineConfig(fields, [headsDivideWidth, ...memoryRules(trainedModels)], {
  Model: 'A word-level GPT trained from scratch; its context fits the longest sentence.',
});

export const presets: Record<string, Preset<CollapseConfig>> = {
  classroom: {
    description: 'The classroom grammar, four modes, five generations; under a minute per seed on a CPU.',
    overrides: {},
  },
  'pure-sampling': {
    description: 'As classroom, sampling the full distribution (top-p 1): perplexity still rises under replace, the tails fade more slowly.',
    overrides: { topP: 1 },
  },
  long: {
    description: 'Ten generations of 800 samples with a 2-layer model: slower, smoother curves.',
    overrides: { generations: 10, samplesPerGeneration: 800, nLayers: 2, dModel: 48, firstSteps: 600, stepsPerGeneration: 200 },
  },
};
