/**
 * The Hugging Face datasets loader against a real HTTP server on 127.0.0.1
 * (test/support/datasets-server.ts) that answers in the service's shapes and
 * serves parquet shards written here: the parquet path with range requests
 * and only the rows asked for, the rows-API fallback, progress, abort,
 * retries, and the errors a person sees (offline, no such dataset, a schema
 * without the columns).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng';
import { HfDatasetError, type HfLoadOptions, type HfProgress, hfDatasetId, loadHfDataset } from '../../src/data/hf-datasets';
import { type DatasetsServer, type FakeDataset, startDatasetsServer } from '../support/datasets-server';

const AG_FEATURES = {
  text: { dtype: 'string', _type: 'Value' },
  label: { names: ['World', 'Sports', 'Business', 'Sci/Tech'], _type: 'ClassLabel' },
};
const TYPES = { text: 'STRING', label: 'INT64' } as const;

/** n rows of distinct texts, labels cycling through 4 classes. */
function rows(n: number, prefix: string): { text: string; label: number }[] {
  return Array.from({ length: n }, (_, i) => ({ text: `${prefix} story ${i}: markets, matches and missions`, label: (i * 3 + 1) % 4 }));
}

/** Texts that do not compress (so a shard is big enough for range requests to matter): random words. */
function noisyRows(n: number, seed: number): { text: string; label: number }[] {
  const rng = Rng.fromSeed(seed);
  const word = () => Array.from({ length: 3 + rng.int(6) }, () => String.fromCharCode(97 + rng.int(26))).join('');
  return Array.from({ length: n }, (_, i) => ({ text: `${i} ${Array.from({ length: 30 }, word).join(' ')}`, label: i % 4 }));
}

const TRAIN = rows(250, 'train');
const TEST = rows(40, 'test');
const BIG = noisyRows(15_000, 1);

const datasets: FakeDataset[] = [
  {
    id: 'fancyzhx/ag_news', features: AG_FEATURES, parquetTypes: TYPES,
    splits: { train: { rows: TRAIN, shardSize: 100, rowGroupSize: 30 }, test: { rows: TEST } },
  },
  // One row group of 15,000 rows in 32 KiB pages, with an offset index: the first 100 rows are in its first page.
  { id: 'lab/big', features: AG_FEATURES, parquetTypes: TYPES, splits: { train: { rows: BIG, pageSize: 32 * 1024 } } },
  // No parquet listing, no /info: everything through /rows, class names from its features.
  { id: 'lab/rows-only', features: AG_FEATURES, parquetTypes: TYPES, noParquet: true, noInfo: true, splits: { train: { rows: TRAIN } } },
  // No /info and shards without the Hub's metadata: class names are the ids.
  { id: 'lab/bare', features: AG_FEATURES, parquetTypes: TYPES, noInfo: true, parquetFeatures: false, splits: { train: { rows: TEST } } },
  {
    id: 'lab/reviews', features: { body: { dtype: 'string', _type: 'Value' }, label: { dtype: 'int64', _type: 'Value' } },
    parquetTypes: { body: 'STRING', label: 'INT64' }, splits: { train: { rows: [{ body: 'fine', label: 0 }] } },
  },
  {
    id: 'lab/tags', features: { text: { dtype: 'string', _type: 'Value' }, label: { feature: { dtype: 'string', _type: 'Value' }, _type: 'Sequence' } },
    parquetTypes: { text: 'STRING', label: 'STRING' }, splits: { train: { rows: [{ text: 'a', label: 'x' }] } },
  },
  {
    id: 'lab/numbers', features: { text: { dtype: 'int64', _type: 'Value' }, label: { dtype: 'int64', _type: 'Value' } },
    parquetTypes: { text: 'INT64', label: 'INT64' }, splits: { train: { rows: [{ text: 1, label: 0 }] } },
  },
  // Labels as strings, no ClassLabel: classes in sorted order; one conflicting duplicate; an empty text.
  {
    id: 'lab/named', features: { sentence: { dtype: 'string', _type: 'Value' }, category: { dtype: 'string', _type: 'Value' } },
    parquetTypes: { sentence: 'STRING', category: 'STRING' },
    splits: {
      train: {
        rows: [
          { sentence: 'up', category: 'pos' }, { sentence: 'down', category: 'neg' }, { sentence: '', category: 'neg' },
          { sentence: 'meh', category: 'pos' }, { sentence: 'meh', category: 'neg' }, { sentence: 'great', category: 'pos' },
        ],
      },
    },
  },
];

