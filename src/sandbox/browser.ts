/**
 * The sandbox in a browser: each worker is a module Web Worker running
 * workers/sandbox.worker.ts, started from the page or from another worker
 * (the lab worker runs experiments; its sandbox workers are nested in it
 * and end with it).
 */
import * as Comlink from 'comlink';
import { Sandbox, type SandboxWorker } from './client';
import type { SandboxLimits } from './types';
import type { SandboxWorkerApi } from './worker-api';

export function spawnBrowserSandboxWorker(): SandboxWorker {
  const worker = new Worker(new URL('../../workers/sandbox.worker.ts', import.meta.url), { type: 'module', name: 'sandbox' });
  const died = new Promise<string>((resolve) => {
    worker.addEventListener('error', (e) => resolve(e.message || 'the worker script failed to load or threw'));
    worker.addEventListener('messageerror', () => resolve('a message could not be deserialised'));
  });
  return { api: Comlink.wrap<SandboxWorkerApi>(worker), died, terminate: () => worker.terminate() };
}

/** A sandbox whose workers are Web Workers. */
export function browserSandbox(limits: Partial<SandboxLimits> = {}): Sandbox {
  return new Sandbox(spawnBrowserSandboxWorker, limits);
}
