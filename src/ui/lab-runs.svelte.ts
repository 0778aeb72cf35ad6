/**
 * Which runs a lab page shows: the one being viewed (live, or opened from
 * the history) and a second one overlaid for comparison. Shared by every lab
 * page; the runs themselves live in the LabClient.
 *
 * `LabClient.open()` makes the opened run `active` whenever no run is live,
 * so opening the comparison run would replace the viewed one there: the
 * viewed run is therefore also kept here, and `client.active` is preferred
 * only while it is the run being viewed (it is the one that updates live).
 *
 * A visitor with no run of this lab sees the lab's precomputed run (the
 * classroom preset, shipped in public/runs: precomputed.ts), which is not in
 * IndexedDB: it is viewed like a stored run but has no history row.
 */
import type { MetricRecord } from '../experiments/types';
import { messageOf } from '../core/tasks';
import type { ActiveRun, BackendChoice, LabClient, RunListItem, StartRunOptions } from './lab-client.svelte';
import { type PrecomputedRun, loadPrecomputedRun } from './precomputed';

/**
 * The runs started or resumed in this tab (for as long as it lives). A run
 * opened from the history while another tab runs it also says 'running',
 * but only these are live here: only these can be cancelled from here.
 */
const startedHere: string[] = [];

/**
 * A run of this page's experiment, with its records and sample rows typed.
 * Sound because every record the client holds was either emitted by the
 * experiment itself (a live run) or checked against this experiment's
 * schemas when it left IndexedDB (the worker's openRun, LabStore.checkRun).
 */
function ofThisLab<R, Row>(run: ActiveRun): ActiveRun<R, Row> {
  return run as ActiveRun<R, Row>;
}

export class LabRuns<R = MetricRecord, Row = unknown> {
  readonly client: LabClient;
  readonly experiment: string;
  viewedId = $state<string | null>(null);
  compareId = $state<string | null>(null);
  #viewedCopy = $state.raw<ActiveRun | null>(null);
  #compareCopy = $state.raw<ActiveRun | null>(null);
  /** This lab's precomputed run once loaded (null: none shipped, or not asked for); why it failed to load. */
  precomputed = $state.raw<PrecomputedRun | null>(null);
  precomputedError = $state<string | null>(null);

  constructor(client: LabClient, experiment: string) {
    this.client = client;
    this.experiment = experiment;
  }

  /** This lab's runs, newest first. */
  readonly runs = $derived.by((): RunListItem[] => this.client.runs.filter((r) => r.experiment === this.experiment));

  readonly viewed = $derived.by((): ActiveRun<R, Row> | null => this.#pick(this.viewedId, this.#viewedCopy));

  readonly compared = $derived.by((): ActiveRun<R, Row> | null => this.#pick(this.compareId, this.#compareCopy));

  /** The run live in this tab, whichever lab it belongs to. */
  readonly live = $derived.by((): ActiveRun | null => {
    const a = this.client.active;
    return a?.status === 'running' && startedHere.includes(a.runId) ? a : null;
  });

  /** The viewed run is the precomputed one. */
  readonly viewingPrecomputed = $derived(this.precomputed !== null && this.viewedId === this.precomputed.run.runId);

  /** The run history's row of the viewed run (for `resumable`, the summary). */
  readonly viewedItem = $derived.by((): RunListItem | null => this.runs.find((r) => r.id === this.viewedId) ?? null);

  #pick(id: string | null, copy: ActiveRun | null): ActiveRun<R, Row> | null {
    const run = this.#find(id, copy);
    return run && run.experiment === this.experiment ? ofThisLab<R, Row>(run) : null;
  }

  #find(id: string | null, copy: ActiveRun | null): ActiveRun | null {
    if (id === null) return null;
    const a = this.client.active;
    return a?.runId === id ? a : copy?.runId === id ? copy : null;
  }

  /** Load the history and show the live run of this lab, else its newest run, else its precomputed run. */
  async init(): Promise<void> {
    // Fetched while the history loads (loadPrecomputedRun keeps the promise): shown only if the visitor has no run here.
    loadPrecomputedRun(this.experiment).catch(() => undefined);
    await this.client.refreshRuns();
    const a = this.client.active;
    if (a && a.experiment === this.experiment) {
      this.viewedId = a.runId;
      this.#viewedCopy = a;
      return;
    }
    const newest = this.runs.find((r) => !r.damaged);
    if (newest) await this.view(newest.id).catch(() => undefined); // the client's `error` says why
    else await this.showPrecomputed();
  }

  /** View this lab's precomputed run, unless the visitor started or opened a run meanwhile; it is not stored. */
  async showPrecomputed(): Promise<void> {
    this.precomputedError = null;
    try {
      const p = await loadPrecomputedRun(this.experiment);
      if (!p) return;
      this.precomputed = p;
      if (this.viewedId !== null) return;
      this.#viewedCopy = p.run;
      this.viewedId = p.run.runId;
    } catch (e) {
      this.precomputedError = messageOf(e);
    }
  }

  async view(runId: string): Promise<void> {
    const run = await this.client.open(runId);
    this.#viewedCopy = run;
    this.viewedId = runId;
    if (this.compareId === runId) this.compareId = null;
  }

  /** Overlay `runId` on the viewed run's charts (null: stop comparing). */
  async compare(runId: string | null): Promise<void> {
    if (runId === null) {
      this.compareId = null;
      this.#compareCopy = null;
      return;
    }
    this.#viewedCopy = this.#find(this.viewedId, this.#viewedCopy);
    const run = await this.client.open(runId);
    this.#compareCopy = run;
    this.compareId = runId;
  }

  /**
   * Load another stored run to read beside the viewed one (e.g. another
   * lab's): the client makes it `active`, so the viewed and compared runs
   * are kept here first, as compare() does.
   */
  async openBeside(runId: string): Promise<ActiveRun> {
    this.#viewedCopy = this.#find(this.viewedId, this.#viewedCopy);
    this.#compareCopy = this.#find(this.compareId, this.#compareCopy);
    return this.client.open(runId);
  }

  /** Start a run and view it; rejects (with `client.error` set) on a bad setting. */
  async start(opts: StartRunOptions): Promise<void> {
    const id = await this.client.start(opts);
    startedHere.push(id);
    this.viewedId = id;
    if (this.compareId === id) this.compareId = null;
  }

  /** Resume a run (on `backend` when given) and view it; when it runs in another tab, view it there (watched). */
  async resume(runId: string, opts: { backend?: BackendChoice } = {}): Promise<void> {
    startedHere.push(runId);
    try {
      await this.client.resume(runId, opts);
    } catch (e) {
      // Not live here after all (e.g. another tab won the race to resume it).
      startedHere.splice(startedHere.lastIndexOf(runId), 1);
      if (this.client.active?.runId === runId) this.viewedId = runId;
      throw e;
    }
    this.viewedId = runId;
    if (this.compareId === runId) this.compareId = null;
  }

  /** Forget a run that was deleted. */
  forget(runId: string): void {
    if (this.viewedId === runId) this.viewedId = null;
    if (this.compareId === runId) this.compareId = null;
  }
}