let server: DatasetsServer;
beforeAll(async () => {
  server = await startDatasetsServer(datasets);
});
afterAll(async () => {
  await server?.close();
});

/** Options for a load from the local server, with short retry waits. */
const local = (extra: HfLoadOptions = {}): HfLoadOptions => ({ endpoint: server.url, retryDelaysMs: [5, 10, 20], ...extra });

/** The requests made during `body`. */
async function requestsDuring<T>(body: () => Promise<T>): Promise<{ value: T; requests: DatasetsServer['requests'] }> {
  const from = server.requests.length;
  const value = await body();
  return { value, requests: server.requests.slice(from) };
}

const fileRequests = (reqs: DatasetsServer['requests']) => reqs.filter((r) => r.path.startsWith('/files/'));

describe('the parquet path', () => {
  test('reads the first rows of each split, with the ClassLabel names; only the shards needed', async () => {
    const { value, requests } = await requestsDuring(() => loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 60 }, local()));
    const { dataset, notes } = value;
    expect(dataset.labelNames).toEqual(['World', 'Sports', 'Business', 'Sci/Tech']);
    expect(dataset.splits.train).toEqual(TRAIN.slice(0, 60));
    expect(dataset.splits.test).toEqual(TEST);
    expect(dataset.source).toEqual({
      kind: 'hf', dataset: 'fancyzhx/ag_news', config: 'default', endpoint: server.url, maxRowsPerSplit: 60, via: { train: 'parquet', test: 'parquet' },
    });
    expect(notes).toEqual([]);
    expect(requests.map((r) => r.path).filter((p) => !p.startsWith('/files/'))).toEqual(['/splits', '/info', '/parquet']);
    // 60 rows live in the first train shard: the second is never touched; every file read is a range request.
    const files = fileRequests(requests);
    expect(files.map((r) => r.path).sort()).toEqual(['/files/fancyzhx/ag_news/default/test/0.parquet', '/files/fancyzhx/ag_news/default/train/0.parquet']);
    expect(files.every((r) => r.range !== null && r.status === 206)).toBe(true);
  });

  test('rows across shards and row groups come back whole and in order', async () => {
    const { dataset } = await loadHfDataset({ dataset: 'fancyzhx/ag_news', splits: ['train'], maxRowsPerSplit: 230 }, local());
    expect(Object.keys(dataset.splits)).toEqual(['train']);
    expect(dataset.splits.train).toEqual(TRAIN.slice(0, 230));
    const all = await loadHfDataset({ dataset: 'fancyzhx/ag_news', splits: ['train'], maxRowsPerSplit: null }, local());
    expect(all.dataset.splits.train).toEqual(TRAIN);
  });

  test('a big shard: range requests fetch a fraction of the file for the first 100 rows', async () => {
    const size = server.shardBytes('lab/big', 'train');
    expect(size, 'the shard must be big enough for this check to mean something').toBeGreaterThan(1_000_000);
    const { value, requests } = await requestsDuring(() => loadHfDataset({ dataset: 'lab/big', maxRowsPerSplit: 100 }, local()));
    expect(value.dataset.splits.train).toEqual(BIG.slice(0, 100));
    const files = fileRequests(requests);
    const fetched = files.reduce((a, r) => a + r.bytes, 0);
    console.log(`lab/big: ${files.length} range requests, ${fetched} of ${size} bytes`);
    expect(files.every((r) => r.range !== null && r.status === 206)).toBe(true);
    expect(fetched).toBeLessThan(size * 0.3);
  });

  test('without /info, class names come from the shards\' Hub metadata, or else are the ids', async () => {
    const bare = await loadHfDataset({ dataset: 'lab/bare', maxRowsPerSplit: null }, local());
    expect(bare.dataset.labelNames).toEqual(['0', '1', '2', '3']);
    expect(bare.notes.join('\n')).toMatch(/no feature list .*HTTP 404.*class names come from the data/);
  });

  test('string labels become classes in sorted order; empty texts and conflicting duplicates are dropped and noted', async () => {
    const { dataset, notes, labelMapping } = await loadHfDataset({ dataset: 'lab/named', maxRowsPerSplit: null }, local());
    expect(labelMapping).toBe('sorted names');
    expect(dataset.labelNames).toEqual(['neg', 'pos']);
    expect(dataset.splits.train).toEqual([{ text: 'up', label: 1 }, { text: 'down', label: 0 }, { text: 'great', label: 1 }]);
    expect(notes).toEqual(['lab/named train: skipped 1 rows with empty text', 'lab/named train: dropped 2 rows whose text appears with different labels']);
  });
});

