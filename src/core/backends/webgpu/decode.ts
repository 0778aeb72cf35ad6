/**
 * Kernels of the GPU-resident decoder (WebGpuBackend.generateOnDevice and
 * createDecoder): a KV cache per layer, one position per row per step, and
 * sampling on the device, so that only token ids are read back.
 *
 * The matmuls and LayerNorms of a decode step are the training kernels run
 * on M = B rows; this file adds what a single position needs:
 *   decodeEmbedLn   x = wte[token] + wpe[pos], and the first LayerNorm of x
 *   decodeAttention k, v of the new position into the cache, then causal attention over it
 *   kvFromQkv       the prefill's k, v (B,T,3C) into the cache (B,maxT,C)
 *   sample          greedy / temperature / top-k / top-p with core/sample.ts's rule
 *                   and Threefry draws (core/rng.ts), then the stop rule
 *
 * Row state (`Row`, one per batch row) lives on the device: the token to feed
 * and its position, the tokens emitted so far, the draw counter, and why the
 * row stopped. The sampler writes it, the next step's kernels read it.
 */
import { paramsStruct, WGSL_COMMON } from './common';

/** u32 words per row of the state buffer (the WGSL `Row`). */
export const ROW_WORDS = 8;
/** Word offsets of `Row`. */
export const ROW = { token: 0, pos: 1, count: 2, live: 3, draws: 4, len: 5, reason: 6 } as const;
/** Row.reason: why a row stopped (0 while active or never started). */
export const STOP_REASON = { none: 0, stop: 1, length: 2, context: 3 } as const;

const ROW_STRUCT = /* wgsl */ `
struct Row {
  token: u32,   // the token fed at pos in the next step
  pos: u32,     // its position
  count: u32,   // tokens emitted so far
  live: u32,    // 1 while the row generates
  draws: u32,   // Threefry counter: uniforms drawn so far
  len: u32,     // prompt length
  reason: u32,  // STOP_REASON once stopped
  pad: u32,
}
`;

/** x (B,C) = wte[token] + wpe[pos], ln (B,C) = LayerNorm(x) with (w, b) at lnwOff/lnbOff; rows with live = 0 are skipped. */
export const DECODE_EMBED_LN_PARAMS = ['B', 'C', 'wteOff', 'wpeOff', 'lnwOff', 'lnbOff'] as const;
export const DECODE_EMBED_LN_WGSL = /* wgsl */ `
${WGSL_COMMON}
${ROW_STRUCT}
${paramsStruct(DECODE_EMBED_LN_PARAMS)}
@group(0) @binding(1) var<storage, read> rows: array<Row>;         // (B)
@group(0) @binding(2) var<storage, read> params: array<f32>;       // flat parameters
@group(0) @binding(3) var<storage, read_write> x: array<f32>;      // (B,C) residual stream
@group(0) @binding(4) var<storage, read_write> ln: array<f32>;     // (B,C)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let b = linearGroup(wid, nwg) * 64u + li;
  if (b >= p.B || rows[b].live == 0u) { return; }
  let o = b * p.C;
  let te = p.wteOff + rows[b].token * p.C;
  let pe = p.wpeOff + rows[b].pos * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c = c + 1u) {
    let v = params[te + c] + params[pe + c];
    x[o + c] = v;
    s = s + v;
  }
  let mean = s / f32(p.C);
  var q = 0.0;
  for (var c = 0u; c < p.C; c = c + 1u) {
    let d = x[o + c] - mean;
    q = q + d * d;
  }
  let rstd = 1.0 / sqrt(q / f32(p.C) + 1e-5);
  for (var c = 0u; c < p.C; c = c + 1u) {
    ln[o + c] = (x[o + c] - mean) * rstd * params[p.lnwOff + c] + params[p.lnbOff + c];
  }
}
`;

/**
 * One invocation per (row b, head h): k and v of the new position (qkv's
 * second and third thirds) into the caches at (b, pos), then
 * out[b, h·hs …] = Σ_{t ≤ pos} softmax_t(q·k_t / sqrt(hs)) · v_t
 * (attentionDecode of gpt/layers.ts). `hs` and the context `maxT` are baked in.
 */
