/**
 * The one client of `workers/trainer.worker.ts`. Starts the worker on the
 * first run, turns its events into reactive state, and cancels a run by
 * terminating the worker (a new one starts with the next run).
 */
import { messageOf } from '../core/tasks';
import type { BackendChoice, BackendEvent, TrainerApi, TrainerEvent, Weights } from '../../workers/trainer.worker';
import type { DoneEvent, EngineDemoConfig } from '../experiments/engine-demo/config';
import { WorkerBridge } from './worker-bridge';

export type RunStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'failed';

/** The loss curve so far: steps (1-based) and the loss read at each. */
export interface LossCurve {
  steps: number[];
  losses: number[];
}

/** The latest training speed and position. */
export interface Progress {
  step: number;
  totalSteps: number;
  /** Mean ms per step over the latest reporting window. */
  ms: number;
  tokensPerSecond: number;
}

/** The longest the UI lags behind the worker's step events, in ms. */
const FLUSH_MS = 100;

export class TrainerClient {
  status = $state<RunStatus>('idle');
  /** The backend the current (or last) run got, and why. */
  backend = $state.raw<BackendEvent | null>(null);
  curve = $state.raw<LossCurve>({ steps: [], losses: [] });
  progress = $state.raw<Progress | null>(null);
  done = $state.raw<DoneEvent | null>(null);
  /** Why the last run failed (an error or a lost device); null otherwise. */
  problem = $state<string | null>(null);

  /** Fraction of the steps done, in [0, 1]. */
  fraction = $derived(this.progress ? this.progress.step / this.progress.totalSteps : 0);
  /** Seconds left at the latest speed; null before the first report. */
  etaSeconds = $derived(
    this.progress ? ((this.progress.totalSteps - this.progress.step) * this.progress.ms) / 1000 : null,
  );

  readonly #bridge = new WorkerBridge<TrainerApi>(
    // This URL is not state: it only tells Vite where the worker's entry is.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    () => new Worker(new URL('../../workers/trainer.worker.ts', import.meta.url), { type: 'module', name: 'trainer' }),
    (message) => {
      this.#flush();
      this.#fail(`the trainer worker crashed: ${message}`);
    },
  );
  // Step events can arrive hundreds of times a second (tiny models on CPU);
  // they collect here and reach the reactive state at most every FLUSH_MS.
  #steps: number[] = [];
  #losses: number[] = [];
  #latest: Progress | null = null;
  #flushTimer: ReturnType<typeof setTimeout> | null = null;

  /** Train the demo model with `config` on the chosen backend; resolves when the run has ended. */
  async start(config: EngineDemoConfig, choice: BackendChoice): Promise<void> {
    // A new run: events of an earlier one are dropped (the worker and its trained model stay).
    this.#clearPending();
    this.status = 'running';
    this.backend = null;
    this.curve = { steps: [], losses: [] };
    this.progress = { step: 0, totalSteps: config.steps, ms: 0, tokensPerSecond: 0 };
    this.done = null;
    this.problem = null;
    const session = this.#bridge.session;
    const onEvent = this.#bridge.events((e: TrainerEvent) => this.#handle(e, config.steps));
    try {
      await this.#bridge.call((api) => api.train({ ...config }, choice, onEvent));
    } catch (e) {
      if (session === this.#bridge.session) this.#fail(messageOf(e));
    }
  }

  /** Stop the run at once by terminating the worker; its trained weights are lost. */
  cancel(): void {
    this.#drop();
    if (this.status === 'running') this.status = 'cancelled';
  }

  /** The trained parameters (moved out of the worker, not copied). */
  async weights(): Promise<Weights> {
    if (!this.#bridge.running || this.status !== 'done') throw new Error('no trained model: train first');
    return this.#bridge.call((api) => api.weights());
  }

  // Status changes come from the events, not from train() resolving: the
  // events travel on their own MessagePort, so they may arrive after it.
  #handle(e: TrainerEvent, totalSteps: number): void {
    switch (e.type) {
      case 'backend':
        this.backend = e;
        break;
      case 'step':
        this.#steps.push(e.step);
        this.#losses.push(e.loss);
        this.#latest = { step: e.step, totalSteps, ms: e.ms, tokensPerSecond: e.tokensPerSecond };
        this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
        break;
      case 'done':
        this.#flush();
        this.done = e;
        this.status = 'done';
        break;
      case 'device-lost':
        this.#flush();
        this.#fail(`the GPU device was lost: ${e.message}`);
        break;
      case 'error':
        this.#flush();
        this.#fail(e.message);
        break;
      default:
        e satisfies never;
    }
  }

  /** Publish the step events collected since the last flush. */
  #flush(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    if (!this.#latest) return;
    this.curve = { steps: this.#steps.slice(), losses: this.#losses.slice() };
    this.progress = this.#latest;
    this.#latest = null;
  }

  #clearPending(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    this.#steps = [];
    this.#losses = [];
    this.#latest = null;
  }

  /** Terminate the worker and ignore whatever its run still sends; the next run starts a new one. */
  #drop(): void {
    this.#flush();
    this.#bridge.terminate('the run was cancelled');
  }

  #fail(message: string): void {
    this.problem = message;
    this.status = 'failed';
  }
}
