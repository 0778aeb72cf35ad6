/**
 * Scoring: the log-likelihood of given continuations, batched.
 *
 *   logLik(prompt, cont) = Σ_i log p(cont_i | prompt, cont_<i)
 *
 * computed with the weighted loss (weight 1 on the continuation's targets,
 * 0 elsewhere), so it is the same code path as training: perSeqLoss = −logLik.
 * Classification by label continuations compares these across labels.
 */
import type { Backend, TokenBatch } from './backend';

export interface ScoreItem {
  prompt: readonly number[];
  continuation: readonly number[];
}

/** Σ log p(continuation | prompt) per item; batches of `batchSize` rows. */
export async function scoreContinuations(backend: Backend, items: readonly ScoreItem[], batchSize = 16): Promise<Float64Array> {
  const ctx = backend.config.contextLength;
  const out = new Float64Array(items.length);
  items.forEach((it, i) => {
    if (it.prompt.length === 0) throw new Error(`items[${i}].prompt: needs at least one token (e.g. BOS)`);
    if (it.continuation.length === 0) throw new Error(`items[${i}].continuation: is empty`);
    const n = it.prompt.length + it.continuation.length - 1;
    if (n > ctx) throw new Error(`items[${i}]: prompt + continuation need ${n} positions, the context is ${ctx}`);
  });
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const T = Math.max(...chunk.map((it) => it.prompt.length + it.continuation.length - 1));
    const B = chunk.length;
    const batch: TokenBatch = {
      B, T, inputs: new Int32Array(B * T), targets: new Int32Array(B * T), weights: new Float32Array(B * T),
    };
    chunk.forEach((it, b) => {
      const seq = [...it.prompt, ...it.continuation];
      for (let t = 0; t < seq.length - 1; t++) {
        batch.inputs[b * T + t] = seq[t]!;
        batch.targets[b * T + t] = seq[t + 1]!;
        if (t + 1 >= it.prompt.length) batch.weights[b * T + t] = 1;
      }
    });
    const { perSeqLoss } = await backend.evaluate(batch);
    for (let b = 0; b < B; b++) out[start + b] = -perSeqLoss[b]!;
  }
  return out;
}

/**
 * Classify prompts by the most likely of K label continuations.
 * Returns logLik (n·K, row-major) and the predicted label index per prompt.
 */
export async function classifyByContinuation(
  backend: Backend, prompts: readonly (readonly number[])[], labels: readonly (readonly number[])[], batchSize = 16,
): Promise<{ logLik: Float64Array; predicted: Int32Array }> {
  const K = labels.length;
  const items = prompts.flatMap((prompt) => labels.map((continuation) => ({ prompt, continuation })));
  const logLik = await scoreContinuations(backend, items, batchSize);
  const predicted = new Int32Array(prompts.length);
  for (let i = 0; i < prompts.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logLik[i * K + k]! > logLik[i * K + best]!) best = k;
    predicted[i] = best;
  }
  return { logLik, predicted };
}
