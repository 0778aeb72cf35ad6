/**
 * The programs lab's settings: one table, each field with its default,
 * bounds, doc, label and group (fields.ts), the rules across fields, and the
 * named presets. The defaults are the classroom setting: the pretrained
 * coder on a dozen puzzles, two samples each, three evaluations.
 * docs/programs.md describes the loop and both coders.
 */
import { CODER_MODEL_IDS, DEFAULT_CODER_MODEL } from '../../core/models';
import { FAMILY_NAMES } from '../../core/puzzles';
import {
  type ConfigOf, type TrainedModel, atMost, defineConfig, headsDivideWidth, int, list, memoryRules, menu, modelShapeFields, num, pretrainedModelField,
} from '../fields';
import { MAX_BODY_LENGTH } from './grammar';
import type { Preset } from '../types';

const PUZZLES = 'Puzzles';
const CODER = 'Coder';
const LOOP = 'The loop';
const SANDBOX = 'Sandbox';
const GPT = "The lab's GPT";
const BROWSING = 'Browsing';

export const CODERS = ['pretrained', 'gpt'] as const;
export type CoderKind = (typeof CODERS)[number];

/** Which programs feed the next iteration: those that pass the visible puzzle and every hidden one, or the visible one only. */
export const KEEP_RULES = ['generalises', 'passes'] as const;

export const fields = {
  families: list(FAMILY_NAMES, ['arithmetic', 'rpn', 'brackets'], 'family', {
    label: 'Families', group: PUZZLES, hint: 'puzzle kinds mixed in every split',
    doc: 'Puzzle families mixed in every split (docs/puzzles.md, "Program form").',
  }),
  minDifficulty: int(3, 1, 10, { label: 'Min difficulty', group: PUZZLES, hint: '1–10', doc: 'Lowest difficulty (1–10, inclusive).' }),
  maxDifficulty: int(5, 1, 10, { label: 'Max difficulty', group: PUZZLES, hint: '1–10, inclusive', doc: 'Highest difficulty (1–10, inclusive).' }),
  trainSize: int(6, 1, 10_000, {
    label: 'Train problems', group: PUZZLES, hint: 'their passing programs feed the next iteration',
    doc: 'Training problems: the programs that pass them become the next iteration\u2019s examples (or training data).',
  }),
  valSize: int(3, 1, 10_000, { label: 'Validation problems', group: PUZZLES, hint: 'held out', doc: 'Held-out validation problems.' }),
  testSize: int(3, 1, 10_000, { label: 'Test problems', group: PUZZLES, hint: 'held out', doc: 'Held-out test problems.' }),
  hiddenInputs: int(4, 1, 64, {
    label: 'Hidden inputs', group: PUZZLES, hint: 'per puzzle, same family and difficulty',
    doc: 'Hidden puzzles of the same family and difficulty each program also runs on, drawn so that no constant passes them all.',
  }),
  coder: menu(CODERS, 'pretrained', {
    label: 'Coder', group: CODER, hint: 'pretrained: a code model (downloads; learns in context); gpt: the lab\u2019s own, fine-tuned here',
    doc: "'pretrained': a code model through ctx.generateText, adapted by its prompt (few-shot examples); 'gpt': the lab's character-level GPT, fine-tuned on passing programs (STaR).",
  }),
  pretrainedModel: pretrainedModelField(CODER_MODEL_IDS, DEFAULT_CODER_MODEL, {
    label: 'Pretrained model', group: CODER, hint: 'downloaded once, then cached by the browser',
    doc: "Pretrained coder: a Hugging Face id from core/models' CODER_MODELS, or a URL path the app serves a model folder at.",
  }),
  maxNewTokens: int(320, 16, 4096, {
    label: 'New tokens', group: CODER, hint: 'per program, the pretrained model\u2019s tokens',
    doc: "Pretrained coder: new tokens per reply (its own tokenizer's); a program cut short is judged as written.",
  }),
  temperature: num(0.7, 0, 10, { label: 'Temperature', group: CODER, hint: '0: greedy', doc: 'Sampling temperature of every program written (0: greedy).' }),
  topP: num(0.95, 0.01, 1, { label: 'Top-p', group: CODER, doc: 'Nucleus (top-p) of every program written.' }),
  iterations: int(2, 0, 1000, {
    label: 'Iterations', group: LOOP, hint: 'after iteration 0, the coder as it is',
    doc: 'Iterations after iteration 0 (the coder before any feedback); each writes and judges programs for every split.',
  }),
  samplesPerProblem: int(2, 1, 64, {
    label: 'Programs per problem', group: LOOP, hint: 'n samples, for pass@1 and pass@k',
    doc: 'n: programs written for each problem of every split each iteration (pass@1 and pass@k are estimated from them).',
  }),
  passK: int(2, 1, 64, { label: 'k of pass@k', group: LOOP, hint: '≤ programs per problem', doc: 'k of pass@k (≤ samplesPerProblem).' }),
  fewShot: int(2, 0, 16, {
    label: 'Few-shot examples', group: LOOP, hint: 'pretrained; 0 is the evaluation-only loop',
    doc: 'Pretrained coder: kept programs shown as worked examples in each prompt (its family\u2019s first); 0: no feedback at all, the evaluation-only loop.',
  }),
  keep: menu(KEEP_RULES, 'generalises', {
    label: 'Keep programs that', group: LOOP, hint: 'generalises: pass the hidden inputs too',
    doc: "Which passing train programs feed the loop: 'generalises' (the visible puzzle and every hidden one) or 'passes' (the visible one only; a memorised constant can slip in).",
  }),
  timeoutMs: int(1000, 100, 10_000, {
    label: 'Time limit', group: SANDBOX, hint: 'ms per run of a program',
    doc: 'Milliseconds a program may run on one input before the sandbox interrupts it (docs/sandbox.md).',
  }),
  ...modelShapeFields({ dModel: 64, nLayers: 2, nHeads: 4 }, GPT, "the lab's GPT coder"),
  warmStartPrograms: int(2000, 10, 1_000_000, {
    label: 'Warm-start programs', group: GPT, hint: 'drawn from a small grammar, paired with random puzzles',
    doc: 'GPT coder: programs drawn from the warm-start grammar (grammar.ts), each paired with a random training puzzle, that it learns to write before iteration 0.',
  }),
  warmStartSteps: int(300, 0, 1_000_000, { label: 'Warm-start steps', group: GPT, doc: 'GPT coder: optimizer steps on the warm-start programs.' }),
  stepsPerIteration: int(60, 0, 1_000_000, {
    label: 'Steps per iteration', group: GPT, hint: 'fine-tuning on kept programs (STaR)',
    doc: 'GPT coder: fine-tuning steps per iteration on every program kept so far (0: the evaluation-only loop).',
  }),
  batchSize: int(16, 1, 4096, { label: 'Batch', group: GPT, doc: 'GPT coder: sequences per optimizer step.' }),
  learningRate: num(3e-3, 0, 1, { label: 'Learning rate', group: GPT, hint: 'peak; warmup then cosine', doc: 'GPT coder: peak learning rate of each phase.' }),
  weightDecay: num(0.1, 0, 10, { label: 'Weight decay', group: GPT, doc: "GPT coder: AdamW's decoupled weight decay on the matrices." }),
  browsedProblems: int(30, 0, 10_000, {
    label: 'Browsed problems', group: BROWSING, hint: 'per split and iteration',
    doc: 'Problems per split and iteration whose programs, outputs and verdicts are kept for the attempt browser.',
  }),
};

