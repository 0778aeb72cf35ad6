/**
 * A run session: what every experiment's run() does besides its science,
 * written once (nanoGPT has one training loop; house style 5c). It holds the
 * run's metric records, reports progress against the run's plan, checks for
 * cancellation, counts seconds across resumes, names the run's random
 * streams, emits sample sets and checkpoints at positions in the lab's own
 * words, and — on resume — checks the checkpoint against the experiment's
 * versioned state schema before handing it back typed: a stale or foreign
 * checkpoint gets a clear message, never a cast.
 */
import * as v from 'valibot';
import type { GptConfig } from '../core/gpt/config';
import { type Key, foldIn, keyFromSeed } from '../core/rng';
import type { TokenizerJson } from '../core/tokenizer';
import { describeIssue } from './schemas';
import { type MetricRecord, type Position, RunCancelled, type RunCheckpoint, type RunContext } from './types';

/** A checkpoint this version cannot continue from; the message says why and what to do. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface SessionOptions<R extends MetricRecord, P extends Position, S> {
  /** The experiment's name (a checkpoint of another experiment is refused). */
  experiment: string;
  /** Units of work in the whole run: the plan the loop walks, one unit per optimizer step or batch of samples. */
  total: number;
  /** The metric records a resumed run's earlier records must match. */
  record: v.GenericSchema<unknown, R>;
  /** Where checkpoints and sample sets belong, and that position in words. */
  position: v.GenericSchema<unknown, P>;
  describe(at: P): string;
  /** What a checkpoint's state holds; bump `version` whenever its shape or meaning changes. */
  state: { version: number; schema: v.GenericSchema<unknown, S> };
}

/** A checkpoint, checked: where it was taken, its state, its models. */
export interface Resumed<P, S> {
  at: P;
  state: S;
  params: Float32Array;
  extraParams: Record<string, Float32Array>;
}

/** The model a checkpoint saves: its shape, tokenizer and parameters, and any further parameter sets. */
export interface SavedModel {
  config: GptConfig;
  tokenizer: TokenizerJson;
  params: Float32Array;
  extra?: Record<string, Float32Array>;
}

/** foldIn(root, tag), then foldIn by each part in turn: one independent random stream per use. */
export function streamKey(root: Key, tag: number, ...parts: number[]): Key {
  return parts.reduce((k, p) => foldIn(k, p), foldIn(root, tag));
}

/** The first problem valibot found, as "path: message". */
function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const { field, problem } = describeIssue(issues[0]!);
  return field ? `${field}: ${problem}` : problem;
}

export class RunSession<R extends MetricRecord, P extends Position, S> {
  /** Every metric record of the run, a resumed run's earlier ones first. */
  readonly records: R[] = [];
  /** The run's root key (from the seed): experiments derive their named streams from it with streamKey. */
  readonly runKey: Key;
  /** The checkpoint this run continues from, checked; null for a fresh run. */
  readonly resumed: Resumed<P, S> | null;
  #done = 0;
  #priorSeconds = 0;
  readonly #started: number;

  constructor(readonly ctx: RunContext, readonly options: SessionOptions<R, P, S>) {
    this.runKey = keyFromSeed(ctx.seed);
    this.#started = ctx.now();
    this.resumed = ctx.resume ? this.#check(ctx.resume) : null;
    if (ctx.resume && this.resumed) {
      this.#done = ctx.resume.progress.done;
      this.#priorSeconds = ctx.resume.progress.seconds;
      ctx.emit({ type: 'log', message: `resumed after ${options.describe(this.resumed.at)}` });
    }
  }

  get total(): number {
    return this.options.total;
  }

  /** Seconds spent in this run, earlier sessions included. */
  elapsed(): number {
    return this.#priorSeconds + (this.ctx.now() - this.#started) / 1000;
  }

  /** Throw RunCancelled when the run was asked to stop. */
  checkCancel(): void {
    if (this.ctx.signal?.aborted) throw new RunCancelled();
  }

  /** Append a record to the run's stream. */
  emit(record: R): void {
    this.records.push(record);
    this.ctx.emit({ type: 'metrics', record });
  }

  /** `units` more units of the plan are done, in `phase`. */
  progress(phase: string, units: number): void {
    this.#done += units;
    this.ctx.emit({ type: 'progress', phase, done: Math.min(this.#done, this.total), total: this.total });
  }

  log(message: string): void {
    this.ctx.emit({ type: 'log', message });
  }

  /** Rows for the example browser, belonging to `at`. */
  samples(at: P, rows: unknown[]): void {
    this.ctx.emit({ type: 'samples', at, rows });
  }

  /**
   * Everything needed to continue after `at`: the model(s) and the
   * experiment's state (copied now). `model` null: the run trains no model of
   * its own (it uses a pretrained one as it is), so the state is all there is.
   */
  checkpoint(at: P, model: SavedModel | null, state: S): void {
    this.ctx.emit({
      type: 'checkpoint',
      checkpoint: {
        experiment: this.options.experiment,
        stateVersion: this.options.state.version,
        at,
        label: this.options.describe(at),
        modelConfig: model?.config ?? null,
        tokenizer: model?.tokenizer ?? null,
        params: model?.params ?? new Float32Array(0),
        extraParams: model?.extra ?? {},
        state: structuredClone(state),
        progress: { done: this.#done, total: this.total, seconds: this.elapsed() },
        records: [...this.records],
      },
    });
  }

  /** Check a checkpoint against this experiment and its state schema; keep its records. */
  #check(r: RunCheckpoint): Resumed<P, S> {
    const { experiment, state } = this.options;
    if (r.experiment !== experiment) {
      throw new CheckpointError(`this checkpoint belongs to the ${r.experiment} lab, not ${experiment}: it cannot continue here`);
    }
    if (r.stateVersion !== state.version) {
      const which = r.stateVersion > state.version ? 'a newer' : 'an earlier';
      throw new CheckpointError(
        `this checkpoint was saved by ${which} version of the ${experiment} lab (state version ${r.stateVersion}; this version reads ${state.version}): ` +
        'it cannot continue here; start the run again with the same settings',
      );
    }
    const parsedState = v.safeParse(state.schema, r.state);
    if (!parsedState.success) throw new CheckpointError(`this checkpoint's state is not what the ${experiment} lab saves (state.${firstIssue(parsedState.issues)}): it cannot continue`);
    const at = v.safeParse(this.options.position, r.at);
    if (!at.success) throw new CheckpointError(`this checkpoint's position is not one of the ${experiment} lab (${firstIssue(at.issues)})`);
    for (const [i, record] of r.records.entries()) {
      const parsed = v.safeParse(this.options.record, record);
      if (!parsed.success) throw new CheckpointError(`record ${i + 1} before this checkpoint is not one the ${experiment} lab writes (${firstIssue(parsed.issues)})`);
      this.records.push(parsed.output);
    }
    return { at: at.output, state: parsedState.output, params: r.params, extraParams: r.extraParams };
  }
}
