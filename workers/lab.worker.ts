/**
 * The lab worker: runs experiments and keeps their runs in IndexedDB. The
 * UI talks to it only through `src/ui/lab-client.svelte.ts`, which starts
 * two instances of this file:
 *   - a runner per run (`start`, `resume`), terminated to cancel;
 *   - one long-lived instance for the run history (`history`, `openRun`,
 *     `deleteRun`, `markCancelled`, exports, import), which is what lets
 *     the UI read and write runs without importing src/persist.
 * Running lives in lab/run-host.ts, pretrained models in lab/model-host.ts,
 * saved symbiosis Generators in lab/generators.ts, and what the page may
 * import (types only) in lab/events.ts.
 */
import * as Comlink from 'comlink';
import { ConfigError } from '../src/core/schema';
import { experimentByName } from '../src/experiments';
import { resolveConfig } from '../src/experiments/config';
import type { RunInput } from '../src/experiments/types';
import { DatasetStore } from '../src/persist/datasets';
import { LabStore, type RunListItem, type RunStatus, type StorageUsage, waitForRunEnd, withRunLock } from '../src/persist';
import type { BackendChoice, LabEvent, RunResult, StartOptions } from './lab/events';
import { execute, planBackend } from './lab/run-host';
import { generatorApi, savedGeneratorInput } from './lab/generators';

export type * from './lab/events';
export type { RunListItem, RunStatus, StorageUsage };

let storePromise: Promise<LabStore> | null = null;

/**
 * This worker's connection, opened on first use, and again after a failed
 * open or once it was closed for a newer version of the lab (which then
 * answers with what to do: reload).
 */
async function openStore(): Promise<LabStore> {
  if (storePromise && (await storePromise.catch(() => null))?.closedForUpgrade) storePromise = null;
  storePromise ??= LabStore.open().catch((e: unknown) => {
    storePromise = null;
    throw e;
  });
  return storePromise;
}

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
    for (const [name, id] of Object.entries(opts.savedGenerators ?? {})) inputs[name] = await savedGeneratorInput(await openStore(), id);
    return withRunLock(runId, async () => {
      await store.createRun({
        id: runId, experiment: exp.name, preset: opts.preset, seed: opts.seed, config, overrides: opts.overrides, environment, inputs,
      });
      send({ type: 'run', runId, experiment: exp.name, preset: opts.preset, seed: opts.seed, config, environment, resumedFrom: null, records: [], samples: [], skipped: [] });
      return execute({ store, runId, experiment: exp.name, config, seed: opts.seed, prefer, environment, resume: null, inputs, send });
    });
  },

  /**
   * Continue a stopped run (interrupted, cancelled or failed) from its latest
   * sound checkpoint, with its stored config and seed, on the backend it
   * asked for, or on `backend` when given (the CPU after a lost GPU device).
   * Rejects, changing nothing, when the run is finished, live elsewhere
   * (RunBusyError), has no checkpoint, or its config is no longer valid.
   */
  async resume(runId: string, onEvent: (e: LabEvent) => void, backend?: BackendChoice): Promise<RunResult> {
    const store = await openStore();
    const send = forwarder(onEvent);
    return withRunLock(runId, async () => {
      const run = await store.getRun(runId);
      const exp = experimentByName(run.experiment);
      let config: Record<string, unknown>;
      try {
        config = exp.config.parse(run.config, `${exp.name} config`);
      } catch (e) {
        if (e instanceof ConfigError) {
          throw new Error(`this run's settings are not valid in this version of the lab, so it cannot continue: ${e.message}`, { cause: e });
        }
        throw e;
      }
      const requested = run.environment.requested;
      const choice: BackendChoice = backend ?? (requested === 'auto' || requested === 'cpu' || requested === 'webgpu' ? requested : run.environment.backend);
      const { prefer } = await planBackend(choice);
      // The input files first: a damaged one stops the resume before the run is touched.
      const inputs = await store.getRunInputs(runId);
      const point = await store.prepareResume(runId);
      send({
        type: 'run', runId, experiment: run.experiment, preset: run.preset, seed: run.seed, config, environment: run.environment,
        resumedFrom: point.checkpoint.label, records: point.records, samples: point.samples, skipped: point.skipped,
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

  /** A stored run with its metric stream and samples (checked against its experiment's schemas; damaged rows named in `problems`). */
  async openRun(runId: string) {
    const store = await openStore();
    const { run, status, records, samples, problems } = await store.openRun(runId);
    return {
      runId: run.id, experiment: run.experiment, preset: run.preset, seed: run.seed, config: run.config,
      environment: run.environment, status, error: run.error, summary: run.summary, records, samples, problems,
    };
  },

  /**
   * Resolves once the run is not running anywhere (at once when it is not):
   * when its worker finished, or died with its tab or on its own. The caller
   * then reads what was stored (openRun) to tell which.
   */
  async waitForRunEnd(runId: string): Promise<void> {
    await waitForRunEnd(runId);
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
  async importRun(file: Blob | string, fileName?: string): Promise<{ runId: string; experiment: string }> {
    const text = typeof file === 'string' ? file : await file.text();
    const name = fileName ?? (file instanceof File ? file.name : 'run.jsonl');
    return (await openStore()).importRun(text, name);
  },

  ...generatorApi(openStore),
};

export type LabWorkerApi = typeof api;

Comlink.expose(api);
