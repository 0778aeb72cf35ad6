/**
 * Programs for puzzles (docs/programs.md): a coder writes a JavaScript
 * `solve(input)` for each puzzle, the sandbox runs it on the puzzle and on
 * hidden inputs of the same family and difficulty, and the train programs
 * that generalised feed the next iteration — as few-shot examples for a
 * pretrained code model (it cannot be fine-tuned here), as fine-tuning data
 * for the lab's own GPT (STaR).
 *
 *   setup: the puzzles and their hidden inputs; the GPT's warm start (gpt coder)
 *   iteration i = 0…N: (gpt, i ≥ 1: fine-tune on the kept programs) → write n
 *     programs per problem of every split → judge them → keep the train
 *     programs that pass → record, attempts, checkpoint
 */
import { type Puzzle, SPLIT_NAMES, type SplitName, type Splits, programInput } from '../../core/puzzles';
import { type Key, foldIn } from '../../core/rng';
import { CheckpointError, RunSession, streamKey } from '../session';
import type { RunContext } from '../types';
import type { ProgramsConfig } from './config';
import { GptCoder } from './gpt';
import { type JudgedProblem, type Runner, attemptOf, judge, passByGroup, sandboxMs, scoreSplit } from './judge';
import { type ProgramsSession, type Written, writePretrained } from './in-context';
import { type AttemptRow, type IterationRecord, type LoopState, STATE_VERSION, position, record, state as stateSchema } from './records';
import { type ProgramsSummary, describePosition, summarize } from './report';
import { PART, STREAM, hiddenFor, programSplits } from './streams';

/** Units of work: each program written and each program judged; the GPT's optimizer steps. */
function plan(c: ProgramsConfig): number {
  const programs = (c.trainSize + c.valSize + c.testSize) * c.samplesPerProblem;
  const steps = c.coder === 'gpt' ? c.warmStartSteps + c.iterations * c.stepsPerIteration : 0;
  return (c.iterations + 1) * 2 * programs + steps;
}

/** A run in progress: the puzzles and their hidden inputs, the coder, and one iteration's steps. */
class ProgramsRun {
  readonly splits: Splits;
  readonly hidden: Record<SplitName, Puzzle[][]>;
  readonly runner: Runner;
  readonly gpt: GptCoder | null;

  constructor(readonly c: ProgramsConfig, readonly session: ProgramsSession, runProgram: NonNullable<RunContext['runProgram']>) {
    this.splits = programSplits(c, session.ctx.seed);
    const hiddenOf = (p: Puzzle) => hiddenFor(session.runKey, p, c.hiddenInputs);
    this.hidden = { train: this.splits.train.map(hiddenOf), val: this.splits.val.map(hiddenOf), test: this.splits.test.map(hiddenOf) };
    this.runner = (source, input) => runProgram(source, input, { timeoutMs: c.timeoutMs });
    this.gpt = c.coder === 'gpt' ? new GptCoder(c, session, SPLIT_NAMES.flatMap((s) => this.splits[s])) : null;
  }

  key(iteration: number, part: number): Key {
    return streamKey(this.session.runKey, STREAM.iteration + iteration, part);
  }

  write(puzzles: readonly Puzzle[], state: LoopState, key: Key, phase: string): Promise<Written> {
    return this.gpt ? this.gpt.write(puzzles, key, phase) : writePretrained(this.session, this.c, puzzles, state.kept, key, phase);
  }

  /** Judge every problem of a split, one progress unit per program. */
  async judgeSplit(split: SplitName, programs: readonly string[][], phase: string): Promise<JudgedProblem[]> {
    const out: JudgedProblem[] = [];
    for (const [i, puzzle] of this.splits[split].entries()) {
      this.session.checkCancel();
      out.push(await judge(puzzle, this.hidden[split][i]!, programs[i]!, this.runner));
      this.session.progress(phase, programs[i]!.length);
    }
    return out;
  }

  /** Keep the train programs the keep rule accepts, once per (puzzle, program); returns how many were new. */
  keep(iteration: number, judged: readonly JudgedProblem[], state: LoopState): number {
    const known = new Set(state.kept.map((k) => `${k.prompt}\u0000${k.program}`));
    let added = 0;
    for (const p of judged) {
      p.programs.forEach((program, j) => {
        const v = p.verdicts[j]!;
        const generalises = v.passesVisible && v.generalises;
        if (!v.passesVisible || (this.c.keep === 'generalises' && !generalises)) return;
        const id = `${p.puzzle.prompt}\u0000${program}`;
        if (known.has(id)) return;
        known.add(id);
        const { family, difficulty, prompt } = p.puzzle;
        state.kept.push({ family, difficulty, prompt, input: programInput(p.puzzle), program, iteration, generalises });
        added++;
      });
    }
    return added;
  }

