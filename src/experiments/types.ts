/**
 * What every experiment exports, and the events a run emits.
 *
 * An experiment is a folder (`self-improve/`, …): a spec the page may import
 * (field table, presets, the schemas of its records, samples and checkpoint
 * state, pure report functions) and `run(config, ctx)`, which reports
 * everything through `ctx.emit` (via a RunSession, session.ts). The same
 * module runs in a Web Worker (WebGPU or CPU) and in the headless runner
 * (CPU); it never touches the DOM or storage: the worker persists what the
 * events carry.
 */
import type * as v from 'valibot';
import type { Backend } from '../core/backend';
import type { GptConfig } from '../core/gpt/config';
import type { Json, ProgramRun } from '../core/puzzles/programs';
import type { TokenizerJson } from '../core/tokenizer';
import type { SandboxLimits } from '../sandbox/types';
import type { ConfigOf, ConfigSpec, FieldTable } from './fields';

/** One row of a run's append-only metric stream (a line of metrics.jsonl); each experiment's records are a union on `kind`. */
export type MetricRecord = { kind: string } & Record<string, unknown>;

/**
 * Where in a run a sample set or a checkpoint belongs, in the lab's own
 * terms: `{iteration: 3}`, `{generation: 2, mode: 'replace'}`,
 * `{replicate: 0, generation: 1, method: 'static'}`.
 */
export type Position = Readonly<Record<string, string | number | null>>;

export type ExperimentEvent =
  /** Where the run is: `done` of `total` units of work (for a progress bar and ETA). */
  | { type: 'progress'; phase: string; done: number; total: number }
  /** An optimizer step's loss, as read back (not every step). */
  | { type: 'step'; phase: string; step: number; loss: number; lr: number; ms: number }
  /** A metrics row to append to the run's stream. */
  | { type: 'metrics'; record: MetricRecord }
  /** Examples to browse (experiment-specific rows) and where in the run they come from. */
  | { type: 'samples'; at: Position; rows: unknown[] }
  /** A resumable state at the end of a unit of work: the run can restart from here. */
  | { type: 'checkpoint'; checkpoint: RunCheckpoint }
  | { type: 'log'; message: string };

/** Everything a run needs to continue after the unit of work `at`. */
export interface RunCheckpoint {
  /** The experiment it belongs to, and the version of that experiment's state schema (a resume checks both). */
  experiment: string;
  stateVersion: number;
  /** The unit of work just completed, and the same in words ("generation 2"). */
  at: Position;
  label: string;
  /**
   * The model's architecture and tokenizer, so the parameters can be exported
   * on their own; null when the run trains no model of the lab's own (a
   * pretrained model used as it is: its whole state is in `state`).
   */
  modelConfig: GptConfig | null;
  tokenizer: TokenizerJson | null;
  /** The model's parameters (layout of modelConfig); empty when modelConfig is null. */
  params: Float32Array;
  /** Extra models some experiments keep (e.g. the base model STaR restarts from). */
  extraParams: Record<string, Float32Array>;
  /** Experiment-specific JSON state (kept solutions, curriculum level, …), checked against its schema on resume. */
  state: unknown;
  /** Units of work done of the run's plan, and seconds spent in the run so far (across earlier resumes). */
  progress: { done: number; total: number; seconds: number };
  /** The metric records so far, so a resumed run's summary is complete. */
  records: MetricRecord[];
}

