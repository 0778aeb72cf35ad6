/**
 * Labelled text datasets from the Hugging Face datasets service
 * (datasets-server.huggingface.co), read at run time: nothing is bundled.
 * DOM-free (fetch only), so it runs in the data worker, in Node tests and in
 * the headless runner.
 *
 * How a load goes:
 *   1. GET /splits?dataset=D          configs and splits (404: no such dataset)
 *   2. GET /info?dataset=D&config=C   features: the columns, ClassLabel names, split sizes
 *                                     (optional: without it, names come from the data)
 *   3. GET /parquet?dataset=D&config=C  the split's parquet files with their sizes
 *   4. per split, the first `maxRowsPerSplit` rows: from the parquet files
 *      with hyparquet (HTTP range requests for each shard's footer, then only
 *      the text and label columns of the row groups needed, or just their
 *      first pages where the shard has an offset index; shards past the rows
 *      asked for are never opened), or, when a split has no parquet file or
 *      reading it fails, from GET /rows (at most 100 rows a request).
 * Every request retries 429 and 5xx answers (and dropped connections) with
 * backoff, honouring Retry-After; an AbortSignal stops it between and during
 * requests. Rows then go through the same validation as an uploaded file
 * (core/data/labelled), with conflicting duplicates dropped, not fatal: a
 * remote dataset cannot be fixed from here.
 */
import {
  type AsyncBuffer, type FileMetaData, asyncBufferFromUrl, cachedAsyncBuffer, parquetMetadataAsync, parquetReadObjects, parquetSchema,
} from 'hyparquet';
import {
  type ColumnMap, DataError, type LabelMapping, type LabelledDataset, type RawRecord, type RawTable, type TableReport, detectColumns,
  labelTables,
} from '../core/data/labelled';

export const HF_DATASETS_SERVER = 'https://datasets-server.huggingface.co';
/** AG News on the Hub (the old id `ag_news` redirects here). */
export const AG_NEWS_DATASET = 'fancyzhx/ag_news';
/** The most rows one /rows request may ask for. */
export const ROWS_PAGE = 100;

export interface HfDatasetSpec {
  /** "owner/name", e.g. fancyzhx/ag_news. */
  dataset: string;
  /** The subset; default "default" when the dataset has one, else its first. */
  config?: string;
  /** Default: every split of the config. */
  splits?: string[];
  /** Rows read from the start of each split; null: whole splits. */
  maxRowsPerSplit: number | null;
}

/** Rows read so far over all splits; total is null until every split's size is known. */
export interface HfProgress {
  phase: 'listing' | 'reading';
  split: string | null;
  done: number;
  total: number | null;
}

export interface HfLoadOptions {
  /** The service's base URL (tests point it at a local server). */
  endpoint?: string;
  signal?: AbortSignal;
  onProgress?: (p: HfProgress) => void;
  fetch?: typeof globalThis.fetch;
  /** Waits before each retry of a 429/5xx/dropped request, in ms; its length is the number of retries. */
  retryDelaysMs?: readonly number[];
  /** 'auto': parquet, falling back to the rows API per split. */
  via?: 'auto' | 'parquet' | 'rows';
}

export type HfErrorKind = 'offline' | 'not-found' | 'http' | 'schema';

/** A load failed for a reason the person can act on; `kind` says which. */
export class HfDatasetError extends Error {
  constructor(readonly kind: HfErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HfDatasetError';
  }
}

export interface HfLoaded {
  dataset: LabelledDataset;
  labelMapping: LabelMapping;
  reports: TableReport[];
  /** What the person should know: fallbacks taken, rows skipped. */
  notes: string[];
}

const DEFAULT_RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
/** The longest Retry-After honoured, in ms. */
const MAX_RETRY_AFTER_MS = 30_000;

/**
 * The cache id of a spec: the same request gives the same id, so a second
 * load finds the stored copy. A non-default endpoint is part of it.
 */
export function hfDatasetId(spec: HfDatasetSpec, endpoint = HF_DATASETS_SERVER): string {
  const q = new URLSearchParams({
    config: spec.config ?? '',
    splits: spec.splits?.join(',') ?? '',
    rows: spec.maxRowsPerSplit === null ? 'all' : String(spec.maxRowsPerSplit),
  });
  if (trimSlash(endpoint) !== HF_DATASETS_SERVER) q.set('endpoint', trimSlash(endpoint));
  return `hf:${spec.dataset}?${q}`;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

function checkSpec(spec: HfDatasetSpec): void {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(spec.dataset)) {
    throw new HfDatasetError('not-found', `dataset: ${JSON.stringify(spec.dataset)} is not a dataset id like ${AG_NEWS_DATASET}`);
  }
  const n = spec.maxRowsPerSplit;
  if (n !== null && (!Number.isSafeInteger(n) || n < 1)) {
    throw new Error(`maxRowsPerSplit: must be a positive integer or null (all rows), got ${n}`);
  }
}

