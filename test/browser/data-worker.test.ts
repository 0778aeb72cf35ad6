/**
 * The data worker in real headless Chromium (no fake IndexedDB, no fake
 * fetch), through its client and the dataset picker:
 *   - a Hub dataset loads from a local datasets service on another origin
 *     (CORS, range requests), is cached in IndexedDB, and a reload finds the
 *     cache without asking the service again;
 *   - a bad upload names the file, line and field and writes nothing;
 *   - cancel stops a load at once and caches nothing;
 *   - the picker: load with a row count, see the cached list, delete, see a
 *     bad file's error;
 *   - the database upgrade from version 1 keeps runs; a cached record in a
 *     foreign format asks to be deleted; a full disk is a StorageFullError.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type DatasetsServer, startDatasetsServer } from '../support/datasets-server';
import { type Lab, startLab } from './harness';

const FEATURES = {
  text: { dtype: 'string', _type: 'Value' },
  label: { names: ['World', 'Sports', 'Business', 'Sci/Tech'], _type: 'ClassLabel' },
};
const rows = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ text: `${prefix} ${i}: a report on ${['peace talks', 'the final', 'quarterly profits', 'a new chip'][i % 4]}`, label: i % 4 }));
const TRAIN = rows(300, 'train');
const TEST = rows(80, 'test');

let lab: Lab;
let server: DatasetsServer;
let page: Page;
let errors: string[];

async function openPage(): Promise<void> {
  await page.goto(`${lab.url}/test/browser/pages/data.html?endpoint=${encodeURIComponent(server.url)}`);
  await page.waitForFunction(() => window.dataReady === true);
}

beforeAll(async () => {
  server = await startDatasetsServer([{
    id: 'fancyzhx/ag_news', features: FEATURES, parquetTypes: { text: 'STRING', label: 'INT64' },
    splits: { train: { rows: TRAIN, shardSize: 200, rowGroupSize: 50 }, test: { rows: TEST } },
  }]);
  lab = await startLab();
  ({ page, errors } = await lab.newPage());
  await openPage();
});

afterAll(async () => {
  await lab?.close();
  await server?.close();
});

/** Rows in the dataset stores of the page's database. */
async function storedCounts(p: Page = page): Promise<{ datasets: number; rows: number }> {
  return p.evaluate(async () => {
    const store = await window.datasetStore.open();
    const counts = { datasets: await store.db.count('datasets'), rows: await store.db.count('datasetRows') };
    store.close();
    return counts;
  });
}

