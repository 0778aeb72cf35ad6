/**
 * Which runs a lab page shows: the one being viewed (live, or opened from
 * the history) and a second one overlaid for comparison. Shared by every lab
 * page; the runs themselves live in the LabClient.
 *
 * `LabClient.open()` makes the opened run `active` whenever no run is live,
 * so opening the comparison run would replace the viewed one there: the
 * viewed run is therefore also kept here, and `client.active` is preferred
 * only while it is the run being viewed (it is the one that updates live).
 */
import type { MetricRecord } from '../experiments/types';
import type { ActiveRun, LabClient, RunListItem, StartRunOptions } from './lab-client.svelte';

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

  /** Load the history and show the live run of this lab, else its newest run. */
  async init(): Promise<void> {
    await this.client.refreshRuns();
    const a = this.client.active;
    if (a && a.experiment === this.experiment) {
      this.viewedId = a.runId;
      this.#viewedCopy = a;
      return;
    }
    const newest = this.runs[0];
    if (newest) await this.view(newest.id).catch(() => undefined); // the client's `error` says why
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

  async resume(runId: string): Promise<void> {
    startedHere.push(runId);
    await this.client.resume(runId);
    this.viewedId = runId;
    if (this.compareId === runId) this.compareId = null;
  }

  /** Forget a run that was deleted. */
  forget(runId: string): void {
    if (this.viewedId === runId) this.viewedId = null;
    if (this.compareId === runId) this.compareId = null;
  }
}
