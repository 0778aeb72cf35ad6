/**
 * The lab's GPT written in jax-js (`@jax-js/jax`), for the training benchmark:
 * the SAME model and the SAME step as `src/core/backends/cpu.ts`, so the two
 * engines can be timed against each other.
 *
 *   - parameters: one array per view of `paramLayout` (nanoGPT names, (out,in)
 *     matrices), loaded from our flat Float32Array, so both start identical;
 *   - block: x + attn(ln1(x)), then + mlp(ln2(x)); LayerNorm eps 1e-5,
 *     GELU tanh approximation, causal softmax attention, LM head tied to wte;
 *   - loss: Σ_{b,t} w·ce (per-token weights), as `Backend.trainStep`;
 *   - step: global-norm clip (clip_grad_norm_), then AdamW as torch.optim.AdamW
 *     with decoupled decay on matrices/embeddings only (see `src/core/optim.ts`).
 *
 * The whole step — forward, backward, clip, AdamW — is ONE `jit`, so jax-js
 * can fuse and cache it: that is jax-js at its best, which is the fair peer.
 * Not reproduced (it does not change the cost of a step): our backends'
 * NaN/Inf guard that skips the update of a non-finite step.
 *
 * jax-js arrays are reference counted: every use of an array consumes one
 * reference, so all but the last use of a value take `.ref` (see its README).
 *
 * Legend: B batch, T time, C dModel, V vocab, NH heads, hs = C/NH, N = B·T.
 */
import { jit, nn, numpy as np, tree, valueAndGrad, type Device, type OwnedFunction } from '@jax-js/jax';
import type { StepHyper, TokenBatch } from '../src/core/backend';
import { type GptConfig, paramLayout, viewOf } from '../src/core/gpt/config';

/** Parameters keyed by nanoGPT's state_dict names (the views of `paramLayout`). */
export type JaxParams = Record<string, np.Array>;

/** Upload our flat parameter buffer as one jax array per named view. */
export function jaxParamsFromFlat(config: GptConfig, flat: Float32Array, device: Device): JaxParams {
  const out: JaxParams = {};
  for (const view of paramLayout(config).views) {
    out[view.name] = np.array(viewOf(flat, view).slice(), { shape: view.shape, dtype: np.float32, device });
  }
  return out;
}

/** Zeros shaped like the parameters (Adam's moments at step 0). */
export function jaxZerosLike(config: GptConfig, device: Device): JaxParams {
  const out: JaxParams = {};
  for (const view of paramLayout(config).views) out[view.name] = np.zeros(view.shape, { dtype: np.float32, device });
  return out;
}

/** y = x·Wᵀ + b; x (N,IC), weight (OC,IC) as nn.Linear, bias (OC) → (N,OC). */
function linear(x: np.Array, weight: np.Array, bias: np.Array): np.Array {
  return np.matmul(x, weight.transpose()).add(bias);
}

/** LayerNorm over the last axis (biased variance, eps 1e-5, as torch); x (N,C), w,b (C). */
function layerNorm(x: np.Array, w: np.Array, b: np.Array): np.Array {
  const centered = x.ref.sub(x.mean(-1, { keepdims: true }));
  const variance = np.square(centered.ref).mean(-1, { keepdims: true });
  return centered.div(np.sqrt(variance.add(1e-5))).mul(w).add(b);
}

/**
 * Causal self-attention of one block: qkv (N,3C) → y (N,C), before c_proj.
 * jax-js's dotProductAttention computes all T×T scores and masks the upper
 * half (our CPU backend skips it): the FLOP estimate of bench/configs.ts
 * counts the full square for everyone.
 */
function attention(qkv: np.Array, B: number, T: number, C: number, NH: number): np.Array {
  const hs = C / NH;
  // qkv (N,3C): q, k, v are the three C-wide column blocks, heads contiguous within each.
  const [q, k, v] = np.split(qkv.reshape([B, T, 3 * C]), 3, -1) as [np.Array, np.Array, np.Array];
  const shape = [B, T, NH, hs];
  const y = nn.dotProductAttention(q.reshape(shape), k.reshape(shape), v.reshape(shape), { isCausal: true }); // (B,T,NH,hs)
  return y.reshape([B * T, C]);
}

/** The weighted loss Σ w·ce of one batch; inputs/targets (B,T) int32, weights (B,T). */
export function gptLoss(
  config: GptConfig, p: JaxParams, inputs: np.Array, targets: np.Array, weights: np.Array,
): np.Array {
  const { dModel: C, nHeads: NH, vocabSize: V, nLayers: L } = config;
  const [B, T] = inputs.shape as [number, number];
  const N = B * T;
  const P = (name: string): np.Array => p[name]!;
  // Token + position embeddings; wte is used again by the tied head, hence .ref.
  // The gather indexes with the (B,T) argument itself: indexing with a reshaped
  // view of it makes jax-js 0.1.25's jit fail on the gradient ("routine
  // primitive scatter input is not imm": routines need materialised inputs).
  const wte = P('transformer.wte.weight');
  const tok = wte.ref.slice(inputs); // (B,T,C) gather
  const pos = P('transformer.wpe.weight').slice([0, T]); // (T,C), broadcast over B
  let x = tok.add(pos).reshape([N, C]);
  for (let l = 0; l < L; l++) {
    const h = (name: string): np.Array => P(`transformer.h.${l}.${name}`);
    const ln1 = layerNorm(x.ref, h('ln_1.weight'), h('ln_1.bias'));
    const qkv = linear(ln1, h('attn.c_attn.weight'), h('attn.c_attn.bias')); // (N,3C)
    const atty = attention(qkv, B, T, C, NH);
    x = x.add(linear(atty, h('attn.c_proj.weight'), h('attn.c_proj.bias')));
    const ln2 = layerNorm(x.ref, h('ln_2.weight'), h('ln_2.bias'));
    const fch = nn.gelu(linear(ln2, h('mlp.c_fc.weight'), h('mlp.c_fc.bias'))); // (N,4C), tanh approximation
    x = x.add(linear(fch, h('mlp.c_proj.weight'), h('mlp.c_proj.bias')));
  }
  const lnf = layerNorm(x, P('transformer.ln_f.weight'), P('transformer.ln_f.bias'));
  const logits = np.matmul(lnf, wte.transpose()); // (N,V), tied head
  const logp = nn.logSoftmax(logits, -1);
  const ce = logp.mul(nn.oneHot(targets.reshape([N]), V)).sum(-1).neg(); // (N)
  return ce.mul(weights.reshape([N])).sum();
}

