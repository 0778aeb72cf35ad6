/**
 * Self-improvement on procedural puzzles: attempt, verify, fine-tune on what
 * was right, repeat (STaR, Zelikman et al. 2022; rejection-sampling
 * fine-tuning; expert iteration). The loop, and why it differs from the
 * write-up's evaluation-only loop, is in docs/self-improve.md.
 *
 *   warm start: supervised fine-tuning on the seed set; evaluate → iteration 0
 *   iteration i = 1…N: attempt (k samples per training problem) → verify and
 *     keep → fine-tune on seed set + kept → evaluate → checkpoint
 * Evaluations every `evalEvery` steps feed the grokking monitor. The task
 * 'residue table' trains a modular table instead, for grokking (grokking.ts).
 */
import type { Backend } from '../../core/backend';
import type { GptConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import { meanPassAtK } from '../../core/metrics/pass-at-k';
import { type Puzzle, SPLIT_NAMES, type SplitName, type Splits, verify } from '../../core/puzzles';
import { PUZZLE_ALPHABET } from '../../core/puzzles/types';
import { type Key, Rng, foldIn } from '../../core/rng';
import { generate } from '../../core/sample';
import { CharTokenizer } from '../../core/tokenizer/char';
import { sftBatch } from '../../core/train';
import { type StepPoint, epochCycler, finalLoss, phaseOptim, resetOptimizer, trainPhase } from '../phases';
import { RunSession, streamKey } from '../session';
import type { RunContext } from '../types';
import type { SelfImproveConfig } from './config';
import { residuePlan, runResidueTable } from './grokking';
import {
  type AttemptRow, type EvalRecord, type IterationRecord, type LoopState, type SelfImprovePosition, type SelfImproveRecord,
  STATE_VERSION, position, record, state as stateSchema,
} from './records';
import { type SelfImproveSummary, summarize } from './report';
import { PART, STREAM, labSplits, runSplits } from './splits';
import { selfImproveSpec } from './spec';

/** Samples per progress unit: one unit per optimizer step and per 16 generated answers. */
const ANSWERS_PER_UNIT = 16;

/** Units of work: warm start and its evaluation, then per iteration attempts, fine-tuning and evaluation. */
function plan(c: SelfImproveConfig) {
  const units = (answers: number) => Math.ceil(answers / ANSWERS_PER_UNIT);
  const evaluate = units((c.trainSize + c.valSize + c.testSize) * (1 + c.passSamples));
  const attempt = units(c.trainSize * c.samplesPerProblem);
  return { evaluate, attempt, total: c.warmStartSteps + evaluate + c.iterations * (attempt + c.stepsPerIteration + evaluate) };
}

interface Task {
  prompt: number[]; // BOS + prompt characters
  completion: number[]; // answer characters + EOS
}

/** What an iteration counted before its evaluation. */
type Tally = Pick<IterationRecord, 'attempted' | 'correctAttempts' | 'kept' | 'keptTotal' | 'rationalized' | 'trainLoss' | 'curriculumLevel'>;

const fraction = (num: number, den: number) => (den === 0 ? NaN : num / den);

function weightNorm(params: Float32Array): number {
  let s = 0;
  for (let i = 0; i < params.length; i++) s += params[i]! * params[i]!;
  return Math.sqrt(s);
}

/** A run in progress: the puzzles, the model on its backend, and the loop's steps. */
class SelfImproveRun {
  readonly splits: Splits;
  readonly tok = new CharTokenizer(PUZZLE_ALPHABET);
  readonly gpt: GptConfig;
  readonly maxAnswer: number;
  readonly seedSet: Puzzle[];
  readonly plan: ReturnType<typeof plan>;
  backend!: Backend;

  constructor(readonly c: SelfImproveConfig, readonly session: RunSession<SelfImproveRecord, SelfImprovePosition, LoopState>) {
    this.splits = runSplits(c, session.ctx.seed);
    const all = SPLIT_NAMES.flatMap((s) => this.splits[s]);
    this.maxAnswer = Math.max(...all.map((p) => p.answer.length));
    const maxPrompt = Math.max(...all.map((p) => p.prompt.length + (c.rationalization ? p.answer.length + 1 : 0)));
    const contextLength = Math.ceil((maxPrompt + this.maxAnswer + 2) / 8) * 8;
    this.gpt = { vocabSize: this.tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
    this.seedSet = this.splits.train.slice(0, c.seedSetSize);
    this.plan = plan(c);
  }

  key(iteration: number, part: number): Key {
    return streamKey(this.session.runKey, STREAM.iteration + iteration, part);
  }

  task(p: Puzzle, hint = false): Task {
    const prompt = hint ? `${p.answer}|${p.prompt}` : p.prompt;
    return { prompt: [this.tok.bos, ...this.tok.encode(prompt)], completion: [...this.tok.encode(p.answer), this.tok.eos] };
  }

  /** `samples` answers per puzzle (greedy when temperature is 0). Rows: puzzles × samples. */
  async answer(puzzles: readonly Puzzle[], samples: number, temperature: number, key: Key, hint = false): Promise<string[][]> {
    const out: string[][] = puzzles.map(() => []);
    const jobs = puzzles.flatMap((p, i) => Array.from({ length: samples }, () => ({ i, prompt: this.task(p, hint).prompt })));
    // Similar lengths together: a batch runs at its longest row's length.
    jobs.sort((a, b) => a.prompt.length - b.prompt.length);
    for (let start = 0; start < jobs.length; start += 64) {
      const chunk = jobs.slice(start, start + 64);
      const gens = await generate(this.backend, chunk.map((j) => j.prompt), {
        maxNewTokens: this.maxAnswer + 1, temperature, topK: 0, topP: 1, stopTokens: [this.tok.eos], key: foldIn(key, start),
      });
      gens.forEach((g, j) => out[chunk[j]!.i]!.push(this.tok.decode(g.tokens)));
    }
    return out;
  }

  /** Fine-tune on `tasks` for `steps` steps with fresh AdamW moments, stopping every `evalEvery` steps for the grokking view. */
  async fineTune(tasks: Task[], steps: number, phase: string, key: Key, state: LoopState): Promise<number | null> {
    if (steps === 0 || tasks.length === 0) return null;
    const { c, session } = this;
    await resetOptimizer(this.backend);
    const nextRows = epochCycler(tasks.length, new Rng(key));
    const nextBatch = () => {
      const rows = nextRows(c.batchSize).map((i) => tasks[i]!);
      return sftBatch(rows, Math.max(...rows.map((r) => r.prompt.length + r.completion.length - 1)));
    };
    const optim = phaseOptim(c.learningRate, c.weightDecay, steps);
    const points: StepPoint[] = [];
    for (let taken = 0; taken < steps;) {
      session.checkCancel();
      const chunk = c.evalEvery > 0 ? Math.min(steps - taken, c.evalEvery - (state.step % c.evalEvery)) : steps - taken;
      const result = await trainPhase(this.backend, session.ctx, {
        nextBatch, optim, steps: chunk, phase, startStep: taken, stepOffset: state.step - taken,
      });
      points.push(...result.points);
      session.checkCancel();
      taken += result.steps;
      state.step += result.steps;
      session.progress(phase, result.steps);
      if (c.evalEvery > 0 && state.step % c.evalEvery === 0) await this.stepEvaluation(state.step);
    }
    return finalLoss(points);
  }

  /** Train and validation accuracy on at most 200 problems each, for the grokking view. */
  async stepEvaluation(step: number): Promise<void> {
    const key = streamKey(this.session.runKey, STREAM.stepEval, step);
    const accuracy = async (ps: Puzzle[], k: Key) => {
      const sub = ps.slice(0, 200);
      const a = await this.answer(sub, 1, 0, k);
      return fraction(sub.filter((p, i) => verify(p, a[i]![0]!).correct).length, sub.length);
    };
    this.session.emit({
      kind: 'eval', step, train: await accuracy(this.splits.train, foldIn(key, 1)), val: await accuracy(this.splits.val, foldIn(key, 2)),
      weightNorm: weightNorm(await this.backend.getParams()),
    } satisfies EvalRecord);
  }

  /** Greedy accuracy overall, per difficulty and per family, and pass@1/pass@k, on every split; emit the iteration's record. */
  async evaluate(iteration: number, tally: Tally, state: LoopState): Promise<{ record: IterationRecord; params: Float32Array }> {
    const { c } = this;
    const key = this.key(iteration, PART.evaluate);
    const accuracy = {} as Record<SplitName, number>;
    const byDifficulty = {} as Record<SplitName, Record<string, number>>;
    const byFamily = {} as Record<SplitName, Record<string, number>>;
    const passAtK = c.passSamples > 0 ? ({} as Record<SplitName, number>) : null;
    const passAt1 = c.passSamples > 0 ? ({} as Record<SplitName, number>) : null;
    for (const [si, split] of SPLIT_NAMES.entries()) {
      const ps = this.splits[split];
      const greedy = await this.answer(ps, 1, 0, foldIn(key, si));
      const ok = ps.map((p, i) => verify(p, greedy[i]![0]!).correct);
      accuracy[split] = fraction(ok.filter(Boolean).length, ok.length);
      const by = (group: (p: Puzzle) => string) => {
        const tally: Record<string, [number, number]> = {};
        ps.forEach((p, i) => {
          const t = (tally[group(p)] ??= [0, 0]);
          t[0] += ok[i] ? 1 : 0;
          t[1] += 1;
        });
        return Object.fromEntries(Object.entries(tally).map(([k, [a, n]]) => [k, a / n]));
      };
      byDifficulty[split] = by((p) => String(p.difficulty));
      byFamily[split] = by((p) => p.family);
      if (passAtK && passAt1) {
        const sampled = await this.answer(ps, c.passSamples, c.temperature, foldIn(key, 100 + si));
        const counts = ps.map((p, i) => ({ n: c.passSamples, c: sampled[i]!.filter((a) => verify(p, a).correct).length }));
        passAtK[split] = meanPassAtK(counts, c.passK);
        passAt1[split] = meanPassAtK(counts, 1);
      }
    }
    this.session.progress('evaluate', this.plan.evaluate);
    const params = await this.backend.getParams();
    const rec: IterationRecord = {
      kind: 'iteration', iteration, step: state.step, seconds: this.session.elapsed(),
      accuracy, passAtK, passAt1, byDifficulty, byFamily, weightNorm: weightNorm(params), ...tally,
    };
    this.session.emit(rec);
    // The grokking view also gets each iteration's end, where the step-wise evaluations did not fall on it.
    if (c.evalEvery > 0 && state.step % c.evalEvery !== 0) {
      this.session.emit({ kind: 'eval', step: state.step, train: accuracy.train, val: accuracy.val, weightNorm: rec.weightNorm });
    }
    return { record: rec, params };
  }

  /** Attempt every training problem up to the curriculum's level; keep the verified answers (in canonical form). */
  async attempt(iteration: number, state: LoopState): Promise<{ tally: Pick<Tally, 'attempted' | 'correctAttempts' | 'kept' | 'rationalized'>; rows: AttemptRow[] }> {
    const { c } = this;
    const pool = this.splits.train.filter((p) => p.difficulty <= state.curriculumLevel);
    const attempts = await this.answer(pool, c.samplesPerProblem, c.temperature, this.key(iteration, PART.attempt));
    this.session.progress('attempt', this.plan.attempt);
    this.session.checkCancel();
    const keptIds = new Set(state.kept.map(([p, a]) => `${p}\u0000${a}`));
    const keep = (p: Puzzle) => {
      const id = `${p.prompt}\u0000${p.answer}`;
      if (keptIds.has(id)) return false;
      keptIds.add(id);
      state.kept.push([p.prompt, p.answer]);
      return true;
    };
    let correctAttempts = 0;
    let kept = 0;
    const rows: AttemptRow[] = [];
    const unsolved: Puzzle[] = [];
    pool.forEach((p, i) => {
      const verdicts = attempts[i]!.map((text) => ({ text, v: verify(p, text) }));
      const good = verdicts.filter((x) => x.v.correct).length;
      correctAttempts += good;
      if (good === 0) unsolved.push(p);
      else if (keep(p)) kept++;
      if (rows.length < 60) {
        rows.push({
          split: 'train', family: p.family, difficulty: p.difficulty, prompt: p.prompt, answer: p.answer,
          attempts: verdicts.map((x) => ({ text: x.text, correct: x.v.correct, reason: x.v.correct ? null : x.v.reason })),
        });
      }
    });
    let rationalized = 0;
    if (c.rationalization && unsolved.length > 0) {
      const hinted = await this.answer(unsolved, 1, c.temperature, this.key(iteration, PART.rationalize), true);
      unsolved.forEach((p, i) => {
        if (verify(p, hinted[i]![0]!).correct && keep(p)) rationalized++;
      });
    }
    return { tally: { attempted: pool.length * c.samplesPerProblem, correctAttempts, kept: kept + rationalized, rationalized }, rows };
  }

  checkpoint(iteration: number, params: Float32Array, base: Float32Array, state: LoopState): void {
    this.session.checkpoint({ iteration }, { config: this.gpt, tokenizer: this.tok.toJSON(), params, extra: { base } }, state);
  }
}

/** Run the experiment: setup, the warm start (or the checkpoint), the loop, the summary. */
export async function run(c: SelfImproveConfig, ctx: RunContext): Promise<SelfImproveSummary> {
  const session = new RunSession(ctx, {
    experiment: 'self-improve', total: c.task === 'residue table' ? residuePlan(c) : plan(c).total, record, position,
    describe: selfImproveSpec.describe,
    state: { version: STATE_VERSION, schema: stateSchema },
  });
  if (c.task === 'residue table') {
    // Its one checkpoint is at the end: a resumed table run has nothing left to train.
    if (session.resumed) return summarize(session.records, session.elapsed());
    const { armSeconds } = await runResidueTable(c, session, labSplits(c, ctx.seed));
    return summarize(session.records, session.elapsed(), armSeconds);
  }
  const lab = new SelfImproveRun(c, session);
  lab.backend = await ctx.createBackend(lab.gpt);
  const byPrompt = new Map(lab.splits.train.map((p) => [p.prompt, p]));
  const seedTasks = () => lab.seedSet.map((p) => lab.task(p));

  let state: LoopState;
  let base: Float32Array;
  let first: number;
  if (session.resumed) {
    ({ state } = session.resumed);
    base = session.resumed.extraParams.base ?? session.resumed.params;
    await lab.backend.setParams(session.resumed.params);
    first = session.resumed.at.iteration + 1;
  } else {
    state = { kept: [], curriculumLevel: c.curriculum ? c.minDifficulty : c.maxDifficulty, step: 0 };
    await lab.backend.setParams(initParams(lab.gpt, streamKey(session.runKey, STREAM.init)));
    const trainLoss = await lab.fineTune(seedTasks(), c.warmStartSteps, 'warm start', lab.key(0, PART.fineTune), state);
    const { params } = await lab.evaluate(0, {
      attempted: 0, correctAttempts: 0, kept: 0, keptTotal: 0, rationalized: 0, trainLoss, curriculumLevel: state.curriculumLevel,
    }, state);
    base = params;
    lab.checkpoint(0, params, base, state);
    first = 1;
  }

  for (let it = first; it <= c.iterations; it++) {
    session.checkCancel();
    const { tally, rows } = await lab.attempt(it, state);
    session.samples({ iteration: it }, rows);
    if (c.restartFromBase) await lab.backend.setParams(base);
    const keptTasks = state.kept.map(([prompt]) => lab.task(byPrompt.get(prompt)!));
    const trainLoss = await lab.fineTune([...seedTasks(), ...keptTasks], c.stepsPerIteration, `iteration ${it}`, lab.key(it, PART.fineTune), state);
    const { record: rec, params } = await lab.evaluate(it, { ...tally, keptTotal: state.kept.length, trainLoss, curriculumLevel: state.curriculumLevel }, state);
    if (c.curriculum && rec.accuracy.val >= c.curriculumThreshold && state.curriculumLevel < c.maxDifficulty) {
      state.curriculumLevel++;
      session.log(`curriculum: training difficulty raised to ${state.curriculumLevel}`);
    }
    lab.checkpoint(it, params, base, state);
  }

  lab.backend.dispose();
  return summarize(session.records, session.elapsed());
}
