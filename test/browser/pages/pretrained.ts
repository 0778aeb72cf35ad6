/**
 * The pretrained-model page: starts workers/generator.worker.ts the way the
 * app does (a module worker through Comlink) and puts what the test needs on
 * `window.pretrained`, then sets `window.pretrainedReady`.
 */
import * as Comlink from 'comlink';
import type { GeneratorWorkerApi } from '../../../workers/generator.worker';

function startWorker(): { worker: Worker; api: Comlink.Remote<GeneratorWorkerApi> } {
  const worker = new Worker(new URL('../../../workers/generator.worker.ts', import.meta.url), { type: 'module' });
  return { worker, api: Comlink.wrap<GeneratorWorkerApi>(worker) };
}

const helpers = { startWorker, proxy: Comlink.proxy };

declare global {
  interface Window {
    pretrained: typeof helpers;
    pretrainedReady: boolean;
  }
}

window.pretrained = helpers;
window.pretrainedReady = true;
