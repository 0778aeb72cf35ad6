/**
 * Matrix products for every linear layer, forward and backward:
 *
 *   out (M,N) = Σ_k A(m,k) · B(k,n)       row strides lda, ldb, ldo (floats)
 *
 *   forward  'nt…'  A = inp (rows,C),   B(k,n) = W[n,k], W (OC,C)  → inp · Wᵀ
 *   dinp     'nn…'  A = dout (rows,OC), B(k,n) = W[k,n]            → dout · W
 *   dW       'tn…'  A(m,k) = dout[k,m], B = inp (rows,C)           → doutᵀ · inp
 *
 * Fused epilogues (the "where easy" fusions):
 *   ntBias          + bias[n]                          (qkv)
 *   ntBiasResidual  + bias[n] + res[m,n]               (projections into the residual stream)
 *   ntBiasGelu      pre = · + bias[n]; out = gelu(pre) (mlp fc; pre kept for backward)
 *   nnGeluBackward  · × gelu'(pre[m,n])                (dfch from dfchGelu)
 *   tnBiasGrad      also dbias[m] = Σ_k A(m,k)         (bias gradients; summed in increasing k by the
 *                                                      invocations of the first column block)
 *
 * Two kernel families (see `KernelFamily`), each deterministic (every output
 * summed by one invocation in increasing k, no atomics):
 *
 *   tiled    hardware GPUs. A 256-invocation workgroup computes a 64×64 tile,
 *            4×4 outputs per invocation (rows ty+16i, columns tx+16j, so stores
 *            coalesce), marching over k in steps of 16 through workgroup memory
 *            (row stride 65 against bank conflicts). Edges are zero-filled.
 *   blocked  software adapters (SwiftShader, lavapipe: every invocation is a
 *            SIMD lane on a CPU core, barriers are coroutine switches). No
 *            workgroup memory, no barriers: one invocation computes an 8×8 block
 *            from vec4 loads along the contiguous axis of each operand, in
 *            straight-line code. Measured 5–7× faster than `tiled` on SwiftShader.
 *            Needs every offset and leading dimension to be a multiple of 4
 *            (dModel % 4 = 0); edge rows/columns are clamped for loads and
 *            skipped for stores. With K not a multiple of 4 ('nn' over the
 *            padded vocabulary) A must be zero-padded to the next multiple of 4.
 *   subgroup the blocked kernels for adapters with 4-lane subgroups
 *            (SwiftShader): the 4 lanes of a subgroup work on neighbouring
 *            blocks that share one operand, each lane loads a quarter of the
 *            shared rows and `subgroupBroadcast` hands them round (a register
 *            shuffle there, where a load is four gathers). 1.3–1.8× less CPU
 *            time than `blocked` on SwiftShader, same sums in the same order.
 */
import { paramsStruct, WGSL_COMMON } from './common';
import { GELU_WGSL } from './gelu';

export type MatmulVariant =
  | 'nt' | 'ntBias' | 'ntBiasResidual' | 'ntBiasGelu'
  | 'nn' | 'nnGeluBackward'
  | 'tn' | 'tnBiasGrad';

export const MATMUL_VARIANTS: readonly MatmulVariant[] = [
  'nt', 'ntBias', 'ntBiasResidual', 'ntBiasGelu', 'nn', 'nnGeluBackward', 'tn', 'tnBiasGrad',
];

/**
 * Float offsets of A, B, out and bias (or dbias) in their buffers, and the row
 * strides. Split-K (tiled 'tn…' only): workgroup z sums k in
 * [z·kChunk, (z+1)·kChunk) and writes its partial at out + z·outSlice (dbias
 * at biasOff + z·biasSlice); `SPLIT_K_REDUCE_WGSL` adds the partials. Without
 * a split, kChunk = K and the slices are unused.
 */
export const MATMUL_PARAMS = [
  'M', 'N', 'K', 'lda', 'ldb', 'ldo', 'aOff', 'bOff', 'outOff', 'biasOff', 'kChunk', 'outSlice', 'biasSlice',
] as const;

/**
 * Rows × columns of `out` computed by one invocation of the blocked kernels.
 * 8×8 measured best on SwiftShader for all three forms (4×8: −15–25%; larger
 * blocks spill).
 */
