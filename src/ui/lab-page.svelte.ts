/**
 * What every lab page does with its form and its runs, in one place: the
 * URL follows the form once the visitor edits it (and a pasted link fills
 * the form), a share link's problems stay listed until their fields are
 * fixed, and start / resume / view / compare / reuse-settings go through the
 * app's LabClient. A page creates one LabPage during its initialisation
 * (the URL effect is tied to the component).
 */
import { untrack } from 'svelte';
import { type LinkState, linkToHash, overridesToStrings, resolveConfig } from '../experiments/config';
import type { FieldTable } from '../experiments/fields';
import type { ExperimentSpec, MetricRecord, Position } from '../experiments/types';
import type { ActiveRun, LabClient, StartRunOptions } from './lab-client.svelte';
import { type LinkIssue, LabForm } from './lab-form.svelte';
import { LabRuns } from './lab-runs.svelte';

/** What a stored run's settings are: enough to refill the form or make its link. */
type RunSettings = Pick<ActiveRun, 'preset' | 'seed' | 'config'>;

export class LabPage<F extends FieldTable, R extends MetricRecord = MetricRecord, Row = unknown> {
  readonly experiment: ExperimentSpec<F, R, Position, Row>;
  readonly form: LabForm<F>;
  readonly runs: LabRuns<R, Row>;
  readonly client: LabClient;
  /** True once the visitor changed a setting here: from then on the URL follows the form. */
  edited = $state(false);
  #written = '';

  constructor(client: LabClient, experiment: ExperimentSpec<F, R, Position, Row>, preset: string | null) {
    this.client = client;
    this.experiment = experiment;
    this.form = new LabForm<F>(experiment, preset);
    this.runs = new LabRuns<R, Row>(client, experiment.name);
    this.form.applyHash(location.hash);
    $effect(() => {
      const link = this.form.link;
      if (!this.edited || !link) return;
      const hash = linkToHash(link);
      if (location.hash !== hash) history.replaceState(history.state, '', hash);
      this.#written = hash;
    });
    $effect(() => {
      void untrack(() => this.runs.init());
    });
    $effect(() => {
      const onHashChange = () => this.onHashChange();
      window.addEventListener('hashchange', onHashChange);
      return () => window.removeEventListener('hashchange', onHashChange);
    });
  }

  /**
   * Why Start is disabled, or null when it is not: a run in progress, else
   * the page's own problem (a missing file or dataset), else a field in red.
   */
  startBlocker(pageProblem: string | null = null): string | null {
    if (this.runs.live) return 'A run is in progress: cancel it in the Run panel, or wait for it to finish.';
    if (pageProblem !== null) return pageProblem;
    if (this.form.checked.config === null || this.form.seedError !== null) return 'Fix the fields marked in red to start.';
    return null;
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

  /** Start a run of the form's settings (with any input files or cached datasets); a failure is in client.error. */
  async start(files: Pick<StartRunOptions, 'inputs' | 'cachedDatasets' | 'savedGenerators'> = {}): Promise<void> {
    const f = this.form;
    f.linkIssues = [];
    try {
      await this.runs.start({
        experiment: this.experiment.name, preset: f.preset, seed: f.seed!, overrides: f.checked.overrides, backend: f.backend,
        ...files,
      });
    } catch {
      // client.error says why (a bad setting names its field).
    }
  }

  async resume(runId: string): Promise<void> {
    try {
      await this.runs.resume(runId);
    } catch {
      // client.error says why.
    }
  }

  /** A run of another lab (an imported file): go to that lab's page, which opens on its newest run. */
  showElsewhere(experiment: string): void {
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