export const DECODE_ATTENTION_PARAMS = ['B', 'C', 'NH', 'maxT'] as const;
export function decodeAttentionWgsl(hs: number, maxT: number): string {
  return /* wgsl */ `
${WGSL_COMMON}
${ROW_STRUCT}
${paramsStruct(DECODE_ATTENTION_PARAMS)}
@group(0) @binding(1) var<storage, read> rows: array<Row>;         // (B)
@group(0) @binding(2) var<storage, read> qkv: array<f32>;          // (B,3C)
@group(0) @binding(3) var<storage, read_write> kc: array<f32>;     // (B,maxT,C)
@group(0) @binding(4) var<storage, read_write> vc: array<f32>;     // (B,maxT,C)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;    // (B,C)

const HS = ${hs}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let id = linearGroup(wid, nwg) * 64u + li;
  let b = id / p.NH;
  let h = id % p.NH;
  if (b >= p.B || rows[b].live == 0u) { return; }
  let t = rows[b].pos;
  let q = b * 3u * p.C + h * HS;
  let base = b * p.maxT * p.C + h * HS;
  for (var i = 0u; i < HS; i = i + 1u) {
    kc[base + t * p.C + i] = qkv[q + p.C + i];
    vc[base + t * p.C + i] = qkv[q + 2u * p.C + i];
  }
  let scale = 1.0 / sqrt(f32(HS));
  var att: array<f32, ${maxT}>;
  var mx = NEG_MAX;
  for (var t2 = 0u; t2 <= t; t2 = t2 + 1u) {
    var s = 0.0;
    for (var i = 0u; i < HS; i = i + 1u) { s = s + qkv[q + i] * kc[base + t2 * p.C + i]; }
    s = s * scale;
    att[t2] = s;
    mx = max(mx, s);
  }
  var sum = 0.0;
  for (var t2 = 0u; t2 <= t; t2 = t2 + 1u) {
    let e = exp(att[t2] - mx);
    att[t2] = e;
    sum = sum + e;
  }
  let inv = 1.0 / sum;
  let o = b * p.C + h * HS;
  for (var i = 0u; i < HS; i = i + 1u) {
    var s = 0.0;
    for (var t2 = 0u; t2 <= t; t2 = t2 + 1u) { s = s + att[t2] * inv * vc[base + t2 * p.C + i]; }
    out[o + i] = s;
  }
}
`;
}

/** kc, vc (B,maxT,C) at positions t < T ← the k and v thirds of qkv (B,T,3C); one invocation per (b,t,c). */
export const KV_FROM_QKV_PARAMS = ['B', 'T', 'C', 'maxT'] as const;
export const KV_FROM_QKV_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(KV_FROM_QKV_PARAMS)}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;          // (B,T,3C)
@group(0) @binding(2) var<storage, read_write> kc: array<f32>;     // (B,maxT,C)
@group(0) @binding(3) var<storage, read_write> vc: array<f32>;     // (B,maxT,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = linearGroup(wid, nwg) * 256u + li;
  if (i >= p.B * p.T * p.C) { return; }
  let c = i % p.C;
  let n = i / p.C; // b*T + t
  let t = n % p.T;
  let b = n / p.T;
  let at = (b * p.maxT + t) * p.C + c;
  kc[at] = qkv[n * 3u * p.C + p.C + c];
  vc[at] = qkv[n * 3u * p.C + 2u * p.C + c];
}
`;

/**
 * Threefry-2x32-20 in WGSL, the rounds unrolled from the same constants as
 * `threefry2x32` in core/rng.ts (tested against it bit for bit).
 */
export function threefryWgsl(): string {
  const rot = [[13, 15, 26, 6], [17, 29, 16, 24]] as const;
  const body: string[] = [];
  for (let g = 0; g < 5; g++) {
    for (const r of rot[g % 2]!) body.push(`  a = a + b; b = (b << ${r}u) | (b >> ${32 - r}u); b = b ^ a;`);
    const s = g + 1;
    body.push(`  a = a + ks${s % 3}; b = b + ks${(s + 1) % 3} + ${s}u;`);
  }
  return /* wgsl */ `
