/**
 * `run.jsonl`: one run in one text file, written by the page's export and by
 * the headless runner (`npm run lab -- run … --out DIR`), read by the page's
 * import. One JSON value per line:
 *
 *   line 1   {"format":"symbiosis-lab/run","version":2,
 *             "counts":{"metrics":M,"samples":S,"dataset":D},
 *             "run":{"experiment","preset","seed","config","environment","status","summary"[,"error"]}}
 *   then M   {"metrics":<MetricRecord>}                  the metric stream, in order
 *   then S   {"samples":{"at":{…},"rows":[…]}}           the example browser's rows, and where in the run they
 *                                                        belong ({"iteration":3}, {"generation":2,"mode":"replace"}, …)
 *   then D   {"dataset":"<file>","row":<row>}             the fixed data the run used (e.g. puzzles.jsonl)
 *
 * `counts` makes a file cut at a line boundary detectable (a cut inside a
 * line already fails to parse). `status` is 'done', 'failed', 'cancelled' or
 * 'interrupted' (a run exported before it ended). JSON has no NaN or
 * Infinity: such metric values are written as null (as in metrics.jsonl).
 *
 * Parsing checks every line before returning anything — the config, each
 * metric record and each sample set against the experiment's own schemas —
 * and each error names the line and the field, so an import either takes
 * the whole file or nothing. This file is pure (no IndexedDB): the headless runner writes
 * run.jsonl with it and the page's store reads and writes it.
 */
import * as v from 'valibot';
import type { BackendKind } from '../core/backend';
import { ConfigError } from '../core/schema';
import { SPECS } from './catalog';
import { describeIssue } from './schemas';
import type { MetricRecord, Position } from './types';

/** Where a run ran: the backend, plus free-form facts (adapter, runtime, platform). */
export type RunEnvironment = { backend: BackendKind } & Record<string, string>;

export const RUN_FILE_FORMAT = 'symbiosis-lab/run';
/**
 * Bumped when the file's layout changes incompatibly; this build reads only
 * this one. 2: sample sets carry their position (`at`), not an iteration
 * number, and every record is checked against its experiment's schema.
 */
export const RUN_FILE_VERSION = 2;

export type RunFileStatus = 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface RunFileHeader {
  experiment: string;
  preset: string | null;
  seed: number;
  config: Record<string, unknown>;
  environment: RunEnvironment;
  status: RunFileStatus;
  summary: unknown;
  error?: string | null;
}

export interface RunFileContent {
  run: RunFileHeader;
  metrics: MetricRecord[];
  samples: { at: Position; rows: unknown[] }[];
  datasets: Record<string, unknown[]>;
}

