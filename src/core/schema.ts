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

/** A positive integer field, with a message that says what was given. */
export const positiveInt = (what = 'a positive integer') =>
  v.pipe(
    v.number(`must be ${what}`),
    v.check((x) => Number.isInteger(x) && x > 0, (issue) => `must be ${what}, got ${String(issue.input)}`),
  );

/** A finite number in [min, max]. */
export const finiteIn = (min: number, max: number) =>
  v.pipe(
    v.number(`must be a finite number in [${min}, ${max}]`),
    v.check(
      (x) => Number.isFinite(x) && x >= min && x <= max,
      (issue) => `must be a finite number in [${min}, ${max}], got ${String(issue.input)}`,
    ),
  );

/** An integer in [min, max], with a message that says what was given. */
export const integerIn = (min: number, max: number) =>
  v.pipe(
    v.number(`must be an integer from ${min} to ${max}`),
    v.check((x) => Number.isInteger(x) && x >= min && x <= max, (i) => `must be an integer from ${min} to ${max}, got ${String(i.input)}`),
  );

/** A finite number in [min, max], worded for a form ("a number from 0 to 1"). */
export const numberIn = (min: number, max: number) =>
  v.pipe(
    v.number(`must be a number from ${min} to ${max}`),
    v.check((x) => Number.isFinite(x) && x >= min && x <= max, (i) => `must be a number from ${min} to ${max}, got ${String(i.input)}`),
  );

/** A non-empty list of distinct choices from `options`; `noun` is the singular ("mode"). */
export const distinctChoices = <const T extends readonly string[]>(options: T, noun: string) =>
  v.pipe(
    v.array(v.picklist(options, `must be one of ${options.join(', ')}`), `must be a list of ${noun}s`),
    v.minLength(1, `choose at least one ${noun}`),
    v.check((list) => new Set(list).size === list.length, `lists a ${noun} twice`),
  );
