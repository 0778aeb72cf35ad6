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
import * as v from 'valibot';
import { encodeCheckpoint } from '../core/checkpoint';
import { tokenizerFromJSON } from '../core/tokenizer';
import { SPECS } from '../experiments/catalog';
import { overridesFromPreset } from '../experiments/config';
import { describeIssue } from '../experiments/schemas';
import type { MetricRecord, Position, RunCheckpoint, RunInput } from '../experiments/types';
import {
  type CheckpointRow, type LabDb, type MetricRow, RECORD_VERSION, type RunEnvironment, type RunInputsRow, type RunRecord, type SampleSetRow,
  StoredFormatError, type StoredRunStatus, checkFormat, inTransaction, openLabDb, runRange,
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
  /** Where the latest checkpoint was taken, in the lab's words ("generation 2"); null before the first. */
  lastCheckpoint: string | null;
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
  samples: SampleSet[];
}

/** One samples event as stored: where in the run it belongs, and its rows. */
export interface SampleSet {
  at: Position;
  rows: unknown[];
}

/** A stored checkpoint with when it was saved. */
export type StoredCheckpoint = RunCheckpoint & { savedAt: number };

/** Everything resume needs, read in one transaction after trimming what came after the checkpoint. */
export interface ResumePoint {
  run: RunRecord;
  checkpoint: StoredCheckpoint;
  records: MetricRecord[];
  samples: SampleSet[];
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
    + approxBytes({ c: row.modelConfig, t: row.tokenizer, s: row.state });
}

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

/**
 * Check a stored run's records and sample sets against its experiment's
 * schemas (what a page reads must be what the experiment writes); a bad one
 * is named by its place in the run and its field. Returns them as parsed
 * (NaN written as null in a file comes back as NaN).
 */
