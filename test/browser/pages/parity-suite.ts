/**
 * WebGPU-vs-CPU parity checks, run inside Chromium (on the page and in a
 * worker). Each function builds both backends on the same parameters and
 * batch, and returns plain JSON — the largest differences per tensor — for
 * the Node side (`webgpu-parity.test.ts`) to print and assert. Nothing here
 * decides pass/fail except where only the browser can see it (error types).
 */
import { type Backend, DeviceLimitError, NonFiniteError, type StepHyper, type TokenBatch } from '../../../src/core/backend';
import { CpuBackend } from '../../../src/core/backends/cpu';
import { checkFitsDevice, createBackend, probeWebGpu } from '../../../src/core/backends/index';
import { type KernelFamily, WebGpuBackend } from '../../../src/core/backends/webgpu';
import { type GptConfig, paramLayout, viewOf } from '../../../src/core/gpt/config';
import { initParams } from '../../../src/core/gpt/init';
import { keyFromSeed, Rng } from '../../../src/core/rng';
import { generate } from '../../../src/core/sample';

/** The largest |gpu − cpu| over a tensor, and the largest |cpu| (the scale it is judged against). */
export interface Diff {
  name: string;
  maxDiff: number;
  maxRef: number;
}

interface Case {
  config: GptConfig;
  B: number;
  T: number;
  /** Per-token weight pattern: 'mean' = 1/(B·T) with a few zeros; 'mixed' adds negative weights. */
  weights: 'mean' | 'mixed';
  seed: number;
}

/**
 * A: the brief's tiny model. B: T = 13 and C = 20 (not multiples of the 8/16/64
 * tiles and blocks), V = 70 (rows padded to 72) and 4C = 80 (two output tiles),
 * five heads of 4, and negative and zero loss weights. C: B·T = 260 rows, so
 * the tiled weight gradients split K in two chunks of 130 (split-K path).
 */
const CASES: Record<string, Case> = {
  A: { config: { vocabSize: 37, contextLength: 8, dModel: 16, nLayers: 2, nHeads: 2 }, B: 2, T: 8, weights: 'mean', seed: 1 },
  B: { config: { vocabSize: 70, contextLength: 24, dModel: 20, nLayers: 1, nHeads: 5 }, B: 3, T: 13, weights: 'mixed', seed: 2 },
  C: { config: { vocabSize: 16, contextLength: 64, dModel: 8, nLayers: 1, nHeads: 2 }, B: 5, T: 52, weights: 'mixed', seed: 3 },
};

export type CaseName = keyof typeof CASES;

function caseOf(name: string): Case {
  const c = CASES[name];
  if (!c) throw new Error(`unknown parity case ${name}`);
  return c;
}

/** initParams plus N(0, 0.05²) on everything, so biases and LayerNorm are not at their trivial init. */
function paramsFor(c: Case): Float32Array {
  const key = keyFromSeed(c.seed);
  const p = initParams(c.config, key);
  const rng = new Rng(keyFromSeed(c.seed + 1000));
  for (let i = 0; i < p.length; i++) p[i] = p[i]! + 0.05 * rng.normal();
  return p;
}

function batchFor(c: Case, salt = 0): TokenBatch {
  const { B, T } = c;
  const V = c.config.vocabSize;
  const rng = new Rng(keyFromSeed(c.seed * 7919 + salt));
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    inputs[i] = rng.int(V);
    targets[i] = rng.int(V);
    const r = rng.uniform();
    if (r < 0.15) weights[i] = 0;
    else if (c.weights === 'mixed' && r < 0.4) weights[i] = -0.5 / (B * T);
    else weights[i] = (1 + r) / (B * T);
  }
  // Repeat a token so the embedding backward sums several rows into one id.
  inputs[1] = inputs[0]!;
  return { B, T, inputs, targets, weights };
}

