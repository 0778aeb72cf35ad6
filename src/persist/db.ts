/**
 * The lab's IndexedDB database: its typed schema, the numbered upgrade
 * steps, and the two errors every caller may see (storage full, a record in
 * a format this build does not read). This file is the only one in the
 * project that imports `idb` (house style §10); `store.ts` builds the
 * run-level API on top of it.
 *
 * Stores (version 1):
 *   runs         RunRecord, key `id`; index `by-created` (createdAt)
 *   metrics      MetricRow {runId, seq, record}, key [runId, seq]; index `by-run`
 *   samples, checkpoints   record format 1 only (keyed by an iteration number); read by
 *                nothing since format 2, deleted with their run
 *
 * Added in version 2 (datasets.ts builds the API):
 *   datasets     DatasetRecord (name, source, classes, sizes), key `id`; index `by-created`
 *   datasetRows  DatasetRowsRecord {datasetId, splits}, key `datasetId`: the rows, kept
 *                apart so listing datasets never reads them
 *
 * Added in version 3:
 *   runInputs    RunInputsRow {runId, inputs}, key `runId`: files a run was started with
 *                (an uploaded corpus), so a resumed run reads the same data
 *
 * Added in version 4 (record format 2):
 *   runSamples      SampleSetRow {runId, seq, at, rows}, key [runId, seq]: sample sets in
 *                   emission order, each with its position in the run ({generation: 2, …})
 *   runCheckpoints  CheckpointRow {runId, seq, at, label, …}, key [runId, seq]
 *
 * Added in version 5 (generators.ts builds the API):
 *   generators   GeneratorRecord: a symbiosis corpus Generator as safetensors bytes with
 *                its description (dataset, classes, quality), key `id`; index `by-created`
 *
 * Compound keys starting with the run id keep a run's rows together, so a
 * key range [runId, -∞]…[runId, +∞] reads or deletes them in order.
 */
import { type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames, openDB, unwrap } from 'idb';
import type { DatasetSource, LabelledRow } from '../core/data/labelled';
import type { GptConfig } from '../core/gpt/config';
import type { TokenizerJson } from '../core/tokenizer';
import type { MetricRecord, Position } from '../experiments/types';

export const DB_NAME = 'symbiosis-lab';

/**
 * The format of every stored record (`formatVersion`). Bump it when a record's
 * shape changes incompatibly, and add an upgrade step that rewrites the old
 * records where that can be done. 2: sample sets and checkpoints are kept in
 * emission order with their position in the run (format-1 runs numbered them
 * by an iteration each lab invented; they are listed with a message naming
 * the format, and can be deleted).
 */
export const RECORD_VERSION = 2;

/** A run's status as stored. 'interrupted' is not stored: see liveness.ts. */
export type StoredRunStatus = 'running' | 'done' | 'failed' | 'cancelled';

/**
 * Why a failed run stopped, where the page offers something beyond Resume:
 * 'device-lost' (the GPU device was lost: continue on the CPU from the last
 * checkpoint), 'storage-full' (delete runs, then resume), 'database-closed'
 * (a newer version of the lab opened in another tab: reload).
 */
export type StopCause = 'device-lost' | 'storage-full' | 'database-closed';

/** Where a run ran: `backend` always; the rest are descriptions (adapter, reason, runtime). */
import type { RunEnvironment } from '../experiments/run-file';

export type { RunEnvironment };

/** Approximate bytes a run occupies, kept up to date by every write (for storageUsage without reading checkpoints). */
export interface StoredBytes {
  metrics: number;
  samples: number;
  /** Bytes of each retained checkpoint, by its seq. */
  checkpoints: Record<string, number>;
  /** Bytes of the run's input files (absent in records from before version 3: none). */
  inputs?: number;
}

export interface RunRecord {
  id: string;
  formatVersion: number;
  experiment: string;
  preset: string | null;
  seed: number;
  /** The full resolved config (defaults ← preset ← overrides). */
  config: Record<string, unknown>;
  /** What the person changed relative to the preset (for the share link). */
  overrides: Record<string, unknown>;
  environment: RunEnvironment;
  status: StoredRunStatus;
  /** ms since the epoch; a live run refreshes it every few seconds. */
  heartbeatAt: number;
  createdAt: number;
  updatedAt: number;
  error: string | null;
  /** Why a failed run stopped, when the page can offer a way out (absent in records written before it existed: null). */
  cause?: StopCause | null;
  /** What the experiment's run() returned; null until it finished. */
  summary: unknown;
  /** Where the latest checkpoint was taken, in the lab's words ("generation 2"); null before the first. */
  lastCheckpoint: string | null;
  /** Metric rows, sample sets and checkpoints stored so far: the next one's seq. */
  metricCount: number;
  sampleCount: number;
  checkpointCount: number;
  storedBytes: StoredBytes;
  /** The file name when the run was imported; null for runs made in this browser. */
  importedFrom: string | null;
}

