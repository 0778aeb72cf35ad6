/**
 * Embedding kernels: token + position lookup, its backward into wte and wpe,
 * and the row gather the sampler's head uses.
 *
 * The wte backward needs Σ over all rows n with inp[n] = v, which a thread per
 * row could only do with float atomics (non-deterministic order). Instead the
 * host, which wrote the token ids anyway, uploads them bucketed by id
 * (`encoderBuckets`): each thread owns one (id, channel) and adds its rows in
 * increasing n — the same order as the CPU reference.
 */
import { paramsStruct, WGSL_COMMON } from './common';

/** out (N,C) = wte[inp[n]] + wpe[n mod T]; params holds wte (V,C) and wpe (maxT,C). */
export const ENCODER_FORWARD_PARAMS = ['N', 'T', 'C', 'wteOff', 'wpeOff'] as const;
export const ENCODER_FORWARD_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ENCODER_FORWARD_PARAMS)}
@group(0) @binding(1) var<storage, read> inp: array<i32>;          // (N)
@group(0) @binding(2) var<storage, read> params: array<f32>;       // flat parameters
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // (N,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wid, nwg) * 256u + li;
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let c = i % p.C;
  let t = n % p.T;
  out[i] = params[p.wteOff + u32(inp[n]) * p.C + c] + params[p.wpeOff + t * p.C + c];
}
`;

/** out (B,C) = src[(b*T + pos[b]), :] for src (B,T,C): the rows the sampler needs. */
export const GATHER_ROWS_PARAMS = ['B', 'T', 'C'] as const;
export const GATHER_ROWS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(GATHER_ROWS_PARAMS)}
@group(0) @binding(1) var<storage, read> pos: array<i32>;          // (B)
@group(0) @binding(2) var<storage, read> src: array<f32>;          // (B,T,C)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // (B,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wid, nwg) * 256u + li;
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  out[i] = src[(b * p.T + u32(pos[b])) * p.C + c];
}
`;

/**
 * dwte[v,:] += Σ_{n: inp[n]=v} dout[n,:], accumulating onto the head's gradient
 * already in `grads`. `buckets` is the u32 layout written by `encoderBuckets`:
 * [U, ids (maxU), starts (maxU+1), rows (N)].
 */
export const ENCODER_BACKWARD_WTE_PARAMS = ['maxU', 'C', 'wteOff'] as const;
export const ENCODER_BACKWARD_WTE_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ENCODER_BACKWARD_WTE_PARAMS)}
@group(0) @binding(1) var<storage, read> buckets: array<u32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;         // (N,C)
@group(0) @binding(3) var<storage, read_write> grads: array<f32>;  // flat gradients

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wid, nwg) * 256u + li;
  let u = i / p.C;
  let c = i % p.C;
  if (u >= p.maxU || u >= buckets[0]) { return; }
  let v = buckets[1u + u];
  let start = buckets[1u + p.maxU + u];
  let end = buckets[2u + p.maxU + u];
  let rows = 2u + 2u * p.maxU;
  let g = p.wteOff + v * p.C + c;
  var s = grads[g];
  for (var j = start; j < end; j = j + 1u) {
    s = s + dout[buckets[rows + j] * p.C + c];
  }
  grads[g] = s;
}
`;

/** dwpe[t,:] = Σ_b dout[b,t,:] for t < T, 0 for T ≤ t < maxT (overwrites). */
export const ENCODER_BACKWARD_WPE_PARAMS = ['B', 'T', 'maxT', 'C', 'wpeOff'] as const;
export const ENCODER_BACKWARD_WPE_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ENCODER_BACKWARD_WPE_PARAMS)}
@group(0) @binding(1) var<storage, read> dout: array<f32>;         // (B,T,C)
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;  // flat gradients

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wid, nwg) * 256u + li;
  if (i >= p.maxT * p.C) { return; }
  let t = i / p.C;
  let c = i % p.C;
  var s = 0.0;
  if (t < p.T) {
    for (var b = 0u; b < p.B; b = b + 1u) {
      s = s + dout[(b * p.T + t) * p.C + c];
    }
  }
  grads[p.wpeOff + i] = s;
}
`;

/** Host-side scratch for `encoderBuckets`, reused between steps. */
export interface BucketScratch {
  counts: Uint32Array; // (V)
  cursor: Uint32Array; // (V)
  packed: Uint32Array; // [U, ids (maxU), starts (maxU+1), rows (N)]
}

/** Words of the bucket buffer for N rows and a vocabulary of V. */
export function bucketWords(N: number, V: number): number {
  const maxU = Math.min(N, V);
  return 2 + 2 * maxU + N;
}

export function makeBucketScratch(N: number, V: number): BucketScratch {
  return { counts: new Uint32Array(V), cursor: new Uint32Array(V), packed: new Uint32Array(bucketWords(N, V)) };
}

/**
 * Counting sort of the rows by token id (O(N + V)): the distinct ids in
 * increasing order, where each id's rows start, and the rows, each bucket in
 * increasing n. Returns `scratch.packed`.
 */
export function encoderBuckets(inputs: Int32Array, N: number, V: number, scratch: BucketScratch): Uint32Array {
  const { counts, cursor, packed } = scratch;
  const maxU = Math.min(N, V);
  counts.fill(0);
  for (let n = 0; n < N; n++) {
    const v = inputs[n]!;
    counts[v] = counts[v]! + 1;
  }
  let u = 0;
  let acc = 0;
  for (let v = 0; v < V; v++) {
    const k = counts[v]!;
    if (k === 0) continue;
    packed[1 + u] = v;
    packed[1 + maxU + u] = acc;
    cursor[v] = acc;
    acc += k;
    u++;
  }
  packed[0] = u;
  packed[1 + maxU + u] = acc;
  const rows = 2 + 2 * maxU;
  for (let n = 0; n < N; n++) {
    const v = inputs[n]!;
    const at = cursor[v]!;
    packed[rows + at] = n;
    cursor[v] = at + 1;
  }
  return packed;
}
