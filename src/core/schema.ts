/**
 * Config validation shared by the engine and the experiments.
 *
 * Schemas are valibot schemas; `parseConfig` turns valibot's issues into one
 * error whose message names every offending field ("nHeads: must divide
 * dModel (64), got 5"), which is what the UI and the CLI show.
 */
import * as v from 'valibot';

export class ConfigError extends Error {
  constructor(
    readonly what: string,
    readonly problems: { field: string; message: string }[],
  ) {
    super(`${what}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parse `input` with `schema` or throw a ConfigError naming each bad field. */
export function parseConfig<S extends v.GenericSchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => ({
    field: v.getDotPath(issue) ?? '(config)',
    message: issue.type === 'strict_object' ? (issue.expected === 'never' ? 'unknown key' : 'is missing') : issue.message,
  }));
  throw new ConfigError(what, problems);
}

/** A number that passes `ok`; both messages say what it must be ("must be an integer from 1 to 10, got 11"). */
const numberWhere = (what: string, ok: (x: number) => boolean) =>
  v.pipe(v.number(`must be ${what}`), v.check(ok, (i) => `must be ${what}, got ${String(i.input)}`));

/** A positive integer field. */
export const positiveInt = (what = 'a positive integer') => numberWhere(what, (x) => Number.isInteger(x) && x > 0);

/** An integer in [min, max]. */
export const integerIn = (min: number, max: number) =>
  numberWhere(`an integer from ${min} to ${max}`, (x) => Number.isInteger(x) && x >= min && x <= max);

/**
 * A finite number in [min, max] (or (min, max] with `above`), worded for a
 * form: "must be a number from 0 to 1", "must be a number above 0 and up to 10".
 */
export const numberIn = (min: number, max: number, { above = false } = {}) =>
  numberWhere(
    above ? `a number above ${min} and up to ${max}` : `a number from ${min} to ${max}`,
    (x) => Number.isFinite(x) && (above ? x > min : x >= min) && x <= max,
  );

/** A finite number in [min, max], worded as the engine's configs are ("a finite number in [0, 10]"). */
export const finiteIn = (min: number, max: number) =>
  numberWhere(`a finite number in [${min}, ${max}]`, (x) => Number.isFinite(x) && x >= min && x <= max);

/** A non-empty list of distinct choices from `options`; `noun` is the singular ("mode"). */
export const distinctChoices = <const T extends readonly string[]>(options: T, noun: string) =>
  v.pipe(
    v.array(v.picklist(options, `must be one of ${options.join(', ')}`), `must be a list of ${noun}s`),
    v.minLength(1, `choose at least one ${noun}`),
    v.check((list) => new Set(list).size === list.length, `lists a ${noun} twice`),
  );
