/**
 * Checks of the GPU-resident decoder (WebGpuBackend.generateOnDevice and
 * createDecoder), run inside Chromium against the CPU backend on the same
 * parameters. Each function returns plain JSON for the Node side
 * (`webgpu-decode.test.ts`) to print and assert.
 */
import type { DeviceCounters } from '../../../src/core/backend';
import { CpuBackend } from '../../../src/core/backends/cpu';
import { measureBackends, memoryCache } from '../../../src/core/backends/measure';
import { type KernelFamily, WebGpuBackend } from '../../../src/core/backends/webgpu';
import { packSettings, ROW, ROW_WORDS, threefryTestWgsl } from '../../../src/core/backends/webgpu/decode';
import type { GptConfig } from '../../../src/core/gpt/config';
import { initParams } from '../../../src/core/gpt/init';
import { foldIn, keyFromSeed, Rng, threefry2x32 } from '../../../src/core/rng';
import { type Generation, generate, type SampleOptions, sampleToken } from '../../../src/core/sample';

interface Case {
  config: GptConfig;
  seed: number;
  /** Standard deviation of the noise added to every parameter (larger: peakier next-token distributions). */
  noise: number;
}

/**
 * A: two layers, a context of 8 (prompts reach it). B: T = 24, C = 20, five
 * heads of 4, V = 70 (logit rows padded to 72). W: a vocabulary of 300 with
 * flatter distributions, so a top-p nucleus holds many tokens and the
 * sampler's threshold search refines over several passes.
 */
const CASES: Record<string, Case> = {
  A: { config: { vocabSize: 37, contextLength: 8, dModel: 16, nLayers: 2, nHeads: 2 }, seed: 1, noise: 0.3 },
  B: { config: { vocabSize: 70, contextLength: 24, dModel: 20, nLayers: 1, nHeads: 5 }, seed: 2, noise: 0.2 },
  W: { config: { vocabSize: 300, contextLength: 16, dModel: 32, nLayers: 1, nHeads: 2 }, seed: 3, noise: 0.08 },
};

function caseOf(name: string): Case {
  const c = CASES[name];
  if (!c) throw new Error(`unknown decode case ${name}`);
  return c;
}

function paramsFor(c: Case): Float32Array {
  const p = initParams(c.config, keyFromSeed(c.seed));
  const rng = new Rng(keyFromSeed(c.seed + 1000));
  for (let i = 0; i < p.length; i++) p[i] = p[i]! + c.noise * rng.normal();
  return p;
}

async function pair(c: Case, kernels?: KernelFamily): Promise<{ cpu: CpuBackend; gpu: WebGpuBackend }> {
  const cpu = new CpuBackend(c.config);
  const gpu = await WebGpuBackend.create(c.config, kernels ? { kernels } : {});
  const p = paramsFor(c);
  await cpu.setParams(p);
  await gpu.setParams(p);
  return { cpu, gpu };
}

function delta(after: DeviceCounters, before: DeviceCounters): DeviceCounters {
  return {
    dispatches: after.dispatches - before.dispatches, bindGroups: after.bindGroups - before.bindGroups,
    readbacks: after.readbacks - before.readbacks, submits: after.submits - before.submits,
  };
}

/** The WGSL Threefry against core/rng's on n inputs (edge words first); returns the mismatches. */
export async function threefry(n: number) {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  const device = await adapter.requestDevice();
  const rng = new Rng(keyFromSeed(7));
  const edges = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];
  const inp = new Uint32Array(4 * n);
  for (let i = 0; i < 4 * n; i++) inp[i] = i < 4 * edges.length ? edges[(i + (i >> 2)) % edges.length]! : rng.uint32();
  const size = inp.byteLength;
  const inBuf = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const outBuf = device.createBuffer({ size: size / 2, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: size / 2, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(inBuf, 0, inp);
  const pipeline = device.createComputePipeline({
    layout: 'auto', compute: { module: device.createShaderModule({ code: threefryTestWgsl() }), entryPoint: 'main' },
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: inBuf } }, { binding: 1, resource: { buffer: outBuf } }],
  }));
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(outBuf, 0, read, 0, size / 2);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Uint32Array(read.getMappedRange().slice(0));
  read.unmap();
  device.destroy();
  const mismatches: { input: number[]; gpu: number[]; cpu: number[] }[] = [];
  for (let i = 0; i < n; i++) {
    const [k0, k1, x0, x1] = inp.subarray(4 * i, 4 * i + 4);
    const want = threefry2x32(k0!, k1!, x0!, x1!);
    if (got[2 * i] !== want[0] || got[2 * i + 1] !== want[1]) {
      mismatches.push({ input: [k0!, k1!, x0!, x1!], gpu: [got[2 * i]!, got[2 * i + 1]!], cpu: want });
    }
  }
  return { n, mismatches: mismatches.slice(0, 5), mismatchCount: mismatches.length };
}

/**
 * The KV-cache decoders of both backends fed the same script: three rows,
 * row 2 starting two steps late and row 0 sitting out step 3 (a row's
 * positions go 0, 1, 2, … whenever it is listed). Returns the largest
 * logit difference per step.
 */
