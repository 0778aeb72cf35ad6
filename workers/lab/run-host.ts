/**
 * Running an experiment inside the lab worker: the backend it asked for,
 * every event persisted as it comes (RunWriter) and forwarded to the page,
 * the run record ended done or failed, and a heartbeat while it runs.
 * Checkpoints are forwarded only as 'saved' once they are committed (their
 * parameters stay in the worker). Programs a model wrote run in a sandbox
 * (src/sandbox/browser.ts: QuickJS in a Web Worker nested in this one),
 * started at the run's first program and closed when the run ends.
 */
import type { Backend, BackendKind } from '../../src/core/backend';
import { createBackend, probeWebGpu } from '../../src/core/backends/index';
import { measureBackends } from '../../src/core/backends/measure';
import { timingCache } from '../../src/core/backends/timing-cache';
import type { GptConfig } from '../../src/core/gpt/config';
import { messageOf, nextTask } from '../../src/core/tasks';
import { experimentByName } from '../../src/experiments';
import type { RunCheckpoint, RunContext, RunInput } from '../../src/experiments/types';
import { HEARTBEAT_MS, type LabStore, type RunEnvironment, RunWriter, StorageFullError } from '../../src/persist';
import { browserSandbox } from '../../src/sandbox/browser';
import type { Sandbox } from '../../src/sandbox/client';
import type { BackendChoice, LabEvent, RunResult } from './events';
import { embed, generateText } from './model-host';

/**
 * Describe the backend the run will ask for, before the experiment creates
 * it. 'auto' with a WebGPU adapter is decided when the run's first model
 * exists (measureFor); without one it is the CPU.
 */
export async function planBackend(choice: BackendChoice): Promise<{ prefer: BackendKind | 'measure'; environment: RunEnvironment }> {
  const { report } = await probeWebGpu();
  const prefer: BackendKind | 'measure' = choice === 'auto' ? (report.webgpu ? 'measure' : 'cpu') : choice;
  const planned: BackendKind = prefer === 'cpu' || !report.webgpu ? 'cpu' : 'webgpu';
  return {
    prefer,
    environment: {
      backend: planned,
      description: planned === 'cpu' ? 'CPU' : (report.adapterInfo?.description || report.reason),
      adapter: report.reason,
      reason: prefer === 'measure' ? 'auto: to be measured on this run\'s model' : choice === 'auto' ? report.reason : `${choice} requested`,
      requested: choice,
      userAgent: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? 'unknown',
    },
  };
}

/** Sequences per step the run trains with (its `batchSize`, when its config has one), for timing the real shape. */
function trainingBatch(config: Record<string, unknown>): number {
  return typeof config.batchSize === 'number' && config.batchSize > 0 ? config.batchSize : 16;
}

/**
 * 'auto' on a device with WebGPU: a few training steps of the run's own first
 * model on each backend (cached per device and shape), and the faster one.
 */
async function measureFor(gpt: GptConfig, config: Record<string, unknown>, send: (e: LabEvent) => void) {
  send({ type: 'log', message: 'auto: timing a few training steps of this model on each backend (once per device and model shape)…' });
  const m = await measureBackends(gpt, { B: trainingBatch(config), T: gpt.contextLength }, { cache: timingCache, steps: 3, budgetMs: 8_000 });
  send({ type: 'log', message: `auto: ${m.reason}${m.cached ? ' (measured before)' : ''}` });
  return m;
}

/** Wait for a macrotask after any backend call made this long after the last wait. */
const YIELD_MS = 20;

/**
 * The backend with a pause for one macrotask now and then. The CPU
 * backend's methods resolve at once, so a CPU run would otherwise never
 * yield to the event loop: no IndexedDB write would complete, no heartbeat
 * would fire, until the run ended.
 */
