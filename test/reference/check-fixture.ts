/**
 * One PyTorch fixture (test/reference/make_fixtures.py) checked against a
 * backend: logits, loss, per-sequence losses, every gradient, 10 AdamW steps,
 * the parameters after them. No Node imports: `npm run lab -- check`
 * (bin/parity.ts) and the Chromium test (test/browser/wasm-parity.test.ts)
 * both run it.
 *
 * Tolerances (from the engine issue): logits, loss and per-sequence losses
 * within 1e-4 absolute; each gradient within 1e-3 of its tensor's largest
 * magnitude; the 10 AdamW step losses within 1e-4 absolute.
 */
import type { Backend } from '../../src/core/backend';
import { type OptimConfig, paramLayout, validateGptConfig, validateOptimConfig } from '../../src/core/gpt/config';
import { stepHyperAt } from '../../src/core/optim';

export interface CheckLine {
  /** The backend checked (a name the caller chose: 'ts', 'wasm', …). */
  engine: string;
  fixture: string;
  check: string;
  /** Largest difference found, absolute or relative as `mode` says. */
  maxDiff: number;
  tolerance: number;
  mode: 'abs' | 'rel';
  ok: boolean;
}

export interface Fixture {
  source: string;
  name: string;
  config: unknown;
  optim: unknown;
  B: number;
  T: number;
  inputs: number[];
  targets: number[];
  weights: string;
  params: Record<string, string>;
  logits: string;
  loss: number;
  perSeqLoss: number[];
  grads: Record<string, string>;
  stepLosses: number[];
  gradNorms: number[];
  paramsAfter: Record<string, string>;
}

/** Little-endian float32s from base64 (atob: the same in Node and browsers). */
function f32(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** max |a − b| over the arrays (NaN counts as infinitely far). */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** max |a − b| / max |b|: the difference relative to the reference tensor's scale. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / (scale || 1);
}

/** Run every check of one fixture on `backend` (fresh: no steps taken; it is disposed at the end), labelled `engine`. */
export async function checkFixture(fx: Fixture, backend: Backend, engine: string): Promise<CheckLine[]> {
  const config = validateGptConfig(fx.config);
  const optim: OptimConfig = validateOptimConfig(fx.optim);
  const layout = paramLayout(config);
  const lines: CheckLine[] = [];
  const line = (check: string, maxDiff: number, tolerance: number, mode: 'abs' | 'rel') =>
    lines.push({ engine, fixture: fx.name, check, maxDiff, tolerance, mode, ok: maxDiff <= tolerance });

  const params = new Float32Array(layout.total);
  for (const view of layout.views) {
    const src = fx.params[view.name];
    if (!src) throw new Error(`fixture ${fx.name}: no parameter ${view.name}`);
    const values = f32(src);
    if (values.length !== view.size) throw new Error(`fixture ${fx.name}: ${view.name} has ${values.length} values, want ${view.size}`);
    params.set(values, view.offset);
  }
  await backend.setParams(params);
  const batch = {
    B: fx.B, T: fx.T,
    inputs: Int32Array.from(fx.inputs), targets: Int32Array.from(fx.targets), weights: f32(fx.weights),
  };

  line('logits', maxAbsDiff(await backend.forwardLogits(batch.inputs, fx.B, fx.T), f32(fx.logits)), 1e-4, 'abs');
  const { loss, perSeqLoss, grads } = await backend.gradients(batch);
  line('loss', Math.abs(loss - fx.loss), 1e-4, 'abs');
  line('perSeqLoss', maxAbsDiff(perSeqLoss, fx.perSeqLoss), 1e-4, 'abs');
  for (const view of layout.views) {
    line(`grad ${view.name}`, maxRelDiff(grads.subarray(view.offset, view.offset + view.size), f32(fx.grads[view.name]!)), 1e-3, 'rel');
  }

  const losses: number[] = [];
  const norms: number[] = [];
  for (let step = 0; step < fx.stepLosses.length; step++) {
    const r = await backend.trainStep(batch, stepHyperAt(step, optim), { loss: true, gradNorm: true });
    losses.push(r.loss!);
    norms.push(r.gradNorm!);
  }
  line(`${fx.stepLosses.length} AdamW step losses`, maxAbsDiff(losses, fx.stepLosses), 1e-4, 'abs');
  line('gradient norms (pre-clip)', maxRelDiff(norms, fx.gradNorms), 1e-3, 'rel');
  // Parameters after the steps. Adam divides by sqrt(v), so an element whose
  // true gradient is exactly zero (the key part of attn.c_attn.bias: softmax
  // ignores a constant added to every score) turns float rounding noise
  // (~1e-10) into lr-sized steps in both implementations, in random
  // directions. Those elements (|reference grad| < 1e-6 of the tensor's
  // largest) are left out of this one comparison; the step losses above
  // already cover them.
  const after = await backend.getParams();
  let worst = 0;
  let skipped = 0;
  for (const view of layout.views) {
    const ref = f32(fx.paramsAfter[view.name]!);
    const g0 = f32(fx.grads[view.name]!);
    let gmax = 0;
    let pmax = 0;
    for (let i = 0; i < view.size; i++) {
      gmax = Math.max(gmax, Math.abs(g0[i]!));
      pmax = Math.max(pmax, Math.abs(ref[i]!));
    }
    for (let i = 0; i < view.size; i++) {
      if (Math.abs(g0[i]!) < 1e-6 * gmax) {
        skipped++;
        continue;
      }
      worst = Math.max(worst, Math.abs(after[view.offset + i]! - ref[i]!) / (pmax || 1));
    }
  }
  line(`parameters after the steps (${skipped} zero-gradient elements left out)`, worst, 1e-3, 'rel');
  backend.dispose();
  return lines;
}
