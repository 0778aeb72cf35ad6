/**
 * The data worker: loads labelled text datasets (from the Hugging Face
 * datasets service, or a file the person uploads), validates them, and
 * keeps them in IndexedDB. The UI talks to it only through
 * `src/ui/data-client.svelte.ts`, which cancels a load by terminating it
 * (nothing is written before a load has fully succeeded).
 */
import * as Comlink from 'comlink';
import { DATA_LIMITS, DataError, type TableReport, decodeUtf8, parseLabelledFile, parseUpload } from '../src/core/data/labelled';
import { HF_DATASETS_SERVER, type HfDatasetSpec, type HfProgress, hfDatasetId, loadHfDataset } from '../src/data/hf-datasets';
import { StoredFormatError } from '../src/persist/db';
import { type DatasetListItem, DatasetStore, type StoredDataset } from '../src/persist/datasets';

export type { DatasetListItem, HfDatasetSpec, StoredDataset };

/** A Hub dataset to load; `endpoint` overrides the service's URL (tests use a local server). */
export interface HfLoadRequest extends HfDatasetSpec {
  endpoint?: string;
}

/** Rows read so far over all splits; total is null until known. */
export type DataProgress = HfProgress;

export interface LoadResult {
  item: DatasetListItem;
  /** True when the dataset came from the cache and nothing was fetched. */
  cached: boolean;
}

let storePromise: Promise<DatasetStore> | null = null;

/**
 * This worker's connection, opened on first use, and again after a failed
 * open or once it was closed for a newer version of the lab (which then
 * answers with what to do: reload).
 */
async function openStore(): Promise<DatasetStore> {
  if (storePromise && (await storePromise.catch(() => null))?.closedForUpgrade) storePromise = null;
  storePromise ??= DatasetStore.open().catch((e: unknown) => {
    storePromise = null;
    throw e;
  });
  return storePromise;
}

/** Report to the page; a page that went away must not stop the load. */
function forwarder<T>(on: ((x: T) => void) | undefined): (x: T) => void {
  return (x) => {
    if (on) Promise.resolve(on(x)).catch(() => undefined);
  };
}

/** The person-facing lines of a file's parse report: what was skipped and which columns were used. */
function fileNotes(report: TableReport, mapping: string, labelNames: string[]): string[] {
  const places = (t: { count: number; at: number[] }) => `${report.unit} ${t.at.join(', ')}${t.count > t.at.length ? ', …' : ''}`;
  const notes = [`text from ${report.textColumns.join(' + ')}, labels from ${report.labelColumn} (${mapping}: ${labelNames.join(', ')})`];
  if (report.emptyText.count) notes.push(`skipped ${report.emptyText.count} rows with empty text (${places(report.emptyText)})`);
  if (report.duplicates.count) notes.push(`skipped ${report.duplicates.count} duplicate rows (${places(report.duplicates)})`);
  if (report.ignoredColumns.length) notes.push(`ignored columns: ${report.ignoredColumns.join(', ')}`);
  return notes;
}

/** A short content hash, so importing the same file twice replaces its cache instead of adding a copy. */
async function contentId(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

const api = {
  /**
   * A Hub dataset, from the cache when this exact request (dataset, config,
   * splits, rows, endpoint) was loaded before; otherwise loaded, validated
   * and cached. Rejects with what went wrong (offline, no such dataset, a
   * column missing, a full disk), writing nothing.
   */
  async loadHf(spec: HfLoadRequest, onProgress?: (p: DataProgress) => void): Promise<LoadResult> {
    const endpoint = spec.endpoint ?? HF_DATASETS_SERVER;
    const { endpoint: _endpoint, ...hfSpec } = spec;
    const id = hfDatasetId(hfSpec, endpoint);
    const store = await openStore();
    if (await store.has(id)) {
      try {
        await store.get(id); // its rows too: a damaged cache entry is never used, but loaded again
        const item = (await store.list()).find((x) => x.id === id);
        if (item) return { item, cached: true };
      } catch (e) {
        if (!(e instanceof StoredFormatError)) throw e;
        await store.delete(id);
      }
    }
    const loaded = await loadHfDataset(hfSpec, { endpoint, onProgress: forwarder(onProgress) });
    return { item: await store.put(id, loaded.dataset, loaded.notes), cached: false };
  },

  /**
   * Validate an uploaded CSV or JSONL file and cache it as a dataset with one
   * split, "all". A bad file rejects with a DataError message naming the file,
   * line and field, and writes nothing.
   */
  async importFile(file: Blob, fileName: string, labelNames?: string[]): Promise<LoadResult> {
    if (file.size > DATA_LIMITS.maxFileBytes) {
      throw new DataError(fileName, null, null, `${file.size.toLocaleString('en-US')} bytes is larger than the limit of ${DATA_LIMITS.maxFileBytes.toLocaleString('en-US')}`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const text = decodeUtf8(bytes, fileName);
    const parsed = parseLabelledFile(text, fileName, labelNames ? { labelNames } : {});
    const id = `file:${fileName}#${await contentId(bytes)}`;
    const store = await openStore();
    const item = await store.put(id, {
      name: fileName,
      source: { kind: 'file', fileName },
      labelNames: parsed.labelNames,
      splits: { all: parsed.rows },
    }, fileNotes(parsed.report, parsed.labelMapping, parsed.labelNames));
    return { item, cached: false };
  },

  /**
   * Validate files chosen together (a training and a test file, optionally a
   * .txt of class names: core/data/labelled's uploadRoles) and cache them as
   * one dataset with splits train and test (or "all" for one data file). A
   * bad file rejects naming the file, line and field, and writes nothing.
   */
  async importFiles(files: readonly File[]): Promise<LoadResult> {
    let total = 0;
    for (const f of files) {
      total += f.size;
      if (f.size > DATA_LIMITS.maxFileBytes) {
        throw new DataError(f.name, null, null, `${f.size.toLocaleString('en-US')} bytes is larger than the limit of ${DATA_LIMITS.maxFileBytes.toLocaleString('en-US')}`);
      }
    }
    const read = await Promise.all(files.map(async (f) => ({ fileName: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
    const parsed = parseUpload(read.map((f) => ({ fileName: f.fileName, text: decodeUtf8(f.bytes, f.fileName) })));
    const all = new Uint8Array(total);
    let at = 0;
    for (const f of read) {
      all.set(f.bytes, at);
      at += f.bytes.length;
    }
    const dataFiles = Object.values(parsed.files).flat();
    const name = dataFiles.join(' + ');
    const notes = parsed.reports.flatMap((r) => fileNotes(r, parsed.labelMapping, parsed.labelNames).map((n) => `${r.source}: ${n}`));
    const item = await (await openStore()).put(`file:${name}#${await contentId(all)}`, {
      name, source: { kind: 'file', fileName: name }, labelNames: parsed.labelNames, splits: parsed.splits,
    }, notes);
    return { item, cached: false };
  },

  /** Rename a cached dataset's classes (one name per class, in label order); rejects saying what is wrong with the names. */
  async renameClasses(id: string, labelNames: string[]): Promise<DatasetListItem> {
    return (await openStore()).renameClasses(id, labelNames);
  },

  /** The cached datasets, newest first (one in a foreign format carries its `error`). */
  async list(): Promise<DatasetListItem[]> {
    return (await openStore()).list();
  },

  /** A cached dataset with its rows. */
  async get(id: string): Promise<StoredDataset> {
    return (await openStore()).get(id);
  },

  async remove(id: string): Promise<void> {
    await (await openStore()).delete(id);
  },
};

export type DataWorkerApi = typeof api;

Comlink.expose(api);
