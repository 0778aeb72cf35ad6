/**
 * The diversity lab's settings: one table, each field with its default,
 * bounds, doc, label and group (fields.ts), the rules across fields, and the
 * named presets. The defaults are the classroom setting (docs/diversity.md):
 * the write-up's λ values and diversity settings on a 1-layer model, 3
 * replicates. The table keeps the config's historical key order (stored runs
 * and summary.json list keys in it); the form's fieldsets gather by group.
 */
import * as v from 'valibot';
import { PUZZLE_ALPHABET } from '../../core/puzzles';
import { SPLIT_NAMES, type SplitName } from '../../core/puzzles/splits';
import { targetLevel } from '../../core/puzzles/targets';
import { CharTokenizer } from '../../core/tokenizer/char';
import {
  type ConfigOf, type Rule, type TrainedModel, atMost, defineConfig, headsDivideWidth, int, list, memoryRules, menu, modelShapeFields, num, numbers,
} from '../fields';
import type { Preset } from '../types';

/** The two diversity objectives (docs/diversity.md). */
export const OBJECTIVES = ['additive', 'polychromic'] as const;
export type Objective = (typeof OBJECTIVES)[number];

const OBJECTIVE = 'Objective';
const TASK = 'Task';
const MODEL = 'Model';
const TRAINING = 'Training';
const EVALUATION = 'Evaluation';

/** A λ: a number, or a numeric string (a share link or a form field gives lists as strings), in [0, 100]. */
const lambdaValue = v.pipe(
  v.union([v.number(), v.pipe(v.string(), v.trim(), v.nonEmpty(), v.transform(Number))], 'must be a number'),
  v.check((x) => Number.isFinite(x) && x >= 0 && x <= 100, (i) => `must be a number from 0 to 100, got ${String(i.input)}`),
);

const lambdaList = v.pipe(
  v.array(lambdaValue, 'must be a list of numbers'),
  v.minLength(1, 'give at least one λ'),
  v.maxLength(8, 'at most 8 values'),
  v.check((l) => new Set(l).size === l.length, 'lists a value twice'),
);

