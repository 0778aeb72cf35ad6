/**
 * A local stand-in for the Hugging Face datasets service, for tests: a real
 * HTTP server on 127.0.0.1 answering /splits, /info, /parquet and /rows in
 * the service's shapes, and serving parquet shards (written here with
 * hyparquet-writer) with HTTP range requests, from data the test gives it.
 * It sends CORS headers, so a page on another port (the browser tests) can
 * read it, and it can be told to fail: answer some requests with a status,
 * drop a file, delay answers.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parquetWriteBuffer } from 'hyparquet-writer';

export interface FakeSplit {
  rows: Record<string, unknown>[];
  /** Rows per parquet shard (default: all in one); each shard has row groups of `rowGroupSize`. */
  shardSize?: number;
  rowGroupSize?: number;
  /** Target uncompressed bytes per data page (hyparquet-writer's default: 1 MiB). */
  pageSize?: number;
}

export interface FakeDataset {
  id: string;
  config?: string;
  splits: Record<string, FakeSplit>;
  /** The /info features, e.g. {text: {dtype: 'string', _type: 'Value'}, label: {names: [...], _type: 'ClassLabel'}}. */
  features: Record<string, Record<string, unknown>>;
  /** Parquet column types by column name ('STRING', 'INT64', …). */
  parquetTypes: Record<string, 'STRING' | 'INT64' | 'INT32' | 'DOUBLE'>;
  /** No /info for this dataset (404). */
  noInfo?: boolean;
  /** No /parquet for this dataset (the listing answers 500 every time). */
  noParquet?: boolean;
  /** false: the shards carry no `huggingface` features metadata. */
  parquetFeatures?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  range: string | null;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

/**
 * How an injected fault answers: 'status' (the status, a JSON error body),
 * 'garbled' (200 with a body that is not JSON), 'bad-footer' (a parquet
 * file's bytes with its closing "PAR1" magic overwritten), 'cut' (the full
 * Content-Length announced, half the body sent, then the connection dropped).
 */
export type FaultKind = 'status' | 'garbled' | 'bad-footer' | 'cut';

interface Fault {
  /** Path prefix, e.g. '/rows' or '/files/'. */
  path: string;
  kind: FaultKind;
  status: number;
  /** How many matching requests fail; then they succeed. Infinity: all. */
  times: number;
  retryAfter?: string;
}

export interface DatasetsServer {
  url: string;
  requests: LoggedRequest[];
  /** Fail the next `times` requests whose path starts with `path` with `status`. */
  fail(path: string, status: number, times?: number, retryAfter?: string): void;
  /** Answer the next `times` requests whose path starts with `path` with a damaged answer (FaultKind). */
  damage(path: string, kind: Exclude<FaultKind, 'status'>, times?: number): void;
  /** Forget the failures still pending. */
  clearFaults(): void;
  /** Delay every answer by this many ms (for abort tests). */
  setDelay(ms: number): void;
  /** The size in bytes of a split's shard. */
  shardBytes(dataset: string, split: string, shard?: number): number;
  close(): Promise<void>;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Range, Content-Type',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges, Retry-After',
};

/** Write rows as one parquet file with the given column types and row-group size. */
export function toParquet(
  rows: Record<string, unknown>[], types: FakeDataset['parquetTypes'], rowGroupSize: number, features: FakeDataset['features'] | null = null,
  pageSize?: number,
): Uint8Array {
  const columnData = Object.entries(types).map(([name, type]) => ({
    name,
    type,
    data: rows.map((r) => {
      const v = r[name] ?? null;
      return type === 'INT64' && typeof v === 'number' ? BigInt(v) : v;
    }),
  }));
  // The Hub's converted shards carry the features as key-value metadata.
  const kvMetadata = features ? [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }] : [];
  return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize, kvMetadata, ...(pageSize ? { pageSize } : {}) }));
}

