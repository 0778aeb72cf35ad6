/**
 * Presets and overrides, merged and validated in one place (nanoGPT's
 * configurator, without its exec): default ← preset ← overrides, then the
 * experiment's strict schema. Unknown keys and wrong types fail with a
 * message naming the field. The share link (`#/lab/<name>?preset=…&seed=…&k=v`)
 * goes through the same path, so a link can never carry a config the form
 * would reject.
 */
import { ConfigError, parseConfig } from '../core/schema';
import type { Experiment } from './types';

export interface ResolvedConfig<C> {
  preset: string | null;
  seed: number;
  overrides: Partial<C>;
  config: C;
}

/** Merge default, preset and overrides; throws ConfigError naming each bad field. */
export function resolveConfig<C extends Record<string, unknown>>(
  exp: Experiment<C>, preset: string | null, overrides: Record<string, unknown>,
): C {
  let base: Record<string, unknown> = { ...exp.defaultConfig };
  if (preset !== null) {
    const p = exp.presets[preset];
    if (!p) {
      throw new ConfigError(`${exp.name} config`, [{
        field: 'preset', message: `unknown preset '${preset}' (choose from ${Object.keys(exp.presets).join(', ')})`,
      }]);
    }
    base = { ...base, ...p.overrides };
  }
  return parseConfig(exp.schema, { ...base, ...overrides }, `${exp.name} config`);
}

/** Parse a seed typed by a person or read from a URL. */
export function parseSeed(text: string): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`seed: must be a non-negative integer, got '${text}'`);
  return n;
}

/**
 * Turn string values (from a URL or CLI flags) into the types of the default
 * config's fields: numbers, booleans, and comma-separated lists. Unknown keys
 * pass through so that validation names them.
 */
export function coerceOverrides<C extends Record<string, unknown>>(
  defaults: C, raw: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(raw)) {
    const like = defaults[key];
    if (typeof like === 'number') out[key] = text.trim() === '' ? NaN : Number(text);
    else if (typeof like === 'boolean') out[key] = text === 'true' ? true : text === 'false' ? false : text;
    else if (Array.isArray(like)) out[key] = text === '' ? [] : text.split(',').map((s) => s.trim());
    else out[key] = text;
  }
  return out;
}

/** The overrides of a config relative to a base, as strings for a URL (lists comma-joined). */
export function overridesToStrings<C extends Record<string, unknown>>(base: C, config: C): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(config)) {
    const a = base[key];
    const b = config[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    out[key] = Array.isArray(b) ? b.join(',') : String(b);
  }
  return out;
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
