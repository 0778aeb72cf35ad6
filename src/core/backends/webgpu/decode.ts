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
 *
 * The per-row kernels take their workgroup size as a parameter: 64 on
 * hardware GPUs; 4 on software adapters, where a workgroup runs on one CPU
 * core as one 4-lane SIMD group, so that a batch of rows spreads over cores.
 */
import { paramsStruct, WGSL_COMMON, wgslReduce } from './common';
import { GELU_WGSL } from './gelu';

/** u32 words per row of the state buffer (the WGSL `Row`). */
export const ROW_WORDS = 9;
/** Word offsets of `Row`. */
export const ROW = { token: 0, pos: 1, count: 2, live: 3, draws: 4, len: 5, reason: 6, key0: 7, key1: 8 } as const;
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
  key0: u32,    // the row's Threefry key
  key1: u32,
}
`;

/** x (B,C) = wte[token] + wpe[pos], ln (B,C) = LayerNorm(x) with (w, b) at lnwOff/lnbOff; rows with live = 0 are skipped. */
export const DECODE_EMBED_LN_PARAMS = ['B', 'C', 'wteOff', 'wpeOff', 'lnwOff', 'lnbOff'] as const;
export function decodeEmbedLnWgsl(workgroupSize: number): string {
  return /* wgsl */ `
${WGSL_COMMON}
${ROW_STRUCT}
${paramsStruct(DECODE_EMBED_LN_PARAMS)}
@group(0) @binding(1) var<storage, read> rows: array<Row>;         // (B)
@group(0) @binding(2) var<storage, read> params: array<f32>;       // flat parameters
@group(0) @binding(3) var<storage, read_write> x: array<f32>;      // (B,C) residual stream
@group(0) @binding(4) var<storage, read_write> ln: array<f32>;     // (B,C)

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let b = linearGroup(wid, nwg) * ${workgroupSize}u + li;
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
}

/**
 * One invocation per (row b, head h): k and v of the new position (qkv's
 * second and third thirds) into the caches at (b, pos), then
 * out[b, h·hs …] = Σ_{t ≤ pos} softmax_t(q·k_t / sqrt(hs)) · v_t
 * (attentionDecode of gpt/layers.ts). `hs` and the context `maxT` are baked in.
 */
