/**
 * What a programs run stores: one metric record per iteration (every split
 * scored on the visible puzzles and on the hidden inputs), the attempts of
 * the attempt browser (each program, what it returned and the verdict),
 * where sample sets and checkpoints belong, and the state a checkpoint
 * carries. Each is a valibot schema and the type it infers, so a record read
 * back from IndexedDB or an imported run.jsonl is checked before a page
 * reads it.
 */
import * as v from 'valibot';
import { FAMILY_NAMES, PROGRAM_OUTCOMES, SPLIT_NAMES } from '../../core/puzzles';
import { count, real, realOrNull, realRecord, str } from '../schemas';

/** Why a program's run on the visible puzzle did not pass (the sandbox's outcome, a wrong type, a wrong answer), or that it did. */
export const VERDICTS = ['passed', 'wrong', 'type', 'error', 'timeout', 'memory', 'output'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One split's scores in one iteration: n programs for each of its problems. */
export const splitScores = v.object({
  problems: count,
  programs: count,
  /** pass@1 and pass@k on the visible puzzle (unbiased estimator over the n programs; NaN for an empty split). */
  passAt1: real,
  passAtK: real,
  /** The same where passing means the visible puzzle AND every hidden input: programs that compute, not remember. */
  generalAt1: real,
  generalAtK: real,
  /** Of the programs that passed the visible puzzle, the share that passed every hidden input; NaN when none passed. */
  generalShare: real,
  /** The mean share of hidden inputs passed, over every program. */
  hiddenShare: real,
  /** Programs by their verdict on the visible puzzle. */
  verdicts: v.object({ passed: count, wrong: count, type: count, error: count, timeout: count, memory: count, output: count }),
});
export type SplitScores = v.InferOutput<typeof splitScores>;

const perSplitTable = v.object({ train: realRecord, val: realRecord, test: realRecord });

/** One iteration: the coder wrote n programs for every problem of every split; the sandbox ran each on its puzzle and hidden inputs. */
export const iterationRecord = v.object({
  kind: v.literal('iteration'),
  iteration: count,
  /** The coder in words (the pretrained model's id as the host loaded it, or the lab's GPT). */
  coder: str,
  scores: v.object({ train: splitScores, val: splitScores, test: splitScores }),
  /** pass@1 per split by family and by difficulty ("3" → 0.5): on the visible puzzle, and generalising. */
  passByFamily: perSplitTable,
  generalByFamily: perSplitTable,
  passByDifficulty: perSplitTable,
  generalByDifficulty: perSplitTable,
  /** Few-shot examples in each prompt at most (pretrained coder; 0 for the GPT and for the evaluation-only loop). */
  fewShot: count,
  /** Train programs kept this iteration (new distinct ones) and in total: the next prompts' examples or the GPT's training data. */
  kept: count,
  keptTotal: count,
  /** GPT coder: optimizer steps so far and the mean of the last training losses of this iteration's fine-tuning (null when nothing trained). */
  step: count,
  trainLoss: realOrNull,
  /** Milliseconds the sandbox spent running this iteration's programs (every run, hidden inputs included). */
  sandboxMs: real,
  seconds: real,
});
export type IterationRecord = v.InferOutput<typeof iterationRecord>;

/** The lab's GPT after its warm start: what it learnt to write before any puzzle was judged. */
export const warmStartRecord = v.object({
  kind: v.literal('warm-start'),
  programs: count,
  steps: count,
  trainLoss: realOrNull,
  parameters: count,
  contextLength: count,
});
export type WarmStartRecord = v.InferOutput<typeof warmStartRecord>;

export const record = v.variant('kind', [iterationRecord, warmStartRecord], 'must be an iteration or warm-start record');
export type ProgramsRecord = v.InferOutput<typeof record>;

/** Where sample sets and checkpoints belong: after iteration i (0: the coder before any feedback). */
export const position = v.object({ iteration: count });
export type ProgramsPosition = v.InferOutput<typeof position>;

/** A hidden input a program failed: what went in, what was expected, what came out. */
const hiddenFailure = v.object({ input: str, expected: str, got: str });

/** One program written for a problem, and how it fared. */
export const attempt = v.object({
  /** The program as run (extracted from the reply; cut at 4,000 characters for storage). Text only: the page never runs it. */
  program: str,
  /** How its run on the visible puzzle ended (the sandbox's outcome). */
  outcome: v.picklist(PROGRAM_OUTCOMES),
  /** What it returned (JSON text), or the sandbox's message when it did not return; cut at 500 characters. */
  output: str,
  /** What it printed with console.log, cut at 500 characters. */
  printed: str,
  verdict: v.picklist(VERDICTS),
  /** Why it failed, in words (null when it passed). */
  message: v.nullable(str),
  /** Hidden inputs passed, of `hidden`. */
  hiddenPassed: count,
  hidden: count,
  generalises: v.boolean(),
  /** The first hidden input it failed, if any. */
  hiddenFailure: v.nullable(hiddenFailure),
});
export type Attempt = v.InferOutput<typeof attempt>;

/** One problem's programs in an iteration, for the attempt browser. */
export const attemptRow = v.object({
  split: v.picklist(SPLIT_NAMES),
  family: v.picklist(FAMILY_NAMES),
  difficulty: count,
  /** The puzzle as the lab poses it, the input `solve` received, and the right answer. */
  prompt: str,
  input: str,
  answer: str,
  /** Few-shot examples in this problem's prompt. */
  examples: count,
  attempts: v.array(attempt),
});
export type AttemptRow = v.InferOutput<typeof attemptRow>;

/** A train program that passed (and, by the keep rule, generalised): the loop's memory. */
export const keptProgram = v.object({
  family: v.picklist(FAMILY_NAMES),
  difficulty: count,
  /** The train puzzle's prompt (its identity) and the input `solve` received. */
  prompt: str,
  input: str,
  program: str,
  /** The iteration that wrote it. */
  iteration: count,
  generalises: v.boolean(),
});
export type KeptProgram = v.InferOutput<typeof keptProgram>;

/** What a checkpoint carries besides the GPT's parameters; bump STATE_VERSION when it changes. */
export const STATE_VERSION = 1;
export const state = v.object({
  /** Every distinct (puzzle, program) kept so far, oldest first. */
  kept: v.array(keptProgram),
  /** GPT coder: optimizer steps so far (0 for the pretrained coder). */
  step: count,
  /** The coder in words, as iteration 0 learnt it (null before). */
  coder: v.nullable(str),
});
export type LoopState = v.InferOutput<typeof state>;
