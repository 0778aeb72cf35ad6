/**
 * Labelled text for classification (AG News and the like): the dataset type,
 * the CSV/JSONL parsers with their validation, and seeded class-balanced
 * splits. Pure: no DOM, no I/O; the HF loader, the data worker and the
 * headless runner feed it text or rows and get the same checks.
 *
 * Decisions (each is what a person uploading a file sees):
 *   - Columns (case-insensitive, surrounding spaces ignored): text is `text`,
 *     else `sentence`, else `content`, else `title` + `description` joined
 *     with one space as AG News does; the label is `label`, else `class`,
 *     `category`, `target`. Other columns are ignored and listed in the report.
 *   - Labels: integers are class ids 0…K−1. Without names given, every id in
 *     0…max must occur; ids exactly 1…K (no 0, as in the original AG News
 *     CSV) are read as 0…K−1 and the report says so. Strings that are not
 *     integers are class names: matched case-insensitively against the names
 *     given (e.g. "Sports" → 1 for AG News), else the distinct names in sorted
 *     (code-unit) order are classes 0…K−1, so shuffling a file never changes
 *     the ids. Mixing ids and names without names given is an error.
 *   - Rows whose text is empty or blank are skipped and counted; blank lines
 *     are not rows. A row repeating an earlier text with the same label is
 *     skipped and counted; with a different label it is an error (or, for
 *     remote data that cannot be fixed, `conflicts: 'drop'` drops every copy
 *     and counts them).
 *   - Encoding: a leading BOM is dropped; U+FFFD (the mark of bytes that were
 *     not UTF-8) or NUL (a binary file) is an error naming the line.
 *   - Limits (DATA_LIMITS): file size, rows, characters per text, classes.
 * Every error is a DataError naming the file, the line (or row) and the field.
 */
import { type Key, Rng, foldIn } from '../rng';
import { decodeUtf8Strict } from '../utf8';

/** One example: its text and its class id (0…K−1). */
export interface LabelledRow {
  text: string;
  label: number;
}

/** Where a dataset came from (stored with it, shown in the picker). */
export type DatasetSource =
  | {
      kind: 'hf';
      dataset: string;
      config: string;
      /** The datasets-server base URL it was read from. */
      endpoint: string;
      /** Rows read from the start of each split; null: whole splits. */
      maxRowsPerSplit: number | null;
      /** How each split was read. */
      via: Record<string, 'parquet' | 'rows'>;
    }
  | { kind: 'file'; fileName: string }
  | { kind: 'folder'; path: string; files: string[] };

export interface LabelledDataset {
  /** Display name, e.g. "fancyzhx/ag_news" or the uploaded file's name. */
  name: string;
  source: DatasetSource;
  /** Class names by id: label i is labelNames[i]; K = labelNames.length ≥ 2. */
  labelNames: string[];
  /** Split name (train, test, …; an upload has one split, "all") → rows. */
  splits: Record<string, LabelledRow[]>;
}

/** The limits every parser enforces; each error names the limit. */
export interface DataLimits {
  /** Bytes of one file (UTF-8). AG News train, all 120,000 rows, is ~30 MB. */
  maxFileBytes: number;
  /** Rows in one file or split. */
  maxRows: number;
  /** Characters in one text (AG News texts are under 1,000; a runaway quoted CSV field is not). */
  maxTextChars: number;
  /** Distinct classes. */
  maxClasses: number;
}

export const DATA_LIMITS: Readonly<DataLimits> = {
  maxFileBytes: 100 * 2 ** 20,
  maxRows: 500_000,
  maxTextChars: 20_000,
  maxClasses: 1000,
};

/** AG News's class names (label 0…3), as its ClassLabel feature names them. */
export const AG_NEWS_LABEL_NAMES: readonly string[] = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** A problem with the data: `source` (a file name, or dataset and split), where in it, and which field. */
export class DataError extends Error {
  constructor(
    readonly source: string,
    /** 'line 3' for a file, 'row 17' for a remote split; null for the whole file. */
    readonly where: string | null,
    readonly field: string | null,
    readonly problem: string,
  ) {
    super(`${source}${where === null ? '' : `, ${where}`}: ${field === null ? '' : `${field}: `}${problem}`);
    this.name = 'DataError';
  }
}

// --- raw tables ----------------------------------------------------------------