export type ProgramsConfig = ConfigOf<typeof fields>;

/**
 * The model a run trains, estimated from the settings alone: none with the
 * pretrained coder (it learns in context); with the GPT coder, printable
 * ASCII and a newline (96 characters, 3 special ids) and a context that holds
 * the longest puzzle prompt (48 characters at difficulty 10) and the longest
 * body the grammar writes, as gpt.ts sizes it.
 */
export function trainedModels(c: ProgramsConfig): TrainedModel[] {
  if (c.coder !== 'gpt') return [];
  const contextLength = Math.ceil((1 + 48 + 1 + MAX_BODY_LENGTH + 8) / 8) * 8;
  return [{ gpt: { vocabSize: 96 + 3, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads }, batch: c.batchSize, what: "the lab's GPT" }];
}

export const config = defineConfig(fields, [
  atMost('minDifficulty', 'maxDifficulty'),
  atMost('passK', 'samplesPerProblem'),
  headsDivideWidth,
  ...memoryRules<ProgramsConfig>(trainedModels),
], {
  [CODER]: 'The pretrained coder cannot be fine-tuned in a browser: it learns in context, from the programs it got right.',
  [GPT]: 'Used when the coder is gpt: a character-level GPT trained here from scratch (docs/programs.md says what it can and cannot write).',
});

/** The self-improvement write-up's puzzles (docs/write-ups.md): arithmetic, RPN and brackets at difficulty 3–7, 30/9/9, 15 iterations. */
const WRITE_UP: Partial<ProgramsConfig> = {
  families: ['arithmetic', 'rpn', 'brackets'], minDifficulty: 3, maxDifficulty: 7, trainSize: 30, valSize: 9, testSize: 9,
  iterations: 15, samplesPerProblem: 1, passK: 1, temperature: 0, hiddenInputs: 8, coder: 'pretrained',
};

/** The lab's GPT coder on the families its warm-start grammar can solve (grammar.ts), 40/12/12, four iterations. */
const LAB_GPT: Partial<ProgramsConfig> = {
  coder: 'gpt', families: ['arithmetic', 'reverse', 'sort', 'brackets'], minDifficulty: 2, maxDifficulty: 4,
  trainSize: 40, valSize: 12, testSize: 12, iterations: 4, samplesPerProblem: 4, passK: 4, temperature: 1, topP: 1,
};

export const presets: Record<string, Preset<ProgramsConfig>> = {
  classroom: {
    description: 'The pretrained coder on a dozen puzzles, two programs each, two iterations with few-shot feedback: minutes on a GPU.',
    overrides: {},
  },
  'write-up': {
    description: "The write-up's evaluation-only loop (docs/write-ups.md): a code model writes one program per puzzle (greedy), nothing feeds back, 15 iterations: the flat line. Its coder was Qwen 1.5B Coder; the 1.5B is in the model menu.",
    overrides: { ...WRITE_UP, fewShot: 0 },
  },
  'in-context': {
    description: 'The write-up\u2019s puzzles and greedy programs, with the loop closed in context: programs that generalised become worked examples in the next prompts. Compare it with a write-up run.',
    overrides: { ...WRITE_UP, fewShot: 3 },
  },
  'lab-gpt': {
    description: "The lab's own character-level GPT: warm-started on a small program grammar, then fine-tuned on the programs that generalised (STaR). Offline, minutes on a CPU.",
    overrides: LAB_GPT,
  },
  'lab-gpt-evaluation': {
    description: 'The lab-gpt run with nothing fed back (no fine-tuning steps): the warm-started GPT writes programs every iteration, the evaluation-only line to compare with lab-gpt.',
    overrides: { ...LAB_GPT, stepsPerIteration: 0 },
  },
};
