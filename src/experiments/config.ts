/**
 * Presets and overrides, merged and validated in one place (nanoGPT's
 * configurator, without its exec): default ← preset ← overrides, then the
 * experiment's strict check (fields.ts). Unknown keys and wrong types fail
 * with a message naming the field. The share link
 * (`#/lab/<name>?preset=…&seed=…&k=v`) goes through the same path, so a link
 * can never carry a config the form would reject.
 */
import { ConfigError } from '../core/schema';
import { type ConfigOf, type FieldTable, type Names, coerceField, fieldToString } from './fields';
import type { ExperimentSpec } from './types';

/** The parts of an experiment a config is resolved against. */
type Configurable<F extends FieldTable> = Pick<ExperimentSpec<F>, 'name' | 'config' | 'presets'>;

/**
 * Merge default, preset and overrides; throws ConfigError naming each bad
 * field (`names`: how a message names another field, 'label' in the form).
 */
export function resolveConfig<F extends FieldTable>(
  exp: Configurable<F>, preset: string | null, overrides: Record<string, unknown>, names: Names = 'key',
): ConfigOf<F> {
  return exp.config.parse({ ...presetBase(exp, preset), ...overrides }, `${exp.name} config`, names);
}

/** The defaults with a preset's overrides (unchecked); an unknown preset is a ConfigError naming 'preset'. */
function presetBase<F extends FieldTable>(exp: Configurable<F>, preset: string | null): Record<string, unknown> {
  const base: Record<string, unknown> = structuredClone(exp.config.defaults);
  if (preset === null) return base;
  const p = exp.presets[preset];
  if (!p) {
    throw new ConfigError(`${exp.name} config`, [{
      field: 'preset', message: `unknown preset '${preset}' (choose from ${Object.keys(exp.presets).join(', ')})`,
    }]);
  }
  return { ...base, ...structuredClone(p.overrides) };
}

/** Parse a seed typed by a person or read from a URL. */
export function parseSeed(text: string): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`seed: must be a non-negative integer, got '${text}'`);
  return n;
}

/**
 * Turn string values (from a URL or CLI flags) into the values of their
 * fields (numbers, booleans, comma-separated lists). Unknown keys pass
 * through as text so that validation names them.
 */
export function coerceOverrides(fields: FieldTable, raw: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).map(([key, text]) => [key, fields[key] ? coerceField(fields[key], text) : text]));
}

/** The fields of `config` whose value differs from `base` (by JSON), e.g. what a run changed relative to its preset. */
export function overridesOf(base: Record<string, unknown>, config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, value]) => JSON.stringify(base[k]) !== JSON.stringify(value)));
}

/** The overrides of a config relative to a base, as strings for a URL (lists comma-joined). */
export function overridesToStrings(base: Record<string, unknown>, config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(overridesOf(base, config)).map(([k, value]) => [k, fieldToString(value)]));
}

/**
 * The overrides of a stored config relative to its preset (or to the
 * defaults when this version does not know the preset): what a share link
 * or a run record keeps.
 */
export function overridesFromPreset<F extends FieldTable>(exp: Configurable<F>, preset: string | null, config: Record<string, unknown>): Record<string, unknown> {
  const known = preset !== null && exp.presets[preset] ? preset : null;
  return overridesOf(presetBase(exp, known), config);
}

/** Everything a share link carries. */
export interface LinkState {
  experiment: string;
  preset: string | null;
  seed: number;
  overrides: Record<string, string>;
}

/** `#/lab/<experiment>?preset=<p>&seed=<n>&<field>=<value>…` */
export function linkToHash(s: LinkState): string {
  const q = new URLSearchParams();
  if (s.preset) q.set('preset', s.preset);
  q.set('seed', String(s.seed));
  for (const [k, val] of Object.entries(s.overrides).sort(([a], [b]) => a.localeCompare(b))) q.set(k, val);
  return `#/lab/${encodeURIComponent(s.experiment)}?${q.toString()}`;
}

/** Parse a share-link hash; returns null when the hash is not a lab link. Bad seeds throw naming the field. */
export function hashToLink(hash: string): LinkState | null {
  const m = /^#\/lab\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  const q = new URLSearchParams(m[2] ?? '');
  const overrides: Record<string, string> = {};
  for (const [k, val] of q) if (k !== 'preset' && k !== 'seed') overrides[k] = val;
  return {
    experiment: decodeURIComponent(m[1]!),
    preset: q.get('preset'),
    seed: q.has('seed') ? parseSeed(q.get('seed')!) : 1,
    overrides,
  };
}
