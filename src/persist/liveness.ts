/**
 * Is a 'running' run really running? A tab that was closed or reloaded
 * cannot mark its run as stopped, so the stored status alone cannot tell.
 * Two signals:
 *   - the heartbeat: a live run rewrites `heartbeatAt` every HEARTBEAT_MS;
 *     one older than STALE_AFTER_MS means the run's worker is gone;
 *   - a Web Lock (`navigator.locks`) the run's worker holds while it runs:
 *     the browser releases it the moment the worker dies, so a reloaded page
 *     sees its run as interrupted at once instead of 15 s later, and two tabs
 *     can never resume the same run.
 */
import type { RunRecord } from './db';

/** How often a live run refreshes its heartbeat. */
export const HEARTBEAT_MS = 5_000;
/** A 'running' run whose heartbeat is older than this is shown as interrupted (three missed beats). */
export const STALE_AFTER_MS = 15_000;

/** A run's status for display: 'interrupted' is a 'running' run whose worker is gone. */
export type RunStatus = 'running' | 'interrupted' | 'done' | 'failed' | 'cancelled';

/** The name of the Web Lock a run's worker holds while it runs. */
export function runLockName(runId: string): string {
  return `symbiosis-lab/run/${runId}`;
}

function lockManager(): LockManager | null {
  return (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks ?? null;
}

/**
 * The names of the run locks a running worker holds anywhere in this origin
 * (exclusive; a watcher's shared request, waitForRunEnd, does not count);
 * null where Web Locks are unavailable.
 */
export async function heldRunLocks(): Promise<Set<string> | null> {
  const locks = lockManager();
  if (!locks) return null;
  const snapshot = await locks.query();
  return new Set((snapshot.held ?? []).filter((l) => l.mode === 'exclusive').map((l) => l.name ?? ''));
}

/**
 * Resolve once no worker runs the run any more: at once when none does, else
 * when the browser releases its lock (the run ended, or its worker or tab
 * died). A shared request, so the wait never keeps a worker from starting
 * the run; it is held only for the moment of the resolution. Where Web Locks
 * are unavailable, resolves at once.
 */
export async function waitForRunEnd(runId: string): Promise<void> {
  const locks = lockManager();
  if (!locks) return;
  await locks.request(runLockName(runId), { mode: 'shared' }, () => undefined);
}

/** The run is live in another worker (another tab, or this one's runner): it cannot be started twice. */
export class RunBusyError extends Error {
  constructor() {
    super('this run is running in another tab or window: it is watched here, and can be resumed here once it stops there');
    this.name = 'RunBusyError';
  }
}

/**
 * Hold the run's lock while `body` runs. Throws (without running `body`) when
 * another worker holds it, i.e. the run is live in another tab. Where Web
 * Locks are unavailable, runs `body` unguarded.
 */
export async function withRunLock<T>(runId: string, body: () => Promise<T>): Promise<T> {
  const locks = lockManager();
  if (!locks) return body();
  return locks.request(runLockName(runId), { ifAvailable: true }, async (lock) => {
    if (lock === null) throw new RunBusyError();
    return body();
  });
}

/** The display status of a stored run at time `now`, given the held locks (null: unknown). */
export function displayStatus(run: Pick<RunRecord, 'id' | 'status' | 'heartbeatAt'>, now: number, held: Set<string> | null): RunStatus {
  if (run.status !== 'running') return run.status;
  if (now - run.heartbeatAt > STALE_AFTER_MS) return 'interrupted';
  if (held !== null && !held.has(runLockName(run.id))) return 'interrupted';
  return 'running';
}