/** Per-step scalars, uploaded each step (as arrays, so the jit is traced once). */
export type JaxStepScalars = {
  lr: np.Array;
  /** 1 − β1ᵗ and 1 − β2ᵗ, Adam's bias corrections for this step's t. */
  bc1: np.Array;
  bc2: np.Array;
};

/** Parameters and Adam's moments (`type`, not `interface`: jax-js's JsTree typing needs an alias). */
export type JaxTrainState = {
  params: JaxParams;
  m: JaxParams;
  v: JaxParams;
};

/**
 * The jitted training step: (state, batch, scalars) → [state', loss].
 * Consumes its arguments (jax-js ownership); constants of `hyper` other than
 * lr are baked into the trace.
 */
export function makeJaxTrainStep(
  config: GptConfig, hyper: StepHyper,
): OwnedFunction<(
  state: JaxTrainState, inputs: np.Array, targets: np.Array, weights: np.Array, s: JaxStepScalars,
) => [JaxTrainState, np.Array]> {
  const decays = new Map(paramLayout(config).views.map((view) => [view.name, view.decay]));
  const lossAndGrad = valueAndGrad(
    (p: JaxParams, inputs: np.Array, targets: np.Array, weights: np.Array) => gptLoss(config, p, inputs, targets, weights),
  );
  const { beta1, beta2, eps, weightDecay, gradClip } = hyper;
  return jit((state: JaxTrainState, inputs: np.Array, targets: np.Array, weights: np.Array, s: JaxStepScalars) => {
    const [loss, grads] = lossAndGrad(tree.ref(state.params), inputs, targets, weights);
    const names = Object.keys(state.params);
    // clip_grad_norm_: g ← g · min(1, clip / (‖g‖₂ + 1e-6)) over ALL gradients.
    let sumSq: np.Array = np.zeros([], { dtype: np.float32 });
    for (const name of names) sumSq = sumSq.add(np.square(grads[name]!.ref).sum());
    let clipScale: np.Array;
    if (gradClip > 0) {
      clipScale = np.minimum(np.reciprocal(np.sqrt(sumSq).add(1e-6)).mul(gradClip), 1);
    } else {
      sumSq.dispose();
      clipScale = np.ones([], { dtype: np.float32 });
    }
    const params: JaxParams = {};
    const m: JaxParams = {};
    const v: JaxParams = {};
    const stepSize = s.lr.ref.div(s.bc1); // lr / (1 − β1ᵗ)
    const sqrtBc2 = np.sqrt(s.bc2); // sqrt(1 − β2ᵗ)
    for (const name of names) {
      const g = grads[name]!.mul(clipScale.ref);
      const mi = state.m[name]!.mul(beta1).add(g.ref.mul(1 - beta1));
      const vi = state.v[name]!.mul(beta2).add(np.square(g).mul(1 - beta2));
      // torch: p ← p·(1 − lr·λ) − (lr/bc1) · m / (sqrt(v)/sqrt(bc2) + ε)
      let pi = state.params[name]!;
      if (decays.get(name)) pi = pi.mul(s.lr.ref.mul(-weightDecay).add(1));
      const denom = np.sqrt(vi.ref).div(sqrtBc2.ref).add(eps);
      params[name] = pi.sub(mi.ref.div(denom).mul(stepSize.ref));
      m[name] = mi;
      v[name] = vi;
    }
    clipScale.dispose();
    stepSize.dispose();
    sqrtBc2.dispose();
    s.lr.dispose();
    return [{ params, m, v }, loss] as [JaxTrainState, np.Array];
  });
}

/** The per-step inputs as device arrays (B,T). */
export function jaxBatch(batch: TokenBatch, device: Device): { inputs: np.Array; targets: np.Array; weights: np.Array } {
  const shape = [batch.B, batch.T];
  return {
    inputs: np.array(batch.inputs, { shape, dtype: np.int32, device }),
    targets: np.array(batch.targets, { shape, dtype: np.int32, device }),
    weights: np.array(batch.weights, { shape, dtype: np.float32, device }),
  };
}

/** Scalars of step t (1-based). */
export function jaxStepScalars(hyper: StepHyper, t: number, device: Device): JaxStepScalars {
  const scalar = (x: number) => np.full([], x, { dtype: np.float32, device });
  return { lr: scalar(hyper.lr), bc1: scalar(1 - Math.pow(hyper.beta1, t)), bc2: scalar(1 - Math.pow(hyper.beta2, t)) };
}
