/**
 * Self-improvement on procedural puzzles: attempt, verify, fine-tune on what
 * was right, repeat (STaR, Zelikman et al. 2022; rejection-sampling
 * fine-tuning; expert iteration).
 *
 * The write-up this reproduces attempted and verified but never trained, so
 * its accuracy stayed flat. Here the loop is closed:
 *   0. warm start: supervised fine-tuning on a small labelled seed set, so the
 *      model can attempt anything at all; evaluate → iteration 0;
 *   each iteration i = 1…N:
 *   1. attempt: k samples (temperature) per training problem (up to the
 *      curriculum's difficulty);
 *   2. verify: keep the correct ones, deduplicated; optionally rationalise
 *      (STaR's hint: the answer shown in the prompt) the problems with none;
 *   3. fine-tune on the seed set plus every solution kept so far, continuing
 *      from the current model or restarting from the warm-started base (STaR);
 *   4. evaluate greedy accuracy and pass@k on train, val and test, per
 *      difficulty and per family; emit a metrics row, samples, a checkpoint.
 * Evaluations every `evalEvery` steps feed the grokking monitor.
 *
 * Randomness: each phase draws from foldIn(runKey, phase index), never from a
 * shared stream, so a run resumed from a checkpoint continues exactly as the
 * uninterrupted run would have.
 */
import * as v from 'valibot';
import type { Backend } from '../core/backend';
import type { GptConfig } from '../core/gpt/config';
import { initParams } from '../core/gpt/init';
import { type GrokPoint, type GrokResult, defaultGrokRule, detectGrokking } from '../core/metrics/grokking';
import { meanPassAtK } from '../core/metrics/pass-at-k';
import {
  FAMILY_NAMES, type FamilyName, PUZZLE_ALPHABET, type Puzzle, type SplitName, SPLIT_NAMES, type Splits, makeSplits, verify,
} from '../core/puzzles';
import { type Key, Rng, foldIn, keyFromSeed } from '../core/rng';
import { generate } from '../core/sample';
import { integerIn as intIn, numberIn as numIn, positiveInt } from '../core/schema';
import { CharTokenizer } from '../core/tokenizer/char';
import { sftBatch, trainSteps } from '../core/train';
import { epochCycler, phaseOptim, resetOptimizer } from './phases';
import { type Experiment, type MetricRecord, RunCancelled, type RunContext } from './types';

export interface SelfImproveConfig extends Record<string, unknown> {
  /** Puzzle families mixed in every split. */
  families: FamilyName[];
  /** Difficulty range 1–10 (inclusive), each puzzle uniform in it. */
  minDifficulty: number;
  maxDifficulty: number;
  /** Problems per split; splits are disjoint by a hash of each puzzle. */
  trainSize: number;
  valSize: number;
  testSize: number;
  /** Labelled training problems the warm start learns from (the rest are unlabelled to the loop). */
  seedSetSize: number;
  /** Model width C, depth L and heads NH (the context length is fitted to the puzzles). */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Supervised steps on the seed set before iteration 0. */
  warmStartSteps: number;
  /** Self-improvement iterations after the warm start. */
  iterations: number;
  /** Attempts sampled per training problem each iteration (k). */
  samplesPerProblem: number;
  /** Sampling temperature of the attempts (and of pass@k). */
  temperature: number;
  /** Fine-tuning steps per iteration on the kept solutions. */
  stepsPerIteration: number;
  /** Sequences per optimizer step. */
  batchSize: number;
  /** Peak learning rate (warmup then cosine within each phase). */
  learningRate: number;
  /** AdamW decoupled weight decay; the grokking knob. */
  weightDecay: number;
  /** STaR: restart each iteration from the warm-started base model instead of continuing. */
  restartFromBase: boolean;
  /** STaR rationalisation: show the answer as a hint for unsolved problems, keep verified outputs. */
  rationalization: boolean;
  /** Raise the training difficulty when validation accuracy passes curriculumThreshold. */
  curriculum: boolean;
  curriculumThreshold: number;
  /** n samples per problem for pass@k on every split (0 disables pass@k). */
  passSamples: number;
  /** k of pass@k (≤ passSamples). */
  passK: number;
  /** Evaluate train/val accuracy every this many optimizer steps for the grokking view (0: per iteration only). */
  evalEvery: number;
}

