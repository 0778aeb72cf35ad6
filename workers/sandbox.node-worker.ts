/**
 * The sandbox worker for Node (worker_threads), started by
 * src/sandbox/node.ts: QuickJS's WebAssembly module read from node_modules,
 * one Comlink API (src/sandbox/worker-api.ts). The browser's twin is
 * workers/sandbox.worker.ts.
 */
import { parentPort } from 'node:worker_threads';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import { makeSandboxWorkerApi } from '../src/sandbox/worker-api';

if (!parentPort) throw new Error('sandbox.node-worker: start me with new Worker(...), not as a script');
const api = makeSandboxWorkerApi(() => newQuickJSWASMModuleFromVariant(variant));
Comlink.expose(api, nodeEndpoint(parentPort));