export const BLOCK_M = 8;
export const BLOCK_N = 8;

/** The extra binding 4 of the epilogues: residual input, gelu pre-activation output, or its input. */
function extraBinding(variant: MatmulVariant, vec: boolean): string {
  const ty = vec ? 'vec4<f32>' : 'f32';
  switch (variant) {
    case 'ntBiasResidual':
      return '@group(0) @binding(4) var<storage, read> res: array<f32>;       // (M,N) row stride ldo';
    case 'ntBiasGelu':
      return '@group(0) @binding(4) var<storage, read_write> pre: array<f32>; // (M,N) before gelu';
    case 'nnGeluBackward':
      return `@group(0) @binding(4) var<storage, read> pre: array<${ty}>;  // (M,N) forward fc output`;
    case 'nt': case 'ntBias': case 'nn': case 'tn': case 'tnBiasGrad':
      return '';
    default:
      return variant satisfies never;
  }
}

/** Scalar epilogue: store v, the sum for out[m,n], at float index o = m*ldo + n. `bias(n)` reads the bias. */
function scalarStore(variant: MatmulVariant, bias: (n: string) => string): string {
  switch (variant) {
    case 'nt': case 'nn': case 'tn': case 'tnBiasGrad':
      return 'out[p.outOff + o] = v;';
    case 'ntBias':
      return `out[p.outOff + o] = v + ${bias('n')};`;
    case 'ntBiasResidual':
      return `out[p.outOff + o] = res[o] + (v + ${bias('n')});`;
    case 'ntBiasGelu':
      return `let x = v + ${bias('n')};\n        pre[o] = x;\n        out[p.outOff + o] = gelu(x);`;
    case 'nnGeluBackward':
      return 'out[p.outOff + o] = v * geluGrad(pre[o]);';
    default:
      return variant satisfies never;
  }
}

// ---------------------------------------------------------------------------
// tiled (hardware GPUs)

/**
 * Bindings: 1 a (read), 2 b (read), 3 out (read_write), then 4 as `extraBinding`.
 * Dispatch (⌈N/64⌉, ⌈M/64⌉, k splits).
 */
