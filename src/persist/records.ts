/**
 * What a stored record must look like to be read: one valibot schema per
 * store (db.ts has the TypeScript shapes they check). IndexedDB keeps
 * whatever was put, so a record can come back damaged — written by a
 * buggy or foreign build, edited in DevTools, cut short by a disk error —
 * and a damaged record must cost only itself: the store checks each one as
 * it reads it, leaves out the bad ones and names them (store, key, field),
 * and every other run and record stays readable (docs/security.md, "stored
 * records").
 *
 * The schemas check the fields this build reads, loosely (extra keys pass):
 * free-form values (config, summary, checkpoint state) are checked by their
 * experiment where they are used, not here.
 */
import * as v from 'valibot';
import { describeIssue } from '../experiments/schemas';

const num = v.number('must be a number');
const whole = v.pipe(num, v.integer('must be a whole number'), v.minValue(0, 'must be ≥ 0'));
const text = v.string('must be text');
const obj = v.record(v.string(), v.unknown(), 'must be an object');
const buffer = v.instance(ArrayBuffer, 'must be binary data (an ArrayBuffer)');

/** The fields of a run record the history and every reader rely on. */
export const runRecord = v.looseObject({
  id: text,
  formatVersion: num,
  experiment: text,
  preset: v.nullable(text),
  seed: whole,
  config: obj,
  overrides: obj,
  environment: v.looseObject({ backend: v.picklist(['cpu', 'webgpu'], "must be 'cpu' or 'webgpu'") }),
  status: v.picklist(['running', 'done', 'failed', 'cancelled'], 'must be running, done, failed or cancelled'),
  heartbeatAt: num,
  createdAt: num,
  updatedAt: num,
  error: v.nullable(text),
  lastCheckpoint: v.nullable(text),
  metricCount: whole,
  sampleCount: whole,
  checkpointCount: whole,
  storedBytes: v.looseObject({
    metrics: num,
    samples: num,
    checkpoints: v.record(v.string(), num, 'must be an object of byte counts'),
    inputs: v.optional(num),
  }),
  importedFrom: v.nullable(text),
});

export const metricRow = v.looseObject({
  formatVersion: num,
  runId: text,
  seq: whole,
  record: v.looseObject({ kind: text }),
});

export const sampleSetRow = v.looseObject({
  formatVersion: num,
  runId: text,
  seq: whole,
  at: obj,
  rows: v.array(v.unknown(), 'must be a list of rows'),
});

export const checkpointRow = v.looseObject({
  formatVersion: num,
  runId: text,
  seq: whole,
  experiment: text,
  stateVersion: whole,
  at: obj,
  label: text,
  /** null: a checkpoint without a model (its params are empty). */
  modelConfig: v.nullable(v.looseObject({ vocabSize: whole, contextLength: whole, dModel: whole, nLayers: whole, nHeads: whole })),
  tokenizer: obj,
  params: buffer,
  extraParams: v.record(v.string(), buffer, 'must be an object of binary parameter sets'),
  progress: v.looseObject({ done: num, total: num, seconds: num }),
  metricCount: whole,
  sampleCount: whole,
  savedAt: num,
});

export const runInputsRow = v.looseObject({
  formatVersion: num,
  runId: text,
  inputs: v.record(v.string(), v.looseObject({ name: text, bytes: buffer }), 'must be an object of files'),
});

export const datasetRecord = v.looseObject({
  id: text,
  formatVersion: num,
  name: text,
  source: v.looseObject({ kind: v.picklist(['hf', 'file', 'folder'], "must be 'hf', 'file' or 'folder'") }),
  labelNames: v.array(text, 'must be a list of class names'),
  splitSizes: v.record(v.string(), whole, 'must be an object of row counts'),
  classCounts: v.record(v.string(), v.array(whole), 'must be an object of per-class counts'),
  bytes: num,
  notes: v.array(text, 'must be a list of notes'),
  createdAt: num,
});

export const datasetRowsRecord = v.looseObject({
  formatVersion: num,
  datasetId: text,
  splits: v.record(v.string(), v.array(v.looseObject({ text, label: whole }), 'must be a list of rows'), 'must be an object of splits'),
});

/**
 * Check `value` against `schema`; null when it passes, else the first
 * problem as "field: problem" (for a message that names the field).
 */
export function damage(schema: v.GenericSchema, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `is not a record (${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value})`;
  const parsed = v.safeParse(schema, value);
  if (parsed.success) return null;
  const { field, problem } = describeIssue(parsed.issues[0]!);
  return field ? `field ${field}: ${problem}` : problem;
}