/** The classroom setting: reversing 3–4 digits, where a 30-example warm start gives partial skill to build on. */
export const defaultConfig: SelfImproveConfig = {
  families: ['reverse'],
  minDifficulty: 1,
  maxDifficulty: 2,
  trainSize: 120,
  valSize: 40,
  testSize: 40,
  seedSetSize: 30,
  dModel: 64,
  nLayers: 2,
  nHeads: 4,
  warmStartSteps: 120,
  iterations: 4,
  samplesPerProblem: 4,
  temperature: 1.0,
  stepsPerIteration: 70,
  batchSize: 24,
  learningRate: 3e-3,
  weightDecay: 0.1,
  restartFromBase: false,
  rationalization: false,
  curriculum: false,
  curriculumThreshold: 0.8,
  passSamples: 2,
  passK: 2,
  evalEvery: 0,
};

const schema = v.pipe(
  v.strictObject({
    families: v.pipe(
      v.array(v.picklist(FAMILY_NAMES, `must be one of ${FAMILY_NAMES.join(', ')}`), 'must be a list of families'),
      v.minLength(1, 'choose at least one family'),
    ),
    minDifficulty: intIn(1, 10),
    maxDifficulty: intIn(1, 10),
    trainSize: intIn(1, 100_000),
    valSize: intIn(1, 100_000),
    testSize: intIn(1, 100_000),
    seedSetSize: intIn(1, 100_000),
    dModel: positiveInt(),
    nLayers: intIn(1, 64),
    nHeads: positiveInt(),
    warmStartSteps: intIn(0, 1_000_000),
    iterations: intIn(0, 10_000),
    samplesPerProblem: intIn(1, 256),
    temperature: numIn(0, 10),
    stepsPerIteration: intIn(0, 1_000_000),
    batchSize: intIn(1, 4096),
    learningRate: numIn(0, 1),
    weightDecay: numIn(0, 10),
    restartFromBase: v.boolean('must be true or false'),
    rationalization: v.boolean('must be true or false'),
    curriculum: v.boolean('must be true or false'),
    curriculumThreshold: numIn(0, 1),
    passSamples: intIn(0, 256),
    passK: intIn(1, 256),
    evalEvery: intIn(0, 1_000_000),
  }),
  v.forward(v.check((c) => c.minDifficulty <= c.maxDifficulty, (i) => `must be ≤ maxDifficulty (${i.input.maxDifficulty})`), ['minDifficulty']),
  v.forward(v.check((c) => c.seedSetSize <= c.trainSize, (i) => `must be ≤ trainSize (${i.input.trainSize})`), ['seedSetSize']),
  v.forward(v.check((c) => c.dModel % c.nHeads === 0, (i) => `must divide dModel (${i.input.dModel})`), ['nHeads']),
  v.forward(v.check((c) => c.passSamples === 0 || c.passK <= c.passSamples, (i) => `must be ≤ passSamples (${i.input.passSamples})`), ['passK']),
) as unknown as v.GenericSchema<unknown, SelfImproveConfig>;

/** The puzzles' alphabet (core/puzzles), exported here too for the page's tokenizer. */
export { PUZZLE_ALPHABET };

/** One problem's attempts in an iteration, for the sample browser. */
export interface AttemptRow {
  split: SplitName;
  family: FamilyName;
  difficulty: number;
  prompt: string;
  answer: string;
  attempts: { text: string; correct: boolean; reason: string | null }[];
}

/** What an iteration counted before its evaluation. */
interface IterationTally {
  attempted: number;
  correctAttempts: number;
  kept: number;
  keptTotal: number;
  rationalized: number;
  trainLoss: number | null;
  curriculumLevel: number;
}

export interface IterationMetrics extends MetricRecord {
  kind: 'iteration';
  iteration: number;
  /** Optimizer steps so far (warm start included). */
  step: number;
  seconds: number;
  accuracy: Record<SplitName, number>;
  /** pass@k with the unbiased estimator; null when pass@k is off. */
  passAtK: Record<SplitName, number> | null;
  passAt1: Record<SplitName, number> | null;
  byDifficulty: Record<SplitName, Record<string, number>>;
  byFamily: Record<SplitName, Record<string, number>>;
  /** Attempts sampled, correct attempts, unique solutions kept this iteration, and in total. */
  attempted: number;
  correctAttempts: number;
  kept: number;
  keptTotal: number;
  /** Problems solved by rationalisation this iteration. */
  rationalized: number;
  trainLoss: number | null;
  weightNorm: number;
  curriculumLevel: number;
}

