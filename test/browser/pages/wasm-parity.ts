/**
 * The Wasm engine page: the suite on `window.wasmParity` (this page's main
 * thread) and `window.wasmParityWorker` (inside a module Web Worker, where
 * the lab runs its engine), then `window.wasmParityReady`.
 */
import * as Comlink from 'comlink';
import { suite, type WasmParitySuite } from './wasm-parity-suite';

declare global {
  interface Window {
    wasmParity: WasmParitySuite;
    wasmParityWorker: Comlink.Remote<WasmParitySuite>;
    wasmParityReady: boolean;
  }
}

window.wasmParity = suite;
window.wasmParityWorker = Comlink.wrap<WasmParitySuite>(
  new Worker(new URL('./wasm-parity.worker.ts', import.meta.url), { type: 'module', name: 'wasm-parity' }),
);
window.wasmParityReady = true;
