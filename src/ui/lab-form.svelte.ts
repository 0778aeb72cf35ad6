/**
 * The setup of a lab run as reactive state: preset, config fields, seed and
 * backend, validated on every change through the experiment's own schema
 * (`resolveConfig`, the same path the worker and the share link take), and
 * the share link those settings make. Every lab page owns one LabForm.
 *
 * The form keeps the full config (what the inputs show); the overrides a run
 * is started with are the fields that differ from the chosen preset.
 */
import { ConfigError } from '../core/schema';
import {
  type LinkState, coerceOverrides, hashToLink, overridesToStrings, parseSeed, resolveConfig,
} from '../experiments/config';
import type { ConfigOf, FieldTable } from '../experiments/fields';
import type { ExperimentSpec } from '../experiments/types';
import type { BackendChoice } from './lab-client.svelte';

/** A validation message per field name, each naming its field ("nHeads: must divide dModel (64), got 5"). */
export type FieldErrors = Record<string, string>;

/** One thing wrong with a share link: the field, the schema's message, and what the link said. */
export interface LinkIssue {
  field: string;
  message: string;
  /** The link's text for this field, when it had one. */
  given: string | null;
}

export interface Checked<C> {
  /** The validated config, or null while a field is invalid. */
  config: C | null;
  /** The fields that differ from the preset (typed, possibly invalid). */
  overrides: Record<string, unknown>;
  errors: FieldErrors;
}

/** Fields of `values` whose JSON differs from `base`. */
function diff(base: Record<string, unknown>, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(values)) {
    // JSON.stringify(NaN) is "null", like a cleared field: both differ from any valid number.
    if (JSON.stringify(base[k]) !== JSON.stringify(value) || (typeof value === 'number' && !Number.isFinite(value))) {
      out[k] = value;
    }
  }
  return out;
}

function errorsOf(e: ConfigError): FieldErrors {
  const errors: FieldErrors = {};
  for (const p of e.problems) {
    const text = `${p.field}: ${p.message}`;
    errors[p.field] = errors[p.field] ? `${errors[p.field]}; ${text}` : text;
  }
  return errors;
}

/** The parts of an experiment's spec the form reads. */
export type FormSpec<F extends FieldTable> = Pick<ExperimentSpec<F>, 'name' | 'config' | 'presets'>;

export class LabForm<F extends FieldTable> {
  readonly experiment: FormSpec<F>;
  preset = $state<string | null>(null);
  /** The config as the inputs show it (numbers may be null while a field is empty). */
  values = $state<Record<string, unknown>>({});
  seed = $state<number | null>(1);
  backend = $state<BackendChoice>('auto');
  /** What was wrong with the share link this form was filled from; empty when it was fine. */
  linkIssues = $state.raw<LinkIssue[]>([]);

  constructor(experiment: FormSpec<F>, preset: string | null) {
    this.experiment = experiment;
    this.applyPreset(preset);
  }

  /** The chosen preset's full config: what overrides are measured from. */
  readonly base = $derived.by((): Record<string, unknown> => {
    const p = this.preset;
    return p !== null && this.experiment.presets[p] ? resolveConfig(this.experiment, p, {}) : structuredClone(this.experiment.config.defaults);
  });

  readonly checked = $derived.by((): Checked<ConfigOf<F>> => {
    const values = $state.snapshot(this.values) as Record<string, unknown>;
    const overrides = diff(this.base, values);
    try {
      return { config: resolveConfig(this.experiment, this.preset, overrides), overrides, errors: {} };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return { config: null, overrides, errors: errorsOf(e) };
    }
  });

  readonly seedError = $derived.by((): string | null => {
    const s = this.seed;
    return s !== null && Number.isSafeInteger(s) && s >= 0 ? null : `seed: must be a non-negative integer, got ${s === null ? 'nothing' : String(s)}`;
  });

  /** The fields changed from the preset, in config order. */
  readonly changed = $derived(Object.keys(this.checked.overrides));

  /** Everything a run of these settings needs, or null while something is invalid. */
  readonly link = $derived.by((): LinkState | null => {
    const { config } = this.checked;
    if (!config || this.seedError !== null) return null;
    return {
      experiment: this.experiment.name, preset: this.preset, seed: this.seed!,
      overrides: overridesToStrings(this.base, config as Record<string, unknown>),
    };
  });

  /** Choose a preset (null: the defaults) and reset every field to it; the seed and backend stay. */
  applyPreset(preset: string | null): void {
    this.preset = preset !== null && this.experiment.presets[preset] ? preset : null;
    this.values = { ...this.base };
  }

  /** Fill the form from a stored run's settings. */
  applyRun(run: { preset: string | null; seed: number; config: Record<string, unknown> }): void {
    this.preset = run.preset !== null && this.experiment.presets[run.preset] ? run.preset : null;
    this.values = { ...this.base, ...run.config };
    this.seed = run.seed;
    this.linkIssues = [];
  }

  /**
   * Fill the form from a share link (`#/lab/<experiment>?preset=…&seed=…&field=value`),
   * through the same coercion and schema as the worker. Whatever is wrong is
   * kept in `linkIssues`, naming the field; the good parts still fill the form.
   * Returns false (changing nothing) when the hash is not a link to this lab or
   * carries no settings.
   */
  applyHash(hash: string): boolean {
    const m = /^#\/lab\/([^?]+)\?(.*)$/.exec(hash);
    if (!m || decodeURIComponent(m[1]!) !== this.experiment.name) return false;
    const issues: LinkIssue[] = [];
    // A parse of the link at hand, not state.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const query = new URLSearchParams(m[2]);
    // A bad seed is reported like any other field (hashToLink would reject the whole link).
    let seed: number | null = 1;
    const seedText = query.get('seed');
    if (seedText !== null) {
      try {
        seed = parseSeed(seedText);
      } catch {
        issues.push({ field: 'seed', message: 'must be a non-negative integer', given: seedText });
        seed = null;
      }
      query.delete('seed');
    }
    const link = hashToLink(`#/lab/${m[1]}?${query.toString()}`)!;
    let preset = link.preset;
    if (preset !== null && !this.experiment.presets[preset]) {
      issues.push({
        field: 'preset', message: `unknown preset (choose from ${Object.keys(this.experiment.presets).join(', ')})`, given: preset,
      });
      preset = null;
    }
    const fields = this.experiment.config.fields;
    const coerced = coerceOverrides(fields, link.overrides);
    try {
      resolveConfig(this.experiment, preset, coerced);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) issues.push({ field: p.field, message: p.message, given: link.overrides[p.field] ?? null });
    }
    this.preset = preset;
    const known = Object.fromEntries(Object.entries(coerced).filter(([k]) => k in fields));
    this.values = { ...this.base, ...known };
    this.seed = seed;
    this.linkIssues = issues;
    return true;
  }
}
