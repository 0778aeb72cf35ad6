/** Training the engine demo (config.ts has its settings and events). */
import type { Backend, TokenBatch } from '../../core/backend';
import { initParams } from '../../core/gpt/init';
import { type Key, Rng, keyFromSeed, split } from '../../core/rng';
import { lmBatch, trainSteps } from '../../core/train';
import { type EngineDemoEvent, type ValidDemoConfig, demoText, demoTokenizer } from './config';

/**
 * How often the loss is read back on WebGPU: a readback waits for the GPU
 * queue to drain, so reading every step would serialise CPU and GPU. The CPU
 * backend has the loss for free and reports every step.
 */
export const WEBGPU_READ_EVERY = 5;

/** B random windows of T+1 characters of `ids`, as a next-character batch with mean loss. */
export function sampleBatch(ids: Int32Array, B: number, T: number, rng: Rng): TokenBatch {
  const windows: number[][] = [];
  for (let b = 0; b < B; b++) {
    const start = rng.int(ids.length - T);
    windows.push(Array.from(ids.subarray(start, start + T + 1)));
  }
  return lmBatch(windows, T);
}

/**
 * Train from fresh weights for `config.steps` steps with the shared loop of
 * `core/train.ts`. Sends a StepEvent at every step where the loss is read
 * (every step on CPU, every WEBGPU_READ_EVERY steps and the last on WebGPU),
 * then a DoneEvent. Leaves the trained parameters in `backend`.
 */
export async function run(valid: ValidDemoConfig, backend: Backend, emit: (e: EngineDemoEvent) => void): Promise<void> {
  const { config, optim } = valid;
  const [initKey, dataKey] = split(keyFromSeed(config.seed)) as [Key, Key];
  await backend.setParams(initParams(backend.config, initKey));
  const ids = Int32Array.from(demoTokenizer.encode(demoText));
  const rng = new Rng(dataKey);
  const start = performance.now();
  const { lastLoss, steps } = await trainSteps(
    backend,
    () => sampleBatch(ids, config.batchSize, config.contextLength, rng),
    optim,
    {
      startStep: 0,
      steps: config.steps,
      readEvery: backend.kind === 'webgpu' ? WEBGPU_READ_EVERY : 1,
      onEvent: (e) => {
        if (e.loss === undefined) return;
        emit({ type: 'step', step: e.step + 1, loss: e.loss, ms: e.ms, tokensPerSecond: e.tokensPerSecond });
      },
    },
  );
  emit({ type: 'done', steps, loss: lastLoss ?? NaN, seconds: (performance.now() - start) / 1000 });
}
