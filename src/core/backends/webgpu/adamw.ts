/**
 * The optimizer end of a training step, all on the GPU with no readback:
 *
 *   1. gradNormPartials  Σ g² over fixed slices of the gradient (one float per workgroup)
 *   2. gradNormFinal     ‖g‖₂ = sqrt(Σ partials); the NaN/Inf guard; the clip scale
 *                        min(1, clip/(‖g‖ + 1e-6)) as torch's clip_grad_norm_
 *   3. adamw             the update of `optim.ts` (decoupled decay only where the
 *                        view decays, read from a bit mask), skipped when flagged
 *
 * The guard lives in the `status` buffer (STATUS_*): when the loss or the norm
 * is not finite, step t is recorded as failed and every later step skips its
 * update until the host reads the flag, throws NonFiniteError and clears it.
 * So the parameters stay those of the last good step, whenever the caller
 * next looks.
 *
 * The norm is summed in f32 (a fixed tree, so deterministic); the CPU sums in
 * double. A gradient with ‖g‖ above ~1.8e19 overflows Σ g² and counts as
 * non-finite here.
 */
import { paramsStruct, WGSL_COMMON, wgslReduce } from './common';

/** Bytes of the status buffer; float/word indices below. */
export const STATUS_BYTES = 32;
export const STATUS_NORM = 0; // f32 ‖g‖₂ of the last step
export const STATUS_SCALE = 1; // f32 clip factor applied to g
export const STATUS_SKIP = 2; // u32 1 while a failure is flagged
export const STATUS_FAIL_STEP = 3; // u32 Adam t of the first failed step, 0 if none
export const STATUS_FAIL_WHAT = 4; // u32 1 the loss, 2 the gradient

/** Per-step hyperparameters, written with queue.writeBuffer before each step. */
export const HYPER_BYTES = 48;
export function packHyper(h: {
  lr: number; weightDecay: number; beta1: number; beta2: number; eps: number; gradClip: number;
}, t: number): ArrayBuffer {
  const buf = new ArrayBuffer(HYPER_BYTES);
  const f = new Float32Array(buf);
  f[0] = h.lr;
  f[1] = 1 - h.lr * h.weightDecay; // decoupled decay factor, formed in double like optim.ts
  f[2] = h.beta1;
  f[3] = h.beta2;
  f[4] = h.eps;
  f[5] = h.gradClip;
  f[6] = 1 - Math.pow(h.beta1, t); // bias corrections
  f[7] = 1 - Math.pow(h.beta2, t);
  new Uint32Array(buf)[8] = t;
  return buf;
}

const HYPER_STRUCT = /* wgsl */ `
struct Hyper {
  lr: f32, decay: f32, beta1: f32, beta2: f32, eps: f32, gradClip: f32,
  bc1: f32, bc2: f32, t: u32,
}
struct Status { norm: f32, scale: f32, skip: u32, failStep: u32, failWhat: u32 }
`;

/** Workgroups of the first norm stage for P floats (fixed per P, so the sum order is too). */
export function normPartialCount(P: number): number {
  return Math.max(1, Math.min(256, Math.ceil(P / (256 * 16))));
}

export const GRAD_NORM_PARTIALS_PARAMS = ['P', 'parts'] as const;
/** Bindings: 1 grads (P), 2 partials (parts). Dispatch `parts` workgroups. */
export const GRAD_NORM_PARTIALS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 256)}
${paramsStruct(GRAD_NORM_PARTIALS_PARAMS)}
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  let stride = p.parts * 256u;
  for (var i = wid.x * 256u + li; i < p.P; i = i + stride) {
    let g = grads[i];
    s = s + g * g;
  }
  s = redSum(li, s);
  if (li == 0u) { partials[wid.x] = s; }
}
`;

export const GRAD_NORM_CHUNKS_PARAMS = ['P', 'parts', 'chunk'] as const;
/**
 * The blocked family's first stage (software adapters, see matmul.ts): no
 * barriers; invocation j sums g² over [j·chunk, (j+1)·chunk) with vec4 loads
 * (P and chunk multiples of 4). Bindings as gradNormPartials; dispatch ⌈parts/64⌉.
 */
export const GRAD_NORM_CHUNKS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(GRAD_NORM_CHUNKS_PARAMS)}
@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = wid.x * 64u + li;
  if (j >= p.parts) { return; }
  let end = min((j + 1u) * p.chunk, p.P) / 4u;
  var s = vec4<f32>(0.0);
  for (var i = j * p.chunk / 4u; i < end; i = i + 1u) {
    let g = grads[i];
    s = s + g * g;
  }
  partials[j] = (s.x + s.y) + (s.z + s.w);
}
`;

export const GRAD_NORM_FINAL_PARAMS = ['parts'] as const;
/** One workgroup. Bindings: 1 partials, 2 loss (loss[0]), 3 status, 4 hyper. */
export const GRAD_NORM_FINAL_WGSL = /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 256)}
${HYPER_STRUCT}
${paramsStruct(GRAD_NORM_FINAL_PARAMS)}
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> status: Status;
@group(0) @binding(4) var<uniform> hyper: Hyper;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < p.parts; i = i + 256u) { s = s + partials[i]; }
  s = redSum(li, s);
  if (li != 0u) { return; }
  let norm = sqrt(s);
  let lossOk = isFiniteF32(loss[0]);
  let normOk = isFiniteF32(norm);
  if (status.failStep == 0u && !(lossOk && normOk)) {
    status.failStep = hyper.t;
    status.failWhat = select(2u, 1u, !lossOk);
  }
  status.skip = select(0u, 1u, status.failStep != 0u);
  var scale = 1.0;
  if (hyper.gradClip > 0.0) { scale = min(1.0, hyper.gradClip / (norm + 1e-6)); }
  status.norm = norm;
  status.scale = scale;
}
`;

export const ADAMW_PARAMS = ['P'] as const;
/**
 * One invocation per parameter. Bindings: 1 params, 2 grads, 3 m, 4 v,
 * 5 decayMask (1 bit per parameter), 6 status, 7 hyper.
 */
export const ADAMW_WGSL = /* wgsl */ `
${WGSL_COMMON}
${HYPER_STRUCT}
${paramsStruct(ADAMW_PARAMS)}
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> decayMask: array<u32>;
@group(0) @binding(6) var<storage, read> status: Status;
@group(0) @binding(7) var<uniform> hyper: Hyper;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wid, nwg) * 256u + li;
  if (i >= p.P || status.skip != 0u) { return; }
  let g = grads[i] * status.scale;
  let mi = hyper.beta1 * m[i] + (1.0 - hyper.beta1) * g;
  let vi = hyper.beta2 * v[i] + (1.0 - hyper.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let decays = ((decayMask[i >> 5u] >> (i & 31u)) & 1u) == 1u;
  let d = select(1.0, hyper.decay, decays);
  params[i] = params[i] * d - (hyper.lr * (mi / hyper.bc1)) / (sqrt(vi / hyper.bc2) + hyper.eps);
}
`;

/** The decay mask of a layout: bit i set when parameter i is in a view with decay. */
export function decayMask(views: readonly { offset: number; size: number; decay: boolean }[], total: number): Uint32Array {
  const mask = new Uint32Array(Math.ceil(total / 32) || 1);
  for (const view of views) {
    if (!view.decay) continue;
    for (let i = view.offset; i < view.offset + view.size; i++) mask[i >>> 5] = mask[i >>> 5]! | (1 << (i & 31));
  }
  return mask;
}
