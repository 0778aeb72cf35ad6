/**
 * `npm run bench -- train [options]`: how fast each engine trains the lab's GPT.
 *
 * For each model of `bench/configs.ts` (nano ~0.1M, micro ~1M, mini ~5M
 * parameters) it times a FULL training step — forward, backward, gradient
 * clipping, AdamW — of the same GPT, from the same initial parameters, on the
 * same batch, on:
 *
 *   cpu         our default CPU path, the WebAssembly engine (WasmBackend) on one thread, in this Node process;
 *   cpu-threads the same engine on its worker pool (the default thread count here; not measured with one core);
 *   cpu-ts      the TypeScript reference backend (CpuBackend);
 *   webgpu      our WebGPU backend in headless Chromium;
 *   jax-webgpu  jax-js (bench/jax-gpt.ts) on WebGPU, same page setup, same adapter;
 *   jax-wasm    jax-js on its WebAssembly backend, one thread (its page served without the
 *               cross-origin isolation headers, so jax-js starts no worker pool);
 *   jax-wasm-threads  jax-js on its WebAssembly backend with its worker pool (isolated page);
 *   torch       PyTorch on CPU with one thread (bench/torch_train.py, Debian's python3-torch).
 *
 * The timing protocol is in bench/protocol.ts. It prints a table per model
 * with the ratios the project aims at, or with --json one JSON object per
 * measurement. An engine that cannot run here is reported "not measured
 * (reason)", never as 0.
 *
 * Options:
 *   --configs nano,micro     models to run (default: all)
 *   --only cpu,webgpu,...    engines to run (default: all)
 *   --steps N                timed steps per measurement (default: per model)
 *   --warmup N               warm-up steps per measurement (default: per model)
 *   --budget S               wall-clock cap per measurement, seconds (default 30)
 *   --json                   JSON lines on stdout instead of tables (progress stays on stderr)
 *   --out FILE               also append the JSON lines to FILE (tables and JSON from one run)
 *   --profile                our WebGPU: also one step with each dispatch timed alone, per kernel
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import type { DeviceCounters } from '../src/core/backend';
import { CpuBackend } from '../src/core/backends/cpu';
import { cpuReport } from '../src/core/backends/index';
import { WasmBackend } from '../src/core/backends/wasm';
import type { StepProfile } from '../src/core/backends/webgpu';
import { paramLayout } from '../src/core/gpt/config';
import {
  BENCH_HYPER, BENCH_MODELS, type BenchModel, benchBatch, benchParams, flopsPerStep, MEASURE_BUDGET_MS, paramCount,
  tokensPerStep,
} from '../bench/configs';
import { benchGenerate } from './bench-generate';
import { benchLabs } from './bench-labs-time';
import { closeQuietly, openBenchPage } from './bench-page';
import { benchCollapse, benchSelfImprove, benchSymbiosis } from './bench-labs';
import type { PageRequest, PageResponse } from '../bench/pages/train';
import { ENGINE_IDS, type EngineId, type EngineRun, NotMeasured, timeTrainingSteps } from '../bench/protocol';
import { type Lab, startLab } from '../test/browser/harness';

const REPO_ROOT = path.resolve(new URL('..', import.meta.url).pathname);
/** Debian's interpreter, which has python3-torch (the pyenv python3 on PATH does not). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const OUR_WEBGPU_MODULE = path.join(REPO_ROOT, 'src/core/backends/index.ts');

const ENGINE_LABELS: Record<EngineId, string> = {
  'cpu': 'ours CPU Wasm 1 thread',
  'cpu-threads': 'ours CPU Wasm threads',
  'cpu-ts': 'ours CPU TS reference',
  'webgpu': 'ours WebGPU',
  'jax-webgpu': 'jax-js WebGPU',
  'jax-wasm': 'jax-js Wasm 1 thread',
  'jax-wasm-threads': 'jax-js Wasm threads',
  'torch': 'PyTorch CPU 1 thread',
};

/** One line of `--json`: everything needed to compare runs across machines and commits. */
interface Measurement {
  bench: 'train';
  model: string;
  config: BenchModel['config'];
  params: number;
  batch: { B: number; T: number };
  tokensPerStep: number;
  /** nanoGPT's FLOP estimate of one step (bench/configs.ts flopsPerStep). */
  flopsPerStep: number;
  hyper: typeof BENCH_HYPER;
  engine: EngineId;
  status: 'measured' | 'not-measured';
  /** Why it was not measured. */
  reason?: string;
  description?: string;
  warmupSteps?: number;
  timedSteps?: number;
  /** Median ms of the synced steps (each ends with a loss readback). */
  msPerStep?: number;
  tokensPerSecond?: number;
  /** flopsPerStep / msPerStep, in GFLOP/s. */
  gflops?: number;
  /** Backend creation + parameter upload, ms (our WebGPU backend compiles its pipelines here). */
  setupMs?: number;
  /** First warm-up step, ms: compilation (jax-js) + one step. */
  firstStepMs?: number;
  pipelinedMsPerStep?: number;
  pipelinedTokensPerSecond?: number;
  pipelinedSteps?: number;
  capped?: boolean;
  memory?: EngineRun['memory'];
  /** backend.deviceBytes(): GPU buffers our WebGPU backend holds (parameters, moments, activations, staging). */
  deviceBytes?: number;
  /** Device work of one training step that reads its loss back (our WebGPU; after warm-up). */
  perStep?: DeviceCounters;
  /** The same for a step that reads nothing back. */
  perQuietStep?: DeviceCounters;
  /** Losses of the warm-up steps: equal across engines when they run the same maths. */
  warmupLosses?: number[];
  lastLoss?: number;
  extra?: Record<string, unknown>;
  timings?: EngineRun['timings'];
  /** loadavg1: the 1-minute load average when the measurement started (other work on the machine skews timings). */
  host: { node: string; cpus: number; cpuModel: string; platform: string; loadavg1: number };
  timestamp: string;
}

