/**
 * The sandbox in Node (the headless runner, unit tests): each worker is a
 * worker_thread running workers/sandbox.node-worker.ts through tsx (the
 * project's TypeScript runs uncompiled in Node), talking Comlink over
 * Node's message port.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Sandbox, type SandboxWorker } from './client';
import type { SandboxLimits } from './types';
import type { SandboxWorkerApi } from './worker-api';

const WORKER_URL = new URL('../../workers/sandbox.node-worker.ts', import.meta.url);

/**
 * The worker's bootstrap: load the TypeScript entry through tsx's API (an
 * `--import tsx` flag in a worker's execArgv does not reach its entry module
 * in Node 20).
 */
function bootstrap(): string {
  // tsx's exports map "./esm/api" → this file for `import` (require.resolve would give the CommonJS twin).
  const tsxApi = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(import.meta.url)}));`;
}

export function spawnNodeSandboxWorker(): SandboxWorker {
  const worker = new Worker(bootstrap(), { eval: true, name: 'sandbox' });
  const died = new Promise<string>((resolve) => {
    worker.once('error', (e) => resolve(`${e.name}: ${e.message}`));
    worker.once('exit', (code) => resolve(`exited with code ${code}`));
  });
  return {
    api: Comlink.wrap<SandboxWorkerApi>(nodeEndpoint(worker)),
    died,
    terminate: () => void worker.terminate(),
  };
}

/** A sandbox whose workers are Node worker_threads. Call close() when done, or the process stays alive. */
export function nodeSandbox(limits: Partial<SandboxLimits> = {}): Sandbox {
  return new Sandbox(spawnNodeSandboxWorker, limits);
}
