/**
 * The one client of `workers/lab.worker.ts`, used by every lab page: start,
 * watch, cancel and resume runs, and browse, export, import and delete the
 * stored ones. The UI never imports src/persist; everything goes through
 * two instances of the worker:
 *   - the runner, started per run and terminated to cancel it (its run is
 *     then marked 'cancelled' through the history worker: a terminated
 *     worker cannot write, and asking a busy worker to stop could wait for
 *     a long GPU step — terminating is immediate);
 *   - the history worker, started on first use and kept, for reads,
 *     deletes, exports, imports and that 'cancelled' mark.
 * Errors never vanish: a failed action sets `error` (and rethrows, except
 * refreshRuns), a failed run sets `active.error`.
 */
import type * as Comlink from 'comlink';
import { messageOf } from '../core/tasks';
import type { Position, RunInput } from '../experiments/types';
import type {
  BackendChoice, GeneratorListItem, LabEvent, LabWorkerApi, MetricRecord, RunListItem, RunStatus, StopCause, StorageUsage,
} from '../../workers/lab.worker';
import type { GeneratorSource } from '../../workers/lab/generators';
import { WorkerBridge } from './worker-bridge';

export type { BackendChoice, GeneratorListItem, GeneratorSource, RunListItem, RunStatus, StopCause };

export interface RunProgress {
  phase: string;
  done: number;
  total: number;
  /** Seconds left at the rate since this session of the run began; null until the rate is known. */
  etaSeconds: number | null;
}

/** One samples event: where in the run it belongs, and its rows. */
export interface SampleSet<Row = unknown> {
  at: Position;
  rows: Row[];
}

/**
 * A run being watched: live (started or resumed here) or opened from the
 * history. `R` and `Row` are its experiment's record and sample-row types
 * (a lab page narrows a run of its own experiment: LabRuns).
 */
export interface ActiveRun<R = MetricRecord, Row = unknown> {
  runId: string;
  experiment: string;
  config: Record<string, unknown>;
  seed: number;
  preset: string | null;
  status: RunStatus;
  progress: RunProgress | null;
  records: R[];
  samples: SampleSet<Row>[];
  log: string[];
  error: string | null;
  /** Why a failed run stopped, where the page offers a way out ('device-lost': continue on the CPU). */
  cause: StopCause | null;
  /** Damaged stored records left out of `records` and `samples`, each named (empty when all are sound). */
  problems: string[];
}

/**
 * Whether the browser keeps this site's storage when space runs low
 * (navigator.storage.persist()): asked once, when the first run is saved.
 */
export interface Persistence {
  /** The browser's answer: true, storage is persistent; false, it is "best effort" (may be evicted). */
  persisted: boolean;
  /** Whether this page asked (it asks once, when a run is first saved). */
  asked: boolean;
}

/**
 * What a pretrained model in the live run is doing (this session only; not
 * stored). Kept beside `active`, not in it: download and stream events come
 * many times a second, and replacing `active` for each would re-read every
 * record the page derives its charts from.
 */
export interface ModelActivity {
  runId: string;
  /** Its files arriving, while they do. */
  download: { model: string; file: string; loaded: number; total: number } | null;
  /** The text it is writing now. */
  stream: { model: string; text: string } | null;
}

export interface StartRunOptions {
  experiment: string;
  preset: string | null;
  seed: number;
  overrides: Record<string, unknown>;
  backend: BackendChoice;
  /** Files the run needs (an uploaded corpus), stored with it so a resume sees them too. */
  inputs?: Record<string, RunInput>;
  /** Inputs the worker makes from cached datasets (input name → dataset id), so their rows stay off the page. */
  cachedDatasets?: Record<string, string>;
  /** Inputs the worker makes from saved symbiosis Generators (input name → Generator id). */
  savedGenerators?: Record<string, string>;
}

/** The longest the page lags behind the worker's events, in ms (events can come hundreds of times a second). */
const FLUSH_MS = 100;

/** How often a run that runs in another tab is read again while it is shown here, in ms. */
const WATCH_MS = 2_000;

/**
 * How long a runner whose run lock was released may still send its
 * 'finished' event before the run counts as interrupted, in ms (the event
 * and the lock travel separately).
 */
