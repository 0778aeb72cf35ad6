/**
 * Config fields, each written once (TensorFlow Playground's `State.PROPS`;
 * house style 5b). An experiment lists its fields in one table: per field
 * its default, schema, doc (unit and why), label, group and hint. From the
 * table come the config type (`ConfigOf`, the schemas' own output types),
 * the defaults, the strict whole-config check, the form's fieldsets and
 * labels, and how a URL or CLI string becomes a value. Cross-field rules
 * ("nHeads must divide dModel") are data too, each naming its field.
 *
 * Shared fragments (the model's shape with its divisibility rule, the
 * optimiser) are defined here once and spread into each table.
 */
import * as v from 'valibot';
import { type GptConfig, trainingFootprint } from '../core/gpt/config';
import { ConfigError, distinctChoices, integerIn, numberIn } from '../core/schema';

/** How the form shows a field and how a URL or CLI string becomes its value. */
export type FieldKind = 'number' | 'boolean' | 'text' | 'menu' | 'list' | 'numbers';

export interface FieldMeta {
  /** The form's label. */
  label: string;
  /** The form's fieldset this field sits in (fieldsets appear in table order). */
  group: string;
  /** What the field means: unit, and why the default (the field's documentation). */
  doc: string;
  /** A short line under the input; absent: none. */
  hint?: string;
}

export interface Field<S extends v.GenericSchema = v.GenericSchema> extends FieldMeta {
  kind: FieldKind;
  schema: S;
  default: v.InferOutput<S>;
  /** The allowed items of a menu or list field, in the order the form shows them. */
  choices?: readonly string[];
  /** Number inputs: 'any' for fractional values; integers step by 1. */
  step?: number | 'any';
}

/** An experiment's fields by config key. */
export type FieldTable = Record<string, Field>;

/** The config a field table describes: each key typed by its schema's output. */
export type ConfigOf<F extends FieldTable> = { -readonly [K in keyof F]: v.InferOutput<F[K]['schema']> };

/** The schemas of a field table, key by key (the entries of the strict object schema). */
export type SchemaEntries<F extends FieldTable> = { [K in keyof F]: F[K]['schema'] };

/** How a message names another field: by its config key (CLI, links) or by its form label (the page). */
export type NameOf<C> = (key: keyof C & string) => string;

/** Which names a parse's messages use: 'key' (the CLI's and a link's) or 'label' (the form's). */
export type Names = 'key' | 'label';

/**
 * A rule across fields; when `ok` fails, `message` is reported on `field`.
 * `name` gives the other fields' names in the reader's words (a key for the
 * CLI, a label in the form), so a message never shows a raw key on the page.
 */
export interface Rule<C> {
  field: keyof C & string;
  ok(c: C): boolean;
  message(c: C, name: NameOf<C>): string;
}

/** One fieldset of the form: its legend and its fields in table order. */
export interface FieldGroup<K extends string = string> {
  legend: string;
  fields: K[];
  /** One line under the legend. */
  note?: string;
}

// --- field constructors --------------------------------------------------------

/** An integer in [min, max]. */
export const int = (value: number, min: number, max: number, meta: FieldMeta) =>
  ({ ...meta, kind: 'number', step: 1, schema: integerIn(min, max), default: value }) satisfies Field;

/** A finite number in [min, max] (or (min, max] with `above`). */
export const num = (value: number, min: number, max: number, meta: FieldMeta, opts: { above?: boolean } = {}) =>
  ({ ...meta, kind: 'number', step: 'any', schema: numberIn(min, max, opts), default: value }) satisfies Field;

export const bool = (value: boolean, meta: FieldMeta) =>
  ({ ...meta, kind: 'boolean', schema: v.boolean('must be true or false'), default: value }) satisfies Field;

/** One of `options` (a menu). */
export const menu = <const O extends readonly [string, ...string[]]>(options: O, value: O[number], meta: FieldMeta) =>
  ({
    ...meta, kind: 'menu', choices: options,
    schema: v.picklist(options, `must be one of ${options.join(', ')}`), default: value,
  }) satisfies Field;

/** A non-empty list of distinct items of `options` (checkboxes); `noun` names one item in messages. */
export const list = <const O extends readonly [string, ...string[]]>(options: O, value: O[number][], noun: string, meta: FieldMeta) =>
  ({ ...meta, kind: 'list', choices: options, schema: distinctChoices(options, noun), default: value }) satisfies Field;

/** Free text checked by `schema`. */
export const text = <S extends v.GenericSchema<string, string>>(value: string, schema: S, meta: FieldMeta) =>
  ({ ...meta, kind: 'text', schema, default: value }) satisfies Field;

/** A list of numbers (comma-separated in a form or URL) checked by `schema`. */
export const numbers = <S extends v.GenericSchema<unknown, number[]>>(value: number[], schema: S, meta: FieldMeta) =>
  ({ ...meta, kind: 'numbers', schema, default: value }) satisfies Field;

// --- shared fragments ----------------------------------------------------------------