describe('the data worker through DataClient', () => {
  test('loads from the local service (CORS, range requests), caches in IndexedDB; a reload finds the cache', async () => {
    const from = server.requests.length;
    server.setDelay(20);
    const r = await page.evaluate(async (endpoint) => {
      // Watch the progress the client publishes while the load runs.
      const seen: { done: number; total: number | null }[] = [];
      const timer = setInterval(() => {
        const p = window.data.loading?.progress;
        if (p && p.phase === 'reading') seen.push({ done: p.done, total: p.total });
      }, 5);
      const id = await window.data.loadHf({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 250, endpoint });
      clearInterval(timer);
      const ds = await window.data.get(id);
      return {
        id, cached: window.data.last?.cached, seen, loading: window.data.loading, error: window.data.error,
        listed: window.data.datasets.map((d) => ({ id: d.id, splitSizes: d.splitSizes, classCounts: d.classCounts, bytes: d.bytes })),
        labelNames: ds.labelNames, train: ds.splits.train, test: ds.splits.test, source: ds.source,
      };
    }, server.url);
    server.setDelay(0);
    expect(r.error).toBeNull();
    expect(r.cached).toBe(false);
    expect(r.loading).toBeNull();
    expect(r.labelNames).toEqual(['World', 'Sports', 'Business', 'Sci/Tech']);
    expect(r.train).toEqual(TRAIN.slice(0, 250));
    expect(r.test).toEqual(TEST);
    expect(r.source).toMatchObject({ kind: 'hf', via: { train: 'parquet', test: 'parquet' } });
    expect(r.listed).toEqual([{ id: r.id, splitSizes: { train: 250, test: 80 }, classCounts: { train: [63, 63, 62, 62], test: [20, 20, 20, 20] }, bytes: expect.any(Number) }]);
    expect(r.seen.length, 'progress reached the page').toBeGreaterThan(0);
    expect(r.seen.at(-1)!.total).toBe(330);
    // The browser read the shards cross-origin with range requests.
    const files = server.requests.slice(from).filter((q) => q.path.startsWith('/files/') && q.method === 'GET');
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((q) => q.status === 206 && q.range !== null)).toBe(true);

    await openPage(); // a reload: the page and its worker are gone
    const before = server.requests.length;
    const again = await page.evaluate(async (endpoint) => {
      await window.data.refresh();
      const listed = window.data.datasets.map((d) => d.id);
      const id = await window.data.loadHf({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 250, endpoint });
      const ds = await window.data.get(id);
      return { listed, id, cached: window.data.last?.cached, train: ds.splits.train.length };
    }, server.url);
    expect(again).toEqual({ listed: [r.id], id: r.id, cached: true, train: 250 });
    expect(server.requests.length, 'the cache answered: nothing was fetched').toBe(before);
    expect(errors).toEqual([]);
  });

  test('a bad upload names the file, line and field, and writes nothing; a good one is cached', async () => {
    const before = await storedCounts();
    const r = await page.evaluate(async () => {
      const attempt = (file: File) => window.data.importFile(file).then((id) => `cached ${id}`, (e: Error) => e.message);
      const badLabel = await attempt(new File(['text,label\nfirst,0\nsecond,1\nthird,1.5\n'], 'bad.csv'));
      const errorAfter = window.data.error;
      const badBytes = await attempt(new File([Uint8Array.from([...new TextEncoder().encode('{"text": "a", "label": 0}\n{"text": "caf'), 0xe9, ...new TextEncoder().encode('", "label": 1}\n')])], 'latin1.jsonl'));
      const noText = await attempt(new File(['{"body": "a", "label": 0}\n'], 'body.jsonl'));
      return { badLabel, errorAfter, badBytes, noText };
    });
    expect(r.badLabel).toBe('could not load bad.csv: bad.csv, line 4: label: must be an integer class id or a class name, got "1.5"');
    expect(r.errorAfter).toBe(r.badLabel);
    expect(r.badBytes).toBe('could not load latin1.jsonl: latin1.jsonl, line 2: invalid UTF-8 at byte offset 39: save the file as UTF-8');
    expect(r.noText).toMatch(/^could not load body\.jsonl: body\.jsonl: text: no text column/);
    expect(await storedCounts(), 'a bad file writes nothing').toEqual(before);

    const good = await page.evaluate(async () => {
      const id = await window.data.importFile(new File(['text,label\n"Cup final, tonight",Sports\nRates rise,Business\n ,World\nNew chip,Sci/Tech\n'], 'mine.csv'));
      const ds = await window.data.get(id);
      return { id, ds, notes: window.data.last?.item.notes, error: window.data.error };
    });
    expect(good.error).toBeNull();
    expect(good.id).toMatch(/^file:mine\.csv#[0-9a-f]{16}$/);
    expect(good.ds.labelNames).toEqual(['Business', 'Sci/Tech', 'Sports']);
    expect(good.ds.splits).toEqual({ all: [{ text: 'Cup final, tonight', label: 2 }, { text: 'Rates rise', label: 0 }, { text: 'New chip', label: 1 }] });
    expect(good.notes).toEqual(['text from text, labels from label (sorted names: Business, Sci/Tech, Sports)', 'skipped 1 rows with empty text (line 4)']);
    expect(await storedCounts()).toEqual({ datasets: before.datasets + 1, rows: before.rows + 1 });
  });

  test('cancel stops a load at once and caches nothing', async () => {
    const before = await storedCounts();
    server.setDelay(400);
    try {
      const r = await page.evaluate(async (endpoint) => {
        const load = window.data.loadHf({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 120, endpoint }).then(() => 'loaded', (e: Error) => e.message);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const wasLoading = window.data.loading?.what ?? null;
        const started = performance.now();
        window.data.cancel();
        const message = await load;
        return { wasLoading, message, ms: performance.now() - started, loading: window.data.loading, error: window.data.error };
      }, server.url);
      expect(r.wasLoading).toBe('fancyzhx/ag_news, first 120 rows of each split');
      expect(r.message).toBe('loading fancyzhx/ag_news, first 120 rows of each split was cancelled');
      expect(r.ms).toBeLessThan(100);
      expect(r.loading).toBeNull();
      expect(r.error, 'a cancel is not an error').toBeNull();
    } finally {
      server.setDelay(0);
    }
    await page.waitForTimeout(1500);
    expect(await storedCounts()).toEqual(before);
  });
});