export interface RunContext {
  seed: number;
  /** A fresh backend for a model config (CPU in the headless runner; WebGPU or CPU in a worker). */
  createBackend(config: GptConfig): Promise<Backend>;
  emit(event: ExperimentEvent): void;
  signal?: AbortSignal;
  /**
   * Data the visitor supplied for this run (an uploaded corpus, a loaded
   * dataset), by name. The host stores it with the run, so a resumed run sees
   * the same inputs; a share link cannot carry it.
   */
  inputs?: Readonly<Record<string, RunInput>>;
  /** Continue after this checkpoint instead of starting fresh. */
  resume?: RunCheckpoint;
  /** A monotonic clock in ms. */
  now(): number;
  /**
   * Sentence embeddings from a pretrained model (transformers.js), where the
   * host can load one: the lab worker in the browser, the headless runner
   * given a local model folder. Absent, or resolving `{ok: false, reason}`,
   * when no model is available: the experiment then reports the metric as
   * not computed, with the reason, never as 0.
   */
  embed?: (texts: readonly string[], onProgress?: (done: number, total: number) => void) => Promise<EmbedResult>;
  /**
   * Text from a pretrained instruct model (transformers.js), one output per
   * chat request, where the host can run one (the browser lab). Absent, or
   * resolving `{ok: false, reason}`, when it cannot; `seed` makes the
   * sampling reproducible.
   */
  generateText?: (
    requests: { messages: ChatMessage[] }[],
    options: {
      maxNewTokens: number; temperature: number; topP: number; seed: number;
      /** The model (a Hugging Face id the host can load); the host's default when absent. */
      model?: string;
    },
    onProgress?: (done: number, total: number) => void,
  ) => Promise<GenerateTextResult>;
  /**
   * Run a model-written program in the sandbox (docs/sandbox.md): QuickJS in
   * a worker, with no network, storage or host objects; `input` is passed to
   * its `solve(input)`. Resolves with how the run ended whatever the program
   * did; rejects only when the sandbox itself fails. Provided by the lab
   * worker and the headless runner; absent where programs cannot run.
   */
  runProgram?: (source: string, input: Json, limits?: Partial<SandboxLimits>) => Promise<ProgramRun>;
}

/** One turn of a chat prompt. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The texts written, one per request in order, and the model's name; or why there are none. */
export type GenerateTextResult = { ok: true; model: string; texts: string[] } | { ok: false; reason: string };

/** An input file: its name and bytes. */
export interface RunInput {
  name: string;
  bytes: Uint8Array;
}

/** Unit-length sentence embeddings (mean-pooled, L2-normalised), one per text, or why there are none. */
export type EmbedResult =
  | { ok: true; model: string; vectors: Float32Array[] }
  | { ok: false; reason: string };

/** A named partial config. */
export interface Preset<C> {
  description: string;
  overrides: Partial<C>;
}

/**
 * What the page may know of an experiment without its training loop: its
 * fields and presets, and the schemas of what a run stores (records,
 * sample sets), so stored and imported runs are checked before anything
 * reads them.
 */
export interface ExperimentSpec<
  F extends FieldTable = FieldTable,
  R extends MetricRecord = MetricRecord,
  P extends Position = Position,
  Row = unknown,
> {
  /** Identifier used in URLs, the CLI and stored runs, e.g. 'self-improve'. */
  name: string;
  title: string;
  description: string;
  config: ConfigSpec<F>;
  /** Named partial overrides, e.g. 'classroom'. */
  presets: Record<string, Preset<ConfigOf<F>>>;
  /** One metric record of this experiment (a union on `kind`). */
  record: v.GenericSchema<unknown, R>;
  /** Where a sample set or checkpoint belongs, and one row of a sample set. */
  position: v.GenericSchema<unknown, P>;
  sampleRow: v.GenericSchema<unknown, Row>;
  /** A position in the lab's own words ("iteration 3", "generation 2, replace"). */
  describe(at: P): string;
  /** The fixed data a run uses (e.g. its puzzles), as rows per file name, for export. */
  datasets?(config: ConfigOf<F>, seed: number): Record<string, unknown[]>;
  /** A row for the headless runner's table, or null to skip the record. */
  tableRow?(record: R): Record<string, string | number> | null;
}

export interface Experiment<
  F extends FieldTable = FieldTable,
  R extends MetricRecord = MetricRecord,
  P extends Position = Position,
  Row = unknown,
  S = unknown,
> extends ExperimentSpec<F, R, P, Row> {
  /** Run to completion (or until ctx.signal aborts); returns the summary. */
  run(config: ConfigOf<F>, ctx: RunContext): Promise<S>;
}

/** Raised inside run() when ctx.signal aborted; the last checkpoint stands. */
export class RunCancelled extends Error {
  constructor() {
    super('run cancelled');
    this.name = 'RunCancelled';
  }
}
