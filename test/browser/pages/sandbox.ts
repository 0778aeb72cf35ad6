/**
 * The sandbox page: a browser sandbox (src/sandbox/browser.ts, Web Workers
 * running workers/sandbox.worker.ts), the hostile table and the program
 * verifier on `window.sandboxPage`; a heartbeat shows the page's own
 * thread kept running; `window.sandboxNested` runs programs through a
 * sandbox started inside another worker, as the lab worker will. Sets
 * `window.sandboxReady`.
 */
import * as Comlink from 'comlink';
import * as puzzles from '../../../src/core/puzzles';
import { keyFromSeed, foldIn } from '../../../src/core/rng';
import { browserSandbox } from '../../../src/sandbox/browser';
import { HOSTILE_CASES, formatHostileVerdict, runHostileCases } from '../../../src/sandbox/hostile';
import type { NestedApi } from './sandbox-nested.worker';

const sandbox = browserSandbox();
const heartbeat = { beats: 0 };
setInterval(() => heartbeat.beats++, 20);

const helpers = { sandbox, heartbeat, puzzles, keyFromSeed, foldIn, HOSTILE_CASES, formatHostileVerdict, runHostileCases, browserSandbox };

declare global {
  interface Window {
    sandboxPage: typeof helpers;
    sandboxNested: Comlink.Remote<NestedApi>;
    sandboxReady: boolean;
  }
}

window.sandboxPage = helpers;
window.sandboxNested = Comlink.wrap<NestedApi>(new Worker(new URL('./sandbox-nested.worker.ts', import.meta.url), { type: 'module', name: 'nested' }));
window.sandboxReady = true;
