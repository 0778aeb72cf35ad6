/**
 * One bridge between a page-side client and its worker (Squoosh's
 * worker-bridge; house style 8): the worker starts on first use; a crash
 * becomes an error for the client and for every call still waiting; a
 * terminate (to cancel) ends the worker at once and settles those calls;
 * and events of an older session — sent by a worker that was terminated or
 * replaced — are dropped. Every UI client of a worker sits on one of these.
 */
import * as Comlink from 'comlink';
import { messageOf } from '../core/tasks';

export class WorkerGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerGoneError';
  }
}

export class WorkerBridge<Api> {
  #worker: Worker | null = null;
  #remote: Comlink.Remote<Api> | null = null;
  #session = 0;
  /** Rejects each call still waiting on the current worker (a terminated worker never answers). */
  readonly #pending = new Set<(e: Error) => void>();

  /**
   * `spawn` must call `new Worker(new URL('…', import.meta.url), …)` itself (Vite finds the
   * worker's entry there); `onCrash` hears why the worker died, after its calls were rejected.
   */
  constructor(
    readonly spawn: () => Worker,
    readonly onCrash: (message: string) => void = () => undefined,
  ) {}

  /** Whether a worker is running now. */
  get running(): boolean {
    return this.#worker !== null;
  }

  /** The current session: callbacks made with `events` stop being called once it ends. */
  get session(): number {
    return this.#session;
  }

  /**
   * Call the worker (starting it if needed). The promise rejects with a
   * WorkerGoneError when the worker is terminated or crashes first.
   */
  call<T>(body: (api: Comlink.Remote<Api>) => Promise<T>): Promise<T> {
    const api = this.#api();
    return new Promise<T>((resolve, reject) => {
      const abandon = (e: Error) => reject(e);
      this.#pending.add(abandon);
      body(api).then(resolve, (e: unknown) => reject(e instanceof Error ? e : new Error(messageOf(e)))).finally(() => this.#pending.delete(abandon));
    });
  }

  /** A callback to pass to the worker (Comlink.proxy) that is dropped once this session ends. */
  events<E>(handler: (e: E) => void): (e: E) => void {
    const session = this.#session;
    return Comlink.proxy((e: E) => {
      if (session === this.#session) handler(e);
    });
  }

  /** End the session: terminate the worker (the next call starts a fresh one) and reject what still waits with `reason`. */
  terminate(reason = 'the worker was stopped'): void {
    this.#session++;
    this.#remote?.[Comlink.releaseProxy]();
    this.#worker?.terminate();
    this.#worker = null;
    this.#remote = null;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const reject of pending) reject(new WorkerGoneError(reason));
  }

  #api(): Comlink.Remote<Api> {
    if (!this.#remote) {
      const worker = this.spawn();
      worker.addEventListener('error', (e) => {
        e.preventDefault();
        if (worker !== this.#worker) return;
        const message = e.message || 'unknown error';
        this.terminate(`the worker crashed: ${message}`);
        this.onCrash(message);
      });
      this.#worker = worker;
      this.#remote = Comlink.wrap<Api>(worker);
    }
    return this.#remote;
  }
}
