/**
 * Finite-difference checks of every backward function in src/core/gpt/layers.ts
 * and of the whole model's gradient.
 *
 * For a layer y = f(x) we take the scalar L = Σ r·y with a fixed random r, so
 * dL/dy = r, run the backward with dout = r, and compare each input gradient
 * with the central difference (L(x+ε) − L(x−ε)) / 2ε, in float32 (ε = 1e-2).
 */
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../../src/core/backends/cpu';
import { paramLayout } from '../../src/core/gpt/config';
import { initParams } from '../../src/core/gpt/init';
import {
  attentionBackward, attentionForward, crossEntropyBackward, crossEntropyForward, encoderBackward, encoderForward,
  geluBackward, geluForward, layernormBackward, layernormForward, matmulBackward, matmulForward,
} from '../../src/core/gpt/layers';
import { Rng, keyFromSeed } from '../../src/core/rng';

const rng = Rng.fromSeed(7);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/**
 * Compare an analytic gradient `grad` of L w.r.t. `x` with central differences.
 * `loss()` recomputes L from the current contents of x. Returns the worst
 * |analytic − numeric| relative to max(1, |numeric|).
 */
function worstFdError(x: Float32Array, grad: Float32Array, loss: () => number, eps = 1e-2, samples = 40): number {
  let worst = 0;
  const step = Math.max(1, Math.floor(x.length / samples));
  for (let i = 0; i < x.length; i += step) {
    const orig = x[i]!;
    x[i] = orig + eps;
    const up = loss();
    x[i] = orig - eps;
    const down = loss();
    x[i] = orig;
    const numeric = (up - down) / (2 * eps);
    worst = Math.max(worst, Math.abs(grad[i]! - numeric) / Math.max(1, Math.abs(numeric)));
  }
  return worst;
}

describe('finite differences of each backward', () => {
  const TOL = 2e-3;

  test('encoder', () => {
    const [B, T, C, V] = [2, 3, 4, 5];
    const inp = Int32Array.from([0, 3, 3, 1, 4, 0]);
    const wte = randn(V * C), wpe = randn(T * C), r = randn(B * T * C), out = new Float32Array(B * T * C);
    const L = () => (encoderForward(out, inp, wte, wpe, B, T, C), dot(out, r));
    const dwte = new Float32Array(V * C), dwpe = new Float32Array(T * C);
    encoderBackward(dwte, dwpe, r, inp, B, T, C);
    expect(worstFdError(wte, dwte, L)).toBeLessThan(TOL);
    expect(worstFdError(wpe, dwpe, L)).toBeLessThan(TOL);
  });

  test('layernorm', () => {
    const [N, C] = [5, 8];
    const inp = randn(N * C, 2), w = randn(C), b = randn(C), r = randn(N * C);
    const out = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
    const L = () => (layernormForward(out, mean, rstd, inp, w, b, N, C), dot(out, r));
    L();
    const dinp = new Float32Array(N * C), dw = new Float32Array(C), db = new Float32Array(C);
    layernormBackward(dinp, dw, db, r, inp, w, mean, rstd, N, C);
    expect(worstFdError(inp, dinp, L)).toBeLessThan(TOL);
    expect(worstFdError(w, dw, L)).toBeLessThan(TOL);
    expect(worstFdError(b, db, L)).toBeLessThan(TOL);
  });

  test('matmul (with and without bias, odd row count)', () => {
    const [N, C, OC] = [7, 6, 5];
    for (const withBias of [true, false]) {
      const inp = randn(N * C), w = randn(OC * C), bias = withBias ? randn(OC) : null, r = randn(N * OC);
      const out = new Float32Array(N * OC);
      const L = () => (matmulForward(out, inp, w, bias, N, C, OC), dot(out, r));
      const dinp = new Float32Array(N * C), dw = new Float32Array(OC * C), db = new Float32Array(OC);
      matmulBackward(dinp, dw, bias ? db : null, r, inp, w, N, C, OC);
      expect(worstFdError(inp, dinp, L)).toBeLessThan(TOL);
      expect(worstFdError(w, dw, L)).toBeLessThan(TOL);
      if (bias) expect(worstFdError(bias, db, L)).toBeLessThan(TOL);
    }
  });

  test('causal attention', () => {
    const [B, T, C, NH] = [2, 4, 6, 2];
    const qkv = randn(B * T * 3 * C), r = randn(B * T * C);
    const out = new Float32Array(B * T * C), att = new Float32Array(B * NH * T * T);
    const L = () => (attentionForward(out, att, qkv, B, T, C, NH), dot(out, r));
    L();
    const dqkv = new Float32Array(B * T * 3 * C);
    attentionBackward(dqkv, r, qkv, att, B, T, C, NH);
    expect(worstFdError(qkv, dqkv, L, 1e-2, 200)).toBeLessThan(TOL);
  });

  test('gelu', () => {
    const n = 50;
    const inp = randn(n, 3), r = randn(n), out = new Float32Array(n);
    const L = () => (geluForward(out, inp, n), dot(out, r));
    const dinp = new Float32Array(n);
    geluBackward(dinp, inp, r, n);
    expect(worstFdError(inp, dinp, L, 1e-2, n)).toBeLessThan(TOL);
  });

  test('weighted cross-entropy, with zero and negative weights', () => {
    const [N, V] = [6, 7];
    const logits = randn(N * V, 2);
    const targets = Int32Array.from([0, 6, 3, 3, 1, 2]);
    const weights = Float32Array.from([0.5, 0, -0.3, 1, 0.25, -1]);
    const ce = new Float32Array(N);
    const L = () => (crossEntropyForward(ce, logits, targets, N, V), dot(ce, weights));
    const dlogits = new Float32Array(N * V);
    crossEntropyBackward(dlogits, logits, targets, weights, N, V);
    expect(worstFdError(logits, dlogits, L, 1e-2, N * V)).toBeLessThan(TOL);
  });
});

