/**
 * Cached labelled datasets in IndexedDB: what the data worker (and only it)
 * uses to keep a dataset loaded from the Hub or a file, list the cached
 * ones, read one back, and delete it.
 *
 * A dataset is two records written in one transaction: its description
 * (`datasets`, small, what the list reads) and its rows (`datasetRows`).
 * Both carry DATASET_FORMAT_VERSION; a record in another format is listed
 * with the reason (so it can be deleted) and refuses to load, with a hint.
 * A full disk comes back as StorageFullError, with nothing written.
 */
import { DataError, type LabelledDataset, classCounts, classNamesProblem } from '../core/data/labelled';
import {
  DB_NAME, type DatasetRecord, type DatasetRowsRecord, type LabDb, StoredFormatError, checkFormat, inTransaction, isClosedForUpgrade, openLabDb,
} from './db';
import { damage, datasetRecord, datasetRowsRecord } from './records';

/**
 * The format of dataset records. Bump it when DatasetRecord or
 * DatasetRowsRecord changes shape: older caches then ask to be deleted and
 * loaded again (a cache can always be rebuilt from its source).
 */
export const DATASET_FORMAT_VERSION = 1;

/** One row of the cached-datasets list. */
export interface DatasetListItem {
  id: string;
  name: string;
  source: DatasetRecord['source'] | null;
  labelNames: string[];
  splitSizes: Record<string, number>;
  classCounts: Record<string, number[]>;
  bytes: number;
  notes: string[];
  createdAt: number;
  /** Why this cached dataset cannot be used (a foreign format); null when it can. */
  error: string | null;
}

/** A cached dataset with its rows. */
export interface StoredDataset extends LabelledDataset {
  id: string;
  createdAt: number;
  bytes: number;
  notes: string[];
}

function checkDatasetFormat(record: { formatVersion?: unknown }, what: string): void {
  checkFormat(record, what, {
    expected: DATASET_FORMAT_VERSION,
    newer: (got) => `was cached by a newer version of Symbiosis Lab (format ${got}, this page reads ${DATASET_FORMAT_VERSION}): reload the page to update`,
    older: (got) => `was cached in format ${got}, which this version (format ${DATASET_FORMAT_VERSION}) does not read: delete it and load it again`,
  });
}

function missing(id: string): Error {
  return new Error(`dataset ${id} is not cached (was it deleted in another tab?)`);
}

/** Characters of text in the rows: roughly their size in bytes. */
function approxBytes(splits: Record<string, { text: string }[]>): number {
  let n = 0;
  for (const rows of Object.values(splits)) for (const r of rows) n += r.text.length + 8;
  return n;
}

/** Why a cached dataset's description cannot be used (format, damage), or null. */
function recordProblem(r: DatasetRecord, id: string): string | null {
  try {
    checkDatasetFormat(r, `dataset ${id}`);
  } catch (e) {
    return (e as Error).message;
  }
  const bad = damage(datasetRecord, r);
  return bad === null ? null : `dataset ${id} is damaged in this browser's cache (${bad}): delete it and load it again`;
}

function toListItem(r: DatasetRecord, key: string = r.id): DatasetListItem {
  const problem = recordProblem(r, key);
  if (problem !== null) {
    const x = r as Partial<Record<keyof DatasetRecord, unknown>>;
    return {
      id: key, name: typeof x.name === 'string' ? x.name : key, source: null, labelNames: [], splitSizes: {}, classCounts: {},
      bytes: Number(x.bytes ?? 0) || 0, notes: [], createdAt: Number(x.createdAt ?? 0) || 0, error: problem,
    };
  }
  return {
    id: r.id, name: r.name, source: r.source, labelNames: r.labelNames, splitSizes: r.splitSizes, classCounts: r.classCounts,
    bytes: r.bytes, notes: r.notes, createdAt: r.createdAt, error: null,
  };
}

export class DatasetStore {
  constructor(readonly db: LabDb) {}

  /** Open the lab's database (creating or upgrading it). */
  static async open(name = DB_NAME): Promise<DatasetStore> {
    return new DatasetStore(await openLabDb(name));
  }

  close(): void {
    this.db.close();
  }

  /** This connection was closed for a newer version of the lab (open again to hear what to do). */
  get closedForUpgrade(): boolean {
    return isClosedForUpgrade(this.db);
  }

