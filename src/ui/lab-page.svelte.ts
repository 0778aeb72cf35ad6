/**
 * What every lab page does with its form and its runs, in one place: the
 * URL follows the form once the visitor edits it (and a pasted link fills
 * the form), a share link's problems stay listed until their fields are
 * fixed, a lesson link's hidden controls and question (lesson.ts), which
 * part of the setup is open, and start / resume / view / compare /
 * reuse-settings through the app's LabClient (Start hands the keyboard to the
 * run panel: `runFocus`). A page creates one LabPage during its
 * initialisation (the URL effect is tied to the component).
 */
import { tick, untrack } from 'svelte';
import { type LinkState, linkToHash, overridesToStrings, resolveConfig } from '../experiments/config';
import type { ConfigOf, FieldTable } from '../experiments/fields';
import type { ExperimentSpec, MetricRecord, Position } from '../experiments/types';
import type { ActiveRun, BackendChoice, LabClient, StartRunOptions } from './lab-client.svelte';
import { type FormOptions, type LinkIssue, LabForm } from './lab-form.svelte';
import { LabRuns } from './lab-runs.svelte';
import { type LessonControl, withLesson } from './lesson';

/** What a stored run's settings are: enough to refill the form or make its link. */
type RunSettings = Pick<ActiveRun, 'preset' | 'seed' | 'config'>;

/**
 * A run to open when its lab's page is next shown: a run file of another lab
 * imported on this one (showElsewhere). Module state: the page that imports
 * is gone by the time the other lab's page is created.
 */
let openOn: { experiment: string; runId: string; file: string } | null = null;

/** "a", "a and b", "a, b and c". */
function listOf(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
}

export class LabPage<F extends FieldTable, R extends MetricRecord = MetricRecord, Row = unknown> {
  readonly experiment: ExperimentSpec<F, R, Position, Row>;
  readonly form: LabForm<F>;
  readonly runs: LabRuns<R, Row>;
  readonly client: LabClient;
  /** True once the visitor changed a setting here: from then on the URL follows the form. */
  edited = $state(false);
  /** The settings (Adjust) are unfolded. */
  adjustOpen = $state(false);
  /** Counts the starts asked for here; the run panel takes the keyboard focus when it changes. */
  runFocus = $state(0);
  /** Why this page opened on the run it shows (a run file imported on another lab's page); null: nothing to say. */
  arrival = $state<string | null>(null);
  #written = '';

  constructor(client: LabClient, experiment: ExperimentSpec<F, R, Position, Row>, preset: string | null, opts: FormOptions<ConfigOf<F>> = {}) {
    this.client = client;
    this.experiment = experiment;
    this.form = new LabForm<F>(experiment, preset, opts);
    this.runs = new LabRuns<R, Row>(client, experiment.name);
    this.form.applyHash(location.hash);
    // A bad value is never left folded away: Adjust opens on the fields marked in red.
    $effect(() => {
      if (Object.keys(this.form.checked.errors).length > 0 || this.form.seedError !== null) untrack(() => (this.adjustOpen = true));
    });
    $effect(() => {
      const link = this.form.link;
      if (!this.edited || !link) return;
      const hash = withLesson(linkToHash(link), this.form.lesson, this.form.backend);
      if (location.hash !== hash) history.replaceState(history.state, '', hash);
      this.#written = hash;
    });
    $effect(() => {
      void untrack(async () => {
        await this.runs.init();
        const open = openOn;
        if (open?.experiment !== experiment.name) return;
        openOn = null;
        this.view(open.runId);
        this.arrival = `${open.file} is a run of this lab: it was imported here, as a new run, and is shown below.`;
      });
    });
    $effect(() => {
      const onHashChange = () => this.onHashChange();
      window.addEventListener('hashchange', onHashChange);
      return () => window.removeEventListener('hashchange', onHashChange);
    });
  }

  /**
   * Why Start is disabled, or null when it is not: a run in progress, else
   * the page's own problem (a missing file or dataset), else the fields in
   * red, named.
   */
  startBlocker(pageProblem: string | null = null): string | null {
    if (this.runs.live) return 'A run is in progress: cancel it in the Run panel below, or wait for it to finish.';
    if (pageProblem !== null) return pageProblem;
    const bad = this.badFields;
    if (bad.length > 0) return `Fix ${listOf(bad.map((k) => this.form.labelOf(k)))} (marked in red under Adjust) to start.`;
    return null;
  }