export interface EvalPoint extends MetricRecord {
  kind: 'eval';
  step: number;
  train: number;
  val: number;
  weightNorm: number;
}

export interface SelfImproveSummary {
  seconds: number;
  iterations: { iteration: number; accuracy: Record<SplitName, number> }[];
  grokking: GrokResult;
}

interface LoopState {
  kept: [string, string][];
  curriculumLevel: number;
  step: number;
  seconds: number;
}

// ---------------------------------------------------------------------------

interface Task {
  prompt: number[]; // BOS + prompt characters
  completion: number[]; // answer characters + EOS
}

class PuzzleModel {
  constructor(
    readonly backend: Backend,
    readonly tok: CharTokenizer,
    readonly maxAnswer: number,
  ) {}

  task(p: Puzzle, hint = false): Task {
    const prompt = hint ? `${p.answer}|${p.prompt}` : p.prompt;
    return { prompt: [this.tok.bos, ...this.tok.encode(prompt)], completion: [...this.tok.encode(p.answer), this.tok.eos] };
  }

  /** `samples` answers per puzzle (greedy when temperature is 0). Rows: puzzles × samples. */
  async answer(puzzles: readonly Puzzle[], samples: number, temperature: number, key: Key, hint = false): Promise<string[][]> {
    const out: string[][] = puzzles.map(() => []);
    const jobs: { i: number; prompt: number[] }[] = [];
    puzzles.forEach((p, i) => {
      const prompt = this.task(p, hint).prompt;
      for (let s = 0; s < samples; s++) jobs.push({ i, prompt });
    });
    // Similar lengths together: a batch runs at its longest row's length.
    jobs.sort((a, b) => a.prompt.length - b.prompt.length);
    const batch = 64;
    for (let start = 0; start < jobs.length; start += batch) {
      const chunk = jobs.slice(start, start + batch);
      const gens = await generate(this.backend, chunk.map((j) => j.prompt), {
        maxNewTokens: this.maxAnswer + 1, temperature, topK: 0, topP: 1, stopTokens: [this.tok.eos],
        key: foldIn(key, start),
      });
      gens.forEach((g, j) => out[chunk[j]!.i]!.push(this.tok.decode(g.tokens)));
    }
    return out;
  }
}

function weightNorm(params: Float32Array): number {
  let s = 0;
  for (let i = 0; i < params.length; i++) s += params[i]! * params[i]!;
  return Math.sqrt(s);
}

const fraction = (num: number, den: number) => (den === 0 ? NaN : num / den);

/** Greedy accuracy overall, per difficulty, per family; pass@1/pass@k from sampled answers. */
async function evaluateSplits(model: PuzzleModel, splits: Splits, c: SelfImproveConfig, key: Key) {
  const accuracy = {} as Record<SplitName, number>;
  const byDifficulty = {} as Record<SplitName, Record<string, number>>;
  const byFamily = {} as Record<SplitName, Record<string, number>>;
  const passAtK = c.passSamples > 0 ? ({} as Record<SplitName, number>) : null;
  const passAt1 = c.passSamples > 0 ? ({} as Record<SplitName, number>) : null;
  const greedyCorrect = {} as Record<SplitName, boolean[]>;
  for (const [si, split] of SPLIT_NAMES.entries()) {
    const ps = splits[split];
    const greedy = await model.answer(ps, 1, 0, foldIn(key, si));
    const ok = ps.map((p, i) => verify(p, greedy[i]![0]!).correct);
    greedyCorrect[split] = ok;
    accuracy[split] = fraction(ok.filter(Boolean).length, ok.length);
    const group = (by: (p: Puzzle) => string) => {
      const tally: Record<string, [number, number]> = {};
      ps.forEach((p, i) => {
        const t = (tally[by(p)] ??= [0, 0]);
        t[0] += ok[i] ? 1 : 0;
        t[1] += 1;
      });
      return Object.fromEntries(Object.entries(tally).map(([k, [a, n]]) => [k, a / n]));
    };
    byDifficulty[split] = group((p) => String(p.difficulty));
    byFamily[split] = group((p) => p.family);
    if (passAtK && passAt1) {
      const sampled = await model.answer(ps, c.passSamples, c.temperature, foldIn(key, 100 + si));
      const counts = ps.map((p, i) => ({ n: c.passSamples, c: sampled[i]!.filter((a) => verify(p, a).correct).length }));
      passAtK[split] = meanPassAtK(counts, c.passK);
      passAt1[split] = meanPassAtK(counts, 1);
    }
  }
  return { accuracy, byDifficulty, byFamily, passAtK, passAt1, greedyCorrect };
}

