/**
 * The sandbox worker's API, the same in both worker entries
 * (workers/sandbox.worker.ts for browsers, workers/sandbox.node-worker.ts
 * for Node): `init` loads QuickJS's WebAssembly module once, `run` runs one
 * job in it (vm.ts). The host (client.ts) times every call and terminates
 * the worker when a run outlasts its limits.
 */
import type { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { runJob } from './vm';
import type { SandboxJob, WorkerReply } from './types';

export function makeSandboxWorkerApi(load: () => Promise<QuickJSWASMModule>) {
  let module: Promise<QuickJSWASMModule> | null = null;
  return {
    /** Load the module (once); resolves with the milliseconds this call took. */
    async init(): Promise<{ ms: number }> {
      const t0 = performance.now();
      module ??= load();
      await module;
      return { ms: performance.now() - t0 };
    },
    /** Run one job; `init` must have resolved. */
    async run(job: SandboxJob): Promise<WorkerReply> {
      if (!module) throw new Error('run: the sandbox worker was not initialised; call init() first');
      return runJob(await module, job);
    },
  };
}

export type SandboxWorkerApi = ReturnType<typeof makeSandboxWorkerApi>;
