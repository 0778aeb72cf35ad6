/**
 * "auto" by measurement: before a run, time a few training steps (and,
 * optionally, a few decoded positions) of that run's own model and batch
 * shape on each backend this environment offers, and pick the one that
 * would finish the run sooner. A rule cannot know that an integrated GPU
 * trains a 20k-parameter model slower than the CPU while a discrete one
 * does not; a few steps of the real shape do.
 *
 * Results are cached per device and shape through a small interface the
 * caller supplies (IndexedDB in the page, a Map in tests), so a run pays for
 * the measurement once per machine, model shape and batch.
 */
import type { Backend, BackendKind, StepHyper, TokenBatch } from '../backend';
import type { GptConfig } from '../gpt/config';
import { initParams } from '../gpt/init';
import { keyFromSeed, Rng } from '../rng';
import { generate } from '../sample';
import { adapterName } from './webgpu/device';
import { createBackend, probeWebGpu } from './index';

/** What one backend measured (null timings: not measured, `error` says why). */
export interface BackendTiming {
  kind: BackendKind;
  /** The backend in words ("CPU (TypeScript reference)", "WebGPU (…, subgroup kernels)"). */
  description: string;
  /** Median ms of a training step at the run's (B,T), each step reading its loss back as the lab's loop does. */
  msPerStep: number | null;
  /** ms per decoded position of generate() at the decode shape (one new token for every row), when asked. */
  msPerPosition: number | null;
  /** Training steps timed (after one untimed warm-up step). */
  steps: number;
  error?: string;
}

export interface BackendMeasurement {
  /** The backend to use. */
  choice: BackendKind;
  /** One line for the device panel and the run record: both timings and the choice. */
  reason: string;
  /** One entry per candidate backend, measured or not. */
  timings: BackendTiming[];
  /** The cache key: device, model config, shapes and candidates (not the workload: the choice is remade from the timings). */
  key: string;
  /** Whether this came from the cache. */
  cached: boolean;
  /** ISO time of the measurement. */
  measuredAt: string;
}

/** Where measurements are kept between runs (the caller's storage). */
export interface MeasureCache {
  get(key: string): Promise<BackendMeasurement | undefined> | BackendMeasurement | undefined;
  set(key: string, value: BackendMeasurement): Promise<void> | void;
}

/** The run's shapes: its training batch, and (optionally) its generate() calls. */
export interface MeasureShape {
  /** Training batch: sequences per step and their length (≤ contextLength). */
  B: number;
  T: number;
  /** generate() rows per call and new tokens per row, if the run generates. */
  decode?: { B: number; positions: number };
}

/** How much of each the run will do: the choice minimises steps·msPerStep + positions·msPerPosition. */
export interface MeasureWorkload {
  trainSteps: number;
  decodedPositions: number;
}

export interface MeasureOptions {
  cache?: MeasureCache;
  /** Timed training steps per backend (after one warm-up step); default 3. */
  steps?: number;
  /** Stop timing a backend once this much time went to it (at least one timed step runs); default 10 s. */
  budgetMs?: number;
  /** Backends to try; default ['cpu', 'webgpu']. */
  candidates?: readonly BackendKind[];
  /** Expected work of the run; default: training only. */
  workload?: MeasureWorkload;
  gpu?: GPU;
  now?: () => number;
}

/** A MeasureCache in memory (tests; a page that keeps nothing across reloads). */
export function memoryCache(): MeasureCache & { entries: Map<string, BackendMeasurement> } {
  const entries = new Map<string, BackendMeasurement>();
  return { entries, get: (k) => entries.get(k), set: (k, v) => void entries.set(k, v) };
}

const HYPER: StepHyper = { lr: 1e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1 };