describe('the dataset picker', () => {
  test('load with a row count, progress, the cached list with sizes, use, delete; a bad file shows its error', async () => {
    await openPage();
    server.setDelay(30);
    await page.locator('#dataset-rows').fill('120');
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    await page.getByTestId('dataset-loading').waitFor();
    server.setDelay(0);
    const item = page.locator('li[data-dataset-id^="hf:fancyzhx/ag_news?config=&splits=&rows=120"]');
    await item.waitFor({ timeout: 30_000 });
    expect(await item.textContent()).toMatch(/train 120 · test 80 rows · 4 classes: World, Sports, Business, Sci\/Tech/);
    const id = await item.getAttribute('data-dataset-id');
    expect(await page.getByTestId('selected').textContent(), 'the picker called back with the id').toBe(id);
    await item.getByRole('button', { name: 'Delete…' }).click();
    await item.getByRole('button', { name: 'Delete', exact: true }).click();
    await item.waitFor({ state: 'detached' });

    await page.getByLabel('Upload a CSV or JSONL file').check();
    await page.locator('#dataset-file').setInputFiles({ name: 'bad.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from('{"text": "a", "label": 0}\n{"text": "b"}\n') });
    await page.getByTestId('dataset-error').waitFor();
    expect(await page.getByTestId('dataset-error').textContent()).toBe('could not load bad.jsonl: bad.jsonl, line 2: label: is missing');
    expect(errors).toEqual([]);
  });
});

describe('the cache in IndexedDB', () => {
  test('upgrading a version-1 database keeps its runs; a record in a foreign format asks to be deleted', async () => {
    const r = await page.evaluate(async () => {
      const name = 'upgrade-from-1';
      await new Promise((resolve) => {
        const del = indexedDB.deleteDatabase(name);
        del.onsuccess = del.onerror = resolve;
      });
      // Version 1 as step 1 of db.ts made it, with one run in it.
      await new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name, 1);
        open.onupgradeneeded = () => {
          const db = open.result;
          db.createObjectStore('runs', { keyPath: 'id' }).createIndex('by-created', 'createdAt');
          for (const s of ['metrics', 'samples', 'checkpoints']) db.createObjectStore(s, { keyPath: ['runId', s === 'metrics' ? 'seq' : 'iteration'] }).createIndex('by-run', 'runId');
        };
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('runs', 'readwrite');
          tx.objectStore('runs').put({ id: 'old-run', formatVersion: 1, createdAt: 1 });
          tx.oncomplete = () => {
            db.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
        open.onerror = () => reject(open.error);
      });
      const store = await window.datasetStore.open(name);
      const version = store.db.version;
      const stores = [...store.db.objectStoreNames].sort();
      const run = await store.db.get('runs', 'old-run');
      const dataset = (formatVersion: number, id: string) => ({
        id, formatVersion, name: id, source: { kind: 'file' as const, fileName: id }, labelNames: ['a', 'b'], splitSizes: {}, classCounts: {},
        bytes: 10, notes: [], createdAt: formatVersion,
      });
      await store.db.put('datasets', dataset(99, 'newer'));
      await store.db.put('datasets', dataset(0, 'older'));
      const listed = (await store.list()).map((d) => [d.id, d.error]);
      const newer = await store.get('newer').then(() => 'read', (e: Error) => `${e.name}: ${e.message}`);
      const older = await store.get('older').then(() => 'read', (e: Error) => `${e.name}: ${e.message}`);
      await store.delete('newer');
      const afterDelete = (await store.list()).map((d) => d.id);
      store.close();
      return { version, stores, run, listed, newer, older, afterDelete };
    });
    expect(r.version).toBe(5);
    expect(r.stores).toEqual(['checkpoints', 'datasetRows', 'datasets', 'generators', 'metrics', 'runCheckpoints', 'runInputs', 'runSamples', 'runs', 'samples']);
    expect(r.run).toEqual({ id: 'old-run', formatVersion: 1, createdAt: 1 });
    expect(r.listed).toEqual([
      ['newer', 'dataset newer was cached by a newer version of Symbiosis Lab (format 99, this page reads 1): reload the page to update'],
      ['older', 'dataset older was cached in format 0, which this version (format 1) does not read: delete it and load it again'],
    ]);
    expect(r.newer).toMatch(/^StoredFormatError: dataset newer was cached by a newer version/);
    expect(r.older).toMatch(/^StoredFormatError: .*delete it and load it again$/);
    expect(r.afterDelete).toEqual(['older']);
  });

  test('a full disk: StorageFullError, and neither record of the dataset is written', async () => {
    const fresh = await lab.newPage();
    try {
      const cdp = await fresh.page.context().newCDPSession(fresh.page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(lab.url).origin, quotaSize: 1_000_000 });
      await fresh.page.goto(`${lab.url}/test/browser/pages/data.html?endpoint=${encodeURIComponent(server.url)}`);
      await fresh.page.waitForFunction(() => window.dataReady === true);
      const r = await fresh.page.evaluate(async () => {
        const store = await window.datasetStore.open('quota');
        const small = { name: 's', source: { kind: 'file' as const, fileName: 's' }, labelNames: ['a', 'b'], splits: { all: [{ text: 'x', label: 0 }, { text: 'y', label: 1 }] } };
        await store.put('small', small);
        // ~3 MB of text that does not compress: more than the origin may store.
        let seed = 1;
        const noise = () => Array.from({ length: 3000 }, () => String.fromCharCode(33 + ((seed = (seed * 48271) % 2147483647) % 90))).join('');
        const big = { ...small, name: 'big', splits: { all: Array.from({ length: 1000 }, (_, i) => ({ text: `${i} ${noise()}`, label: i % 2 })) } };
        const failure = await store.put('big', big).then(() => null, (e: Error) => `${e.name}: ${e.message}`);
        const counts = { datasets: await store.db.count('datasets'), rows: await store.db.count('datasetRows') };
        const kept = (await store.get('small')).splits.all.length;
        store.close();
        return { failure, counts, kept };
      });
      expect(r.failure).toMatch(/^StorageFullError: storage is full/);
      expect(r.counts).toEqual({ datasets: 1, rows: 1 });
      expect(r.kept).toBe(2);
    } finally {
      await fresh.page.context().close();
    }
  });
});