interface Options {
  models: BenchModel[];
  engines: EngineId[];
  steps: number | null;
  warmup: number | null;
  budgetMs: number;
  json: boolean;
  outFile: string | null;
  profile: boolean;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run bench -- train [--configs nano,micro,mini] ` +
    `[--only ${ENGINE_IDS.join(',')}] [--steps N] [--warmup N] [--budget SECONDS] [--json] [--out FILE] [--profile]\n` +
    '       npm run bench -- generate [--shapes collapse,...] [--only cpu,webgpu,...] [--calls N] [--json] (bin/bench-generate.ts)\n' +
    '       npm run bench -- labs [--labs self-improve,...] [--only cpu,cpu-1,cpu-ts,webgpu] [--seed N] [--json] (bin/bench-labs-time.ts)\n' +
    '       npm run bench -- self-improve [--seeds 1,2,3] [--preset classroom]\n' +
    '       npm run bench -- collapse [--seeds 1,2,3] [--preset classroom]\n' +
    '       npm run bench -- symbiosis [--seeds 1,2,3] [--preset classroom] [--data ../shared/data/ag_news]\n');
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      configs: { type: 'string' },
      only: { type: 'string' },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      budget: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] !== 'train' || positionals.length > 1) usage(`expected the benchmark name 'train', got '${positionals.join(' ')}'`);
  const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : null);
  const modelNames = list(values.configs) ?? BENCH_MODELS.map((m) => m.name);
  const models = modelNames.map((name) => BENCH_MODELS.find((m) => m.name === name) ??
    usage(`--configs: unknown model '${name}' (known: ${BENCH_MODELS.map((m) => m.name).join(', ')})`));
  const engines = (list(values.only) ?? [...ENGINE_IDS]).map((e) => (ENGINE_IDS as readonly string[]).includes(e)
    ? (e as EngineId) : usage(`--only: unknown engine '${e}' (known: ${ENGINE_IDS.join(', ')})`));
  const count = (s: string | undefined, name: string, min: number): number | null => {
    if (s === undefined) return null;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) usage(`${name}: expected an integer ≥ ${min}, got '${s}'`);
    return n;
  };
  const budgetS = values.budget === undefined ? MEASURE_BUDGET_MS / 1000 : Number(values.budget);
  if (!(budgetS > 0)) usage(`--budget: expected seconds > 0, got '${values.budget}'`);
  return {
    models, engines, json: values.json ?? false, outFile: values.out ?? null, budgetMs: budgetS * 1000, profile: values.profile ?? false,
    steps: count(values.steps, '--steps', 1), warmup: count(values.warmup, '--warmup', 1),
  };
}

function hostFacts(): Measurement['host'] {
  const cpus = os.cpus();
  return {
    node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model ?? '?', platform: `${os.platform()} ${os.release()}`,
    loadavg1: os.loadavg()[0]!,
  };
}

function stepCounts(m: BenchModel, o: Options): { warmupSteps: number; timedSteps: number } {
  return { warmupSteps: o.warmup ?? m.warmupSteps, timedSteps: o.steps ?? m.timedSteps };
}

// ---------------------------------------------------------------------------
// Engines

/** Our CPU engines in this Node process: the Wasm engine on one thread or its pool, or the TypeScript reference. */
async function runCpu(engine: 'cpu' | 'cpu-threads' | 'cpu-ts', m: BenchModel, o: Options): Promise<EngineRun> {
  const setupStart = performance.now();
  let backend: CpuBackend | WasmBackend;
  let detail: string;
  if (engine === 'cpu-ts') {
    backend = new CpuBackend(m.config);
    detail = '1 thread';
  } else {
    const auto = cpuReport();
    if (engine === 'cpu-threads' && auto.threads < 2) throw new NotMeasured(`the default CPU path has one thread here (${auto.reason})`);
    backend = await WasmBackend.create(m.config, { threads: engine === 'cpu' ? 1 : auto.threads });
    detail = backend.report.reason;
  }
  await backend.setParams(benchParams(m));
  const setupMs = performance.now() - setupStart;
  const batch = benchBatch(m);
  const timings = await timeTrainingSteps(
    async (readLoss) => (await backend.trainStep(batch, BENCH_HYPER, { loss: readLoss })).loss,
    { ...stepCounts(m, o), budgetMs: o.budgetMs, pipelined: false, now: () => performance.now() },
  );
  const run: EngineRun = {
    description: `ours: ${backend.description}, Node ${process.version} [${detail}]`,
    setupMs,
    timings,
    memory: { bytes: backend.hostBytes(), kind: 'host-typed-arrays' },
    ...(backend instanceof WasmBackend ? { extra: { threads: backend.threads, fma: backend.report.fma } } : {}),
  };
  backend.dispose();
  return run;
}

let torchProbe: string | null | undefined; // null: torch imports; string: why not

function torchUnavailable(): string | null {
  if (torchProbe !== undefined) return torchProbe;
  if (!existsSync(DEBIAN_PYTHON)) return (torchProbe = `${DEBIAN_PYTHON} not found`);
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', 'import torch'], { stdio: 'pipe', timeout: 60_000 });
    torchProbe = null;
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop();
    torchProbe = `'${DEBIAN_PYTHON} -c "import torch"' failed${stderr ? `: ${stderr}` : ''}`;
  }
  return torchProbe;
}

/** Runs bench/torch_train.py on the same parameters and batch (written to a temp dir). */
async function runTorch(m: BenchModel, o: Options): Promise<EngineRun> {
  const why = torchUnavailable();
  if (why) throw new NotMeasured(why);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'symbiosis-bench-'));
  try {
    const batch = benchBatch(m);
    const tokens = new Int32Array(2 * batch.inputs.length);
    tokens.set(batch.inputs, 0);
    tokens.set(batch.targets, batch.inputs.length);
    const paramsPath = path.join(dir, 'params.f32');
    const batchPath = path.join(dir, 'batch.i32');
    writeFileSync(paramsPath, benchParams(m)); // little-endian float32, our flat layout
    writeFileSync(batchPath, tokens);
    const spec = {
      config: m.config, B: m.B, T: m.T, hyper: BENCH_HYPER, budgetMs: o.budgetMs, ...stepCounts(m, o),
      paramsPath, batchPath,
      layout: paramLayout(m.config).views.map(({ name, offset, shape, decay }) => ({ name, offset, shape, decay })),
    };
    const specPath = path.join(dir, 'spec.json');
    writeFileSync(specPath, JSON.stringify(spec));
    const script = path.join(REPO_ROOT, 'bench/torch_train.py');
    const hardTimeoutMs = 3 * o.budgetMs + 180_000; // ≥ 2 steps always run, and one may outlast the budget
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(DEBIAN_PYTHON, [script, specPath], {
        // One thread everywhere (torch.set_num_threads(1) is also called), like our CPU backend.
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), hardTimeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (signal) reject(new NotMeasured(`torch_train.py killed (${signal}) after ${hardTimeoutMs / 1000} s`));
        else if (code !== 0) reject(new Error(`torch_train.py exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
        else resolve(stdout);
      });
    });
    const last = out.trim().split('\n').pop() ?? '';
    const reply = JSON.parse(last) as PageResponse;
    if (!reply.ok) throw reply.notMeasured ? new NotMeasured(reply.reason) : new Error(reply.reason);
    return reply.run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let lab: Lab | null = null;