export async function decoderLogits(name: string, kernels?: KernelFamily) {
  const c = caseOf(name);
  const { cpu, gpu } = await pair(c, kernels);
  const V = c.config.vocabSize;
  const B = 3;
  const dc = cpu.createDecoder(B);
  const dg = gpu.createDecoder(B);
  const next = [0, 0, 0];
  const steps: { rows: number[]; maxDiff: number; maxRef: number }[] = [];
  for (let s = 0; s < c.config.contextLength; s++) {
    const rows = [0, 1, 2].filter((b) => (b !== 2 || s >= 2) && !(b === 0 && s === 3) && next[b]! < c.config.contextLength);
    if (rows.length === 0) break;
    const tokens = rows.map((b) => (7 * b + 3 * next[b]! + 1) % V);
    const positions = rows.map((b) => next[b]!);
    rows.forEach((b) => next[b]!++);
    const args = [Int32Array.from(rows), Int32Array.from(tokens), Int32Array.from(positions)] as const;
    const lg = await dg.step(...args);
    const lc = await dc.step(...args);
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < lc.length; i++) {
      const d = Math.abs(lg[i]! - lc[i]!);
      maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
      maxRef = Math.max(maxRef, Math.abs(lc[i]!));
    }
    steps.push({ rows, maxDiff, maxRef });
  }
  // A generate call of the same B takes the session: the old decoder must refuse to go on.
  await generate(gpu, [[1], [2], [3]], { maxNewTokens: 2, temperature: 0, topK: 0, topP: 1, stopTokens: [], key: keyFromSeed(1) });
  let stale = '';
  try {
    await dg.step(Int32Array.from([1]), Int32Array.from([1]), Int32Array.from([next[1]! % c.config.contextLength]));
  } catch (e) {
    stale = e instanceof Error ? e.message : String(e);
  }
  const description = gpu.description;
  gpu.dispose();
  return { description, kernels: gpu.kernels, steps, stale };
}

type Setting = Omit<SampleOptions, 'key'> & { seed: number };

/** Prompts of several lengths, one filling the context (it stops at once: 'context'). */
function promptsFor(c: Case): number[][] {
  const V = c.config.vocabSize;
  const T = c.config.contextLength;
  return [[1, 2, 3], [4], [5, 6, 7, 8, 9], [2, 2], Array.from({ length: T }, (_, i) => (3 * i + 1) % V), [V - 1]]
    .map((p) => p.map((t) => t % V));
}

function settingsFor(c: Case): Setting[] {
  const V = c.config.vocabSize;
  const T = c.config.contextLength;
  const stops = [3 % V, 7 % V];
  return [
    { seed: 11, maxNewTokens: T, temperature: 0, topK: 0, topP: 1, stopTokens: [] },
    { seed: 12, maxNewTokens: T, temperature: 1, topK: 0, topP: 1, stopTokens: [] },
    { seed: 13, maxNewTokens: T, temperature: 0.8, topK: 5, topP: 0.9, stopTokens: [] },
    { seed: 14, maxNewTokens: T, temperature: 1, topK: 0, topP: 0.9, stopTokens: stops },
    { seed: 15, maxNewTokens: T, temperature: 0.7, topK: 3, topP: 1, stopTokens: [] },
    { seed: 16, maxNewTokens: 4, temperature: 1.5, topK: 0, topP: 0.5, stopTokens: [] },
    { seed: 17, maxNewTokens: T, temperature: 1.2, topK: Math.floor(V / 2), topP: 0.95, stopTokens: [stops[0]!] },
  ];
}

/**
 * generate() on the device against generate() on the CPU decoder, for
 * greedy, full, top-k, top-p and both, with and without stop tokens; then
 * the same through the WebGPU createDecoder path (logits read back, token
 * chosen by sample.ts). Returns both token lists per setting and the device
 * counters of each device call.
 */