export async function startDatasetsServer(datasets: FakeDataset[]): Promise<DatasetsServer> {
  const requests: LoggedRequest[] = [];
  const faults: Fault[] = [];
  let delayMs = 0;
  // Shards by "dataset/config/split/n", and what each one is.
  const shards = new Map<string, Uint8Array>();
  const shardList: { key: string; dataset: string; split: string; n: number }[] = [];
  for (const d of datasets) {
    const config = d.config ?? 'default';
    for (const [split, s] of Object.entries(d.splits)) {
      const size = s.shardSize ?? Math.max(1, s.rows.length);
      for (let n = 0; n * size < Math.max(1, s.rows.length); n++) {
        const rows = s.rows.slice(n * size, (n + 1) * size);
        const key = `${d.id}/${config}/${split}/${n}`;
        shards.set(key, toParquet(rows, d.parquetTypes, s.rowGroupSize ?? Math.max(1, rows.length), d.parquetFeatures === false ? null : d.features, s.pageSize));
        shardList.push({ key, dataset: d.id, split, n });
      }
    }
  }

  let base = '';
  const send = (res: ServerResponse, log: LoggedRequest, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const bytes = body instanceof Uint8Array ? body : Buffer.from(JSON.stringify(body));
    log.status = status;
    log.bytes = bytes.length;
    res.writeHead(status, {
      ...CORS,
      ...(body instanceof Uint8Array ? { 'Content-Type': 'application/octet-stream' } : { 'Content-Type': 'application/json' }),
      'Content-Length': String(bytes.length),
      ...headers,
    });
    res.end(bytes);
  };
  const notFound = (res: ServerResponse, log: LoggedRequest, what: string) =>
    send(res, log, 404, { error: `${what} does not exist, or is not accessible without authentication (private or gated).` });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    /** A fault that damages the file answer below. */
    let damaged: 'bad-footer' | 'cut' | null = null;
    const url = new URL(req.url ?? '/', base);
    const query = Object.fromEntries(url.searchParams);
    const log: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, query, range: req.headers.range ?? null, status: 0, bytes: 0 };
    requests.push(log);
    if (req.method === 'OPTIONS') {
      log.status = 204;
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD' });
      res.end();
      return;
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const fault = faults.find((f) => url.pathname.startsWith(f.path) && f.times > 0);
    if (fault) {
      fault.times--;
      if (fault.kind === 'status') {
        send(res, log, fault.status, { error: `injected ${fault.status}` }, fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {});
        return;
      }
      if (fault.kind === 'garbled') {
        log.status = 200;
        res.writeHead(200, { ...CORS, 'Content-Type': 'application/json' });
        res.end('{"splits": [{"dataset": "x", "conf');
        return;
      }
      damaged = fault.kind;
    }

    if (url.pathname.startsWith('/files/')) {
      const key = decodeURIComponent(url.pathname.slice('/files/'.length)).replace(/\.parquet$/, '');
      const stored = shards.get(key);
      if (!stored) return notFound(res, log, 'file');
      let file = stored;
      if (damaged === 'bad-footer') {
        file = stored.slice();
        file.set([0x4e, 0x4f, 0x50, 0x45], file.length - 4); // "NOPE" where "PAR1" closes the file
      }
      if (damaged === 'cut') {
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        const end = m?.[2] ? Math.min(Number(m[2]), file.length - 1) : file.length - 1;
        const body = file.subarray(start, end + 1);
        log.status = m ? 206 : 200;
        log.bytes = Math.floor(body.length / 2);
        res.writeHead(log.status, {
          ...CORS, 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), 'Accept-Ranges': 'bytes',
          ...(m ? { 'Content-Range': `bytes ${start}-${end}/${file.length}` } : {}),
        });
        res.write(body.subarray(0, log.bytes), () => res.socket?.destroy());
        return;
      }
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (!m) return send(res, log, 200, file, { 'Accept-Ranges': 'bytes' });
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), file.length - 1) : file.length - 1;
      return send(res, log, 206, file.subarray(start, end + 1), {
        'Accept-Ranges': 'bytes', 'Content-Range': `bytes ${start}-${end}/${file.length}`,
      });
    }

    const d = datasets.find((x) => x.id === query.dataset);
    if (!d) return notFound(res, log, `The dataset ${query.dataset ?? '(none)'}`);
    const config = d.config ?? 'default';
    switch (url.pathname) {
      case '/splits':
        return send(res, log, 200, { splits: Object.keys(d.splits).map((split) => ({ dataset: d.id, config, split })), pending: [], failed: [] });
      case '/info': {
        if (d.noInfo || query.config !== config) return notFound(res, log, 'The info');
        const splits = Object.fromEntries(Object.entries(d.splits).map(([name, s]) => [name, { name, num_bytes: 0, num_examples: s.rows.length, dataset_name: d.id }]));
        return send(res, log, 200, { dataset_info: { description: '', features: d.features, splits, config_name: config }, partial: false });
      }
      case '/parquet': {
        if (d.noParquet) return send(res, log, 500, { error: 'The parquet conversion failed.' });
        const files = shardList.filter((x) => x.dataset === d.id).map(({ key, split, n }) => ({
          dataset: d.id, config, split, url: `${base}/files/${key}.parquet`, filename: `${String(n).padStart(4, '0')}.parquet`,
          size: shards.get(key)!.length,
        }));
        return send(res, log, 200, { parquet_files: files, pending: [], failed: [], partial: false });
      }
      case '/rows': {
        const split = d.splits[query.split ?? ''];
        if (!split || query.config !== config) return notFound(res, log, 'The split');
        const offset = Number(query.offset ?? 0);
        const length = Number(query.length ?? 100);
        if (!(length >= 0 && length <= 100)) return send(res, log, 422, { error: 'Parameter \'length\' must be between 0 and 100' });
        const features = Object.entries(d.features).map(([name, type], i) => ({ feature_idx: i, name, type }));
        const rows = split.rows.slice(offset, offset + length).map((row, i) => ({ row_idx: offset + i, row, truncated_cells: [] }));
        return send(res, log, 200, { features, rows, num_rows_total: split.rows.length, num_rows_per_page: 100, partial: false });
      }
      default:
        return notFound(res, log, url.pathname);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500, CORS);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    fail(path, status, times = 1, retryAfter) {
      faults.push({ path, kind: 'status', status, times, ...(retryAfter !== undefined ? { retryAfter } : {}) });
    },
    damage(path, kind, times = 1) {
      faults.push({ path, kind, status: 200, times });
    },
    clearFaults() {
      faults.length = 0;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    shardBytes(dataset, split, shard = 0) {
      const d = datasets.find((x) => x.id === dataset);
      return shards.get(`${dataset}/${d?.config ?? 'default'}/${split}/${shard}`)?.length ?? 0;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
