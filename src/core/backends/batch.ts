/** Shape and range checks for a TokenBatch, shared by both backends. */
import type { TokenBatch } from '../backend';
import type { GptConfig } from '../gpt/config';

/** Throws a message naming the bad field when a batch cannot be run by this model. */
export function checkBatch(batch: TokenBatch, config: GptConfig): void {
  const { B, T, inputs, targets, weights } = batch;
  if (!Number.isInteger(B) || B < 1) throw new Error(`batch.B: must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`batch.T: must be a positive integer, got ${T}`);
  if (T > config.contextLength) {
    throw new Error(`batch.T: ${T} exceeds the model's contextLength ${config.contextLength}`);
  }
  const n = B * T;
  if (inputs.length !== n) throw new Error(`batch.inputs: expected B·T = ${n} ids, got ${inputs.length}`);
  if (targets.length !== n) throw new Error(`batch.targets: expected B·T = ${n} ids, got ${targets.length}`);
  if (weights.length !== n) throw new Error(`batch.weights: expected B·T = ${n} weights, got ${weights.length}`);
  const V = config.vocabSize;
  for (let i = 0; i < n; i++) {
    const x = inputs[i]!;
    const y = targets[i]!;
    if (!(x >= 0 && x < V)) throw new Error(`batch.inputs: id ${x} at index ${i} is outside [0, ${V})`);
    if (!(y >= 0 && y < V)) throw new Error(`batch.targets: id ${y} at index ${i} is outside [0, ${V})`);
    if (!Number.isFinite(weights[i]!)) throw new Error(`batch.weights: weight at index ${i} is not finite`);
  }
}