  /** The fields in red (the seed included), in the form's order. */
  readonly badFields = $derived.by((): string[] => {
    const errors = this.form.checked.errors;
    const keys = this.experiment.config.groups.flatMap((g) => g.fields).filter((k) => k in errors);
    // A problem on something that is not a field of the form (it should not happen) still blocks Start with a name.
    const other = Object.keys(errors).filter((k) => !keys.includes(k));
    return [...(this.form.seedError !== null ? ['seed'] : []), ...keys, ...other];
  });

  /**
   * What a lesson link hides: its controls and fields, except a field (or the
   * seed) in red, and Adjust while anything in it is red, so a bad value is
   * never out of reach.
   */
  readonly hidden = $derived.by((): readonly string[] => {
    const bad = this.badFields;
    return this.form.lesson.hide.filter((k) => !bad.includes(k) && !(k === 'adjust' && bad.length > 0));
  });

  isHidden(control: LessonControl): boolean {
    return this.hidden.includes(control);
  }

  /** Unfold the settings and put the cursor in one of them (a link problem's or Start's "show"). */
  async showField(key: string): Promise<void> {
    this.adjustOpen = true;
    await tick();
    const el = document.getElementById(key) ?? document.querySelector<HTMLElement>(`[name="${CSS.escape(key)}"]`);
    el?.scrollIntoView({ block: 'center' });
    el?.focus();
  }

  /** A link pasted into the address bar (not one this page wrote) fills the form. */
  onHashChange(): void {
    if (location.hash !== this.#written && this.form.applyHash(location.hash)) {
      this.edited = false;
      window.scrollTo({ top: 0 }); // the setup (and any problem with the link) is at the top
    }
  }

  /** A link's problem with a field goes away once the field is fixed; unknown keys and presets stay until dismissed. */
  readonly linkIssues = $derived.by((): LinkIssue[] => {
    const f = this.form;
    return f.linkIssues.filter((i) =>
      i.field === 'seed' ? f.seedError !== null : i.field in this.experiment.config.fields ? i.field in f.checked.errors : true,
    );
  });

  /**
   * Start a run of the form's settings (with any input files, cached
   * datasets or saved Generators); the run panel takes the focus. A failure
   * is in client.error.
   */
  async start(files: Pick<StartRunOptions, 'inputs' | 'cachedDatasets' | 'savedGenerators'> = {}): Promise<void> {
    const f = this.form;
    f.linkIssues = [];
    this.runFocus++;
    try {
      await this.runs.start({
        experiment: this.experiment.name, preset: f.preset, seed: f.seed!, overrides: f.checked.overrides, backend: f.backend,
        ...files,
      });
    } catch {
      // client.error says why (a bad setting names its field).
    }
  }

  /** Resume a run (on `backend` when given: the CPU after a lost GPU device); a failure is in client.error. */
  async resume(runId: string, backend?: BackendChoice): Promise<void> {
    try {
      await this.runs.resume(runId, backend ? { backend } : {});
    } catch {
      // client.error says why.
    }
  }

  /** A run file of another lab, imported here: go to that lab's page, which opens on the run and says why. */
  showElsewhere(experiment: string, runId: string, file: string): void {
    openOn = { experiment, runId, file };
    location.hash = `#/lab/${encodeURIComponent(experiment)}`;
  }

  view(runId: string): void {
    this.runs.view(runId).catch(() => undefined);
  }

  compare(runId: string | null): void {
    this.runs.compare(runId).catch(() => undefined);
  }

  /** Copy a stored run's settings into the form. */
  useSettings(run: RunSettings): void {
    this.form.applyRun(run);
    this.edited = true;
  }

  /** A link that reproduces a stored run: its preset (when this version knows it), seed and changed fields. */
  linkOf(run: RunSettings): LinkState | null {
    const exp = this.experiment;
    const preset = run.preset !== null && exp.presets[run.preset] ? run.preset : null;
    try {
      const config = resolveConfig(exp, null, run.config);
      return { experiment: exp.name, preset, seed: run.seed, overrides: overridesToStrings(resolveConfig(exp, preset, {}), config) };
    } catch {
      return null; // settings this version no longer accepts cannot be linked
    }
  }
}