  /** One iteration: (fine-tune,) write and judge every split, keep, record, browse, checkpoint. */
  async iteration(it: number, state: LoopState): Promise<void> {
    const { c, session } = this;
    const trainLoss = this.gpt && it > 0 ? await this.gpt.fineTune(state.kept, this.key(it, PART.fineTune), `iteration ${it}: fine-tuning`, state) : null;
    const judged = {} as Record<SplitName, JudgedProblem[]>;
    const rows: AttemptRow[] = [];
    let coder = state.coder;
    for (const [si, split] of SPLIT_NAMES.entries()) {
      const written = await this.write(this.splits[split], state, foldIn(this.key(it, PART.write), si), `iteration ${it}: writing ${split} programs`);
      coder = written.coder;
      judged[split] = await this.judgeSplit(split, written.programs, `iteration ${it}: running ${split} programs`);
      judged[split].slice(0, c.browsedProblems).forEach((p, i) => {
        const { family, difficulty, prompt, answer } = p.puzzle;
        rows.push({
          split, family, difficulty, prompt, input: programInput(p.puzzle), answer, examples: written.examples[i]!,
          attempts: p.programs.map((program, j) => attemptOf(program, p.verdicts[j]!)),
        });
      });
    }
    const kept = this.keep(it, judged.train, state);
    state.coder = coder;
    const table = (group: (p: Puzzle) => string, generalising: boolean) =>
      Object.fromEntries(SPLIT_NAMES.map((s) => [s, passByGroup(judged[s], group, generalising)])) as Record<SplitName, Record<string, number>>;
    const byFamily = (p: Puzzle) => p.family;
    const byDifficulty = (p: Puzzle) => String(p.difficulty);
    session.emit({
      kind: 'iteration', iteration: it, coder: coder ?? 'unknown',
      scores: { train: scoreSplit(judged.train, c.passK), val: scoreSplit(judged.val, c.passK), test: scoreSplit(judged.test, c.passK) },
      passByFamily: table(byFamily, false), generalByFamily: table(byFamily, true),
      passByDifficulty: table(byDifficulty, false), generalByDifficulty: table(byDifficulty, true),
      fewShot: this.gpt ? 0 : c.fewShot, kept, keptTotal: state.kept.length, step: state.step, trainLoss,
      sandboxMs: SPLIT_NAMES.reduce((s, split) => s + judged[split].reduce((t, p) => t + sandboxMs(p), 0), 0),
      seconds: session.elapsed(),
    } satisfies IterationRecord);
    session.samples({ iteration: it }, rows);
    // The pretrained coder is used as it is: the kept programs (the state) are all a resume needs.
    const model = this.gpt ? { config: this.gpt.gpt, tokenizer: this.gpt.tok.toJSON(), params: await this.gpt.backend.getParams() } : null;
    session.checkpoint({ iteration: it }, model, state);
  }
}

/** Run the experiment: the capabilities it needs, setup (or the checkpoint), iterations 0…N, the summary. */
export async function run(c: ProgramsConfig, ctx: RunContext): Promise<ProgramsSummary> {
  if (!ctx.runProgram) {
    throw new Error('runProgram: the programs lab runs model-written programs in a sandbox, which this host does not provide (the browser lab and the headless runner do)');
  }
  if (c.coder === 'pretrained' && !ctx.generateText) {
    throw new Error("coder: 'pretrained' needs a pretrained code model, which this host cannot run (the browser lab downloads one; headless, pass --model DIR, a local transformers.js model folder); or choose coder 'gpt'");
  }
  const session: ProgramsSession = new RunSession(ctx, {
    experiment: 'programs', total: plan(c), record, position, describe: describePosition,
    state: { version: STATE_VERSION, schema: stateSchema },
  });
  const lab = new ProgramsRun(c, session, ctx.runProgram);
  const gpt = lab.gpt;
  if (gpt) await gpt.open();

  let state: LoopState;
  let first: number;
  if (session.resumed) {
    ({ state } = session.resumed);
    if (gpt) {
      if (session.resumed.params.length !== gpt.backend.layout.total) {
        throw new CheckpointError(`this checkpoint holds ${session.resumed.params.length} parameters, the GPT coder of these settings has ${gpt.backend.layout.total}: it cannot continue`);
      }
      await gpt.backend.setParams(session.resumed.params);
    }
    first = session.resumed.at.iteration + 1;
  } else {
    state = { kept: [], step: 0, coder: null };
    if (gpt) {
      const warm = await gpt.warmStart(lab.splits.train, state);
      session.emit({
        kind: 'warm-start', programs: warm.programs, steps: state.step, trainLoss: warm.loss,
        parameters: gpt.backend.layout.total, contextLength: gpt.gpt.contextLength,
      });
    }
    first = 0;
  }

  for (let it = first; it <= c.iterations; it++) {
    session.checkCancel();
    await lab.iteration(it, state);
  }

  gpt?.backend.dispose();
  return summarize(session.records, session.elapsed());
}
