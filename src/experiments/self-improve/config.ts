/**
 * The self-improvement lab's settings: one table, each field with its
 * default, bounds, doc, label and group (fields.ts), and the named presets.
 * The defaults are the classroom setting: reversing 3–4 digits, where a
 * 30-example warm start gives partial skill for the loop to build on.
 */
import { FAMILY_NAMES, PUZZLE_ALPHABET } from '../../core/puzzles';
import { MAX_MODULUS, MIN_MODULUS, RESIDUE_OPERATIONS } from '../../core/puzzles/residues';
import { CharTokenizer } from '../../core/tokenizer/char';
import {
  type ConfigOf, type Rule, type TrainedModel, atMost, bool, defineConfig, headsDivideWidth, int, list, memoryRules, menu, modelShapeFields, num,
} from '../fields';
import type { Preset } from '../types';

const PUZZLES = 'Puzzles';
const TRAINING = 'Training';
const LOOP = 'The loop';
const EVALUATION = 'Evaluation';
const TABLE = 'Residue table (grokking)';

/** What a run trains on: the loop over puzzles, or one operation's whole table of residues (docs/grokking.md). */
export const TASKS = ['puzzles', 'residue table'] as const;

export const fields = {
  task: menu(TASKS, 'puzzles', {
    label: 'Task', group: PUZZLES, hint: 'the self-improvement loop, or a residue table to watch grokking',
    doc: "'puzzles': the self-improvement loop. 'residue table': supervised full-batch training on a ∘ b mod p, one token per residue, with the grokking views (docs/grokking.md); the loop's fields are then unused.",
  }),
  families: list(FAMILY_NAMES, ['reverse'], 'family', {
    label: 'Families', group: PUZZLES, hint: 'puzzle kinds mixed in every split',
    doc: 'Puzzle families mixed in every split (docs/puzzles.md).',
  }),
  minDifficulty: int(1, 1, 10, {
    label: 'Min difficulty', group: PUZZLES, hint: '1–10, see the table below',
    doc: 'Lowest difficulty (1–10, inclusive); each puzzle is uniform in [min, max].',
  }),
  maxDifficulty: int(2, 1, 10, { label: 'Max difficulty', group: PUZZLES, hint: '1–10, inclusive', doc: 'Highest difficulty (1–10, inclusive).' }),
  trainSize: int(120, 1, 100_000, {
    label: 'Train problems', group: PUZZLES, hint: 'attempted each iteration',
    doc: 'Training problems (the loop attempts them; splits are disjoint by a hash of each puzzle).',
  }),
  valSize: int(40, 1, 100_000, { label: 'Validation problems', group: PUZZLES, hint: 'held out', doc: 'Held-out validation problems.' }),
  testSize: int(40, 1, 100_000, { label: 'Test problems', group: PUZZLES, hint: 'held out', doc: 'Held-out test problems.' }),
  seedSetSize: int(30, 1, 100_000, {
    label: 'Seed set', group: PUZZLES, hint: 'labelled train problems for the warm start',
    doc: 'Labelled training problems the warm start learns from (the rest are unlabelled to the loop).',
  }),
  ...modelShapeFields({ dModel: 64, nLayers: 2, nHeads: 4 }, 'Model', 'the character-level GPT'),
  warmStartSteps: int(120, 0, 1_000_000, {
    label: 'Warm-start steps', group: TRAINING, hint: 'supervised, on the seed set',
    doc: 'Supervised steps on the seed set before iteration 0, so the model can attempt anything at all (task residue table: all of its full-batch steps).',
  }),
  iterations: int(4, 0, 10_000, {
    label: 'Iterations', group: TRAINING, hint: 'attempt → verify → fine-tune', doc: 'Self-improvement iterations after the warm start.',
  }),
  stepsPerIteration: int(70, 0, 1_000_000, {
    label: 'Steps per iteration', group: TRAINING, hint: 'fine-tuning on kept solutions',
    doc: 'Fine-tuning steps per iteration on the seed set and every solution kept so far.',
  }),
  batchSize: int(24, 1, 4096, { label: 'Batch', group: TRAINING, hint: 'sequences per step', doc: 'Sequences per optimizer step.' }),
  learningRate: num(3e-3, 0, 1, {
    label: 'Learning rate', group: TRAINING, hint: 'peak; warmup then cosine', doc: 'Peak learning rate (warmup then cosine within each phase).',
  }),
  weightDecay: num(0.1, 0, 10, {
    label: 'Weight decay', group: TRAINING, hint: 'AdamW, decoupled', doc: "AdamW's decoupled weight decay on the matrices; the grokking knob.",
  }),
  samplesPerProblem: int(4, 1, 256, {
    label: 'Attempts per problem', group: LOOP, hint: 'k samples each iteration', doc: 'k: attempts sampled per training problem each iteration.',
  }),
  temperature: num(1.0, 0, 10, {
    label: 'Temperature', group: LOOP, hint: 'of the attempts and pass@k', doc: 'Sampling temperature of the attempts (and of pass@k).',
  }),
  restartFromBase: bool(false, {
    label: 'Restart from base', group: LOOP, hint: 'STaR: fine-tune the warm-started model each time, not the latest',
    doc: 'STaR: restart each iteration from the warm-started base model instead of continuing.',
  }),
  rationalization: bool(false, {
    label: 'Rationalisation', group: LOOP, hint: 'STaR: show the answer as a hint for unsolved problems',
    doc: 'STaR rationalisation: show the answer as a hint for unsolved problems, keep verified outputs.',
  }),
  curriculum: bool(false, {
    label: 'Curriculum', group: LOOP, hint: 'raise the training difficulty as validation accuracy passes the threshold',
    doc: 'Raise the training difficulty when validation accuracy passes curriculumThreshold.',
  }),
  curriculumThreshold: num(0.8, 0, 1, {
    label: 'Curriculum threshold', group: LOOP, hint: 'validation accuracy, 0–1', doc: 'Validation accuracy (0–1) that raises the curriculum a level.',
  }),
  passSamples: int(2, 0, 256, {
    label: 'pass@k samples', group: EVALUATION, hint: 'n per problem; 0 turns pass@k off',
    doc: 'n samples per problem for pass@k on every split (0 disables pass@k).',
  }),
  passK: int(2, 1, 256, { label: 'k of pass@k', group: EVALUATION, hint: '≤ the samples', doc: 'k of pass@k (≤ passSamples).' }),
  modulus: int(31, MIN_MODULUS, MAX_MODULUS, {
    label: 'Modulus p', group: TABLE, hint: 'the table has p² pairs', doc: 'p of the residue table a ∘ b mod p (task: residue table).',
  }),
  operation: menu(RESIDUE_OPERATIONS, '+', { label: 'Operation', group: TABLE, hint: 'a ∘ b mod p', doc: 'The operation ∘ of the residue table.' }),
  trainFraction: num(0.4, 0, 1, {
    label: 'Train fraction', group: TABLE, hint: 'of the p² pairs; the rest is validation',
    doc: 'Fraction of the table trained on (rounded to whole pairs); every other pair validates. Near 0.4 is the grokking threshold at p = 31.',
  }, { above: true }),
  cooldownSteps: int(500, 0, 1_000_000, {
    label: 'Cooldown steps', group: TABLE, hint: 'cosine to 0 over the last steps; before it the rate is constant',
    doc: 'Residue table: 10 warmup steps, the peak rate held, then a cosine to 0 over the last cooldownSteps of warmStartSteps (β2 0.999).',
  }),
  compareNoDecay: bool(false, {
    label: 'Compare without weight decay', group: TABLE, hint: 'also train a copy with weight decay 0, same init and split',
    doc: 'Residue table: train a second arm with weightDecay 0 from the same initial parameters on the same split, step for step beside the first.',
  }),
  evalEvery: int(0, 0, 1_000_000, {
    label: 'Evaluate every', group: EVALUATION, hint: 'steps, for the grokking view; 0: per iteration',
    doc: 'Evaluate train/val accuracy every this many optimizer steps for the grokking view (0: per iteration only).',
  }),
};