/** One record before validation: where it starts and its cells by column name. */
export interface RawRecord {
  /** The line (files, 1-based) or row index (remote splits, 0-based as the dataset viewer shows it). */
  at: number;
  cells: Record<string, unknown>;
}

/** The records of one file or remote split, as read, before any validation. */
export interface RawTable {
  /** The file name, or "dataset split". */
  source: string;
  unit: 'line' | 'row';
  /** Column names as the source spells them (the header, or the first record's keys). */
  columns: string[];
  records: RawRecord[];
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Drop a leading byte-order mark; refuse NUL (a binary file) and an oversized text. */
function prepareText(text: string, source: string, limits: DataLimits): string {
  if (text.length > limits.maxFileBytes) {
    throw new DataError(source, null, null, `the file is larger than the limit of ${fmt(limits.maxFileBytes)} bytes`);
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const nul = body.indexOf('\0');
  if (nul >= 0) {
    const line = lineAt(body, nul);
    throw new DataError(source, `line ${line}`, null, 'contains a NUL character: this is not a text file (upload CSV or JSONL saved as UTF-8)');
  }
  return body;
}

/** The 1-based line of character offset `i`. */
function lineAt(text: string, i: number): number {
  let line = 1;
  for (let j = text.indexOf('\n'); j >= 0 && j < i; j = text.indexOf('\n', j + 1)) line++;
  return line;
}

/**
 * Decode a file's bytes as UTF-8, strictly: invalid bytes are an error naming
 * their line, never silently replaced; a UTF-16 byte-order mark is named.
 */
export function decodeUtf8(bytes: Uint8Array, fileName: string, limits: DataLimits = DATA_LIMITS): string {
  if (bytes.length > limits.maxFileBytes) {
    throw new DataError(fileName, null, null, `${fmt(bytes.length)} bytes is larger than the limit of ${fmt(limits.maxFileBytes)}`);
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new DataError(fileName, null, null, 'the file is UTF-16: save it as UTF-8');
  }
  const decoded = decodeUtf8Strict(bytes);
  if ('text' in decoded) return decoded.text;
  let line = 1;
  for (let i = 0; i < decoded.badByte; i++) if (bytes[i] === 0x0a) line++;
  throw new DataError(fileName, `line ${line}`, null, `invalid UTF-8 at byte offset ${fmt(decoded.badByte)}: save the file as UTF-8`);
}

/** Read JSON Lines: one JSON object per non-blank line. */
export function readJsonl(text: string, fileName: string, limits: DataLimits = DATA_LIMITS): RawTable {
  const body = prepareText(text, fileName, limits);
  const records: RawRecord[] = [];
  const columns: string[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DataError(fileName, `line ${i + 1}`, null, `not valid JSON (${(e as Error).message}); each line must be one JSON object like {"text": "…", "label": 0}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataError(fileName, `line ${i + 1}`, null, `expected a JSON object like {"text": "…", "label": 0}, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
    }
    if (records.length === 0) columns.push(...Object.keys(value));
    records.push({ at: i + 1, cells: value as Record<string, unknown> });
    if (records.length > limits.maxRows) {
      throw new DataError(fileName, `line ${i + 1}`, null, `more than the limit of ${fmt(limits.maxRows)} rows`);
    }
  }
  return { source: fileName, unit: 'line', columns, records };
}

/**
 * Read CSV (RFC 4180): a header line, then one record per line; fields may be
 * quoted with `"` (a quote inside doubled), and a quoted field may span
 * lines. A record's `at` is the line it starts on. A `"` inside an unquoted
 * field is kept as is (5" screen). `delimiter` is ',' (or '\t' for TSV).
 * Written here rather than taken from papaparse: every error must name the
 * physical line a record starts on, and text after a closing quote must be
 * refused, not repaired by a guess.
 */
export function readCsv(text: string, fileName: string, limits: DataLimits = DATA_LIMITS, delimiter = ','): RawTable {
  const body = prepareText(text, fileName, limits);
  const rows: { at: number; fields: string[] }[] = [];
  let line = 1;
  let i = 0;
  const n = body.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    // One record: fields until an unquoted newline or the end.
    for (;;) {
      let field = '';
      if (body[i] === '"') {
        const openedOn = line;
        i++;
        for (;;) {
          if (i >= n) throw new DataError(fileName, `line ${openedOn}`, null, 'a quoted field opened here is never closed (a missing ")');
          const c = body[i]!;
          if (c === '"') {
            if (body[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        const next = body[i];
        if (next !== undefined && next !== delimiter && next !== '\n' && next !== '\r') {
          const column = rows.length > 0 ? rows[0]!.fields[fields.length]?.trim() || `column ${fields.length + 1}` : `header column ${fields.length + 1}`;
          throw new DataError(fileName, `line ${line}`, column, `unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a quoted field must be doubled: "")`);
        }
      } else {
        let j = i;
        while (j < n && body[j] !== delimiter && body[j] !== '\n' && body[j] !== '\r') j++;
        field = body.slice(i, j);
        i = j;
      }
      fields.push(field);
      if (i >= n) break;
      if (body[i] === delimiter) {
        i++;
        if (i >= n) {
          fields.push('');
          break;
        }
        continue;
      }
      // A newline (\n, \r\n or a lone \r) ends the record.
      if (body[i] === '\r') i++;
      if (body[i] === '\n') i++;
      line++;
      break;
    }
    // A blank line is not a record.
    if (fields.length === 1 && fields[0]!.trim() === '') continue;
    rows.push({ at: start, fields });
    if (rows.length > limits.maxRows + 1) {
      throw new DataError(fileName, `line ${start}`, null, `more than the limit of ${fmt(limits.maxRows)} rows`);
    }
  }
  const header = rows.shift();
  if (!header) return { source: fileName, unit: 'line', columns: [], records: [] };
  const columns = header.fields.map((f, k) => f.trim() || `(unnamed column ${k + 1})`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.toLowerCase())) throw new DataError(fileName, `line ${header.at}`, c, 'this column name appears twice in the header');
    seen.add(c.toLowerCase());
  }
  const records = rows.map(({ at, fields }) => {
    if (fields.length !== columns.length) {
      const more = fields.length > columns.length;
      throw new DataError(fileName, `line ${at}`, 'columns', `${fields.length} fields, but the header has ${columns.length} (${columns.join(', ')})${more ? ': quote a text that contains the delimiter' : ''}`);
    }
    const cells: Record<string, unknown> = {};
    columns.forEach((c, k) => (cells[c] = fields[k]));
    return { at, cells };
  });
  return { source: fileName, unit: 'line', columns, records };
}

// --- columns -------------------------------------------------------------------

export const TEXT_COLUMNS = ['text', 'sentence', 'content'] as const;
export const LABEL_COLUMNS = ['label', 'class', 'category', 'target'] as const;

/** Which source columns hold the text and the label. */
export interface ColumnMap {
  /** One column, or title and description (joined with a space). */
  text: string[];
  label: string;
  ignored: string[];
}

/** Find the text and label columns among `columns` (see the file comment); throws naming what was found. */
export function detectColumns(columns: readonly string[], source: string): ColumnMap {
  const byKey = new Map(columns.map((c) => [c.trim().toLowerCase(), c]));
  const pick = (names: readonly string[]) => names.map((n) => byKey.get(n)).find((c) => c !== undefined);
  const single = pick(TEXT_COLUMNS);
  const title = byKey.get('title');
  const description = byKey.get('description');
  const text = single !== undefined ? [single] : title !== undefined && description !== undefined ? [title, description] : null;
  const found = columns.length ? columns.map((c) => JSON.stringify(c)).join(', ') : 'none';
  if (!text) {
    throw new DataError(source, null, 'text', `no text column: expected one named ${TEXT_COLUMNS.join(', ')}, or title and description; the columns are ${found}`);
  }
  const label = pick(LABEL_COLUMNS);
  if (label === undefined) {
    throw new DataError(source, null, 'label', `no label column: expected one named ${LABEL_COLUMNS.join(', ')}; the columns are ${found}`);
  }
  const used = new Set([...text, label]);
  return { text, label, ignored: columns.filter((c) => !used.has(c)) };
}

// --- labelling -----------------------------------------------------------------

export interface LabelOptions {
  /** Class names by id: integer labels must be < their count; name labels are matched to them. */
  labelNames?: readonly string[];
  /** Same text, different labels: 'error' (default; a file can be fixed) or 'drop' every copy (remote data). */
  conflicts?: 'error' | 'drop';
  limits?: Partial<DataLimits>;
}

/** What parsing did to one table: the columns it used and the rows it skipped (counts, and the first few places). */
export interface TableReport {
  source: string;
  unit: 'line' | 'row';
  rows: number;
  textColumns: string[];
  labelColumn: string;
  ignoredColumns: string[];
  emptyText: { count: number; at: number[] };
  duplicates: { count: number; at: number[] };
  conflicts: { count: number; at: number[] };
}

/** How labels became class ids. */
export type LabelMapping = 'ids' | 'one-based ids' | 'given names' | 'sorted names';

export interface LabelledTables {
  labelNames: string[];
  labelMapping: LabelMapping;
  /** Per split, the rows of all its tables in order (duplicates removed within the split). */
  splits: Record<string, LabelledRow[]>;
  reports: TableReport[];
}

/** The first few places kept in a report for each kind of skipped row. */
const REPORT_PLACES = 5;

type RawLabel = { kind: 'id'; id: number } | { kind: 'name'; name: string };

/** A cell as a label: an integer id, or a class name; throws naming the place. */
function rawLabel(value: unknown, fail: (problem: string) => never): RawLabel {
  if (typeof value === 'bigint') return { kind: 'id', id: Number(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) fail(`must be an integer class id or a class name, got ${value}`);
    return { kind: 'id', id: value };
  }
  if (typeof value === 'string') {
    const s = value.trim();
    if (s === '') fail('is empty');
    if (/^[+-]?\d+$/.test(s)) return { kind: 'id', id: Number(s) };
    if (s !== 'NaN' && s !== 'Infinity' && Number.isFinite(Number(s))) fail(`must be an integer class id or a class name, got ${JSON.stringify(s)}`);
    return { kind: 'name', name: s };
  }
  if (value === null || value === undefined) fail('is missing');
  fail(`must be an integer class id or a class name, got ${JSON.stringify(value)}`);
}

/** A cell as text: strings as they are; null/missing count as empty. */
function cellText(value: unknown, fail: (problem: string) => never): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  fail(`must be a string, got ${typeof value === 'number' ? value : typeof value}`);
}

interface Pending {
  at: number;
  text: string;
  raw: RawLabel;
  table: number;
  split: string;
}

/**
 * Validate and label tables that form one dataset: one label scheme across
 * all of them (so a test file is read with the train file's classes),
 * duplicates removed within each split. Throws a DataError at the first
 * problem; a table that could not be read is never half used.
 */
export function labelTables(splits: Record<string, RawTable[]>, opts: LabelOptions = {}): LabelledTables {
  const limits = { ...DATA_LIMITS, ...opts.limits };
  const given = opts.labelNames ? [...opts.labelNames] : null;
  if (given && given.length < 2) throw new DataError('labelNames', null, null, `need at least 2 classes, got ${given.length}`);
  const reports: TableReport[] = [];
  const tables: RawTable[] = [];
  const pending: Pending[] = [];

  for (const [split, list] of Object.entries(splits)) {
    for (const table of list) {
      const t = tables.push(table) - 1;
      if (table.records.length > limits.maxRows) {
        throw new DataError(table.source, null, null, `${fmt(table.records.length)} rows is more than the limit of ${fmt(limits.maxRows)}`);
      }
      if (table.records.length === 0) throw new DataError(table.source, null, null, 'has no rows');
      const cols = detectColumns(table.columns, table.source);
      const report: TableReport = {
        source: table.source, unit: table.unit, rows: 0, textColumns: cols.text, labelColumn: cols.label, ignoredColumns: cols.ignored,
        emptyText: { count: 0, at: [] }, duplicates: { count: 0, at: [] }, conflicts: { count: 0, at: [] },
      };
      reports.push(report);
      for (const { at, cells } of table.records) {
        const where = `${table.unit} ${at}`;
        const failAt = (field: string) => (problem: string): never => {
          throw new DataError(table.source, where, field, problem);
        };
        const parts = cols.text.map((c) => {
          if (!(c in cells)) failAt(c)('is missing');
          return cellText(cells[c], failAt(c));
        });
        const text = parts.filter((p) => p.trim() !== '').join(' ');
        const textField = cols.text.join(' + ');
        if (text.trim() === '') {
          note(report.emptyText, at);
          continue;
        }
        if (text.length > limits.maxTextChars) {
          failAt(textField)(`${fmt(text.length)} characters, more than the limit of ${fmt(limits.maxTextChars)} (is a quote in the file unbalanced?)`);
        }
        if (text.includes('\ufffd')) {
          failAt(textField)('contains U+FFFD, the replacement for bytes that were not valid UTF-8: the file was decoded with the wrong encoding somewhere; save it as UTF-8');
        }
        if (!(cols.label in cells)) failAt(cols.label)('is missing');
        const raw = rawLabel(cells[cols.label], failAt(cols.label));
        pending.push({ at, text, raw, table: t, split });
      }
    }
  }

  const where = (p: Pending) => `${tables[p.table]!.unit} ${p.at}`;
  const fail = (p: Pending, problem: string): never => {
    throw new DataError(tables[p.table]!.source, where(p), reports[p.table]!.labelColumn, problem);
  };

  // --- the label scheme ---
  let labelNames: string[];
  let labelMapping: LabelMapping;
  let toId: (p: Pending) => number;
  if (given) {
    const byName = new Map(given.map((name, id) => [name.trim().toLowerCase(), id]));
    const range = `this dataset has ${given.length} classes, ids 0–${given.length - 1} (${given.join(', ')})`;
    labelNames = given;
    labelMapping = pending.some((p) => p.raw.kind === 'name') ? 'given names' : 'ids';
    toId = (p) => {
      if (p.raw.kind === 'id') {
        if (p.raw.id < 0 || p.raw.id >= given.length) fail(p, `${p.raw.id} is out of range: ${range}`);
        return p.raw.id;
      }
      const id = byName.get(p.raw.name.toLowerCase());
      if (id === undefined) fail(p, `${JSON.stringify(p.raw.name)} is not a class name: ${range}`);
      return id!;
    };
  } else {
    const first = pending[0];
    const mixed = first && pending.find((p) => p.raw.kind !== first.raw.kind);
    if (first && mixed) {
      const what = (p: Pending) => (p.raw.kind === 'id' ? `the class id ${p.raw.id}` : `the class name ${JSON.stringify(p.raw.name)}`);
      fail(mixed, `${what(mixed)}, but ${tables[first.table]!.source} ${where(first)} has ${what(first)}: use ids or names, not both`);
    }
    if (!first || first.raw.kind === 'id') {
      let min = Infinity;
      let max = -Infinity;
      const present = new Set<number>();
      for (const p of pending) {
        const id = (p.raw as { id: number }).id;
        if (id < 0) fail(p, `${id} is negative: class ids are 0…K−1`);
        if (id > limits.maxClasses) fail(p, `${fmt(id)} is above the limit of ${fmt(limits.maxClasses)} classes`);
        min = Math.min(min, id);
        max = Math.max(max, id);
        present.add(id);
      }
      const oneBased = min === 1 && present.size === max;
      const base = oneBased ? 1 : 0;
      const k = max + 1 - base;
      if (k > limits.maxClasses) {
        throw new DataError(sourcesOf(tables), null, 'label', `ids up to ${fmt(max)} make ${fmt(k)} classes, more than the limit of ${fmt(limits.maxClasses)}`);
      }
      for (let id = base; id <= max; id++) {
        if (!present.has(id)) {
          throw new DataError(sourcesOf(tables), null, 'label', `no row has class ${id}, but ids go up to ${max}: class ids must be 0…K−1 (or 1…K), each with at least one row`);
        }
      }
      labelNames = Array.from({ length: Math.max(k, 0) }, (_, i) => String(i + base));
      labelMapping = oneBased ? 'one-based ids' : 'ids';
      toId = (p) => (p.raw as { id: number }).id - base;
    } else {
      const names = [...new Set(pending.map((p) => (p.raw as { name: string }).name))].sort();
      if (names.length > limits.maxClasses || (names.length > 20 && names.length > pending.length / 2)) {
        throw new DataError(sourcesOf(tables), null, reports[0]!.labelColumn, `${fmt(names.length)} distinct class names in ${fmt(pending.length)} rows: is this really the label column?`);
      }
      const byName = new Map(names.map((name, id) => [name, id]));
      labelNames = names;
      labelMapping = 'sorted names';
      toId = (p) => byName.get((p.raw as { name: string }).name)!;
    }
  }
  if (labelNames.length < 2) {
    throw new DataError(sourcesOf(tables), null, 'label', pending.length === 0
      ? 'no rows with text: nothing to learn from'
      : `only one class (${labelNames.join('')}): a classifier needs at least 2`);
  }

  // --- duplicates, within each split ---
  const out: Record<string, LabelledRow[]> = {};
  const seenBySplit = new Map<string, Map<string, { label: number; p: Pending; row: LabelledRow }>>();
  const dropped = new Set<LabelledRow>();
  for (const p of pending) {
    const label = toId(p);
    let seen = seenBySplit.get(p.split);
    if (!seen) seenBySplit.set(p.split, (seen = new Map()));
    const earlier = seen.get(p.text);
    const report = reports[p.table]!;
    if (earlier) {
      if (earlier.label === label) {
        note(report.duplicates, p.at);
        continue;
      }
      if ((opts.conflicts ?? 'error') === 'error') {
        throw new DataError(tables[p.table]!.source, where(p), report.textColumns.join(' + '),
          `the same text as ${tables[earlier.p.table]!.source} ${where(earlier.p)}, which has label ${labelNames[earlier.label]} (here ${labelNames[label]}): fix one of them`);
      }
      // Drop both copies: which label is right cannot be told.
      if (!dropped.has(earlier.row)) {
        dropped.add(earlier.row);
        note(reports[earlier.p.table]!.conflicts, earlier.p.at);
      }
      note(report.conflicts, p.at);
      continue;
    }
    const row = { text: p.text, label };
    seen.set(p.text, { label, p, row });
    (out[p.split] ??= []).push(row);
  }
  for (const split of Object.keys(splits)) {
    out[split] = (out[split] ?? []).filter((r) => !dropped.has(r));
  }
  // Rows kept per table, for the report.
  const kept = new Map<number, number>();
  for (const [, seen] of seenBySplit) for (const { p, row } of seen.values()) if (!dropped.has(row)) kept.set(p.table, (kept.get(p.table) ?? 0) + 1);
  reports.forEach((r, t) => (r.rows = kept.get(t) ?? 0));
  return { labelNames, labelMapping, splits: out, reports };
}

function note(tally: { count: number; at: number[] }, at: number): void {
  tally.count++;
  if (tally.at.length < REPORT_PLACES) tally.at.push(at);
}

function sourcesOf(tables: RawTable[]): string {
  return [...new Set(tables.map((t) => t.source))].join(', ') || '(no file)';
}

// --- one file --------------------------------------------------------------------

/** One parsed file: its rows, its classes and what was skipped. */
export interface ParsedFile {
  rows: LabelledRow[];
  labelNames: string[];
  labelMapping: LabelMapping;
  report: TableReport;
}

function single(table: RawTable, opts: LabelOptions): ParsedFile {
  const r = labelTables({ all: [table] }, opts);
  return { rows: r.splits.all ?? [], labelNames: r.labelNames, labelMapping: r.labelMapping, report: r.reports[0]! };
}

/** Parse a JSONL file of labelled texts (lines like {"text": "…", "label": 2}). */
export function parseJsonl(text: string, fileName: string, opts: LabelOptions = {}): ParsedFile {
  return single(readJsonl(text, fileName, { ...DATA_LIMITS, ...opts.limits }), opts);
}

/** Parse a CSV file of labelled texts (a header naming the columns; `.tsv` files are tab-separated). */
export function parseCsv(text: string, fileName: string, opts: LabelOptions = {}): ParsedFile {
  const delimiter = /\.tsv$/i.test(fileName) ? '\t' : ',';
  return single(readCsv(text, fileName, { ...DATA_LIMITS, ...opts.limits }, delimiter), opts);
}

/** The format of a file: by extension (.jsonl/.ndjson/.json → JSONL, .csv/.tsv → CSV), else by its first character. */
export function fileFormat(text: string, fileName: string): 'jsonl' | 'csv' {
  if (/\.(jsonl|ndjson|json)$/i.test(fileName)) return 'jsonl';
  if (/\.(csv|tsv)$/i.test(fileName)) return 'csv';
  return text.replace(/^\ufeff/, '').trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/** Read a file as a raw table in its format (see fileFormat). */
export function readTable(text: string, fileName: string, limits: DataLimits = DATA_LIMITS): RawTable {
  return fileFormat(text, fileName) === 'jsonl'
    ? readJsonl(text, fileName, limits)
    : readCsv(text, fileName, limits, /\.tsv$/i.test(fileName) ? '\t' : ',');
}

/** Parse a CSV or JSONL file (see fileFormat). */
export function parseLabelledFile(text: string, fileName: string, opts: LabelOptions = {}): ParsedFile {
  return single(readTable(text, fileName, { ...DATA_LIMITS, ...opts.limits }), opts);
}

// --- several files as one upload ------------------------------------------------

/** A file of an upload, decoded. */
export interface UploadFile {
  fileName: string;
  text: string;
}

/**
 * The roles of files chosen together: a `.txt` file holds the class names
 * (one a line, label i on line i + 1); of the data files (CSV/JSONL), one
 * alone is split "all" (the lab draws its test set from it), several are
 * "test" when the name contains "test" and "train" otherwise. Throws a
 * DataError naming the files when the roles cannot be told.
 */
export function uploadRoles(fileNames: readonly string[]): { splits: Record<string, string[]>; labels: string | null } {
  if (fileNames.length === 0) throw new DataError('upload', null, null, 'no file chosen');
  const labels = fileNames.filter((n) => /\.txt$/i.test(n));
  if (labels.length > 1) throw new DataError(labels.join(', '), null, null, 'more than one .txt file: the class names are one file, one name a line');
  const data = fileNames.filter((n) => !/\.txt$/i.test(n));
  if (data.length === 0) throw new DataError(fileNames.join(', '), null, null, 'no CSV or JSONL file among them (a .txt file only names the classes)');
  if (data.length === 1) return { splits: { all: data }, labels: labels[0] ?? null };
  const test = data.filter((n) => /test/i.test(n));
  const train = data.filter((n) => !/test/i.test(n));
  if (test.length === 0 || train.length === 0) {
    throw new DataError(data.join(', '), null, null,
      'several data files, but which is the test split cannot be told: put "test" in the test file\'s name (and not in the others\'), or upload one file and let the lab draw its test set');
  }
  return { splits: { train, test }, labels: labels[0] ?? null };
}

/** Class names from a text file, one a line (blank lines skipped). */
export function readClassNames(text: string, fileName: string): string[] {
  const names = text.replace(/^\ufeff/, '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (names.length < 2) throw new DataError(fileName, null, null, `names ${names.length} class${names.length === 1 ? '' : 'es'}: list at least 2, one a line`);
  return names;
}

/**
 * Why `names` cannot rename a dataset's K classes (null: they can): one
 * non-empty name per class, no two the same (ignoring case and spaces at
 * the ends), none longer than 80 characters.
 */
export function classNamesProblem(names: readonly string[], K: number): string | null {
  if (names.length !== K) return `${names.length} names for ${K} classes: give one name per class`;
  const bad = names.findIndex((n) => n.trim() === '');
  if (bad >= 0) return `class ${bad} has no name`;
  const long = names.findIndex((n) => n.trim().length > 80);
  if (long >= 0) return `class ${long}'s name is longer than 80 characters`;
  const seen = new Map<string, number>();
  for (const [i, n] of names.entries()) {
    const key = n.trim().toLowerCase();
    if (seen.has(key)) return `classes ${seen.get(key)} and ${i} are both called ${JSON.stringify(n.trim())}`;
    seen.set(key, i);
  }
  return null;
}

/** Files chosen together as one dataset (see uploadRoles): one label scheme across them, the names from the .txt file if there is one. */
export function parseUpload(files: readonly UploadFile[], opts: LabelOptions = {}): LabelledTables & { files: Record<string, string[]> } {
  const roles = uploadRoles(files.map((f) => f.fileName));
  const byName = new Map(files.map((f) => [f.fileName, f]));
  const limits = { ...DATA_LIMITS, ...opts.limits };
  const labelNames = opts.labelNames ?? (roles.labels ? readClassNames(byName.get(roles.labels)!.text, roles.labels) : undefined);
  const splits = Object.fromEntries(Object.entries(roles.splits).map(([split, names]) => [split, names.map((n) => readTable(byName.get(n)!.text, n, limits))]));
  return { ...labelTables(splits, { ...opts, ...(labelNames ? { labelNames } : {}) }), files: roles.splits };
}

// --- sizes and splits ------------------------------------------------------------

/** Rows per class: counts[k] = rows with label k (k < K). */
export function classCounts(rows: readonly LabelledRow[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const r of rows) counts[r.label] = (counts[r.label] ?? 0) + 1;
  return counts;
}

/**
 * Per-class quotas summing to n, as equal as the data allows ("water
 * filling"): every class gets ⌊n/K⌋ or one more, and a class with fewer rows
 * than its share gives the rest to the others. The classes that get the odd
 * rows are chosen by `rng`.
 */
function quotas(available: readonly number[], n: number, rng: Rng): number[] {
  const q = available.map(() => 0);
  const order = rng.shuffle(available.map((_, k) => k));
  let left = n;
  while (left > 0) {
    const open = order.filter((k) => q[k]! < available[k]!);
    if (open.length === 0) break;
    const share = Math.floor(left / open.length);
    if (share === 0) {
      for (const k of open.slice(0, left)) q[k]!++;
      break;
    }
    for (const k of open) {
      const add = Math.min(share, available[k]! - q[k]!);
      q[k]! += add;
      left -= add;
    }
  }
  return q;
}

/**
 * n rows drawn without replacement, class-balanced as far as the data allows
 * (see quotas), in a seeded random order. Throws, naming `field`, when
 * fewer than n rows exist.
 */
export function stratifiedSample(rows: readonly LabelledRow[], n: number, key: Key, field = 'n'): LabelledRow[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${field}: must be a non-negative integer, got ${n}`);
  if (n > rows.length) throw new Error(`${field}: asks for ${fmt(n)} rows but only ${fmt(rows.length)} exist`);
  const k = rows.reduce((m, r) => Math.max(m, r.label + 1), 0);
  const byClass: LabelledRow[][] = Array.from({ length: k }, () => []);
  for (const r of rows) byClass[r.label]!.push(r);
  const rng = new Rng(key);
  const q = quotas(byClass.map((c) => c.length), n, rng.fork(1));
  const picked: LabelledRow[] = [];
  byClass.forEach((members, c) => {
    const shuffled = rng.fork(100 + c).shuffle([...members]);
    picked.push(...shuffled.slice(0, q[c]));
  });
  return rng.fork(2).shuffle(picked);
}

export interface SplitSizes {
  /** Real labelled rows the experiment may train on (or draw fresh batches from). */
  pool: number;
  /** Labelled validation rows (where hard examples are mined). */
  val: number;
  /** Held-out test rows. */
  test: number;
}

export type SplitRole = keyof SplitSizes;

export interface ExperimentSplits {
  pool: LabelledRow[];
  val: LabelledRow[];
  test: LabelledRow[];
  /** The dataset split each role was drawn from. */
  from: Record<SplitRole, string[]>;
}

/** Dataset splits each role prefers, in order; a role whose preferred splits are all absent draws from every split. */
const PREFERRED: Record<SplitRole, string[]> = {
  test: ['test'],
  val: ['validation', 'val', 'train'],
  pool: ['train'],
};

/**
 * Draw the pool, validation and test sets for an experiment: seeded,
 * class-balanced as far as the data allows, and disjoint (no text in two of
 * them, even when the dataset's own splits share one). Test comes from the
 * `test` split when there is one, validation from `validation`/`val`/`train`,
 * the pool from `train`; otherwise from all rows. Test is drawn first, then
 * validation, then the pool, each with its own key, so changing the pool's
 * size never changes the test set. Throws naming the role that asks for more
 * rows than are left.
 */
export function makeLabelledSplits(dataset: LabelledDataset, sizes: SplitSizes, key: Key): ExperimentSplits {
  const names = Object.keys(dataset.splits);
  const used = new Set<string>();
  const drawn: Record<SplitRole, LabelledRow[]> = { pool: [], val: [], test: [] };
  const sources: Record<SplitRole, string[]> = { pool: [], val: [], test: [] };
  (['test', 'val', 'pool'] as const).forEach((role, r) => {
    const preferred = PREFERRED[role].find((s) => names.includes(s));
    const from = preferred !== undefined ? [preferred] : names;
    const candidates: LabelledRow[] = [];
    const seen = new Set<string>();
    for (const s of from) {
      for (const row of dataset.splits[s]!) {
        if (used.has(row.text) || seen.has(row.text)) continue;
        seen.add(row.text);
        candidates.push(row);
      }
    }
    const n = sizes[role];
    if (n > candidates.length) {
      const taken = r === 0 ? '' : ' after the sets drawn before it';
      throw new Error(`${role}: asks for ${fmt(n)} rows but split ${from.map((s) => JSON.stringify(s)).join(' + ')} has only ${fmt(candidates.length)} left${taken}`);
    }
    const rows = stratifiedSample(candidates, n, foldIn(key, r), role);
    for (const row of rows) used.add(row.text);
    drawn[role] = rows;
    sources[role] = from;
  });
  return { ...drawn, from: sources };
}
