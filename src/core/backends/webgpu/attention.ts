/**
 * Causal multi-head self-attention on packed qkv (B,T,3C): qkv[b,t,:] =
 * [q (C) | k (C) | v (C)], head h uses channels h*hs … (h+1)*hs, hs = C/NH.
 *
 *   forward    one 64-invocation workgroup per query row (b,h,t):
 *              scores over t2 ≤ t in workgroup memory, softmax by tree
 *              reductions, att row saved (B,NH,T,T) for backward, then
 *              out[b,t,h*hs+i] = Σ_{t2≤t} att·v (one invocation per i).
 *   backward   split by who owns the output, so nothing is accumulated by two
 *              invocations (deterministic, no atomics):
 *     query    per row (b,h,t): datt = dout·v, dpre = att·(datt − Σ att·datt)/sqrt(hs)
 *              (saved (B,NH,T,T)), dq_t = Σ_{t2} dpre·k_t2;
 *     key/val  per (b,t2,channel): dk_t2 = Σ_{t≥t2} dpre[t,t2]·q_t,
 *              dv_t2 = Σ_{t≥t2} att[t,t2]·dout_t.
 *
 * The tiled family's row kernels (above the line below) keep a row of T
 * floats in workgroup memory; `tmax` (the model's contextLength) is baked into
 * the shader, and `attentionWorkgroupBytes` (device.ts) is what the device
 * must allow. The blocked family (below) does the same sums per block of four
 * query rows, without workgroup memory.
 */
import { paramsStruct, WGSL_COMMON, wgslReduce } from './common';

export const ATTENTION_PARAMS = ['B', 'T', 'C', 'NH'] as const;

/** Bindings: 1 qkv (B,T,3C), 2 out (B,T,C), 3 att (B,NH,T,T). */
export function attentionForwardWgsl(tmax: number): string {
  return /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 64)}