type TableFields = { task: (typeof TASKS)[number]; modulus: number; trainFraction: number; warmStartSteps: number; cooldownSteps: number; evalEvery: number };

const isTable = (c: TableFields) => c.task === 'residue table';
const trainPairs = (c: TableFields) => Math.round(c.trainFraction * c.modulus ** 2);

/** A residue-table run trains at least one pair and validates on at least one, evaluates step-wise, and cools down within its steps. */
const residueTableRules: Rule<TableFields>[] = [
  {
    field: 'trainFraction',
    ok: (c) => !isTable(c) || (trainPairs(c) >= 1 && trainPairs(c) < c.modulus ** 2),
    message: (c) => `leaves no pair for training or none for validation out of ${c.modulus}² = ${c.modulus ** 2}`,
  },
  { field: 'evalEvery', ok: (c) => !isTable(c) || c.evalEvery > 0, message: () => 'must be > 0 for a residue-table run (its views are step-wise)' },
  {
    field: 'cooldownSteps',
    ok: (c) => !isTable(c) || c.cooldownSteps + 10 <= c.warmStartSteps,
    message: (c, name) => `with the 10 warmup steps, must fit in ${name('warmStartSteps')} (${c.warmStartSteps})`,
  },
];

type Config = ConfigOf<typeof fields>;

