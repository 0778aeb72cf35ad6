/**
 * What every experiment module exports, and the events a run emits.
 *
 * An experiment is one file (`self-improve.ts`, …) exporting an `Experiment`:
 * a typed `defaultConfig` whose fields are commented with units and reasons,
 * a valibot schema, named presets (partial overrides), and
 * `run(config, ctx)`, which reports everything through `ctx.emit`. The same
 * module runs in a Web Worker (WebGPU or CPU) and in the headless runner
 * (CPU); it never touches the DOM or storage: the worker persists what the
 * events carry.
 */
import type * as v from 'valibot';
import type { Backend } from '../core/backend';
import type { GptConfig } from '../core/gpt/config';
import type { TokenizerJson } from '../core/tokenizer';

/** One row of a run's append-only metric stream (a line of metrics.jsonl). */
export type MetricRecord = { kind: string } & Record<string, unknown>;

export type ExperimentEvent =
  /** Where the run is: `done` of `total` units of work (for a progress bar and ETA). */
  | { type: 'progress'; phase: string; done: number; total: number }
  /** An optimizer step's loss, as read back (not every step). */
  | { type: 'step'; phase: string; step: number; loss: number; lr: number; ms: number }
  /** A metrics row to append to the run's stream. */
  | { type: 'metrics'; record: MetricRecord }
  /** Examples to browse: problems, attempts and verdicts (experiment-specific rows). */
  | { type: 'samples'; iteration: number; rows: unknown[] }
  /** A resumable state at the end of an iteration: the run can restart from here. */
  | { type: 'checkpoint'; checkpoint: RunCheckpoint }
  | { type: 'log'; message: string };

/** Everything a run needs to continue from the end of iteration `iteration`. */
export interface RunCheckpoint {
  iteration: number;
  /** The model's architecture and tokenizer, so the parameters can be exported on their own. */
  modelConfig: GptConfig;
  tokenizer: TokenizerJson;
  /** The model's parameters (layout of modelConfig). */
  params: Float32Array;
  /** Extra models some experiments keep (e.g. the base model STaR restarts from). */
  extraParams: Record<string, Float32Array>;
  /** Experiment-specific JSON state (kept solutions, curriculum level, …). */
  state: unknown;
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

export interface Experiment<C extends Record<string, unknown>, S = unknown> {
  /** Identifier used in URLs, the CLI and stored runs, e.g. 'self-improve'. */
  name: string;
  title: string;
  description: string;
  defaultConfig: C;
  /** Validates a whole config (strict: unknown keys are errors). */
  schema: v.GenericSchema<unknown, C>;
  /** Named partial overrides, e.g. 'classroom'. */
  presets: Record<string, { description: string; overrides: Partial<C> }>;
  /** The fixed data a run uses (e.g. its puzzles), as rows per file name, for export. */
  datasets?(config: C, seed: number): Record<string, unknown[]>;
  /** A row for the headless runner's per-iteration table, or null to skip the record. */
  tableRow?(record: MetricRecord): Record<string, string | number> | null;
  /** Run to completion (or until ctx.signal aborts); returns the summary. */
  run(config: C, ctx: RunContext): Promise<S>;
}

/** Raised inside run() when ctx.signal aborted; the last checkpoint stands. */
export class RunCancelled extends Error {
  constructor() {
    super('run cancelled');
    this.name = 'RunCancelled';
  }
}