export interface MetricRow {
  formatVersion: number;
  runId: string;
  /** 0, 1, 2, … in emission order. */
  seq: number;
  record: MetricRecord;
}

/** One samples event: its rows and where in the run they belong. */
export interface SampleSetRow {
  formatVersion: number;
  runId: string;
  /** 0, 1, 2, … in emission order. */
  seq: number;
  at: Position;
  rows: unknown[];
}

/**
 * A RunCheckpoint as stored: the Float32Arrays as ArrayBuffers (one copy, no
 * typed-array view to rebuild); its records are the run's metric rows before
 * `metricCount`, not stored twice.
 */
export interface CheckpointRow {
  formatVersion: number;
  runId: string;
  /** 0, 1, 2, … in the order the run saved them. */
  seq: number;
  experiment: string;
  stateVersion: number;
  at: Position;
  label: string;
  /** Null (and params empty) for a run that trains no model of its own. */
  modelConfig: GptConfig | null;
  tokenizer: TokenizerJson | null;
  params: ArrayBuffer;
  extraParams: Record<string, ArrayBuffer>;
  state: unknown;
  progress: { done: number; total: number; seconds: number };
  /** The run's metric rows and sample sets when this checkpoint was taken: later ones are dropped on resume. */
  metricCount: number;
  sampleCount: number;
  savedAt: number;
}

/** A cached labelled dataset's description; its rows are in DatasetRowsRecord. `formatVersion` is DATASET_FORMAT_VERSION (datasets.ts). */
export interface DatasetRecord {
  id: string;
  formatVersion: number;
  name: string;
  source: DatasetSource;
  labelNames: string[];
  /** Rows per split, and per class within each split (counts[k] for label k). */
  splitSizes: Record<string, number>;
  classCounts: Record<string, number[]>;
  /** Approximate bytes the rows occupy (characters of their text). */
  bytes: number;
  /** What loading it skipped or fell back on, for the picker to show. */
  notes: string[];
  createdAt: number;
}

export interface DatasetRowsRecord {
  formatVersion: number;
  datasetId: string;
  splits: Record<string, LabelledRow[]>;
}

/** The files a run was started with, by the name the experiment reads them under (RunContext.inputs). */
export interface RunInputsRow {
  formatVersion: number;
  runId: string;
  inputs: Record<string, { name: string; bytes: ArrayBuffer }>;
}

/** A saved symbiosis Generator: its file (safetensors, experiments/symbiosis/generator.ts) and what the list shows. `formatVersion` is GENERATOR_FORMAT_VERSION (generators.ts). */
export interface GeneratorRecord {
  id: string;
  formatVersion: number;
  /** The name the list shows (a file name, or "<dataset>, run <date>"). */
  name: string;
  /** Where it came from: trained by a run here (and which), imported from a file, or the lab's ready one. */
  origin: { kind: 'run'; runId: string } | { kind: 'file'; fileName: string } | { kind: 'ready'; url: string };
  dataset: string;
  labelNames: string[];
  parameters: number;
  corpusRows: number;
  steps: number;
  /** Its quality where it was measured (a symbiosis generator record without examples), or null. */
  quality: unknown;
  /** The safetensors file. */
  bytes: ArrayBuffer;
  createdAt: number;
}

export interface LabDbSchema extends DBSchema {
  runs: { key: string; value: RunRecord; indexes: { 'by-created': number } };
  metrics: { key: [string, number]; value: MetricRow; indexes: { 'by-run': string } };
  /** Record format 1 only. */
  samples: { key: [string, number]; value: unknown; indexes: { 'by-run': string } };
  /** Record format 1 only. */
  checkpoints: { key: [string, number]; value: unknown; indexes: { 'by-run': string } };
  datasets: { key: string; value: DatasetRecord; indexes: { 'by-created': number } };
  datasetRows: { key: string; value: DatasetRowsRecord };
  runInputs: { key: string; value: RunInputsRow };
  runSamples: { key: [string, number]; value: SampleSetRow };
  runCheckpoints: { key: [string, number]; value: CheckpointRow };
  generators: { key: string; value: GeneratorRecord; indexes: { 'by-created': number } };
}

