/**
 * The one client of `workers/data.worker.ts`: load a dataset from the
 * Hugging Face datasets service or an uploaded file, watch the load's
 * progress, cancel it, and list, read and delete the cached datasets. The
 * worker starts on first use; cancelling terminates it (a load writes only
 * once it has fully succeeded, so nothing half-loaded is left) and the next
 * call starts a fresh one.
 * Errors never vanish: a failed action sets `error` (and rethrows, except
 * refresh), and `error` stays until the next action or the page clears it.
 */
import type * as Comlink from 'comlink';
import type {
  DataProgress, DataWorkerApi, DatasetListItem, HfLoadRequest, LoadResult, StoredDataset,
} from '../../workers/data.worker';
import { messageOf } from '../core/tasks';
import { WorkerBridge } from './worker-bridge';

export type { DataProgress, DatasetListItem, HfLoadRequest, LoadResult, StoredDataset };

/** What is loading now, for the progress display. */
export interface DataLoading {
  what: string;
  progress: DataProgress | null;
}

export class DataClient {
  /** The cached datasets, newest first. */
  datasets = $state.raw<DatasetListItem[]>([]);
  /** The load in progress; null when idle. */
  loading = $state.raw<DataLoading | null>(null);
  /** The last load's result (its notes say what was skipped). */
  last = $state.raw<LoadResult | null>(null);
  /** The last user-facing error; the page may clear it. */
  error = $state<string | null>(null);

  readonly #bridge = new WorkerBridge<DataWorkerApi>(
    // This URL is not state: it only tells Vite where the worker's entry is.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    () => new Worker(new URL('../../workers/data.worker.ts', import.meta.url), { type: 'module', name: 'data' }),
    (message) => {
      this.loading = null;
      this.error = `the data worker crashed: ${message}`;
    },
  );

  /** Reload the list of cached datasets. Never throws: a failure sets `error`. */
  async refresh(): Promise<void> {
    try {
      this.datasets = await this.#bridge.call((api) => api.list());
    } catch (e) {
      this.error = `could not read the cached datasets: ${messageOf(e)}`;
    }
  }

  /** Load a Hub dataset (from the cache when this request was loaded before); resolves with its id. */
  loadHf(spec: HfLoadRequest): Promise<string> {
    const what = `${spec.dataset}${spec.maxRowsPerSplit === null ? '' : `, first ${spec.maxRowsPerSplit.toLocaleString('en-US')} rows of each split`}`;
    return this.#load(what, (api, onProgress) => api.loadHf({ ...spec, ...(spec.splits ? { splits: [...spec.splits] } : {}) }, onProgress));
  }

  /** Validate and cache an uploaded CSV/JSONL file; resolves with its id. A bad file sets `error` naming the line and field. */
  importFile(file: Blob, fileName = file instanceof File ? file.name : 'upload.csv'): Promise<string> {
    return this.#load(fileName, (api) => api.importFile(file, fileName));
  }

  /** Validate and cache files chosen together (train + test, or one file; a .txt names the classes) as one dataset; resolves with its id. */
  importFiles(files: readonly File[]): Promise<string> {
    return this.#load(files.map((f) => f.name).join(' + '), (api) => api.importFiles([...files]));
  }

  /** Rename a cached dataset's classes; a bad list sets `error` (and rethrows) saying what is wrong. */
  async renameClasses(id: string, labelNames: readonly string[]): Promise<void> {
    try {
      await this.#bridge.call((api) => api.renameClasses(id, [...labelNames]));
    } catch (e) {
      throw this.#fail(`could not rename the classes: ${messageOf(e)}`);
    }
    await this.refresh();
  }

  /** Stop the load in progress at once (its worker is terminated; nothing of it was cached). */
  cancel(): void {
    if (!this.loading) return;
    const what = this.loading.what;
    this.loading = null;
    this.#bridge.terminate(`loading ${what} was cancelled`);
  }

  /** A cached dataset with its rows. */
  async get(id: string): Promise<StoredDataset> {
    try {
      return await this.#bridge.call((api) => api.get(id));
    } catch (e) {
      throw this.#fail(`could not read the dataset: ${messageOf(e)}`);
    }
  }

  /** Delete a cached dataset. */
  async remove(id: string): Promise<void> {
    try {
      await this.#bridge.call((api) => api.remove(id));
    } catch (e) {
      throw this.#fail(`could not delete the dataset: ${messageOf(e)}`);
    }
    await this.refresh();
  }

  async #load(what: string, call: (api: Comlink.Remote<DataWorkerApi>, onProgress: (p: DataProgress) => void) => Promise<LoadResult>): Promise<string> {
    if (this.loading) throw this.#fail(`${this.loading.what} is still loading: cancel it or wait for it first`);
    const session = this.#bridge.session;
    this.error = null;
    this.loading = { what, progress: null };
    const onProgress = this.#bridge.events((p: DataProgress) => {
      if (this.loading) this.loading = { ...this.loading, progress: p };
    });
    try {
      const result = await this.#bridge.call((api) => call(api, onProgress));
      this.last = result;
      this.loading = null;
      await this.refresh();
      return result.item.id;
    } catch (e) {
      // Cancelled: not an error to show (the person asked for it); a crash has set `error` already.
      if (session !== this.#bridge.session) throw e;
      this.loading = null;
      throw this.#fail(`could not load ${what}: ${messageOf(e)}`);
    }
  }

  /** Stop the worker and any load (the page is going away); a later call starts a new one. */
  dispose(): void {
    this.loading = null;
    this.#bridge.terminate('the page went away');
  }

  /** Set `error` and return an Error with the same message (for `throw`). */
  #fail(message: string): Error {
    this.error = message;
    return new Error(message);
  }
}
