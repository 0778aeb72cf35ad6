/**
 * How one training-speed measurement is taken, shared by every engine that
 * runs in JavaScript (our CPU backend in Node; our WebGPU backend and jax-js
 * in Chromium). `bench/torch_train.py` follows the same protocol in Python.
 *
 *   1. warm-up: `warmupSteps` steps, each reading its loss back (the first
 *      one pays for shader/pipeline compilation or JIT tracing; its time is
 *      reported separately as `firstStepMs`);
 *   2. synced: up to `timedSteps` steps, each ENDING WITH A LOSS READBACK, so
 *      a step's time covers all of its device work. This is the lab's real
 *      training loop (a `{step, loss, ms}` event per step). The headline
 *      ms/step is the MEDIAN of these per-step times;
 *   3. pipelined (asynchronous engines only): the same number of steps back
 *      to back, reading only the LAST step's loss at the end of the window;
 *      ms/step = window / steps. It shows what overlapping host and device
 *      work buys; for a synchronous engine it would equal (2) and is skipped.
 *
 * A wall-clock budget caps the whole measurement: warm-up stops once half of
 * it is spent, the timed steps once all of it is, and `capped` says so. At
 * least one warm-up and one timed step always run, so an engine whose single
 * step outlasts the budget (mini on SwiftShader) still gets a steady-state
 * figure, from fewer steps; the caller's hard timeout bounds that case.
 */

/** One training step; reads the loss back (and returns it) when asked. */
export type StepFn = (readLoss: boolean) => Promise<number | undefined>;

export interface TimingOptions {
  warmupSteps: number;
  timedSteps: number;
  /** Wall-clock cap of the whole measurement, ms. */
  budgetMs: number;
  /** Run phase 3 (only meaningful for asynchronous engines). */
  pipelined: boolean;
  /** A monotonic clock in ms (`performance.now`). */
  now: () => number;
  /**
   * Called once the synced phase ends, before the pipelined one: memory is
   * sampled there, so it describes the lab's step-by-step loop and not the
   * queue a long pipelined window may build up.
   */
  afterSynced?: () => void;
}

export interface PipelinedTiming {
  steps: number;
  totalMs: number;
  msPerStep: number;
}

export interface StepTimings {
  /** Wall time of each warm-up step, ms; [0] includes compilation. */
  warmupMs: number[];
  /** Wall time of each synced timed step, ms. */
  stepMs: number[];
  /** Median of `stepMs`. */
  medianMs: number;
  /** Phase 3, or null with the reason it was not run. */
  pipelined: PipelinedTiming | null;
  pipelinedSkipped?: string;
  /** Losses of the warm-up steps, in order (the same for every engine: parity check). */
  warmupLosses: number[];
  /** Loss read at the last step taken. */
  lastLoss: number;
  /** The budget stopped the timed steps before `timedSteps`. */
  capped: boolean;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function mustRead(loss: number | undefined, what: string): number {
  if (loss === undefined) throw new Error(`${what}: the step was asked for its loss and returned none`);
  return loss;
}

/** Run the protocol above on one engine's step function. */
export async function timeTrainingSteps(step: StepFn, o: TimingOptions): Promise<StepTimings> {
  const start = o.now();
  const spent = () => o.now() - start;
  const warmupMs: number[] = [];
  const warmupLosses: number[] = [];
  let lastLoss = NaN;
  for (let i = 0; i < Math.max(1, o.warmupSteps); i++) {
    const t0 = o.now();
    lastLoss = mustRead(await step(true), 'warm-up');
    warmupMs.push(o.now() - t0);
    warmupLosses.push(lastLoss);
    // Keep at least half the budget for the timed steps.
    if (spent() > o.budgetMs / 2) break;
  }
  const stepMs: number[] = [];
  let capped = false;
  for (let i = 0; i < o.timedSteps; i++) {
    const t0 = o.now();
    lastLoss = mustRead(await step(true), 'timed step');
    stepMs.push(o.now() - t0);
    if (spent() > o.budgetMs && i + 1 < o.timedSteps) {
      capped = true;
      break;
    }
  }
  const medianMs = median(stepMs);
  o.afterSynced?.();
  let pipelined: PipelinedTiming | null = null;
  let pipelinedSkipped: string | undefined;
  if (!o.pipelined) {
    pipelinedSkipped = 'synchronous engine';
  } else {
    // As many steps as the synced phase ran, if the budget still allows two.
    const affordable = Math.floor((o.budgetMs - spent()) / medianMs);
    const n = Math.min(stepMs.length, affordable);
    if (n < 2) {
      pipelinedSkipped = 'time cap';
    } else {
      const t0 = o.now();
      for (let i = 0; i < n; i++) {
        const loss = await step(i === n - 1);
        if (i === n - 1) lastLoss = mustRead(loss, 'pipelined window');
      }
      const totalMs = o.now() - t0;
      pipelined = { steps: n, totalMs, msPerStep: totalMs / n };
    }
  }
  const out: StepTimings = { warmupMs, stepMs, medianMs, pipelined, warmupLosses, lastLoss, capped };
  if (pipelinedSkipped) out.pipelinedSkipped = pipelinedSkipped;
  return out;
}

/**
 * Which engine a measurement is of (the `--only` names): ours on the CPU
 * (cpu = the default CPU path, the WebAssembly engine on one thread;
 * cpu-threads = the same on its worker pool; cpu-ts = the TypeScript
 * reference), ours on WebGPU, jax-js (its Wasm backend on one thread, and
 * on its worker pool in a cross-origin isolated page), PyTorch.
 */
export type EngineId = 'cpu' | 'cpu-threads' | 'cpu-ts' | 'webgpu' | 'jax-webgpu' | 'jax-wasm' | 'jax-wasm-threads' | 'torch';

export const ENGINE_IDS: readonly EngineId[] = ['cpu', 'cpu-threads', 'cpu-ts', 'webgpu', 'jax-webgpu', 'jax-wasm', 'jax-wasm-threads', 'torch'];

export interface MemoryFigure {
  bytes: number;
  /**
   * What was counted:
   *  - gpu-buffers-peak: peak live bytes of all GPUBuffers the page created
   *    (createBuffer/destroy instrumented), pools and staging included;
   *  - host-typed-arrays: the backend's own count of its Float32Arrays
   *    (parameters, grads, Adam moments, activations);
   *  - wasm-memory: size of the WebAssembly.Memory jax-js allocates from;
   *  - process-rss-growth: resident set size after the timed steps minus the
   *    size before the model was built (PyTorch: what its allocator keeps).
   */
  kind: 'gpu-buffers-peak' | 'host-typed-arrays' | 'wasm-memory' | 'process-rss-growth';
  note?: string;
}

/** What an engine hands back for one model (before bin/bench.ts adds the model facts). */
export interface EngineRun {
  /** The backend and adapter, in words ("WebGPU on Google SwiftShader ..."). */
  description: string;
  /**
   * Time to get ready to train, ms: creating the backend (our WebGPU backend
   * compiles all its pipelines here; jax-js compiles lazily, in its first
   * step) and uploading the initial parameters.
   */
  setupMs: number;
  timings: StepTimings;
  memory: MemoryFigure;
  /** Other figures worth keeping (the backend's own deviceBytes, threads, ...). */
  extra?: Record<string, unknown>;
}

/** Thrown (or reported by a page) when an engine cannot be measured here; never turned into a 0. */
export class NotMeasured extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotMeasured';
  }
}