function diff(name: string, gpu: ArrayLike<number>, cpu: ArrayLike<number>): Diff {
  if (gpu.length !== cpu.length) throw new Error(`${name}: length ${gpu.length} vs ${cpu.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < cpu.length; i++) {
    const d = Math.abs(gpu[i]! - cpu[i]!);
    // NaN compares false: count it as an infinite difference.
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(cpu[i]!));
  }
  return { name, maxDiff, maxRef };
}

function perView(prefix: string, config: GptConfig, gpu: Float32Array, cpu: Float32Array): Diff[] {
  return paramLayout(config).views.map((v) => diff(`${prefix}${v.name}`, viewOf(gpu, v), viewOf(cpu, v)));
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

async function pair(c: Case, kernels?: KernelFamily): Promise<{ cpu: CpuBackend; gpu: WebGpuBackend }> {
  const cpu = new CpuBackend(c.config);
  const gpu = await WebGpuBackend.create(c.config, kernels ? { kernels } : {});
  const p = paramsFor(c);
  await cpu.setParams(p);
  await gpu.setParams(p);
  return { cpu, gpu };
}

async function errorOf(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  return null;
}

function describeError(e: unknown): { name: string; message: string; step?: number; field?: string } | null {
  if (e === null) return null;
  if (e instanceof NonFiniteError) return { name: e.name, message: e.message, step: e.step };
  if (e instanceof DeviceLimitError) return { name: e.name, message: e.message, field: e.field };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'unknown', message: String(e) };
}

/** The adapter as the app would report it. */
export async function probe() {
  const { report } = await probeWebGpu();
  return report;
}

/** Forward logits, lastLogits, the weighted loss, per-sequence losses and every gradient. */
export async function forwardAndGradients(name: string, kernels?: KernelFamily) {
  const c = caseOf(name);
  const { cpu, gpu } = await pair(c, kernels);
  const batch = batchFor(c);
  const { B, T } = c;
  const gpuLogits = await gpu.forwardLogits(batch.inputs, B, T);
  const logits = diff('logits (B,T,V)', gpuLogits, await cpu.forwardLogits(batch.inputs, B, T));
  const positions = Int32Array.from({ length: B }, (_, b) => (T - 1 - 2 * b + T) % T);
  const gpuLast = await gpu.lastLogits(batch.inputs, B, T, positions);
  const last = diff('lastLogits (B,V)', gpuLast, await cpu.lastLogits(batch.inputs, B, T, positions));
  // lastLogits runs at a padded length (case B: 13 → 16); causality makes its rows the same bits.
  const V = c.config.vocabSize;
  const lastMatchesForward = Array.from({ length: B }, (_, b) => bitsEqual(
    gpuLast.subarray(b * V, (b + 1) * V), gpuLogits.subarray((b * T + positions[b]!) * V, (b * T + positions[b]! + 1) * V),
  )).every(Boolean);
  const evalGpu = await gpu.evaluate(batch);
  const evalCpu = await cpu.evaluate(batch);
  const gradGpu = await gpu.gradients(batch);
  const gradCpu = await cpu.gradients(batch);
  const again = await gpu.gradients(batch);
  const result = {
    description: gpu.description,
    kernels: gpu.kernels,
    logits,
    lastLogits: last,
    lastMatchesForward,
    evaluate: { gpu: evalGpu.loss, cpu: evalCpu.loss, perSeq: diff('perSeqLoss (B)', evalGpu.perSeqLoss, evalCpu.perSeqLoss) },
    gradientsLoss: { gpu: gradGpu.loss, cpu: gradCpu.loss, perSeq: diff('perSeqLoss (B)', gradGpu.perSeqLoss, gradCpu.perSeqLoss) },
    grads: perView('d ', c.config, gradGpu.grads, gradCpu.grads),
    deterministic: bitsEqual(again.grads, gradGpu.grads) && again.loss === gradGpu.loss,
    deviceBytes: gpu.deviceBytes(),
    hostBytes: gpu.hostBytes(),
  };
  gpu.dispose();
  return result;
}

const HYPER: StepHyper = { lr: 3e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 0.05 };

/**
 * Ten AdamW steps with weight decay and clipping (the clip is set below the
 * gradient norm so it acts), a fresh batch each step, loss and norm read
 * every step; then the final parameters and moments. A second WebGPU run
 * reads nothing until the end and must give the same bits.
 */
export async function training(name: string, kernels?: KernelFamily, steps = 10) {
  const c = caseOf(name);
  const { cpu, gpu } = await pair(c, kernels);
  const losses: { gpu: number; cpu: number; gpuNorm: number; cpuNorm: number }[] = [];
  for (let s = 0; s < steps; s++) {
    const batch = batchFor(c, s + 1);
    const h = { ...HYPER, lr: HYPER.lr * (1 - s / (2 * steps)) };
    const g = await gpu.trainStep(batch, h, { loss: true, gradNorm: true });
    const r = await cpu.trainStep(batch, h, { loss: true, gradNorm: true });
    losses.push({ gpu: g.loss!, cpu: r.loss!, gpuNorm: g.gradNorm!, cpuNorm: r.gradNorm! });
  }
  const pg = await gpu.getParams();
  const pc = await cpu.getParams();
  const og = await gpu.getOptimizerState();
  const oc = await cpu.getOptimizerState();
  const quiet = await WebGpuBackend.create(c.config, kernels ? { kernels } : {});
  await quiet.setParams(paramsFor(c));
  let lastStep = 0;
  let profile: { step: number; dispatches: number; kernels: number } | null = null;
  let stepDispatches = 0;
  for (let s = 0; s < steps; s++) {
    const h = { ...HYPER, lr: HYPER.lr * (1 - s / (2 * steps)) };
    const batch = batchFor(c, s + 1);
    const before = quiet.counters().dispatches;
    if (s === 1) {
      // The profiler's step (every dispatch submitted alone) is the same step: the bits at the end must not change.
      const p = await quiet.profileTrainStep(batch, h);
      profile = { step: p.step, dispatches: p.kernels.reduce((n, k) => n + k.dispatches, 0), kernels: p.kernels.length };
      lastStep = p.step;
    } else {
      lastStep = (await quiet.trainStep(batch, h)).step;
    }
    if (s === 2) stepDispatches = quiet.counters().dispatches - before;
  }
  const pq = await quiet.getParams();
  const result = {
    losses,
    params: perView('', c.config, pg, pc),
    m: diff('adam m', og.m, oc.m),
    v: diff('adam v', og.v, oc.v),
    steps: { gpu: og.step, cpu: oc.step, quiet: lastStep },
    quietSameBits: bitsEqual(pq, pg),
    profile: profile && { ...profile, stepDispatches },
  };
  gpu.dispose();
  quiet.dispose();
  return result;
}

/**
 * The NaN/Inf guard. Two good steps, then a step whose loss overflows f32
 * (weights of 1e38), then a normal step: nothing is read until getParams,
 * which must throw NonFiniteError(3); then the parameters are the bits read
 * after step 2, the step count is 2, and training resumes at step 3. Also a
 * NaN planted in the parameters, read at once.
 */
export async function nanGuard(name: string) {
  const c = caseOf(name);
  const { cpu, gpu } = await pair(c);
  await gpu.trainStep(batchFor(c, 1), HYPER);
  await gpu.trainStep(batchFor(c, 2), HYPER);
  await cpu.trainStep(batchFor(c, 1), HYPER);
  await cpu.trainStep(batchFor(c, 2), HYPER);
  const afterTwo = await gpu.getParams();
  const cpuAfterTwo = await cpu.getParams();
  const huge = batchFor(c, 3);
  huge.weights.fill(1e38);
  const queued = await gpu.trainStep(huge, HYPER);
  const queuedNext = await gpu.trainStep(batchFor(c, 4), HYPER);
  const gpuError = describeError(await errorOf(() => gpu.getParams()));
  const cpuError = describeError(await errorOf(() => cpu.trainStep(huge, HYPER)));
  const afterError = await gpu.getParams();
  const stateAfter = await gpu.getOptimizerState();
  const resumed = await gpu.trainStep(batchFor(c, 3), HYPER, { loss: true });

  // A NaN in the parameters: the failing step is read at once.
  const poisoned = paramsFor(c);
  poisoned[paramLayout(c.config).blocks[0]!.ln1w.offset] = NaN;
  const gpu2 = await WebGpuBackend.create(c.config);
  await gpu2.setParams(poisoned);
  const nanError = describeError(await errorOf(() => gpu2.trainStep(batchFor(c, 1), HYPER, { loss: true })));
  const nanParams = await gpu2.getParams();
  const result = {
    queuedSteps: [queued.step, queuedNext.step],
    gpuError,
    cpuError,
    unchanged: bitsEqual(afterError, afterTwo),
    vsCpuAfterTwo: perView('', c.config, afterError, cpuAfterTwo),
    stepAfterError: stateAfter.step,
    resumed: { step: resumed.step, loss: resumed.loss ?? NaN },
    nanError,
    nanUnchanged: bitsEqual(nanParams, poisoned),
  };
  gpu.dispose();
  gpu2.dispose();
  return result;
}

/** Oversized settings give DeviceLimitError naming the field, before anything is allocated. */
export async function deviceLimits() {
  const hugeModel = { vocabSize: 300_000, contextLength: 8, dModel: 1024, nLayers: 1, nHeads: 8 };
  const modelError = describeError(await errorOf(() => WebGpuBackend.create(hugeModel)));
  const longContext = { vocabSize: 37, contextLength: 100_000, dModel: 16, nLayers: 1, nHeads: 2 };
  const contextError = describeError(await errorOf(() => WebGpuBackend.create(longContext)));
  // A model that fits, asked for a batch whose logits do not.
  const config = { vocabSize: 65_536, contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2 };
  const gpu = await WebGpuBackend.create(config);
  const perBuffer = Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
  const T = 8;
  const B = Math.floor(perBuffer / (4 * T * config.vocabSize)) + 1;
  const bytesBefore = gpu.deviceBytes();
  const batchError = describeError(await errorOf(() => gpu.forwardLogits(new Int32Array(B * T), B, T)));
  const bytesAfter = gpu.deviceBytes();
  // Still usable after the refusal.
  const small = await gpu.forwardLogits(new Int32Array(2 * T), 2, T);
  const checkError = describeError(await errorOf(async () => checkFitsDevice(config, B, T, gpu.device.limits)));
  gpu.dispose();
  return {
    modelError, contextError, batchError, checkError, batchB: B, bytesBefore, bytesAfter,
    smallFinite: small.every(Number.isFinite), limits: { perBuffer },
  };
}

/** device.lost reaches onDeviceLost, and later calls fail with a clear message. */
export async function deviceLost() {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  const device = await adapter.requestDevice();
  const messages: string[] = [];
  const c = caseOf('A');
  const gpu = await WebGpuBackend.create(c.config, { device, onDeviceLost: (m) => messages.push(m) });
  await gpu.setParams(paramsFor(c));
  device.destroy();
  await device.lost;
  await new Promise((r) => setTimeout(r, 0));
  const after = describeError(await errorOf(() => gpu.getParams()));
  gpu.dispose();
  return { messages, after };
}

/** createBackend's choices and reasons. */
export async function backendChoice() {
  const c = caseOf('A');
  const auto = await createBackend(c.config);
  const cpu = await createBackend(c.config, { prefer: 'cpu' });
  const noAdapter = await createBackend(c.config, { gpu: { requestAdapter: async () => null } as unknown as GPU });
  const out = {
    auto: { kind: auto.backend.kind, reason: auto.reason, description: auto.backend.description },
    cpu: { kind: cpu.backend.kind, reason: cpu.reason },
    noAdapter: { kind: noAdapter.backend.kind, reason: noAdapter.reason, webgpu: noAdapter.report.webgpu },
  };
  for (const b of [auto, cpu, noAdapter]) b.backend.dispose();
  return out;
}

/** The same seed gives the same tokens on both backends (sample.ts on backend.lastLogits). */
export async function sampling(name: string) {
  const c = caseOf(name);
  const { cpu, gpu } = await pair(c);
  const V = c.config.vocabSize;
  const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9].map((x) => x % V)];
  const run = async (b: Backend, temperature: number, topK: number, topP: number) =>
    (await generate(b, prompts, {
      maxNewTokens: 12, temperature, topK, topP, stopTokens: [], key: keyFromSeed(42),
    })).map((g) => g.tokens);
  const settings: [number, number, number][] = [[0, 0, 1], [1, 0, 1], [0.8, 5, 0.9]];
  const runs = [];
  for (const [temperature, topK, topP] of settings) {
    runs.push({ temperature, topK, topP, gpu: await run(gpu, temperature, topK, topP), cpu: await run(cpu, temperature, topK, topP) });
  }
  gpu.dispose();
  return runs;
}

export const suite = { probe, forwardAndGradients, training, nanGuard, deviceLimits, deviceLost, backendChoice, sampling };
export type ParitySuite = typeof suite;