/** A seeded batch of the run's shape: random ids, weight 1/(B·T) (the cost of a dense step does not depend on the data). */
function measureBatch(config: GptConfig, B: number, T: number): TokenBatch {
  const rng = new Rng(keyFromSeed(271828));
  const n = B * T;
  const inputs = Int32Array.from({ length: n }, () => rng.int(config.vocabSize));
  const targets = Int32Array.from({ length: n }, () => rng.int(config.vocabSize));
  return { B, T, inputs, targets, weights: new Float32Array(n).fill(1 / n) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function checkShape(config: GptConfig, shape: MeasureShape): void {
  const positive = (x: number) => Number.isInteger(x) && x >= 1;
  if (!positive(shape.B)) throw new Error(`B: must be a positive integer, got ${shape.B}`);
  if (!positive(shape.T) || shape.T > config.contextLength) {
    throw new Error(`T: must be an integer in [1, contextLength ${config.contextLength}], got ${shape.T}`);
  }
  if (shape.decode && (!positive(shape.decode.B) || !positive(shape.decode.positions))) {
    throw new Error(`decode: B and positions must be positive integers, got ${JSON.stringify(shape.decode)}`);
  }
}

/** Time one backend on the run's shapes. */
async function timeBackend(
  backend: Backend, config: GptConfig, shape: MeasureShape, o: Required<Pick<MeasureOptions, 'steps' | 'budgetMs' | 'now'>>,
): Promise<Pick<BackendTiming, 'msPerStep' | 'msPerPosition' | 'steps'>> {
  await backend.setParams(initParams(config, keyFromSeed(314159)));
  const batch = measureBatch(config, shape.B, shape.T);
  const start = o.now();
  await backend.trainStep(batch, HYPER, { loss: true }); // warm-up: buffers and bind groups of this shape
  const ms: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t0 = o.now();
    await backend.trainStep(batch, HYPER, { loss: true });
    ms.push(o.now() - t0);
    if (o.now() - start > o.budgetMs) break;
  }
  let msPerPosition: number | null = null;
  if (shape.decode) {
    const { B, positions } = shape.decode;
    const length = Math.min(positions, config.contextLength - 1);
    const prompts = Array.from({ length: B }, (_, b) => [b % config.vocabSize]);
    const opts = { maxNewTokens: length, temperature: 1, topK: 0, topP: 1, stopTokens: [], key: keyFromSeed(1618) };
    await generate(backend, prompts, { ...opts, maxNewTokens: 1 }); // warm-up: the decoder's buffers
    const t0 = o.now();
    await generate(backend, prompts, opts);
    msPerPosition = (o.now() - t0) / length;
  }
  return { msPerStep: median(ms), msPerPosition, steps: ms.length };
}

/**
 * The backend that minimises the run's estimated time, steps·msPerStep +
 * positions·msPerPosition, among those measured; the CPU when nothing was.
 */
export function chooseBackend(timings: readonly BackendTiming[], workload: MeasureWorkload): { choice: BackendKind; reason: string } {
  const estimate = (t: BackendTiming) => t.msPerStep === null ? Infinity
    : workload.trainSteps * t.msPerStep + (workload.decodedPositions > 0 ? workload.decodedPositions * (t.msPerPosition ?? Infinity) : 0);
  const ranked = timings.filter((t) => Number.isFinite(estimate(t))).sort((a, b) => estimate(a) - estimate(b));
  const words = timings.map((t) => t.msPerStep === null
    ? `${t.kind} not measured (${t.error ?? 'unavailable'})`
    : `${t.kind} ${t.msPerStep.toFixed(1)} ms/step${t.msPerPosition !== null ? `, ${t.msPerPosition.toFixed(2)} ms/position` : ''}`);
  if (ranked.length === 0) return { choice: 'cpu', reason: `measured: ${words.join('; ')}: CPU` };
  return { choice: ranked[0]!.kind, reason: `measured: ${words.join('; ')}: ${ranked[0]!.kind} is faster for this run` };
}

/**
 * Measure each candidate backend on the run's shapes (or take the cached
 * measurement for this device and shape) and choose the faster. Never
 * throws for a backend that cannot run here: its timing is null with the
 * reason. Throws for a bad shape (naming the field).
 */
export async function measureBackends(config: GptConfig, shape: MeasureShape, opts: MeasureOptions = {}): Promise<BackendMeasurement> {
  checkShape(config, shape);
  const candidates = opts.candidates ?? ['cpu', 'webgpu'];
  const workload = opts.workload ?? { trainSteps: 1, decodedPositions: 0 };
  const now = opts.now ?? (() => performance.now());
  const { report } = await probeWebGpu(opts.gpu);
  const device = report.adapterInfo ? `${adapterName(report.adapterInfo)}/${report.adapterInfo.architecture}` : 'no-webgpu';
  const key = JSON.stringify({ device, config, shape, candidates });
  const hit = await opts.cache?.get(key);
  // The timings are the device's; the choice is this run's (its workload may differ from the cached one's).
  if (hit) return { ...hit, ...chooseBackend(hit.timings, workload), cached: true };
  const timings: BackendTiming[] = [];
  for (const kind of candidates) {
    let backend: Backend | null = null;
    try {
      const created = await createBackend(config, { prefer: kind, ...(opts.gpu ? { gpu: opts.gpu } : {}) });
      backend = created.backend;
      if (backend.kind !== kind) {
        timings.push({ kind, description: '', msPerStep: null, msPerPosition: null, steps: 0, error: created.reason });
        continue;
      }
      const t = await timeBackend(backend, config, shape, { steps: opts.steps ?? 3, budgetMs: opts.budgetMs ?? 10_000, now });
      timings.push({ kind, description: backend.description, ...t });
    } catch (e) {
      timings.push({ kind, description: backend?.description ?? '', msPerStep: null, msPerPosition: null, steps: 0, error: e instanceof Error ? e.message : String(e) });
    } finally {
      backend?.dispose();
    }
  }
  const { choice, reason } = chooseBackend(timings, workload);
  const result: BackendMeasurement = { choice, reason, timings, key, cached: false, measuredAt: new Date().toISOString() };
  await opts.cache?.set(key, result);
  return result;
}