export const fields = {
  objective: menu(OBJECTIVES, 'additive', {
    label: 'Objective', group: OBJECTIVE, hint: 'additive: quality − λ·D; polychromic: sets scored for quality × diversity together',
    doc: "'additive': quality_loss − λ·E[D]; 'polychromic': quality_loss − λ·E[mean quality × D] over sets of setSize.",
  }),
  lambdas: numbers([0, 0.3, 1, 2], lambdaList, {
    label: 'λ values', group: OBJECTIVE, hint: 'comma-separated; run side by side from one base model',
    doc: 'The λ values run side by side from the same base model (include 0 for the changes against it).',
  }),
  replicates: int(3, 1, 20, {
    label: 'Replicates', group: OBJECTIVE, hint: 'independent seeds, for the 95% intervals',
    doc: 'Independent seeds inside the run (own init, batches and samples), for the mean and 95% CI.',
  }),
  difficulty: int(2, 1, 3, {
    label: 'Difficulty', group: TASK, hint: '1–3: operands per answer',
    doc: 'Task difficulty 1–3: answers of 2…d+1 single-digit operands, ≤ 2(d+1)+1 characters.',
  }),
  minTarget: int(0, 0, 999, {
    label: 'Smallest target', group: TASK,
    doc: 'Targets are integers in [minTarget, maxTarget] with at least seedsPerTarget answers.',
  }),
  maxTarget: int(30, 0, 999, { label: 'Largest target', group: TASK, doc: 'The largest target (inclusive).' }),
  trainTargets: int(16, 1, 1000, { label: 'Train targets', group: TASK, doc: 'Training targets (splits are disjoint by target).' }),
  valTargets: int(4, 0, 1000, { label: 'Validation targets', group: TASK, doc: 'Held-out validation targets.' }),
  testTargets: int(8, 0, 1000, { label: 'Test targets', group: TASK, doc: 'Held-out test targets.' }),
  seedsPerTarget: int(4, 1, 100, {
    label: 'Answers per target', group: TASK, hint: 'in the seed set',
    doc: 'Distinct correct answers per training target in the seed set (the quality data).',
  }),
  ...modelShapeFields({ dModel: 32, nLayers: 1, nHeads: 2 }, MODEL, 'the character-level GPT'),
  warmStartSteps: int(400, 0, 1_000_000, {
    label: 'Warm-start steps', group: TRAINING, doc: 'SFT steps of the warm start (the base model every λ starts from).',
  }),
  warmStartLearningRate: num(1e-2, 0, 1, { label: 'Warm-start LR', group: TRAINING, doc: "The warm start's peak learning rate." }),
  fineTuneSteps: int(90, 0, 1_000_000, { label: 'Fine-tuning steps', group: TRAINING, hint: 'per λ', doc: 'Fine-tuning steps per λ.' }),
  learningRate: num(1e-2, 0, 1, { label: 'Learning rate', group: TRAINING, doc: "Fine-tuning's peak learning rate (warmup then cosine)." }),
  weightDecay: num(0.1, 0, 10, {
    label: 'Weight decay', group: TRAINING, doc: "AdamW's decoupled weight decay on the matrices, in every phase (0.1, as nanoGPT).",
  }),
  batchSize: int(32, 1, 4096, { label: 'Batch', group: TRAINING, hint: 'quality rows per step', doc: 'Quality rows (seed pairs) per optimizer step.' }),
  samplesPerPrompt: int(5, 3, 16, {
    label: 'Samples n', group: OBJECTIVE, hint: 'per prompt for each diversity estimate', doc: 'n: samples per prompt for each diversity estimate.',
  }),
  promptsPerEstimate: int(8, 1, 256, {
    label: 'Prompts P', group: OBJECTIVE, hint: 'per diversity estimate', doc: 'P: training prompts per diversity estimate.',
  }),
  diversityEvery: int(3, 1, 1000, {
    label: 'Diversity every', group: OBJECTIVE, hint: 'steps between diversity updates',
    doc: 'Add diversity rows every this many steps (the steps in between are quality only).',
  }),
  setSize: int(3, 2, 15, {
    label: 'Set size k', group: OBJECTIVE, hint: 'polychromic sets (< n)', doc: 'k: samples per set of the polychromic objective (2 ≤ k < n).',
  }),
  temperature: num(1, 0.05, 10, {
    label: 'Temperature', group: OBJECTIVE, doc: 'Sampling temperature of the diversity samples and of the evaluation.',
  }),
  diagnoseEvery: int(15, 0, 1_000_000, {
    label: 'Diagnose every', group: TRAINING, hint: 'steps between share measurements',
    doc: 'Measure loss and gradient shares every this many steps (a multiple of diversityEvery; 0: never).',
  }),
  evalSplits: list(SPLIT_NAMES, ['train', 'test'], 'split', {
    label: 'Evaluated splits', group: EVALUATION,
    doc: "The splits evaluated: 'val'/'test' are held-out targets; 'train' the seen targets, where correct answers outside the seed set count as novel.",
  }),
  evalSamples: int(20, 1, 256, {
    label: 'Samples m', group: EVALUATION, hint: 'per evaluation prompt',
    doc: "m: samples per evaluation prompt (pass@k, Distinct-2, Self-BLEU within each prompt's m samples).",
  }),
  passK: int(10, 1, 256, { label: 'k of pass@k', group: EVALUATION, doc: 'k of pass@k (≤ evalSamples).' }),
  embedBatchSize: int(64, 0, 4096, {
    label: 'Embedding batch', group: EVALUATION, hint: '0: no embedding diversity',
    doc: 'Texts per ctx.embed call for embedding diversity (0: not computed).',
  }),
  viewerPrompts: int(4, 0, 100, { label: 'Viewer prompts', group: EVALUATION, doc: 'Evaluation prompts shown per λ in the sample viewer.' }),
};