/** Train/val accuracy on at most 200 problems each, for the grokking view. */
async function quickEval(model: PuzzleModel, splits: Splits, key: Key): Promise<{ train: number; val: number }> {
  const acc = async (ps: Puzzle[], k: Key) => {
    const sub = ps.slice(0, 200);
    const a = await model.answer(sub, 1, 0, k);
    return fraction(sub.filter((p, i) => verify(p, a[i]![0]!).correct).length, sub.length);
  };
  return { train: await acc(splits.train, foldIn(key, 1)), val: await acc(splits.val, foldIn(key, 2)) };
}

/** The run's puzzles: a pure function of the config's data fields and the seed. */
export function runSplits(c: SelfImproveConfig, seed: number): Splits {
  return makeSplits({
    families: c.families, minDifficulty: c.minDifficulty, maxDifficulty: c.maxDifficulty,
    sizes: { train: c.trainSize, val: c.valSize, test: c.testSize },
    fractions: { train: 0.7, val: 0.15, test: 0.15 },
  }, foldIn(keyFromSeed(seed), 1));
}

/** Run the experiment; see the file comment. */
async function run(c: SelfImproveConfig, ctx: RunContext): Promise<SelfImproveSummary> {
  const runKey = keyFromSeed(ctx.seed);
  const initKey = foldIn(runKey, 2);
  const phaseKey = (phase: number, part: number) => foldIn(foldIn(runKey, 1000 + phase), part);
  const splits = runSplits(c, ctx.seed);
  const tok = new CharTokenizer(PUZZLE_ALPHABET);
  const all = [...splits.train, ...splits.val, ...splits.test];
  const maxAnswer = Math.max(...all.map((p) => p.answer.length));
  const maxPrompt = Math.max(...all.map((p) => p.prompt.length + (c.rationalization ? p.answer.length + 1 : 0)));
  const contextLength = Math.ceil((maxPrompt + maxAnswer + 2) / 8) * 8;
  const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const backend = await ctx.createBackend(gpt);
  const model = new PuzzleModel(backend, tok, maxAnswer);
  const seedSet = splits.train.slice(0, c.seedSetSize);
  const byPrompt = new Map(splits.train.map((p) => [p.prompt, p]));
  const records: MetricRecord[] = [];
  const grokPoints: GrokPoint[] = [];
  const started = ctx.now();

  // Work units for the progress bar: one per optimizer step, one per 16 generated answers.
  const genUnits = (n: number) => Math.ceil(n / 16);
  const evalUnits = genUnits(all.length * (1 + c.passSamples));
  const attemptUnits = genUnits(c.trainSize * c.samplesPerProblem);
  const totalUnits = c.warmStartSteps + evalUnits + c.iterations * (attemptUnits + c.stepsPerIteration + evalUnits);
  let doneUnits = 0;
  const progress = (phase: string, units: number) => {
    doneUnits += units;
    ctx.emit({ type: 'progress', phase, done: Math.min(doneUnits, totalUnits), total: totalUnits });
  };
  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new RunCancelled();
  };
  const emit = (record: MetricRecord) => {
    records.push(record);
    ctx.emit({ type: 'metrics', record });
  };

  let state: LoopState;
  let baseParams: Float32Array;
  let firstIteration: number;

  /** Fine-tune on tasks for `steps` steps with fresh AdamW moments; returns the mean of the losses read. */
  const fineTune = async (tasks: Task[], steps: number, phase: string, key: Key): Promise<number | null> => {
    if (steps === 0 || tasks.length === 0) return null;
    await resetOptimizer(backend);
    const nextRows = epochCycler(tasks.length, new Rng(key));
    const nextBatch = () => {
      const rows = nextRows(c.batchSize).map((i) => tasks[i]!);
      const T = Math.max(...rows.map((r) => r.prompt.length + r.completion.length - 1));
      return sftBatch(rows, T);
    };
    const losses: number[] = [];
    const readEvery = 10;
    const evalEvery = c.evalEvery;
    let taken = 0;
    while (taken < steps) {
      checkCancel();
      // Train in chunks between grokking evaluations (or in one go).
      const chunk = evalEvery > 0 ? Math.min(steps - taken, evalEvery - (state.step % evalEvery)) : steps - taken;
      const result = await trainSteps(backend, nextBatch, phaseOptim(c.learningRate, c.weightDecay, steps), {
        startStep: taken, steps: chunk, readEvery, signal: ctx.signal, now: ctx.now,
        onEvent: (e) => {
          if (e.loss !== undefined) {
            losses.push(e.loss);
            ctx.emit({ type: 'step', phase, step: state.step + (e.step - taken) + 1, loss: e.loss, lr: e.lr, ms: e.ms });
          }
        },
      });
      checkCancel();
      taken += result.steps;
      state.step += result.steps;
      progress(phase, result.steps);
      if (evalEvery > 0 && state.step % evalEvery === 0) {
        const q = await quickEval(model, splits, phaseKey(9000, state.step));
        const point: EvalPoint = { kind: 'eval', step: state.step, ...q, weightNorm: weightNorm(await backend.getParams()) };
        grokPoints.push(point);
        emit(point);
      }
    }
    const tail = losses.slice(-5);
    return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null;
  };

  const evaluateIteration = async (iteration: number, extra: IterationTally) => {
    const e = await evaluateSplits(model, splits, c, phaseKey(iteration, 2));
    progress('evaluate', evalUnits);
    const params = await backend.getParams();
    const record: IterationMetrics = {
      kind: 'iteration', iteration, step: state.step, seconds: state.seconds + (ctx.now() - started) / 1000,
      accuracy: e.accuracy, passAtK: e.passAtK, passAt1: e.passAt1, byDifficulty: e.byDifficulty, byFamily: e.byFamily,
      weightNorm: weightNorm(params), ...extra,
    };
    emit(record);
    if (c.evalEvery > 0 && state.step % c.evalEvery !== 0) {
      const point: EvalPoint = { kind: 'eval', step: state.step, train: e.accuracy.train, val: e.accuracy.val, weightNorm: record.weightNorm };
      grokPoints.push(point);
      emit(point);
    }
    return { record, params };
  };

  const saveCheckpoint = (iteration: number, params: Float32Array) => {
    ctx.emit({
      type: 'checkpoint',
      checkpoint: {
        iteration, modelConfig: gpt, tokenizer: tok.toJSON(), params, extraParams: { base: baseParams },
        state: { ...state, seconds: state.seconds + (ctx.now() - started) / 1000 }, records: [...records],
      },
    });
  };

  if (ctx.resume) {
    const r = ctx.resume;
    state = r.state as LoopState;
    baseParams = r.extraParams.base ?? r.params;
    await backend.setParams(r.params);
    records.push(...r.records);
    for (const rec of r.records) if (rec.kind === 'eval') grokPoints.push(rec as EvalPoint);
    firstIteration = r.iteration + 1;
    doneUnits = c.warmStartSteps + evalUnits + r.iteration * (attemptUnits + c.stepsPerIteration + evalUnits);
    ctx.emit({ type: 'log', message: `resumed after iteration ${r.iteration}` });
  } else {
    state = { kept: [], curriculumLevel: c.curriculum ? c.minDifficulty : c.maxDifficulty, step: 0, seconds: 0 };
    await backend.setParams(initParams(gpt, initKey));
    const trainLoss = await fineTune(seedSet.map((p) => model.task(p)), c.warmStartSteps, 'warm start', phaseKey(0, 1));
    const { params } = await evaluateIteration(0, {
      attempted: 0, correctAttempts: 0, kept: 0, keptTotal: 0, rationalized: 0, trainLoss, curriculumLevel: state.curriculumLevel,
    });
    baseParams = params;
    saveCheckpoint(0, params);
    firstIteration = 1;
  }

  for (let it = firstIteration; it <= c.iterations; it++) {
    checkCancel();
    // 1. attempt
    const pool = splits.train.filter((p) => p.difficulty <= state.curriculumLevel);
    const attempts = await model.answer(pool, c.samplesPerProblem, c.temperature, phaseKey(it, 0));
    progress('attempt', attemptUnits);
    checkCancel();
    // 2. verify and keep
    const keptSet = new Set(state.kept.map(([p, a]) => `${p}\u0000${a}`));
    let correctAttempts = 0;
    let kept = 0;
    const rows: AttemptRow[] = [];
    const unsolved: Puzzle[] = [];
    pool.forEach((p, i) => {
      const verdicts = attempts[i]!.map((text) => ({ text, v: verify(p, text) }));
      const good = verdicts.filter((x) => x.v.correct);
      correctAttempts += good.length;
      if (good.length === 0) unsolved.push(p);
      else {
        // A verified answer equals the canonical one after normalisation: keep it in canonical form.
        const id = `${p.prompt}\u0000${p.answer}`;
        if (!keptSet.has(id)) {
          keptSet.add(id);
          state.kept.push([p.prompt, p.answer]);
          kept++;
        }
      }
      if (rows.length < 60) {
        rows.push({
          split: 'train', family: p.family, difficulty: p.difficulty, prompt: p.prompt, answer: p.answer,
          attempts: verdicts.map((x) => ({ text: x.text, correct: x.v.correct, reason: x.v.correct ? null : x.v.reason })),
        });
      }
    });
    let rationalized = 0;
    if (c.rationalization && unsolved.length > 0) {
      const hinted = await model.answer(unsolved, 1, c.temperature, phaseKey(it, 3), true);
      unsolved.forEach((p, i) => {
        const id = `${p.prompt}\u0000${p.answer}`;
        if (verify(p, hinted[i]![0]!).correct && !keptSet.has(id)) {
          keptSet.add(id);
          state.kept.push([p.prompt, p.answer]);
          rationalized++;
        }
      });
    }
    ctx.emit({ type: 'samples', iteration: it, rows });
    // 3. fine-tune on the seed set and every kept solution (trained without hints)
    if (c.restartFromBase) await backend.setParams(baseParams);
    const keptTasks = state.kept.map(([prompt]) => model.task(byPrompt.get(prompt)!));
    const trainLoss = await fineTune([...seedSet.map((p) => model.task(p)), ...keptTasks], c.stepsPerIteration, `iteration ${it}`, phaseKey(it, 1));
    // 4. evaluate, curriculum, checkpoint
    const { record, params } = await evaluateIteration(it, {
      attempted: pool.length * c.samplesPerProblem, correctAttempts, kept: kept + rationalized, keptTotal: state.kept.length,
      rationalized, trainLoss, curriculumLevel: state.curriculumLevel,
    });
    if (c.curriculum && record.accuracy.val >= c.curriculumThreshold && state.curriculumLevel < c.maxDifficulty) {
      state.curriculumLevel++;
      ctx.emit({ type: 'log', message: `curriculum: training difficulty raised to ${state.curriculumLevel}` });
    }
    saveCheckpoint(it, params);
  }

  const iterations = records
    .filter((r): r is IterationMetrics => r.kind === 'iteration')
    .map((r) => ({ iteration: r.iteration, accuracy: r.accuracy }));
  backend.dispose();
  return {
    seconds: state.seconds + (ctx.now() - started) / 1000,
    iterations,
    grokking: detectGrokking(grokPoints, defaultGrokRule),
  };
}

