/**
 * The host side of the sandbox: one worker at a time (spawned lazily by a
 * host-specific `spawn`: browser.ts or node.ts), one job at a time, each
 * raced against a hard deadline (the run's timeoutMs + graceMs). A worker
 * that misses it, dies, or says its VM may be corrupt is terminated, and
 * the next job gets a fresh one. docs/sandbox.md has the threat model.
 */
import type * as Comlink from 'comlink';
import { type Json, type SandboxJob, type SandboxLimits, type SandboxResult, resolveLimits } from './types';
import type { SandboxWorkerApi } from './worker-api';

/** A started worker as the host sees it. */
export interface SandboxWorker {
  api: Comlink.Remote<SandboxWorkerApi>;
  /** Resolves with a reason if the worker dies on its own (a crash, an exit); never rejects. */
  died: Promise<string>;
  terminate(): void;
}

export type SpawnSandboxWorker = () => SandboxWorker;

export interface SandboxStats {
  /** Workers started. */
  spawned: number;
  /** Workers the host terminated or lost mid-run (hard timeouts, discarded VMs, deaths); close() not counted. */
  replaced: number;
  /** Milliseconds from spawn to a loaded module, per worker started. */
  startMs: number[];
}

/** A started worker and what the host knows of it. */
interface LiveWorker {
  handle: SandboxWorker;
  ready: Promise<void>;
  dead: boolean;
  /** Called once if the worker dies during the job now running (one listener per worker, not one per job). */
  onDeath: ((reason: string) => void) | null;
}

/** How long a worker may take to start and load QuickJS before the sandbox itself is said to have failed. */
const INIT_TIMEOUT_MS = 30_000;

/** Runs programs in sandboxed workers. `limits` are the defaults for every run (see types.ts). */
export class Sandbox {
  readonly stats: SandboxStats = { spawned: 0, replaced: 0, startMs: [] };
  readonly #spawn: SpawnSandboxWorker;
  readonly #limits: SandboxLimits;
  #worker: LiveWorker | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(spawn: SpawnSandboxWorker, limits: Partial<SandboxLimits> = {}) {
    this.#spawn = spawn;
    this.#limits = resolveLimits(limits);
  }

  /**
   * Run `source`. With `input` the program must define `solve(input)` and
   * the value is what it returns; without, the value is the script's last
   * expression. Resolves with a result whatever the program did; rejects
   * only when the sandbox itself fails (its worker cannot start).
   */
  run(source: string, input?: Json, limits: Partial<SandboxLimits> = {}): Promise<SandboxResult> {
    const job: SandboxJob = { source, limits: resolveLimits({ ...this.#limits, ...limits }), ...(input !== undefined ? { input } : {}) };
    const next = this.#queue.then(() => this.#runNow(job));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Start a worker now (runs start one lazily); resolves with the milliseconds until it was ready. */
  async warm(): Promise<number> {
    const t0 = performance.now();
    await this.#ready();
    return performance.now() - t0;
  }

  /** Terminate the worker; later runs reject. */
  close(): void {
    this.#closed = true;
    this.#worker?.handle.terminate();
    this.#worker = null;
  }

  #ready(): Promise<LiveWorker> {
    if (this.#closed) return Promise.reject(new Error('sandbox: closed'));
    if (this.#worker?.dead) this.#replace(this.#worker.handle); // it died between jobs
    if (!this.#worker) {
      const t0 = performance.now();
      const handle = this.#spawn();
      this.stats.spawned++;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ready = Promise.race([
        handle.api.init(),
        handle.died.then((reason) => Promise.reject(new Error(`sandbox: the worker died while starting: ${reason}`))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`sandbox: the worker did not load QuickJS within ${INIT_TIMEOUT_MS} ms`)), INIT_TIMEOUT_MS);
        }),
      ]).then(
        () => {
          clearTimeout(timer);
          this.stats.startMs.push(performance.now() - t0);
        },
        (e: unknown) => {
          clearTimeout(timer);
          handle.terminate();
          if (this.#worker?.handle === handle) this.#worker = null;
          throw e;
        },
      );
      const worker: LiveWorker = { handle, ready, dead: false, onDeath: null };
      void handle.died.then((reason) => {
        worker.dead = true;
        worker.onDeath?.(reason);
      });
      this.#worker = worker;
    }
    const worker = this.#worker;
    return worker.ready.then(() => worker);
  }

  #replace(handle: SandboxWorker): void {
    handle.terminate();
    this.stats.replaced++;
    if (this.#worker?.handle === handle) this.#worker = null;
  }

  async #runNow(job: SandboxJob): Promise<SandboxResult> {
    const worker = await this.#ready();
    const { handle } = worker;
    const hardMs = job.limits.timeoutMs + job.limits.graceMs;
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    type Race = { kind: 'reply'; reply: Awaited<ReturnType<SandboxWorkerApi['run']>> } | { kind: 'died'; reason: string } | { kind: 'late' };
    const race = await Promise.race<Race>([
      handle.api.run(job).then(
        (reply) => ({ kind: 'reply' as const, reply }),
        (e: unknown) => {
          this.#replace(handle);
          throw new Error(`sandbox: the worker failed to run a job: ${e instanceof Error ? e.message : String(e)}`);
        },
      ),
      new Promise<Race>((resolve) => {
        worker.onDeath = (reason) => resolve({ kind: 'died', reason });
        if (worker.dead) resolve({ kind: 'died', reason: 'it died before the job reached it' });
      }),
      new Promise<Race>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'late' }), hardMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      worker.onDeath = null;
    });
    const ms = performance.now() - t0;
    switch (race.kind) {
      case 'reply':
        if (race.reply.discard) this.#replace(handle);
        return race.reply.result;
      case 'late':
        this.#replace(handle);
        return { outcome: 'timeout', message: `no answer within ${hardMs} ms (the interrupt never came); the worker was terminated`, printed: '', ms, terminated: true };
      case 'died':
        this.#replace(handle);
        return {
          outcome: /memory/i.test(race.reason) ? 'memory' : 'error', message: `the sandbox worker died: ${race.reason}`, printed: '', ms, terminated: true,
        };
      default:
        return race satisfies never;
    }
  }
}
