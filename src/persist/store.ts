/**
 * Runs in IndexedDB: the API the lab worker (and only it) uses to save a run
 * as it happens, list and open past runs, delete them, and move them in and
 * out of the browser as files.
 *
 * Every method that writes more than one record does it in one transaction,
 * so a failure (a full disk, a closed tab) leaves the previous state intact:
 * in particular a checkpoint and the run record that points at it are
 * written together, and an import writes the whole file or nothing.
 */
import type { MetricRecord, RunCheckpoint, RunInput } from '../experiments/types';
import { EXPERIMENTS } from '../experiments';
import { resolveConfig } from '../experiments/config';
import { encodeCheckpoint } from '../core/checkpoint';
import { tokenizerFromJSON } from '../core/tokenizer';
import {
  type CheckpointRow, type LabDb, type MetricRow, RECORD_VERSION, type RunEnvironment, type RunInputsRow, type RunRecord, type SampleRow,
  type StoredRunStatus, checkFormat, inTransaction, openLabDb, runRange,
} from './db';
import { type RunStatus, displayStatus, heldRunLocks } from './liveness';
import { type RunFileStatus, formatRunFile, parseRunFile } from '../experiments/run-file';

/** Checkpoints kept per run: the latest, and one before it in case the latest turns out to be a bad place to continue from. */
export const KEEP_CHECKPOINTS = 2;

/** What a new run record needs; the rest starts empty. */
export interface NewRun {
  /** Defaults to a fresh random UUID; the client passes its own so it can name the run before the worker answers. */
  id?: string;
  experiment: string;
  preset: string | null;
  seed: number;
  config: Record<string, unknown>;
  overrides: Record<string, unknown>;
  environment: RunEnvironment;
  /** Files the run reads (RunContext.inputs), stored with it. */
  inputs?: Readonly<Record<string, RunInput>>;
}

/** One row of the run history. */
export interface RunListItem {
  id: string;
  experiment: string;
  preset: string | null;
  seed: number;
  status: RunStatus;
  createdAt: number;
  /** The last iteration reached (metrics or checkpoint); null before the first. */
  lastIteration: number | null;
  summary: unknown;
  error: string | null;
  /** A checkpoint exists and the run is not finished or live: resume() can continue it. */
  resumable: boolean;
  /** The file name when imported (imported runs have no checkpoints, hence no model). */
  importedFrom: string | null;
}

/** A run with its metric stream and samples, for viewing. */
export interface StoredRun {
  run: RunRecord;
  status: RunStatus;
  records: MetricRecord[];
  samples: { iteration: number; rows: unknown[] }[];
}

/** A stored checkpoint with what resuming needs besides the RunCheckpoint itself. */
export type StoredCheckpoint = RunCheckpoint & { metricCount: number; savedAt: number };

/** Everything resume needs, read in one transaction after trimming what came after the checkpoint. */
export interface ResumePoint {
  run: RunRecord;
  checkpoint: StoredCheckpoint;
  records: MetricRecord[];
  samples: { iteration: number; rows: unknown[] }[];
}

export interface StorageUsage {
  /** The origin's usage and quota as the browser estimates them (all of this site's storage). */
  usedBytes: number;
  quotaBytes: number | null;
  /** Approximate bytes per run id (metrics, samples and retained checkpoints). */
  perRun: Record<string, number>;
}

export type RunOutcome =
  | { status: 'done'; summary: unknown }
  | { status: 'failed'; error: string }
  | { status: 'cancelled' };

/** Roughly what a JSON-like value occupies (characters of its JSON). */
function approxBytes(value: unknown): number {
  return (JSON.stringify(value) ?? '').length;
}

function checkpointBytes(row: CheckpointRow): number {
  return row.params.byteLength
    + Object.values(row.extraParams).reduce((a, b) => a + b.byteLength, 0)
    + approxBytes({ c: row.modelConfig, t: row.tokenizer, s: row.state, r: row.records });
}

/** The numeric `iteration` of a metric record, if it has one. */
function iterationOf(record: MetricRecord): number | null {
  const it = record.iteration;
  return typeof it === 'number' && Number.isFinite(it) ? it : null;
}

const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * A Float32Array's bytes as an ArrayBuffer to store. IndexedDB copies what
 * it is given when put() is called, so an array that spans its whole
 * buffer is passed as is; a view into a larger buffer is copied out.
 */