export const selfImprove: Experiment<SelfImproveConfig, SelfImproveSummary> = {
  name: 'self-improve',
  title: 'Self-improvement on procedural puzzles',
  description: 'Attempt, verify, fine-tune on what was right, repeat — and watch for grokking.',
  defaultConfig,
  schema,
  datasets: (c, seed) => {
    const s = runSplits(c, seed);
    return {
      'puzzles.jsonl': SPLIT_NAMES.flatMap((split) => s[split].map((p) => ({
        split, family: p.family, difficulty: p.difficulty, prompt: p.prompt, answer: p.answer,
      }))),
    };
  },
  tableRow: (r) => {
    if (r.kind !== 'iteration') return null;
    const m = r as IterationMetrics;
    const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
    return {
      iter: m.iteration, step: m.step, train: pct(m.accuracy.train), val: pct(m.accuracy.val), test: pct(m.accuracy.test),
      'val pass@k': m.passAtK ? pct(m.passAtK.val) : '—', kept: m.kept, 'kept total': m.keptTotal,
      loss: m.trainLoss === null ? '—' : m.trainLoss.toFixed(4), 'seconds': m.seconds.toFixed(1),
    };
  },
  presets: {
    classroom: {
      description: 'Reverse 3–4 digits from a 30-example warm start; under a minute on a CPU.',
      overrides: {},
    },
    'write-up-replica': {
      description: 'The write-up\u2019s setting: arithmetic, RPN and brackets at difficulty 3–7, 30/9/9 problems, 15 iterations.',
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
  },
  run,
};