function yielding(inner: Backend): Backend {
  let last = performance.now();
  const pause = async <T>(value: T): Promise<T> => {
    if (performance.now() - last >= YIELD_MS) {
      await nextTask();
      last = performance.now();
    }
    return value;
  };
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'createDecoder') {
        return (B: number) => {
          const decoder = (value as NonNullable<Backend['createDecoder']>).call(target, B);
          return { step: (...args: Parameters<typeof decoder.step>) => decoder.step(...args).then(pause) };
        };
      }
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? result.then(pause) : result;
      };
    },
  });
}

/**
 * Retry a small write that failed for lack of space. After a large write
 * was refused, Chromium can go on counting what it left behind, so even
 * the tiny 'failed' mark may be refused (seen in tests with little
 * headroom); space can come back (compaction, runs deleted in another tab),
 * so the mark is retried for a few seconds. If it still fails, the run
 * stays 'running' and shows as interrupted, which is also honest.
 */
async function retryWhenFull<T>(write: () => Promise<T>, delaysMs: readonly number[] = [100, 500, 2000, 5000]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!(e instanceof StorageFullError) || attempt >= delaysMs.length) throw e;
      await new Promise((resolve) => setTimeout(resolve, delaysMs[attempt]));
    }
  }
}

export interface Execution {
  store: LabStore;
  runId: string;
  experiment: string;
  config: Record<string, unknown>;
  seed: number;
  /** The backend to ask for, or 'measure': time the run's first model on each backend and take the faster. */
  prefer: BackendKind | 'measure';
  environment: RunEnvironment;
  resume: RunCheckpoint | null;
  inputs: Record<string, RunInput>;
  send: (e: LabEvent) => void;
}

/** Run the experiment, persisting and forwarding every event; the run record ends done or failed. */
export async function execute(x: Execution): Promise<RunResult> {
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
  // The run's sandbox, once a program has run (a holder: the closure below sets it).
  const programs: { sandbox: Sandbox | null } = { sandbox: null };
  const heartbeat = setInterval(() => writer.heartbeat(), HEARTBEAT_MS);

  const ctx: RunContext = {
    seed: x.seed,
    signal: controller.signal,
    now: () => performance.now(),
    embed: (texts, onProgress) => embed(texts, onProgress, controller.signal),
    generateText: (requests, options, onProgress) => generateText(requests, options, onProgress, controller.signal, x.send),
    runProgram: (source, input, limits) => (programs.sandbox ??= browserSandbox()).run(source, input, limits),
    inputs: x.inputs,
    ...(x.resume ? { resume: x.resume } : {}),
    createBackend: async (gpt) => {
      const measured = x.prefer === 'measure' ? await measureFor(gpt, x.config, x.send) : null;
      if (measured) x.prefer = measured.choice; // every later model of the run goes to the same backend
      const created = await createBackend(gpt, {
        prefer: x.prefer === 'measure' ? 'webgpu' : x.prefer,
        onDeviceLost: (message) => stop(`the GPU device was lost (${message}); resume the run to continue from its last checkpoint`),
      });
      backends.push(created.backend);
      const { kind, description } = created.backend;
      if (backends.length === 1) {
        // The first model's backend is the run's environment; a resumed run notes where it continued when that differs.
        const env: RunEnvironment = x.resume === null
          ? { ...x.environment, backend: kind, description, reason: measured ? `auto: ${measured.reason}` : created.reason }
          : kind === x.environment.backend ? x.environment : { ...x.environment, resumedOn: `${kind}: ${description}` };
        if (env !== x.environment) writer.setEnvironment(env);
      }
      x.send({ type: 'log', message: `backend: ${description} (${created.reason})` });
      return yielding(created.backend);
    },
    emit: (e) => {
      const saved = writer.record(e);
      if (e.type === 'checkpoint') {
        const { label } = e.checkpoint;
        void saved?.then(() => {
          if (writer.failure === null) x.send({ type: 'saved', label });
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
    programs.sandbox?.close();
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