/**
 * A pretrained model to load (symbiosis' Generator, the programs lab's
 * coder): one of `ids` (offered as choices), or a URL path the app serves a
 * model folder at (a local model, e.g. in the browser tests).
 */
export function pretrainedModelField(ids: readonly string[], value: string, meta: FieldMeta) {
  const schema = v.pipe(
    v.string('must be a model id'),
    v.check((x) => ids.includes(x) || /^\/[\w./-]+$/.test(x), `must be one of ${ids.join(', ')}, or a path the app serves a model folder at (starting with /)`),
  );
  return { ...text(value, schema, meta), choices: ids };
}

/**
 * The GPT's shape: width C, depth L and heads NH, with the rule that NH
 * divides C. Bounds keep a form or a link from asking for a model no tab can
 * hold (C = 1024 with 64 layers is already ~800M parameters).
 */
export function modelShapeFields(value: { dModel: number; nLayers: number; nHeads: number }, group: string, what = 'the model') {
  return {
    dModel: int(value.dModel, 4, 1024, { label: 'Width', group, doc: `C: ${what}'s embedding width (channels per position).` }),
    nLayers: int(value.nLayers, 1, 64, { label: 'Layers', group, doc: `L: ${what}'s transformer blocks.` }),
    nHeads: int(value.nHeads, 1, 64, { label: 'Heads', group, doc: `NH: attention heads per block; must divide the width.` }),
  };
}

/** NH divides C: each head gets C/NH channels. */
export const headsDivideWidth: Rule<{ dModel: number; nHeads: number }> = {
  field: 'nHeads',
  ok: (c) => c.dModel % c.nHeads === 0,
  message: (c, name) => `must divide ${name('dModel')} (${c.dModel})`,
};

/** `field` ≤ `other`, reported on `field` ("must be ≤ maxDifficulty (7)", or "≤ Max difficulty (7)" in the form). */
export function atMost<C>(field: keyof C & string, other: keyof C & string, when: (c: C) => boolean = () => true): Rule<C> {
  return {
    field,
    ok: (c) => !when(c) || (c[field] as number) <= (c[other] as number),
    message: (c, name) => `must be ≤ ${name(other)} (${String(c[other])})`,
  };
}

/**
 * What a tab is let to hold for one model's training, bytes: parameters,
 * gradients, AdamW moments and one batch's activations (trainingFootprint).
 * Typed arrays past 2 GiB fail outright in some browsers ("Invalid typed
 * array length"), and a tab that asks for much more is killed; the page
 * lowers it further on a device that reports less memory (navigator.deviceMemory).
 */
export const MEMORY_BUDGET = 2 ** 31;

/** The most work one training step may ask for, FLOPs: 10¹², minutes per step on a laptop's CPU, seconds on a good GPU. */
export const STEP_FLOPS_BUDGET = 1e12;

/** One model a run trains: its shape, the batch it trains on, and what to call it in a message. */
export interface TrainedModel {
  gpt: GptConfig;
  batch: number;
  /** "the model", "the Student". */
  what: string;
}

