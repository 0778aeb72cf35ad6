/**
 * `npm run bench -- generate [options]`: tokens per second of generate() on
 * the labs' own shapes (bench/generate.ts), by engine:
 *
 *   cpu            our default CPU path's KV-cache decoder (the WebAssembly engine) in this Node process;
 *   cpu-ts         the TypeScript reference backend's KV-cache decoder;
 *   webgpu         our WebGPU decoder in headless Chromium: KV cache, sampling and
 *                  stop rule on the GPU, token ids the only readback;
 *   webgpu-logits  the WebGPU KV cache with the logits read back every position
 *                  (sampling in core/sample.ts);
 *   webgpu-prefix  WebGPU recomputing the whole prefix per token (the path before the decoder).
 *
 * Per engine and shape: the median of a few whole generate() calls (after an
 * untimed first one), tokens/s over all rows, and for WebGPU the device work
 * of one call: dispatches, readbacks, bind groups and submits, per decoded
 * position (one token for every row of the batch) and per call, and the GPU
 * memory held (deviceBytes). All engines generate the same tokens from the
 * same parameters and key; the table says whether their digests agree.
 *
 * Options:
 *   --shapes collapse,...   shapes to run (default: all)
 *   --only cpu,webgpu,...   engines (default: all)
 *   --calls N               timed calls per measurement (default 5)
 *   --budget S              wall-clock cap per measurement, seconds (default 30)
 *   --json                  JSON lines on stdout instead of tables
 *   --out FILE              also append the JSON lines to FILE
 */
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createCpuBackend } from '../src/core/backends/index';
import {
  GENERATE_SHAPES, type GenerateRun, type GenerateShape, generateParams, paramCountOf, timeGenerate,
} from '../bench/generate';
import type { GeneratePageEngine, GeneratePageRequest } from '../bench/pages/generate';
import { NotMeasured } from '../bench/protocol';
import { closeQuietly, openBenchPage } from './bench-page';
import { type Lab, startLab } from '../test/browser/harness';

export type GenerateEngine = 'cpu' | 'cpu-ts' | GeneratePageEngine;
const ENGINES: readonly GenerateEngine[] = ['cpu', 'cpu-ts', 'webgpu', 'webgpu-logits', 'webgpu-prefix'];

const LABELS: Record<GenerateEngine, string> = {
  'cpu': 'ours CPU Wasm (Node)',
  'cpu-ts': 'ours CPU TS reference',
  'webgpu': 'ours WebGPU decoder',
  'webgpu-logits': 'WebGPU, logits read',
  'webgpu-prefix': 'WebGPU, prefix redone',
};

/** One line of `--json`. */
interface GenerateMeasurement {
  bench: 'generate';
  shape: string;
  lab: string;
  config: GenerateShape['config'];
  params: number;
  B: number;
  promptLength: number;
  sampling: GenerateShape['sampling'] & { stopTokens: number[] };
  engine: GenerateEngine;
  status: 'measured' | 'not-measured';
  reason?: string;
  description?: string;
  /** New tokens (all rows) per second, over the median call. */
  tokensPerSecond?: number;
  msPerCall?: number;
  firstCallMs?: number;
  setupMs?: number;
  timedCalls?: number;
  capped?: boolean;
  /** New tokens per call, all rows. */
  tokens?: number;
  /** Decoded positions per call (the longest row's new tokens). */
  positions?: number;
  /** Dispatches per decoded position (one token for every row), WebGPU only. */
  dispatchesPerToken?: number;
  /** Readbacks per decoded position, WebGPU only. */
  readbacksPerToken?: number;
  /** Dispatches per generated token (all rows counted), WebGPU only. */
  dispatchesPerGeneratedToken?: number;
  /** Device work of one whole call, WebGPU only. */
  perCall?: { dispatches: number; readbacks: number; bindGroups: number; submits: number };
  /** backend.deviceBytes() after the calls (WebGPU). */
  deviceBytes?: number;
  /** Peak live GPUBuffer bytes of the page (WebGPU). */
  gpuPeakBytes?: number;
  hostBytes?: number;
  /** FNV-1a of the generated tokens: equal across engines that sample alike. */
  digest?: string;
  host: { node: string; cpus: number; cpuModel: string; loadavg1: number };
  timestamp: string;
}