/**
 * The model a run trains, estimated from the settings alone (the run fits its
 * context to the puzzles drawn): character tokens, and a context that holds
 * the longest puzzle of any family (48 characters with its answer at
 * difficulty 10), twice over with rationalisation's hint; a residue table's
 * V = p + 5 ids over T = 4 positions.
 */
export function trainedModels(c: Config): TrainedModel[] {
  // A residue-table run: one token per residue and a few for the operation and '=' (V = p + 5), four positions, and
  // full batches (grokking.ts): every training pair in one step, every validation pair in one evaluation.
  if (c.task === 'residue table') {
    const train = trainPairs(c);
    return [{
      gpt: { vocabSize: c.modulus + 5, contextLength: 4, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads },
      batch: Math.max(1, train, c.modulus ** 2 - train), what: 'the model',
    }];
  }
  const contextLength = c.rationalization ? 104 : 56;
  return [{
    gpt: { vocabSize: new CharTokenizer(PUZZLE_ALPHABET).vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads },
    batch: c.batchSize, what: 'the model',
  }];
}

export const config = defineConfig(fields, [
  atMost('minDifficulty', 'maxDifficulty'),
  atMost('seedSetSize', 'trainSize'),
  headsDivideWidth,
  atMost('passK', 'passSamples', (c) => c.passSamples > 0),
  ...residueTableRules,
  ...memoryRules<Config>(trainedModels),
], {
  Model: 'A character-level GPT trained from scratch; its context fits the longest puzzle.',
});

export type SelfImproveConfig = Config;

export const presets: Record<string, Preset<SelfImproveConfig>> = {
  classroom: {
    description: 'Reverse 3–4 digits from a 30-example warm start; under a minute on a CPU.',
    overrides: {},
  },
  'write-up-replica': {
    description: 'The self-improvement write-up\u2019s setting (docs/write-ups.md): arithmetic, RPN and brackets at difficulty 3–7, 30/9/9 problems, 15 iterations.',
    overrides: {
      families: ['arithmetic', 'rpn', 'brackets'], minDifficulty: 3, maxDifficulty: 7,
      trainSize: 30, valSize: 9, testSize: 9, seedSetSize: 10, iterations: 15, stepsPerIteration: 60,
    },
  },
  grokking: {
    description: 'Modular addition mod 97 with strong weight decay and a long run; watch validation jump after training saturates.',
    overrides: {
      families: ['modular'], minDifficulty: 10, maxDifficulty: 10,
      trainSize: 3000, valSize: 500, testSize: 500, seedSetSize: 3000,
      dModel: 128, nLayers: 1, nHeads: 4, warmStartSteps: 20_000, iterations: 0,
      batchSize: 512, learningRate: 1e-3, weightDecay: 1.0, evalEvery: 250, passSamples: 0,
    },
  },
  'grokking-classroom': {
    description: 'a + b mod 31 from 40% of its table, full-batch AdamW with weight decay 1, beside a copy without weight decay: training saturates by step ~100, validation jumps after step 1,000 (docs/grokking.md).',
    overrides: {
      task: 'residue table', modulus: 31, operation: '+', trainFraction: 0.4, cooldownSteps: 500, compareNoDecay: true,
      dModel: 32, nLayers: 1, nHeads: 4, warmStartSteps: 2500, iterations: 0,
      learningRate: 1e-2, weightDecay: 1.0, evalEvery: 10, passSamples: 0,
    },
  },
};