async function runInBrowser(engine: PageRequest['engine'], m: BenchModel, o: Options): Promise<EngineRun> {
  if (engine === 'webgpu' && !existsSync(OUR_WEBGPU_MODULE)) {
    throw new NotMeasured(`${path.relative(REPO_ROOT, OUR_WEBGPU_MODULE)} does not exist yet (our WebGPU backend is not written)`);
  }
  if (!lab) {
    try {
      lab = await startLab();
    } catch (e) {
      throw new NotMeasured(`could not start the dev server and Chromium: ${String(e)}`);
    }
  }
  // A fresh page per measurement: clean GPU device, memory counters from zero.
  const { page, errors } = await lab.newPage();
  if (engine === 'jax-wasm') await withoutIsolation(page);
  // ≥ 2 steps always run (one warm-up with shader compilation, one timed), and one may outlast the budget.
  const hardTimeoutMs = 3 * o.budgetMs + 240_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await openBenchPage(page, `${lab.url}/bench/pages/train.html`);
    const req: PageRequest = { engine, model: m.name, budgetMs: o.budgetMs, profile: o.profile, ...stepCounts(m, o) };
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NotMeasured(`no result within ${hardTimeoutMs / 1000} s`)), hardTimeoutMs);
    });
    const reply = await Promise.race([page.evaluate((r) => window.benchTrain!(r), req), timeout]);
    if (!reply.ok) {
      const detail = errors.length ? ` [page errors: ${errors.slice(0, 3).join(' | ')}]` : '';
      throw reply.notMeasured ? new NotMeasured(reply.reason + detail) : new Error(reply.reason + detail);
    }
    return reply.run;
  } finally {
    clearTimeout(timer);
    await closeQuietly(page);
  }
}

