/**
 * Faults on the way in from the Hub: the datasets service (a local one,
 * test/support/datasets-server.ts, on another origin, serving rows this file
 * makes) answers 429 and 5xx, garbled JSON, a parquet file whose footer is
 * wrong, and a file download cut off half-way. After each, the dataset
 * either loads with exactly the rows of a clean load, or the load fails with
 * a message naming the request and caches nothing, and loads cleanly once
 * the service is well again; a dataset cached before is untouched.
 */
import type { Page } from 'playwright-core';
import { type DatasetsServer, startDatasetsServer } from '../../support/datasets-server';
import { type Case, type CaseContext, type Losses, check, lose } from '../suite';

const FEATURES = {
  text: { dtype: 'string', _type: 'Value' },
  label: { names: ['World', 'Sports', 'Business', 'Sci/Tech'], _type: 'ClassLabel' },
};
const TOPICS = ['peace talks', 'the final', 'quarterly profits', 'a new chip'];
const rows = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ text: `${prefix} ${i}: a report on ${TOPICS[i % 4]}`, label: i % 4 }));

/** Two datasets: the one faults go into (three train shards), and a bystander cached before each fault. */
function datasets() {
  return [
    {
      id: 'lab/news', features: FEATURES, parquetTypes: { text: 'STRING', label: 'INT64' } as const,
      splits: { train: { rows: rows(240, 'train'), shardSize: 80, rowGroupSize: 40 }, test: { rows: rows(60, 'test') } },
    },
    {
      id: 'lab/bystander', features: FEATURES, parquetTypes: { text: 'STRING', label: 'INT64' } as const,
      splits: { train: { rows: rows(40, 'other') }, test: { rows: rows(12, 'other test') } },
    },
  ];
}

const REQUEST = { dataset: 'lab/news', maxRowsPerSplit: null };

interface Loaded {
  id: string | null;
  error: string | null;
  /** The dataset's splits as JSON, when it loaded. */
  rows: string | null;
}

async function load(page: Page, endpoint: string, dataset = REQUEST.dataset): Promise<Loaded> {
  return page.evaluate(async ({ endpoint, dataset }) => {
    try {
      const id = await window.data.loadHf({ dataset, maxRowsPerSplit: null, endpoint });
      const ds = await window.data.get(id);
      return { id, error: null, rows: JSON.stringify({ labelNames: ds.labelNames, splits: ds.splits }) };
    } catch (e) {
      return { id: null, error: window.data.error ?? (e as Error).message, rows: null };
    }
  }, { endpoint, dataset });
}

async function cachedIds(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    await window.data.refresh();
    return window.data.datasets.map((d) => d.id);
  });
}