fn threefry2x32(k0: u32, k1: u32, x0: u32, x1: u32) -> vec2<u32> {
  let ks0 = k0;
  let ks1 = k1;
  let ks2 = 0x1bd11bdau ^ k0 ^ k1;
  var a = x0 + ks0;
  var b = x1 + ks1;
${body.join('\n')}
  return vec2<u32>(a, b);
}
`;
}

/** Static sampler shapes; the per-call settings are the `Settings` uniform (packSettings). */
export const SAMPLE_PARAMS = ['B', 'V', 'ld', 'outStride', 'maxT'] as const;
/** Bytes of the Settings uniform. */
export const SETTINGS_BYTES = 16;

/** The Settings uniform of one generate call: maxNewTokens, temperature, topK, topP. */
export function packSettings(s: { maxNewTokens: number; temperature: number; topK: number; topP: number }): ArrayBuffer {
  const buf = new ArrayBuffer(SETTINGS_BYTES);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  u[0] = s.maxNewTokens;
  f[1] = s.temperature;
  u[2] = s.topK;
  f[3] = s.topP;
  return buf;
}

/** Histogram bins of one refinement pass of the sampler's threshold search. */
const BINS = 64;

/**
 * One invocation per row: choose the next token from logits (B, ld) by the
 * rule of `sampleToken` (core/sample.ts), then apply `appendToken`'s stop rule.
 *
 *   temperature 0   argmax, lowest id on ties (no draw);
 *   otherwise       w = exp((l − max)/temperature); one uniform u from the
 *                   row's stream (Threefry block `draws` of the row key, the
 *                   two words as Rng.uniform takes them);
 *     no top-k/p    inverse CDF in id order: the first v with Σ_{≤v} w > u·Σw;
 *     top-k, top-p  tokens in order of logit, descending, ties by id: keep the
 *                   first k, then the shortest prefix holding topP of their
 *                   mass, and take the first whose running sum passes u times
 *                   the kept mass.
 *
 * The sorted order is never built. Every cut ("the k-th token", "the end of
 * the nucleus", "the token the draw lands on") is the first token in that
 * order at which a running sum of f (1 for counts, w for mass) reaches a
 * goal, and is found by refining an interval of order keys (the float's
 * bits, mapped so that unsigned order is float order) through 64-bin
 * histograms, 6 bits per pass, then walking the tied key in id order: about
 * six passes over the row per cut, whatever the size of the nucleus. Sums are
 * f32 in a fixed order (the CPU sums in f64), so a draw can differ from the
 * CPU's only when u lands within rounding of a boundary.
 *
 * The stop rule then mirrors appendToken: the token is written to out[b, count];
 * a stop token ends the row ('stop'), else the budget ('length'), else the
 * context ('context'); otherwise it is fed at position len + count − 1 next step.
 */
export function sampleWgsl(): string {
  return /* wgsl */ `
${WGSL_COMMON}
${ROW_STRUCT}
${threefryWgsl()}
${paramsStruct(SAMPLE_PARAMS)}
struct Settings { maxNew: u32, temperature: f32, topK: u32, topP: f32 }
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // (B,ld)
@group(0) @binding(2) var<storage, read_write> rows: array<Row>;   // (B)
@group(0) @binding(3) var<storage, read> keys: array<u32>;         // (B,2) Threefry key of each row
@group(0) @binding(4) var<storage, read> stops: array<u32>;        // (⌈V/32⌉) stop-token bit set
@group(0) @binding(5) var<storage, read_write> out: array<u32>;    // (B,outStride) emitted tokens
@group(0) @binding(6) var<storage, read_write> w: array<f32>;      // (B,ld) scratch: unnormalised probabilities
@group(0) @binding(7) var<uniform> s: Settings;

const BINS = ${BINS}u;
const ALL_ID = 0xffffffffu;