export function matmulTiledWgsl(variant: MatmulVariant): string {
  const transA = variant.startsWith('tn'); // A stored (K,M): A(m,k) = a[k*lda + m]
  const transB = variant.startsWith('nt'); // B stored (N,K): B(k,n) = b[n*ldb + k]
  const biasGrad = variant === 'tnBiasGrad';
  // Tile loads: 1024 elements of each 16×64 tile, 4 per invocation, consecutive
  // invocations walking the operand's contiguous axis.
  const loadA = transA
    ? 'let mm = e % 64u; let kk = e / 64u;\n      let m = m0 + mm; let k = k0 + kk;\n      var x = 0.0;\n      if (m < p.M && k < kEnd) { x = a[p.aOff + k * p.lda + m]; }'
    : 'let mm = e / 16u; let kk = e % 16u;\n      let m = m0 + mm; let k = k0 + kk;\n      var x = 0.0;\n      if (m < p.M && k < kEnd) { x = a[p.aOff + m * p.lda + k]; }';
  const loadB = transB
    ? 'let nn = e / 16u; let kk = e % 16u;\n      let n = n0 + nn; let k = k0 + kk;\n      var x = 0.0;\n      if (n < p.N && k < kEnd) { x = b[p.bOff + n * p.ldb + k]; }'
    : 'let nn = e % 64u; let kk = e / 64u;\n      let n = n0 + nn; let k = k0 + kk;\n      var x = 0.0;\n      if (n < p.N && k < kEnd) { x = b[p.bOff + k * p.ldb + n]; }';
  return /* wgsl */ `
${WGSL_COMMON}
${GELU_WGSL}
${paramsStruct(MATMUL_PARAMS)}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${extraBinding(variant, false)}

const S = 65u; // row stride of the tiles in workgroup memory (64 + 1 against bank conflicts)
var<workgroup> As: array<f32, 1040>; // As[kk*S + mm], 16 × 65
var<workgroup> Bs: array<f32, 1040>; // Bs[kk*S + nn]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * 64u;
  let n0 = wid.x * 64u;
  let tx = lid.x;
  let ty = lid.y;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  ${biasGrad ? 'var dbias = vec4<f32>(0.0);\n  let ownsBias = wid.x == 0u && tx == 0u;' : ''}
  let kEnd = min(p.K, (wid.z + 1u) * p.kChunk);
  for (var k0 = wid.z * p.kChunk; k0 < kEnd; k0 = k0 + 16u) {
    for (var r = 0u; r < 4u; r = r + 1u) {
      let e = li + r * 256u;
      ${loadA}
      As[kk * S + mm] = x;
    }
    for (var r = 0u; r < 4u; r = r + 1u) {
      let e = li + r * 256u;
      ${loadB}
      Bs[kk * S + nn] = x;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk = kk + 1u) {
      let ak = kk * S + ty;
      let bk = kk * S + tx;
      let bv = vec4<f32>(Bs[bk], Bs[bk + 16u], Bs[bk + 32u], Bs[bk + 48u]);
      acc0 = acc0 + As[ak] * bv;
      acc1 = acc1 + As[ak + 16u] * bv;
      acc2 = acc2 + As[ak + 32u] * bv;
      acc3 = acc3 + As[ak + 48u] * bv;
    }
    ${biasGrad ? `if (ownsBias) {
      for (var kk = 0u; kk < 16u; kk = kk + 1u) {
        let ak = kk * S + ty;
        dbias = dbias + vec4<f32>(As[ak], As[ak + 16u], As[ak + 32u], As[ak + 48u]);
      }
    }` : ''}
    workgroupBarrier();
  }
  var acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = m0 + ty + 16u * i;
    if (m >= p.M) { continue; }
    ${biasGrad ? 'if (ownsBias) { out[p.biasOff + wid.z * p.biasSlice + m] = dbias[i]; }' : ''}
    for (var j = 0u; j < 4u; j = j + 1u) {
      let n = n0 + tx + 16u * j;
      if (n >= p.N) { continue; }
      let o = m * p.ldo + n${transA ? ' + wid.z * p.outSlice' : ''};
      let v = acc[i][j];
      ${scalarStore(variant, (n) => `b[p.biasOff + ${n}]`)}
    }
  }
}
`;
}

export const SPLIT_K_REDUCE_PARAMS = ['M', 'N', 'splits', 'ldo', 'outOff', 'biasOff', 'hasBias'] as const;
/**
 * Adds the split-K partials of a tiled 'tn…' product in split order:
 * out[outOff + m*ldo + n] = Σ_z part[z·M·N + m·N + n], and with hasBias
 * dbias[biasOff + m] = Σ_z part[splits·M·N + z·M + m]. One invocation per
 * output; dispatch ⌈(M·N + M)/256⌉ workgroups (2-D split). Bindings: 1 part, 2 out.
 */
export const SPLIT_K_REDUCE_WGSL = /* wgsl */ `
${WGSL_COMMON}
${paramsStruct(SPLIT_K_REDUCE_PARAMS)}
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let e = linearGroup(wid, nwg) * 256u + li;
  let MN = p.M * p.N;
  if (e < MN) {
    var s = 0.0;
    for (var z = 0u; z < p.splits; z = z + 1u) { s = s + part[z * MN + e]; }
    out[p.outOff + (e / p.N) * p.ldo + e % p.N] = s;
  } else if (p.hasBias != 0u && e < MN + p.M) {
    let m = e - MN;
    var s = 0.0;
    for (var z = 0u; z < p.splits; z = z + 1u) { s = s + part[p.splits * MN + z * p.M + m]; }
    out[p.biasOff + m] = s;
  }
}
`;

// ---------------------------------------------------------------------------
// blocked (software adapters)

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, f: (i: number) => string, indent = '  ') => range(n).map((i) => indent + f(i)).join('\n');
const XYZW = ['x', 'y', 'z', 'w'];

/**
 * tnBiasGrad's epilogue in the blocked kernels: the invocations of the first
 * column block store dbias of their rows, Σ_k A(m,k) accumulated in
 * increasing k beside the product (vec4 rows; M is a multiple of 4).
 */
