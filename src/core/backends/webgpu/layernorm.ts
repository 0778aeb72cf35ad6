/**
 * LayerNorm kernels: y = (x − μ)·rstd·w + b with rstd = 1/sqrt(σ² + 1e-5)
 * (biased variance, as PyTorch), one 64-invocation workgroup per row.
 *
 * The backward is split in two so that no float is accumulated by more than
 * one invocation:
 *   rows:    dinp (N,C) (+)= rstd · (g − mean(g) − x̂ · mean(g·x̂)),  g = dout·w
 *   columns: dw (C) = Σₙ dout·x̂,  db (C) = Σₙ dout   (16 columns per workgroup)
 * `stats` holds mean (N) then rstd (N) of the forward pass.
 */
import { paramsStruct, WGSL_COMMON, wgslReduce } from './common';

const LN_EPS = '1e-5';

/** out (N,C), stats (2N) ← inp (N,C), weight and bias (C) at wOff/bOff in params. */
export const LAYERNORM_FORWARD_PARAMS = ['N', 'C', 'wOff', 'bOff'] as const;
export const LAYERNORM_FORWARD_WGSL = /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 64)}
${paramsStruct(LAYERNORM_FORWARD_PARAMS)}
@group(0) @binding(1) var<storage, read> inp: array<f32>;          // (N,C)
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // (N,C)
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;  // mean (N), rstd (N)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = linearGroup(wid, nwg);
  if (n >= p.N) { return; }
  let x = n * p.C;
  var s = 0.0;
  for (var c = li; c < p.C; c = c + 64u) { s = s + inp[x + c]; }
  let mean = redSum(li, s) / f32(p.C);
  var v = 0.0;
  for (var c = li; c < p.C; c = c + 64u) {
    let d = inp[x + c] - mean;
    v = v + d * d;
  }
  let rstd = 1.0 / sqrt(redSum(li, v) / f32(p.C) + ${LN_EPS});
  for (var c = li; c < p.C; c = c + 64u) {
    out[x + c] = (inp[x + c] - mean) * rstd * params[p.wOff + c] + params[p.bOff + c];
  }
  if (li == 0u) {
    stats[n] = mean;
    stats[p.N + n] = rstd;
  }
}
`;

/** dinp (N,C) = [dinp +] LN-backward(dout); `accumulate` 1 adds into dinp (the residual stream). */
export const LAYERNORM_BACKWARD_PARAMS = ['N', 'C', 'wOff', 'accumulate'] as const;
export const LAYERNORM_BACKWARD_WGSL = /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 64)}
${paramsStruct(LAYERNORM_BACKWARD_PARAMS)}
@group(0) @binding(1) var<storage, read> dout: array<f32>;         // (N,C)
@group(0) @binding(2) var<storage, read> inp: array<f32>;          // (N,C) the forward input
@group(0) @binding(3) var<storage, read> stats: array<f32>;        // mean (N), rstd (N)
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read_write> dinp: array<f32>;   // (N,C)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = linearGroup(wid, nwg);
  if (n >= p.N) { return; }
  let x = n * p.C;
  let mean = stats[n];
  let rstd = stats[p.N + n];
  var g = 0.0;
  var gx = 0.0;
  for (var c = li; c < p.C; c = c + 64u) {
    let xhat = (inp[x + c] - mean) * rstd;
    let gc = dout[x + c] * params[p.wOff + c];
    g = g + gc;
    gx = gx + gc * xhat;
  }
  let gMean = redSum(li, g) / f32(p.C);
  let gxMean = redSum(li, gx) / f32(p.C);
  for (var c = li; c < p.C; c = c + 64u) {
    let xhat = (inp[x + c] - mean) * rstd;
    let d = rstd * (dout[x + c] * params[p.wOff + c] - gMean - xhat * gxMean);
    if (p.accumulate != 0u) {
      dinp[x + c] = dinp[x + c] + d;
    } else {
      dinp[x + c] = d;
    }
  }
}
`;

/** grads[dwOff + c] = Σₙ dout·x̂, grads[dbOff + c] = Σₙ dout (overwrite). */
export const LAYERNORM_PARAM_GRADS_PARAMS = ['N', 'C', 'dwOff', 'dbOff'] as const;
export const LAYERNORM_PARAM_GRADS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(LAYERNORM_PARAM_GRADS_PARAMS)}
@group(0) @binding(1) var<storage, read> dout: array<f32>;         // (N,C)
@group(0) @binding(2) var<storage, read> inp: array<f32>;          // (N,C)
@group(0) @binding(3) var<storage, read> stats: array<f32>;        // mean (N), rstd (N)
@group(0) @binding(4) var<storage, read_write> grads: array<f32>;