// Unsigned order of the result = float order of x (negative floats: all bits flipped; −0 = +0).
fn orderKey(x: f32) -> u32 {
  if (x == 0.0) { return 0x80000000u; }
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

// A token belongs to the set that ends at (cutKey, cutId) in the sorted order.
fn inSet(k: u32, v: u32, cutKey: u32, cutId: u32) -> bool {
  return k > cutKey || (k == cutKey && v <= cutId);
}

fn reached(sum: f32, goal: f32, strict: bool) -> bool {
  return select(sum >= goal, sum > goal, strict);
}

struct Cut { key: u32, id: u32, found: bool }

// The first token, in the sorted order and within the set ending at
// (cutKey, cutId), at which the running sum of f (w, or 1 when !useW)
// reaches goal (passes it, when strict). found = false when rounding left
// the whole set's sum short of the goal.
fn firstReaching(base: u32, useW: bool, cutKey: u32, cutId: u32, goal: f32, strict: bool) -> Cut {
  var lo = 0u;
  var hi = 0xffffffffu;
  var above = 0.0; // Σ f over the set's tokens with key > hi
  var bins: array<f32, ${BINS}>;
  loop {
    let span = hi - lo;
    if (span == 0u) { break; }
    var shift = 0u;
    while ((span >> shift) >= BINS) { shift = shift + 1u; }
    for (var j = 0u; j < BINS; j = j + 1u) { bins[j] = 0.0; }
    for (var v = 0u; v < p.V; v = v + 1u) {
      let k = orderKey(logits[base + v]);
      if (k < lo || k > hi || !inSet(k, v, cutKey, cutId)) { continue; }
      let j = (k - lo) >> shift;
      bins[j] = bins[j] + select(1.0, w[base + v], useW);
    }
    var cum = above;
    var hit = BINS;
    for (var j = BINS; j > 0u; j = j - 1u) {
      let next = cum + bins[j - 1u];
      if (reached(next, goal, strict)) { hit = j - 1u; break; }
      cum = next;
    }
    if (hit == BINS) { return Cut(0u, 0u, false); }
    above = cum;
    let newLo = lo + (hit << shift);
    hi = newLo + min(hi - newLo, (1u << shift) - 1u); // the bin's last key, without overflowing
    lo = newLo;
  }
  // The tokens tied at key lo, in id order.
  var cum = above;
  for (var v = 0u; v < p.V; v = v + 1u) {
    let k = orderKey(logits[base + v]);
    if (k != lo || !inSet(k, v, cutKey, cutId)) { continue; }
    cum = cum + select(1.0, w[base + v], useW);
    if (reached(cum, goal, strict)) { return Cut(k, v, true); }
  }
  return Cut(0u, 0u, false);
}

// Σ w over the set ending at (cutKey, cutId), in id order.
fn massOf(base: u32, cutKey: u32, cutId: u32) -> f32 {
  var m = 0.0;
  for (var v = 0u; v < p.V; v = v + 1u) {
    if (inSet(orderKey(logits[base + v]), v, cutKey, cutId)) { m = m + w[base + v]; }
  }
  return m;
}

// The last token of the set in the sorted order (lowest key; highest id among ties).
fn lastOf(base: u32, cutKey: u32, cutId: u32) -> u32 {
  var bestKey = 0xffffffffu;
  var best = 0u;
  for (var v = 0u; v < p.V; v = v + 1u) {
    let k = orderKey(logits[base + v]);
    if (inSet(k, v, cutKey, cutId) && k <= bestKey) { bestKey = k; best = v; }
  }
  return best;
}

fn choose(b: u32) -> u32 {
  let base = b * p.ld;
  if (s.temperature == 0.0) {
    var best = 0u;
    for (var v = 1u; v < p.V; v = v + 1u) {
      if (logits[base + v] > logits[base + best]) { best = v; }
    }
    return best;
  }
  var mx = NEG_MAX;
  for (var v = 0u; v < p.V; v = v + 1u) { mx = max(mx, logits[base + v]); }
  var total = 0.0;
  for (var v = 0u; v < p.V; v = v + 1u) {
    let e = exp((logits[base + v] - mx) / s.temperature);
    w[base + v] = e;
    total = total + e;
  }
  // One uniform in [0, 1): Rng.uniform's first word, truncated to the 24 bits an f32 holds.
  let blk = threefry2x32(keys[2u * b], keys[2u * b + 1u], rows[b].draws, 0u);
  rows[b].draws = rows[b].draws + 1u;
  let u = f32(blk.x >> 8u) * 5.9604644775390625e-8;
  let topK = s.topK > 0u && s.topK < p.V;
  if (!topK && s.topP >= 1.0) {
    let goal = u * total;
    var acc = 0.0;
    for (var v = 0u; v < p.V; v = v + 1u) {
      acc = acc + w[base + v];
      if (goal < acc) { return v; }
    }
    return p.V - 1u;
  }
  // The candidates: all tokens, or the top k.
  var cutKey = 0u;
  var cutId = ALL_ID;
  var mass = total;
  if (topK) {
    let c = firstReaching(base, false, 0u, ALL_ID, f32(s.topK), false);
    cutKey = c.key;
    cutId = c.id;
    mass = massOf(base, cutKey, cutId);
  }
  // The nucleus: the shortest prefix holding topP of the candidates' mass.
  if (s.topP < 1.0) {
    let c = firstReaching(base, true, cutKey, cutId, s.topP * mass, false);
    if (c.found) {
      cutKey = c.key;
      cutId = c.id;
    }
  }
  let kept = massOf(base, cutKey, cutId);
  let d = firstReaching(base, true, cutKey, cutId, u * kept, true);
  if (d.found) { return d.id; }
  return lastOf(base, cutKey, cutId);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let b = linearGroup(wid, nwg) * 64u + li;
  if (b >= p.B || rows[b].live == 0u) { return; }
  let token = choose(b);
  let count = rows[b].count + 1u;
  out[b * p.outStride + count - 1u] = token;
  rows[b].count = count;
  if (((stops[token / 32u] >> (token % 32u)) & 1u) != 0u) {
    rows[b].live = 0u;
    rows[b].reason = ${STOP_REASON.stop}u;
  } else if (count >= s.maxNew) {
    rows[b].live = 0u;
    rows[b].reason = ${STOP_REASON.length}u;
  } else if (rows[b].len + count >= p.maxT) {
    rows[b].live = 0u;
    rows[b].reason = ${STOP_REASON.context}u;
  } else {
    rows[b].token = token;
    rows[b].pos = rows[b].len + count - 1u;
  }
}
`;
}

/** A test kernel: out[i] = threefry2x32 of the i-th (k0, k1, x0, x1) in inp. Bindings: 0 inp (4n u32), 1 out (2n u32). */
export function threefryTestWgsl(): string {
  return /* wgsl */ `
${threefryWgsl()}
@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (4u * i + 3u >= arrayLength(&inp)) { return; }
  let r = threefry2x32(inp[4u * i], inp[4u * i + 1u], inp[4u * i + 2u], inp[4u * i + 3u]);
  out[2u * i] = r.x;
  out[2u * i + 1u] = r.y;
}
`;
}