describe('the rows API', () => {
  test('a dataset without parquet files is read 100 rows a request, with the class names from /rows', async () => {
    const { value, requests } = await requestsDuring(() => loadHfDataset({ dataset: 'lab/rows-only', maxRowsPerSplit: 230 }, local()));
    expect(value.dataset.splits.train).toEqual(TRAIN.slice(0, 230));
    expect(value.dataset.labelNames).toEqual(['World', 'Sports', 'Business', 'Sci/Tech']);
    expect(value.dataset.source).toMatchObject({ via: { train: 'rows' } });
    const pages = requests.filter((r) => r.path === '/rows');
    expect(pages.map((r) => [r.query.offset, r.query.length])).toEqual([['0', '100'], ['100', '100'], ['200', '30']]);
    expect(value.notes.join('\n')).toMatch(/no parquet files .*HTTP 500/);
  });

  test('a parquet shard that cannot be read falls back to the rows API for that split, and says so', async () => {
    server.fail('/files/fancyzhx/ag_news/default/test/', 404, Infinity);
    try {
      const { dataset, notes } = await loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 50 }, local());
      expect(dataset.source).toMatchObject({ via: { train: 'parquet', test: 'rows' } });
      expect(dataset.splits.test).toEqual(TEST);
      expect(dataset.splits.train).toEqual(TRAIN.slice(0, 50));
      expect(notes.join('\n')).toMatch(/^test: reading parquet failed \(.*HTTP 404.*\); read through the rows API instead$/m);
    } finally {
      server.clearFaults();
    }
  });

  test("via: 'rows' never touches parquet; the same rows either way", async () => {
    const { value, requests } = await requestsDuring(() => loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 130 }, local({ via: 'rows' })));
    const parquet = await loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 130 }, local({ via: 'parquet' }));
    expect(value.dataset.splits).toEqual(parquet.dataset.splits);
    expect(requests.some((r) => r.path === '/parquet' || r.path.startsWith('/files/'))).toBe(false);
  });
});

describe('progress, abort, retries', () => {
  test('progress: rows done rise to the total, which is known from /info before the first row', async () => {
    const seen: HfProgress[] = [];
    await loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 130 }, local({ onProgress: (p) => seen.push(p) }));
    expect(seen[0]).toEqual({ phase: 'listing', split: null, done: 0, total: null });
    const reading = seen.filter((p) => p.phase === 'reading');
    expect(reading.every((p) => p.total === 170)).toBe(true);
    for (let i = 1; i < reading.length; i++) expect(reading[i]!.done).toBeGreaterThanOrEqual(reading[i - 1]!.done);
    expect(reading.at(-1)).toEqual({ phase: 'reading', split: 'test', done: 170, total: 170 });
    // Row group by row group: 30, 60, 90, 100 (end of shard 0), 130.
    expect(reading.filter((p) => p.split === 'train').map((p) => p.done)).toEqual([0, 30, 60, 90, 100, 130]);
  });

  test('abort: a load stops with the signal\'s reason, before it starts and in the middle', async () => {
    const early = new AbortController();
    early.abort();
    await expect(loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 10 }, local({ signal: early.signal }))).rejects.toMatchObject({ name: 'AbortError' });

    server.setDelay(100);
    try {
      const mid = new AbortController();
      const from = server.requests.length;
      const started = Date.now();
      const load = loadHfDataset({ dataset: 'lab/rows-only', maxRowsPerSplit: 250 }, local({
        signal: mid.signal,
        onProgress: (p) => {
          if (p.phase === 'reading' && p.done >= 100) mid.abort();
        },
      }));
      await expect(load).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(2000);
      // It stopped after the first page of rows, not after all three.
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(server.requests.slice(from).filter((r) => r.path === '/rows').length).toBeLessThanOrEqual(2);
    } finally {
      server.setDelay(0);
    }
  });

  test('429 and 5xx answers are retried (Retry-After honoured); a persistent failure is reported with the tries', async () => {
    server.fail('/splits', 503, 2);
    server.fail('/rows', 429, 1, '1');
    const started = Date.now();
    const { value, requests } = await requestsDuring(() => loadHfDataset({ dataset: 'lab/rows-only', maxRowsPerSplit: 10 }, local()));
    expect(value.dataset.splits.train).toHaveLength(10);
    expect(requests.filter((r) => r.path === '/splits').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(requests.filter((r) => r.path === '/rows').map((r) => r.status)).toEqual([429, 200]);
    expect(Date.now() - started, 'Retry-After: 1 waits a second').toBeGreaterThanOrEqual(950);

    server.fail('/splits', 500, Infinity);
    try {
      const error = await loadHfDataset({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 10 }, local()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HfDatasetError);
      expect((error as HfDatasetError).kind).toBe('http');
      expect((error as Error).message).toBe('listing the splits of fancyzhx/ag_news: HTTP 500 after 4 tries (injected 500)');
    } finally {
      server.clearFaults();
    }
  });
});

