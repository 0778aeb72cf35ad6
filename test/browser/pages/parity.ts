/**
 * The parity page: exposes the suite on `window.parity` (run on the page's
 * main thread) and `window.parityWorker` (the same functions run inside a
 * module Web Worker, through comlink), then sets `window.parityReady`.
 */
import * as Comlink from 'comlink';
import { type ParitySuite, suite } from './parity-suite';

declare global {
  interface Window {
    parity: ParitySuite;
    parityWorker: Comlink.Remote<ParitySuite>;
    parityReady: boolean;
  }
}

window.parity = suite;
window.parityWorker = Comlink.wrap<ParitySuite>(
  new Worker(new URL('./parity.worker.ts', import.meta.url), { type: 'module', name: 'parity' }),
);
window.parityReady = true;