const FINISH_GRACE_MS = 1_500;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A lab worker (this URL is not state: it only tells Vite where the worker's entry is). */
function spawnLabWorker(name: string): Worker {
  return new Worker(new URL('../../workers/lab.worker.ts', import.meta.url), { type: 'module', name });
}

/** What the live run's events have changed since the last flush. */
interface Pending {
  records: ActiveRun['records'];
  samples: ActiveRun['samples'];
  log: string[];
  progress: RunProgress | null;
}

export class LabClient {
  runs = $state.raw<RunListItem[]>([]);
  active = $state.raw<ActiveRun | null>(null);
  modelActivity = $state.raw<ModelActivity | null>(null);
  storage = $state.raw<StorageUsage | null>(null);
  persistence = $state.raw<Persistence | null>(null);
  /** The saved symbiosis Generators, newest first (refreshGenerators). */
  generators = $state.raw<GeneratorListItem[]>([]);
  /** The last user-facing error (import, quota, a failed action); the page may clear it. */
  error = $state<string | null>(null);

  /** The runner: started per run, terminated when the run ends or is cancelled (events of an older run are dropped). */
  readonly #runner = new WorkerBridge<LabWorkerApi>(() => spawnLabWorker('lab-runner'), (message) => {
    // The worker died (out of memory, a crash): its run keeps its last checkpoint and shows as interrupted.
    this.#runnerRunId = null;
    if (this.active?.status === 'running') {
      this.active = { ...this.active, status: 'interrupted', error: `the run's worker crashed: ${message}; resume it to continue from its last checkpoint`, cause: null };
    }
    this.error = `the run's worker crashed: ${message}`;
  });
  /** The run the runner is running (known from the moment it was asked for). */
  #runnerRunId: string | null = null;
  /** The history worker: started on first use and kept, for reads, deletes, exports, imports and the 'cancelled' mark. */
  readonly #history = new WorkerBridge<LabWorkerApi>(() => spawnLabWorker('lab-history'), (message) => {
    this.error = `the run history worker crashed: ${message}`;
  });
  #pending: Pending = { records: [], samples: [], log: [], progress: null };
  /** Runs watched while they run in another tab (bookkeeping, not shown: no reactivity needed). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #watching = new Set<string>();
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** The first progress report of this session (time, units done), for the ETA. */
  #rateStart: { at: number; done: number } | null = null;

  /** Reload the run history and the storage estimate. Never throws: a failure sets `error`. */
  async refreshRuns(): Promise<void> {
    try {
      const { runs, storage } = await this.#history.call((api) => api.history());
      this.runs = runs;
      this.storage = storage;
    } catch (e) {
      this.error = `could not read the run history: ${messageOf(e)}`;
    }
  }

  /**
   * Start a run. Resolves with its id once the run is stored and running
   * (the run goes on; watch `active`). Rejects on a bad setting, naming it.
   */
  async start(opts: StartRunOptions): Promise<string> {
    this.#assertIdle();
    const runId = crypto.randomUUID();
    return this.#launch(runId, (api, onEvent) => api.start({ ...opts, overrides: { ...opts.overrides }, runId }, onEvent));
  }

  /** Stop the live run at once (terminating its worker) and mark it cancelled; its last checkpoint stays resumable. */
  async cancel(): Promise<void> {
    // The run's id is known from the moment it was asked for, so a run cancelled before the worker answered is marked too.
    const runId = this.#runnerRunId;
    this.#dropRunner();
    if (runId === null) return;
    const run = this.active;
    if (run?.runId === runId && run.status === 'running') {
      this.active = { ...run, status: 'cancelled', progress: run.progress ? { ...run.progress, etaSeconds: null } : null };
    }
    try {
      // A no-op for a run that already ended, or whose record the worker never got to create.
      await this.#history.call((api) => api.markCancelled(runId));
    } catch (e) {
      this.error = `the run stopped, but marking it cancelled failed (it will show as interrupted): ${messageOf(e)}`;
    }
    await this.refreshRuns();
  }

  /**
   * Continue a stopped run from its latest checkpoint, on the backend it
   * asked for or on `backend` (the CPU after a lost GPU device); resolves
   * once it is running again. When it runs in another tab, rejects saying
   * so, and shows it here as watched.
   */
  async resume(runId: string, opts: { backend?: BackendChoice } = {}): Promise<void> {
    this.#assertIdle();
    try {
      await this.#launch(runId, (api, onEvent) => api.resume(runId, onEvent, opts.backend));
    } catch (e) {
      if (/running in another tab/.test(messageOf(e))) await this.open(runId).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Load a stored run for viewing. It becomes `active` unless a run is live
   * here (then only the returned value has it: keep it, e.g. to overlay runs).
   */
  async open(runId: string): Promise<ActiveRun> {
    if (this.active?.runId === runId && this.active.status === 'running' && this.#runnerRunId === runId) return this.active;
    let opened: ActiveRun;
    try {
      opened = await this.#read(runId);
    } catch (e) {
      throw this.#fail(`could not open the run: ${messageOf(e)}`);
    }
    if (this.active?.status !== 'running' || this.#runnerRunId === null) this.active = opened;
    if (opened.status === 'running' && this.active === opened) void this.#watchElsewhere(runId);
    return opened;
  }

  /** A stored run as an ActiveRun (a snapshot). */
  async #read(runId: string): Promise<ActiveRun> {
    const r = await this.#history.call((api) => api.openRun(runId));
    const item = this.runs.find((x) => x.id === runId);
    return {
      runId: r.runId, experiment: r.experiment, config: r.config, seed: r.seed, preset: r.preset, status: r.status,
      progress: null, records: r.records, samples: r.samples, log: [], error: r.error, cause: item?.cause ?? null, problems: r.problems,
    };
  }

  /**
   * Keep a run that runs in another tab up to date while it is shown here:
   * read it again every WATCH_MS, and at once when it stops there. Never
   * runs it (that tab's worker holds its lock).
   */
  async #watchElsewhere(runId: string): Promise<void> {
    if (this.#watching.has(runId)) return;
    this.#watching.add(runId);
    const shown = () => this.active?.runId === runId && this.active.status === 'running' && this.#runnerRunId !== runId;
    let ended = false;
    void this.#history.call((api) => api.waitForRunEnd(runId)).then(() => (ended = true), () => (ended = true));
    try {
      while (shown()) {
        for (let waited = 0; waited < WATCH_MS && !ended; waited += 100) await delay(100);
        if (!shown()) break;
        const fresh = await this.#read(runId);
        if (!shown()) break;
        this.active = { ...fresh, log: this.active!.log };
        if (ended && fresh.status === 'running') {
          // The lock is free but the record says running: that tab or its worker died; its heartbeat goes stale.
          await this.refreshRuns();
          this.active = { ...fresh, log: this.active!.log, status: this.runs.find((x) => x.id === runId)?.status ?? 'interrupted' };
        }
      }
    } catch {
      // The run was deleted or cannot be read: the view keeps its last snapshot.
    } finally {
      this.#watching.delete(runId);
      void this.refreshRuns();
    }
  }

  /** Delete a run and everything stored with it (cancelling it first if it is the live run). */
  async remove(runId: string): Promise<void> {
    if (this.active?.runId === runId && this.active.status === 'running') await this.cancel();
    try {
      await this.#history.call((api) => api.deleteRun(runId));
    } catch (e) {
      throw this.#fail(`could not delete the run: ${messageOf(e)}`);
    }
    if (this.active?.runId === runId) this.active = null;
    await this.refreshRuns();
  }

  /** The run as run.jsonl (the headless runner's format), for download. */
  async exportRun(runId: string): Promise<Blob> {
    try {
      return new Blob([await this.#history.call((api) => api.exportRun(runId))], { type: 'application/x-ndjson' });
    } catch (e) {
      throw this.#fail(`could not export the run: ${messageOf(e)}`);
    }
  }

  /** The run's latest model as a safetensors file, for download. */
  async exportModel(runId: string): Promise<Blob> {
    try {
      const { bytes } = await this.#history.call((api) => api.exportModel(runId));
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
    } catch (e) {
      throw this.#fail(`could not export the model: ${messageOf(e)}`);
    }
  }

  /** Import a run.jsonl file as a new run; returns its id and experiment. A bad file throws (and sets `error`) naming the line and field. */
  async importRun(file: File): Promise<{ runId: string; experiment: string }> {
    let imported: { runId: string; experiment: string };
    try {
      imported = await this.#history.call((api) => api.importRun(file, file.name));
    } catch (e) {
      throw this.#fail(`could not import ${file.name}: ${messageOf(e)}`);
    }
    await this.refreshRuns();
    return imported;
  }

  // --- saved symbiosis Generators ---------------------------------------------

  /** Reload the saved Generators. Never throws: a failure sets `error`. */
  async refreshGenerators(): Promise<void> {
    try {
      this.generators = await this.#history.call((api) => api.generators());
    } catch (e) {
      this.error = `could not read the saved Generators: ${messageOf(e)}`;
    }
  }

  /** Check and save a Generator file (a chosen file, or the lab's ready one); a bad file throws (and sets `error`) naming the field. */
  async importGenerator(file: Blob | Uint8Array, fileName: string, source: GeneratorSource = { kind: 'file' }): Promise<GeneratorListItem> {
    return this.#generatorAction(`could not import ${fileName}`, (api) => api.importGenerator(file, fileName, source));
  }

  /** Save the corpus Generator a symbiosis run trained. */
  async keepGenerator(runId: string): Promise<GeneratorListItem> {
    return this.#generatorAction("could not keep the run's Generator", (api) => api.keepGenerator(runId));
  }

  /** A saved Generator's safetensors file, for download. */
  async exportGenerator(id: string): Promise<{ blob: Blob; fileName: string }> {
    try {
      const { bytes, fileName } = await this.#history.call((api) => api.exportGenerator(id));
      return { blob: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), fileName };
    } catch (e) {
      throw this.#fail(`could not export the Generator: ${messageOf(e)}`);
    }
  }

  async deleteGenerator(id: string): Promise<void> {
    await this.#generatorAction('could not delete the Generator', (api) => api.deleteGenerator(id));
  }

  async #generatorAction<T>(what: string, call: (api: Comlink.Remote<LabWorkerApi>) => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await this.#history.call(call);
    } catch (e) {
      throw this.#fail(`${what}: ${messageOf(e)}`);
    }
    await this.refreshGenerators();
    return out;
  }

  // --- the live run ------------------------------------------------------------

  /** Start the runner and a session; resolves with the run id once the worker's 'run' event arrives. */
  #launch(
    runId: string,
    call: (api: Comlink.Remote<LabWorkerApi>, onEvent: (e: LabEvent) => void) => Promise<unknown>,
  ): Promise<string> {
    // Dropping the previous runner ends its session: whatever it still sends is ignored.
    this.#dropRunner();
    this.#runnerRunId = runId;
    this.#resetPending();
    this.error = null;
    return new Promise<string>((resolve, reject) => {
      let started = false;
      const session = this.#runner.session;
      const onEvent = this.#runner.events((e: LabEvent) => {
        if (e.type === 'run') {
          started = true;
          resolve(e.runId);
        }
        this.#handle(e);
      });
      // The call's own result is not needed (the events carry everything); only a rejection is.
      this.#runner.call((api) => call(api, onEvent)).catch((e: unknown) => {
        // Cancelled (or crashed) before the worker answered: the promise still settles, with the id the run was given.
        if (session !== this.#runner.session) return resolve(runId);
        this.#dropRunner();
        if (!started) return reject(this.#fail(messageOf(e)));
        this.#fail(`the run stopped: ${messageOf(e)}`);
        if (this.active) this.active = { ...this.active, status: 'failed', error: messageOf(e) };
      });
    });
  }

  // Status changes come from the events, not from the worker call resolving:
  // the events travel on their own MessagePort and may arrive after it.
  #handle(e: LabEvent): void {
    switch (e.type) {
      case 'run':
        this.#resetPending();
        this.modelActivity = null;
        this.active = {
          runId: e.runId, experiment: e.experiment, config: e.config, seed: e.seed, preset: e.preset, status: 'running',
          progress: null, records: e.records, samples: e.samples,
          log: [...e.skipped, e.resumedFrom === null ? `run ${e.runId} started` : `resumed after ${e.resumedFrom}`],
          error: null, cause: null, problems: [],
        };
        void this.refreshRuns();
        void this.#watchLive(e.runId, this.#runner.session);
        void this.#askPersistence();
        return;
      case 'progress': {
        const now = performance.now();
        // The rate is measured from the first report of this session, so a resumed run's ETA is not skewed by its past.
        this.#rateStart ??= { at: now, done: e.done };
        const units = e.done - this.#rateStart.done;
        const seconds = (now - this.#rateStart.at) / 1000;
        const etaSeconds = units > 0 && seconds > 0 ? ((e.total - e.done) * seconds) / units : null;
        this.#pending.progress = { phase: e.phase, done: e.done, total: e.total, etaSeconds };
        break;
      }
      case 'metrics':
        this.#pending.records.push(e.record);
        break;
      case 'samples':
        this.#pending.samples.push({ at: e.at, rows: e.rows });
        break;
      case 'log':
        this.#pending.log.push(e.message);
        break;
      case 'saved':
        this.#pending.log.push(`saved after ${e.label}`);
        break;
      case 'step':
        // The loss of single steps is not kept: the metric records carry what is plotted.
        return;
      case 'download':
        if (this.active) {
          const download = e.done ? null : { model: e.model, file: e.file, loaded: e.loaded, total: e.total };
          this.modelActivity = { runId: this.active.runId, stream: this.modelActivity?.stream ?? null, download };
        }
        return;
      case 'stream':
        if (this.active) this.modelActivity = { runId: this.active.runId, download: this.modelActivity?.download ?? null, stream: { model: e.model, text: e.text } };
        return;
      case 'finished':
        this.#flush();
        this.modelActivity = null;
        if (this.active) {
          this.active = {
            ...this.active,
            status: e.status,
            error: e.error,
            cause: e.cause,
            progress: this.active.progress ? { ...this.active.progress, etaSeconds: e.status === 'done' ? 0 : null } : null,
          };
        }
        if (e.error !== null) this.error = e.error;
        // The runner's work is done; a fresh one starts with the next run.
        this.#dropRunner();
        void this.refreshRuns();
        return;
      default:
        e satisfies never;
        return;
    }
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  /**
   * Notice a runner that dies without a word: a worker the browser
   * terminates (out of memory, a crash of its process) sends no 'finished'
   * event and no error. The history worker waits for the run's lock; when it
   * is released and no 'finished' came, the run is shown as interrupted, with
   * its cause, and the runner is dropped.
   */
  async #watchLive(runId: string, session: number): Promise<void> {
    const live = () => this.#runnerRunId === runId && this.#runner.session === session;
    try {
      await this.#history.call((api) => api.waitForRunEnd(runId));
    } catch {
      return; // the history worker went away: its crash handler has said so
    }
    for (let waited = 0; waited < FINISH_GRACE_MS && live(); waited += 100) await delay(100);
    if (!live()) return;
    this.#dropRunner();
    if (this.active?.runId === runId && this.active.status === 'running') {
      const message = "the run's worker stopped without finishing (the browser ended it: out of memory, or its process crashed)";
      this.active = {
        ...this.active, status: 'interrupted', cause: null, progress: this.active.progress ? { ...this.active.progress, etaSeconds: null } : null,
        error: `${message}; resume it to continue from its last checkpoint`,
      };
      this.error = message;
    }
    await this.refreshRuns();
  }

  /**
   * Ask the browser to keep this site's storage when space runs low, once,
   * when the first run is saved (browsers evict "best effort" storage,
   * saved runs included, under pressure). Chromium answers from how the site
   * is used, without a prompt; Firefox asks the visitor.
   */
  async #askPersistence(): Promise<void> {
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    if (this.persistence?.asked || !storage?.persist || !storage.persisted) return;
    this.persistence = { persisted: await storage.persisted().catch(() => false), asked: true };
    if (!this.persistence.persisted) this.persistence = { persisted: await storage.persist().catch(() => false), asked: true };
  }

  /** Whether storage is persistent, without asking (for the history panel). */
  async checkPersistence(): Promise<void> {
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    if (!storage?.persisted || this.persistence !== null) return;
    const persisted = await storage.persisted().catch(() => false);
    this.persistence ??= { persisted, asked: false };
  }

  /** Publish the events collected since the last flush to `active`. */
  #flush(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    const p = this.#pending;
    const a = this.active;
    if (!a) return;
    if (!p.records.length && !p.samples.length && !p.log.length && !p.progress) return;
    this.active = {
      ...a,
      records: p.records.length ? [...a.records, ...p.records] : a.records,
      samples: p.samples.length ? [...a.samples, ...p.samples] : a.samples,
      log: p.log.length ? [...a.log, ...p.log] : a.log,
      progress: p.progress ?? a.progress,
    };
    this.#pending = { records: [], samples: [], log: [], progress: null };
  }

  #resetPending(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    this.#pending = { records: [], samples: [], log: [], progress: null };
    this.#rateStart = null;
  }

  #assertIdle(): void {
    // The runner has a run from the request until the run ends (it is dropped on 'finished', cancel and crashes).
    if (this.#runnerRunId !== null) {
      throw this.#fail('a run is in progress: cancel it (or wait for it to finish) first');
    }
  }

  /** Terminate the runner; whatever its run still sends is ignored. */
  #dropRunner(): void {
    this.#flush();
    this.modelActivity = null;
    this.#runnerRunId = null;
    this.#runner.terminate('the run was stopped');
  }

  /** Set `error` and return an Error with the same message (for `throw`). */
  #fail(message: string): Error {
    this.error = message;
    return new Error(message);
  }
}
