/**
 * A labelled dataset from a folder, for the headless runner and benchmarks:
 *   train*.jsonl   one or more files, read in name order and concatenated
 *   test.jsonl     the test split
 *   labels.txt     optional: the class names, one a line, label i on line i + 1
 * in the AG News JSONL format (lines like {"text": "…", "label": 2}), any
 * number of classes, validated with the same parser as an upload (one label
 * scheme across all files, duplicates removed within each split). Throws a
 * DataError naming the file, line and field.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  AG_NEWS_LABEL_NAMES, DataError, type LabelMapping, type LabelOptions, type LabelledDataset, type TableReport, decodeUtf8, labelTables, readJsonl,
} from '../src/core/data/labelled';
import type { RunInput } from '../src/experiments/types';

export interface LoadedFolder {
  dataset: LabelledDataset;
  labelMapping: LabelMapping;
  /** One per file: the columns used and the rows skipped. */
  reports: TableReport[];
}

/**
 * The class names for a folder, and where they came from: `given` (a flag),
 * else the folder's labels.txt, else AG News's for a folder named ag_news
 * (its documented ids 0–3 = World, Sports, Business, Sci/Tech), else null
 * (the classes are then called "0", "1", …).
 */
export function folderLabelNames(dir: string, given: readonly string[] | null = null): { names: string[] | null; from: string } {
  if (given) return { names: [...given], from: 'given' };
  const file = join(resolve(dir), 'labels.txt');
  if (existsSync(file)) {
    const names = decodeUtf8(readFileSync(file), 'labels.txt').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    return { names, from: 'labels.txt' };
  }
  if (basename(resolve(dir)) === 'ag_news') return { names: [...AG_NEWS_LABEL_NAMES], from: "AG News's (the folder is named ag_news)" };
  return { names: null, from: 'none: the classes are called by their ids (add labels.txt, one name a line)' };
}

/** Load `dir` (see the file comment). `opts.labelNames` names the classes (see folderLabelNames); else they are "0", "1", …. */
export function loadDatasetFolder(dir: string, opts: LabelOptions = {}): LoadedFolder {
  const path = resolve(dir);
  let names: string[];
  try {
    names = readdirSync(path).sort();
  } catch (e) {
    throw new DataError(dir, null, null, `cannot read the folder (${(e as Error).message})`);
  }
  const trainFiles = names.filter((n) => /^train.*\.jsonl$/.test(n));
  if (trainFiles.length === 0) throw new DataError(dir, null, null, `no train*.jsonl file (found: ${names.join(', ') || 'nothing'})`);
  if (!names.includes('test.jsonl')) throw new DataError(dir, null, null, `no test.jsonl file (found: ${names.join(', ')})`);
  const read = (name: string) => readJsonl(decodeUtf8(readFileSync(join(path, name)), name), name);
  const labelled = labelTables({ train: trainFiles.map(read), test: [read('test.jsonl')] }, opts);
  return {
    dataset: {
      name: basename(path),
      source: { kind: 'folder', path, files: [...trainFiles, 'test.jsonl'] },
      labelNames: labelled.labelNames,
      splits: labelled.splits,
    },
    labelMapping: labelled.labelMapping,
    reports: labelled.reports,
  };
}

/**
 * The symbiosis experiment's `dataset` input from a folder, its classes named
 * by folderLabelNames (`labelNames` from a flag first); `namesFrom` says where
 * the names came from.
 */
export function datasetInputFromFolder(dir: string, labelNames: readonly string[] | null = null): { input: RunInput; dataset: LabelledDataset; namesFrom: string } {
  const names = folderLabelNames(dir, labelNames);
  const { dataset } = loadDatasetFolder(dir, names.names ? { labelNames: names.names } : {});
  return { input: { name: dataset.name, bytes: new TextEncoder().encode(JSON.stringify(dataset)) }, dataset, namesFrom: names.from };
}
