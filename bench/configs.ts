/**
 * The training benchmark's models, batch shapes, step counts and optimizer
 * settings: ONE table that every measured engine (our CPU and WebGPU
 * backends, jax-js, PyTorch) reads, so all of them train exactly the same
 * GPT on exactly the same batch.
 *
 * This module is shared by Node (`bin/bench.ts`) and the browser pages
 * (`bench/pages/*`): it imports only pure core code.
 */
import type { StepHyper, TokenBatch } from '../src/core/backend';
import { countParams, type GptConfig } from '../src/core/gpt/config';
import { initParams } from '../src/core/gpt/init';
import { keyFromSeed, Rng, split } from '../src/core/rng';

export type ModelName = 'nano' | 'micro' | 'mini';

export interface BenchModel {
  name: ModelName;
  config: GptConfig;
  /** Batch size (sequences per step). */
  B: number;
  /** Sequence length of the batch (here = contextLength, the costliest case). */
  T: number;
  /** Untimed steps first: pipeline/shader compilation, JIT tracing, allocator warm-up. */
  warmupSteps: number;
  /** Timed steps (default; `--steps N` overrides). */
  timedSteps: number;
}

/**
 * The three sizes. Vocabulary 256 (a byte-level tokenizer), head size 16–32,
 * MLP width 4C, tied LM head: the shapes the lab actually trains.
 * Step counts are small because this machine's "GPU" is SwiftShader (a CPU
 * emulation) on 2 cores; the per-measurement time cap (`MEASURE_BUDGET_MS`)
 * cuts them further for mini.
 */
export const BENCH_MODELS: readonly BenchModel[] = [
  {
    // 0.12M parameters; 512 tokens per step.
    name: 'nano',
    config: { vocabSize: 256, contextLength: 32, dModel: 64, nLayers: 2, nHeads: 4 },
    B: 16, T: 32, warmupSteps: 3, timedSteps: 20,
  },
  {
    // 1.03M parameters; 1024 tokens per step.
    name: 'micro',
    config: { vocabSize: 256, contextLength: 64, dModel: 128, nLayers: 5, nHeads: 4 },
    B: 16, T: 64, warmupSteps: 2, timedSteps: 10,
  },
  {
    // 4.83M parameters; 2048 tokens per step.
    name: 'mini',
    config: { vocabSize: 256, contextLength: 128, dModel: 256, nLayers: 6, nHeads: 8 },
    B: 16, T: 128, warmupSteps: 2, timedSteps: 5,
  },
];

/**
 * Wall-clock cap for one measurement (warm-up + timed steps), in ms. After
 * it, the measurement stops at the end of the current step and reports the
 * steps it timed (at least one timed step is always run, so a slow engine
 * gets a number, flagged as capped, rather than none).
 */
export const MEASURE_BUDGET_MS = 30_000;

/** Seed of the parameters and of the batch (the same for every engine). */
export const BENCH_SEED = 1234;

/**
 * AdamW settings of every timed step: the lab's defaults (`defaultOptimConfig`)
 * at a constant learning rate (no schedule: only speed is measured here).
 */
export const BENCH_HYPER: StepHyper = {
  lr: 1e-3,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  gradClip: 1.0,
};

/** Tokens processed by one training step. */
export function tokensPerStep(m: BenchModel): number {
  return m.B * m.T;
}

export function paramCount(m: BenchModel): number {
  return countParams(m.config);
}

/**
 * Floating-point operations of one training step, nanoGPT's estimate
 * (`estimate_mfu`, from the PaLM paper): per token 6 per matmul weight
 * (2 forward + 4 backward) plus 12·L·C·T for attention's scores and
 * weighted sums. wte counts as a matmul weight (the tied head); wpe does
 * not (a lookup). Causal masking is ignored, as nanoGPT does, so engines
 * that skip the masked half do less than this. Adam and LayerNorm are not
 * counted. Used only to express speeds as GFLOP/s.
 */
export function flopsPerStep(m: BenchModel): number {
  const { contextLength, dModel: C, nLayers: L } = m.config;
  const matmulWeights = countParams(m.config) - contextLength * C; // minus wpe
  return tokensPerStep(m) * (6 * matmulWeights + 12 * L * C * m.T);
}

export function benchModel(name: string): BenchModel {
  const m = BENCH_MODELS.find((x) => x.name === name);
  if (!m) throw new Error(`unknown model '${name}': expected one of ${BENCH_MODELS.map((x) => x.name).join(', ')}`);
  return m;
}

/** The initial parameters (nanoGPT init, see gpt/init.ts), identical for every engine. */
export function benchParams(m: BenchModel): Float32Array {
  const [paramKey] = split(keyFromSeed(BENCH_SEED), 2);
  return initParams(m.config, paramKey!);
}

/**
 * The one batch every step trains on: uniform random token ids, targets the
 * next id of the same random stream, weights 1/(B·T) so the weighted loss
 * Σ w·ce is the mean cross-entropy (what PyTorch's F.cross_entropy gives).
 * Data does not change the cost of a dense step, so one batch is enough.
 */
export function benchBatch(m: BenchModel): TokenBatch {
  const [, batchKey] = split(keyFromSeed(BENCH_SEED), 2);
  const rng = new Rng(batchKey!);
  const n = m.B * m.T;
  const V = m.config.vocabSize;
  const inputs = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let b = 0; b < m.B; b++) {
    let prev = rng.int(V);
    for (let t = 0; t < m.T; t++) {
      const next = rng.int(V);
      inputs[b * m.T + t] = prev;
      targets[b * m.T + t] = next;
      prev = next;
    }
  }
  return { B: m.B, T: m.T, inputs, targets, weights: new Float32Array(n).fill(1 / n) };
}
