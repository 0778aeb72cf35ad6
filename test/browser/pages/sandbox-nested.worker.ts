/**
 * A worker that starts its own sandbox (nested workers), as the lab worker
 * does for the program mode: runs programs and reports the results.
 */
import * as Comlink from 'comlink';
import type { Json } from '../../../src/core/puzzles';
import { browserSandbox } from '../../../src/sandbox/browser';

const sandbox = browserSandbox();

const api = {
  run: (source: string, input?: Json) => sandbox.run(source, input),
  stats: () => ({ ...sandbox.stats }),
};

Comlink.expose(api);
export type NestedApi = typeof api;
