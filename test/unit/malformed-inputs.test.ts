/**
 * Malformed inputs, one table: share links, config fields, uploads (CSV,
 * JSONL, plain text), run imports and model/data folders, each fed through
 * the same function the page, the worker or the headless runner calls, each
 * expected to be refused with a message that names the field or the line
 * (`names`, a regular expression over the message). No row may be accepted,
 * and no row may fail with a message that does not say where.
 *
 * MALFORMED_PRINT=1 prints the table with each message (docs/faults.md
 * quotes it): `MALFORMED_PRINT=1 npx vitest run test/unit/malformed-inputs.test.ts`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { datasetInputFromFolder } from '../../bin/data-folder';
import { headlessEmbed } from '../../bin/run-experiment';
import { parsePlainText } from '../../src/core/corpus/plain-text';
import { parseCsv, parseJsonl } from '../../src/core/data/labelled';
import { coerceOverrides, hashToLink, resolveConfig } from '../../src/experiments/config';
import { experimentByName } from '../../src/experiments';
import { uploadedCorpus } from '../../src/experiments/collapse/corpus';
import { RUN_FILE_FORMAT, RUN_FILE_VERSION, parseRunFile } from '../../src/experiments/run-file';
import { parseDatasetInput } from '../../src/experiments/symbiosis/dataset';
import { keyFromSeed } from '../../src/core/rng';

interface Row {
  kind: 'share link' | 'config field' | 'upload CSV' | 'upload JSONL' | 'upload text' | 'upload dataset' | 'run import' | 'folder';
  input: string;
  /** Feed the input; must throw. */
  feed: () => unknown;
  /** What the message must name (the field or the line). */
  names: RegExp;
}

/** A share link through the worker's path: parse the hash, coerce its strings, resolve against the schema. */
function shareLink(hash: string): unknown {
  const link = hashToLink(hash);
  if (!link) throw new Error('not a lab link');
  const exp = experimentByName(link.experiment);
  return resolveConfig(exp, link.preset, coerceOverrides(exp.config.fields, link.overrides));
}

function config(experiment: string, overrides: Record<string, unknown>): unknown {
  return resolveConfig(experimentByName(experiment), null, overrides);
}

const bytes = (s: string) => new TextEncoder().encode(s);

/** A run file's header line, with `patch` merged into its `run` (or replacing top-level keys). */
function header(patch: { run?: Record<string, unknown>; counts?: Record<string, number>; top?: Record<string, unknown> } = {}): string {
  const exp = experimentByName('self-improve');
  return JSON.stringify({
    format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION,
    counts: { metrics: 0, samples: 0, dataset: 0, ...patch.counts },
    run: {
      experiment: 'self-improve', preset: null, seed: 1, config: exp.config.defaults, environment: { backend: 'cpu' },
      status: 'done', summary: null, ...patch.run,
    },
    ...patch.top,
  });
}

