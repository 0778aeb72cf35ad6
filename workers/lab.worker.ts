/**
 * The lab worker: runs experiments and keeps their runs in IndexedDB. The
 * UI talks to it only through `src/ui/lab-client.svelte.ts`, which starts
 * two instances of this file:
 *   - a runner per run (`start`, `resume`), terminated to cancel;
 *   - one long-lived instance for the run history (`history`, `openRun`,
 *     `deleteRun`, `markCancelled`, exports, import), which is what lets
 *     the UI read and write runs without importing src/persist.
 *
 * Every event a run emits is persisted as it comes (see RunWriter) and
 * forwarded to the page; checkpoints are forwarded only as 'saved' once
 * they are committed (their parameters stay here).
 */
import * as Comlink from 'comlink';
import type {
  Backend, BackendKind, Decoder, LossResult, OptimizerState, StepHyper, StepResult, TokenBatch,
} from '../src/core/backend';
import { autoBackend, createBackend, probeWebGpu } from '../src/core/backends/index';
import type { GptConfig } from '../src/core/gpt/config';
import { ConfigError, parseConfig } from '../src/core/schema';
import { experimentByName } from '../src/experiments';
import { resolveConfig } from '../src/experiments/config';
import type {
  ChatMessage, EmbedResult, ExperimentEvent, GenerateTextResult, MetricRecord, RunCheckpoint, RunContext, RunInput,
} from '../src/experiments/types';
import type { EmbedFunction } from '../src/pretrained/embeddings';
import type { Generator } from '../src/pretrained/generator';
import { ModelSlot } from '../src/pretrained/model-slot';
import { DatasetStore } from '../src/persist/datasets';
import {
  HEARTBEAT_MS, LabStore, type RunEnvironment, type RunListItem, type RunStatus, RunWriter, StorageFullError, type StorageUsage,
  withRunLock,
} from '../src/persist';

export type { MetricRecord, RunListItem, RunStatus, StorageUsage };

/** 'auto': WebGPU on a hardware adapter, else the CPU (a software adapter is slower than the CPU for these models). */
export type BackendChoice = 'auto' | BackendKind;

export interface StartOptions {
  /** The new run's id (the client makes one, so it can cancel before the worker answers); default: a random UUID. */
  runId?: string;
  experiment: string;
  preset: string | null;
  seed: number;
  overrides: Record<string, unknown>;
  backend: BackendChoice;
  /** Files the run reads (RunContext.inputs): stored with the run, so a resume reads them too. */
  inputs?: Record<string, RunInput>;
  /**
   * Inputs to make from datasets cached in IndexedDB (input name → dataset
   * id), as the JSON `parseDatasetInput` reads: read here, so a dataset's rows
   * never pass through the page on their way to the run.
   */
  cachedDatasets?: Record<string, string>;
}

/** The run exists in the database and is about to (re)start. */
export interface RunStartedEvent {
  type: 'run';
  runId: string;
  experiment: string;
  preset: string | null;
  seed: number;
  config: Record<string, unknown>;
  environment: RunEnvironment;
  /** The checkpoint iteration a resumed run continues after; null for a new run. */
  resumedFrom: number | null;
  /** What a resumed run had stored up to its checkpoint (empty for a new run). */
  records: MetricRecord[];
  samples: { iteration: number; rows: unknown[] }[];
}

/** A checkpoint is committed: closing the tab now loses nothing before it. */
export interface SavedEvent {
  type: 'saved';
  iteration: number;
}

/** The run ended and its status is stored (or, if storing failed, `error` says so). */
export interface FinishedEvent {
  type: 'finished';
  runId: string;
  status: 'done' | 'failed';
  summary: unknown;
  error: string | null;
}

/** A pretrained model's files arriving (transformers.js caches them: a second run loads from the cache). */
export interface DownloadEvent {
  type: 'download';
  model: string;
  file: string;
  loaded: number;
  total: number;
  done: boolean;
}

/** The text a pretrained model is writing right now (the latest prompt's output so far), for the page to show. */
export interface StreamEvent {
  type: 'stream';
  model: string;
  prompt: number;
  text: string;
}

export type LabEvent =
  | Exclude<ExperimentEvent, { type: 'checkpoint' }> | RunStartedEvent | SavedEvent | FinishedEvent | DownloadEvent | StreamEvent;

