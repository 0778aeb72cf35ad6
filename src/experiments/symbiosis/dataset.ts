/**
 * The run's labelled dataset, as the host hands it over in ctx.inputs: UTF-8
 * JSON of a LabelledDataset (core/data/labelled). The page stores it with
 * the run; the headless runner builds it from a folder (--data DIR).
 */
import * as v from 'valibot';
import { DataError, type LabelledDataset } from '../../core/data/labelled';
import type { RunInput } from '../types';
import { LABEL_BYTES } from './text';

/** The name of the dataset in ctx.inputs. */
export const DATASET_INPUT = 'dataset';

const nonEmpty = v.pipe(v.string('must be a non-empty string'), v.check((s) => s.trim() !== '', 'must be a non-empty string'));

const source = v.variant('kind', [
  v.object({
    kind: v.literal('hf'), dataset: v.string(), config: v.string(), endpoint: v.string(),
    maxRowsPerSplit: v.nullable(v.number()), via: v.record(v.string(), v.picklist(['parquet', 'rows'])),
  }),
  v.object({ kind: v.literal('file'), fileName: v.string() }),
  v.object({ kind: v.literal('folder'), path: v.string(), files: v.array(v.string()) }),
], "must be {kind: 'hf' | 'file' | 'folder', …}");

const NOT_A_DATASET = 'expected a JSON object {name, source, labelNames, splits}';

/** The dataset's header: its name, where it came from, and its K class names (each class needs its own label byte). */
const header = v.object({
  name: v.string('must be a string'),
  source: v.optional(source),
  labelNames: v.pipe(
    v.array(nonEmpty, 'must be a list of class names'),
    v.check((names) => new Set(names).size === names.length, 'lists a class twice'),
    v.check((names) => names.length >= 2, (i) => `${i.input.length} class${i.input.length === 1 ? '' : 'es'}: a classifier needs at least 2`),
    v.check(
      (names) => names.length <= LABEL_BYTES.length,
      (i) => `${i.input.length} classes: the Student gives each class its own one-byte token, and there are ${LABEL_BYTES.length}`,
    ),
  ),
  splits: v.optional(v.unknown()),
}, NOT_A_DATASET);

/** Split name → rows {text, label} with label a class id 0…K−1. */
const splitsOf = (K: number) => v.pipe(
  v.record(v.string(), v.array(
    v.object({
      text: nonEmpty,
      label: v.custom<number>(
        (x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < K,
        (i) => `must be a class id 0…${K - 1}, got ${JSON.stringify(i.input)}`,
      ),
    }, 'must be an object {text, label}'),
    'must be a list of rows {text, label}',
  ), 'must be an object: split name → rows'),
  v.check((splits) => Object.keys(splits).length > 0, 'has no split'),
);

/** A valibot issue's path as the dataset's field ("splits.train[3].label"); null for the whole value. */
function fieldOf(issue: v.BaseIssue<unknown>): string | null {
  const path = issue.path?.map((p) => (p.type === 'array' ? `[${String(p.key)}]` : `.${String(p.key)}`)).join('').replace(/^\./, '');
  return path || null;
}

/** `input` checked by `schema`, or a DataError naming the first bad field. */
function parseOrFail<S extends v.GenericSchema>(schema: S, input: unknown, sourceName: string): v.InferOutput<S> {
  const r = v.safeParse(schema, input, { abortEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  // An object schema reports a missing key with the object's own message: say what it is.
  const missing = issue.type === 'object' && issue.input === undefined && issue.path !== undefined;
  throw new DataError(sourceName, null, fieldOf(issue), missing ? 'is missing' : issue.message);
}

/**
 * The run's dataset from ctx.inputs. Throws a DataError naming the field
 * (`splits.train[3].label`); a missing input says to choose a dataset.
 */
export function parseDatasetInput(input: RunInput | undefined): LabelledDataset {
  if (!input) {
    throw new DataError('dataset', null, null, 'no dataset: choose one in the setup (headless: --data DIR, a folder with train*.jsonl and test.jsonl)');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input.bytes));
  } catch (e) {
    throw new DataError(input.name, null, null, `not a dataset (expected UTF-8 JSON of a labelled dataset: ${e instanceof Error ? e.message : String(e)})`);
  }
  if (Array.isArray(json)) throw new DataError(input.name, null, null, NOT_A_DATASET);
  const d = parseOrFail(header, json, input.name);
  const splits = parseOrFail(v.object({ splits: splitsOf(d.labelNames.length) }), { splits: d.splits }, input.name).splits;
  return { name: d.name, source: d.source ?? { kind: 'file', fileName: input.name }, labelNames: d.labelNames, splits };
}