function toBuffer(x: Float32Array): ArrayBuffer {
  const whole = x.byteOffset === 0 && x.byteLength === x.buffer.byteLength && x.buffer instanceof ArrayBuffer;
  return whole ? (x.buffer as ArrayBuffer) : x.slice().buffer;
}

function runMissing(runId: string): Error {
  return new Error(`run ${runId} does not exist (was it deleted in another tab?)`);
}

function newId(): string {
  return crypto.randomUUID();
}

/** The overrides of `config` relative to its preset (or the defaults when the preset is unknown here). */
function overridesOf(experiment: string, preset: string | null, config: Record<string, unknown>): Record<string, unknown> {
  const exp = EXPERIMENTS[experiment];
  if (!exp) return {};
  let base: Record<string, unknown> = exp.defaultConfig;
  if (preset !== null && exp.presets[preset]) base = resolveConfig(exp, preset, {});
  return Object.fromEntries(Object.entries(config).filter(([k, value]) => JSON.stringify(base[k]) !== JSON.stringify(value)));
}

export class LabStore {
  constructor(readonly db: LabDb) {}

  /** Open the lab's database (creating or upgrading it). */
  static async open(name?: string): Promise<LabStore> {
    return new LabStore(await openLabDb(name));
  }

  close(): void {
    this.db.close();
  }

  // --- writing a run ----------------------------------------------------------

  /** Create a run record with status 'running' and a fresh heartbeat. */
  async createRun(init: NewRun): Promise<RunRecord> {
    const now = Date.now();
    const run: RunRecord = {
      id: init.id ?? newId(),
      formatVersion: RECORD_VERSION,
      experiment: init.experiment,
      preset: init.preset,
      seed: init.seed,
      config: init.config,
      overrides: init.overrides,
      environment: init.environment,
      status: 'running',
      heartbeatAt: now,
      createdAt: now,
      updatedAt: now,
      error: null,
      summary: null,
      lastCheckpointIteration: null,
      lastIteration: null,
      metricCount: 0,
      storedBytes: { metrics: 0, samples: 0, checkpoints: {}, inputs: 0 },
      importedFrom: null,
    };
    const inputs: RunInputsRow['inputs'] = {};
    for (const [key, input] of Object.entries(init.inputs ?? {})) {
      // A copy of exactly the view's bytes (the view may be a window on a larger buffer).
      inputs[key] = { name: input.name, bytes: input.bytes.slice().buffer };
      run.storedBytes.inputs! += input.bytes.byteLength;
    }
    await inTransaction(this.db, ['runs', 'runInputs'], 'readwrite', async (tx) => {
      // `add`, not `put`: an id that exists already is an error, never an overwrite.
      await tx.objectStore('runs').add(run);
      if (Object.keys(inputs).length > 0) {
        await tx.objectStore('runInputs').add({ formatVersion: RECORD_VERSION, runId: run.id, inputs });
      }
    });
    return run;
  }

  /** The files the run was started with (empty when none). */
  async getRunInputs(runId: string): Promise<Record<string, RunInput>> {
    const row = await this.db.get('runInputs', runId);
    if (!row) return {};
    checkFormat(row, `the input files of run ${runId}`);
    return Object.fromEntries(Object.entries(row.inputs).map(([k, x]) => [k, { name: x.name, bytes: new Uint8Array(x.bytes) }]));
  }

  /** Append one record to the run's metric stream. */
  async appendMetric(runId: string, record: MetricRecord): Promise<void> {
    await this.appendMetrics(runId, [record]);
  }

  /** Append records to the run's metric stream, in order, in one transaction. */
  async appendMetrics(runId: string, records: readonly MetricRecord[]): Promise<void> {
    if (records.length === 0) return;
    await inTransaction(this.db, ['runs', 'metrics'], 'readwrite', async (tx) => {
      const run = await this.#getRun(tx.objectStore('runs'), runId);
      await this.#putMetrics(tx.objectStore('metrics'), run, records);
      await tx.objectStore('runs').put(run);
    });
  }

  /** Store an iteration's sample rows (appended to rows already stored for that iteration). */
  async saveSamples(runId: string, iteration: number, rows: unknown[]): Promise<void> {
    await inTransaction(this.db, ['runs', 'samples'], 'readwrite', async (tx) => {
      const run = await this.#getRun(tx.objectStore('runs'), runId);
      const samples = tx.objectStore('samples');
      const existing = await samples.get([runId, iteration]);
      const row: SampleRow = { formatVersion: RECORD_VERSION, runId, iteration, rows: existing ? [...existing.rows, ...rows] : rows };
      run.storedBytes.samples += approxBytes(rows);
      run.updatedAt = Date.now();
      await samples.put(row);
      await tx.objectStore('runs').put(run);
    });
  }