export type LabDb = IDBPDatabase<LabDbSchema>;
export type LabStoreName = StoreNames<LabDbSchema>;

type UpgradeTx = IDBPTransaction<LabDbSchema, LabStoreName[], 'versionchange'>;

/**
 * Upgrade step n takes the database from version n-1 to n. Steps only ever
 * get appended; a browser at version k runs steps k+1…latest in order.
 */
const UPGRADES: ((db: LabDb, tx: UpgradeTx) => void)[] = [
  // 1: the four stores.
  (db) => {
    db.createObjectStore('runs', { keyPath: 'id' }).createIndex('by-created', 'createdAt');
    db.createObjectStore('metrics', { keyPath: ['runId', 'seq'] }).createIndex('by-run', 'runId');
    db.createObjectStore('samples', { keyPath: ['runId', 'iteration'] }).createIndex('by-run', 'runId');
    db.createObjectStore('checkpoints', { keyPath: ['runId', 'iteration'] }).createIndex('by-run', 'runId');
  },
  // 2: cached labelled datasets (descriptions and rows apart).
  (db) => {
    db.createObjectStore('datasets', { keyPath: 'id' }).createIndex('by-created', 'createdAt');
    db.createObjectStore('datasetRows', { keyPath: 'datasetId' });
  },
  // 3: the files a run was started with.
  (db) => {
    db.createObjectStore('runInputs', { keyPath: 'runId' });
  },
  // 4: sample sets and checkpoints in emission order, each with its position (record format 2).
  (db) => {
    db.createObjectStore('runSamples', { keyPath: ['runId', 'seq'] });
    db.createObjectStore('runCheckpoints', { keyPath: ['runId', 'seq'] });
  },
  // 5: saved symbiosis Generators.
  (db) => {
    db.createObjectStore('generators', { keyPath: 'id' }).createIndex('by-created', 'createdAt');
  },
];

export const DB_VERSION = UPGRADES.length;

/** The key range of every row of one run in a [runId, n]-keyed store. */
export function runRange(runId: string, from = -Infinity): IDBKeyRange {
  return IDBKeyRange.bound([runId, from], [runId, Infinity]);
}

/** Raised when the browser refuses a write for lack of space; the transaction was rolled back, nothing saved earlier is lost. */
export class StorageFullError extends Error {
  constructor(cause: unknown) {
    super('storage is full: the browser refused to save more. Delete runs you no longer need (Run history → Delete), then resume; nothing saved earlier was lost.', { cause });
    this.name = 'StorageFullError';
  }
}

/** Raised when a stored record or the database was written in a format this build does not read. */
export class StoredFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredFormatError';
  }
}

const unwrapDb = (db: LabDb): IDBDatabase => unwrap(db) as IDBDatabase;

const nameOf = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : undefined;

/**
 * Translate a storage failure for the user: a QuotaExceededError (thrown by
 * a request, or the error a transaction aborted with) becomes a
 * StorageFullError; anything else is returned unchanged.
 */
export function storageError(e: unknown): unknown {
  if (e instanceof StorageFullError) return e;
  // Chromium reports quota as QuotaExceededError; old Firefox used NS_ERROR_DOM_QUOTA_REACHED.
  const name = nameOf(e);
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED') return new StorageFullError(e);
  return e;
}

/**
 * Throw a StoredFormatError with a hint when a record's formatVersion is not
 * `expected`. The words default to those of runs; the dataset cache gives its
 * own (its records are re-made by loading again, not exported).
 */
export function checkFormat(
  record: { formatVersion?: unknown }, what: string,
  words: { expected: number; newer: (got: number) => string; older: (got: string) => string } = {
    expected: RECORD_VERSION,
    newer: (got) => `was saved by a newer version of Symbiosis Lab (record format ${got}, this page reads ${RECORD_VERSION}): reload the page to update`,
    older: (got) => `has record format ${got}, which this version of Symbiosis Lab (format ${RECORD_VERSION}) cannot read: export what you need from a matching version, or delete it`,
  },
): void {
  const got = record.formatVersion;
  if (got === words.expected) return;
  throw new StoredFormatError(`${what} ${typeof got === 'number' && got > words.expected ? words.newer(got) : words.older(String(got))}`);
}

/** Raised by a write on a connection this page closed so that a newer version of the lab, open in another tab, could upgrade the database. */
export class DatabaseClosedError extends Error {
  constructor(cause?: unknown) {
    super('a newer version of Symbiosis Lab was opened in another tab and updated the saved runs, so this tab stopped writing: reload this tab to continue (nothing saved before was lost)', { cause });
    this.name = 'DatabaseClosedError';
  }
}