const dirs: string[] = [];
/** A temporary folder holding `files`. */
function folder(files: Record<string, string>, name = 'data'): string {
  const root = mkdtempSync(join(tmpdir(), 'lab-malformed-'));
  dirs.push(root);
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const GOOD_JSONL = '{"text":"a","label":0}\n{"text":"b","label":1}\n';
const SENTENCES = 'The cat sat on the mat. ';

const ROWS: Row[] = [
  // --- share links (#/lab/<experiment>?preset=…&seed=…&field=value) ---
  { kind: 'share link', input: '#/lab/self-improve?seed=-3', feed: () => shareLink('#/lab/self-improve?seed=-3'), names: /^seed:/ },
  { kind: 'share link', input: '#/lab/self-improve?seed=1e400', feed: () => shareLink('#/lab/self-improve?seed=1e400'), names: /^seed:/ },
  { kind: 'share link', input: '#/lab/self-improve?seed=abc', feed: () => shareLink('#/lab/self-improve?seed=abc'), names: /^seed:/ },
  { kind: 'share link', input: '#/lab/self-improve?preset=huge', feed: () => shareLink('#/lab/self-improve?preset=huge'), names: /preset: unknown preset 'huge'/ },
  { kind: 'share link', input: '#/lab/self-improve?nLayerz=2', feed: () => shareLink('#/lab/self-improve?nLayerz=2'), names: /nLayerz/ },
  { kind: 'share link', input: '#/lab/self-improve?batchSize=ten', feed: () => shareLink('#/lab/self-improve?batchSize=ten'), names: /batchSize/ },
  { kind: 'share link', input: '#/lab/self-improve?families=reverse,<script>', feed: () => shareLink('#/lab/self-improve?families=reverse,%3Cscript%3E'), names: /families/ },
  { kind: 'share link', input: '#/lab/self-improve?dModel=64&nHeads=5', feed: () => shareLink('#/lab/self-improve?dModel=64&nHeads=5'), names: /nHeads/ },
  { kind: 'share link', input: '#/lab/collapse?temperature=0', feed: () => shareLink('#/lab/collapse?temperature=0'), names: /temperature/ },
  { kind: 'share link', input: '#/lab/nope?seed=1', feed: () => shareLink('#/lab/nope?seed=1'), names: /nope/ },
  { kind: 'share link', input: '#/lab/self-improve?restartFromBase=maybe', feed: () => shareLink('#/lab/self-improve?restartFromBase=maybe'), names: /restartFromBase/ },

  // --- config fields (the form and the worker: resolveConfig) ---
  { kind: 'config field', input: 'self-improve learningRate: 2', feed: () => config('self-improve', { learningRate: 2 }), names: /learningRate/ },
  { kind: 'config field', input: 'self-improve batchSize: 0', feed: () => config('self-improve', { batchSize: 0 }), names: /batchSize/ },
  { kind: 'config field', input: 'self-improve batchSize: 2.5', feed: () => config('self-improve', { batchSize: 2.5 }), names: /batchSize/ },
  { kind: 'config field', input: 'self-improve iterations: "4"', feed: () => config('self-improve', { iterations: '4' }), names: /iterations/ },
  { kind: 'config field', input: 'self-improve temperature: NaN', feed: () => config('self-improve', { temperature: NaN }), names: /temperature/ },
  { kind: 'config field', input: 'self-improve families: []', feed: () => config('self-improve', { families: [] }), names: /families/ },
  { kind: 'config field', input: 'self-improve minDifficulty 5 > maxDifficulty 2', feed: () => config('self-improve', { minDifficulty: 5, maxDifficulty: 2 }), names: /Difficulty/ },
  { kind: 'config field', input: 'self-improve passK 9 > passSamples 2', feed: () => config('self-improve', { passK: 9, passSamples: 2 }), names: /pass(K|Samples)/ },
  { kind: 'config field', input: 'collapse corpus: "novel"', feed: () => config('collapse', { corpus: 'novel' }), names: /corpus/ },
  { kind: 'config field', input: 'collapse realMixFraction: -0.1', feed: () => config('collapse', { realMixFraction: -0.1 }), names: /realMixFraction/ },
  { kind: 'config field', input: 'collapse modes: ["replace","bogus"]', feed: () => config('collapse', { modes: ['replace', 'bogus'] }), names: /modes/ },
  { kind: 'config field', input: 'symbiosis generations: 1000', feed: () => config('symbiosis', { generations: 1000 }), names: /generations/ },
  { kind: 'config field', input: 'symbiosis generator: "gpt4"', feed: () => config('symbiosis', { generator: 'gpt4' }), names: /generator/ },
  { kind: 'config field', input: 'symbiosis extra field: { evil: 1 }', feed: () => config('symbiosis', { evil: 1 }), names: /evil/ },

  // --- uploads: CSV ---
  { kind: 'upload CSV', input: 'no header row (empty file)', feed: () => parseCsv('', 'news.csv'), names: /news\.csv/ },
  { kind: 'upload CSV', input: 'header without a text column', feed: () => parseCsv('title,label\nhello,1\n', 'news.csv'), names: /news\.csv.*(text|column)/ },
  { kind: 'upload CSV', input: 'an unclosed quote on line 3', feed: () => parseCsv('text,label\n"a",0\n"b,1\n', 'news.csv'), names: /line 3/ },
  { kind: 'upload CSV', input: 'a row with too many cells (line 3)', feed: () => parseCsv('text,label\na,0\nb,1,extra\n', 'news.csv'), names: /line 3/ },
  { kind: 'upload CSV', input: 'a NUL byte on line 2', feed: () => parseCsv('text,label\na\0,0\n', 'news.csv'), names: /line 2/ },
  { kind: 'upload CSV', input: 'a label of one class only', feed: () => parseCsv('text,label\na,0\nb,0\nc,0\n', 'news.csv'), names: /label/ },

  // --- uploads: JSONL ---
  { kind: 'upload JSONL', input: 'line 2 is not JSON', feed: () => parseJsonl('{"text":"a","label":0}\n{"text":\n', 'news.jsonl'), names: /line 2/ },
  { kind: 'upload JSONL', input: 'line 2 is an array', feed: () => parseJsonl('{"text":"a","label":0}\n[1,2]\n{"text":"c","label":1}\n', 'news.jsonl'), names: /line 2/ },
  { kind: 'upload JSONL', input: 'text is a number on line 2', feed: () => parseJsonl('{"text":"a","label":0}\n{"text":5,"label":1}\n', 'news.jsonl'), names: /line 2.*text/ },
  { kind: 'upload JSONL', input: 'label missing on line 3', feed: () => parseJsonl('{"text":"a","label":0}\n{"text":"b","label":1}\n{"text":"c"}\n', 'news.jsonl'), names: /line 3.*label/ },
  { kind: 'upload JSONL', input: 'label -1 on line 2', feed: () => parseJsonl('{"text":"a","label":0}\n{"text":"b","label":-1}\n', 'news.jsonl'), names: /line 2.*label/ },
  { kind: 'upload JSONL', input: 'label 1.5 on line 2', feed: () => parseJsonl('{"text":"a","label":0}\n{"text":"b","label":1.5}\n', 'news.jsonl'), names: /line 2.*label/ },
  { kind: 'upload JSONL', input: 'UTF-16 bytes (symbiosis dataset input)', feed: () => parseDatasetInput({ name: 'news.json', bytes: new Uint8Array([0xff, 0xfe, 0x7b, 0]) }), names: /news\.json/ },

  // --- uploads: plain text (the collapse lab's corpus) ---
  { kind: 'upload text', input: 'an empty .txt', feed: () => parsePlainText(new Uint8Array(0), 'story.txt'), names: /story\.txt: the file is empty/ },
  { kind: 'upload text', input: 'a binary file (NUL at byte 3)', feed: () => parsePlainText(new Uint8Array([65, 66, 67, 0, 68]), 'story.txt'), names: /story\.txt.*byte 3/ },
  { kind: 'upload text', input: 'Latin-1, not UTF-8 (byte 4)', feed: () => parsePlainText(new Uint8Array([67, 97, 102, 101, 0xe9, 46]), 'story.txt'), names: /story\.txt.*byte 4/ },
  { kind: 'upload text', input: 'too few sentences for realSize + heldOutSize', feed: () => uploadedCorpus(config('collapse', { corpus: 'upload', realSize: 20, heldOutSize: 10 }) as never, { name: 'story.txt', bytes: bytes(SENTENCES.repeat(3)) }, keyFromSeed(1)), names: /story\.txt/ },
  { kind: 'upload text', input: "corpus 'upload' without a file", feed: () => uploadedCorpus(config('collapse', { corpus: 'upload' }) as never, undefined, keyFromSeed(1)), names: /^corpus:/ },

  // --- run imports (run.jsonl) ---
  { kind: 'run import', input: 'an empty file', feed: () => parseRunFile(''), names: /the file is empty/ },
  { kind: 'run import', input: 'someone else\'s JSONL', feed: () => parseRunFile('{"text":"a","label":0}\n'), names: /line 1.*not a Symbiosis Lab run file/ },
  { kind: 'run import', input: 'version 99', feed: () => parseRunFile(header({ top: { version: 99 } }) + '\n'), names: /line 1: version/ },
  { kind: 'run import', input: 'unknown experiment', feed: () => parseRunFile(header({ run: { experiment: 'alchemy' } }) + '\n'), names: /line 1: run\.experiment/ },
  { kind: 'run import', input: 'seed -1', feed: () => parseRunFile(header({ run: { seed: -1 } }) + '\n'), names: /line 1: run\.seed/ },
  { kind: 'run import', input: 'backend "tpu"', feed: () => parseRunFile(header({ run: { environment: { backend: 'tpu' } } }) + '\n'), names: /line 1: run\.environment\.backend/ },
  { kind: 'run import', input: 'config batchSize 0', feed: () => parseRunFile(header({ run: { config: { ...experimentByName('self-improve').config.defaults, batchSize: 0 } } }) + '\n'), names: /line 1: run\.config\.batchSize/ },
  { kind: 'run import', input: 'truncated inside line 2', feed: () => parseRunFile(header({ counts: { metrics: 1 } }) + '\n{"metrics":{"kind":"tr'), names: /line 2.*truncated/ },
  { kind: 'run import', input: 'cut at a line boundary (counts say 3 metrics)', feed: () => parseRunFile(header({ counts: { metrics: 3 } }) + '\n'), names: /counts\.metrics/ },
  { kind: 'run import', input: 'a blank line 2', feed: () => parseRunFile(header() + '\n\n'), names: /line 2/ },
  { kind: 'run import', input: 'line 2 neither metrics, samples nor dataset', feed: () => parseRunFile(header() + '\n{"other":1}\n'), names: /line 2/ },
  { kind: 'run import', input: 'a metric record of the wrong shape on line 2', feed: () => parseRunFile(header({ counts: { metrics: 1 } }) + '\n{"metrics":{"phase":5}}\n'), names: /line 2: metrics/ },
  { kind: 'run import', input: 'samples.rows not a list on line 2', feed: () => parseRunFile(header({ counts: { samples: 1 } }) + '\n{"samples":{"at":{"iteration":1},"rows":"x"}}\n'), names: /line 2: samples\.rows/ },
  { kind: 'run import', input: 'a dataset line with an empty file name', feed: () => parseRunFile(header({ counts: { dataset: 1 } }) + '\n{"dataset":"","row":{}}\n'), names: /line 2: dataset/ },

  // --- folders (the headless runner: --data DIR, --embedding-model DIR) ---
  { kind: 'folder', input: '--data: a folder that does not exist', feed: () => datasetInputFromFolder(join(tmpdir(), 'lab-no-such-folder-8d1f')), names: /lab-no-such-folder-8d1f: cannot read the folder/ },
  { kind: 'folder', input: '--data: no train*.jsonl', feed: () => datasetInputFromFolder(folder({ 'test.jsonl': GOOD_JSONL })), names: /no train\*\.jsonl/ },
  { kind: 'folder', input: '--data: no test.jsonl', feed: () => datasetInputFromFolder(folder({ 'train.jsonl': GOOD_JSONL })), names: /no test\.jsonl/ },
  { kind: 'folder', input: '--data: bad label on line 2 of train-2.jsonl', feed: () => datasetInputFromFolder(folder({ 'train-1.jsonl': GOOD_JSONL, 'train-2.jsonl': '{"text":"x","label":0}\n{"text":"y","label":"?"}\n', 'test.jsonl': GOOD_JSONL })), names: /train-2\.jsonl, line 2.*label/ },
  { kind: 'folder', input: '--data: labels.txt names fewer classes than the labels', feed: () => datasetInputFromFolder(folder({ 'train.jsonl': '{"text":"a","label":0}\n{"text":"b","label":5}\n', 'test.jsonl': GOOD_JSONL, 'labels.txt': 'one\ntwo\n' })), names: /label/ },
  { kind: 'folder', input: '--embedding-model: a folder without config.json', feed: () => headlessEmbed(folder({ 'tokenizer.json': '{}' }, 'model')), names: /--embedding-model: .*model has no config\.json/ },
];

describe('malformed inputs are refused with a message naming the field or line', () => {
  test(`the table has at least 40 rows (it has ${ROWS.length})`, () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
  });

  const printed: string[] = [];
  afterAll(() => {
    if (process.env.MALFORMED_PRINT) console.log(`\n| # | kind | input | message |\n|---|---|---|---|\n${printed.join('\n')}`);
  });

  test.each(ROWS.map((r, i) => [i + 1, r.kind, r.input, r] as const))('%i %s: %s', (i, _kind, _input, row) => {
    let message: string | null = null;
    try {
      row.feed();
    } catch (e) {
      message = e instanceof Error ? e.message : String(e);
    }
    printed.push(`| ${i} | ${row.kind} | ${row.input.replace(/\|/g, '\\|')} | ${(message ?? 'ACCEPTED').replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    expect(message, 'the input was accepted').not.toBeNull();
    expect(message).toMatch(row.names);
  });
});
