/**
 * The training loop every lab shares (nanoGPT's train.py shape): a pure
 * schedule `lrAt(step)`, per-step events `{step, loss, lr, ms}`, the loss read
 * back only every `readEvery` steps (a readback stalls the GPU pipeline), and
 * cancellation through an AbortSignal. A NaN/Inf stops training with a
 * NonFiniteError; the backend keeps the last good parameters.
 */
import type { Backend, TokenBatch } from './backend';
import type { OptimConfig } from './gpt/config';
import { stepHyperAt } from './optim';

export interface StepEvent {
  type: 'step';
  /** 0-based index of the step just taken. */
  step: number;
  /** The step's loss, present on steps where it was read back. */
  loss?: number;
  lr: number;
  /** Wall time since the previous event, divided by the steps it covers. */
  ms: number;
  /** Tokens with non-zero weight per second over the same window. */
  tokensPerSecond: number;
}

export interface TrainOptions {
  /** Schedule position of the first step (to resume). */
  startStep: number;
  /** Steps to take in this call. */
  steps: number;
  /** Read the loss back every this many steps (and on the last step). */
  readEvery: number;
  onEvent?: (e: StepEvent) => void;
  signal?: AbortSignal;
  /** A monotonic clock in ms (injected so core stays free of DOM globals). */
  now?: () => number;
}

/** Build a language-modelling batch from token sequences: predict token t+1 from ≤ t; weights 1/#targets. */
export function lmBatch(sequences: readonly (readonly number[])[], T: number, padId = 0): TokenBatch {
  const B = sequences.length;
  const batch: TokenBatch = { B, T, inputs: new Int32Array(B * T).fill(padId), targets: new Int32Array(B * T).fill(padId), weights: new Float32Array(B * T) };
  let count = 0;
  sequences.forEach((seq, b) => {
    const n = Math.min(seq.length - 1, T);
    for (let t = 0; t < n; t++) {
      batch.inputs[b * T + t] = seq[t]!;
      batch.targets[b * T + t] = seq[t + 1]!;
      batch.weights[b * T + t] = 1;
      count++;
    }
  });
  if (count > 0) for (let i = 0; i < batch.weights.length; i++) batch.weights[i] /= count;
  return batch;
}

/**
 * Build a supervised fine-tuning batch: each example is [BOS?] prompt then
 * completion; only the completion's tokens are predicted (weights 1/#completion
 * tokens in the batch, 0 on the prompt and the padding). Rows longer than T+1
 * keep their first T+1 tokens.
 */
export function sftBatch(
  examples: readonly { prompt: readonly number[]; completion: readonly number[] }[], T: number, padId = 0,
): TokenBatch {
  const B = examples.length;
  const batch: TokenBatch = { B, T, inputs: new Int32Array(B * T).fill(padId), targets: new Int32Array(B * T).fill(padId), weights: new Float32Array(B * T) };
  let count = 0;
  examples.forEach((ex, b) => {
    const seq = [...ex.prompt, ...ex.completion];
    const n = Math.min(seq.length - 1, T);
    for (let t = 0; t < n; t++) {
      batch.inputs[b * T + t] = seq[t]!;
      batch.targets[b * T + t] = seq[t + 1]!;
      if (t + 1 >= ex.prompt.length) {
        batch.weights[b * T + t] = 1;
        count++;
      }
    }
  });
  if (count > 0) for (let i = 0; i < batch.weights.length; i++) batch.weights[i] /= count;
  return batch;
}

/** A row of a weighted batch: its tokens, and weights[t] = the weight of predicting tokens[t+1] at position t. */
export interface WeightedRow {
  tokens: readonly number[];
  weights: readonly number[];
}

/**
 * A batch from rows with their own per-token weights (the weighted loss is
 * Σ w·ce, so the weights carry any normalisation). T defaults to the longest
 * row less one; shorter rows are right-padded with token 0 at weight 0.
 */
export function weightedBatch(rows: readonly WeightedRow[], T = Math.max(...rows.map((r) => r.tokens.length - 1))): TokenBatch {
  const B = rows.length;
  const batch: TokenBatch = { B, T, inputs: new Int32Array(B * T), targets: new Int32Array(B * T), weights: new Float32Array(B * T) };
  rows.forEach((r, b) => {
    for (let t = 0; t < Math.min(r.tokens.length - 1, T); t++) {
      batch.inputs[b * T + t] = r.tokens[t]!;
      batch.targets[b * T + t] = r.tokens[t + 1]!;
      batch.weights[b * T + t] = r.weights[t]!;
    }
  });
  return batch;
}

/** Run `opts.steps` AdamW steps; `nextBatch(step)` supplies each step's batch. Returns the last loss read. */
export async function trainSteps(
  backend: Backend, nextBatch: (step: number) => TokenBatch, optim: OptimConfig, opts: TrainOptions,
): Promise<{ lastLoss: number | undefined; steps: number }> {
  const now = opts.now ?? (() => performance.now());
  let last = now();
  let lastLoss: number | undefined;
  let windowSteps = 0;
  let windowTokens = 0;
  let done = 0;
  for (let i = 0; i < opts.steps; i++) {
    if (opts.signal?.aborted) break;
    const step = opts.startStep + i;
    const batch = nextBatch(step);
    const read = (i + 1) % opts.readEvery === 0 || i === opts.steps - 1;
    const hyper = stepHyperAt(step, optim);
    const result = await backend.trainStep(batch, hyper, { loss: read });
    done++;
    windowSteps++;
    for (let j = 0; j < batch.weights.length; j++) if (batch.weights[j] !== 0) windowTokens++;
    if (read) {
      lastLoss = result.loss;
      const t = now();
      const elapsed = t - last;
      opts.onEvent?.({
        type: 'step', step, loss: result.loss, lr: hyper.lr, ms: elapsed / windowSteps,
        tokensPerSecond: elapsed > 0 ? (windowTokens * 1000) / elapsed : 0,
      });
      last = t;
      windowSteps = 0;
      windowTokens = 0;
    }
  }
  return { lastLoss, steps: done };
}
