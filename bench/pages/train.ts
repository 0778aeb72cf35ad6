/**
 * Browser side of `npm run bench -- train`: times a full training step
 * (forward, backward, clip, AdamW) of one bench model on one engine:
 *
 *   - 'webgpu':     our WebGPU backend (`createBackend(config, {prefer:'webgpu'})`);
 *   - 'jax-webgpu': jax-js on its WebGPU backend (`bench/jax-gpt.ts`);
 *   - 'jax-wasm':   jax-js on its WebAssembly backend, in a page that is not
 *                   cross-origin isolated (bin/bench.ts strips the headers): one thread;
 *   - 'jax-wasm-threads': the same in an isolated page, where jax-js runs its worker pool.
 *
 * bin/bench.ts opens a FRESH page per measurement (clean GPU state and memory
 * counters), waits for `window.benchReady`, then awaits `window.benchTrain(req)`.
 */
import { gpuBufferBytes, wasmMemoryBytes } from './memory-probe'; // first: wraps the allocators
import { blockUntilReady, defaultDevice, getWebGPUDevice, init, tree, type Device } from '@jax-js/jax';
import type { DeviceCounters } from '../../src/core/backend';
import { BENCH_HYPER, benchBatch, benchModel, benchParams, type ModelName } from '../configs';
import { jaxBatch, jaxParamsFromFlat, jaxStepScalars, jaxZerosLike, makeJaxTrainStep } from '../jax-gpt';
import { type EngineRun, NotMeasured, type StepFn, timeTrainingSteps } from '../protocol';

export type PageEngine = 'webgpu' | 'jax-webgpu' | 'jax-wasm' | 'jax-wasm-threads';

export interface PageRequest {
  engine: PageEngine;
  model: ModelName;
  warmupSteps: number;
  timedSteps: number;
  budgetMs: number;
  /** Our WebGPU only: after the timed steps, one step with each dispatch timed alone (`profileTrainStep`). */
  profile?: boolean;
}

export type PageResponse =
  | { ok: true; run: EngineRun }
  | { ok: false; notMeasured: boolean; reason: string };

function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s);
  return parts.length ? parts.join(' / ') : 'unnamed adapter';
}

const now = () => performance.now();

async function runOurWebGpu(req: PageRequest): Promise<EngineRun> {
  if (!navigator.gpu) throw new NotMeasured('navigator.gpu is missing in this browser');
  // A dynamic import, so that jax-js can still be measured while the WebGPU
  // backend (written concurrently) does not load.
  let backends: typeof import('../../src/core/backends/index');
  try {
    backends = await import('../../src/core/backends/index');
  } catch (e) {
    throw new NotMeasured(`could not import src/core/backends/index.ts: ${String(e)}`);
  }
  const m = benchModel(req.model);
  let deviceLost = '';
  const setupStart = now();
  const created = await backends.createBackend(m.config, {
    prefer: 'webgpu',
    onDeviceLost: (message) => (deviceLost = message),
  });
  const backend = created.backend;
  try {
    if (backend.kind !== 'webgpu') throw new NotMeasured(`createBackend fell back to '${backend.kind}': ${created.reason}`);
    await backend.setParams(benchParams(m));
    const setupMs = now() - setupStart;
    const batch = benchBatch(m);
    const step: StepFn = async (readLoss) => (await backend.trainStep(batch, BENCH_HYPER, { loss: readLoss })).loss;
    let gpuPeak = 0;
    let deviceBytes = 0;
    const timings = await timeTrainingSteps(step, {
      ...req, pipelined: true, now,
      afterSynced: () => {
        gpuPeak = gpuBufferBytes.peak;
        deviceBytes = backend.deviceBytes();
      },
    });
    // Device work of one more step of each kind: the lab's (loss read back) and a quiet one (nothing read).
    const counted = async (readLoss: boolean): Promise<DeviceCounters | null> => {
      const before = backend.counters?.();
      await step(readLoss);
      const after = backend.counters?.();
      if (!before || !after) return null;
      return {
        dispatches: after.dispatches - before.dispatches, bindGroups: after.bindGroups - before.bindGroups,
        readbacks: after.readbacks - before.readbacks, submits: after.submits - before.submits,
      };
    };
    const perStep = await counted(true);
    const perQuietStep = await counted(false);
    await step(true); // drain the quiet step before the page closes
    const profile = req.profile && 'profileTrainStep' in backend
      ? await (backend as import('../../src/core/backends/webgpu').WebGpuBackend).profileTrainStep(batch, BENCH_HYPER)
      : undefined;
    if (deviceLost) throw new Error(`the GPU device was lost during the measurement: ${deviceLost}`);
    return {
      description: `ours WebGPU: ${backend.description} [${created.reason}]`,
      setupMs,
      timings,
      memory: { bytes: gpuPeak, kind: 'gpu-buffers-peak', note: `backend.deviceBytes() = ${deviceBytes}` },
      extra: {
        deviceBytes, hostBytes: backend.hostBytes(),
        gpuPeakBytesInclPipelined: gpuBufferBytes.peak, gpuBuffersCreated: gpuBufferBytes.buffersCreated,
        ...(perStep ? { perStep } : {}), ...(perQuietStep ? { perQuietStep } : {}),
        ...(profile ? { profile } : {}),
      },
    };
  } finally {
    backend.dispose();
  }
}

