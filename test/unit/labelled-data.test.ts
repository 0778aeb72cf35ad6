/**
 * Labelled text datasets: the CSV/JSONL parsers (every accepted form, and
 * every rejected one with the exact file, line and field in the message),
 * the seeded class-balanced splits, the folder loader on a temp folder, and
 * the real AG News folder in ../shared when it is there.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { folderLabelNames, loadDatasetFolder } from '../../bin/data-folder';
import { parseRunArgs } from '../../bin/run-experiment';
import {
  AG_NEWS_LABEL_NAMES, DataError, type LabelledDataset, type LabelledRow, type LabelOptions, classCounts, decodeUtf8, makeLabelledSplits,
  parseCsv, parseJsonl, parseLabelledFile, stratifiedSample, classNamesProblem, parseUpload, readClassNames, uploadRoles,
} from '../../src/core/data/labelled';
import { keyFromSeed } from '../../src/core/rng';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('parsing: accepted forms', () => {
  test('JSONL: text and label, BOM, CRLF and blank lines; other keys ignored and listed', () => {
    const text = '\ufeff{"text": "a", "label": 0, "id": 7}\r\n\r\n{"text": "b", "label": 1}\r\n   \n{"text": "c", "label": 1}';
    const p = parseJsonl(text, 'x.jsonl');
    expect(p.rows).toEqual([{ text: 'a', label: 0 }, { text: 'b', label: 1 }, { text: 'c', label: 1 }]);
    expect(p.labelNames).toEqual(['0', '1']);
    expect(p.labelMapping).toBe('ids');
    expect(p.report).toMatchObject({ rows: 3, textColumns: ['text'], labelColumn: 'label', ignoredColumns: ['id'] });
  });

  test('CSV (RFC 4180): quoted commas, doubled quotes, newlines inside quotes, CRLF, a lone " kept, a trailing empty field', () => {
    const text = 'id,text,label\r\n1,"a, b",0\r\n2,"say ""hi""",1\r\n3,"two\nlines",1\r\n4,5" screen,0\n5,,1\n';
    const p = parseCsv(text, 'x.csv');
    expect(p.rows).toEqual([
      { text: 'a, b', label: 0 }, { text: 'say "hi"', label: 1 }, { text: 'two\nlines', label: 1 }, { text: '5" screen', label: 0 },
    ]);
    // Line 6 has an empty text: skipped and counted, at its line (the quoted newline moved it down by one).
    expect(p.report.emptyText).toEqual({ count: 1, at: [7] });
    expect(p.report.ignoredColumns).toEqual(['id']);
  });

  test('TSV by extension; parseLabelledFile picks the format by extension, else by the first character', () => {
    expect(parseCsv('text\tlabel\na, b\t1\nc\t0\n', 'x.tsv').rows).toEqual([{ text: 'a, b', label: 1 }, { text: 'c', label: 0 }]);
    expect(parseLabelledFile(jsonl([{ text: 'a', label: 0 }, { text: 'b', label: 1 }]), 'upload').rows).toHaveLength(2);
    expect(parseLabelledFile('text,label\na,0\nb,1\n', 'upload').rows).toHaveLength(2);
  });

  test('column names: title + description joined as AG News does; sentence, content; class, category, target; any case', () => {
    const agCsv = 'Class,Title,Description\n3,Wall St. Bears,Reuters - Short-sellers\n4,Carlyle,"Reuters - Private, equity"\n1,a,b\n2,c,d\n';
    const ag = parseCsv(agCsv, 'ag.csv');
    expect(ag.rows.slice(0, 2)).toEqual([{ text: 'Wall St. Bears Reuters - Short-sellers', label: 2 }, { text: 'Carlyle Reuters - Private, equity', label: 3 }]);
    expect(ag.report.textColumns).toEqual(['Title', 'Description']);
    expect(ag.report.labelColumn).toBe('Class');
    expect(parseJsonl(jsonl([{ sentence: 'a', category: 0 }, { sentence: 'b', category: 1 }]), 's.jsonl').report)
      .toMatchObject({ textColumns: ['sentence'], labelColumn: 'category' });
    expect(parseJsonl(jsonl([{ content: 'a', target: 0 }, { content: 'b', target: 1 }]), 'c.jsonl').report)
      .toMatchObject({ textColumns: ['content'], labelColumn: 'target' });
    // `text` wins over title + description when both are there.
    expect(parseJsonl(jsonl([{ title: 't', description: 'd', text: 'x', label: 0 }, { text: 'y', title: '', description: '', label: 1 }]), 'w.jsonl').rows[0])
      .toEqual({ text: 'x', label: 0 });
  });

  test('labels: ids 1…K (the original AG News CSV) become 0…K−1, and the report says so', () => {
    const p = parseCsv('label,text\n1,a\n4,b\n2,c\n3,d\n', 'ag.csv');
    expect(p.rows.map((r) => r.label)).toEqual([0, 3, 1, 2]);
    expect(p.labelMapping).toBe('one-based ids');
    expect(p.labelNames).toEqual(['1', '2', '3', '4']);
  });

  test('labels: names map to the names given, case-insensitively ("Sports" → 1); ids still work beside them', () => {
    const p = parseCsv('text,label\na,Sports\nb,sci/tech\nc,World\nd,2\n', 'n.csv', { labelNames: AG_NEWS_LABEL_NAMES });
    expect(p.rows.map((r) => r.label)).toEqual([1, 3, 0, 2]);
    expect(p.labelNames).toEqual([...AG_NEWS_LABEL_NAMES]);
    expect(p.labelMapping).toBe('given names');
  });

  test('labels: names without names given are classes in sorted order, the same however the rows are ordered', () => {
    const a = parseCsv('text,label\nx,pos\ny,neg\nz,neutral\n', 'a.csv');
    const b = parseCsv('text,label\nz,neutral\nx,pos\ny,neg\n', 'b.csv');
    expect(a.labelNames).toEqual(['neg', 'neutral', 'pos']);
    expect(a.labelMapping).toBe('sorted names');
    expect(b.labelNames).toEqual(a.labelNames);
    expect(a.rows.find((r) => r.text === 'x')!.label).toBe(2);
    expect(b.rows.find((r) => r.text === 'x')!.label).toBe(2);
  });

  test('any number of classes ≥ 2: seven classes', () => {
    const rows = Array.from({ length: 14 }, (_, i) => ({ text: `t${i}`, label: i % 7 }));
    expect(parseJsonl(jsonl(rows), 'seven.jsonl').labelNames).toHaveLength(7);
  });

  test('empty texts are skipped and counted; repeated rows with the same label are skipped and counted', () => {
    const text = jsonl([
      { text: 'a', label: 0 }, { text: '  ', label: 1 }, { text: 'b', label: 1 }, { text: 'a', label: 0 }, { text: null, label: 0 }, { text: 'a', label: 0 },
    ]);
    const p = parseJsonl(text, 'd.jsonl');
    expect(p.rows).toEqual([{ text: 'a', label: 0 }, { text: 'b', label: 1 }]);
    expect(p.report.emptyText).toEqual({ count: 2, at: [2, 5] });
    expect(p.report.duplicates).toEqual({ count: 2, at: [4, 6] });
  });

  test("conflicting duplicates with conflicts: 'drop' remove every copy and are counted", () => {
    const text = jsonl([{ text: 'a', label: 0 }, { text: 'b', label: 1 }, { text: 'a', label: 1 }, { text: 'c', label: 0 }]);
    const p = parseJsonl(text, 'c.jsonl', { conflicts: 'drop' });
    expect(p.rows).toEqual([{ text: 'b', label: 1 }, { text: 'c', label: 0 }]);
    expect(p.report.conflicts).toEqual({ count: 2, at: [1, 3] });
  });
});

describe('parsing: every rejected form names the file, line and field', () => {
  const cases: [string, 'csv' | 'jsonl', string, string, LabelOptions?][] = [
    ['invalid JSON', 'jsonl', '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n{"text": "c", label: 1}\n', 'f.jsonl, line 3: not valid JSON'],
    ['a line that is not an object', 'jsonl', '{"text": "a", "label": 0}\n[1, 2]\n', 'f.jsonl, line 2: expected a JSON object like {"text": "…", "label": 0}, got an array'],
    ['no text column', 'csv', 'body,label\nx,0\n', 'f.csv: text: no text column: expected one named text, sentence, content, or title and description; the columns are "body", "label"'],
    ['no label column', 'jsonl', '{"text": "a", "stars": 1}\n', 'f.jsonl: label: no label column: expected one named label, class, category, target; the columns are "text", "stars"'],
    ['title without description', 'csv', 'title,label\nx,0\n', 'f.csv: text: no text column'],
    ['a missing label key', 'jsonl', '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n\n{"text": "c"}\n', 'f.jsonl, line 4: label: is missing'],
    ['a missing text key', 'jsonl', '{"text": "a", "label": 0}\n{"label": 1}\n', 'f.jsonl, line 2: text: is missing'],
    ['a missing description', 'jsonl', '{"title": "a", "description": "b", "label": 0}\n{"title": "c", "label": 1}\n', 'f.jsonl, line 2: description: is missing'],
    ['a text that is a number', 'jsonl', '{"text": "a", "label": 0}\n{"text": 5, "label": 1}\n', 'f.jsonl, line 2: text: must be a string, got 5'],
    ['a fractional label', 'jsonl', '{"text": "a", "label": 0}\n{"text": "b", "label": 1.5}\n', 'f.jsonl, line 2: label: must be an integer class id or a class name, got 1.5'],
    ['a fractional label in CSV', 'csv', 'text,label\na,0\nb,2.5\n', 'f.csv, line 3: label: must be an integer class id or a class name, got "2.5"'],
    ['an empty label', 'csv', 'text,label\na,0\nb, \n', 'f.csv, line 3: label: is empty'],
    ['a boolean label', 'jsonl', '{"text": "a", "label": true}\n', 'f.jsonl, line 1: label: must be an integer class id or a class name, got true'],
    ['a negative label', 'csv', 'text,label\na,0\nb,1\nc,-1\n', 'f.csv, line 4: label: -1 is negative: class ids are 0…K−1'],
    ['an id out of the given range', 'csv', 'text,label\na,0\nb,4\n', 'f.csv, line 3: label: 4 is out of range: this dataset has 4 classes, ids 0–3 (World, Sports, Business, Sci/Tech)', { labelNames: AG_NEWS_LABEL_NAMES }],
    ['an unknown class name', 'csv', 'text,label\na,Sports\nb,Weather\n', 'f.csv, line 3: label: "Weather" is not a class name: this dataset has 4 classes', { labelNames: AG_NEWS_LABEL_NAMES }],
    ['a missing class id', 'csv', 'text,label\na,0\nb,1\nc,3\n', 'f.csv: label: no row has class 2, but ids go up to 3'],
    ['ids and names mixed', 'csv', 'text,label\na,0\nb,1\nc,Sports\n', 'f.csv, line 4: label: the class name "Sports", but f.csv line 2 has the class id 0: use ids or names, not both'],
    ['one class only', 'csv', 'text,label\na,0\nb,0\n', 'f.csv: label: only one class (0): a classifier needs at least 2'],
    ['no rows with text', 'csv', 'text,label\n,0\n', 'f.csv: label: no rows with text: nothing to learn from'],
    ['a header and nothing else', 'csv', 'text,label\n', 'f.csv: has no rows'],
    ['an empty file', 'jsonl', '\n\n', 'f.jsonl: has no rows'],
    ['too many class names for the rows', 'csv', `text,label\n${Array.from({ length: 30 }, (_, i) => `t${i},name${i}`).join('\n')}\n`, 'f.csv: label: 30 distinct class names in 30 rows: is this really the label column?'],
    ['a conflicting duplicate', 'jsonl', '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n{"text": "a", "label": 1}\n', 'f.jsonl, line 3: text: the same text as f.jsonl line 1, which has label 0 (here 1): fix one of them'],
    ['an extra field', 'csv', 'text,label\na,0\nb,c,1\n', 'f.csv, line 3: columns: 3 fields, but the header has 2 (text, label): quote a text that contains the delimiter'],
    ['a missing field', 'csv', 'text,label,source\na,0,x\nb,1\n', 'f.csv, line 3: columns: 2 fields, but the header has 3 (text, label, source)'],
    ['an unclosed quote', 'csv', 'text,label\na,0\n"b,1\nc,0\n', 'f.csv, line 3: a quoted field opened here is never closed'],
    ['text after a closing quote', 'csv', 'text,label\n"a" b,0\n', 'f.csv, line 2: text: unexpected " " after a closing quote'],
    ['a duplicated header', 'csv', 'text,Text,label\na,b,0\n', 'f.csv, line 1: Text: this column name appears twice in the header'],
    ['U+FFFD in a text', 'jsonl', '{"text": "a", "label": 0}\n{"text": "caf\ufffd", "label": 1}\n', 'f.jsonl, line 2: text: contains U+FFFD'],
    ['a NUL byte', 'csv', 'text,label\na,0\nb\0,1\n', 'f.csv, line 3: contains a NUL character: this is not a text file'],
    ['a text over the limit', 'csv', 'text,label\na,0\nbbbbbbbbbbb,1\n', 'f.csv, line 3: text: 11 characters, more than the limit of 10', { limits: { maxTextChars: 10 } }],
    ['too many rows', 'jsonl', jsonl([0, 1, 0, 1].map((label, i) => ({ text: `t${i}`, label }))), 'f.jsonl, line 4: more than the limit of 3 rows', { limits: { maxRows: 3 } }],
    ['a file over the limit', 'csv', 'text,label\na,0\nb,1\n', 'f.csv: the file is larger than the limit of 10 bytes', { limits: { maxFileBytes: 10 } }],
    ['an id above the class limit', 'csv', 'text,label\na,0\nb,5000\n', 'f.csv, line 3: label: 5,000 is above the limit of 1,000 classes'],
  ];

  test.each(cases)('%s', (_name, format, text, message, opts) => {
    const parse = () => (format === 'csv' ? parseCsv(text, 'f.csv', opts) : parseJsonl(text, 'f.jsonl', opts));
    let caught: unknown = null;
    try {
      parse();
    } catch (e) {
      caught = e;
    }
    expect(caught, 'parsing must fail').toBeInstanceOf(DataError);
    expect((caught as Error).message.startsWith(message), `got: ${(caught as Error).message}`).toBe(true);
  });

  test('decodeUtf8: invalid bytes are named by line; UTF-16 is named; valid UTF-8 decodes', () => {
    const good = new TextEncoder().encode('text,label\ncafé,0\n');
    expect(decodeUtf8(good, 'ok.csv')).toBe('text,label\ncafé,0\n');
    const bad = Uint8Array.from([...new TextEncoder().encode('text,label\na,0\ncaf'), 0xe9, ...new TextEncoder().encode(',1\n')]);
    expect(() => decodeUtf8(bad, 'latin1.csv')).toThrow(/^latin1\.csv, line 3: invalid UTF-8 at byte offset 18: save the file as UTF-8$/);
    expect(() => decodeUtf8(Uint8Array.from([0xff, 0xfe, 0x74, 0]), 'wide.csv')).toThrow(/^wide\.csv: the file is UTF-16: save it as UTF-8$/);
    expect(() => decodeUtf8(good, 'big.csv', { maxFileBytes: 4, maxRows: 10, maxTextChars: 10, maxClasses: 10 })).toThrow(/^big\.csv: 19 bytes is larger than the limit of 4$/);
  });
});

// --- splits ----------------------------------------------------------------------

/** Rows with `perClass[k]` rows of class k, texts unique. */
function rowsOf(perClass: number[], prefix = 'r'): LabelledRow[] {
  return perClass.flatMap((n, label) => Array.from({ length: n }, (_, i) => ({ text: `${prefix}${label}-${i}`, label })));
}