export async function generateParity(name: string, kernels?: KernelFamily) {
  const c = caseOf(name);
  const { cpu, gpu } = await pair(c, kernels);
  const prompts = promptsFor(c);
  // The WebGPU backend seen without generateOnDevice: sample.ts takes its createDecoder path.
  const viaDecoder = new Proxy(gpu, {
    get: (target, prop) => {
      if (prop === 'generateOnDevice') return undefined;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const runs = [];
  for (const { seed, ...o } of settingsFor(c)) {
    const opts: SampleOptions = { ...o, key: keyFromSeed(seed) };
    const before = gpu.counters();
    const onDevice = await generate(gpu, prompts, opts);
    const counters = delta(gpu.counters(), before);
    const again = await generate(gpu, prompts, opts);
    const repeat = delta(gpu.counters(), before);
    const decoded = await generate(viaDecoder, prompts, opts);
    const reference: Generation[] = await generate(cpu, prompts, opts);
    const positions = Math.max(...onDevice.map((g) => g.tokens.length));
    runs.push({
      setting: { seed, ...o },
      gpu: onDevice, cpu: reference, viaDecoder: decoded, deterministic: JSON.stringify(again) === JSON.stringify(onDevice),
      counters, secondCall: delta(repeat, counters), positions,
    });
  }
  const description = gpu.description;
  gpu.dispose();
  return { description, kernels: gpu.kernels, runs };
}

/** measureBackends with the real adapter: both backends timed on a small run shape, then the cached answer. */
export async function measure() {
  const c = caseOf('B');
  const cache = memoryCache();
  const shape = { B: 3, T: 13, decode: { B: 3, positions: 4 } };
  const workload = { trainSteps: 100, decodedPositions: 40 };
  const first = await measureBackends(c.config, shape, { cache, steps: 2, workload });
  const again = await measureBackends(c.config, shape, { cache, workload });
  return { first, again, entries: cache.entries.size };
}

/** The parts of WebGpuBackend the sampler check drives directly (private in TypeScript only). */
interface Internals {
  sessionFor(B: number): Promise<{ rows: GPUBuffer; stops: GPUBuffer; settings: GPUBuffer; out: GPUBuffer; logits: GPUBuffer; sample: unknown[] }>;
  write(buffer: GPUBuffer, data: Float32Array | Uint32Array): void;
  encode(lists: unknown[][]): GPUCommandEncoder;
  submitAndRead(enc: GPUCommandEncoder, parts: [GPUBuffer, number][]): Promise<{ data: ArrayBuffer[] }>;
  Vp: number;
  device: GPUDevice;
}

/**
 * The device sampler alone against sampleToken on the SAME logits (so the
 * forward pass's rounding plays no part): B rows of V logits, `draws` draws
 * per row from each row's stream, for every setting. Logit rows: flat
 * (N(0, 0.1²): a nucleus of most of the vocabulary), peaked (N(0, 3²)), tied
 * (half-integers: many exact ties, −0 beside +0). Returns the rows whose
 * tokens differ.
 */
export async function samplerParity(kernels: KernelFamily, V: number, draws: number) {
  const B = 12;
  const config = { vocabSize: V, contextLength: draws + 2, dModel: 8, nLayers: 1, nHeads: 2 };
  const gpu = await WebGpuBackend.create(config, { kernels, unfusedDecode: true });
  const g = gpu as unknown as Internals;
  const rng = new Rng(keyFromSeed(99));
  const logits = Array.from({ length: B }, (_, b) => {
    const kind = b % 3;
    return Float32Array.from({ length: V }, (_, v) => {
      if (kind === 0) return 0.1 * rng.normal();
      if (kind === 1) return 3 * rng.normal();
      const x = Math.round(2 * rng.normal()) / 2;
      return x === 0 && v % 2 === 1 ? -0 : x;
    });
  });
  const d = await g.sessionFor(B);
  const padded = new Float32Array(B * g.Vp);
  logits.forEach((row, b) => padded.set(row, b * g.Vp));
  const V2 = Math.floor(V / 2);
  const settings: Omit<SampleOptions, 'key' | 'maxNewTokens' | 'stopTokens'>[] = [
    { temperature: 0, topK: 0, topP: 1 },
    { temperature: 1, topK: 0, topP: 1 },
    { temperature: 0.7, topK: 0, topP: 0.9 },
    { temperature: 1.3, topK: 0, topP: 0.5 },
    { temperature: 1, topK: 5, topP: 1 },
    { temperature: 0.8, topK: V2, topP: 0.95 },
    { temperature: 2, topK: 0, topP: 0.999 },
  ];
  const runs = [];
  for (const [i, o] of settings.entries()) {
    const key = keyFromSeed(500 + i);
    const rows = new Uint32Array(B * ROW_WORDS);
    for (let b = 0; b < B; b++) {
      const k = foldIn(key, b);
      rows[b * ROW_WORDS + ROW.live] = 1;
      rows[b * ROW_WORDS + ROW.key0] = k[0];
      rows[b * ROW_WORDS + ROW.key1] = k[1];
    }
    g.write(d.logits, padded);
    g.write(d.rows, rows);
    g.write(d.stops, new Uint32Array(Math.ceil(V / 32)));
    g.device.queue.writeBuffer(d.settings, 0, packSettings({ ...o, maxNewTokens: draws }));
    const { data } = await g.submitAndRead(g.encode(Array.from({ length: draws }, () => d.sample)), [[d.out, 4 * B * config.contextLength]]);
    const out = new Uint32Array(data[0]!);
    const differ: { row: number; gpu: number[]; cpu: number[] }[] = [];
    logits.forEach((row, b) => {
      const stream = new Rng(foldIn(key, b));
      const cpu = Array.from({ length: draws }, () => sampleToken(row, { ...o, maxNewTokens: draws, stopTokens: [] }, stream));
      const got = Array.from(out.subarray(b * config.contextLength, b * config.contextLength + draws));
      if (JSON.stringify(got) !== JSON.stringify(cpu)) differ.push({ row: b, gpu: got, cpu });
    });
    runs.push({ setting: o, differ });
  }
  const description = gpu.description;
  gpu.dispose();
  return { description, B, draws, runs };
}

export const suite = { threefry, decoderLogits, generateParity, measure, samplerParity };
export type DecodeSuite = typeof suite;