// --- HTTP ----------------------------------------------------------------------

interface Http {
  endpoint: string;
  signal: AbortSignal | undefined;
  fetch: typeof globalThis.fetch;
  delays: readonly number[];
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The server's own words from an error body ({"error": "…"}), if any. */
async function serverMessage(res: Response): Promise<string> {
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') return body.error;
    } catch {
      // Not JSON: the text itself, shortened.
    }
    return text.slice(0, 200);
  } catch {
    return '';
  }
}

/**
 * fetch with retries: 429 and 5xx answers and dropped connections are tried
 * again after `delays` (or Retry-After); other failures throw at once. An
 * abort rejects with the signal's reason.
 */
async function request(http: Http, url: string, init: RequestInit, what: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    http.signal?.throwIfAborted();
    let res: Response;
    try {
      res = await http.fetch(url, { ...init, signal: http.signal });
    } catch (e) {
      if (http.signal?.aborted) throw http.signal.reason;
      if (attempt < http.delays.length) {
        await sleep(http.delays[attempt]!, http.signal);
        continue;
      }
      throw new HfDatasetError('offline', `could not reach ${new URL(url).origin} for ${what} (${(e as Error).message}): are you offline?`, { cause: e });
    }
    if (res.ok) return res;
    const retryable = res.status === 429 || res.status >= 500;
    if (retryable && attempt < http.delays.length) {
      const after = Number(res.headers.get('retry-after'));
      await res.body?.cancel().catch(() => undefined);
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, MAX_RETRY_AFTER_MS) : http.delays[attempt]!, http.signal);
      continue;
    }
    const message = await serverMessage(res);
    const tries = retryable ? ` after ${attempt + 1} tries` : '';
    throw new HfDatasetError(res.status === 404 ? 'not-found' : 'http', `${what}: HTTP ${res.status}${tries}${message ? ` (${message})` : ''}`);
  }
}