/** What a finished run reports to the worker call's caller. */
export interface RunResult {
  runId: string;
  status: 'done' | 'failed';
  summary: unknown;
  error: string | null;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// --- keeping the event loop turning ------------------------------------------

/**
 * The CPU backend's methods resolve at once, so a CPU run would otherwise
 * never yield to the event loop: no IndexedDB write would complete, no
 * heartbeat would fire, until the run ended. After any backend call made
 * YIELD_MS after the last yield, this wrapper waits for one macrotask (a
 * MessageChannel message: unlike setTimeout it is not clamped to 4 ms).
 */
const YIELD_MS = 20;
const yieldChannel = new MessageChannel();
const yieldWaiters: (() => void)[] = [];
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();

function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    yieldWaiters.push(resolve);
    yieldChannel.port2.postMessage(null);
  });
}

class YieldingBackend implements Backend {
  #lastYield = performance.now();
  readonly createDecoder?: (B: number) => Decoder;

  constructor(readonly inner: Backend) {
    const create = inner.createDecoder?.bind(inner);
    if (create) {
      this.createDecoder = (B) => {
        const decoder = create(B);
        return { step: (rows, tokens, positions) => this.#then(decoder.step(rows, tokens, positions)) };
      };
    }
  }

  get kind(): BackendKind { return this.inner.kind; }
  get config(): GptConfig { return this.inner.config; }
  get layout() { return this.inner.layout; }
  get description(): string { return this.inner.description; }

  async #then<T>(result: Promise<T>): Promise<T> {
    const value = await result;
    if (performance.now() - this.#lastYield >= YIELD_MS) {
      await nextTask();
      this.#lastYield = performance.now();
    }
    return value;
  }