export const DECODE_ATTENTION_PARAMS = ['B', 'C', 'NH', 'maxT'] as const;
export function decodeAttentionWgsl(hs: number, maxT: number, workgroupSize: number): string {
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

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let id = linearGroup(wid, nwg) * ${workgroupSize}u + li;
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

/**
 * A whole transformer block for one position of one row, in one 64-lane
 * workgroup (hardware GPUs, where a decode step of separate kernels is
 * dispatch-bound: 7 dispatches per layer become 1). Layer 0 (`first`) forms
 * x = wte[token] + wpe[pos] itself; the last layer (`last`) also writes the
 * final LayerNorm of its output, the head's input. Between, in workgroup
 * memory: LN1 → qkv → k, v into the cache → causal attention over the cache →
 * projection + residual → LN2 → fc + GELU → projection + residual (the ops of
 * CpuDecoder.step). Weights are read from the parameter buffer; C, NH and
 * maxT are baked in (`decodeBlockWorkgroupBytes` is what it needs of
 * workgroup memory). Dispatch B workgroups; rows with live = 0 are skipped.
 */
export const DECODE_BLOCK_PARAMS = [
  'B', 'first', 'last', 'wteOff', 'wpeOff', 'ln1w', 'ln1b', 'qkvw', 'qkvb', 'projw', 'projb', 'ln2w', 'ln2b', 'fcw', 'fcb',
  'fcprojw', 'fcprojb', 'lnfw', 'lnfb',
] as const;

/** Workgroup memory of decodeBlockWgsl, bytes: x, ln, qkv, y (C each but qkv 3C), the MLP's 4C, NH·maxT scores, a 64-lane reduction. */
export function decodeBlockWorkgroupBytes(C: number, NH: number, maxT: number): number {
  return 4 * (10 * C + NH * maxT + 64 + 1);
}

export function decodeBlockWgsl(C: number, NH: number, maxT: number): string {
  const hs = C / NH;
  return /* wgsl */ `
${WGSL_COMMON}
${GELU_WGSL}
${ROW_STRUCT}
${wgslReduce('red', 64)}
${paramsStruct(DECODE_BLOCK_PARAMS)}
@group(0) @binding(1) var<storage, read> rows: array<Row>;           // (B)
@group(0) @binding(2) var<storage, read> params: array<f32>;         // flat parameters
@group(0) @binding(3) var<storage, read> xIn: array<f32>;            // (B,C) the block's input (not read by layer 0)
@group(0) @binding(4) var<storage, read_write> xOut: array<f32>;     // (B,C) its output
@group(0) @binding(5) var<storage, read_write> kc: array<f32>;       // (B,maxT,C)
@group(0) @binding(6) var<storage, read_write> vc: array<f32>;       // (B,maxT,C)
@group(0) @binding(7) var<storage, read_write> lnf: array<f32>;      // (B,C) final LayerNorm (last layer only)

const C = ${C}u;
const NH = ${NH}u;
const HS = ${hs}u;
const MAXT = ${maxT}u;

var<workgroup> xs: array<f32, ${C}>;        // residual stream
var<workgroup> lns: array<f32, ${C}>;       // LayerNorm output
var<workgroup> qkvs: array<f32, ${3 * C}>;
var<workgroup> ys: array<f32, ${C}>;        // attention output
var<workgroup> hid: array<f32, ${4 * C}>;   // GELU(fc)
var<workgroup> sc: array<f32, ${NH * maxT}>; // attention weights per head
var<workgroup> live: u32;

// lns = LayerNorm(xs) with weight and bias at wOff, bOff (eps 1e-5, biased variance).
fn layerNorm(li: u32, wOff: u32, bOff: u32) {
  var s = 0.0;
  for (var c = li; c < C; c = c + 64u) { s = s + xs[c]; }
  let mean = redSum(li, s) / f32(C);
  var q = 0.0;
  for (var c = li; c < C; c = c + 64u) {
    let d = xs[c] - mean;
    q = q + d * d;
  }
  let rstd = 1.0 / sqrt(redSum(li, q) / f32(C) + 1e-5);
  for (var c = li; c < C; c = c + 64u) { lns[c] = (xs[c] - mean) * rstd * params[wOff + c] + params[bOff + c]; }
  workgroupBarrier();
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let b = linearGroup(wid, nwg);
  if (b >= p.B) { return; }
  if (li == 0u) { live = rows[b].live; }
  if (workgroupUniformLoad(&live) == 0u) { return; }
  let pos = rows[b].pos;
  let tok = rows[b].token;
  for (var c = li; c < C; c = c + 64u) {
    if (p.first != 0u) {
      xs[c] = params[p.wteOff + tok * C + c] + params[p.wpeOff + pos * C + c];
    } else {
      xs[c] = xIn[b * C + c];
    }
  }
  workgroupBarrier();
  layerNorm(li, p.ln1w, p.ln1b);
  for (var j = li; j < 3u * C; j = j + 64u) {
    var a = params[p.qkvb + j];
    for (var c = 0u; c < C; c = c + 1u) { a = a + lns[c] * params[p.qkvw + j * C + c]; }
    qkvs[j] = a;
  }
  workgroupBarrier();
  let row = b * MAXT * C;
  for (var c = li; c < C; c = c + 64u) {
    kc[row + pos * C + c] = qkvs[C + c];
    vc[row + pos * C + c] = qkvs[2u * C + c];
  }
  storageBarrier();
  workgroupBarrier();
  let n = pos + 1u;
  let scale = 1.0 / sqrt(f32(HS));
  for (var i = li; i < NH * n; i = i + 64u) {
    let h = i / n;
    let t = i % n;
    var a = 0.0;
    for (var d = 0u; d < HS; d = d + 1u) { a = a + qkvs[h * HS + d] * kc[row + t * C + h * HS + d]; }
    sc[h * MAXT + t] = a * scale;
  }
  workgroupBarrier();
  for (var h = li; h < NH; h = h + 64u) {
    var mx = NEG_MAX;
    for (var t = 0u; t < n; t = t + 1u) { mx = max(mx, sc[h * MAXT + t]); }
    var sum = 0.0;
    for (var t = 0u; t < n; t = t + 1u) {
      let e = exp(sc[h * MAXT + t] - mx);
      sc[h * MAXT + t] = e;
      sum = sum + e;
    }
    let inv = 1.0 / sum;
    for (var t = 0u; t < n; t = t + 1u) { sc[h * MAXT + t] = sc[h * MAXT + t] * inv; }
  }
  workgroupBarrier();
  for (var c = li; c < C; c = c + 64u) {
    let h = c / HS;
    var a = 0.0;
    for (var t = 0u; t < n; t = t + 1u) { a = a + sc[h * MAXT + t] * vc[row + t * C + c]; }
    ys[c] = a;
  }
  workgroupBarrier();
  for (var c = li; c < C; c = c + 64u) {
    var a = params[p.projb + c];
    for (var k = 0u; k < C; k = k + 1u) { a = a + ys[k] * params[p.projw + c * C + k]; }
    xs[c] = xs[c] + a;
  }
  workgroupBarrier();
  layerNorm(li, p.ln2w, p.ln2b);
  for (var j = li; j < 4u * C; j = j + 64u) {
    var a = params[p.fcb + j];
    for (var c = 0u; c < C; c = c + 1u) { a = a + lns[c] * params[p.fcw + j * C + c]; }
    hid[j] = gelu(a);
  }
  workgroupBarrier();
  for (var c = li; c < C; c = c + 64u) {
    var a = params[p.fcprojb + c];
    for (var k = 0u; k < 4u * C; k = k + 1u) { a = a + hid[k] * params[p.fcprojw + c * 4u * C + k]; }
    xs[c] = xs[c] + a;
  }
  workgroupBarrier();
  for (var c = li; c < C; c = c + 64u) { xOut[b * C + c] = xs[c]; }
  if (p.last != 0u) {
    layerNorm(li, p.lnfw, p.lnfb);
    for (var c = li; c < C; c = c + 64u) { lnf[b * C + c] = lns[c]; }
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
export const SAMPLE_PARAMS = ['B', 'V', 'ld', 'outStride', 'maxT', 'wteOff'] as const;
/** Bytes of the Settings uniform. */
export const SETTINGS_BYTES = 32;

/**
 * The Settings uniform of one generate call: maxNewTokens, temperature, topK,
 * topP as a 32-bit fraction (round(topP·2³²), so that the nucleus test is
 * exact integer arithmetic), and whether top-p is on (topP < 1).
 */
export function packSettings(s: { maxNewTokens: number; temperature: number; topK: number; topP: number }): ArrayBuffer {
  const buf = new ArrayBuffer(SETTINGS_BYTES);
  const u = new Uint32Array(buf);
  u[0] = s.maxNewTokens;
  new Float32Array(buf)[1] = s.temperature;
  u[2] = s.topK;
  u[3] = Math.min(0xffffffff, Math.round(s.topP * 2 ** 32));
  u[4] = s.topP < 1 ? 1 : 0;
  return buf;
}

/** Lanes of the workgroup-per-row sampler. */
const LANES = 64;
/** Histogram bins of one pass of a search: the workgroup sampler's (in workgroup memory) and the serial one's. */
const BINS = 256;
const SERIAL_BINS = 128;
/** Tokens a search gathers and sorts once its bin holds no more than this many. */
const CAP = 64;

/**
 * What both samplers share: the bindings, exact 64-bit sums, the order of
 * tokens, Threefry, and the stop rule.
 *
 * The rule is `sampleToken`'s (core/sample.ts):
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
 * Sums are exact: w is rounded to a multiple of 2⁻²⁴ and held as an integer,
 * masses are 64-bit integers, u·mass and topP·mass are integer products (u
 * and topP as 32-bit fractions). So no result depends on the order of a sum,
 * both samplers choose the same tokens, and a token differs from the CPU's
 * float64 choice only where u lands within ~2⁻²⁴ of a boundary.
 *
 * The sorted order is never built. Every cut ("the k-th token", "the end of
 * the nucleus", "the token the draw lands on") is the first token in that
 * order at which a running sum of f (1 for counts, w for mass) reaches a
 * goal. A search bins the candidates' logits linearly over [lo, hi] (a
 * bin is then a logit interval), walks the bins from the top to the one
 * where the running sum reaches the goal, gathers that bin's tokens and sorts
 * them; a bin of more than CAP tokens is binned again over its own [min, max],
 * a bin of one logit value is walked in id order.
 *
 * The stop rule (`finish`) mirrors appendToken: the token is written to
 * out[b, count]; a stop token ends the row ('stop'), else the budget
 * ('length'), else the context ('context'); otherwise it is fed at position
 * len + count − 1 next step.
 */
function samplerCommon(head = false): string {
  return /* wgsl */ `
${WGSL_COMMON}
${ROW_STRUCT}
${threefryWgsl()}
${paramsStruct(SAMPLE_PARAMS)}
struct Settings { maxNew: u32, temperature: f32, topK: u32, topP32: u32, topPOn: u32 }
@group(0) @binding(1) var<storage, ${head ? 'read_write' : 'read'}> logits: array<f32>; // (B,ld)
@group(0) @binding(2) var<storage, read_write> rows: array<Row>;   // (B)
@group(0) @binding(3) var<storage, read> stops: array<u32>;        // (⌈V/32⌉) stop-token bit set
@group(0) @binding(4) var<storage, read_write> out: array<u32>;    // (B,outStride) emitted tokens
@group(0) @binding(5) var<storage, read_write> wq: array<u32>;     // (B,ld) scratch: w·2²⁴, rounded
@group(0) @binding(6) var<uniform> s: Settings;

const CAP = ${CAP}u;
const W_ONE = 16777216.0; // 2^24: w = 1 as an integer

struct Cut { l: f32, id: u32, cum: vec2<u32>, found: bool }

// 64-bit unsigned integers as (low word, high word).
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn reached(sum: vec2<u32>, goal: vec2<u32>, strict: bool) -> bool {
  let gt = sum.y > goal.y || (sum.y == goal.y && sum.x > goal.x);
  return gt || (!strict && sum.x == goal.x && sum.y == goal.y);
}

// The full product a·b as (low word, high word), from 16-bit halves.
fn mul32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let mid = a0 * b1 + (p00 >> 16u);
  let mid2 = a1 * b0 + (mid & 0xffffu);
  return vec2<u32>((mid2 << 16u) | (p00 & 0xffffu), a1 * b1 + (mid >> 16u) + (mid2 >> 16u));
}

// floor(m·f / 2^32) for m < 2^64 (.xy), and whether the division left a remainder (.z != 0).
fn mulFraction(m: vec2<u32>, f: u32) -> vec3<u32> {
  let p1 = mul32(m.x, f);
  let p2 = mul32(m.y, f);
  let lo = p2.x + p1.y;
  return vec3<u32>(lo, p2.y + select(0u, 1u, lo < p2.x), p1.x);
}

// A token belongs to the set that ends at (cutL, cutId) in the sorted order.
fn inSet(l: f32, v: u32, cutL: f32, cutId: u32) -> bool {
  return l > cutL || (l == cutL && v <= cutId);
}

// Token a comes before token b in the sorted order (logit descending, then id).
fn before(la: f32, a: u32, lb: f32, b: u32) -> bool {
  return la > lb || (la == lb && a < b);
}
// w as the integer w·2^24 (the max logit's token: exactly 2^24).
fn quantized(l: f32, hi: f32) -> u32 {
  return u32(exp((l - hi) / s.temperature) * W_ONE + 0.5);
}

// u as a 32-bit fraction: the top 32 of the 53 bits Rng.uniform takes from
// block 'draws' of the row's key (whose counter then advances).
fn drawU(b: u32) -> u32 {
  let blk = threefry2x32(rows[b].key0, rows[b].key1, rows[b].draws, 0u);
  rows[b].draws = rows[b].draws + 1u;
  return (blk.x & 0xffffffe0u) | (blk.y >> 27u);
}

// appendToken's rule: emit token for row b, then stop or feed it next step.
fn finish(b: u32, token: u32) {
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

/**
 * The sampler for hardware GPUs: one 64-lane workgroup per row (dispatch B
 * workgroups). Each lane owns a contiguous chunk of the row; a search bins
 * with integer atomics in workgroup memory (256 bins: sums of f, and the min
 * and max logit of each bin as order keys); lane 0 walks the bins, sorts,
 * and hands results to the other lanes through workgroup memory.
 *
 * With `headC` (the model's dModel) it is also the LM head: the row's logits
 * are computed from its final-LayerNorm row (B,C) and the tied wte (and kept
 * in `logits` for the searches), one dispatch fewer per decoded position.
 */
export function sampleWorkgroupWgsl(headC?: number): string {
  const head = headC === undefined ? '' : /* wgsl */ `
@group(0) @binding(7) var<storage, read> lnf: array<f32>;            // (B,C) the head's input
@group(0) @binding(8) var<storage, read> params: array<f32>;         // flat parameters (wte at p.wteOff)
const HEAD_C = ${headC}u;
var<workgroup> lnRow: array<f32, ${headC}>;
`;
  return /* wgsl */ `
${samplerCommon(headC !== undefined)}
${head}
const LANES = ${LANES}u;
const BINS = ${BINS}u;

// Phases of a search, lane 0's verdict after each pass.
const BIN = 0u;     // bin [lo, hi] (again)
const GATHER = 1u;  // gather the tokens of [lo, hi] and sort them
const TIES = 2u;    // one logit value: walk its tokens in id order
const DONE = 3u;
const FAILED = 4u;

var<workgroup> hLo: array<atomic<u32>, ${BINS}>;  // Σ f & 0xffff per bin
var<workgroup> hHi: array<atomic<u32>, ${BINS}>;  // Σ f >> 16 per bin
var<workgroup> hMin: array<atomic<u32>, ${BINS}>; // smallest order key per bin
var<workgroup> hMax: array<atomic<u32>, ${BINS}>; // largest order key per bin
var<workgroup> nCand: atomic<u32>;
var<workgroup> cand: array<u32, ${CAP}>;
var<workgroup> laneU: array<vec2<u32>, ${LANES}>; // per-lane u64 partial sums
var<workgroup> laneL: array<vec2<f32>, ${LANES}>; // per-lane max and min logit
var<workgroup> laneV: array<u32, ${LANES}>;       // per-lane argmax

struct Search {
  phase: u32,
  lo: f32, hi: f32,         // the logit interval still searched
  above: vec2<u32>,         // Σ f over candidates above hi
  l: f32, id: u32,          // the cut, once DONE
  cum: vec2<u32>,           // the running sum at the cut
}
var<workgroup> st: Search;
var<workgroup> bcast: vec4<u32>; // lane 0's broadcasts

// Unsigned order of the result = float order of x (negative floats: all bits flipped; −0 = +0).
fn orderKey(x: f32) -> u32 {
  if (x == 0.0) { return 0x80000000u; }
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

fn fromKey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

fn f(base: u32, v: u32, useW: bool) -> u32 {
  return select(1u, wq[base + v], useW);
}

// The first token, in the sorted order, among the candidates (the set ending at
// (cutL, cutId) with logits in [lo0, hi0]) at which the running sum of f (w,
// or 1 when !useW) reaches goal (passes it, when strict). Call from uniform
// control flow; every lane gets the same result.
fn reach(li: u32, base: u32, useW: bool, cutL: f32, cutId: u32, lo0: f32, hi0: f32, goal: vec2<u32>, strict: bool) -> Search {
  let chunk = (p.V + LANES - 1u) / LANES;
  let v0 = li * chunk;
  let v1 = min(p.V, v0 + chunk);
  if (li == 0u) {
    st.phase = select(BIN, TIES, !(hi0 > lo0));
    st.lo = lo0;
    st.hi = hi0;
    st.above = vec2<u32>(0u, 0u);
  }
  var phase = workgroupUniformLoad(&st.phase);
  loop {
    if (phase >= DONE) { break; }
    let lo = st.lo;
    let hi = st.hi;
    if (phase == BIN) {
      for (var j = li; j < BINS; j = j + LANES) {
        atomicStore(&hLo[j], 0u);
        atomicStore(&hHi[j], 0u);
        atomicStore(&hMin[j], 0xffffffffu);
        atomicStore(&hMax[j], 0u);
      }
      workgroupBarrier();
      // Multiplication is correctly rounded, so the bin index is monotone in l.
      let scale = f32(BINS) / (hi - lo);
      for (var v = v0; v < v1; v = v + 1u) {
        let l = logits[base + v];
        if (l < lo || l > hi || !inSet(l, v, cutL, cutId)) { continue; }
        let j = min(u32((l - lo) * scale), BINS - 1u);
        let x = f(base, v, useW);
        atomicAdd(&hLo[j], x & 0xffffu);
        if (x > 0xffffu) { atomicAdd(&hHi[j], x >> 16u); }
        let k = orderKey(l);
        atomicMin(&hMin[j], k);
        atomicMax(&hMax[j], k);
      }
      workgroupBarrier();
      if (li == 0u) {
        var cum = st.above;
        var hit = BINS;
        for (var j = BINS; j > 0u; j = j - 1u) {
          let mn = atomicLoad(&hMin[j - 1u]);
          let mx = atomicLoad(&hMax[j - 1u]);
          if (mn > mx) { continue; } // empty
          let hs = atomicLoad(&hHi[j - 1u]);
          let next = add64(cum, add64(vec2<u32>(hs << 16u, hs >> 16u), vec2<u32>(atomicLoad(&hLo[j - 1u]), 0u)));
          if (reached(next, goal, strict)) { hit = j - 1u; break; }
          cum = next;
        }
        if (hit == BINS || !isFiniteF32(scale)) {
          st.phase = FAILED;
        } else {
          st.above = cum;
          st.lo = fromKey(atomicLoad(&hMin[hit]));
          st.hi = fromKey(atomicLoad(&hMax[hit]));
          st.phase = select(GATHER, TIES, !(st.hi > st.lo));
        }
      }
    } else if (phase == GATHER) {
      if (li == 0u) { atomicStore(&nCand, 0u); }
      storageBarrier();
      workgroupBarrier();
      for (var v = v0; v < v1; v = v + 1u) {
        let l = logits[base + v];
        if (l < lo || l > hi || !inSet(l, v, cutL, cutId)) { continue; }
        let slot = atomicAdd(&nCand, 1u);
        if (slot < CAP) { cand[slot] = v; }
      }
      workgroupBarrier();
      if (li == 0u) {
        let n = atomicLoad(&nCand);
        if (n > CAP) {
          st.phase = BIN; // too many: bin [lo, hi] again
        } else {
          // Insertion sort into the sorted order, then the running sum.
          for (var i = 1u; i < n; i = i + 1u) {
            let v = cand[i];
            let l = logits[base + v];
            var j = i;
            while (j > 0u && before(l, v, logits[base + cand[j - 1u]], cand[j - 1u])) {
              cand[j] = cand[j - 1u];
              j = j - 1u;
            }
            cand[j] = v;
          }
          var cum = st.above;
          st.phase = FAILED;
          for (var i = 0u; i < n; i = i + 1u) {
            cum = add64(cum, vec2<u32>(f(base, cand[i], useW), 0u));
            if (reached(cum, goal, strict)) {
              st.l = logits[base + cand[i]];
              st.id = cand[i];
              st.cum = cum;
              st.phase = DONE;
              break;
            }
          }
        }
      }
    } else {
      // TIES: every candidate in [lo, hi] has the same logit; id order is the sorted order.
      storageBarrier();
      if (li == 0u) {
        var cum = st.above;
        st.phase = FAILED;
        for (var v = 0u; v < p.V; v = v + 1u) {
          let l = logits[base + v];
          if (l < lo || l > hi || !inSet(l, v, cutL, cutId)) { continue; }
          cum = add64(cum, vec2<u32>(f(base, v, useW), 0u));
          if (reached(cum, goal, strict)) {
            st.l = l;
            st.id = v;
            st.cum = cum;
            st.phase = DONE;
            break;
          }
        }
      }
    }
    phase = workgroupUniformLoad(&st.phase);
  }
  return workgroupUniformLoad(&st);
}

// The token for row b (all lanes return it).
fn choose(li: u32, b: u32) -> u32 {
  let base = b * p.ld;
  let chunk = (p.V + LANES - 1u) / LANES;
  let v0 = li * chunk;
  let v1 = min(p.V, v0 + chunk);${headC === undefined ? '' : `
  // The head: this lane's logits from the row's final LayerNorm and the tied wte.
  for (var c = li; c < HEAD_C; c = c + LANES) { lnRow[c] = lnf[b * HEAD_C + c]; }
  workgroupBarrier();
  for (var v = v0; v < v1; v = v + 1u) {
    var a = 0.0;
    for (var c = 0u; c < HEAD_C; c = c + 1u) { a = a + lnRow[c] * params[p.wteOff + v * HEAD_C + c]; }
    logits[base + v] = a;
  }`}
  // Each lane's max (first of its chunk on ties) and min.
  var mx = NEG_MAX;
  var mn = -NEG_MAX;
  var arg = 0u;
  for (var v = v0; v < v1; v = v + 1u) {
    let l = logits[base + v];
    if (l > mx) { mx = l; arg = v; }
    mn = min(mn, l);
  }
  laneL[li] = vec2<f32>(mx, mn);
  laneV[li] = arg;
  workgroupBarrier();
  if (li == 0u) {
    // Lanes in id order, so a strict > keeps the lowest id of the maximum.
    var best = 0u;
    var lo = laneL[0].y;
    for (var i = 1u; i < LANES; i = i + 1u) {
      if (laneL[i].x > laneL[best].x) { best = i; }
      lo = min(lo, laneL[i].y);
    }
    bcast = vec4<u32>(laneV[best], bitcast<u32>(laneL[best].x), bitcast<u32>(lo), 0u);
  }
  let top = workgroupUniformLoad(&bcast);
  if (s.temperature == 0.0) { return top.x; }
  let hi = bitcast<f32>(top.y);
  let lo = bitcast<f32>(top.z);
  var sum = vec2<u32>(0u, 0u);
  for (var v = v0; v < v1; v = v + 1u) {
    let w = quantized(logits[base + v], hi);
    wq[base + v] = w;
    sum = add64(sum, vec2<u32>(w, 0u));
  }
  laneU[li] = sum;
  workgroupBarrier();
  if (li == 0u) { bcast = vec4<u32>(drawU(b), 0u, 0u, 0u); }
  let u = workgroupUniformLoad(&bcast).x;
  var total = vec2<u32>(0u, 0u);
  for (var i = 0u; i < LANES; i = i + 1u) { total = add64(total, laneU[i]); }
  let topK = s.topK > 0u && s.topK < p.V;
  if (!topK && s.topPOn == 0u) {
    // Inverse CDF in id order: the lane whose chunk the goal falls in walks it.
    let goal = mulFraction(total, u).xy;
    var acc = vec2<u32>(0u, 0u);
    for (var i = 0u; i < li; i = i + 1u) { acc = add64(acc, laneU[i]); }
    if (reached(add64(acc, laneU[li]), goal, true) && !reached(acc, goal, true)) {
      var pick = v1 - 1u;
      for (var v = v0; v < v1; v = v + 1u) {
        acc = add64(acc, vec2<u32>(wq[base + v], 0u));
        if (reached(acc, goal, true)) { pick = v; break; }
      }
      bcast = vec4<u32>(pick, 0u, 0u, 0u);
    }
    return workgroupUniformLoad(&bcast).x;
  }
  // The candidates: all tokens, or the top k.
  var cutL = NEG_MAX; // every (finite) token
  var cutId = 0xffffffffu;
  var kept = total;
  if (topK) {
    let c = reach(li, base, false, cutL, cutId, lo, hi, vec2<u32>(s.topK, 0u), false);
    if (c.phase == DONE) {
      cutL = c.l;
      cutId = c.id;
      var m = vec2<u32>(0u, 0u);
      for (var v = v0; v < v1; v = v + 1u) {
        if (inSet(logits[base + v], v, cutL, cutId)) { m = add64(m, vec2<u32>(wq[base + v], 0u)); }
      }
      workgroupBarrier();
      laneU[li] = m;
      workgroupBarrier();
      kept = vec2<u32>(0u, 0u);
      for (var i = 0u; i < LANES; i = i + 1u) { kept = add64(kept, laneU[i]); }
    }
  }
  // The nucleus: the shortest prefix whose mass reaches topP of the candidates'.
  if (s.topPOn != 0u) {
    let g = mulFraction(kept, s.topP32);
    let goal = add64(g.xy, vec2<u32>(select(0u, 1u, g.z != 0u), 0u)); // ceil
    let c = reach(li, base, true, cutL, cutId, max(lo, cutL), hi, goal, false);
    if (c.phase == DONE) {
      cutL = c.l;
      cutId = c.id;
      kept = c.cum;
    }
  }
  let d = reach(li, base, true, cutL, cutId, max(lo, cutL), hi, mulFraction(kept, u).xy, true);
  // A search fails only for logits too far apart to bin (never a trained model's): the top token then.
  return select(top.x, d.id, d.phase == DONE);
}

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let b = linearGroup(wid, nwg);
  if (b >= p.B) { return; }
  if (li == 0u) { bcast = vec4<u32>(rows[b].live, 0u, 0u, 0u); }
  if (workgroupUniformLoad(&bcast).x == 0u) { return; }
  let token = choose(li, b);
  if (li == 0u) { finish(b, token); }
}
`;
}

/**
 * The sampler for software adapters: one invocation per row, no barriers
 * (on SwiftShader a barrier switches between the workgroup's SIMD groups,
 * and a 64-lane sampler spent far longer in barriers than in sums). Dispatch
 * ⌈B/workgroupSize⌉ workgroups. Bins live in the invocation's registers
 * (128 bins of u64 sums); top-p bins the candidates once and finds both the
 * end of the nucleus and the draw in that one histogram, gathering at most
 * two bins' tokens.
 */
export function sampleSerialWgsl(workgroupSize: number): string {
  return /* wgsl */ `
${samplerCommon()}
const NB = ${SERIAL_BINS}u;

struct Found { hit: u32, before: vec2<u32> } // the bin where a goal is reached, and Σ f above it

fn binOf(l: f32, lo: f32, scale: f32) -> u32 {
  // Multiplication is correctly rounded, so the bin index is monotone in l.
  return min(u32((l - lo) * scale), NB - 1u);
}

fn member(l: f32, v: u32, lo: f32, hi: f32, cutL: f32, cutId: u32) -> bool {
  return l >= lo && l <= hi && inSet(l, v, cutL, cutId);
}

fn f(base: u32, v: u32, useW: bool) -> u32 {
  return select(1u, wq[base + v], useW);
}

// Σ f per bin over the candidates in [lo, hi]: the high and low 16 bits of f summed apart (no carries).
fn histogram(base: u32, useW: bool, cutL: f32, cutId: u32, lo: f32, hi: f32, scale: f32,
             sLo: ptr<function, array<u32, ${SERIAL_BINS}>>, sHi: ptr<function, array<u32, ${SERIAL_BINS}>>) {
  for (var j = 0u; j < NB; j = j + 1u) { (*sLo)[j] = 0u; (*sHi)[j] = 0u; }
  for (var v = 0u; v < p.V; v = v + 1u) {
    let l = logits[base + v];
    if (!member(l, v, lo, hi, cutL, cutId)) { continue; }
    let j = binOf(l, lo, scale);
    let x = f(base, v, useW);
    (*sLo)[j] = (*sLo)[j] + (x & 0xffffu);
    (*sHi)[j] = (*sHi)[j] + (x >> 16u);
  }
}

// Walk the bins from the top: the first where above + the running sum reaches goal (hit = NB: none).
fn walk(sLo: ptr<function, array<u32, ${SERIAL_BINS}>>, sHi: ptr<function, array<u32, ${SERIAL_BINS}>>,
        above: vec2<u32>, goal: vec2<u32>, strict: bool) -> Found {
  var cum = above;
  for (var j = NB; j > 0u; j = j - 1u) {
    let hs = (*sHi)[j - 1u];
    let next = add64(cum, add64(vec2<u32>(hs << 16u, hs >> 16u), vec2<u32>((*sLo)[j - 1u], 0u)));
    if (reached(next, goal, strict)) { return Found(j - 1u, cum); }
    cum = next;
  }
  return Found(NB, cum);
}

struct Gathered { n: u32, lo: f32, hi: f32 } // tokens in the bin (all in cand when n <= CAP), their logit range

// The candidates in bin j of [lo, hi], sorted (when they fit in CAP).
fn gather(base: u32, cutL: f32, cutId: u32, lo: f32, hi: f32, scale: f32, j: u32, cand: ptr<function, array<u32, ${CAP}>>) -> Gathered {
  var n = 0u;
  var mn = hi;
  var mx = lo;
  for (var v = 0u; v < p.V; v = v + 1u) {
    let l = logits[base + v];
    if (!member(l, v, lo, hi, cutL, cutId) || binOf(l, lo, scale) != j) { continue; }
    if (n < CAP) { (*cand)[n] = v; }
    n = n + 1u;
    mn = min(mn, l);
    mx = max(mx, l);
  }
  if (n <= CAP) {
    for (var i = 1u; i < n; i = i + 1u) {
      let v = (*cand)[i];
      let l = logits[base + v];
      var k = i;
      while (k > 0u && before(l, v, logits[base + (*cand)[k - 1u]], (*cand)[k - 1u])) {
        (*cand)[k] = (*cand)[k - 1u];
        k = k - 1u;
      }
      (*cand)[k] = v;
    }
  }
  return Gathered(n, mn, mx);
}

// The first of the sorted cand[0..n) where above + the running sum reaches goal.
fn walkSorted(base: u32, useW: bool, cand: ptr<function, array<u32, ${CAP}>>, n: u32, above: vec2<u32>, goal: vec2<u32>, strict: bool) -> Cut {
  var cum = above;
  for (var i = 0u; i < n; i = i + 1u) {
    let v = (*cand)[i];
    cum = add64(cum, vec2<u32>(f(base, v, useW), 0u));
    if (reached(cum, goal, strict)) { return Cut(logits[base + v], v, cum, true); }
  }
  return Cut(0.0, 0u, cum, false);
}

// The first candidate in the sorted order (within the set ending at (cutL, cutId),
// logits in [lo0, hi0], Σ f above hi0 = above0) at which the running sum of f reaches goal.
fn search(base: u32, useW: bool, cutL: f32, cutId: u32, lo0: f32, hi0: f32, above0: vec2<u32>, goal: vec2<u32>, strict: bool) -> Cut {
  var lo = lo0;
  var hi = hi0;
  var above = above0;
  var sLo: array<u32, ${SERIAL_BINS}>;
  var sHi: array<u32, ${SERIAL_BINS}>;
  var cand: array<u32, ${CAP}>;
  loop {
    if (!(hi > lo)) { break; }
    let scale = f32(NB) / (hi - lo);
    if (!isFiniteF32(scale)) { return Cut(0.0, 0u, above, false); }
    histogram(base, useW, cutL, cutId, lo, hi, scale, &sLo, &sHi);
    let found = walk(&sLo, &sHi, above, goal, strict);
    if (found.hit == NB) { return Cut(0.0, 0u, found.before, false); }
    let g = gather(base, cutL, cutId, lo, hi, scale, found.hit, &cand);
    if (g.n <= CAP) { return walkSorted(base, useW, &cand, g.n, found.before, goal, strict); }
    lo = g.lo;
    hi = g.hi;
    above = found.before;
  }
  // One logit value left: its tokens in id order.
  var cum = above;
  for (var v = 0u; v < p.V; v = v + 1u) {
    let l = logits[base + v];
    if (!member(l, v, lo, hi, cutL, cutId)) { continue; }
    cum = add64(cum, vec2<u32>(f(base, v, useW), 0u));
    if (reached(cum, goal, strict)) { return Cut(l, v, cum, true); }
  }
  return Cut(0.0, 0u, cum, false);
}

// The draw within the set ending at (cutL, cutId), logits in [lo, hi], of mass
// kept; with top-p, first the nucleus, from the same histogram when it can.
fn nucleusAndDraw(base: u32, cutL: f32, cutId: u32, lo: f32, hi: f32, kept0: vec2<u32>, u: u32) -> Cut {
  let zero = vec2<u32>(0u, 0u);
  if (s.topPOn == 0u) { return search(base, true, cutL, cutId, lo, hi, zero, mulFraction(kept0, u).xy, true); }
  let g = mulFraction(kept0, s.topP32);
  let goalP = add64(g.xy, vec2<u32>(select(0u, 1u, g.z != 0u), 0u)); // ceil(topP·mass)
  if (!(hi > lo)) {
    let nucleus = search(base, true, cutL, cutId, lo, hi, zero, goalP, false);
    if (!nucleus.found) { return nucleus; }
    return search(base, true, nucleus.l, nucleus.id, lo, hi, zero, mulFraction(nucleus.cum, u).xy, true);
  }
  let scale = f32(NB) / (hi - lo);
  if (!isFiniteF32(scale)) { return Cut(0.0, 0u, zero, false); }
  var sLo: array<u32, ${SERIAL_BINS}>;
  var sHi: array<u32, ${SERIAL_BINS}>;
  var cand: array<u32, ${CAP}>;
  histogram(base, true, cutL, cutId, lo, hi, scale, &sLo, &sHi);
  let fp = walk(&sLo, &sHi, zero, goalP, false);
  if (fp.hit == NB) { return Cut(0.0, 0u, fp.before, false); }
  let gp = gather(base, cutL, cutId, lo, hi, scale, fp.hit, &cand);
  if (gp.n > CAP) {
    let nucleus = search(base, true, cutL, cutId, gp.lo, gp.hi, fp.before, goalP, false);
    if (!nucleus.found) { return nucleus; }
    return search(base, true, nucleus.l, nucleus.id, lo, hi, zero, mulFraction(nucleus.cum, u).xy, true);
  }
  let nucleus = walkSorted(base, true, &cand, gp.n, fp.before, goalP, false);
  if (!nucleus.found) { return nucleus; }
  // The draw lands at or above the nucleus' bin: U = u·kept < kept.
  let goalU = mulFraction(nucleus.cum, u).xy;
  let fu = walk(&sLo, &sHi, zero, goalU, true);
  if (fu.hit == fp.hit) { return walkSorted(base, true, &cand, gp.n, fp.before, goalU, true); }
  let gu = gather(base, cutL, cutId, lo, hi, scale, fu.hit, &cand); // a bin wholly inside the nucleus
  if (gu.n > CAP) { return search(base, true, cutL, cutId, gu.lo, gu.hi, fu.before, goalU, true); }
  return walkSorted(base, true, &cand, gu.n, fu.before, goalU, true);
}

fn choose(b: u32) -> u32 {
  let base = b * p.ld;
  var hi = logits[base];
  var lo = hi;
  var top = 0u;
  for (var v = 1u; v < p.V; v = v + 1u) {
    let l = logits[base + v];
    if (l > hi) { hi = l; top = v; }
    lo = min(lo, l);
  }
  if (s.temperature == 0.0) { return top; }
  var total = vec2<u32>(0u, 0u);
  for (var v = 0u; v < p.V; v = v + 1u) {
    let w = quantized(logits[base + v], hi);
    wq[base + v] = w;
    total = add64(total, vec2<u32>(w, 0u));
  }
  let u = drawU(b);
  let topK = s.topK > 0u && s.topK < p.V;
  if (!topK && s.topPOn == 0u) {
    let goal = mulFraction(total, u).xy;
    var acc = vec2<u32>(0u, 0u);
    for (var v = 0u; v < p.V; v = v + 1u) {
      acc = add64(acc, vec2<u32>(wq[base + v], 0u));
      if (reached(acc, goal, true)) { return v; }
    }
    return p.V - 1u;
  }
  var cutL = NEG_MAX; // every (finite) token
  var cutId = 0xffffffffu;
  var kept = total;
  var bottom = lo;
  if (topK) {
    let c = search(base, false, cutL, cutId, lo, hi, vec2<u32>(0u, 0u), vec2<u32>(s.topK, 0u), false);
    if (c.found) {
      cutL = c.l;
      cutId = c.id;
      bottom = c.l;
      kept = vec2<u32>(0u, 0u);
      for (var v = 0u; v < p.V; v = v + 1u) {
        if (inSet(logits[base + v], v, cutL, cutId)) { kept = add64(kept, vec2<u32>(wq[base + v], 0u)); }
      }
    }
  }
  let d = nucleusAndDraw(base, cutL, cutId, bottom, hi, kept, u);
  // A search fails only for logits too far apart to bin (never a trained model's): the top token then.
  return select(top, d.id, d.found);
}

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let b = linearGroup(wid, nwg) * ${workgroupSize}u + li;
  if (b >= p.B || rows[b].live == 0u) { return; }
  finish(b, choose(b));
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