async function runJax(req: PageRequest, device: Extract<Device, 'webgpu' | 'wasm'>): Promise<EngineRun> {
  const setupStart = now();
  const available = await init(device);
  if (!available.includes(device)) throw new NotMeasured(`jax-js could not start its '${device}' backend here`);
  defaultDevice(device);
  const m = benchModel(req.model);
  const trainStep = makeJaxTrainStep(m.config, BENCH_HYPER);
  let state = {
    params: jaxParamsFromFlat(m.config, benchParams(m), device),
    m: jaxZerosLike(m.config, device),
    v: jaxZerosLike(m.config, device),
  };
  const batch = jaxBatch(benchBatch(m), device);
  await blockUntilReady([state, batch]);
  const setupMs = now() - setupStart;
  let t = 0; // Adam's step count
  const step: StepFn = async (readLoss) => {
    t++;
    // The jitted step consumes its arguments: the batch is passed with .ref to keep it.
    const [next, loss] = trainStep(state, batch.inputs.ref, batch.targets.ref, batch.weights.ref,
      jaxStepScalars(BENCH_HYPER, t, device));
    state = next;
    if (!readLoss) {
      // jax-js submits device work lazily, when a result is awaited. Kick the
      // submission now without waiting (as our backend submits each step), or
      // a pipelined window would queue every step's kernels and buffers until
      // its end (jax-js's docs ask to block regularly for that reason).
      const release = () => loss.dispose(); // a failure here resurfaces at the window's final read
      void loss.blockUntilReady().then(release, release);
      return undefined;
    }
    // All outputs of one jit share its pending kernels, and the device queue
    // is in order: when the loss is read back, the whole step has run.
    return (await loss.data())[0];
  };
  try {
    let gpuPeak = 0;
    let wasmBytes = 0;
    const timings = await timeTrainingSteps(step, {
      ...req, pipelined: true, now,
      afterSynced: () => {
        gpuPeak = gpuBufferBytes.peak;
        wasmBytes = wasmMemoryBytes();
      },
    });
    if (device === 'webgpu') {
      return {
        description: `jax-js WebGPU [adapter: ${describeAdapter(getWebGPUDevice().adapterInfo)}]`,
        setupMs,
        timings,
        memory: { bytes: gpuPeak, kind: 'gpu-buffers-peak' },
        extra: { gpuPeakBytesInclPipelined: gpuBufferBytes.peak, gpuBuffersCreated: gpuBufferBytes.buffersCreated },
      };
    }
    const threads = typeof SharedArrayBuffer !== 'undefined' ? navigator.hardwareConcurrency : 1;
    return {
      description: `jax-js Wasm, ${threads} thread(s)${crossOriginIsolated ? '' : ' (page not cross-origin isolated: no SharedArrayBuffer, no worker pool)'}`,
      setupMs,
      timings,
      memory: { bytes: wasmBytes, kind: 'wasm-memory' },
      extra: { crossOriginIsolated, threads, wasmBytesInclPipelined: wasmMemoryBytes() },
    };
  } finally {
    trainStep.dispose();
    tree.dispose(state);
    tree.dispose(batch);
  }
}

async function benchTrain(req: PageRequest): Promise<PageResponse> {
  try {
    let run: EngineRun;
    switch (req.engine) {
      case 'webgpu': run = await runOurWebGpu(req); break;
      case 'jax-webgpu': run = await runJax(req, 'webgpu'); break;
      case 'jax-wasm':
      case 'jax-wasm-threads': {
        const threaded = req.engine === 'jax-wasm-threads';
        if (threaded !== crossOriginIsolated) {
          throw new NotMeasured(`${req.engine} needs a page that is ${threaded ? '' : 'not '}cross-origin isolated; this one is ${crossOriginIsolated ? '' : 'not'}`);
        }
        run = await runJax(req, 'wasm');
        break;
      }
      default: throw new Error(`unknown engine ${req.engine satisfies never}`);
    }
    return { ok: true, run };
  } catch (e) {
    const notMeasured = e instanceof NotMeasured;
    const reason = e instanceof Error ? (notMeasured ? e.message : `${e.name}: ${e.message}\n${e.stack ?? ''}`) : String(e);
    return { ok: false, notMeasured, reason };
  }
}

declare global {
  interface Window {
    benchReady?: boolean;
    benchTrain?: (req: PageRequest) => Promise<PageResponse>;
  }
}

window.benchTrain = benchTrain;
window.benchReady = true;
