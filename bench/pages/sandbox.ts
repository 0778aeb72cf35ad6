/**
 * Browser side of bench/sandbox.ts: `window.benchSandbox(req)` times fresh
 * sandbox workers' starts, runs of two programs and the peer (an empty
 * Comlink round trip to a sandbox worker); `window.benchPyodide(base)`
 * loads Pyodide from `base` and runs one line. Sets `window.benchReady`.
 */
import { browserSandbox, spawnBrowserSandboxWorker } from '../../src/sandbox/browser';

export interface SandboxBenchRequest {
  starts: number;
  runs: number;
  programs: { name: string; source: string; input: string }[];
}

export interface SandboxBenchResult {
  startsMs: number[];
  /** Median host wall ms per run, and median ms inside the VM, per program. */
  programs: { name: string; ms: number; vmMs: number }[];
  peerMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeMedian(runs: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await f();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

async function benchSandbox(req: SandboxBenchRequest): Promise<SandboxBenchResult> {
  const startsMs: number[] = [];
  for (let i = 0; i < req.starts; i++) {
    const sb = browserSandbox();
    startsMs.push(await sb.warm());
    sb.close();
  }
  const sb = browserSandbox();
  await sb.warm();
  const programs = [];
  for (const p of req.programs) {
    const vm: number[] = [];
    const ms = await timeMedian(req.runs, async () => vm.push((await sb.run(p.source, p.input)).ms));
    programs.push({ name: p.name, ms, vmMs: median(vm) });
  }
  sb.close();
  const bare = spawnBrowserSandboxWorker();
  await bare.api.init();
  const peerMs = await timeMedian(req.runs, () => bare.api.init());
  bare.terminate();
  return { startsMs, programs, peerMs };
}

async function benchPyodide(base: string): Promise<{ loadMs: number; firstMs: number; runMs: number }> {
  const t0 = performance.now();
  const mod = (await import(/* @vite-ignore */ `${base}pyodide.mjs`)) as {
    loadPyodide: (o: { indexURL: string }) => Promise<{ runPython: (code: string) => unknown }>;
  };
  const py = await mod.loadPyodide({ indexURL: base });
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  py.runPython('1 + 1');
  const firstMs = performance.now() - t1;
  const runMs = await timeMedian(50, async () => py.runPython('def solve(x):\n    return x[::-1]\nsolve("0314")'));
  return { loadMs, firstMs, runMs };
}

declare global {
  interface Window {
    benchSandbox: typeof benchSandbox;
    benchPyodide: typeof benchPyodide;
    benchReady?: boolean;
  }
}

window.benchSandbox = benchSandbox;
window.benchPyodide = benchPyodide;
window.benchReady = true;