  /**
   * Save a checkpoint and the run record's pointer to it in ONE transaction,
   * then drop all but the latest KEEP_CHECKPOINTS checkpoints (in the same
   * transaction). The metric rows emitted before the checkpoint must have
   * been appended first: the checkpoint remembers how many there are, and a
   * resume drops the rows after that.
   */
  async saveCheckpoint(runId: string, checkpoint: RunCheckpoint): Promise<void> {
    await inTransaction(this.db, ['runs', 'checkpoints'], 'readwrite', async (tx) => {
      const runs = tx.objectStore('runs');
      const checkpoints = tx.objectStore('checkpoints');
      const run = await this.#getRun(runs, runId);
      const row: CheckpointRow = {
        formatVersion: RECORD_VERSION,
        runId,
        iteration: checkpoint.iteration,
        modelConfig: checkpoint.modelConfig,
        tokenizer: checkpoint.tokenizer,
        params: toBuffer(checkpoint.params),
        extraParams: Object.fromEntries(Object.entries(checkpoint.extraParams).map(([k, x]) => [k, toBuffer(x)])),
        state: checkpoint.state,
        records: checkpoint.records,
        metricCount: run.metricCount,
        savedAt: Date.now(),
      };
      // Which checkpoints survive: the new one and the latest others, up to KEEP_CHECKPOINTS.
      const keys = await checkpoints.getAllKeys(runRange(runId));
      const iterations = [...new Set([...keys.map((k) => k[1]), row.iteration])].sort((a, b) => a - b);
      const dropped = iterations.slice(0, Math.max(0, iterations.length - KEEP_CHECKPOINTS));
      for (const it of dropped) delete run.storedBytes.checkpoints[String(it)];
      run.storedBytes.checkpoints[String(row.iteration)] = checkpointBytes(row);
      run.lastCheckpointIteration = row.iteration;
      run.lastIteration = maxOf(run.lastIteration, row.iteration);
      run.heartbeatAt = run.updatedAt = row.savedAt;
      await runs.put(run);
      // The checkpoint goes last: if it cannot be stored (quota, an uncloneable state), the run update above is rolled back with it.
      await checkpoints.put(row);
      for (const it of dropped) await checkpoints.delete([runId, it]);
    });
  }

  /** Record that the run is alive now. */
  async heartbeat(runId: string): Promise<void> {
    await inTransaction(this.db, ['runs'], 'readwrite', async (tx) => {
      const run = await this.#getRun(tx.objectStore('runs'), runId);
      run.heartbeatAt = Date.now();
      await tx.objectStore('runs').put(run);
    });
  }

  /** Replace the run's environment (the backend it really got, known only once the experiment asked for one). */
  async setEnvironment(runId: string, environment: RunEnvironment): Promise<void> {
    await inTransaction(this.db, ['runs'], 'readwrite', async (tx) => {
      const run = await this.#getRun(tx.objectStore('runs'), runId);
      run.environment = environment;
      run.updatedAt = Date.now();
      await tx.objectStore('runs').put(run);
    });
  }

  /**
   * End the run: done (with the summary), failed (with the error) or
   * cancelled. With `ifRunning`, a run that already ended keeps its status
   * (a cancel that arrives after the run finished). Returns whether it changed.
   */
  async finishRun(runId: string, outcome: RunOutcome, opts: { ifRunning?: boolean } = {}): Promise<boolean> {
    return inTransaction(this.db, ['runs'], 'readwrite', async (tx) => {
      const runs = tx.objectStore('runs');
      const run = await runs.get(runId);
      if (!run) {
        if (opts.ifRunning) return false;
        throw runMissing(runId);
      }
      checkFormat(run, `run ${runId}`);
      if (opts.ifRunning && run.status !== 'running') return false;
      run.status = outcome.status;
      run.summary = outcome.status === 'done' ? outcome.summary : run.summary;
      run.error = outcome.status === 'failed' ? outcome.error : null;
      run.updatedAt = Date.now();
      await runs.put(run);
      return true;
    });
  }