function biasStores(MV: number, when: string): string {
  return `  if (${when}) {\n${lines(MV, (i) => `if (m0 + ${4 * i}u < p.M) { out[(p.biasOff + m0 + ${4 * i}u) / 4u] = db${i}; }`, '    ')}\n  }`;
}

/**
 * Bindings: 1 a (vec4 read), 2 b (vec4 read), 3 out (read_write: f32 for
 * 'nt…', vec4 for 'nn…'/'tn'), then 4 as `extraBinding`. One invocation per
 * BLOCK_M × BLOCK_N block of out; dispatch ⌈⌈M/BLOCK_M⌉·⌈N/BLOCK_N⌉ / 64⌉ workgroups (2-D split).
 */
export function matmulBlockedWgsl(variant: MatmulVariant): string {
  const biasGrad = variant === 'tnBiasGrad';
  const NV = BLOCK_N / 4; // vec4 columns per block
  const MV = BLOCK_M / 4; // vec4 rows per block (tn)
  const form = variant.slice(0, 2) as 'nt' | 'nn' | 'tn';
  const outVec = form !== 'nt';
  const head = /* wgsl */ `
${WGSL_COMMON}
${GELU_WGSL}
${paramsStruct(MATMUL_PARAMS)}
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<${outVec ? 'vec4<f32>' : 'f32'}>;
${extraBinding(variant, outVec)}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let id = linearGroup(wid, nwg) * 64u + li;
  let nb = (p.N + ${BLOCK_N - 1}u) / ${BLOCK_N}u;
  if (id >= nb * ((p.M + ${BLOCK_M - 1}u) / ${BLOCK_M}u)) { return; }
  let n0 = (id % nb) * ${BLOCK_N}u;
  let m0 = (id / nb) * ${BLOCK_M}u;
`;
  switch (form) {
    case 'nt': {
      // Dot form: both operands contiguous in k. Rows past the edge are clamped (loaded, never stored).
      const bias = (n: string) => `b[(p.biasOff + ${n}) / 4u][(p.biasOff + ${n}) % 4u]`;
      return `${head}
${lines(BLOCK_M, (i) => `let ar${i} = (p.aOff + min(m0 + ${i}u, p.M - 1u) * p.lda) / 4u;`)}
${lines(BLOCK_N, (j) => `let br${j} = (p.bOff + min(n0 + ${j}u, p.N - 1u) * p.ldb) / 4u;`)}
${lines(BLOCK_M, (i) => range(BLOCK_N).map((j) => `var c${i}${j} = 0.0;`).join(' '))}
  for (var k = 0u; k < p.K / 4u; k = k + 1u) {
${lines(BLOCK_M, (i) => `let a${i} = a[ar${i} + k];`, '    ')}
${lines(BLOCK_N, (j) => `let b${j} = b[br${j} + k];`, '    ')}
${lines(BLOCK_M, (i) => range(BLOCK_N).map((j) => `c${i}${j} = c${i}${j} + dot(a${i}, b${j});`).join(' '), '    ')}
  }
  var c = array<f32, ${BLOCK_M * BLOCK_N}>(${range(BLOCK_M).flatMap((i) => range(BLOCK_N).map((j) => `c${i}${j}`)).join(', ')});
  for (var i = 0u; i < ${BLOCK_M}u; i = i + 1u) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < ${BLOCK_N}u; j = j + 1u) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      let o = m * p.ldo + n;
      let v = c[i * ${BLOCK_N}u + j];
      ${scalarStore(variant, bias)}
    }
  }
}
`;
    }
    case 'nn': {
      // A rows along k (vec4), B rows along n (vec4): c_i_j (vec4 over 4 columns) += A(m_i,k)·B(k, n0+4j..).
      // B rows past K (the padded vocabulary) are clamped to K−1: finite values times A's zero padding.
      const store = variant === 'nnGeluBackward'
        ? (i: number, j: number) => `out[q${j}] = c${i}${j} * vec4<f32>(${XYZW.map((x) => `geluGrad(pre[q${j}].${x})`).join(', ')});`
        : (i: number, j: number) => `out[q${j}] = c${i}${j};`;
      return `${head}
${lines(BLOCK_M, (i) => `let ar${i} = (p.aOff + min(m0 + ${i}u, p.M - 1u) * p.lda) / 4u;`)}
${lines(NV, (j) => `let bc${j} = (p.bOff + min(n0 + ${4 * j}u, p.N - 4u)) / 4u;`)}
${lines(BLOCK_M, (i) => range(NV).map((j) => `var c${i}${j} = vec4<f32>(0.0);`).join(' '))}
  let ldb4 = p.ldb / 4u;
  for (var k = 0u; k < (p.K + 3u) / 4u; k = k + 1u) {
${lines(BLOCK_M, (i) => `let a${i} = a[ar${i} + k];`, '    ')}
${lines(4, (r) => `let kr${r} = min(4u * k + ${r}u, p.K - 1u) * ldb4;`, '    ')}
${lines(4, (r) => range(NV).map((j) => `let b${r}${j} = b[bc${j} + kr${r}];`).join(' '), '    ')}
${lines(BLOCK_M, (i) => range(NV).map((j) => `c${i}${j} = c${i}${j} + a${i}.x * b0${j} + a${i}.y * b1${j} + a${i}.z * b2${j} + a${i}.w * b3${j};`).join(' '), '    ')}
  }
${lines(BLOCK_M, (i) => `if (m0 + ${i}u < p.M) {
    ${range(NV).map((j) => `if (n0 + ${4 * j}u < p.N) { let q${j} = (p.outOff + (m0 + ${i}u) * p.ldo + n0 + ${4 * j}u) / 4u; ${store(i, j)} }`).join('\n    ')}
  }`)}
}
`;
    }
    case 'tn': {
      // Outer products: per k (a row of the batch), A along m (one vec4) times B along n (two vec4).
      return `${head}
${lines(MV, (i) => `let ac${i} = (p.aOff + min(m0 + ${4 * i}u, p.lda - 4u)) / 4u;`)}
${lines(NV, (j) => `let bc${j} = (p.bOff + min(n0 + ${4 * j}u, p.N - 4u)) / 4u;`)}
${lines(BLOCK_M, (i) => range(NV).map((j) => `var c${i}${j} = vec4<f32>(0.0);`).join(' '))}
${biasGrad ? lines(MV, (i) => `var db${i} = vec4<f32>(0.0);`) : ''}
  let lda4 = p.lda / 4u;
  let ldb4 = p.ldb / 4u;
  for (var k = 0u; k < p.K; k = k + 1u) {
${lines(MV, (i) => `let a${i} = a[ac${i} + k * lda4];`, '    ')}
${lines(NV, (j) => `let b${j} = b[bc${j} + k * ldb4];`, '    ')}
${lines(BLOCK_M, (i) => range(NV).map((j) => `c${i}${j} = c${i}${j} + a${Math.floor(i / 4)}.${XYZW[i % 4]} * b${j};`).join(' '), '    ')}
${biasGrad ? lines(MV, (i) => `db${i} = db${i} + a${i};`, '    ') : ''}
  }
${biasGrad ? biasStores(MV, 'n0 == 0u') : ''}
${lines(BLOCK_M, (i) => `if (m0 + ${i}u < p.M) {
    ${range(NV).map((j) => `if (n0 + ${4 * j}u < p.N) { out[(p.outOff + (m0 + ${i}u) * p.ldo + n0 + ${4 * j}u) / 4u] = c${i}${j}; }`).join('\n    ')}
  }`)}
}
`;
    }
    default:
      return form satisfies never;
  }
}