/** Connections closed for a newer version's upgrade (their later transactions fail with DatabaseClosedError). */
const closedForUpgrade = new WeakSet<IDBDatabase>();

/** Whether this page closed `db` so that a newer version could upgrade (a worker then opens again, to hear what to do). */
export function isClosedForUpgrade(db: LabDb): boolean {
  return closedForUpgrade.has(unwrapDb(db));
}

/**
 * How long an open waits for other tabs to close an older connection
 * before it says so; the open itself goes on, and the next attempt succeeds
 * once they have.
 */
export const BLOCKED_AFTER_MS = 3_000;

/**
 * Open (creating or upgrading) the database; failures come back with what
 * to do. An upgrade that another tab keeps blocked (an old version of the
 * page that does not step aside) fails after BLOCKED_AFTER_MS with a message
 * saying which tab to close, instead of waiting without a word.
 */
export async function openLabDb(name = DB_NAME): Promise<LabDb> {
  if (typeof indexedDB === 'undefined') {
    throw new Error('IndexedDB is not available in this browser (private mode?): runs cannot be saved');
  }
  let blockedTimer: ReturnType<typeof setTimeout> | undefined;
  let gaveUp = false;
  let onBlocked = () => undefined as void;
  const blocked = new Promise<never>((_, reject) => {
    onBlocked = () => {
      blockedTimer ??= setTimeout(() => {
        gaveUp = true;
        reject(new StoredFormatError(
          'another tab holds the saved runs open with an older version of Symbiosis Lab, so this one cannot update them: close or reload the other Symbiosis Lab tabs, then reload this one',
        ));
      }, BLOCKED_AFTER_MS);
    };
  });
  const opening = openDB<LabDbSchema>(name, DB_VERSION, {
    upgrade(database, oldVersion, newVersion, tx) {
      for (let step = oldVersion + 1; step <= (newVersion ?? DB_VERSION); step++) UPGRADES[step - 1]!(database, tx);
    },
    blocked: () => onBlocked(),
    // A newer tab wants to upgrade: step aside so it can; this page's later writes fail with a reload hint.
    blocking(_current, _next, event) {
      const db = event.target as IDBDatabase;
      closedForUpgrade.add(db);
      db.close();
    },
  });
  try {
    return await Promise.race([opening, blocked]);
  } catch (e) {
    // An open that was given up on may still succeed later: close it then, unused.
    if (gaveUp) void opening.then((db) => db.close(), () => undefined);
    if (nameOf(e) === 'VersionError') {
      throw new StoredFormatError(`the saved runs were written by a newer version of Symbiosis Lab (database version above ${DB_VERSION}): reload the page to update`);
    }
    throw storageError(e);
  } finally {
    clearTimeout(blockedTimer);
  }
}

/**
 * Run `body` in one transaction and wait for it to commit. If `body` throws,
 * the transaction is aborted, so none of its writes happen; a quota failure
 * (from a request or at commit) comes back as a StorageFullError. `body` must
 * await only requests of `tx` (IndexedDB commits a transaction when it has
 * no pending request at the end of a task).
 */
export async function inTransaction<N extends LabStoreName[], T>(
  db: LabDb,
  stores: N,
  mode: IDBTransactionMode,
  body: (tx: IDBPTransaction<LabDbSchema, N, 'readwrite'>) => Promise<T>,
): Promise<T> {
  let tx: IDBPTransaction<LabDbSchema, N, 'readwrite'>;
  try {
    tx = db.transaction(stores, mode as 'readwrite');
  } catch (e) {
    if (nameOf(e) === 'InvalidStateError') {
      // idb's wrapper keeps the underlying connection in its target map; the wrapped object is the connection's proxy.
      if (closedForUpgrade.has(unwrapDb(db))) throw new DatabaseClosedError(e);
      throw new Error('the database connection was closed (site data was cleared, or the browser closed it): reload the page', { cause: e });
    }
    throw storageError(e);
  }
  // Observe `done` now so an abort is never an unhandled rejection.
  const done = tx.done.then(() => null, (e: unknown) => e ?? new Error('transaction aborted'));
  try {
    const result = await body(tx);
    const failure = await done;
    if (failure !== null) throw failure;
    return result;
  } catch (e) {
    try {
      tx.abort();
    } catch {
      // Already committed or aborted: nothing left to undo.
    }
    await done;
    // The transaction's own error (e.g. quota at commit) says more than a request's AbortError.
    throw storageError(tx.error ?? e);
  }
}