interface Options {
  shapes: GenerateShape[];
  engines: GenerateEngine[];
  calls: number;
  budgetMs: number;
  json: boolean;
  outFile: string | null;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run bench -- generate [--shapes ${GENERATE_SHAPES.map((s) => s.name).join(',')}] `
    + `[--only ${ENGINES.join(',')}] [--calls N] [--budget SECONDS] [--json] [--out FILE]\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      shapes: { type: 'string' }, only: { type: 'string' }, calls: { type: 'string' }, budget: { type: 'string' },
      json: { type: 'boolean', default: false }, out: { type: 'string' },
    },
  });
  if (positionals.length > 0) usage(`unexpected arguments '${positionals.join(' ')}'`);
  const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : null);
  const shapes = (list(values.shapes) ?? GENERATE_SHAPES.map((s) => s.name)).map((name) => GENERATE_SHAPES.find((s) => s.name === name)
    ?? usage(`--shapes: unknown shape '${name}' (known: ${GENERATE_SHAPES.map((s) => s.name).join(', ')})`));
  const engines = (list(values.only) ?? [...ENGINES]).map((e) => (ENGINES as readonly string[]).includes(e)
    ? (e as GenerateEngine) : usage(`--only: unknown engine '${e}' (known: ${ENGINES.join(', ')})`));
  const calls = values.calls === undefined ? 5 : Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) usage(`--calls: expected an integer ≥ 1, got '${values.calls}'`);
  const budgetS = values.budget === undefined ? 30 : Number(values.budget);
  if (!(budgetS > 0)) usage(`--budget: expected seconds > 0, got '${values.budget}'`);
  return { shapes, engines, calls, budgetMs: budgetS * 1000, json: values.json ?? false, outFile: values.out ?? null };
}

async function runCpu(engine: 'cpu' | 'cpu-ts', s: GenerateShape, o: Options): Promise<GenerateRun> {
  const setupStart = performance.now();
  const { backend } = await createCpuBackend(s.config, engine === 'cpu-ts' ? { engine: 'ts' } : {});
  await backend.setParams(generateParams(s));
  const setupMs = performance.now() - setupStart;
  const t = await timeGenerate(backend, s, { calls: o.calls, budgetMs: o.budgetMs, now: () => performance.now() });
  backend.dispose();
  return { ...t, description: `ours CPU: ${backend.description}, Node ${process.version}`, setupMs };
}

let lab: Lab | null = null;

async function runInBrowser(engine: GeneratePageEngine, s: GenerateShape, o: Options): Promise<GenerateRun & { gpuPeakBytes: number }> {
  if (!lab) {
    try {
      lab = await startLab();
    } catch (e) {
      throw new NotMeasured(`could not start the dev server and Chromium: ${String(e)}`);
    }
  }
  const { page, errors } = await lab.newPage();
  const hardTimeoutMs = 3 * o.budgetMs + 240_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await openBenchPage(page, `${lab.url}/bench/pages/generate.html`);
    const req: GeneratePageRequest = { engine, shape: s.name, calls: o.calls, budgetMs: o.budgetMs };
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NotMeasured(`no result within ${hardTimeoutMs / 1000} s`)), hardTimeoutMs);
    });
    const reply = await Promise.race([page.evaluate((r) => window.benchGenerate!(r), req), timeout]);
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