/**
 * Serve the bench page's document without COOP/COEP: the dev server isolates
 * every page (vite.config.ts), and in an isolated page jax-js's Wasm backend
 * starts a worker pool; 'jax-wasm' measures it on one thread, as before the
 * headers (and as on a host that sends none).
 */
async function withoutIsolation(page: Page): Promise<void> {
  await page.route('**/bench/pages/train.html', async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response, headers });
  });
}


async function runEngine(engine: EngineId, m: BenchModel, o: Options): Promise<EngineRun> {
  switch (engine) {
    case 'cpu':
    case 'cpu-threads':
    case 'cpu-ts': return runCpu(engine, m, o);
    case 'torch': return runTorch(m, o);
    case 'webgpu':
    case 'jax-webgpu':
    case 'jax-wasm':
    case 'jax-wasm-threads': return runInBrowser(engine, m, o);
    default: throw new Error(`unknown engine ${engine satisfies never}`);
  }
}

async function measure(engine: EngineId, m: BenchModel, o: Options): Promise<Measurement> {
  const tokens = tokensPerStep(m);
  const base: Measurement = {
    bench: 'train', model: m.name, config: m.config, params: paramCount(m), batch: { B: m.B, T: m.T },
    tokensPerStep: tokens, flopsPerStep: flopsPerStep(m), hyper: BENCH_HYPER, engine, status: 'not-measured', host: hostFacts(),
    timestamp: new Date().toISOString(),
  };
  try {
    const run = await runEngine(engine, m, o);
    const t = run.timings;
    const out: Measurement = {
      ...base,
      status: 'measured',
      description: run.description,
      warmupSteps: t.warmupMs.length,
      timedSteps: t.stepMs.length,
      setupMs: run.setupMs,
      firstStepMs: t.warmupMs[0]!,
      capped: t.capped,
      memory: run.memory,
      warmupLosses: t.warmupLosses,
      lastLoss: t.lastLoss,
      timings: t,
    };
    out.msPerStep = t.medianMs;
    out.tokensPerSecond = (tokens * 1000) / t.medianMs;
    out.gflops = base.flopsPerStep / t.medianMs / 1e6;
    if (t.pipelined) {
      out.pipelinedMsPerStep = t.pipelined.msPerStep;
      out.pipelinedTokensPerSecond = (tokens * 1000) / t.pipelined.msPerStep;
      out.pipelinedSteps = t.pipelined.steps;
    }
    if (run.extra) {
      out.extra = run.extra;
      const { deviceBytes, perStep, perQuietStep } = run.extra as { deviceBytes?: number; perStep?: DeviceCounters; perQuietStep?: DeviceCounters };
      if (deviceBytes !== undefined) out.deviceBytes = deviceBytes;
      if (perStep) out.perStep = perStep;
      if (perQuietStep) out.perQuietStep = perQuietStep;
    }
    return out;
  } catch (e) {
    const reason = e instanceof NotMeasured ? e.message : `error: ${e instanceof Error ? e.message : String(e)}`;
    return { ...base, reason };
  }
}