const texts = (rows: LabelledRow[]) => rows.map((r) => r.text);

describe('stratified samples and splits', () => {
  test('stratifiedSample: class-balanced, seeded (same key, same rows; another key, others), no row twice', () => {
    const rows = rowsOf([100, 100, 100, 100]);
    const a = stratifiedSample(rows, 40, keyFromSeed(1));
    expect(classCounts(a, 4)).toEqual([10, 10, 10, 10]);
    expect(new Set(texts(a)).size).toBe(40);
    expect(texts(stratifiedSample(rows, 40, keyFromSeed(1)))).toEqual(texts(a));
    expect(texts(stratifiedSample(rows, 40, keyFromSeed(2)))).not.toEqual(texts(a));
    // The classes are interleaved, not in blocks.
    expect(a.slice(0, 10).map((r) => r.label)).not.toEqual(new Array(10).fill(a[0]!.label));
  });

  test('stratifiedSample: as balanced as the data allows (a rare class gives its share to the others); odd rows spread', () => {
    expect(classCounts(stratifiedSample(rowsOf([2, 50, 50]), 30, keyFromSeed(3)), 3)).toEqual([2, 14, 14]);
    const odd = classCounts(stratifiedSample(rowsOf([50, 50, 50, 50]), 42, keyFromSeed(4)), 4);
    expect(odd.reduce((a, b) => a + b)).toBe(42);
    expect(Math.max(...odd) - Math.min(...odd)).toBe(1);
    expect(() => stratifiedSample(rowsOf([3, 3]), 7, keyFromSeed(1), 'pool')).toThrow(/^pool: asks for 7 rows but only 6 exist$/);
  });

  const dataset = (splits: Record<string, LabelledRow[]>, k = 4): LabelledDataset => ({
    name: 't', source: { kind: 'file', fileName: 't' }, labelNames: Array.from({ length: k }, (_, i) => String(i)), splits,
  });

  test('makeLabelledSplits: test from "test", pool and validation from "train"; disjoint, balanced, seeded', () => {
    const train = rowsOf([300, 300, 300, 300], 'train');
    const test = rowsOf([100, 100, 100, 100], 'test');
    // One text in both of the dataset's own splits (AG News has such a pair): it must not end up in two sets.
    const shared = { text: 'shared', label: 0 };
    const ds = dataset({ train: [...train, shared], test: [...test, shared] });
    const s = makeLabelledSplits(ds, { pool: 900, val: 200, test: 401 }, keyFromSeed(7));
    expect(s.from).toEqual({ test: ['test'], val: ['train'], pool: ['train'] });
    expect([s.pool.length, s.val.length, s.test.length]).toEqual([900, 200, 401]);
    expect(classCounts(s.val, 4)).toEqual([50, 50, 50, 50]);
    expect(classCounts(s.pool, 4)).toEqual([225, 225, 225, 225]);
    const all = [...texts(s.pool), ...texts(s.val), ...texts(s.test)];
    expect(new Set(all).size, 'no text in two sets').toBe(all.length);
    expect(texts(s.test)).toContain('shared');
    expect(s.test.every((r) => r.text.startsWith('test') || r.text === 'shared')).toBe(true);

    const again = makeLabelledSplits(ds, { pool: 900, val: 200, test: 401 }, keyFromSeed(7));
    expect([texts(again.pool), texts(again.val), texts(again.test)]).toEqual([texts(s.pool), texts(s.val), texts(s.test)]);
    const other = makeLabelledSplits(ds, { pool: 900, val: 200, test: 401 }, keyFromSeed(8));
    expect(texts(other.test)).not.toEqual(texts(s.test));
    // A bigger pool leaves the test and validation sets as they were.
    const bigger = makeLabelledSplits(ds, { pool: 1000, val: 200, test: 401 }, keyFromSeed(7));
    expect(texts(bigger.test)).toEqual(texts(s.test));
    expect(texts(bigger.val)).toEqual(texts(s.val));
  });

  test('makeLabelledSplits: a single split (an upload) gives three disjoint sets; asking too much names the set', () => {
    const ds = dataset({ all: rowsOf([40, 40, 20]) }, 3);
    const s = makeLabelledSplits(ds, { pool: 60, val: 15, test: 15 }, keyFromSeed(1));
    expect(s.from).toEqual({ test: ['all'], val: ['all'], pool: ['all'] });
    expect(classCounts(s.test, 3)).toEqual([5, 5, 5]);
    const all = [...texts(s.pool), ...texts(s.val), ...texts(s.test)];
    expect(new Set(all).size).toBe(90);
    expect(() => makeLabelledSplits(ds, { pool: 80, val: 15, test: 15 }, keyFromSeed(1)))
      .toThrow(/^pool: asks for 80 rows but split "all" has only 70 left after the sets drawn before it$/);
    expect(() => makeLabelledSplits(dataset({ train: rowsOf([5, 5]), test: rowsOf([2, 2], 't') }, 2), { pool: 4, val: 2, test: 5 }, keyFromSeed(1)))
      .toThrow(/^test: asks for 5 rows but split "test" has only 4 left$/);
  });
});

