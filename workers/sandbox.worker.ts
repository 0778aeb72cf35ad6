/**
 * The sandbox worker for browsers: QuickJS's WebAssembly module, served by
 * the app from node_modules (Vite emits the .wasm as an asset; no CDN), and
 * one Comlink API (src/sandbox/worker-api.ts). Started by
 * src/sandbox/browser.ts, from the page or from another worker; the host
 * terminates it when a program outlasts its limits. The Node twin is
 * workers/sandbox.node-worker.ts.
 */
import variant from '@jitl/quickjs-wasmfile-release-sync';
import wasmLocation from '@jitl/quickjs-wasmfile-release-sync/wasm?url';
import * as Comlink from 'comlink';
import { newQuickJSWASMModuleFromVariant, newVariant } from 'quickjs-emscripten-core';
import { makeSandboxWorkerApi } from '../src/sandbox/worker-api';

const api = makeSandboxWorkerApi(() => newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmLocation })));
Comlink.expose(api);

export type { SandboxWorkerApi } from '../src/sandbox/worker-api';
