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
import { type ConfigOf, type FieldTable, MEMORY_BUDGET, type TrainedModel, memoryProblems } from '../experiments/fields';
import type { ExperimentSpec } from '../experiments/types';
import type { BackendChoice } from './lab-client.svelte';
import { type Lesson, NO_LESSON, takeLesson } from './lesson';

/** A validation message per field key, each naming its field by its label ("Heads: must divide Width (64)"). */
export type FieldErrors = Record<string, string>;

/** One thing wrong with a share link: the field, the schema's message, and what the link said. */
export interface LinkIssue {
  /** The setting's key (a list item's problem is its list's), or 'seed', 'preset', a lesson key, or an unknown key. */
  field: string;
  /** The field's name in words: its label, or the unknown key itself. */
  label: string;
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

/** The setting a problem's path belongs to: 'families.1' (an item of a list) is the field 'families'. */
export function fieldOf(path: string): string {
  return path.split('.')[0]!;
}

/** A problem's message in the form's words: an item of a list is named by its place ("item 2: …"). */
function itemMessage(path: string, message: string): string {
  const item = path.split('.')[1];
  return item !== undefined && /^\d+$/.test(item) ? `item ${Number(item) + 1}: ${message}` : message;
}

/**
 * What this device lets a run hold, bytes: MEMORY_BUDGET, or a quarter of the
 * memory the browser reports (navigator.deviceMemory, in GiB, coarse and only
 * in Chromium), whichever is less.
 */
export function deviceBudget(): { bytes: number; reported: number | null } {
  const reported = typeof navigator !== 'undefined' ? (navigator as { deviceMemory?: number }).deviceMemory ?? null : null;
  return { bytes: reported ? Math.min(MEMORY_BUDGET, (reported * 2 ** 30) / 4) : MEMORY_BUDGET, reported };
}

/** The parts of an experiment's spec the form reads. */
export type FormSpec<F extends FieldTable> = Pick<ExperimentSpec<F>, 'name' | 'config' | 'presets'>;

export interface FormOptions<C> {
  /** The models a run of these settings trains (the lab's config.ts), to bound them by this device's memory. */
  trainedModels?: (c: C) => readonly TrainedModel[];
}

export class LabForm<F extends FieldTable> {
  readonly experiment: FormSpec<F>;
  preset = $state<string | null>(null);
  /** The config as the inputs show it (numbers may be null while a field is empty). */
  values = $state<Record<string, unknown>>({});
  seed = $state<number | null>(1);
  backend = $state<BackendChoice>('auto');
  /** What was wrong with the share link this form was filled from; empty when it was fine. */
  linkIssues = $state.raw<LinkIssue[]>([]);
  /** What a lesson link asked for: a question, controls to hide (empty: an ordinary page). */
  lesson = $state.raw<Lesson>(NO_LESSON);
  /** This device's bound on a run's memory, where it is below the lab's own (MEMORY_BUDGET). */
  readonly #deviceCheck: ((c: ConfigOf<F>) => { field: string; message: string }[]) | null;

  constructor(experiment: FormSpec<F>, preset: string | null, opts: FormOptions<ConfigOf<F>> = {}) {
    this.experiment = experiment;
    const budget = deviceBudget();
    const models = opts.trainedModels;
    this.#deviceCheck = models && budget.bytes < MEMORY_BUDGET
      ? (c) => memoryProblems(models(c), (k) => this.labelOf(k), budget.bytes, ` on this device (it reports ${budget.reported} GiB of memory)`)
      : null;
    this.applyPreset(preset);
  }

  /** A field's label, or the key itself when the experiment has no such field. */
  labelOf(key: string): string {
    return key === 'seed' ? 'Seed' : key === 'preset' ? 'Preset' : (this.experiment.config.fields[key]?.label ?? key);
  }

  #errorsOf(e: ConfigError): FieldErrors {
    const errors: FieldErrors = {};
    for (const p of e.problems) {
      const field = fieldOf(p.field);
      const text = `${this.labelOf(field)}: ${itemMessage(p.field, p.message)}`;
      errors[field] = errors[field] ? `${errors[field]}; ${text}` : text;
    }
    return errors;
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
      const config = resolveConfig(this.experiment, this.preset, overrides, 'label');
      const device = this.#deviceCheck?.(config) ?? [];
      if (device.length > 0) throw new ConfigError(`${this.experiment.name} config`, device);
      return { config, overrides, errors: {} };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return { config: null, overrides, errors: this.#errorsOf(e) };
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
    const fields = this.experiment.config.fields;
    const lesson = takeLesson(query, Object.keys(fields));
    for (const p of lesson.problems) issues.push({ field: p.field, label: p.field, message: p.message, given: p.given });
    // A bad seed is reported like any other field (hashToLink would reject the whole link).
    let seed: number | null = 1;
    const seedText = query.get('seed');
    if (seedText !== null) {
      try {
        seed = parseSeed(seedText);
      } catch {
        issues.push({ field: 'seed', label: 'Seed', message: 'must be a non-negative integer', given: seedText });
        seed = null;
      }
      query.delete('seed');
    }
    const link = hashToLink(`#/lab/${m[1]}?${query.toString()}`)!;
    let preset = link.preset;
    if (preset !== null && !this.experiment.presets[preset]) {
      issues.push({
        field: 'preset', label: 'Preset', message: `unknown preset (choose from ${Object.keys(this.experiment.presets).join(', ')})`, given: preset,
      });
      preset = null;
    }
    const coerced = coerceOverrides(fields, link.overrides);
    try {
      resolveConfig(this.experiment, preset, coerced, 'label');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // Every problem, each on its field: an item of a list ('families.1') on the list, with the item named.
      for (const p of e.problems) {
        const field = fieldOf(p.field);
        issues.push({ field, label: this.labelOf(field), message: itemMessage(p.field, p.message), given: link.overrides[field] ?? null });
      }
    }
    this.preset = preset;
    const known = Object.fromEntries(Object.entries(coerced).filter(([k]) => k in fields));
    this.values = { ...this.base, ...known };
    this.seed = seed;
    this.backend = lesson.backend;
    this.lesson = lesson.lesson;
    this.linkIssues = issues;
    return true;
  }
}