  setParams(params: Float32Array): Promise<void> { return this.#then(this.inner.setParams(params)); }
  getParams(): Promise<Float32Array> { return this.#then(this.inner.getParams()); }
  getOptimizerState(): Promise<OptimizerState> { return this.#then(this.inner.getOptimizerState()); }
  setOptimizerState(state: OptimizerState): Promise<void> { return this.#then(this.inner.setOptimizerState(state)); }
  forwardLogits(inputs: Int32Array, B: number, T: number): Promise<Float32Array> {
    return this.#then(this.inner.forwardLogits(inputs, B, T));
  }
  lastLogits(inputs: Int32Array, B: number, T: number, positions: Int32Array): Promise<Float32Array> {
    return this.#then(this.inner.lastLogits(inputs, B, T, positions));
  }
  evaluate(batch: TokenBatch): Promise<LossResult> { return this.#then(this.inner.evaluate(batch)); }
  gradients(batch: TokenBatch): Promise<LossResult & { grads: Float32Array }> { return this.#then(this.inner.gradients(batch)); }
  trainStep(batch: TokenBatch, hyper: StepHyper, read?: { loss?: boolean; gradNorm?: boolean }): Promise<StepResult> {
    return this.#then(this.inner.trainStep(batch, hyper, read));
  }
  deviceBytes(): number { return this.inner.deviceBytes(); }
  hostBytes(): number { return this.inner.hostBytes(); }
  dispose(): void { this.inner.dispose(); }
}

// --- the database ------------------------------------------------------------

let storePromise: Promise<LabStore> | null = null;

/** This worker's connection, opened on first use (and retried after a failed open). */
/** A cached dataset as a run input: {name, source, labelNames, splits} in JSON. */
async function cachedDatasetInput(id: string): Promise<RunInput> {
  const datasets = await DatasetStore.open();
  try {
    const d = await datasets.get(id);
    const dataset = { name: d.name, source: d.source, labelNames: d.labelNames, splits: d.splits };
    return { name: d.name, bytes: new TextEncoder().encode(JSON.stringify(dataset)) };
  } finally {
    datasets.close();
  }
}

function openStore(): Promise<LabStore> {
  storePromise ??= LabStore.open().catch((e: unknown) => {
    storePromise = null;
    throw e;
  });
  return storePromise;
}

// --- sentence embeddings (RunContext.embed) ----------------------------------

/**
 * The default embedding model (src/pretrained), loaded at a run's first
 * `embed` and kept for this worker's later calls. transformers.js is imported
 * only then, so runs that never embed never load it. A model that cannot be
 * loaded (offline, …) resolves {ok: false, reason}; a cancelled run rejects.
 */
let embedFunction: Promise<EmbedFunction> | null = null;

async function embed(texts: readonly string[], onProgress: ((done: number, total: number) => void) | undefined, signal: AbortSignal): Promise<EmbedResult> {
  let run: EmbedFunction;
  try {
    embedFunction ??= import('../src/pretrained/embeddings').then((m) => m.embedOnDemand());
    run = await embedFunction;
  } catch (e) {
    embedFunction = null;
    return { ok: false, reason: `the embedding code could not be loaded: ${messageOf(e)}` };
  }
  return run(texts, onProgress, signal);
}

/**
 * A pretrained instruct model (src/pretrained/generator), loaded at a run's
 * first `generateText` with download events and kept for this worker's later
 * calls with the same model. A model that cannot be loaded (offline, …)
 * resolves {ok: false, reason}; a cancelled run rejects.
 */
const textModel = new ModelSlot<Generator>();

async function generateText(
  requests: { messages: ChatMessage[] }[],
  options: { maxNewTokens: number; temperature: number; topP: number; seed: number; model?: string },
  onProgress: ((done: number, total: number) => void) | undefined,
  signal: AbortSignal,
  send: (e: LabEvent) => void,
): Promise<GenerateTextResult> {
  const { DEFAULT_GENERATE_BATCH, DEFAULT_GENERATOR_MODEL, loadGenerator } = await import('../src/pretrained/generator');
  const id = options.model ?? DEFAULT_GENERATOR_MODEL;
  let generator: Generator;
  try {
    generator = await textModel.get(id, () => loadGenerator({ model: id }, (p) => send({
      type: 'download', model: p.model, file: p.file, loaded: p.loaded, total: p.total, done: p.status === 'done',
    })));
  } catch (e) {
    return { ok: false, reason: messageOf(e) };
  }
  let started = 0;
  const streamed = new Map<number, string>();
  let lastSent = 0;
  try {
    const result = await generator.generate(requests.map((r) => r.messages), {
      maxNewTokens: options.maxNewTokens, temperature: options.temperature, topP: options.topP, seed: options.seed,
    }, {
      signal,
      onToken: (prompt, text) => {
        const sofar = (streamed.get(prompt) ?? '') + text;
        streamed.set(prompt, sofar);
        // At most ~10 stream events a second: the page shows the text being written, not every token.
        const now = performance.now();
        if (now - lastSent > 100) {
          lastSent = now;
          send({ type: 'stream', model: generator.modelId, prompt, text: sofar });
        }
        // Prompts run in order, a batch at a time: one that has begun means the ones a batch before it are written.
        if (prompt + 1 > started) {
          started = prompt + 1;
          onProgress?.(Math.max(0, started - DEFAULT_GENERATE_BATCH), requests.length);
        }
      },
    });
    onProgress?.(requests.length, requests.length);
    return { ok: true, model: generator.modelId, texts: result.generations.map((g) => g.text) };
  } catch (e) {
    if (signal.aborted) throw e;
    return { ok: false, reason: messageOf(e) };
  }
}

// --- running -----------------------------------------------------------------

/** Resolve 'auto' and describe the backend the run will ask for (before the experiment creates it). */
async function planBackend(choice: BackendChoice): Promise<{ prefer: BackendKind; environment: RunEnvironment }> {
  const { report } = await probeWebGpu();
  const auto = choice === 'auto' ? autoBackend(report) : null;
  const prefer: BackendKind = choice === 'auto' ? (auto?.prefer ?? 'webgpu') : choice;
  const planned: BackendKind = prefer === 'webgpu' && report.webgpu ? 'webgpu' : 'cpu';
  return {
    prefer,
    environment: {
      backend: planned,
      description: planned === 'cpu' ? 'CPU (reference)' : (report.adapterInfo?.description || report.reason),
      adapter: report.reason,
      reason: auto?.reason ?? (prefer === 'cpu' ? 'CPU backend requested' : report.reason),
      requested: choice,
      userAgent: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? 'unknown',
    },
  };
}

interface Execution {
  store: LabStore;
  runId: string;
  experiment: string;
  config: Record<string, unknown>;
  seed: number;
  prefer: BackendKind;
  environment: RunEnvironment;
  resume: RunCheckpoint | null;
  inputs: Record<string, RunInput>;
  send: (e: LabEvent) => void;
}

/**
 * Retry a small write that failed for lack of space. After a large write
 * was refused, Chromium can go on counting what it left behind, so even
 * the tiny 'failed' mark may be refused (seen in tests with little
 * headroom); space can come back (compaction, runs deleted in another tab),
 * so the mark is retried for a few seconds. If it still fails, the run
 * stays 'running' and shows as interrupted, which is also honest.
 */
async function retryWhenFull<T>(write: () => Promise<T>, delaysMs: readonly number[] = [100, 500, 2000]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!(e instanceof StorageFullError) || attempt >= delaysMs.length) throw e;
      await new Promise((resolve) => setTimeout(resolve, delaysMs[attempt]));
    }
  }
}

/** Run the experiment, persisting and forwarding every event; the run record ends done or failed. */
async function execute(x: Execution): Promise<RunResult> {
  const exp = experimentByName(x.experiment);
  const controller = new AbortController();
  // Why the run was stopped from here (a failed save, a lost device): reported instead of RunCancelled.
  let stopReason: string | null = null;
  const stop = (reason: string) => {
    stopReason ??= reason;
    controller.abort();
  };
  const writer = new RunWriter(x.store, x.runId, (e) => stop(`saving the run failed, so it stopped: ${messageOf(e)}`));
  const backends: Backend[] = [];
  const heartbeat = setInterval(() => writer.heartbeat(), HEARTBEAT_MS);

  const ctx: RunContext = {
    seed: x.seed,
    signal: controller.signal,
    now: () => performance.now(),
    embed: (texts, onProgress) => embed(texts, onProgress, controller.signal),
    generateText: (requests, options, onProgress) => generateText(requests, options, onProgress, controller.signal, x.send),
    inputs: x.inputs,
    ...(x.resume ? { resume: x.resume } : {}),
    createBackend: async (gpt) => {
      const created = await createBackend(gpt, {
        prefer: x.prefer,
        onDeviceLost: (message) => stop(`the GPU device was lost (${message}); resume the run to continue from its last checkpoint`),
      });
      backends.push(created.backend);
      const { kind, description } = created.backend;
      if (backends.length === 1) {
        // The first model's backend is the run's environment; a resumed run notes where it continued when that differs.
        const env: RunEnvironment = x.resume === null
          ? { ...x.environment, backend: kind, description, reason: created.reason }
          : kind === x.environment.backend ? x.environment : { ...x.environment, resumedOn: `${kind}: ${description}` };
        if (env !== x.environment) writer.setEnvironment(env);
      }
      x.send({ type: 'log', message: `backend: ${description} (${created.reason})` });
      return new YieldingBackend(created.backend);
    },
    emit: (e) => {
      const saved = writer.record(e);
      if (e.type === 'checkpoint') {
        const iteration = e.checkpoint.iteration;
        void saved?.then(() => {
          if (writer.failure === null) x.send({ type: 'saved', iteration });
        });
      } else {
        x.send(e);
      }
    },
  };

  let result: RunResult;
  try {
    const summary = await exp.run(x.config, ctx);
    await writer.flush();
    await x.store.finishRun(x.runId, { status: 'done', summary });
    result = { runId: x.runId, status: 'done', summary, error: null };
  } catch (e) {
    const error = stopReason ?? messageOf(e);
    // Keep whatever can still be saved; a failure here is already in `error` (or is the same storage problem).
    await writer.flush().catch(() => undefined);
    let unrecorded: string | null = null;
    try {
      await retryWhenFull(() => x.store.finishRun(x.runId, { status: 'failed', error }));
    } catch (e2) {
      unrecorded = messageOf(e2);
    }
    result = {
      runId: x.runId,
      status: 'failed',
      summary: null,
      // Not even the failure could be stored: the run stays 'running' and will show as interrupted.
      error: unrecorded === null ? error : `${error} (marking the run failed did not work either: ${unrecorded}; it will show as interrupted)`,
    };
  } finally {
    clearInterval(heartbeat);
    for (const b of backends) {
      try {
        b.dispose();
      } catch {
        // Disposing twice (the experiment disposes on success) or after a lost device is harmless.
      }
    }
  }
  x.send({ type: 'finished', ...result });
  return result;
}

/** Forward an event to the page; a page that went away must not stop the run. */
function forwarder(onEvent: (e: LabEvent) => void): (e: LabEvent) => void {
  return (e) => {
    Promise.resolve(onEvent(e)).catch(() => undefined);
  };
}

const api = {
  /**
   * Validate the options, create the run record and run the experiment.
   * Rejects (creating nothing) on an unknown experiment or a bad config
   * field; otherwise every outcome arrives as events, and the promise
   * resolves with the result when the run has ended.
   */
  async start(opts: StartOptions, onEvent: (e: LabEvent) => void): Promise<RunResult> {
    const exp = experimentByName(opts.experiment);
    const config = resolveConfig(exp, opts.preset, opts.overrides);
    if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) throw new Error(`seed: must be a non-negative integer, got ${opts.seed}`);
    const store = await openStore();
    const { prefer, environment } = await planBackend(opts.backend);
    const runId = opts.runId ?? crypto.randomUUID();
    const send = forwarder(onEvent);
    const inputs = { ...opts.inputs };
    for (const [name, id] of Object.entries(opts.cachedDatasets ?? {})) inputs[name] = await cachedDatasetInput(id);
    return withRunLock(runId, async () => {
      await store.createRun({
        id: runId, experiment: exp.name, preset: opts.preset, seed: opts.seed, config, overrides: opts.overrides, environment, inputs,
      });
      send({ type: 'run', runId, experiment: exp.name, preset: opts.preset, seed: opts.seed, config, environment, resumedFrom: null, records: [], samples: [] });
      return execute({ store, runId, experiment: exp.name, config, seed: opts.seed, prefer, environment, resume: null, inputs, send });
    });
  },

  /**
   * Continue a stopped run (interrupted, cancelled or failed) from its latest
   * checkpoint, with its stored config and seed, on the backend it asked for.
   * Rejects, changing nothing, when the run is finished, live elsewhere, has
   * no checkpoint, or its config is no longer valid.
   */
  async resume(runId: string, onEvent: (e: LabEvent) => void): Promise<RunResult> {
    const store = await openStore();
    const send = forwarder(onEvent);
    return withRunLock(runId, async () => {
      const run = await store.getRun(runId);
      const exp = experimentByName(run.experiment);
      let config: Record<string, unknown>;
      try {
        config = parseConfig(exp.schema, run.config, `${exp.name} config`);
      } catch (e) {
        if (e instanceof ConfigError) {
          throw new Error(`this run's settings are not valid in this version of the lab, so it cannot continue: ${e.message}`, { cause: e });
        }
        throw e;
      }
      const requested = run.environment.requested;
      const choice: BackendChoice = requested === 'auto' || requested === 'cpu' || requested === 'webgpu' ? requested : run.environment.backend;
      const { prefer } = await planBackend(choice);
      const point = await store.prepareResume(runId);
      const inputs = await store.getRunInputs(runId);
      send({
        type: 'run', runId, experiment: run.experiment, preset: run.preset, seed: run.seed, config, environment: run.environment,
        resumedFrom: point.checkpoint.iteration, records: point.records, samples: point.samples,
      });
      return execute({
        store, runId, experiment: run.experiment, config, seed: run.seed, prefer, environment: run.environment, resume: point.checkpoint, inputs, send,
      });
    });
  },

  /** The run history (newest first) and the storage estimate. */
  async history(): Promise<{ runs: RunListItem[]; storage: StorageUsage }> {
    const store = await openStore();
    const [runs, storage] = await Promise.all([store.listRuns(), store.storageUsage()]);
    return { runs, storage };
  },

  /** A stored run with its metric stream and samples. */
  async openRun(runId: string) {
    const store = await openStore();
    const { run, status, records, samples } = await store.openRun(runId);
    return {
      runId: run.id, experiment: run.experiment, preset: run.preset, seed: run.seed, config: run.config,
      environment: run.environment, status, error: run.error, summary: run.summary, records, samples,
    };
  },

  async deleteRun(runId: string): Promise<void> {
    await (await openStore()).deleteRun(runId);
  },

  /** Mark a run cancelled after its runner was terminated (a run that already ended keeps its status). */
  async markCancelled(runId: string): Promise<boolean> {
    return (await openStore()).finishRun(runId, { status: 'cancelled' }, { ifRunning: true });
  },

  /** The run as run.jsonl text. */
  async exportRun(runId: string): Promise<string> {
    return (await openStore()).exportRun(runId);
  },

  /** The latest checkpoint's model as safetensors bytes, moved (not copied) to the caller. */
  async exportModel(runId: string): Promise<{ bytes: Uint8Array; fileName: string }> {
    const model = await (await openStore()).exportModel(runId);
    return Comlink.transfer(model, [model.bytes.buffer]);
  },

  /** Import a run.jsonl file (or its text) as a new run; rejects with the line and field at fault, writing nothing. */
  async importRun(file: Blob | string, fileName?: string): Promise<string> {
    const text = typeof file === 'string' ? file : await file.text();
    const name = fileName ?? (file instanceof File ? file.name : 'run.jsonl');
    return (await openStore()).importRun(text, name);
  },
};

export type LabWorkerApi = typeof api;

Comlink.expose(api);