/** Open the datasets page in a fresh context; the bystander dataset is cached first. */
async function openDataPage(ctx: CaseContext, server: DatasetsServer) {
  const context = await ctx.lab.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${ctx.lab.url}/test/browser/pages/data.html?endpoint=${encodeURIComponent(server.url)}`);
  await page.waitForFunction(() => window.dataReady === true);
  const bystander = await load(page, server.url, 'lab/bystander');
  check(bystander.rows !== null, `the bystander dataset did not load: ${bystander.error}`);
  return { context, page, bystander: bystander as Loaded & { id: string; rows: string } };
}

async function checkBystanderDataset(page: Page, server: DatasetsServer, b: { id: string; rows: string }, losses: Losses): Promise<void> {
  const before = server.requests.length;
  const again = await load(page, server.url, 'lab/bystander');
  if (again.rows !== b.rows) lose(losses, { records: 1 }, `the cached bystander dataset changed: ${again.error ?? 'other rows'}`);
  check(server.requests.length === before, 'the cached bystander dataset was downloaded again');
}

interface HubFault {
  name: string;
  inject(server: DatasetsServer): void;
  /** 'loads': the load must end with the clean rows; 'refused': it must fail naming `names`, caching nothing. */
  expect: { loads: true } | { loads: false; names: RegExp };
}

const HUB_FAULTS: HubFault[] = [
  { name: 'Hub answers 429 twice (Retry-After: 1) on /parquet', inject: (s) => s.fail('/parquet', 429, 2, '1'), expect: { loads: true } },
  { name: 'Hub answers 503 three times on a parquet file', inject: (s) => s.fail('/files/', 503, 3), expect: { loads: true } },
  { name: 'Hub answers 500 to every /splits request', inject: (s) => s.fail('/splits', 500, Infinity), expect: { loads: false, names: /splits.*HTTP 500 after 5 tries/i } },
  { name: 'Hub answers garbled JSON to /splits', inject: (s) => s.damage('/splits', 'garbled'), expect: { loads: false, names: /splits.*not JSON/i } },
  { name: 'Hub serves parquet files with a bad footer', inject: (s) => s.damage('/files/', 'bad-footer', Infinity), expect: { loads: true } },
  { name: 'a parquet download cut at 50% (once), then resumed', inject: (s) => s.damage('/files/', 'cut', 1), expect: { loads: true } },
  { name: 'every parquet download cut at 50%', inject: (s) => s.damage('/files/', 'cut', Infinity), expect: { loads: true } },
];

const hubFaults: Case = {
  name: 'Hub faults: 429/5xx, garbled JSON, bad parquet footer, downloads cut at 50%',
  async run(ctx) {
    const server = await startDatasetsServer(datasets());
    try {
      // The clean load every fault is compared with.
      const clean = await (async () => {
        const { context, page } = await openDataPage(ctx, server);
        try {
          const r = await load(page, server.url);
          check(r.rows !== null, `the clean load failed: ${r.error}`);
          return r.rows;
        } finally {
          await context.close();
        }
      })();
      for (const f of HUB_FAULTS) {
        await ctx.ledger.fault(f.name, async (losses) => {
          const { context, page, bystander } = await openDataPage(ctx, server);
          try {
            const before = await cachedIds(page);
            const from = server.requests.length;
            f.inject(server);
            const got = await load(page, server.url);
            server.clearFaults();
            const log = server.requests.slice(from);
            const answers = log.filter((r) => r.status !== 200 && r.status !== 206 && r.status !== 204).map((r) => `${r.path} ${r.status}`);
            const cut = log.filter((r) => r.path.startsWith('/files/') && r.status >= 200 && r.status < 300).length;
            let detail: string;
            if (f.expect.loads) {
              check(got.rows !== null, `the load failed: ${got.error}`);
              check(got.rows === clean, 'the loaded rows differ from a clean load (a damaged download was used)');
              const via = log.some((r) => r.path === '/rows') ? 'the parquet read failed, the load went on through /rows' : 'read from parquet';
              detail = `${answers.length ? `${answers.length} failed answers retried, ` : ''}${via} (${cut} file requests); rows identical to a clean load`;
            } else {
              check(got.rows === null, 'the load succeeded on a broken answer');
              check(f.expect.names.test(got.error ?? ''), `the error does not name the request: '${got.error}'`);
              const after = await cachedIds(page);
              check(after.length === before.length, `a failed load cached something: ${after.filter((x) => !before.includes(x)).join(', ')}`);
              const again = await load(page, server.url);
              check(again.rows === clean, `once the service was well, the load gave ${again.error ?? 'other rows'}`);
              detail = `refused: "${got.error!.replace(/^could not load /, '')}"; nothing cached; loaded cleanly once the service recovered`;
            }
            // A later load finds the cache (the entry is whole) and does not download again.
            const n = server.requests.length;
            const cached = await load(page, server.url);
            check(cached.rows === clean && server.requests.length === n, 'the cached entry was not used as is on the next load');
            await checkBystanderDataset(page, server, bystander, losses);
            return detail;
          } finally {
            server.clearFaults();
            await context.close();
          }
        });
      }
    } finally {
      await server.close();
    }
  },
};

export const DATA_CASES: Case[] = [hubFaults];
