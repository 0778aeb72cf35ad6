/**
 * Weighted token cross-entropy, fused with softmax and (when training) with
 * its backward, one 256-invocation workgroup per row:
 *
 *   ce[n]        = log Σ_v exp(logits[n,v]) − logits[n, target[n]]
 *   dlogits[n,v] = w[n] · (softmax(logits[n])[v] − [v = target[n]])   (0 where w = 0)
 *
 * dlogits overwrite the logits in place (llm.c's trick: the (N,V) buffer is
 * the largest activation). Rows are Vp = ⌈V/4⌉·4 floats apart so the blocked
 * matmuls can load them as vec4; the backward writes 0 into the padding
 * columns V ≤ v < Vp (the matmuls that read dlogits rely on it).
 *
 * Two layouts of the same maths (see matmul.ts for the families): one
 * 256-invocation workgroup per row with tree reductions (tiled family), or
 * one invocation per row with plain loops (blocked family).
 *
 * Then `lossReduce` forms the per-sequence sums and
 * the total (zero weights skip their term, so an infinite ce under a zero
 * weight does not poison the loss, as in the CPU reference):
 *
 *   loss[1+b] = Σ_t w·ce,  loss[0] = Σ_b loss[1+b]
 */
import { paramsStruct, WGSL_COMMON, wgslReduce } from './common';

/** `backward` 1 also writes dlogits over the logits. Row stride Vp. */
export const CROSS_ENTROPY_PARAMS = ['N', 'V', 'Vp', 'backward'] as const;
export const CROSS_ENTROPY_WGSL = /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 256)}
${paramsStruct(CROSS_ENTROPY_PARAMS)}
@group(0) @binding(1) var<storage, read_write> logits: array<f32>; // (N,Vp), becomes dlogits
@group(0) @binding(2) var<storage, read> targets: array<i32>;      // (N)
@group(0) @binding(3) var<storage, read> weights: array<f32>;      // (N)
@group(0) @binding(4) var<storage, read_write> ce: array<f32>;     // (N)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = linearGroup(wid, nwg);
  if (n >= p.N) { return; }
  let x = n * p.Vp;
  let tgt = u32(targets[n]);
  let w = weights[n];
  let lt = logits[x + tgt];
  var mx = NEG_MAX;
  for (var v = li; v < p.V; v = v + 256u) { mx = max(mx, logits[x + v]); }
  mx = redMax(li, mx);
  var sum = 0.0;
  for (var v = li; v < p.V; v = v + 256u) { sum = sum + exp(logits[x + v] - mx); }
  sum = redSum(li, sum);
  if (li == 0u) { ce[n] = log(sum) + mx - lt; }
  if (p.backward == 0u) { return; }
  // Every invocation has read logits[x + tgt] above; order those reads before the writes.
  storageBarrier();
  let inv = 1.0 / sum;
  for (var v = li; v < p.Vp; v = v + 256u) {
    var d = 0.0;
    if (w != 0.0 && v < p.V) {
      d = w * exp(logits[x + v] - mx) * inv;
      if (v == tgt) { d = d - w; }
    }
    logits[x + v] = d;
  }
}
`;

/** One invocation per row; dispatch ⌈N/64⌉ workgroups (2-D split). Same bindings. */
export const CROSS_ENTROPY_ROWS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(CROSS_ENTROPY_PARAMS)}
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> ce: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = linearGroup(wid, nwg) * 64u + li;
  if (n >= p.N) { return; }
  let x = n * p.Vp;
  let tgt = u32(targets[n]);
  var mx = NEG_MAX;
  for (var v = 0u; v < p.V; v = v + 1u) { mx = max(mx, logits[x + v]); }
  var sum = 0.0;
  for (var v = 0u; v < p.V; v = v + 1u) { sum = sum + exp(logits[x + v] - mx); }
  ce[n] = log(sum) + mx - logits[x + tgt];
  if (p.backward == 0u) { return; }
  let w = weights[n];
  let inv = 1.0 / sum;
  for (var v = 0u; v < p.Vp; v = v + 1u) {
    var d = 0.0;
    if (w != 0.0 && v < p.V) {
      d = w * exp(logits[x + v] - mx) * inv;
      if (v == tgt) { d = d - w; }
    }
    logits[x + v] = d;
  }
}
`;

export const LOSS_REDUCE_PARAMS = ['B', 'T'] as const;
/** One workgroup. Bindings: 1 ce (B*T), 2 weights (B*T), 3 loss (1+B). */
export const LOSS_REDUCE_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(LOSS_REDUCE_PARAMS)}
@group(0) @binding(1) var<storage, read> ce: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) li: u32) {
  for (var b = li; b < p.B; b = b + 64u) {
    var s = 0.0;
    for (var t = 0u; t < p.T; t = t + 1u) {
      let w = weights[b * p.T + t];
      if (w != 0.0) { s = s + w * ce[b * p.T + t]; }
    }
    loss[1u + b] = s;
  }
  storageBarrier();
  workgroupBarrier();
  if (li == 0u) {
    var total = 0.0;
    for (var b = 0u; b < p.B; b = b + 1u) { total = total + loss[1u + b]; }
    loss[0] = total;
  }
}
`;