/**
 * Lane blocks of the subgroup kernels: rows × columns per lane; the subgroup
 * (4 lanes) covers 4× the rows of one lane. 'nt' 4×8, 'nn' 4×8, 'tn' 8×16
 * measured best (CPU time of the SwiftShader process).
 */
const SUBGROUP_BLOCKS = { nt: [4, 8], nn: [4, 8], tn: [8, 16] } as const;

/** Invocations of a subgroup kernel for an (M,N) output (4 per subgroup block). */
export function subgroupMatmulInvocations(variant: MatmulVariant, M: number, N: number): number {
  const [bm, bn] = SUBGROUP_BLOCKS[variant.slice(0, 2) as 'nt' | 'nn' | 'tn'];
  return 4 * Math.ceil(M / (4 * bm)) * Math.ceil(N / bn);
}

/**
 * The blocked kernels with 4-lane subgroups sharing the B operand (see the
 * family notes above). Bindings as `matmulBlockedWgsl`. Lanes of a subgroup
 * must be 4 consecutive invocations (checked once per device by
 * SUBGROUP_LAYOUT_CHECK_WGSL). Dispatch ⌈subgroupMatmulInvocations/64⌉ workgroups.
 */
export function matmulSubgroupWgsl(variant: MatmulVariant): string {
  const biasGrad = variant === 'tnBiasGrad';
  const form = variant.slice(0, 2) as 'nt' | 'nn' | 'tn';
  const [BM, BN] = SUBGROUP_BLOCKS[form];
  const NV = BN / 4;
  const outVec = form !== 'nt';
  // Every lane runs the k loop (subgroupBroadcast needs all four); lanes past the
  // end compute a clamped duplicate block and store nothing.
  const head = /* wgsl */ `enable subgroups;
${WGSL_COMMON}
${GELU_WGSL}
${paramsStruct(MATMUL_PARAMS)}
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<${outVec ? 'vec4<f32>' : 'f32'}>;
${extraBinding(variant, outVec)}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let sg = (linearGroup(wid, nwg) * 64u + li) / 4u;
  let nb = (p.N + ${BN - 1}u) / ${BN}u;
  let mbs = (p.M + ${4 * BM - 1}u) / ${4 * BM}u;
  let live = sg < nb * mbs;
  let n0 = (sg % nb) * ${BN}u;
  let m0 = min(sg / nb, mbs - 1u) * ${4 * BM}u + lane * ${BM}u; // this lane's first row
`;
  const stores = (store: (i: number) => string) => `  if (!live) { return; }
${lines(BM, (i) => `if (m0 + ${i}u < p.M) {\n${store(i)}\n  }`)}
}
`;
  switch (form) {
    case 'nt': {
      // Dot form; lane l loads B rows n0+2l, n0+2l+1 and broadcasts them.
      const per = BN / 4;
      const bias = (n: string) => `b[(p.biasOff + ${n}) / 4u][(p.biasOff + ${n}) % 4u]`;
      return `${head}
${lines(BM, (i) => `let ar${i} = (p.aOff + min(m0 + ${i}u, p.M - 1u) * p.lda) / 4u;`)}
${lines(per, (j) => `let br${j} = (p.bOff + min(n0 + lane * ${per}u + ${j}u, p.N - 1u) * p.ldb) / 4u;`)}
${lines(BM, (i) => range(BN).map((j) => `var c${i}${j} = 0.0;`).join(' '))}
  for (var k = 0u; k < p.K / 4u; k = k + 1u) {
${lines(BM, (i) => `let a${i} = a[ar${i} + k];`, '    ')}
${lines(per, (j) => `let mine${j} = b[br${j} + k];`, '    ')}
${lines(BN, (j) => `let b${j} = subgroupBroadcast(mine${j % per}, ${Math.floor(j / per)}u);`, '    ')}
${lines(BM, (i) => range(BN).map((j) => `c${i}${j} = c${i}${j} + dot(a${i}, b${j});`).join(' '), '    ')}
  }
${stores((i) => range(BN).map((j) => `    if (n0 + ${j}u < p.N) {
      let m = m0 + ${i}u;
      let n = n0 + ${j}u;
      let o = m * p.ldo + n;
      let v = c${i}${j};
      ${scalarStore(variant, bias)}
    }`).join('\n'))}`;
    }
    case 'nn': {
      // Lane l loads row 4k+l of B (NV vec4 along n) and broadcasts it.
      const store = variant === 'nnGeluBackward'
        ? (i: number, j: number) => `out[q] = c${i}${j} * vec4<f32>(${XYZW.map((x) => `geluGrad(pre[q].${x})`).join(', ')});`
        : (i: number, j: number) => `out[q] = c${i}${j};`;
      return `${head}
${lines(BM, (i) => `let ar${i} = (p.aOff + min(m0 + ${i}u, p.M - 1u) * p.lda) / 4u;`)}
${lines(NV, (j) => `let bc${j} = (p.bOff + min(n0 + ${4 * j}u, p.N - 4u)) / 4u;`)}
${lines(BM, (i) => range(NV).map((j) => `var c${i}${j} = vec4<f32>(0.0);`).join(' '))}
  let ldb4 = p.ldb / 4u;
  for (var k = 0u; k < (p.K + 3u) / 4u; k = k + 1u) {
${lines(BM, (i) => `let a${i} = a[ar${i} + k];`, '    ')}
    let kr = min(4u * k + lane, p.K - 1u) * ldb4; // rows past K: clamped, times A's zero padding
${lines(NV, (j) => `let mine${j} = b[bc${j} + kr];`, '    ')}
${lines(4, (r) => range(NV).map((j) => `let b${r}${j} = subgroupBroadcast(mine${j}, ${r}u);`).join(' '), '    ')}
${lines(BM, (i) => range(NV).map((j) => `c${i}${j} = c${i}${j} + a${i}.x * b0${j} + a${i}.y * b1${j} + a${i}.z * b2${j} + a${i}.w * b3${j};`).join(' '), '    ')}
  }
${stores((i) => range(NV).map((j) => `    if (n0 + ${4 * j}u < p.N) { let q = (p.outOff + (m0 + ${i}u) * p.ldo + n0 + ${4 * j}u) / 4u; ${store(i, j)} }`).join('\n'))}`;
    }
    case 'tn': {
      // Per k: A along m (this lane's BM/4 vec4), B along n: lane l loads vec4 l of the NV, broadcast.
      const MV = BM / 4;
      const per = NV / 4;
      return `${head}
${lines(MV, (i) => `let ac${i} = (p.aOff + min(m0 + ${4 * i}u, p.lda - 4u)) / 4u;`)}
${lines(per, (j) => `let bc${j} = (p.bOff + min(n0 + (lane * ${per}u + ${j}u) * 4u, p.N - 4u)) / 4u;`)}
${lines(BM, (i) => range(NV).map((j) => `var c${i}${j} = vec4<f32>(0.0);`).join(' '))}
${biasGrad ? lines(MV, (i) => `var db${i} = vec4<f32>(0.0);`) : ''}
  let lda4 = p.lda / 4u;
  let ldb4 = p.ldb / 4u;
  for (var k = 0u; k < p.K; k = k + 1u) {
${lines(MV, (i) => `let a${i} = a[ac${i} + k * lda4];`, '    ')}
${biasGrad ? lines(MV, (i) => `db${i} = db${i} + a${i};`, '    ') : ''}
${lines(per, (j) => `let mine${j} = b[bc${j} + k * ldb4];`, '    ')}
${lines(NV, (j) => `let b${j} = subgroupBroadcast(mine${j % per}, ${Math.floor(j / per)}u);`, '    ')}
${lines(BM, (i) => range(NV).map((j) => `c${i}${j} = c${i}${j} + a${Math.floor(i / 4)}.${XYZW[i % 4]} * b${j};`).join(' '), '    ')}
  }
${biasGrad ? biasStores(MV, 'live && n0 == 0u') : ''}
${stores((i) => range(NV).map((j) => `    if (n0 + ${4 * j}u < p.N) { out[(p.outOff + (m0 + ${i}u) * p.ldo + n0 + ${4 * j}u) / 4u] = c${i}${j}; }`).join('\n'))}`;
    }
    default:
      return form satisfies never;
  }
}

/**
 * Does this device run 64-invocation workgroups as subgroups of 4 consecutive
 * invocations? out[i] = 1 when invocation i sees subgroup size 4 and lane 0 of
 * its subgroup is i − i mod 4 (what `matmulSubgroupWgsl` relies on). One
 * workgroup; binding 0 out (64 u32).
 */
export const SUBGROUP_LAYOUT_CHECK_WGSL = /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) li: u32, @builtin(subgroup_size) size: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let first = subgroupBroadcast(li, 0u);
  out[li] = select(0u, 1u, size == 4u && lane == li % 4u && first == li - li % 4u);
}
`;