  /**
   * Make a run continue from its latest checkpoint: drop the metric rows,
   * samples and checkpoints that came after it (they will be produced
   * again), mark it running, and return what the resumed run starts from.
   */
  async prepareResume(runId: string): Promise<ResumePoint> {
    return inTransaction(this.db, ['runs', 'metrics', 'samples', 'checkpoints'], 'readwrite', async (tx) => {
      const runs = tx.objectStore('runs');
      const metrics = tx.objectStore('metrics');
      const samples = tx.objectStore('samples');
      const checkpoints = tx.objectStore('checkpoints');
      const run = await this.#getRun(runs, runId);
      if (run.status === 'done') throw new Error('this run has finished: there is nothing to resume');
      const keys = await checkpoints.getAllKeys(runRange(runId));
      const lastKey = keys[keys.length - 1];
      if (!lastKey) {
        throw new Error(run.importedFrom !== null
          ? 'an imported run has no checkpoint to continue from: start a new run with its settings instead'
          : 'this run stopped before its first checkpoint: start it again instead');
      }
      const row = (await checkpoints.get(lastKey))!;
      checkFormat(row, `the checkpoint of run ${runId}`);

      const staleMetrics = await metrics.getAll(runRange(runId, row.metricCount));
      run.storedBytes.metrics -= staleMetrics.reduce((a, m) => a + approxBytes(m.record), 0);
      await metrics.delete(runRange(runId, row.metricCount));
      const staleSamples = await samples.getAll(runRange(runId, row.iteration + 1));
      run.storedBytes.samples -= staleSamples.reduce((a, s) => a + approxBytes(s.rows), 0);
      await samples.delete(runRange(runId, row.iteration + 1));

      const now = Date.now();
      Object.assign(run, {
        status: 'running', error: null, summary: null, heartbeatAt: now, updatedAt: now,
        metricCount: row.metricCount, lastIteration: row.iteration, lastCheckpointIteration: row.iteration,
      } satisfies Partial<RunRecord>);
      await runs.put(run);
      const records = (await metrics.getAll(runRange(runId))).map((m) => m.record);
      const sampleRows = (await samples.getAll(runRange(runId))).map((s) => ({ iteration: s.iteration, rows: s.rows }));
      return { run, checkpoint: fromRow(row), records, samples: sampleRows };
    });
  }

  // --- reading ----------------------------------------------------------------

  /** Every run, newest first, with its display status ('interrupted' for a running run whose worker is gone). */
  async listRuns(now = Date.now()): Promise<RunListItem[]> {
    const [all, held] = await Promise.all([this.db.getAllFromIndex('runs', 'by-created'), heldRunLocks()]);
    return all.reverse().map((run) => {
      try {
        checkFormat(run, `run ${run.id}`);
      } catch (e) {
        // Listed (so it can be deleted) but not opened: say why.
        return {
          id: run.id, experiment: String(run.experiment ?? '?'), preset: null, seed: Number(run.seed ?? 0), status: 'failed',
          createdAt: Number(run.createdAt ?? 0), lastIteration: null, summary: null, error: (e as Error).message,
          resumable: false, importedFrom: null,
        } satisfies RunListItem;
      }
      const status = displayStatus(run, now, held);
      return {
        id: run.id, experiment: run.experiment, preset: run.preset, seed: run.seed, status, createdAt: run.createdAt,
        lastIteration: run.lastIteration, summary: run.summary, error: run.error,
        resumable: (status === 'interrupted' || status === 'cancelled' || status === 'failed') && run.lastCheckpointIteration !== null,
        importedFrom: run.importedFrom,
      } satisfies RunListItem;
    });
  }