${paramsStruct(ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> att: array<f32>;

var<workgroup> sc: array<f32, ${tmax}>; // this row's scores, then probabilities

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = linearGroup(wid, nwg); // (b*NH + h)*T + t
  if (row >= p.B * p.NH * p.T) { return; }
  let t = row % p.T;
  let h = (row / p.T) % p.NH;
  let b = row / (p.T * p.NH);
  let hs = p.C / p.NH;
  let C3 = 3u * p.C;
  let scale = 1.0 / sqrt(f32(hs));
  let q = (b * p.T + t) * C3 + h * hs;
  var mx = NEG_MAX;
  for (var t2 = li; t2 <= t; t2 = t2 + 64u) {
    let k = (b * p.T + t2) * C3 + p.C + h * hs;
    var s = 0.0;
    for (var i = 0u; i < hs; i = i + 1u) { s = s + qkv[q + i] * qkv[k + i]; }
    s = s * scale;
    sc[t2] = s;
    mx = max(mx, s);
  }
  mx = redMax(li, mx);
  var sum = 0.0;
  for (var t2 = li; t2 <= t; t2 = t2 + 64u) {
    let e = exp(sc[t2] - mx);
    sc[t2] = e;
    sum = sum + e;
  }
  let inv = 1.0 / redSum(li, sum);
  for (var t2 = li; t2 <= t; t2 = t2 + 64u) {
    let a = sc[t2] * inv;
    sc[t2] = a;
    att[row * p.T + t2] = a;
  }
  workgroupBarrier();
  let o = (b * p.T + t) * p.C + h * hs;
  for (var i = li; i < hs; i = i + 64u) {
    var s = 0.0;
    for (var t2 = 0u; t2 <= t; t2 = t2 + 1u) {
      s = s + sc[t2] * qkv[(b * p.T + t2) * C3 + 2u * p.C + h * hs + i];
    }
    out[o + i] = s;
  }
}
`;
}

/**
 * Bindings: 1 qkv, 2 att, 3 dout (B,T,C), 4 dqkv (B,T,3C) — writes the q part —
 * 5 dpre (B,NH,T,T).
 */
export function attentionBackwardQueryWgsl(tmax: number): string {
  return /* wgsl */ `
${WGSL_COMMON}
${wgslReduce('red', 64)}
${paramsStruct(ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<storage, read_write> dpre: array<f32>;

var<workgroup> da: array<f32, ${tmax}>; // datt, then dpre of this row

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = linearGroup(wid, nwg);
  if (row >= p.B * p.NH * p.T) { return; }
  let t = row % p.T;
  let h = (row / p.T) % p.NH;
  let b = row / (p.T * p.NH);
  let hs = p.C / p.NH;
  let C3 = 3u * p.C;
  let scale = 1.0 / sqrt(f32(hs));
  let o = (b * p.T + t) * p.C + h * hs;
  var dsum = 0.0;
  for (var t2 = li; t2 <= t; t2 = t2 + 64u) {
    let vv = (b * p.T + t2) * C3 + 2u * p.C + h * hs;
    var s = 0.0;
    for (var i = 0u; i < hs; i = i + 1u) { s = s + qkv[vv + i] * dout[o + i]; }
    da[t2] = s;
    dsum = dsum + att[row * p.T + t2] * s;
  }
  dsum = redSum(li, dsum);
  for (var t2 = li; t2 <= t; t2 = t2 + 64u) {
    let d = att[row * p.T + t2] * (da[t2] - dsum) * scale;
    da[t2] = d;
    dpre[row * p.T + t2] = d;
  }
  workgroupBarrier();
  let q = (b * p.T + t) * C3 + h * hs;
  for (var i = li; i < hs; i = i + 64u) {
    var s = 0.0;
    for (var t2 = 0u; t2 <= t; t2 = t2 + 1u) {
      s = s + da[t2] * qkv[(b * p.T + t2) * C3 + p.C + h * hs + i];
    }
    dqkv[q + i] = s;
  }
}
`;
}

/** One invocation per (b, t2, k-or-v channel). Bindings as the query kernel (dqkv: k and v parts). */
export const ATTENTION_BACKWARD_KV_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<storage, read> dpre: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let e = linearGroup(wid, nwg) * 64u + li; // over (B*T, 2C)
  if (e >= p.B * p.T * 2u * p.C) { return; }
  let n = e / (2u * p.C);          // b*T + t2
  let r = e % (2u * p.C);
  let isV = r >= p.C;
  let c = r % p.C;
  let hs = p.C / p.NH;
  let h = c / hs;
  let t2 = n % p.T;
  let b = n / p.T;
  let C3 = 3u * p.C;
  var s = 0.0;
  for (var t = t2; t < p.T; t = t + 1u) {
    let a = ((b * p.NH + h) * p.T + t) * p.T + t2;
    if (isV) {
      s = s + att[a] * dout[(b * p.T + t) * p.C + c];
    } else {
      s = s + dpre[a] * qkv[(b * p.T + t) * C3 + c];
    }
  }
  if (isV) {
    dqkv[n * C3 + 2u * p.C + c] = s;
  } else {
    dqkv[n * C3 + p.C + c] = s;
  }
}
`;

// ---------------------------------------------------------------------------
// The blocked family (software adapters, see matmul.ts): no barriers; one
// invocation per block of R = 4 consecutive query rows of one (b,h), so every
// key/value row loaded from memory serves four queries (loads, not
// arithmetic, bound these kernels on a CPU). The head loops are unrolled in
// the generated code so q, o, dq live in registers. Rows past T are clamped
// for loads and skipped for stores; the row's scores live in att/dpre.
// hs must be a multiple of 4. Same bindings and parameters as above.

const R = 4; // query rows per invocation
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const each = (n: number, f: (i: number) => string, sep = '\n') => range(n).map(f).join(sep);
const RC = ['x', 'y', 'z', 'w'];

/** Shared prologue: decode the invocation into (b, h, t0), the rows t0 … t0+3 (clamped to T−1). */
const ROW_BLOCK = /* wgsl */ `
  let nTB = (p.T + ${R - 1}u) / ${R}u;
  let id = linearGroup(wid, nwg) * 64u + li;
  if (id >= p.B * p.NH * nTB) { return; }
  let t0 = (id % nTB) * ${R}u;
  let bh = id / nTB; // b*NH + h
  let h = bh % p.NH;
  let b = bh / p.NH;
  let C4 = p.C / 4u;
  let tLast = min(t0 + ${R - 1}u, p.T - 1u);
  let rows = vec4<u32>(t0, t0 + 1u, t0 + 2u, t0 + 3u);
  let valid = rows < vec4<u32>(p.T);
  let scale = 1.0 / sqrt(f32(4u * HS4));
${each(R, (r) => `  let a${r} = (bh * p.T + min(t0 + ${r}u, p.T - 1u)) * p.T; // att row of query ${r}`)}
`;

/** One invocation per (b, h, 4 query rows); dispatch ⌈B·NH·⌈T/4⌉/64⌉ workgroups. */
export function attentionForwardRowsWgsl(hs: number): string {
  const HS4 = hs / 4;
  return /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> att: array<f32>;

const HS4 = ${HS4}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
${ROW_BLOCK}
${each(R, (r) => `  let qr${r} = (b * p.T + min(t0 + ${r}u, p.T - 1u)) * 3u * C4 + h * HS4;`)}
${each(R, (r) => each(HS4, (i) => `  let q${r}_${i} = qkv[qr${r} + ${i}u];`))}
  // Scores s = q·k/sqrt(hs) for t2 ≤ t, and the running row maxima (component r = row r).
  var mx = vec4<f32>(NEG_MAX);
  for (var t2 = 0u; t2 <= tLast; t2 = t2 + 1u) {
    let k = (b * p.T + t2) * 3u * C4 + C4 + h * HS4;
${each(HS4, (i) => `    let k${i} = qkv[k + ${i}u];`)}
    let s = vec4<f32>(${each(R, (r) => each(HS4, (i) => `dot(q${r}_${i}, k${i})`, ' + '), ', ')}) * scale;
    let live = valid & (vec4<u32>(t2) <= rows);
    mx = select(mx, max(mx, s), live);
${each(R, (r) => `    if (live.${RC[r]}) { att[a${r} + t2] = s.${RC[r]}; }`)}
  }
  var sum = vec4<f32>(0.0);
  for (var t2 = 0u; t2 <= tLast; t2 = t2 + 1u) {
    let live = valid & (vec4<u32>(t2) <= rows);
${each(R, (r) => `    if (live.${RC[r]}) { let e = exp(att[a${r} + t2] - mx.${RC[r]}); att[a${r} + t2] = e; sum.${RC[r]} = sum.${RC[r]} + e; }`)}
  }
  let inv = 1.0 / select(vec4<f32>(1.0), sum, valid);
${each(R, (r) => each(HS4, (i) => `  var o${r}_${i} = vec4<f32>(0.0);`))}
  for (var t2 = 0u; t2 <= tLast; t2 = t2 + 1u) {
    let live = valid & (vec4<u32>(t2) <= rows);
    var w = vec4<f32>(0.0);
${each(R, (r) => `    if (live.${RC[r]}) { w.${RC[r]} = att[a${r} + t2] * inv.${RC[r]}; att[a${r} + t2] = w.${RC[r]}; }`)}
    let v = (b * p.T + t2) * 3u * C4 + 2u * C4 + h * HS4;
${each(HS4, (i) => `    let v${i} = qkv[v + ${i}u];`)}
${each(R, (r) => each(HS4, (i) => `    o${r}_${i} = o${r}_${i} + w.${RC[r]} * v${i};`))}
  }
${each(R, (r) => `  if (valid.${RC[r]}) {
    let orow = (b * p.T + t0 + ${r}u) * C4 + h * HS4;
${each(HS4, (i) => `    out[orow + ${i}u] = o${r}_${i};`)}
  }`)}
}
`;
}

/** One invocation per (b, h, 4 query rows); dispatch ⌈B·NH·⌈T/4⌉/64⌉ workgroups. dpre holds datt until overwritten. */
export function attentionBackwardQueryRowsWgsl(hs: number): string {
  const HS4 = hs / 4;
  return /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dpre: array<f32>;

const HS4 = ${HS4}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
${ROW_BLOCK}
${each(R, (r) => `  let gr${r} = (b * p.T + min(t0 + ${r}u, p.T - 1u)) * C4 + h * HS4;`)}
${each(R, (r) => each(HS4, (i) => `  let g${r}_${i} = dout[gr${r} + ${i}u];`))}
  // datt = dout·v (kept in dpre for now) and Σ att·datt per row.
  var dsum = vec4<f32>(0.0);
  for (var t2 = 0u; t2 <= tLast; t2 = t2 + 1u) {
    let v = (b * p.T + t2) * 3u * C4 + 2u * C4 + h * HS4;
${each(HS4, (i) => `    let v${i} = qkv[v + ${i}u];`)}
    let s = vec4<f32>(${each(R, (r) => each(HS4, (i) => `dot(v${i}, g${r}_${i})`, ' + '), ', ')});
    let live = valid & (vec4<u32>(t2) <= rows);
${each(R, (r) => `    if (live.${RC[r]}) { dpre[a${r} + t2] = s.${RC[r]}; dsum.${RC[r]} = dsum.${RC[r]} + att[a${r} + t2] * s.${RC[r]}; }`)}
  }
  // dpre = att·(datt − Σ att·datt)/sqrt(hs); dq = Σ dpre·k.
${each(R, (r) => each(HS4, (i) => `  var dq${r}_${i} = vec4<f32>(0.0);`))}
  for (var t2 = 0u; t2 <= tLast; t2 = t2 + 1u) {
    let live = valid & (vec4<u32>(t2) <= rows);
    var d = vec4<f32>(0.0);
${each(R, (r) => `    if (live.${RC[r]}) { d.${RC[r]} = att[a${r} + t2] * (dpre[a${r} + t2] - dsum.${RC[r]}) * scale; dpre[a${r} + t2] = d.${RC[r]}; }`)}
    let k = (b * p.T + t2) * 3u * C4 + C4 + h * HS4;
${each(HS4, (i) => `    let k${i} = qkv[k + ${i}u];`)}
${each(R, (r) => each(HS4, (i) => `    dq${r}_${i} = dq${r}_${i} + d.${RC[r]} * k${i};`))}
  }
${each(R, (r) => `  if (valid.${RC[r]}) {
    let qrow = (b * p.T + t0 + ${r}u) * 3u * C4 + h * HS4;
${each(HS4, (i) => `    dqkv[qrow + ${i}u] = dq${r}_${i};`)}
  }`)}
}
`;
}

/**
 * One invocation per (b, 4 key rows t2, 4 channels): dk and dv of those rows,
 * each q_t / dout_t loaded once for the four. Dispatch ⌈B·⌈T/4⌉·C/4/64⌉ workgroups.
 */
export const ATTENTION_BACKWARD_KV_ROWS_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dpre: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let C4 = p.C / 4u;
  let nTB = (p.T + ${R - 1}u) / ${R}u;
  let e = linearGroup(wid, nwg) * 64u + li; // over (B, ⌈T/4⌉, C/4)
  if (e >= p.B * nTB * C4) { return; }
  let c4 = e % C4;
  let s0 = ((e / C4) % nTB) * ${R}u; // first key row of the block
  let b = e / (C4 * nTB);
  let h = c4 / (C4 / p.NH);
  let keys = vec4<u32>(s0, s0 + 1u, s0 + 2u, s0 + 3u);
  let valid = keys < vec4<u32>(p.T);
${each(R, (r) => `  var dk${r} = vec4<f32>(0.0); var dv${r} = vec4<f32>(0.0);`)}
  for (var t = s0; t < p.T; t = t + 1u) {
    let qv = qkv[(b * p.T + t) * 3u * C4 + c4];
    let gv = dout[(b * p.T + t) * C4 + c4];
    let arow = ((b * p.NH + h) * p.T + t) * p.T;
    let live = valid & (keys <= vec4<u32>(t));
${each(R, (r) => `    if (live.${RC[r]}) { dk${r} = dk${r} + dpre[arow + s0 + ${r}u] * qv; dv${r} = dv${r} + att[arow + s0 + ${r}u] * gv; }`)}
  }
${each(R, (r) => `  if (valid.${RC[r]}) {
    let n = b * p.T + s0 + ${r}u;
    dqkv[n * 3u * C4 + C4 + c4] = dk${r};
    dqkv[n * 3u * C4 + 2u * C4 + c4] = dv${r};
  }`)}
}
`;