// --- folders -----------------------------------------------------------------------

describe('loadDatasetFolder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-data-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('train*.jsonl files concatenated in name order, test.jsonl, three classes, one label scheme', () => {
    const folder = join(dir, 'three');
    const write = (name: string, rows: unknown[]) => writeFileSync(join(folder, name), jsonl(rows));
    mkdirSync(folder);
    write('train-b.jsonl', [{ text: 'b1', label: 2 }, { text: 'b2', label: 0 }]);
    write('train-a.jsonl', [{ text: 'a1', label: 0 }, { text: 'a2', label: 1 }, { text: 'b1', label: 2 }]);
    // The test split lacks class 1: fine, the classes come from all files together.
    write('test.jsonl', [{ text: 'b1', label: 2 }, { text: 't1', label: 0 }]);
    write('notes.txt', []);
    const { dataset, reports } = loadDatasetFolder(folder, { labelNames: ['x', 'y', 'z'] });
    expect(dataset.splits.train).toEqual([{ text: 'a1', label: 0 }, { text: 'a2', label: 1 }, { text: 'b1', label: 2 }, { text: 'b2', label: 0 }]);
    expect(dataset.splits.test).toEqual([{ text: 'b1', label: 2 }, { text: 't1', label: 0 }]);
    expect(dataset.labelNames).toEqual(['x', 'y', 'z']);
    expect(dataset.source).toMatchObject({ kind: 'folder', files: ['train-a.jsonl', 'train-b.jsonl', 'test.jsonl'] });
    expect(reports.find((r) => r.source === 'train-b.jsonl')!.duplicates).toEqual({ count: 1, at: [1] });

    write('train-b.jsonl', [{ text: 'b1', label: 2 }, { text: 'b2', label: 'zz' }]);
    expect(() => loadDatasetFolder(folder, { labelNames: ['x', 'y', 'z'] })).toThrow(/^train-b\.jsonl, line 2: label: "zz" is not a class name/);
    rmSync(join(folder, 'test.jsonl'));
    expect(() => loadDatasetFolder(folder)).toThrow(/: no test\.jsonl file \(found: notes\.txt, train-a\.jsonl, train-b\.jsonl\)$/);
    expect(() => loadDatasetFolder(join(dir, 'missing'))).toThrow(/cannot read the folder/);
  });

  test('class names for a folder: a flag, else labels.txt, else AG News\'s for a folder named ag_news, else the ids', () => {
    const folder = join(dir, 'named');
    mkdirSync(folder);
    writeFileSync(join(folder, 'train.jsonl'), jsonl([{ text: 'a', label: 0 }, { text: 'b', label: 1 }]));
    writeFileSync(join(folder, 'test.jsonl'), jsonl([{ text: 'c', label: 1 }]));
    expect(folderLabelNames(folder)).toEqual({ names: null, from: expect.stringMatching(/^none: .*labels\.txt/) });
    writeFileSync(join(folder, 'labels.txt'), '\ufeffNegative\r\n  Positive \n\n');
    expect(folderLabelNames(folder)).toEqual({ names: ['Negative', 'Positive'], from: 'labels.txt' });
    expect(folderLabelNames(folder, ['no', 'yes'])).toEqual({ names: ['no', 'yes'], from: 'given' });
    expect(loadDatasetFolder(folder, { labelNames: folderLabelNames(folder).names! }).dataset.labelNames).toEqual(['Negative', 'Positive']);
    // Too few names for the ids in the data: the row is named.
    writeFileSync(join(folder, 'labels.txt'), 'Negative\n');
    expect(() => loadDatasetFolder(folder, { labelNames: folderLabelNames(folder).names! })).toThrow(/need at least 2 classes/);
    const agNewsNamed = join(dir, 'ag_news');
    mkdirSync(agNewsNamed);
    expect(folderLabelNames(agNewsNamed)).toEqual({ names: [...AG_NEWS_LABEL_NAMES], from: expect.stringContaining('named ag_news') });
    expect(parseRunArgs(['symbiosis', '--data', folder, '--label-names', 'no, yes']).labelNames).toEqual(['no', 'yes']);
    expect(() => parseRunArgs(['symbiosis', '--label-names', 'only'])).toThrow(/^--label-names: expected two or more names/);
    expect(() => parseRunArgs(['symbiosis', '--label-names', 'a,,b'])).toThrow(/^--label-names: /);
  });

  const agNews = new URL('../../../shared/data/ag_news', import.meta.url).pathname;
  test.skipIf(!existsSync(agNews))('the real AG News folder: 7,600 test rows, 4 classes, 1,900 each', () => {
    const { dataset, labelMapping } = loadDatasetFolder(agNews, { labelNames: AG_NEWS_LABEL_NAMES });
    expect(labelMapping).toBe('ids');
    expect(dataset.labelNames).toEqual([...AG_NEWS_LABEL_NAMES]);
    expect(dataset.splits.test).toHaveLength(7600);
    expect(classCounts(dataset.splits.test!, 4)).toEqual([1900, 1900, 1900, 1900]);
    expect(dataset.splits.train).toHaveLength(5000);
    // The write-up's sizes come out balanced and disjoint.
    const s = makeLabelledSplits(dataset, { pool: 1000, val: 200, test: 500 }, keyFromSeed(1));
    expect(classCounts(s.test, 4)).toEqual([125, 125, 125, 125]);
    expect(classCounts(s.pool, 4)).toEqual([250, 250, 250, 250]);
  });
  if (!existsSync(agNews)) console.log(`skipped the real AG News check: ${agNews} is not there`);
});