async function measure(engine: GenerateEngine, s: GenerateShape, o: Options): Promise<GenerateMeasurement> {
  const cpus = os.cpus();
  const base: GenerateMeasurement = {
    bench: 'generate', shape: s.name, lab: s.lab, config: s.config, params: paramCountOf(s), B: s.B, promptLength: s.promptLength,
    sampling: { ...s.sampling, stopTokens: [s.eos] }, engine, status: 'not-measured',
    host: { node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model ?? '?', loadavg1: os.loadavg()[0]! },
    timestamp: new Date().toISOString(),
  };
  try {
    const run: GenerateRun & { gpuPeakBytes?: number } = engine === 'cpu' || engine === 'cpu-ts' ? await runCpu(engine, s, o) : await runInBrowser(engine, s, o);
    const out: GenerateMeasurement = {
      ...base, status: 'measured', description: run.description,
      tokensPerSecond: (run.tokens * 1000) / run.medianMs, msPerCall: run.medianMs, firstCallMs: run.firstCallMs, setupMs: run.setupMs,
      timedCalls: run.callMs.length, capped: run.capped, tokens: run.tokens, positions: run.positions, hostBytes: run.hostBytes,
      digest: run.digest,
    };
    if (run.counters) {
      out.perCall = run.counters;
      out.dispatchesPerToken = run.counters.dispatches / run.positions;
      out.readbacksPerToken = run.counters.readbacks / run.positions;
      out.dispatchesPerGeneratedToken = run.counters.dispatches / run.tokens;
    }
    if (run.deviceBytes !== undefined) out.deviceBytes = run.deviceBytes;
    if (run.gpuPeakBytes !== undefined) out.gpuPeakBytes = run.gpuPeakBytes;
    return out;
  } catch (e) {
    return { ...base, reason: e instanceof NotMeasured ? e.message : `error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '—' : `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

function printTable(s: GenerateShape, ms: GenerateMeasurement[]): void {
  const c = s.config;
  const lines = ['', `${s.name} — ${s.lab}: V=${c.vocabSize} ctx=${c.contextLength} C=${c.dModel} L=${c.nLayers} NH=${c.nHeads} `
    + `(${fmt(paramCountOf(s))} params), B=${s.B} prompts of ${s.promptLength}, ≤${s.sampling.maxNewTokens} new tokens, `
    + `T=${s.sampling.temperature} top-k ${s.sampling.topK} top-p ${s.sampling.topP}, stop token ${s.eos}; load avg ${ms[0]?.host.loadavg1.toFixed(1) ?? '?'}`];
  const widths = [22, 9, 9, 7, 6, 9, 9, 7, 7, 11, 11, 8];
  const row = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  lines.push(row(['engine', 'tokens/s', 'ms/call', 'tokens', 'pos', 'disp/pos', 'read/pos', 'bg/call', 'submits', 'device mem', 'GPU peak', 'digest']));
  for (const m of ms) {
    if (m.status !== 'measured') {
      lines.push(`${LABELS[m.engine].padEnd(widths[0]!)}  not measured (${m.reason})`);
      continue;
    }
    lines.push(row([
      LABELS[m.engine], fmt(m.tokensPerSecond), fmt(m.msPerCall, 1), fmt(m.tokens), fmt(m.positions), fmt(m.dispatchesPerToken, 1),
      fmt(m.readbacksPerToken, 3), fmt(m.perCall?.bindGroups), fmt(m.perCall?.submits), mib(m.deviceBytes), mib(m.gpuPeakBytes), m.digest ?? '—',
    ]));
  }
  const by = (e: GenerateEngine) => ms.find((m) => m.engine === e && m.tokensPerSecond);
  const ratio = (a: GenerateEngine, b: GenerateEngine) => {
    const x = by(a);
    const y = by(b);
    return x && y ? `${(x.tokensPerSecond! / y.tokensPerSecond!).toFixed(2)}×` : 'n/a';
  };
  lines.push(`ratios (tokens/s): CPU Wasm / CPU TS ${ratio('cpu', 'cpu-ts')}; WebGPU decoder / CPU Wasm ${ratio('webgpu', 'cpu')}; `
    + `/ WebGPU prefix redone ${ratio('webgpu', 'webgpu-prefix')}; / WebGPU logits read ${ratio('webgpu', 'webgpu-logits')}`);
  const digests = new Set(ms.filter((m) => m.digest).map((m) => m.digest));
  if (digests.size > 0) lines.push(digests.size === 1 ? 'tokens: every engine generated the same tokens' : 'tokens: DIFFER between engines (see digest)');
  lines.push('engines:', ...ms.filter((m) => m.description).map((m) => `  ${LABELS[m.engine].padEnd(22)} ${m.description}`));
  process.stdout.write(lines.join('\n') + '\n');
}

/** The `generate` subcommand of bin/bench.ts. */
export async function benchGenerate(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const started = performance.now();
  try {
    for (const s of o.shapes) {
      const results: GenerateMeasurement[] = [];
      for (const engine of o.engines) {
        process.stderr.write(`[bench] generate ${s.name} ${engine} ... `);
        const t0 = performance.now();
        const r = await measure(engine, s, o);
        const took = ((performance.now() - t0) / 1000).toFixed(1);
        process.stderr.write(r.status === 'measured'
          ? `${fmt(r.tokensPerSecond)} tokens/s (${took} s)\n`
          : `not measured: ${r.reason?.split('\n')[0]} (${took} s)\n`);
        results.push(r);
        if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
        if (o.outFile) appendFileSync(o.outFile, JSON.stringify(r) + '\n');
      }
      if (!o.json) printTable(s, results);
    }
    if (!o.json) {
      process.stdout.write('\npos = decoded positions per call (one token for every row); disp/pos, read/pos = dispatches and '
        + 'readbacks per position; bg/call, submits = bind groups created and queue submits per call (after the first call); '
        + 'device mem = backend.deviceBytes(); GPU peak = peak live GPUBuffer bytes of the page.\n');
    }
  } finally {
    await lab?.close();
  }
  process.stderr.write(`[bench] done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}