describe('errors a person can act on', () => {
  const failure = async (spec: Parameters<typeof loadHfDataset>[0], opts = local()) => {
    const e = await loadHfDataset(spec, opts).then(() => null, (x: unknown) => x);
    expect(e, 'the load must fail').toBeInstanceOf(HfDatasetError);
    return e as HfDatasetError;
  };

  test('offline: nothing listens there', async () => {
    const e = await failure({ dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 10 }, { endpoint: 'http://127.0.0.1:9', retryDelaysMs: [1] });
    expect(e.kind).toBe('offline');
    expect(e.message).toMatch(/^could not reach http:\/\/127\.0\.0\.1:9 for listing the splits of fancyzhx\/ag_news \(.*\): are you offline\?$/);
  });

  test('a dataset that does not exist; a config or split that does not; a malformed id', async () => {
    const e = await failure({ dataset: 'nobody/nothing', maxRowsPerSplit: 10 });
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/^dataset nobody\/nothing was not found at http:\/\/127\.0\.0\.1:\d+: check its id \(e\.g\. fancyzhx\/ag_news\)/);
    expect(e.message).toMatch(/HTTP 404 \(The dataset nobody\/nothing does not exist/);
    expect((await failure({ dataset: 'fancyzhx/ag_news', config: 'fr', maxRowsPerSplit: 10 })).message)
      .toBe('config: fancyzhx/ag_news has no config "fr"; it has default');
    expect((await failure({ dataset: 'fancyzhx/ag_news', splits: ['validation'], maxRowsPerSplit: 10 })).message)
      .toBe('splits: fancyzhx/ag_news (default) has no split "validation"; it has train, test');
    expect((await failure({ dataset: 'not a dataset', maxRowsPerSplit: 10 })).message).toMatch(/^dataset: "not a dataset" is not a dataset id/);
  });

  test('unexpected schemas are named by column, before any rows are read', async () => {
    const { value: e, requests } = await requestsDuring(() => failure({ dataset: 'lab/reviews', maxRowsPerSplit: 10 }));
    expect(e.kind).toBe('schema');
    expect(e.message).toBe('unexpected schema: lab/reviews: text: no text column: expected one named text, sentence, content, or title and description; the columns are "body", "label"');
    expect(fileRequests(requests)).toEqual([]);
    expect((await failure({ dataset: 'lab/tags', maxRowsPerSplit: 10 })).message)
      .toBe('unexpected schema: lab/tags: column "label" is a Sequence, not a class label');
    expect((await failure({ dataset: 'lab/numbers', maxRowsPerSplit: 10 })).message)
      .toBe('unexpected schema: lab/numbers: column "text" holds int64, not text');
  });
});

test('hfDatasetId: the same request, the same id; the endpoint is part of it unless it is the real one', () => {
  const spec = { dataset: 'fancyzhx/ag_news', maxRowsPerSplit: 2000 };
  expect(hfDatasetId(spec)).toBe('hf:fancyzhx/ag_news?config=&splits=&rows=2000');
  expect(hfDatasetId(spec, 'https://datasets-server.huggingface.co/')).toBe(hfDatasetId(spec));
  expect(hfDatasetId({ ...spec, splits: ['train', 'test'], maxRowsPerSplit: null }, 'http://127.0.0.1:8080'))
    .toBe('hf:fancyzhx/ag_news?config=&splits=train%2Ctest&rows=all&endpoint=http%3A%2F%2F127.0.0.1%3A8080');
});
