/**
 * The lab's own coder: a character-level GPT trained here from scratch. Its
 * rows are
 *   BOS · puzzle prompt · "\n" → body · EOS
 * where the body is what follows `function solve(s){` (SIGNATURE, put in
 * front of what it writes: every program starts so, and a row is shorter
 * without it). Before iteration 0 it
 * learns bodies from the warm-start grammar (grammar.ts) paired with random
 * puzzles; each iteration it is fine-tuned on the programs kept so far
 * (STaR: rejection-sampling fine-tuning on its own verified programs).
 * docs/programs.md says what it can and cannot learn.
 */
import type { Backend } from '../../core/backend';
import type { GptConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import type { Puzzle } from '../../core/puzzles';
import { type Key, Rng, foldIn } from '../../core/rng';
import { generate } from '../../core/sample';
import { CharTokenizer } from '../../core/tokenizer/char';
import { sftBatch } from '../../core/train';
import { epochCycler, finalLoss, phaseOptim, resetOptimizer, trainPhase } from '../phases';
import { streamKey } from '../session';
import type { ProgramsConfig } from './config';
import { MAX_BODY_LENGTH, SIGNATURE, sampleBodies } from './grammar';
import type { ProgramsSession, Written } from './in-context';
import type { KeptProgram, LoopState } from './records';
import { STREAM } from './streams';

/** Printable ASCII: every puzzle prompt and every program of the grammar (and most a model could write). */
const CODE_ALPHABET = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('') + '\n';

/** Programs written per batch of generation. */
const WRITE_BATCH = 64;

interface Row {
  prompt: number[];
  completion: number[];
}

export class GptCoder {
  readonly tok = new CharTokenizer(CODE_ALPHABET);
  readonly gpt: GptConfig;
  /** New tokens per program: the grammar's longest body and a little room. */
  readonly maxNewTokens: number;
  backend!: Backend;

  constructor(readonly c: ProgramsConfig, readonly session: ProgramsSession, puzzles: readonly Puzzle[]) {
    const maxPrompt = Math.max(...puzzles.map((p) => p.prompt.length));
    this.maxNewTokens = MAX_BODY_LENGTH + 8;
    const contextLength = Math.ceil((1 + maxPrompt + 1 + this.maxNewTokens) / 8) * 8;
    this.gpt = { vocabSize: this.tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  }

  get name(): string {
    return `the lab's GPT (${this.backend.layout.total.toLocaleString('en-US')} parameters, fine-tuned on its passing programs)`;
  }

  async open(): Promise<void> {
    this.backend = await this.session.ctx.createBackend(this.gpt);
  }

  prompt(p: Pick<Puzzle, 'prompt'>): number[] {
    return [this.tok.bos, ...this.tok.encode(`${p.prompt}\n`)];
  }

  row(p: Pick<Puzzle, 'prompt'>, program: string): Row {
    const body = program.startsWith(SIGNATURE) ? program.slice(SIGNATURE.length) : program;
    return { prompt: this.prompt(p), completion: [...this.tok.encode(body), this.tok.eos] };
  }

  /** Fresh parameters, then `warmStartSteps` steps on grammar programs paired with random train puzzles. */
  async warmStart(train: readonly Puzzle[], state: LoopState): Promise<{ programs: number; loss: number | null }> {
    const { c, session } = this;
    await this.backend.setParams(initParams(this.gpt, streamKey(session.runKey, STREAM.init)));
    const bodies = sampleBodies(c.warmStartPrograms, streamKey(session.runKey, STREAM.warmStart, 0));
    const pick = new Rng(streamKey(session.runKey, STREAM.warmStart, 1));
    const rows = bodies.map((body) => this.row(train[pick.int(train.length)]!, SIGNATURE + body));
    const loss = await this.train(rows, c.warmStartSteps, 'warm start', streamKey(session.runKey, STREAM.warmStart, 2), state);
    return { programs: rows.length, loss };
  }

  /** STaR: `stepsPerIteration` steps on every program kept so far (fresh AdamW moments, continuing from the current parameters). */
  async fineTune(kept: readonly KeptProgram[], key: Key, phase: string, state: LoopState): Promise<number | null> {
    if (kept.length === 0) {
      this.session.progress(phase, this.c.stepsPerIteration);
      return null;
    }
    return this.train(kept.map((k) => this.row(k, k.program)), this.c.stepsPerIteration, phase, key, state);
  }

  async train(rows: readonly Row[], steps: number, phase: string, key: Key, state: LoopState): Promise<number | null> {
    if (steps === 0) return null;
    const { c, session } = this;
    await resetOptimizer(this.backend);
    const next = epochCycler(rows.length, new Rng(key));
    const result = await trainPhase(this.backend, session.ctx, {
      nextBatch: () => {
        const batch = next(c.batchSize).map((i) => rows[i]!);
        return sftBatch(batch, Math.max(...batch.map((r) => r.prompt.length + r.completion.length - 1)));
      },
      optim: phaseOptim(c.learningRate, c.weightDecay, steps), steps, phase, stepOffset: state.step,
    });
    session.checkCancel();
    state.step += result.steps;
    session.progress(phase, result.steps);
    return finalLoss(result.points);
  }

  /** n programs per puzzle, sampled at the run's temperature and top-p. */
  async write(puzzles: readonly Puzzle[], key: Key, phase: string): Promise<Written> {
    const { c, session } = this;
    const n = c.samplesPerProblem;
    const jobs = puzzles.flatMap((p, i) => Array.from({ length: n }, () => ({ i, prompt: this.prompt(p) })));
    const programs: string[][] = puzzles.map(() => []);
    for (let start = 0; start < jobs.length; start += WRITE_BATCH) {
      session.checkCancel();
      const chunk = jobs.slice(start, start + WRITE_BATCH);
      const gens = await generate(this.backend, chunk.map((j) => j.prompt), {
        maxNewTokens: this.maxNewTokens, temperature: c.temperature, topK: 0, topP: c.topP, stopTokens: [this.tok.eos], key: foldIn(key, start),
      });
      gens.forEach((g, j) => programs[chunk[j]!.i]!.push(SIGNATURE + this.tok.decode(g.tokens)));
      session.progress(phase, chunk.length);
    }
    return { programs, examples: puzzles.map(() => 0), coder: this.name };
  }
}