async function getJson(http: Http, path: string, params: Record<string, string | number>, what: string): Promise<unknown> {
  const url = new URL(`${http.endpoint}/${path}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  const res = await request(http, url.href, {}, what);
  try {
    return await res.json();
  } catch (e) {
    if (http.signal?.aborted) throw http.signal.reason;
    throw new HfDatasetError('http', `${what}: the answer is not JSON (${(e as Error).message})`, { cause: e });
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function unexpected(what: string, body: unknown): HfDatasetError {
  return new HfDatasetError('http', `${what}: unexpected answer ${JSON.stringify(body).slice(0, 200)}`);
}

// --- the service's answers ---------------------------------------------------------

interface SplitEntry {
  config: string;
  split: string;
}

interface ParquetFile {
  split: string;
  url: string;
  filename: string;
  size: number;
}

interface Features {
  columns: string[];
  /** Per column: the datasets feature (`{dtype, _type}` or `{names, _type: 'ClassLabel'}`). */
  types: Record<string, Record<string, unknown>>;
}

function parseSplits(body: unknown, what: string): SplitEntry[] {
  if (!isObject(body) || !Array.isArray(body.splits)) throw unexpected(what, body);
  return body.splits.map((s) => {
    if (!isObject(s) || typeof s.config !== 'string' || typeof s.split !== 'string') throw unexpected(what, body);
    return { config: s.config, split: s.split };
  });
}

function parseParquetList(body: unknown, config: string, what: string): ParquetFile[] {
  if (!isObject(body) || !Array.isArray(body.parquet_files)) throw unexpected(what, body);
  const files: ParquetFile[] = [];
  for (const f of body.parquet_files) {
    if (!isObject(f) || typeof f.url !== 'string' || typeof f.split !== 'string' || typeof f.size !== 'number') throw unexpected(what, body);
    if (f.config !== config) continue;
    files.push({ split: f.split, url: f.url, filename: typeof f.filename === 'string' ? f.filename : f.url, size: f.size });
  }
  // Shards are named 0000.parquet, 0001.parquet, …: their order is the split's row order.
  return files.sort((a, b) => a.filename.localeCompare(b.filename, 'en', { numeric: true }));
}

function featuresFromInfo(body: unknown): { features: Features | null; sizes: Record<string, number> } {
  const info = isObject(body) && isObject(body.dataset_info) ? body.dataset_info : null;
  const sizes: Record<string, number> = {};
  if (info && isObject(info.splits)) {
    for (const [name, s] of Object.entries(info.splits)) if (isObject(s) && typeof s.num_examples === 'number') sizes[name] = s.num_examples;
  }
  if (!info || !isObject(info.features)) return { features: null, sizes };
  const types: Features['types'] = {};
  for (const [name, t] of Object.entries(info.features)) types[name] = isObject(t) ? t : {};
  return { features: { columns: Object.keys(types), types }, sizes };
}

/** Check the text and label columns of a split's schema; throws a schema error naming the column. */
function checkSchema(columns: string[], types: Features['types'] | null, source: string): { cols: ColumnMap; labelNames: string[] | null } {
  let cols: ColumnMap;
  try {
    cols = detectColumns(columns, source);
  } catch (e) {
    if (e instanceof DataError) throw new HfDatasetError('schema', `unexpected schema: ${e.message}`, { cause: e });
    throw e;
  }
  if (!types) return { cols, labelNames: null };
  for (const c of cols.text) {
    const t = types[c];
    if (t && t._type === 'Value' && t.dtype !== 'string' && t.dtype !== 'large_string') {
      throw new HfDatasetError('schema', `unexpected schema: ${source}: column ${JSON.stringify(c)} holds ${String(t.dtype)}, not text`);
    }
  }
  const lt = types[cols.label];
  if (lt && lt._type === 'ClassLabel') {
    const names = lt.names;
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      throw new HfDatasetError('schema', `unexpected schema: ${source}: column ${JSON.stringify(cols.label)} is a ClassLabel without names`);
    }
    return { cols, labelNames: names as string[] };
  }
  if (lt && lt._type !== 'Value') {
    throw new HfDatasetError('schema', `unexpected schema: ${source}: column ${JSON.stringify(cols.label)} is a ${String(lt._type)}, not a class label`);
  }
  return { cols, labelNames: null };
}

/**
 * The features a parquet shard carries in its `huggingface` key-value
 * metadata ({"info": {"features": …}}), as the Hub's conversion writes them.
 */
function featuresFromParquet(metadata: FileMetaData): Features['types'] | null {
  const raw = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value;
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as unknown;
    const features = isObject(parsed) && isObject(parsed.info) && isObject(parsed.info.features) ? parsed.info.features : null;
    if (!features) return null;
    const types: Features['types'] = {};
    for (const [name, t] of Object.entries(features)) types[name] = isObject(t) ? t : {};
    return types;
  } catch {
    return null;
  }
}

// --- reading rows ------------------------------------------------------------------

interface SplitRead {
  table: RawTable;
  labelNames: string[] | null;
}

interface Reader {
  http: Http;
  spec: HfDatasetSpec;
  config: string;
  features: Features | null;
  /** Rows read so far in the current split. */
  onRows: (rowsInSplit: number, splitTotal: number | null) => void;
}

/** The first `need` rows (null: all) of a split from its parquet shards. */
async function readParquetSplit(r: Reader, split: string, files: ParquetFile[], need: number | null): Promise<SplitRead> {
  const source = `${r.spec.dataset} ${split}`;
  const records: RawRecord[] = [];
  let checked: { cols: ColumnMap; labelNames: string[] | null } | null = null;
  let columns: string[] = [];
  let offset = 0;
  const metas: { file: AsyncBuffer; metadata: FileMetaData }[] = [];
  // Footers first (one small range request each), so the split's size is known before its rows.
  for (const f of files) {
    if (need !== null && offset >= need) break;
    const fetchFn: typeof globalThis.fetch = (input, init) => request(r.http, String(input), init ?? {}, `reading ${f.filename} of ${source}`);
    const file = cachedAsyncBuffer(await asyncBufferFromUrl({ url: f.url, byteLength: f.size, fetch: fetchFn }));
    const metadata = await parquetMetadataAsync(file);
    metas.push({ file, metadata });
    offset += Number(metadata.num_rows);
  }
  const splitTotal = need === null ? offset : Math.min(need, offset);
  r.onRows(0, splitTotal);
  offset = 0;
  for (const { file, metadata } of metas) {
    const names = parquetSchema(metadata).children.map((c) => c.element.name);
    if (!checked) {
      columns = names;
      checked = checkSchema(names, r.features?.types ?? featuresFromParquet(metadata), source);
    }
    const wanted = [...checked.cols.text, checked.cols.label];
    const missing = wanted.find((c) => !names.includes(c));
    if (missing) throw new HfDatasetError('schema', `unexpected schema: ${source}: a parquet shard has no column ${JSON.stringify(missing)}`);
    // Row group by row group: progress and abort between them, and never more rows than asked for.
    let start = 0;
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      const left = need === null ? Infinity : need - records.length;
      if (left <= 0) break;
      const end = start + Math.min(groupRows, left);
      r.http.signal?.throwIfAborted();
      // With an offset index (when the shard has one), only the pages holding these rows are fetched.
      const rows = await parquetReadObjects({ file, metadata, columns: wanted, rowStart: start, rowEnd: end, useOffsetIndex: true });
      rows.forEach((cells, i) => records.push({ at: offset + start + i, cells }));
      r.onRows(records.length, splitTotal);
      start += groupRows;
    }
    offset += Number(metadata.num_rows);
    if (need !== null && records.length >= need) break;
  }
  return { table: { source, unit: 'row', columns, records }, labelNames: checked?.labelNames ?? null };
}

/** The first `need` rows (null: all) of a split from the rows API, 100 at a time. */
async function readRowsSplit(r: Reader, split: string, need: number | null, knownSize: number | null): Promise<SplitRead> {
  const source = `${r.spec.dataset} ${split}`;
  const records: RawRecord[] = [];
  let total: number | null = knownSize;
  let columns: string[] | null = null;
  let checked: { cols: ColumnMap; labelNames: string[] | null } | null = null;
  const target = () => (total === null ? need : need === null ? total : Math.min(need, total));
  for (;;) {
    const want = target();
    if (want !== null && records.length >= want) break;
    const length = Math.min(ROWS_PAGE, want === null ? ROWS_PAGE : want - records.length);
    const what = `rows ${records.length}–${records.length + length - 1} of ${source}`;
    const body = await getJson(r.http, 'rows', { dataset: r.spec.dataset, config: r.config, split, offset: records.length, length }, what);
    if (!isObject(body) || !Array.isArray(body.rows) || !Array.isArray(body.features)) throw unexpected(what, body);
    if (typeof body.num_rows_total === 'number') total = body.num_rows_total;
    if (!columns) {
      const types: Features['types'] = {};
      for (const f of body.features) if (isObject(f) && typeof f.name === 'string') types[f.name] = isObject(f.type) ? f.type : {};
      columns = Object.keys(types);
      checked = checkSchema(columns, r.features?.types ?? types, source);
    }
    for (const row of body.rows) {
      if (!isObject(row) || !isObject(row.row) || typeof row.row_idx !== 'number') throw unexpected(what, body);
      const cut = Array.isArray(row.truncated_cells) ? row.truncated_cells : [];
      if (cut.length > 0) {
        throw new HfDatasetError('schema', `${source}, row ${row.row_idx}: the rows API cut ${cut.join(', ')} short; this row cannot be read whole this way`);
      }
      records.push({ at: row.row_idx, cells: row.row });
    }
    r.onRows(records.length, target());
    if (body.rows.length === 0) break;
  }
  return { table: { source, unit: 'row', columns: columns ?? [], records }, labelNames: checked?.labelNames ?? null };
}

// --- loading -------------------------------------------------------------------------

/** Load the first rows of a dataset's splits, validated and labelled; see the file comment for the requests made. */
export async function loadHfDataset(spec: HfDatasetSpec, opts: HfLoadOptions = {}): Promise<HfLoaded> {
  checkSpec(spec);
  const endpoint = trimSlash(opts.endpoint ?? HF_DATASETS_SERVER);
  const http: Http = {
    endpoint,
    signal: opts.signal,
    fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    delays: opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
  };
  const via = opts.via ?? 'auto';
  const notes: string[] = [];
  const progress = (p: HfProgress) => opts.onProgress?.(p);
  progress({ phase: 'listing', split: null, done: 0, total: null });

  let entries: SplitEntry[];
  try {
    entries = parseSplits(await getJson(http, 'splits', { dataset: spec.dataset }, `listing the splits of ${spec.dataset}`), 'splits');
  } catch (e) {
    if (e instanceof HfDatasetError && e.kind === 'not-found') {
      throw new HfDatasetError('not-found', `dataset ${spec.dataset} was not found at ${endpoint}: check its id (e.g. ${AG_NEWS_DATASET}); private and gated datasets cannot be read here. ${e.message}`, { cause: e });
    }
    throw e;
  }
  const configs = [...new Set(entries.map((e) => e.config))];
  const config = spec.config ?? (configs.includes('default') ? 'default' : configs[0]);
  if (config === undefined || !configs.includes(config)) {
    throw new HfDatasetError('not-found', `config: ${spec.dataset} has no config ${JSON.stringify(spec.config)}; it has ${configs.join(', ') || 'none'}`);
  }
  const available = entries.filter((e) => e.config === config).map((e) => e.split);
  const splits = spec.splits ?? available;
  const unknown = splits.find((s) => !available.includes(s));
  if (unknown !== undefined) {
    throw new HfDatasetError('not-found', `splits: ${spec.dataset} (${config}) has no split ${JSON.stringify(unknown)}; it has ${available.join(', ')}`);
  }
  if (splits.length === 0) throw new HfDatasetError('not-found', `splits: ${spec.dataset} (${config}) lists no splits`);

  // Features and sizes: optional (names then come from the data), but a wrong schema stops here, before any rows.
  let features: Features | null = null;
  let sizes: Record<string, number> = {};
  try {
    ({ features, sizes } = featuresFromInfo(await getJson(http, 'info', { dataset: spec.dataset, config }, `the features of ${spec.dataset}`)));
  } catch (e) {
    if (http.signal?.aborted) throw http.signal.reason;
    notes.push(`no feature list (${(e as Error).message}): class names come from the data`);
  }
  if (features) checkSchema(features.columns, features.types, spec.dataset);

  let files: ParquetFile[] = [];
  if (via !== 'rows') {
    try {
      const body = await getJson(http, 'parquet', { dataset: spec.dataset, config }, `the parquet files of ${spec.dataset}`);
      files = parseParquetList(body, config, 'parquet');
      if (isObject(body) && body.partial === true) notes.push('the service converted only the first part of this dataset to parquet');
    } catch (e) {
      if (http.signal?.aborted || via === 'parquet') throw http.signal?.reason ?? e;
      notes.push(`no parquet files (${(e as Error).message}): read through the rows API`);
    }
  }

  // Progress over all splits: rows read so far, and the sum of each split's target once known.
  const need = spec.maxRowsPerSplit;
  const targets = new Map<string, number | null>(splits.map((s) => {
    const size = sizes[s];
    return [s, size === undefined ? null : need === null ? size : Math.min(need, size)];
  }));
  let doneBefore = 0;
  const totalOf = () => ([...targets.values()].every((t) => t !== null) ? [...targets.values()].reduce<number>((a, t) => a + t!, 0) : null);

  const tables: Record<string, RawTable[]> = {};
  const viaBySplit: Record<string, 'parquet' | 'rows'> = {};
  let labelNames: string[] | null = null;
  for (const split of splits) {
    const reader: Reader = {
      http, spec, config, features,
      onRows: (rows, splitTotal) => {
        if (splitTotal !== null) targets.set(split, splitTotal);
        progress({ phase: 'reading', split, done: doneBefore + rows, total: totalOf() });
      },
    };
    const shards = files.filter((f) => f.split === split);
    let read: SplitRead | null = null;
    if (via !== 'rows' && shards.length > 0) {
      try {
        read = await readParquetSplit(reader, split, shards, need);
        viaBySplit[split] = 'parquet';
      } catch (e) {
        if (http.signal?.aborted) throw http.signal.reason;
        if (via === 'parquet' || (e instanceof HfDatasetError && e.kind === 'schema')) throw e;
        notes.push(`${split}: reading parquet failed (${(e as Error).message}); read through the rows API instead`);
      }
    } else if (via === 'parquet') {
      throw new HfDatasetError('not-found', `${spec.dataset} (${config}) has no parquet file for split ${split}`);
    }
    if (!read) {
      read = await readRowsSplit(reader, split, need, sizes[split] ?? null);
      viaBySplit[split] = 'rows';
    }
    labelNames ??= read.labelNames;
    tables[split] = [read.table];
    doneBefore += read.table.records.length;
    targets.set(split, read.table.records.length);
  }

  const labelled = labelTables(tables, { ...(labelNames ? { labelNames } : {}), conflicts: 'drop' });
  for (const r of labelled.reports) {
    if (r.emptyText.count) notes.push(`${r.source}: skipped ${r.emptyText.count} rows with empty text`);
    if (r.duplicates.count) notes.push(`${r.source}: skipped ${r.duplicates.count} duplicate rows`);
    if (r.conflicts.count) notes.push(`${r.source}: dropped ${r.conflicts.count} rows whose text appears with different labels`);
  }
  return {
    dataset: {
      name: config === 'default' ? spec.dataset : `${spec.dataset} (${config})`,
      source: { kind: 'hf', dataset: spec.dataset, config, endpoint, maxRowsPerSplit: need, via: viaBySplit },
      labelNames: labelled.labelNames,
      splits: labelled.splits,
    },
    labelMapping: labelled.labelMapping,
    reports: labelled.reports,
    notes,
  };
}
