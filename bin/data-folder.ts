/**
 * A labelled dataset from a folder, for the headless runner and benchmarks:
 *   train*.jsonl   one or more files, read in name order and concatenated
 *   test.jsonl     the test split
 * in the AG News JSONL format (lines like {"text": "…", "label": 2}), any
 * number of classes, validated with the same parser as an upload (one label
 * scheme across all files, duplicates removed within each split). Throws a
 * DataError naming the file, line and field.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  DataError, type LabelMapping, type LabelOptions, type LabelledDataset, type TableReport, decodeUtf8, labelTables, readJsonl,
} from '../src/core/data/labelled';

export interface LoadedFolder {
  dataset: LabelledDataset;
  labelMapping: LabelMapping;
  /** One per file: the columns used and the rows skipped. */
  reports: TableReport[];
}

/** Load `dir` (see the file comment). `opts.labelNames` names the classes (e.g. AG_NEWS_LABEL_NAMES); else they are "0", "1", …. */
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