// 16 columns × 16 row lanes; lane y sums rows y, y+16, … then a tree over lanes.
var<workgroup> redW: array<f32, 256>;
var<workgroup> redB: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * 16u + lid.x;
  var sw = 0.0;
  var sb = 0.0;
  if (c < p.C) {
    for (var n = lid.y; n < p.N; n = n + 16u) {
      let d = dout[n * p.C + c];
      sw = sw + d * (inp[n * p.C + c] - stats[n]) * stats[p.N + n];
      sb = sb + d;
    }
  }
  let k = lid.y * 16u + lid.x;
  redW[k] = sw;
  redB[k] = sb;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s = s >> 1u) {
    if (lid.y < s) {
      redW[k] = redW[k] + redW[k + s * 16u];
      redB[k] = redB[k] + redB[k + s * 16u];
    }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < p.C) {
    grads[p.dwOff + c] = redW[lid.x];
    grads[p.dbOff + c] = redB[lid.x];
  }
}
`;

// ---------------------------------------------------------------------------
// The blocked family (software adapters, see matmul.ts): one invocation per
// row (or per 4 columns), vec4 along C, no barriers. Same bindings and
// parameters as above; C and the offsets are multiples of 4.

/** One invocation per row; dispatch ⌈N/64⌉ workgroups (2-D split). */
export const LAYERNORM_FORWARD_ROWS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(LAYERNORM_FORWARD_PARAMS)}
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = linearGroup(wid, nwg) * 64u + li;
  if (n >= p.N) { return; }
  let C4 = p.C / 4u;
  let x = n * C4;
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < C4; c = c + 1u) { s = s + inp[x + c]; }
  let mean = (s.x + s.y + s.z + s.w) / f32(p.C);
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < C4; c = c + 1u) {
    let d = inp[x + c] - mean;
    v = v + d * d;
  }
  let rstd = 1.0 / sqrt((v.x + v.y + v.z + v.w) / f32(p.C) + ${LN_EPS});
  let w = p.wOff / 4u;
  let b = p.bOff / 4u;
  for (var c = 0u; c < C4; c = c + 1u) {
    out[x + c] = (inp[x + c] - mean) * rstd * params[w + c] + params[b + c];
  }
  stats[n] = mean;
  stats[p.N + n] = rstd;
}
`;

/** One invocation per row; dispatch ⌈N/64⌉ workgroups (2-D split). */
export const LAYERNORM_BACKWARD_ROWS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(LAYERNORM_BACKWARD_PARAMS)}
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dinp: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n = linearGroup(wid, nwg) * 64u + li;
  if (n >= p.N) { return; }
  let C4 = p.C / 4u;
  let x = n * C4;
  let w = p.wOff / 4u;
  let mean = stats[n];
  let rstd = stats[p.N + n];
  var g = vec4<f32>(0.0);
  var gx = vec4<f32>(0.0);
  for (var c = 0u; c < C4; c = c + 1u) {
    let xhat = (inp[x + c] - mean) * rstd;
    let gc = dout[x + c] * params[w + c];
    g = g + gc;
    gx = gx + gc * xhat;
  }
  let gMean = (g.x + g.y + g.z + g.w) / f32(p.C);
  let gxMean = (gx.x + gx.y + gx.z + gx.w) / f32(p.C);
  for (var c = 0u; c < C4; c = c + 1u) {
    let xhat = (inp[x + c] - mean) * rstd;
    let d = rstd * (dout[x + c] * params[w + c] - gMean - xhat * gxMean);
    if (p.accumulate != 0u) {
      dinp[x + c] = dinp[x + c] + d;
    } else {
      dinp[x + c] = d;
    }
  }
}
`;

/** One invocation per 4 columns, rows in increasing order; dispatch ⌈C/256⌉ workgroups. */
export const LAYERNORM_PARAM_GRADS_COLS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(LAYERNORM_PARAM_GRADS_PARAMS)}
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> grads: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let c = linearGroup(wid, nwg) * 64u + li;
  let C4 = p.C / 4u;
  if (c >= C4) { return; }
  var sw = vec4<f32>(0.0);
  var sb = vec4<f32>(0.0);
  for (var n = 0u; n < p.N; n = n + 1u) {
    let d = dout[n * C4 + c];
    sw = sw + d * (inp[n * C4 + c] - stats[n]) * stats[p.N + n];
    sb = sb + d;
  }
  grads[p.dwOff / 4u + c] = sw;
  grads[p.dbOff / 4u + c] = sb;
}
`;