/** A run file that cannot be imported; `line` is 1-based, `field` a dotted path within it. */
export class RunFileError extends Error {
  constructor(
    readonly line: number | null,
    readonly field: string | null,
    readonly problem: string,
  ) {
    super(`run file${line === null ? '' : `, line ${line}`}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'RunFileError';
  }
}

/** The whole file as text, ending with a newline. */
export function formatRunFile(content: RunFileContent): string {
  const datasetLines = Object.entries(content.datasets).flatMap(([file, rows]) => rows.map((row) => ({ dataset: file, row })));
  const lines: unknown[] = [
    {
      format: RUN_FILE_FORMAT,
      version: RUN_FILE_VERSION,
      counts: { metrics: content.metrics.length, samples: content.samples.length, dataset: datasetLines.length },
      run: content.run,
    },
    ...content.metrics.map((record) => ({ metrics: record })),
    ...content.samples.map((s) => ({ samples: { at: s.at, rows: s.rows } })),
    ...datasetLines,
  ];
  return lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
}

// --- parsing -----------------------------------------------------------------

const count = v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0, 'must be ≥ 0'));
const jsonObject = v.custom<Record<string, unknown>>(
  (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  'must be a JSON object',
);

const headerSchema = v.strictObject({
  format: v.literal(RUN_FILE_FORMAT),
  version: v.literal(RUN_FILE_VERSION),
  counts: v.strictObject({ metrics: count, samples: count, dataset: count }),
  run: v.strictObject({
    experiment: v.string('must be a string'),
    preset: v.nullable(v.string('must be a string or null')),
    seed: v.pipe(
      v.number('must be a number'),
      v.check((x) => Number.isSafeInteger(x) && x >= 0, (i) => `must be a non-negative integer, got ${String(i.input)}`),
    ),
    config: jsonObject,
    environment: v.objectWithRest(
      { backend: v.picklist(['cpu', 'webgpu'], "must be 'cpu' or 'webgpu'") },
      v.string('must be a string'),
    ),
    status: v.picklist(['done', 'failed', 'cancelled', 'interrupted'], 'must be done, failed, cancelled or interrupted'),
    summary: v.unknown(),
    error: v.optional(v.nullable(v.string('must be a string or null'))),
  }),
});

const metricsLine = v.strictObject({ metrics: v.unknown() });
const samplesLine = v.strictObject({
  samples: v.strictObject({ at: v.unknown(), rows: v.array(v.unknown(), 'must be a list') }),
});
const datasetLine = v.strictObject({
  dataset: v.pipe(v.string('must be a file name'), v.minLength(1, 'must be a file name')),
  row: v.unknown(),
});

/** Valibot issues → the first one as a RunFileError, its field under `prefix`. */
function issueError(line: number, issues: readonly v.BaseIssue<unknown>[], prefix = ''): RunFileError {
  const { field, problem } = describeIssue(issues[0]!);
  return new RunFileError(line, prefix ? (field ? `${prefix}.${field}` : prefix) : field, problem);
}

function parseJsonLine(text: string, line: number, last: boolean): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const hint = last ? ' (the file may be truncated)' : '';
    throw new RunFileError(line, null, `not valid JSON${hint}: ${(e as Error).message}`);
  }
}

/** The header's staged checks: ours at all, then the version, then every field. */
function parseHeader(value: unknown): v.InferOutput<typeof headerSchema> {
  const o = value as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || o.format !== RUN_FILE_FORMAT) {
    throw new RunFileError(1, null, `not a Symbiosis Lab run file (the first line has no "format":"${RUN_FILE_FORMAT}"; export runs from the run history, or use the run.jsonl the headless runner writes)`);
  }
  if (o.version !== RUN_FILE_VERSION) {
    const newer = typeof o.version === 'number' && o.version > RUN_FILE_VERSION;
    throw new RunFileError(1, 'version', newer
      ? `${o.version} is newer than this page reads (${RUN_FILE_VERSION}): reload the page to update Symbiosis Lab`
      : o.version === 1
        ? 'run files of version 1 were written before the lab checked its records against each experiment (this page reads version 2): run it again here to get a file this page reads'
        : `${JSON.stringify(o.version)} is not a version this page reads (it reads ${RUN_FILE_VERSION})`);
  }
  const parsed = v.safeParse(headerSchema, value);
  if (!parsed.success) throw issueError(1, parsed.issues);
  return parsed.output;
}

/**
 * Parse and validate a whole run file. Throws a RunFileError naming the
 * first bad line and field; checks the experiment exists in this build and
 * the config passes its schema.
 */
export function parseRunFile(text: string): RunFileContent {
  const lines = text.split('\n');
  // A final newline leaves one empty string (a \r left by CRLF line ends is JSON whitespace).
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || lines[0]!.trim() === '') throw new RunFileError(null, null, 'the file is empty');
  const lastLine = lines.length;
  const header = parseHeader(parseJsonLine(lines[0]!, 1, lastLine === 1));

  const exp = SPECS[header.run.experiment];
  if (!exp) {
    throw new RunFileError(1, 'run.experiment', `unknown experiment '${header.run.experiment}' (this page has: ${Object.keys(SPECS).join(', ')})`);
  }
  let config: Record<string, unknown>;
  try {
    config = exp.config.parse(header.run.config, 'config');
  } catch (e) {
    if (e instanceof ConfigError) {
      const p = e.problems[0]!;
      throw new RunFileError(1, `run.config.${p.field}`, p.message);
    }
    throw e;
  }

  const content: RunFileContent = {
    run: { ...header.run, config, environment: header.run.environment as RunEnvironment },
    metrics: [],
    samples: [],
    datasets: {},
  };
  let datasetRows = 0;
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    if (raw.trim() === '') throw new RunFileError(lineNo, null, 'is empty (one JSON value per line, no blank lines)');
    const value = parseJsonLine(raw, lineNo, lineNo === lastLine);
    const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
    if (keys.includes('metrics')) {
      const r = v.safeParse(metricsLine, value);
      if (!r.success) throw issueError(lineNo, r.issues);
      const record = v.safeParse(exp.record, r.output.metrics);
      if (!record.success) throw issueError(lineNo, record.issues, 'metrics');
      content.metrics.push(record.output);
    } else if (keys.includes('samples')) {
      const r = v.safeParse(samplesLine, value);
      if (!r.success) throw issueError(lineNo, r.issues);
      const at = v.safeParse(exp.position, r.output.samples.at);
      if (!at.success) throw issueError(lineNo, at.issues, 'samples.at');
      const rows = r.output.samples.rows.map((row, j) => {
        const parsed = v.safeParse(exp.sampleRow, row);
        if (!parsed.success) throw issueError(lineNo, parsed.issues, `samples.rows[${j}]`);
        return parsed.output;
      });
      content.samples.push({ at: at.output, rows });
    } else if (keys.includes('dataset')) {
      const r = v.safeParse(datasetLine, value);
      if (!r.success) throw issueError(lineNo, r.issues);
      (content.datasets[r.output.dataset] ??= []).push(r.output.row);
      datasetRows++;
    } else {
      throw new RunFileError(lineNo, null, 'expected an object with "metrics", "samples" or "dataset"');
    }
  }

  const { counts } = header;
  const got = { metrics: content.metrics.length, samples: content.samples.length, dataset: datasetRows };
  for (const key of ['metrics', 'samples', 'dataset'] as const) {
    if (got[key] !== counts[key]) {
      throw new RunFileError(null, `counts.${key}`, `the header announces ${counts[key]} ${key} lines but the file has ${got[key]} (the file is truncated or was edited)`);
    }
  }
  return content;
}