function checkRun(runId: string, experiment: string, records: readonly unknown[], samples: readonly { at: unknown; rows: unknown[] }[]) {
  const spec = SPECS[experiment];
  if (!spec) throw new StoredFormatError(`run ${runId} belongs to an experiment this version does not have ('${experiment}')`);
  const fail = (where: string, issues: readonly v.BaseIssue<unknown>[]): never => {
    const { field, problem } = describeIssue(issues[0]!);
    throw new StoredFormatError(`run ${runId}: ${where}${field ? `, field ${field}` : ''}, is not what the ${experiment} lab writes (${problem})`);
  };
  const parsedRecords = records.map((r, i) => {
    const p = v.safeParse(spec.record, r);
    return p.success ? p.output : fail(`metric record ${i + 1}`, p.issues);
  });
  const parsedSamples = samples.map((set, i): SampleSet => {
    const at = v.safeParse(spec.position, set.at);
    if (!at.success) return fail(`sample set ${i + 1}`, at.issues);
    return {
      at: at.output,
      rows: set.rows.map((row, j) => {
        const p = v.safeParse(spec.sampleRow, row);
        return p.success ? p.output : fail(`sample set ${i + 1} (${spec.describe(at.output)}), row ${j + 1}`, p.issues);
      }),
    };
  });
  return { records: parsedRecords, samples: parsedSamples };
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
      lastCheckpoint: null,
      metricCount: 0,
      sampleCount: 0,
      checkpointCount: 0,
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

  /** Store a sample set after the run's earlier ones. */
  async saveSamples(runId: string, at: Position, rows: unknown[]): Promise<void> {
    await inTransaction(this.db, ['runs', 'runSamples'], 'readwrite', async (tx) => {
      const run = await this.#getRun(tx.objectStore('runs'), runId);
      const row: SampleSetRow = { formatVersion: RECORD_VERSION, runId, seq: run.sampleCount++, at, rows };
      run.storedBytes.samples += approxBytes(rows);
      run.updatedAt = Date.now();
      await tx.objectStore('runSamples').put(row);
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
    await inTransaction(this.db, ['runs', 'runCheckpoints'], 'readwrite', async (tx) => {
      const runs = tx.objectStore('runs');
      const checkpoints = tx.objectStore('runCheckpoints');
      const run = await this.#getRun(runs, runId);
      const row: CheckpointRow = {
        formatVersion: RECORD_VERSION,
        runId,
        seq: run.checkpointCount++,
        experiment: checkpoint.experiment,
        stateVersion: checkpoint.stateVersion,
        at: checkpoint.at,
        label: checkpoint.label,
        modelConfig: checkpoint.modelConfig,
        tokenizer: checkpoint.tokenizer,
        params: toBuffer(checkpoint.params),
        extraParams: Object.fromEntries(Object.entries(checkpoint.extraParams).map(([k, x]) => [k, toBuffer(x)])),
        state: checkpoint.state,
        progress: checkpoint.progress,
        metricCount: run.metricCount,
        sampleCount: run.sampleCount,
        savedAt: Date.now(),
      };
      // Which checkpoints survive: the new one and the latest others, up to KEEP_CHECKPOINTS.
      const seqs = [...(await checkpoints.getAllKeys(runRange(runId))).map((k) => k[1]), row.seq];
      const dropped = seqs.slice(0, Math.max(0, seqs.length - KEEP_CHECKPOINTS));
      for (const seq of dropped) delete run.storedBytes.checkpoints[String(seq)];
      run.storedBytes.checkpoints[String(row.seq)] = checkpointBytes(row);
      run.lastCheckpoint = row.label;
      run.heartbeatAt = run.updatedAt = row.savedAt;
      await runs.put(run);
      // The checkpoint goes last: if it cannot be stored (quota, an uncloneable state), the run update above is rolled back with it.
      await checkpoints.put(row);
      for (const seq of dropped) await checkpoints.delete([runId, seq]);
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
    return inTransaction(this.db, ['runs', 'metrics', 'runSamples', 'runCheckpoints'], 'readwrite', async (tx) => {
      const runs = tx.objectStore('runs');
      const metrics = tx.objectStore('metrics');
      const samples = tx.objectStore('runSamples');
      const checkpoints = tx.objectStore('runCheckpoints');
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
      const staleSamples = await samples.getAll(runRange(runId, row.sampleCount));
      run.storedBytes.samples -= staleSamples.reduce((a, s) => a + approxBytes(s.rows), 0);
      await samples.delete(runRange(runId, row.sampleCount));

      const now = Date.now();
      Object.assign(run, {
        status: 'running', error: null, summary: null, heartbeatAt: now, updatedAt: now,
        metricCount: row.metricCount, sampleCount: row.sampleCount, lastCheckpoint: row.label,
      } satisfies Partial<RunRecord>);
      await runs.put(run);
      const stored = await metrics.getAll(runRange(runId));
      stored.forEach((m) => checkFormat(m, `a metric row of run ${runId}`));
      const sets = await samples.getAll(runRange(runId));
      sets.forEach((s) => checkFormat(s, `a sample set of run ${runId}`));
      const checked = checkRun(runId, run.experiment, stored.map((m) => m.record), sets);
      return { run, checkpoint: fromRow(row, checked.records), records: checked.records, samples: checked.samples };
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
          createdAt: Number(run.createdAt ?? 0), lastCheckpoint: null, summary: null, error: (e as Error).message,
          resumable: false, importedFrom: null,
        } satisfies RunListItem;
      }
      const status = displayStatus(run, now, held);
      return {
        id: run.id, experiment: run.experiment, preset: run.preset, seed: run.seed, status, createdAt: run.createdAt,
        lastCheckpoint: run.lastCheckpoint, summary: run.summary, error: run.error,
        resumable: (status === 'interrupted' || status === 'cancelled' || status === 'failed') && run.lastCheckpoint !== null,
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

  /** The run's metric stream as stored, in order (format-checked, not read through the experiment's schemas). */
  async getMetrics(runId: string): Promise<MetricRecord[]> {
    const rows = await this.db.getAll('metrics', runRange(runId));
    return rows.map((row) => {
      checkFormat(row, `a metric row of run ${runId}`);
      return row.record;
    });
  }

  /**
   * A run with its metrics and samples, read in one transaction (a
   * consistent snapshot), each checked against its experiment's schemas.
   */
  async openRun(runId: string): Promise<StoredRun> {
    const [held, snapshot] = await Promise.all([
      heldRunLocks(),
      inTransaction(this.db, ['runs', 'metrics', 'runSamples'], 'readonly', async (tx) => {
        const run = await this.#getRun(tx.objectStore('runs'), runId);
        const metrics = await tx.objectStore('metrics').getAll(runRange(runId));
        const samples = await tx.objectStore('runSamples').getAll(runRange(runId));
        return { run, metrics, samples };
      }),
    ]);
    const { run, metrics, samples } = snapshot;
    metrics.forEach((m) => checkFormat(m, `a metric row of run ${runId}`));
    samples.forEach((s) => checkFormat(s, `a sample set of run ${runId}`));
    const checked = checkRun(runId, run.experiment, metrics.map((m) => m.record), samples);
    return { run, status: displayStatus(run, Date.now(), held), ...checked };
  }

  /** The run's latest checkpoint (its records are not read), or null when it has none. */
  async latestCheckpoint(runId: string): Promise<StoredCheckpoint | null> {
    return inTransaction(this.db, ['runCheckpoints'], 'readonly', async (tx) => {
      const store = tx.objectStore('runCheckpoints');
      const keys = await store.getAllKeys(runRange(runId));
      const last = keys[keys.length - 1];
      if (!last) return null;
      const row = (await store.get(last))!;
      checkFormat(row, `the checkpoint of run ${runId}`);
      return fromRow(row, []);
    });
  }

  /** Where the run's stored checkpoints were taken, oldest first (for tests and diagnostics). */
  async checkpointLabels(runId: string): Promise<string[]> {
    return (await this.db.getAll('runCheckpoints', runRange(runId))).map((row) => row.label);
  }

  // --- deleting and space ----------------------------------------------------

  /** Delete a run and all its rows, in one transaction. */
  async deleteRun(runId: string): Promise<void> {
    const stores = ['runs', 'metrics', 'runSamples', 'runCheckpoints', 'runInputs', 'samples', 'checkpoints'] as const;
    await inTransaction(this.db, [...stores], 'readwrite', async (tx) => {
      await Promise.all([
        tx.objectStore('runs').delete(runId),
        tx.objectStore('metrics').delete(runRange(runId)),
        tx.objectStore('runSamples').delete(runRange(runId)),
        tx.objectStore('runCheckpoints').delete(runRange(runId)),
        tx.objectStore('runInputs').delete(runId),
        // Rows of record format 1.
        tx.objectStore('samples').delete(runRange(runId)),
        tx.objectStore('checkpoints').delete(runRange(runId)),
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
    const datasets = SPECS[run.experiment]?.datasets?.(run.config, run.seed) ?? {};
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
        : 'this run has no checkpoint yet: the model is saved with each checkpoint');
    }
    if (!ckpt.modelConfig || !ckpt.tokenizer) {
      throw new Error('this run trains no model of its own (it used a pretrained model as it is): there are no weights to export');
    }
    const bytes = encodeCheckpoint({
      config: ckpt.modelConfig,
      params: ckpt.params,
      tokenizer: tokenizerFromJSON(ckpt.tokenizer),
      // The same metadata keys as the headless runner's model.safetensors.
      meta: { experiment: run.experiment, seed: String(run.seed), checkpoint: ckpt.label },
    });
    const slug = ckpt.label.replace(/[^\w]+/g, '-').replace(/^-|-$/g, '');
    return { bytes, fileName: `${run.experiment}-seed${run.seed}-${slug}.safetensors` };
  }

  /**
   * Validate a whole run.jsonl file and store it as a NEW run (never
   * overwriting one). Throws a RunFileError naming the line and field, and
   * then writes nothing. Returns the new run's id and its experiment.
   */
  async importRun(text: string, fileName = 'run.jsonl'): Promise<{ runId: string; experiment: string }> {
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
      overrides: SPECS[file.run.experiment] ? overridesFromPreset(SPECS[file.run.experiment]!, file.run.preset, file.run.config) : {},
      environment: file.run.environment,
      status,
      heartbeatAt: now,
      createdAt: now,
      updatedAt: now,
      error: file.run.error ?? null,
      summary: file.run.summary,
      lastCheckpoint: null,
      metricCount: 0,
      sampleCount: 0,
      checkpointCount: 0,
      storedBytes: { metrics: 0, samples: 0, checkpoints: {} },
      importedFrom: fileName,
    };
    await inTransaction(this.db, ['runs', 'metrics', 'runSamples'], 'readwrite', async (tx) => {
      await this.#putMetrics(tx.objectStore('metrics'), run, file.metrics);
      const samples = tx.objectStore('runSamples');
      const puts = file.samples.map((set) => {
        run.storedBytes.samples += approxBytes(set.rows);
        return samples.put({ formatVersion: RECORD_VERSION, runId: run.id, seq: run.sampleCount++, at: set.at, rows: set.rows });
      });
      await Promise.all(puts);
      await tx.objectStore('runs').add(run);
    });
    return { runId: run.id, experiment: run.experiment };
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
    }
    if (records.length > 0) run.updatedAt = Date.now();
    // All requests are issued before the first await, so the transaction stays busy throughout.
    await Promise.all(puts);
  }
}

/** A stored checkpoint row as the RunCheckpoint the experiment resumes from, with the run's records before it. */
function fromRow(row: CheckpointRow, records: MetricRecord[]): StoredCheckpoint {
  return {
    experiment: row.experiment,
    stateVersion: row.stateVersion,
    at: row.at,
    label: row.label,
    modelConfig: row.modelConfig,
    tokenizer: row.tokenizer,
    params: new Float32Array(row.params),
    extraParams: Object.fromEntries(Object.entries(row.extraParams).map(([k, b]) => [k, new Float32Array(b)])),
    state: row.state,
    progress: row.progress,
    records,
    savedAt: row.savedAt,
  };
}