// ---------------------------------------------------------------------------
// Report

function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return '—';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function fmtInt(x: number | undefined): string {
  return x === undefined ? '—' : Math.round(x).toLocaleString('en-US');
}

function fmtBytes(memory: EngineRun['memory'] | undefined): string {
  if (!memory) return '—';
  const label: Record<EngineRun['memory']['kind'], string> = {
    'gpu-buffers-peak': 'GPU peak',
    'host-typed-arrays': 'host',
    'wasm-memory': 'wasm heap',
    'process-rss-growth': 'RSS growth',
  };
  return `${(memory.bytes / 2 ** 20).toFixed(1)} MiB ${label[memory.kind]}`;
}

function fmtParams(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

/** A ratio line: a / b in tokens/s (synced; pipelined too when either has it). */
function ratioLine(label: string, ms: Measurement[], a: EngineId, b: EngineId, goal: number | null): string {
  const name = `  ${label}`.padEnd(44);
  const goalText = goal === null ? '' : `  (goal ≥ ${goal}×)`;
  const ma = ms.find((x) => x.engine === a);
  const mb = ms.find((x) => x.engine === b);
  if (!ma?.tokensPerSecond || !mb?.tokensPerSecond) {
    const missing = ([[a, ma], [b, mb]] as const).filter(([, x]) => !x?.tokensPerSecond)
      .map(([e, x]) => `${ENGINE_LABELS[e]} ${!x ? 'not run' : 'not measured'}`);
    return `${name}n/a: ${missing.join(', ')}${goalText}`;
  }
  const r = ma.tokensPerSecond / mb.tokensPerSecond;
  const verdict = goal === null ? '' : r >= goal ? '  met' : '  NOT met';
  let text = `${name}${r.toFixed(2)}×${goalText}${verdict}`;
  if (ma.pipelinedTokensPerSecond || mb.pipelinedTokensPerSecond) {
    const pa = ma.pipelinedTokensPerSecond ?? ma.tokensPerSecond;
    const pb = mb.pipelinedTokensPerSecond ?? mb.tokensPerSecond;
    text += `; pipelined ${(pa / pb).toFixed(2)}×`;
  }
  return text;
}

/** Relative difference of each engine's first losses from ours CPU (the TypeScript reference when measured). */
function parityNote(ms: Measurement[]): string[] {
  const ref = ms.find((x) => x.engine === 'cpu-ts' && x.warmupLosses) ?? ms.find((x) => x.engine === 'cpu' && x.warmupLosses);
  if (!ref?.warmupLosses) return [];
  const lines: string[] = [];
  for (const x of ms) {
    if (x === ref || !x.warmupLosses) continue;
    const n = Math.min(2, x.warmupLosses.length, ref.warmupLosses.length);
    const diffs = Array.from({ length: n }, (_, i) => Math.abs(x.warmupLosses![i]! - ref.warmupLosses![i]!) / Math.abs(ref.warmupLosses![i]!));
    const worst = Math.max(...diffs);
    const flag = worst > 1e-3 ? '  MISMATCH: not the same maths?' : '';
    lines.push(`  ${ENGINE_LABELS[x.engine].padEnd(22)} losses of steps 1..${n} differ from ${ENGINE_LABELS[ref.engine]} by ≤ ${worst.toExponential(1)} (relative)${flag}`);
  }
  return lines;
}

function printTable(m: BenchModel, ms: Measurement[]): void {
  const c = m.config;
  const lines: string[] = [];
  lines.push('');
  lines.push(`${m.name} — ${fmtParams(paramCount(m))} params (V=${c.vocabSize} ctx=${c.contextLength} C=${c.dModel} ` +
    `L=${c.nLayers} NH=${c.nHeads}), batch B=${m.B} × T=${m.T} = ${tokensPerStep(m)} tokens/step, ` +
    `≈${(flopsPerStep(m) / 1e9).toFixed(2)} GFLOP/step, load avg ${ms[0]?.host.loadavg1.toFixed(1) ?? '?'}`);
  const widths = [22, 9, 9, 7, 10, 10, 8, 8, 20, 7, 6];
  lines.push(pad(['engine', 'ms/step', 'tokens/s', 'GFLOP/s', 'pipe ms/st', 'pipe tok/s', 'setup ms', '1st ms', 'memory',
    'loss@1', 'steps'], widths));
  for (const x of ms) {
    const label = ENGINE_LABELS[x.engine];
    if (x.status !== 'measured') {
      lines.push(`${label.padEnd(widths[0]!)}  not measured (${x.reason})`);
      continue;
    }
    const steps = `${x.warmupSteps}+${x.timedSteps}${x.capped ? '*' : ''}`;
    lines.push(pad([
      label, fmtMs(x.msPerStep), fmtInt(x.tokensPerSecond), x.gflops?.toFixed(2) ?? '—', fmtMs(x.pipelinedMsPerStep),
      fmtInt(x.pipelinedTokensPerSecond), fmtMs(x.setupMs),
      fmtMs(x.firstStepMs), fmtBytes(x.memory), x.warmupLosses?.[0]?.toFixed(4) ?? '—', steps,
    ], widths));
  }
  lines.push('ratios (tokens/s; median of synced steps):');
  lines.push(ratioLine('ours WebGPU / jax-js WebGPU', ms, 'webgpu', 'jax-webgpu', 3));
  lines.push(ratioLine('ours CPU / jax-js Wasm (1 thread each)', ms, 'cpu', 'jax-wasm', m.name === 'mini' ? null : 1));
  lines.push(ratioLine('ours CPU threads / ours CPU 1 thread', ms, 'cpu-threads', 'cpu', m.name === 'nano' ? null : 1.6));
  lines.push(ratioLine('ours CPU threads / jax-js Wasm threads', ms, 'cpu-threads', 'jax-wasm-threads', null));
  lines.push(ratioLine('ours CPU / ours CPU TS reference', ms, 'cpu', 'cpu-ts', null));
  lines.push(ratioLine('ours CPU / PyTorch 1 thread', ms, 'cpu', 'torch', 0.5));
  lines.push(ratioLine('ours CPU threads / PyTorch 1 thread', ms, 'cpu-threads', 'torch', null));
  lines.push(ratioLine('ours WebGPU / ours CPU', ms, 'webgpu', 'cpu', null));
  for (const x of ms) {
    if (!x.perStep) continue;
    const c = (d: DeviceCounters) => `${d.dispatches} dispatches, ${d.bindGroups} bind groups, ${d.readbacks} readbacks, ${d.submits} submits`;
    lines.push(`device work per step (${ENGINE_LABELS[x.engine]}): loss read ${c(x.perStep)}; nothing read ${x.perQuietStep ? c(x.perQuietStep) : '—'}; `
      + `deviceBytes ${x.deviceBytes === undefined ? '—' : `${(x.deviceBytes / 2 ** 20).toFixed(2)} MiB`}`);
  }
  for (const x of ms) {
    const profile = x.extra?.profile as StepProfile | undefined;
    if (!profile) continue;
    const total = profile.kernels.reduce((a, k) => a + k.ms, 0);
    lines.push(`where one step's time goes (${ENGINE_LABELS[x.engine]}; each dispatch submitted and waited for alone, ` +
      `minus ${fmtMs(profile.overheadMs)} ms for an empty submit; sum ${fmtMs(total)} ms):`);
    for (const k of profile.kernels) {
      lines.push(`  ${k.kernel.padEnd(26)} ${fmtMs(k.ms).padStart(8)} ms  ${(100 * k.ms / total).toFixed(1).padStart(5)}%  ` +
        `${k.dispatches} dispatch${k.dispatches === 1 ? '' : 'es'}`);
    }
  }
  const parity = parityNote(ms);
  if (parity.length) lines.push('loss parity (same init, same batch, one AdamW step):', ...parity);
  lines.push('engines:');
  for (const x of ms) if (x.description) lines.push(`  ${ENGINE_LABELS[x.engine].padEnd(22)} ${x.description}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function printLegend(o: Options): void {
  process.stdout.write([
    '',
    `ms/step: median over the timed steps, each ending with a loss readback (warm-up steps first, untimed).`,
    `pipe: the same number of steps back to back, one readback at the end (asynchronous engines only).`,
    `setup: backend creation + parameter upload (our WebGPU compiles its pipelines there); 1st: the first step (jax-js compiles there).`,
    `steps: warm-up + timed; * = stopped by the ${o.budgetMs / 1000} s per-measurement cap.`,
    `GFLOP/s: nanoGPT's 6·N + 12·L·C·T FLOPs per token over the median step (masked attention counted).`,
    `memory: GPU peak = peak live GPUBuffer bytes of the page; host = the backend's typed arrays; ` +
      `wasm heap = jax-js's WebAssembly.Memory; RSS growth = RSS after the steps minus RSS before the model.`,
    '',
  ].join('\n'));
}