describe('uploads of several files, and class names', () => {
  const train = { fileName: 'news-train.jsonl', text: '{"text": "cup final tonight", "label": 1}\n{"text": "rates rise", "label": 2}\n{"text": "new chip", "label": 0}\n' };
  const test_ = { fileName: 'news-test.csv', text: 'text,label\nleague table,1\nbank merger,2\nfaster cpu,0\n' };
  const labels = { fileName: 'labels.txt', text: '\ufeffTech\r\nSports\n\nMoney\n' };

  test('roles by name: one data file is "all"; several are train and test (by "test" in the name); a .txt names the classes', () => {
    expect(uploadRoles(['a.csv'])).toEqual({ splits: { all: ['a.csv'] }, labels: null });
    expect(uploadRoles(['x-test.jsonl', 'labels.txt', 'x-1.jsonl', 'x-2.jsonl'])).toEqual({
      splits: { train: ['x-1.jsonl', 'x-2.jsonl'], test: ['x-test.jsonl'] }, labels: 'labels.txt',
    });
    expect(() => uploadRoles(['a.csv', 'b.csv'])).toThrow(/^a\.csv, b\.csv: .*which is the test split cannot be told: put "test" in the test file's name/);
    expect(() => uploadRoles(['a-test.csv', 'b-test.csv'])).toThrow(/which is the test split cannot be told/);
    expect(() => uploadRoles(['a.txt', 'b.txt', 'c.csv'])).toThrow(/^a\.txt, b\.txt: more than one \.txt file/);
    expect(() => uploadRoles(['labels.txt'])).toThrow(/no CSV or JSONL file among them/);
  });

  test('a train and a test file in different formats read with one label scheme, named by the .txt file', () => {
    const parsed = parseUpload([labels, test_, train]);
    expect(parsed.labelNames).toEqual(['Tech', 'Sports', 'Money']);
    expect(parsed.files).toEqual({ train: ['news-train.jsonl'], test: ['news-test.csv'] });
    expect(parsed.splits.train).toEqual([{ text: 'cup final tonight', label: 1 }, { text: 'rates rise', label: 2 }, { text: 'new chip', label: 0 }]);
    expect(parsed.splits.test).toEqual([{ text: 'league table', label: 1 }, { text: 'bank merger', label: 2 }, { text: 'faster cpu', label: 0 }]);
    // Without names the ids stay; a label the names do not cover is named by file, line and field.
    expect(parseUpload([train, test_]).labelNames).toEqual(['0', '1', '2']);
    expect(() => parseUpload([train, { fileName: 'labels.txt', text: 'A\nB\n' }])).toThrow(/news-train\.jsonl, line 2: label: 2 is out of range: this dataset has 2 classes/);
    expect(() => readClassNames('Only\n', 'names.txt')).toThrow(/^names\.txt: names 1 class: list at least 2/);
  });

  test('class names: one per class, non-empty, distinct ignoring case', () => {
    expect(classNamesProblem(['World', 'Sports'], 2)).toBeNull();
    expect(classNamesProblem(['World'], 2)).toBe('1 names for 2 classes: give one name per class');
    expect(classNamesProblem(['World', '  '], 2)).toBe('class 1 has no name');
    expect(classNamesProblem(['Sports', ' sports '], 2)).toBe('classes 0 and 1 are both called "sports"');
    expect(classNamesProblem(['a', 'x'.repeat(81)], 2)).toBe("class 1's name is longer than 80 characters");
  });
});