export type DiversityConfig = ConfigOf<typeof fields>;

/** Targets in a split. */
export function splitSize(c: Pick<DiversityConfig, 'trainTargets' | 'valTargets' | 'testTargets'>, s: SplitName): number {
  return s === 'train' ? c.trainTargets : s === 'val' ? c.valTargets : c.testTargets;
}

/**
 * The model a run trains, from the settings alone: character tokens, a context
 * of BOS, the prompt ("=" and a target of up to 5 digits) and the longest answer
 * of the difficulty, and a step over the quality rows plus the surrogate rows
 * of one diversity estimate (P prompts × n samples).
 */
export function trainedModels(c: DiversityConfig): TrainedModel[] {
  const level = c.difficulty >= 1 && c.difficulty <= 3 ? targetLevel(c.difficulty) : targetLevel(3);
  const contextLength = Math.ceil((1 + 7 + level.maxLength + 1) / 8) * 8;
  return [{
    gpt: { vocabSize: new CharTokenizer(PUZZLE_ALPHABET).vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads },
    batch: c.batchSize + c.promptsPerEstimate * c.samplesPerPrompt, what: 'the model',
  }];
}

const rules: Rule<DiversityConfig>[] = [
  atMost('minTarget', 'maxTarget'),
  headsDivideWidth,
  {
    field: 'setSize',
    ok: (c) => c.objective !== 'polychromic' || c.setSize < c.samplesPerPrompt,
    message: (c, name) => `must be < ${name('samplesPerPrompt')} (${c.samplesPerPrompt})`,
  },
  atMost('promptsPerEstimate', 'trainTargets'),
  atMost('passK', 'evalSamples'),
  {
    field: 'diagnoseEvery',
    ok: (c) => c.diagnoseEvery % c.diversityEvery === 0,
    message: (c, name) => `must be a multiple of ${name('diversityEvery')} (${c.diversityEvery})`,
  },
  {
    field: 'evalSplits',
    ok: (c) => c.evalSplits.every((s) => splitSize(c, s) > 0),
    message: (c) => `includes an empty split (${c.evalSplits.filter((s) => splitSize(c, s) === 0).join(', ')})`,
  },
  ...memoryRules(trainedModels),
];

export const config = defineConfig(fields, rules, {
  [TASK]: 'Write an expression equal to the target: many right answers per prompt.',
});

export const presets: Record<string, Preset<DiversityConfig>> = {
  classroom: {
    description: 'The write-up\u2019s planned λ ∈ {0, 0.3, 1, 2}, n = 5, 8 prompts per estimate every 3 steps; 3 replicates, about a minute on a CPU.',
    overrides: {},
  },
  'write-up': {
    description: 'The write-up\u2019s planned settings (docs/write-ups.md: λ ∈ {0, 0.3, 1, 2}, n = 5, 8 prompts per estimate, every 3 steps) with 240 fine-tuning steps and 5 replicates.',
    overrides: {
      lambdas: [0, 0.3, 1, 2], samplesPerPrompt: 5, promptsPerEstimate: 8, diversityEvery: 3,
      replicates: 5, fineTuneSteps: 240, diagnoseEvery: 30,
    },
  },
  'every-step': {
    description: 'A stronger, less noisy diversity term: n = 8, 16 prompts per estimate, every step, λ up to 8; diversity takes over and quality falls.',
    overrides: { lambdas: [0, 0.5, 2, 8], samplesPerPrompt: 8, promptsPerEstimate: 16, diversityEvery: 1 },
  },
  polychromic: {
    description: 'As every-step with the set-level polychromic objective (mean correctness × diversity of sets of 4 of the 8 samples).',
    overrides: { objective: 'polychromic', lambdas: [0, 2, 8], samplesPerPrompt: 8, promptsPerEstimate: 16, diversityEvery: 1, setSize: 4 },
  },
  quick: {
    description: 'λ ∈ {0, 2}, one replicate: a first look in about ten seconds.',
    overrides: { lambdas: [0, 2], replicates: 1 },
  },
};