async function main(): Promise<void> {
  const labBench = process.argv[2];
  if (labBench === 'generate') {
    await benchGenerate(process.argv.slice(3));
    return;
  }
  if (labBench === 'labs') {
    await benchLabs(process.argv.slice(3));
    return;
  }
  if (labBench === 'self-improve' || labBench === 'collapse' || labBench === 'symbiosis') {
    // Lab benchmarks live in bin/bench-labs.ts: seeds × seconds × the lab's own criteria.
    const { values } = parseArgs({
      args: process.argv.slice(3), options: { seeds: { type: 'string' }, preset: { type: 'string' }, data: { type: 'string' } },
    });
    const seeds = (values.seeds ?? '1,2,3').split(',').map((x) => Number(x.trim()));
    if (seeds.some((x) => !Number.isSafeInteger(x) || x < 0)) usage(`--seeds: expected non-negative integers, got '${values.seeds}'`);
    if (labBench === 'symbiosis') await benchSymbiosis(seeds, values.preset ?? 'classroom', values.data ?? '../shared/data/ag_news');
    else await (labBench === 'self-improve' ? benchSelfImprove : benchCollapse)(seeds, values.preset ?? 'classroom');
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  try {
    for (const m of o.models) {
      const results: Measurement[] = [];
      for (const engine of o.engines) {
        process.stderr.write(`[bench] ${m.name} ${engine} ... `);
        const t0 = performance.now();
        const r = await measure(engine, m, o);
        const took = ((performance.now() - t0) / 1000).toFixed(1);
        process.stderr.write(r.status === 'measured'
          ? `${fmtMs(r.msPerStep)} ms/step (${took} s)\n`
          : `not measured: ${r.reason?.split('\n')[0]} (${took} s)\n`);
        results.push(r);
        if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
        if (o.outFile) appendFileSync(o.outFile, JSON.stringify(r) + '\n');
      }
      if (!o.json) printTable(m, results);
    }
    if (!o.json) printLegend(o);
  } finally {
    await lab?.close();
  }
  process.stderr.write(`[bench] done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

await main();