const gib = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.max(1, Math.round(bytes / 2 ** 20))} MiB`);

/** The heaviest of a run's models (most bytes), with its footprint. */
export function heaviestModel(models: readonly TrainedModel[]): (TrainedModel & { footprint: ReturnType<typeof trainingFootprint> }) | null {
  let best: (TrainedModel & { footprint: ReturnType<typeof trainingFootprint> }) | null = null;
  for (const m of models) {
    const footprint = trainingFootprint(m.gpt, m.batch);
    if (!best || footprint.bytes > best.footprint.bytes) best = { ...m, footprint };
  }
  return best;
}

/** The settings a memory bound is reported on and names. */
type SizeKey = 'dModel' | 'nLayers' | 'batchSize';

/**
 * Bounds from memory and work, before anything is allocated, for the models a
 * run trains: the heaviest one's parameters (with their gradients and AdamW
 * moments) must fit in `budget` (reported on the width), then parameters plus
 * one step's activations (on the batch), and one step must stay under
 * STEP_FLOPS_BUDGET (on the width). `where` follows "the limit" in messages
 * (" on this device"). Returns the problems, none when it fits.
 */
export function memoryProblems(
  models: readonly TrainedModel[], name: (key: SizeKey) => string, budget = MEMORY_BUDGET, where = '',
): { field: SizeKey; message: string }[] {
  const m = heaviestModel(models);
  if (!m) return [];
  const f = m.footprint;
  if (f.paramBytes > budget) {
    return [{
      field: 'dModel',
      message: `too large: ${m.what} would have ${(f.params / 1e6).toFixed(1)} million parameters, ${gib(f.paramBytes)} with gradients `
        + `and optimizer state; the limit${where} is ${gib(budget)}: lower ${name('dModel')} or ${name('nLayers')}`,
    }];
  }
  if (f.bytes > budget) {
    return [{
      field: 'batchSize',
      message: `too large for ${m.what}: a step over ${m.batch} sequences needs about ${gib(f.activationBytes)} of activations, `
        + `${gib(f.bytes)} in all; the limit${where} is ${gib(budget)}: lower ${name('batchSize')} or ${name('dModel')}`,
    }];
  }
  if (f.flopsPerStep > STEP_FLOPS_BUDGET) {
    return [{
      field: 'dModel',
      message: `too slow: one training step of ${m.what} would take ${(f.flopsPerStep / 1e12).toFixed(1)} TFLOP; the limit is `
        + `${STEP_FLOPS_BUDGET / 1e12} TFLOP per step: lower ${name('dModel')}, ${name('nLayers')} or ${name('batchSize')}`,
    }];
  }
  return [];
}

/**
 * memoryProblems as rules of a lab's config: `models(c)` lists what a run
 * trains, estimated from the settings (each lab knows its vocabulary and
 * context: its config.ts).
 */
export function memoryRules<C extends Record<SizeKey, number>>(models: (c: C) => readonly TrainedModel[]): Rule<C>[] {
  const problem = (c: C, field: SizeKey, name: NameOf<C> = (k) => k) => memoryProblems(models(c), name).find((p) => p.field === field);
  return (['dModel', 'batchSize'] as const).map((field) => ({
    field,
    ok: (c) => problem(c, field) === undefined,
    message: (c, name) => problem(c, field, name)!.message,
  }));
}

// --- the config spec -------------------------------------------------------------------

/** Everything derived from one field table. */
export interface ConfigSpec<F extends FieldTable> {
  readonly fields: F;
  readonly defaults: ConfigOf<F>;
  /** The strict object schema of the whole config (unknown keys and missing fields are errors). */
  readonly schema: v.StrictObjectSchema<SchemaEntries<F>, undefined>;
  /** The form's fieldsets in table order. */
  readonly groups: readonly FieldGroup<keyof F & string>[];
  /**
   * Check a whole config; throws a ConfigError naming every bad field (`what`
   * begins its message). `names`: how messages name other fields (keys by default; 'label' for the form).
   */
  parse(input: unknown, what: string, names?: Names): ConfigOf<F>;
}

/** Derive the defaults, schema, groups and parser of a field table and its cross-field rules; `notes` adds a line under a group's legend. */
export function defineConfig<const F extends FieldTable>(
  fields: F, rules: readonly Rule<ConfigOf<F>>[] = [], notes: Readonly<Record<string, string>> = {},
): ConfigSpec<F> {
  type C = ConfigOf<F>;
  type K = keyof F & string;
  const keys = Object.keys(fields) as K[];
  // Built key by key from the table: the mapped types say what each key holds.
  const entries = {} as SchemaEntries<F>;
  const defaults = {} as C;
  for (const k of keys) {
    entries[k] = fields[k]!.schema as SchemaEntries<F>[K];
    defaults[k] = structuredClone(fields[k]!.default) as C[K];
  }
  const schema = v.strictObject(entries);
  const groups: FieldGroup<K>[] = [];
  for (const k of keys) {
    const legend = fields[k]!.group;
    const group = groups.find((g) => g.legend === legend);
    if (group) group.fields.push(k);
    else groups.push({ legend, fields: [k], ...(notes[legend] ? { note: notes[legend] } : {}) });
  }
  return {
    fields, defaults, schema, groups,
    parse(input, what, names = 'key') {
      const result = v.safeParse(schema, input);
      if (!result.success) {
        // The strict schema names only the first unknown key: every one is listed here, in the input's order.
        const unknown = typeof input === 'object' && input !== null ? Object.keys(input).filter((k) => !Object.hasOwn(fields, k)) : [];
        const problems = result.issues
          .filter((issue) => !(issue.type === 'strict_object' && issue.expected === 'never'))
          .map((issue) => ({ field: v.getDotPath(issue) ?? '(config)', message: issue.type === 'strict_object' ? 'is missing' : issue.message }));
        throw new ConfigError(what, [...problems, ...unknown.map((field) => ({ field, message: 'unknown key' }))]);
      }
      const config = result.output as C;
      const name: NameOf<C> = (key) => (names === 'label' ? (fields[key]?.label ?? key) : key);
      const broken = rules.filter((r) => !r.ok(config)).map((r) => ({ field: r.field, message: r.message(config, name) }));
      if (broken.length > 0) throw new ConfigError(what, broken);
      return config;
    },
  };
}

/**
 * A value typed by a person or read from a URL or CLI flag, as its field
 * reads it: numbers, true/false, comma-separated lists. A string that is not
 * a value of the field's kind passes through for the schema to name.
 */
export function coerceField(field: Field, textValue: string): unknown {
  switch (field.kind) {
    case 'number':
      return textValue.trim() === '' ? NaN : Number(textValue);
    case 'boolean':
      return textValue === 'true' ? true : textValue === 'false' ? false : textValue;
    case 'list':
    case 'numbers':
      return textValue.trim() === '' ? [] : textValue.split(',').map((s) => s.trim());
    case 'text':
    case 'menu':
      return textValue;
    default:
      return field.kind satisfies never;
  }
}

/** A value as a URL or CLI string (lists comma-joined). */
export function fieldToString(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
