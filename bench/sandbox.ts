/**
 * `npx tsx bench/sandbox.ts [--starts N] [--runs N] [--pyodide DIR]`: what
 * the program sandbox (src/sandbox, docs/sandbox.md) costs.
 *
 *   size         the files a browser downloads for it, from a production
 *                build (Vite) of bench/pages/sandbox.html: raw and gzip -9;
 *   start        spawn a worker and load QuickJS until it can run (median of
 *                N fresh workers; the first browser start is also shown);
 *   per program  host wall time of one trivial run and of one RPN solver run,
 *                median of N, next to the peer measured in the same run: a
 *                Comlink round trip to the same worker that runs nothing.
 *
 * In Node (worker_threads; the start includes tsx compiling the worker's
 * TypeScript) and in headless Chromium (the built bundle, served locally).
 * With --pyodide DIR (a folder holding an installed `pyodide` npm package;
 * it is not a project dependency) it also measures Pyodide's files, its
 * load in Node and in Chromium, and one trivial runPython; without it that
 * row says "not measured".
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { nodeSandbox, spawnNodeSandboxWorker } from '../src/sandbox/node';
import type { SandboxBenchResult } from './pages/sandbox';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/browser/harness';

const { values: opts } = parseArgs({
  options: { starts: { type: 'string', default: '5' }, runs: { type: 'string', default: '200' }, pyodide: { type: 'string' } },
});
const STARTS = Number(opts.starts);
const RUNS = Number(opts.runs);

const TRIVIAL = 'function solve(x) { return x; }';
const RPN = `function solve(s) {
  const st = [];
  for (const t of s.split(' ')) {
    if (/^\\d+$/.test(t)) st.push(Number(t));
    else { const b = st.pop(), a = st.pop(); st.push(t === '+' ? a + b : t === '-' ? a - b : a * b); }
  }
  return st[0];
}`;
const RPN_INPUT = '12 7 - 3 * 45 + 6 2 * -';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const PROGRAMS = [{ name: 'trivial program', source: TRIVIAL, input: 'x' }, { name: 'RPN solver', source: RPN, input: RPN_INPUT }];

function report(where: string, m: SandboxBenchResult): void {
  console.log(`\n${where}`);
  console.log(`  start (spawn + load QuickJS)  median ${ms(median(m.startsMs))} of ${m.startsMs.length}; first ${ms(m.startsMs[0]!)}; all: ${m.startsMs.map((x) => x.toFixed(0)).join(' ')}`);
  for (const p of m.programs) {
    console.log(`  ${p.name.padEnd(28)}  ${ms(p.ms)} per run (inside the VM: ${ms(p.vmMs)}) = ${(p.ms / m.peerMs).toFixed(1)}× the peer`);
  }
  console.log(`  peer: empty round trip        ${ms(m.peerMs)}`);
}

function sizeTable(title: string, files: { name: string; bytes: Buffer }[]): void {
  console.log(title);
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const g = gzipSync(f.bytes, { level: 9 }).length;
    raw += f.bytes.length;
    gz += g;
    console.log(`  ${f.name.padEnd(44)} ${kb(f.bytes.length).padStart(10)}  gzip ${kb(g).padStart(10)}`);
  }
  console.log(`  ${'total'.padEnd(44)} ${kb(raw).padStart(10)}  gzip ${kb(gz).padStart(10)}`);
}

// 1. Sizes, from a production build of the bench page --------------------------
const root = new URL('..', import.meta.url).pathname;
const outDir = mkdtempSync(join(tmpdir(), 'sandbox-bench-'));
await build({
  configFile: join(root, 'vite.config.ts'), logLevel: 'warn',
  build: { outDir, emptyOutDir: true, rolldownOptions: { input: join(root, 'bench/pages/sandbox.html') } },
});
const assets = readdirSync(join(outDir, 'assets')).filter((f) => /^(sandbox\.worker|emscripten-module(\.browser)?|ffi|module)-/.test(f));
sizeTable('size: what a browser downloads for the sandbox worker (production build)', assets.map((name) => ({ name, bytes: readFileSync(join(outDir, 'assets', name)) })));

// 2. Node, the same measurements as the page's ---------------------------------------
{
  const startsMs: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const sb = nodeSandbox();
    startsMs.push(await sb.warm());
    sb.close();
  }
  const timeMedian = async (f: () => Promise<unknown>) => {
    for (let i = 0; i < 20; i++) await f();
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await f();
      xs.push(performance.now() - t0);
    }
    return median(xs);
  };
  const sb = nodeSandbox();
  await sb.warm();
  const programs = [];
  for (const p of PROGRAMS) {
    const vm: number[] = [];
    const t = await timeMedian(async () => vm.push((await sb.run(p.source, p.input)).ms));
    programs.push({ name: p.name, ms: t, vmMs: median(vm) });
  }
  sb.close();
  const bare = spawnNodeSandboxWorker();
  await bare.api.init();
  const peerMs = await timeMedian(() => bare.api.init());
  bare.terminate();
  report('Node (worker_threads; a start includes tsx compiling the worker\'s TypeScript)', { startsMs, programs, peerMs });
}

// 3. Chromium, on the built bundle, and Pyodide ---------------------------------------------
const pyDir = opts.pyodide;
const pyFiles = ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json'];
const havePyodide = pyDir !== undefined && pyFiles.every((f) => existsSync(join(pyDir, f)));
if (havePyodide) {
  // Served from the same origin as the page, as the app would serve it from node_modules.
  for (const f of pyFiles) cpSync(join(pyDir, f), join(outDir, 'pyodide', f));
}
const server = await preview({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('vite preview: no local URL');
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  const offsite: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(url)) offsite.push(r.url());
  });
  await page.goto(`${url}bench/pages/sandbox.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const m = await page.evaluate((req) => window.benchSandbox(req), { starts: STARTS, runs: RUNS, programs: PROGRAMS });
  report('Chromium (Web Worker; production build served locally; the first start fetches and compiles the .wasm)', m);
  console.log(`  requests off the local server: ${offsite.length === 0 ? 'none' : offsite.join(', ')}`);

  console.log('\nPyodide (Python), for comparison');
  if (!havePyodide) {
    console.log('  not measured: give --pyodide DIR, a folder with the pyodide npm package (e.g. `npm install --prefix /tmp/pyo pyodide`, DIR=/tmp/pyo/node_modules/pyodide)');
  } else {
    sizeTable('  what loadPyodide fetches', pyFiles.map((name) => ({ name, bytes: readFileSync(join(pyDir!, name)) })));
    const { loadPyodide } = (await import(pathToFileURL(join(pyDir!, 'pyodide.mjs')).href)) as {
      loadPyodide: (o: { indexURL: string }) => Promise<{ runPython: (code: string) => unknown }>;
    };
    const t0 = performance.now();
    const py = await loadPyodide({ indexURL: `${pyDir!.replace(/\/$/, '')}/` });
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    py.runPython('1 + 1');
    const firstMs = performance.now() - t1;
    const runs: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      py.runPython('def solve(x):\n    return x[::-1]\nsolve("0314")');
      runs.push(performance.now() - t);
    }
    console.log(`  Node: loadPyodide ${ms(loadMs)}, first runPython ${ms(firstMs)}, then ${ms(median(runs))} per run (in-process, no worker, no limits)`);
    const p2 = await browser.newPage();
    await p2.goto(`${url}bench/pages/sandbox.html`);
    await p2.waitForFunction(() => window.benchReady === true);
    const b = await p2.evaluate((base) => window.benchPyodide(base), `${url}pyodide/`);
    console.log(`  Chromium: import + loadPyodide ${ms(b.loadMs)} (cold cache), first runPython ${ms(b.firstMs)}, then ${ms(b.runMs)} per run (page thread)`);
  }
} finally {
  await browser.close();
  await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  rmSync(outDir, { recursive: true, force: true });
}