// Dense weights run the full LM head; mostly-zero weights (a prompt, a
// classification row) run it on the weighted rows only (CpuBackend.sparseHead).
for (const [what, weightAt] of [
  ['every token weighted (the full head)', (i: number) => (i % 4 === 0 ? -0.1 : 0.1)],
  ['two tokens weighted (the head on those rows only)', (i: number) => (i === 3 ? 0.7 : i === 8 ? -0.4 : 0)],
] as const) test(`whole-model gradient matches finite differences of the loss: ${what}`, async () => {
  const config = { vocabSize: 11, contextLength: 6, dModel: 8, nLayers: 2, nHeads: 2 };
  const backend = new CpuBackend(config);
  const params = initParams(config, keyFromSeed(3));
  for (let i = 0; i < params.length; i++) params[i] += rng.normal() * 0.05; // move LN weights/biases off 1/0
  await backend.setParams(params);
  const [B, T] = [2, 5];
  const batch = {
    B, T,
    inputs: Int32Array.from({ length: B * T }, () => rng.int(11)),
    targets: Int32Array.from({ length: B * T }, () => rng.int(11)),
    weights: Float32Array.from({ length: B * T }, (_, i) => weightAt(i)),
  };
  const { grads, loss, perSeqLoss } = await backend.gradients(batch);
  // The loss itself against a direct computation from the full logits (float64 log-softmax).
  const logits = await backend.forwardLogits(batch.inputs, B, T);
  let direct = 0;
  const perSeq = [0, 0];
  for (let r = 0; r < B * T; r++) {
    const row = Array.from(logits.subarray(r * 11, (r + 1) * 11));
    const max = Math.max(...row);
    const ce = Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) + max - row[batch.targets[r]!]!;
    direct += batch.weights[r]! * ce;
    perSeq[Math.floor(r / T)]! += batch.weights[r]! * ce;
  }
  expect(Math.abs(loss - direct)).toBeLessThan(1e-6);
  for (let b = 0; b < B; b++) expect(Math.abs(perSeqLoss[b]! - perSeq[b]!)).toBeLessThan(1e-6);
  const layout = paramLayout(config);
  // Loss in float32 arithmetic through the real backend for each perturbed parameter.
  let worst = 0;
  for (const view of layout.views) {
    for (const i of [view.offset, view.offset + Math.floor(view.size / 2), view.offset + view.size - 1]) {
      const orig = params[i]!;
      const lossAt = async (x: number) => {
        params[i] = x;
        await backend.setParams(params);
        return (await backend.evaluate(batch)).loss;
      };
      const eps = 1e-2;
      const numeric = ((await lossAt(orig + eps)) - (await lossAt(orig - eps))) / (2 * eps);
      params[i] = orig;
      worst = Math.max(worst, Math.abs(grads[i]! - numeric));
    }
  }
  await backend.setParams(params);
  console.log(`whole-model gradient vs finite differences: worst abs error ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-3);
});
