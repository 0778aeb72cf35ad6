/**
 * AdamW, gradient clipping and the learning-rate schedule.
 *
 * AdamW as PyTorch's `torch.optim.AdamW` (Loshchilov & Hutter 2019):
 *   p ← p · (1 − lr·λ)                  decoupled decay, only where view.decay
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   p ← p − lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + ε)
 * Clipping as `torch.nn.utils.clip_grad_norm_`: g ← g · min(1, c / (‖g‖₂ + 1e-6)).
 */
import type { StepHyper } from './backend';
import type { OptimConfig, ParamLayout } from './gpt/config';

/**
 * Learning rate at `step` (0-based): linear warmup to the peak, held there
 * for holdSteps (0 by default), then a cosine to minLrRatio·peak at totalSteps.
 */
export function lrAt(step: number, c: OptimConfig): number {
  const peak = c.learningRate;
  if (step < c.warmupSteps) return (peak * (step + 1)) / c.warmupSteps;
  const start = c.warmupSteps + (c.holdSteps ?? 0);
  if (step < start) return peak;
  const decaySteps = Math.max(1, c.totalSteps - start);
  const progress = Math.min(1, (step - start) / decaySteps);
  const floor = peak * c.minLrRatio;
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}

/** The step hyperparameters for `step` under an optimizer config. */
export function stepHyperAt(step: number, c: OptimConfig): StepHyper {
  return {
    lr: lrAt(step, c),
    weightDecay: c.weightDecay,
    beta1: c.beta1,
    beta2: c.beta2,
    eps: c.eps,
    gradClip: c.gradClip,
  };
}

/** ‖g‖₂ over the whole gradient buffer (accumulated in double). */
export function globalNorm(grads: Float32Array): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i]! * grads[i]!;
  return Math.sqrt(s);
}

/** The factor clip_grad_norm_ multiplies gradients by. */
export function clipScale(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * One AdamW update in place. `t` is the 1-based step count; `gradScale` is
 * the clipping factor (applied to g before the moments).
 */
export function adamwUpdate(
  params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
  layout: ParamLayout, h: StepHyper, t: number, gradScale: number,
): void {
  const bc1 = 1 - Math.pow(h.beta1, t);
  const bc2 = 1 - Math.pow(h.beta2, t);
  for (const view of layout.views) {
    const decay = view.decay ? 1 - h.lr * h.weightDecay : 1;
    const end = view.offset + view.size;
    for (let i = view.offset; i < end; i++) {
      const g = grads[i]! * gradScale;
      const mi = h.beta1 * m[i]! + (1 - h.beta1) * g;
      const vi = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] = params[i]! * decay - (h.lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + h.eps);
    }
  }
}