  /** Store a dataset under `id`, replacing any cached one with that id; both records in one transaction. */
  async put(id: string, dataset: LabelledDataset, notes: string[] = []): Promise<DatasetListItem> {
    const record: DatasetRecord = {
      id,
      formatVersion: DATASET_FORMAT_VERSION,
      name: dataset.name,
      source: dataset.source,
      labelNames: dataset.labelNames,
      splitSizes: Object.fromEntries(Object.entries(dataset.splits).map(([s, rows]) => [s, rows.length])),
      classCounts: Object.fromEntries(Object.entries(dataset.splits).map(([s, rows]) => [s, classCounts(rows, dataset.labelNames.length)])),
      bytes: approxBytes(dataset.splits),
      notes,
      createdAt: Date.now(),
    };
    const rows: DatasetRowsRecord = { formatVersion: DATASET_FORMAT_VERSION, datasetId: id, splits: dataset.splits };
    await inTransaction(this.db, ['datasets', 'datasetRows'], 'readwrite', async (tx) => {
      await Promise.all([tx.objectStore('datasetRows').put(rows), tx.objectStore('datasets').put(record)]);
    });
    return toListItem(record);
  }

  /** Every cached dataset, newest first; one in a foreign format or damaged is listed with its `error` (the others as usual). */
  async list(): Promise<DatasetListItem[]> {
    const [keys, all] = await Promise.all([this.db.getAllKeys('datasets'), this.db.getAll('datasets')]);
    return all.map((r, i) => toListItem(r, String(keys[i]))).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Whether a usable dataset with this id is cached (its description sound; its rows are checked when read). */
  async has(id: string): Promise<boolean> {
    const r = await this.db.get('datasets', id);
    return r !== undefined && recordProblem(r, id) === null;
  }

  /** A cached dataset with its rows; throws when missing or in a foreign format. */
  async get(id: string): Promise<StoredDataset> {
    const { record, rows } = await inTransaction(this.db, ['datasets', 'datasetRows'], 'readonly', async (tx) => {
      const [record, rows] = await Promise.all([tx.objectStore('datasets').get(id), tx.objectStore('datasetRows').get(id)]);
      return { record, rows };
    });
    if (!record) throw missing(id);
    const problem = recordProblem(record, id);
    if (problem !== null) throw new StoredFormatError(problem);
    if (!rows) throw new StoredFormatError(`dataset ${id} has lost its rows (the cache was partly cleared): delete it and load it again`);
    checkDatasetFormat(rows, `the rows of dataset ${id}`);
    const bad = damage(datasetRowsRecord, rows);
    if (bad !== null) throw new StoredFormatError(`the rows of dataset ${id} are damaged in this browser's cache (${bad}): delete it and load it again`);
    for (const [split, n] of Object.entries(record.splitSizes)) {
      const got = rows.splits[split]?.length ?? 0;
      if (got !== n) {
        throw new StoredFormatError(`the rows of dataset ${id} are damaged in this browser's cache (split ${split} has ${got} rows, its description says ${n}): delete it and load it again`);
      }
    }
    return {
      id, name: record.name, source: record.source, labelNames: record.labelNames, splits: rows.splits,
      createdAt: record.createdAt, bytes: record.bytes, notes: record.notes,
    };
  }

  /** Give a cached dataset's classes new names (label i is labelNames[i]); throws a DataError on 'labelNames' saying what is wrong. */
  async renameClasses(id: string, labelNames: readonly string[]): Promise<DatasetListItem> {
    const record = await this.db.get('datasets', id);
    if (!record) throw missing(id);
    checkDatasetFormat(record, `dataset ${id}`);
    const problem = classNamesProblem(labelNames, record.labelNames.length);
    if (problem) throw new DataError('labelNames', null, null, problem);
    const renamed: DatasetRecord = { ...record, labelNames: labelNames.map((n) => n.trim()) };
    await this.db.put('datasets', renamed);
    return toListItem(renamed);
  }

  /** Delete a cached dataset (both records); deleting one that is not there is not an error. */
  async delete(id: string): Promise<void> {
    await inTransaction(this.db, ['datasets', 'datasetRows'], 'readwrite', async (tx) => {
      await Promise.all([tx.objectStore('datasets').delete(id), tx.objectStore('datasetRows').delete(id)]);
    });
  }
}