  /** One run record; throws when it does not exist or has a format this build does not read. */
  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.db.get('runs', runId);
    if (!run) throw runMissing(runId);
    checkFormat(run, `run ${runId}`);
    return run;
  }

  /** The run's metric stream, in order. */
  async getMetrics(runId: string): Promise<MetricRecord[]> {
    const rows = await this.db.getAll('metrics', runRange(runId));
    return rows.map((row) => {
      checkFormat(row, `a metric row of run ${runId}`);
      return row.record;
    });
  }

  /** The run's sample rows per iteration, in iteration order. */
  async getSamples(runId: string): Promise<{ iteration: number; rows: unknown[] }[]> {
    const rows = await this.db.getAll('samples', runRange(runId));
    return rows.map((row) => {
      checkFormat(row, `a sample row of run ${runId}`);
      return { iteration: row.iteration, rows: row.rows };
    });
  }

  /** A run with its metrics and samples, read in one transaction (a consistent snapshot). */
  async openRun(runId: string): Promise<StoredRun> {
    const [held, snapshot] = await Promise.all([
      heldRunLocks(),
      inTransaction(this.db, ['runs', 'metrics', 'samples'], 'readonly', async (tx) => {
        const run = await this.#getRun(tx.objectStore('runs'), runId);
        const metrics = await tx.objectStore('metrics').getAll(runRange(runId));
        const samples = await tx.objectStore('samples').getAll(runRange(runId));
        return { run, metrics, samples };
      }),
    ]);
    const { run, metrics, samples } = snapshot;
    metrics.forEach((m) => checkFormat(m, `a metric row of run ${runId}`));
    samples.forEach((s) => checkFormat(s, `a sample row of run ${runId}`));
    return {
      run,
      status: displayStatus(run, Date.now(), held),
      records: metrics.map((m) => m.record),
      samples: samples.map((s) => ({ iteration: s.iteration, rows: s.rows })),
    };
  }

  /** The run's latest checkpoint, or null when it has none. */
  async latestCheckpoint(runId: string): Promise<StoredCheckpoint | null> {
    return inTransaction(this.db, ['checkpoints'], 'readonly', async (tx) => {
      const store = tx.objectStore('checkpoints');
      const keys = await store.getAllKeys(runRange(runId));
      const last = keys[keys.length - 1];
      if (!last) return null;
      const row = (await store.get(last))!;
      checkFormat(row, `the checkpoint of run ${runId}`);
      return fromRow(row);
    });
  }

  /** The iterations of the run's stored checkpoints, ascending (for tests and diagnostics). */
  async checkpointIterations(runId: string): Promise<number[]> {
    const keys = await this.db.getAllKeys('checkpoints', runRange(runId));
    return keys.map((k) => k[1]);
  }

  // --- deleting and space ----------------------------------------------------

  /** Delete a run and all its rows, in one transaction. */
  async deleteRun(runId: string): Promise<void> {
    await inTransaction(this.db, ['runs', 'metrics', 'samples', 'checkpoints', 'runInputs'], 'readwrite', async (tx) => {
      await Promise.all([
        tx.objectStore('runs').delete(runId),
        tx.objectStore('metrics').delete(runRange(runId)),
        tx.objectStore('samples').delete(runRange(runId)),
        tx.objectStore('checkpoints').delete(runRange(runId)),
        tx.objectStore('runInputs').delete(runId),
      ]);
    });
  }

  /** The browser's estimate for the whole origin, and this store's own estimate per run. */
  async storageUsage(): Promise<StorageUsage> {
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    const estimate = storage?.estimate ? await storage.estimate() : {};
    const perRun: Record<string, number> = {};
    for (const run of await this.db.getAll('runs')) {
      const b = run.storedBytes;
      perRun[run.id] = b
        ? b.metrics + b.samples + (b.inputs ?? 0) + Object.values(b.checkpoints).reduce((x, y) => x + y, 0) + approxBytes(run.config)
        : 0;
    }
    return { usedBytes: estimate.usage ?? 0, quotaBytes: estimate.quota ?? null, perRun };
  }

  // --- files -----------------------------------------------------------------

  /** The run as run.jsonl text (see run-file.ts): the same format the headless runner writes. */
  async exportRun(runId: string): Promise<string> {
    const { run, records, samples } = await this.openRun(runId);
    const exp = EXPERIMENTS[run.experiment];
    const datasets = exp?.datasets?.(run.config, run.seed) ?? {};
    const status: RunFileStatus = run.status === 'running' ? 'interrupted' : run.status;
    return formatRunFile({
      run: {
        experiment: run.experiment, preset: run.preset, seed: run.seed, config: run.config,
        environment: run.environment, status, summary: run.summary, ...(run.error !== null ? { error: run.error } : {}),
      },
      metrics: records,
      samples,
      datasets,
    });
  }

  /** The latest checkpoint's model as safetensors bytes (config and tokenizer in the metadata), and a file name. */
  async exportModel(runId: string): Promise<{ bytes: Uint8Array; fileName: string }> {
    const run = await this.getRun(runId);
    const ckpt = await this.latestCheckpoint(runId);
    if (!ckpt) {
      throw new Error(run.importedFrom !== null
        ? 'an imported run has no model: its file holds metrics only'
        : 'this run has no checkpoint yet: the model is saved at the end of each iteration');
    }
    const bytes = encodeCheckpoint({
      config: ckpt.modelConfig,
      params: ckpt.params,
      tokenizer: tokenizerFromJSON(ckpt.tokenizer),
      // The same metadata keys as the headless runner's model.safetensors.
      meta: { experiment: run.experiment, seed: String(run.seed), iteration: String(ckpt.iteration) },
    });
    return { bytes, fileName: `${run.experiment}-seed${run.seed}-iteration${ckpt.iteration}.safetensors` };
  }

  /**
   * Validate a whole run.jsonl file and store it as a NEW run (never
   * overwriting one). Throws a RunFileError naming the line and field, and
   * then writes nothing. Returns the new run's id.
   */
  async importRun(text: string, fileName = 'run.jsonl'): Promise<string> {
    const file = parseRunFile(text);
    const now = Date.now();
    // A run exported before it ended cannot continue here (no checkpoint travels with it): it is stored as stopped.
    const status: StoredRunStatus = file.run.status === 'interrupted' ? 'cancelled' : file.run.status;
    const run: RunRecord = {
      id: newId(),
      formatVersion: RECORD_VERSION,
      experiment: file.run.experiment,
      preset: file.run.preset,
      seed: file.run.seed,
      config: file.run.config,
      overrides: overridesOf(file.run.experiment, file.run.preset, file.run.config),
      environment: file.run.environment,
      status,
      heartbeatAt: now,
      createdAt: now,
      updatedAt: now,
      error: file.run.error ?? null,
      summary: file.run.summary,
      lastCheckpointIteration: null,
      lastIteration: file.metrics.reduce<number | null>((a, r) => maxOf(a, iterationOf(r)), null),
      metricCount: 0,
      storedBytes: { metrics: 0, samples: 0, checkpoints: {} },
      importedFrom: fileName,
    };
    await inTransaction(this.db, ['runs', 'metrics', 'samples'], 'readwrite', async (tx) => {
      await this.#putMetrics(tx.objectStore('metrics'), run, file.metrics);
      const samples = tx.objectStore('samples');
      // Samples of one iteration that appear on several lines are kept together, in file order.
      const byIteration = new Map<number, unknown[]>();
      for (const s of file.samples) byIteration.set(s.iteration, [...(byIteration.get(s.iteration) ?? []), ...s.rows]);
      const puts: Promise<unknown>[] = [];
      for (const [iteration, rows] of byIteration) {
        run.storedBytes.samples += approxBytes(rows);
        puts.push(samples.put({ formatVersion: RECORD_VERSION, runId: run.id, iteration, rows }));
      }
      await Promise.all(puts);
      await tx.objectStore('runs').add(run);
    });
    return run.id;
  }

  // --- helpers ---------------------------------------------------------------

  /** Read a run inside a transaction; throws when missing or in a foreign format. */
  async #getRun(store: { get(key: string): Promise<RunRecord | undefined> }, runId: string): Promise<RunRecord> {
    const run = await store.get(runId);
    if (!run) throw runMissing(runId);
    checkFormat(run, `run ${runId}`);
    return run;
  }

  /** Put metric rows (numbered from run.metricCount) and update the run's counters; the caller puts the run. */
  async #putMetrics(store: { put(row: MetricRow): Promise<unknown> }, run: RunRecord, records: readonly MetricRecord[]): Promise<void> {
    const puts: Promise<unknown>[] = [];
    for (const record of records) {
      puts.push(store.put({ formatVersion: RECORD_VERSION, runId: run.id, seq: run.metricCount++, record }));
      run.storedBytes.metrics += approxBytes(record);
      run.lastIteration = maxOf(run.lastIteration, iterationOf(record));
    }
    if (records.length > 0) run.updatedAt = Date.now();
    // All requests are issued before the first await, so the transaction stays busy throughout.
    await Promise.all(puts);
  }
}

/** A stored checkpoint row as the RunCheckpoint the experiment resumes from. */
function fromRow(row: CheckpointRow): StoredCheckpoint {
  return {
    iteration: row.iteration,
    modelConfig: row.modelConfig,
    tokenizer: row.tokenizer,
    params: new Float32Array(row.params),
    extraParams: Object.fromEntries(Object.entries(row.extraParams).map(([k, b]) => [k, new Float32Array(b)])),
    state: row.state,
    records: row.records,
    metricCount: row.metricCount,
    savedAt: row.savedAt,
  };
}
