/**
 * The WebAssembly CPU engine (src/core/backends/wasm*): the emitter, each
 * kernel against the reference layers of src/core/gpt/layers.ts (with and
 * without fused multiply-add), and the whole backend against the TypeScript
 * backend, finite differences, determinism (threads included) and the
 * KV-cache decoder's bits. PyTorch parity of the same engine is in
 * parity.test.ts; Chromium in test/browser/wasm-parity.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NonFiniteError, type TokenBatch } from '../../src/core/backend';
import { CpuBackend } from '../../src/core/backends/cpu';
import { cpuReport, createBackend, createCpuBackend } from '../../src/core/backends/index';
import { WasmBackend } from '../../src/core/backends/wasm';
import { f32x4, i32, ModuleBuilder } from '../../src/core/backends/wasm/emit';
import { detectFeatures } from '../../src/core/backends/wasm/features';
import { attentionScratchBytes, GEMM, gemmPackBytes, KC, LN_BLOCK_ROWS, roundUp4, SUMSQ_BLOCK } from '../../src/core/backends/wasm/kernels';
import { WasmEngine } from '../../src/core/backends/wasm/runtime';
import { type GptConfig, paramLayout } from '../../src/core/gpt/config';
import { initParams } from '../../src/core/gpt/init';
import {
  attentionBackward, attentionForward, crossEntropyBackward, crossEntropyForward, encoderBackward, encoderForward, geluBackward,
  geluForward, layernormBackward, layernormForward,
} from '../../src/core/gpt/layers';
import { adamwUpdate } from '../../src/core/optim';
import { keyFromSeed, Rng } from '../../src/core/rng';
import { generate } from '../../src/core/sample';

const rng = Rng.fromSeed(17);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);

/** max |a − b| / max(1e-30, max |b|). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]! - b[i]!);
    if (!(x <= d)) d = Number.isNaN(x) ? Infinity : x;
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-30);
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

describe('the emitter', () => {
  test('builds a module that validates and computes, with i32 constants at the LEB128 edges', async () => {
    const mod = new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, shared: false });
    const values = [0, 1, -1, 63, 64, -64, -65, 127, 128, 2 ** 31 - 1, -(2 ** 31), 624485];
    values.forEach((v, i) => mod.func(`c${i}`, [], ['i32'], (f) => f.ret(i32.const(v))));
    mod.func('dot4', [['x', 'v128'], ['y', 'v128']], ['v128'], (f, x, y) => f.ret(f32x4.mul(x.get(), y.get())));
    const bytes = mod.toBytes();
    expect(WebAssembly.validate(bytes as BufferSource)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { instance } = await WebAssembly.instantiate(bytes as BufferSource, { env: { memory } });
    const ex = instance.exports as Record<string, () => number>;
    expect(values.map((_, i) => ex[`c${i}`]!())).toEqual(values);
  });

  test('an operand of the wrong type is refused when the kernel is built, naming the operator', () => {
    const mod = new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, shared: false });
    expect(() => mod.func('bad', [['a', 'i32']], [], (f, a) => f.stmt(f32x4.add(a.get(), a.get()))))
      .toThrow(/f32x4\.add: operand is i32, expected v128/);
    expect(() => new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, shared: true }).toBytes()).toThrow(/shared memory needs a maximum/);
  });
});

// ---------------------------------------------------------------------------
// Kernels against the reference layers, on engines with and without FMA.

const features = detectFeatures();

describe.each([
  { fma: false },
  ...(features.relaxedSimd ? [{ fma: true }] : []),
])('kernels (fma: $fma) against gpt/layers.ts', ({ fma }) => {
  let e: WasmEngine;
  beforeAll(async () => {
    e = await WasmEngine.standalone({ fma });
  });
  const put = (data: Float32Array | Int32Array): number => {
    const p = e.alloc(data.byteLength);
    (data instanceof Int32Array ? e.i32() : e.f32()).set(data, p >> 2);
    return p;
  };
  const read = (p: number, n: number) => e.f32().slice(p >> 2, (p >> 2) + n);

  test('gemm: A or Aᵀ, bias, accumulate, odd shapes, K over several k-blocks; packed or not, the same bits', () => {
    for (const [M, N, K] of [[7, 13, 5], [33, 20, 64], [50, 9, 130], [1, 3, 1], [21, 12, 2 * KC + 76]] as const) {
      for (const trans of [false, true]) {
        const a = randn(M * K);
        const b = randn(K * N);
        const bias = randn(N);
        const old = randn(M * N);
        // reference in float64: out = old + (Σ_k A[m,k]·B[k,n] + bias[n])
        const ref = new Float64Array(M * N);
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += (trans ? a[k * M + m]! : a[m * K + k]!) * b[k * N + n]!;
          ref[m * N + n] = old[m * N + n]! + s + bias[n]!;
        }
        const pa = put(a);
        const pb = put(b);
        const pbias = put(bias);
        const pack = e.alloc(gemmPackBytes(K));
        const outs = [0, pack].map((packPtr) => {
          const out = put(old);
          e.kernels.gemm(out, N, pa, trans ? 1 : K, trans ? M : 1, pb, N, M, N, K, pbias, GEMM.ACCUMULATE, packPtr, 0, 0, M, 0);
          return read(out, M * N);
        });
        expect(relDiff(outs[0]!, ref), `M${M} N${N} K${K} trans ${trans}`).toBeLessThan(K > KC ? 1e-4 : 1e-5);
        expect(sameBits(outs[0]!, outs[1]!), 'packed and unpacked products have the same bits').toBe(true);
        // one row at a time (the decoder's case) gives the same bits as the whole product
        const rows = new Float32Array(M * N);
        for (let m = 0; m < M; m++) {
          const out = put(old.slice(m * N, (m + 1) * N));
          e.kernels.gemm(out, N, pa + 4 * (trans ? m : m * K), trans ? 1 : K, trans ? M : 1, pb, N, 1, N, K, pbias, GEMM.ACCUMULATE, 0, 0, 0, 1, 0);
          rows.set(read(out, N), m * N);
        }
        expect(sameBits(rows, outs[0]!), 'a row alone has the bits it has in the batch').toBe(true);
      }
    }
  });

  test('gemm causal flags compute exactly the causal part', () => {
    const T = 11;
    const K = 6;
    const a = randn(T * K);
    const b = randn(K * T);
    const out = e.alloc(4 * T * T);
    e.kernels.gemm(out, T, put(a), K, 1, put(b), T, T, T, K, 0, GEMM.CAUSAL_N, 0, 0, 0, T, 0);
    const got = read(out, T * T);
    let worst = 0;
    for (let t = 0; t < T; t++) for (let u = 0; u <= t; u++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[t * K + k]! * b[k * T + u]!;
      worst = Math.max(worst, Math.abs(got[t * T + u]! - s));
    }
    expect(worst).toBeLessThan(1e-5);
    // CAUSAL_K_UPPER / _LOWER skip only terms whose A entry is 0: same bits as the full product
    // (T = 530 crosses a k-block boundary: the blocks sit at the same multiples of KC either way).
    for (const T2 of [T, KC + 18]) {
      const P = new Float32Array(T2 * T2);
      for (let t = 0; t < T2; t++) for (let u = 0; u <= t; u++) P[t * T2 + u] = rng.normal();
      const v = randn(T2 * K);
      const pP = put(P);
      const pv = put(v);
      const run = (sAm: number, sAk: number, flags: number) => {
        const o = e.alloc(4 * T2 * K);
        e.kernels.gemm(o, K, pP, sAm, sAk, pv, K, T2, K, T2, 0, flags, 0, 0, 0, T2, 0);
        return read(o, T2 * K);
      };
      expect(sameBits(run(T2, 1, GEMM.CAUSAL_K_UPPER), run(T2, 1, 0)), `T ${T2}`).toBe(true);
      expect(sameBits(run(1, T2, GEMM.CAUSAL_K_LOWER), run(1, T2, 0)), `T ${T2}`).toBe(true);
    }
  });

  test('layernorm forward and backward (C not a multiple of 4; several row blocks)', () => {
    const [N, C] = [37, 10];
    const inp = randn(N * C, 2);
    const w = randn(C);
    const b = randn(C);
    const ref = { out: new Float32Array(N * C), mean: new Float32Array(N), rstd: new Float32Array(N) };
    layernormForward(ref.out, ref.mean, ref.rstd, inp, w, b, N, C);
    const [po, pm, pr, pi, pw, pb] = [e.alloc(4 * N * C), e.alloc(4 * N), e.alloc(4 * N), put(inp), put(w), put(b)];
    e.kernels.layernormForward(po, pm, pr, pi, pw, pb, C, 0, N, 0);
    expect(relDiff(read(po, N * C), ref.out)).toBeLessThan(1e-6);
    expect(relDiff(read(pr, N), ref.rstd)).toBeLessThan(1e-6);
    const dout = randn(N * C);
    const dinp0 = randn(N * C);
    const refG = { dinp: dinp0.slice(), dw: new Float32Array(C), db: new Float32Array(C) };
    layernormBackward(refG.dinp, refG.dw, refG.db, dout, inp, w, ref.mean, ref.rstd, N, C);
    // Per-block partial sums of dweight and dbias, then added up in block order.
    const blocks = Math.ceil(N / LN_BLOCK_ROWS);
    const [pdi, pwPart, pbPart, pdw, pdb] = [put(dinp0), e.alloc(4 * blocks * C), e.alloc(4 * blocks * C), e.alloc(4 * C), e.alloc(4 * C)];
    e.kernels.layernormBackward(pdi, pwPart, pbPart, put(dout), pi, pw, pm, pr, N, C, 0, blocks, 0);
    e.kernels.columnSums(pdw, pwPart, blocks, C, 0, 0, C, 0);
    e.kernels.columnSums(pdb, pbPart, blocks, C, 0, 0, C, 0);
    expect(relDiff(read(pdi, N * C), refG.dinp)).toBeLessThan(1e-5);
    expect(relDiff(read(pdw, C), refG.dw)).toBeLessThan(1e-5);
    expect(relDiff(read(pdb, C), refG.db)).toBeLessThan(1e-5);
  });

  test('gelu forward and backward, including large |x| (the exp clamps)', () => {
    const n = 64;
    const inp = Float32Array.from(randn(n, 3), (x, i) => (i === 0 ? 40 : i === 1 ? -40 : i === 2 ? 0 : x));
    const ref = new Float32Array(n);
    geluForward(ref, inp, n);
    const pi = put(inp);
    const po = e.alloc(4 * n);
    e.kernels.geluForward(po, pi, 0, n, 0);
    expect(relDiff(read(po, n), ref)).toBeLessThan(1e-6);
    const dout = randn(n);
    const refD = new Float32Array(n);
    geluBackward(refD, inp, dout, n);
    const pd = e.alloc(4 * n);
    e.kernels.geluBackward(pd, pi, put(dout), 0, n, 0);
    expect(relDiff(read(pd, n), refD)).toBeLessThan(2e-6);
  });

  test('attention forward and backward, head size 6 (padded to 8), T = 11', () => {
    const [B, T, C, NH] = [2, 11, 12, 2];
    const Tp = roundUp4(T);
    const qkv = randn(B * T * 3 * C);
    const refOut = new Float32Array(B * T * C);
    const refAtt = new Float32Array(B * NH * T * T);
    attentionForward(refOut, refAtt, qkv, B, T, C, NH);
    const scratchBytes = attentionScratchBytes(T, C / NH);
    const [pq, po, pa, ps] = [put(qkv), e.alloc(4 * B * T * C), e.alloc(4 * B * NH * T * Tp), e.alloc(scratchBytes)];
    e.kernels.attentionForward(po, pa, pq, T, C, NH, ps, scratchBytes, 0, B * NH, 0);
    expect(relDiff(read(po, B * T * C), refOut)).toBeLessThan(1e-5);
    const att = read(pa, B * NH * T * Tp);
    let worst = 0;
    for (let r = 0; r < B * NH * T; r++) for (let u = 0; u < T; u++) worst = Math.max(worst, Math.abs(att[r * Tp + u]! - refAtt[r * T + u]!));
    expect(worst).toBeLessThan(1e-6);
    const dout = randn(B * T * C);
    const refD = new Float32Array(B * T * 3 * C);
    attentionBackward(refD, dout, qkv, refAtt, B, T, C, NH);
    const pd = e.alloc(4 * B * T * 3 * C);
    e.kernels.attentionBackward(pd, put(dout), pq, pa, T, C, NH, ps, scratchBytes, 0, B * NH, 0);
    expect(relDiff(read(pd, B * T * 3 * C), refD)).toBeLessThan(1e-5);
  });

  test('cross-entropy and its gradient, V = 53, zero and negative weights', () => {
    const [N, V] = [6, 53];
    const Vp = roundUp4(V);
    const logits = randn(N * V, 3);
    const targets = Int32Array.from([0, 52, 3, 17, 1, 40]);
    const weights = Float32Array.from([0.5, 0, -0.3, 1, 0.25, -1]);
    const refCe = new Float32Array(N);
    crossEntropyForward(refCe, logits, targets, N, V);
    const refD = new Float32Array(N * V);
    crossEntropyBackward(refD, logits, targets, weights, N, V);
    const padded = new Float32Array(N * Vp);
    for (let n = 0; n < N; n++) padded.set(logits.subarray(n * V, (n + 1) * V), n * Vp);
    const [pce, pd] = [e.alloc(4 * N), e.alloc(4 * N * Vp)];
    e.kernels.crossEntropy(pce, pd, put(padded), put(targets), put(weights), V, Vp, 0, N, 0);
    expect(relDiff(read(pce, N), refCe)).toBeLessThan(1e-6);
    const d = read(pd, N * Vp);
    const dense = new Float32Array(N * V);
    for (let n = 0; n < N; n++) dense.set(d.subarray(n * Vp, n * Vp + V), n * V);
    expect(relDiff(dense, refD)).toBeLessThan(1e-6);
  });

  test('AdamW step, Σx², column sums and the embedding against their references', () => {
    const config: GptConfig = { vocabSize: 7, contextLength: 4, dModel: 4, nLayers: 1, nHeads: 1 };
    const layout = paramLayout(config);
    const n = layout.total;
    const [p, g, m, v] = [randn(n), randn(n), randn(n, 0.1), Float32Array.from(randn(n, 0.1), Math.abs)];
    const h = { lr: 1e-2, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1 };
    const ref = { p: p.slice(), m: m.slice(), v: v.slice() };
    adamwUpdate(ref.p, g, ref.m, ref.v, layout, h, 3, 0.5);
    const [pp, pg, pm, pv] = [put(p), put(g), put(m), put(v)];
    for (const view of layout.views) {
      const o = 4 * view.offset;
      e.kernels.adamw(pp + o, pg + o, pm + o, pv + o, h.lr, h.beta1, h.beta2, 1 - h.beta1 ** 3, 1 - h.beta2 ** 3, h.eps,
        view.decay ? 1 - h.lr * h.weightDecay : 1, 0.5, 0, view.size, 0);
    }
    expect(relDiff(read(pp, n), ref.p)).toBeLessThan(1e-6);
    expect(relDiff(read(pm, n), ref.m)).toBeLessThan(1e-6);
    expect(relDiff(read(pv, n), ref.v)).toBeLessThan(1e-6);
    expect(Math.abs(e.kernels.sumSquares(pg, 0, n)! - g.reduce((s, x) => s + x * x, 0))).toBeLessThan(1e-9);
    const big = randn(SUMSQ_BLOCK + 13);
    const blocks = e.alloc(16);
    e.kernels.sumSquaresBlocks(blocks, put(big), big.length, 0, 2, 0);
    const partials = new Float64Array(e.memory.buffer, blocks, 2);
    expect(Math.abs(partials[0]! + partials[1]! - big.reduce((s, x) => s + x * x, 0))).toBeLessThan(1e-6);
    expect(partials[1]!).toBeCloseTo(big.subarray(SUMSQ_BLOCK).reduce((s, x) => s + x * x, 0), 9);
    const [R, OC] = [9, 7];
    const x = randn(R * OC);
    const out = e.alloc(4 * OC);
    e.kernels.columnSums(out, put(x), R, OC, 0, 0, OC, 0);
    const sums = Array.from({ length: OC }, (_, c) => x.filter((_, i) => i % OC === c).reduce((s, y) => s + y, 0));
    expect(relDiff(read(out, OC), sums)).toBeLessThan(1e-6);
    const [B, T, C, Vv] = [2, 3, 5, 6];
    const inp = Int32Array.from([0, 5, 2, 2, 1, 3]);
    const wte = randn(Vv * C);
    const wpe = randn(T * C);
    const refE = new Float32Array(B * T * C);
    encoderForward(refE, inp, wte, wpe, B, T, C);
    const [pe, pi, pwte, pwpe] = [e.alloc(4 * B * T * C), put(inp), put(wte), put(wpe)];
    e.kernels.encoderForward(pe, pi, 0, pwte, pwpe, T, C, 0, B * T, 0);
    expect(sameBits(read(pe, B * T * C), refE)).toBe(true);
    const dout = randn(B * T * C);
    const refDwte = new Float32Array(Vv * C);
    const refDwpe = new Float32Array(T * C);
    encoderBackward(refDwte, refDwpe, dout, inp, B, T, C);
    const [pdwte, pdwpe] = [e.alloc(4 * Vv * C), e.alloc(4 * T * C)];
    e.kernels.encoderBackward(pdwte, pdwpe, put(dout), pi, B * T, T, C);
    expect(relDiff(read(pdwte, Vv * C), refDwte)).toBeLessThan(1e-6);
    expect(relDiff(read(pdwpe, T * C), refDwpe)).toBeLessThan(1e-6);
  });
});

// ---------------------------------------------------------------------------
// The backend.

const configs: { name: string; config: GptConfig }[] = [
  { name: 'hs 8, V 13', config: { vocabSize: 13, contextLength: 16, dModel: 16, nLayers: 2, nHeads: 2 } },
  { name: 'hs 6 (padded), V 37, T 11', config: { vocabSize: 37, contextLength: 11, dModel: 24, nLayers: 2, nHeads: 4 } },
  { name: 'hs 5, C 5, one layer', config: { vocabSize: 9, contextLength: 7, dModel: 5, nLayers: 1, nHeads: 1 } },
];

function randomBatch(config: GptConfig, B: number, T: number, weightAt: (i: number) => number, seed = 9): TokenBatch {
  const r = new Rng(keyFromSeed(seed));
  const N = B * T;
  return {
    B, T,
    inputs: Int32Array.from({ length: N }, () => r.int(config.vocabSize)),
    targets: Int32Array.from({ length: N }, () => r.int(config.vocabSize)),
    weights: Float32Array.from({ length: N }, (_, i) => weightAt(i) / N),
  };
}

const HYPER = { lr: 1e-2, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1 };

describe.each(configs)('WasmBackend against the TypeScript backend: $name', ({ config }) => {
  test('logits, lastLogits, dense and sparse losses, every gradient, ten AdamW steps', async () => {
    const params = initParams(config, keyFromSeed(3));
    const ts = new CpuBackend(config);
    const wasm = await WasmBackend.create(config, { threads: 1 });
    await ts.setParams(params);
    await wasm.setParams(params);
    const B = 3;
    const T = config.contextLength;
    const dense = randomBatch(config, B, T, (i) => (i % 5 === 0 ? -0.5 : 1));
    expect(relDiff(await wasm.forwardLogits(dense.inputs, B, T), await ts.forwardLogits(dense.inputs, B, T))).toBeLessThan(1e-5);
    const positions = Int32Array.from([T - 1, 0, Math.floor(T / 2)]);
    expect(relDiff(await wasm.lastLogits(dense.inputs, B, T, positions), await ts.lastLogits(dense.inputs, B, T, positions))).toBeLessThan(1e-5);
    const sparse = randomBatch(config, B, T, (i) => (i % 7 === 3 ? 1 : i === 5 ? -0.4 : 0));
    for (const batch of [dense, sparse]) {
      const [a, b] = [await wasm.gradients(batch), await ts.gradients(batch)];
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
      expect(relDiff(a.perSeqLoss, b.perSeqLoss)).toBeLessThan(1e-5);
      for (const view of wasm.layout.views) {
        const diff = relDiff(a.grads.subarray(view.offset, view.offset + view.size), b.grads.subarray(view.offset, view.offset + view.size));
        expect(diff, view.name).toBeLessThan(1e-4);
      }
      expect(Math.abs((await wasm.evaluate(batch)).loss - (await ts.evaluate(batch)).loss)).toBeLessThan(1e-5);
    }
    for (let step = 0; step < 10; step++) {
      const batch = step % 2 ? sparse : dense;
      const [a, b] = [await wasm.trainStep(batch, HYPER, { loss: true, gradNorm: true }), await ts.trainStep(batch, HYPER, { loss: true, gradNorm: true })];
      expect(Math.abs(a.loss! - b.loss!), `step ${step + 1} loss`).toBeLessThan(1e-4);
      expect(Math.abs(a.gradNorm! - b.gradNorm!) / b.gradNorm!, `step ${step + 1} gradient norm`).toBeLessThan(1e-3);
    }
    expect(relDiff(await wasm.getParams(), await ts.getParams())).toBeLessThan(1e-3);
    const [mw, mt] = [await wasm.getOptimizerState(), await ts.getOptimizerState()];
    expect(mw.step).toBe(10);
    expect(relDiff(mw.m, mt.m)).toBeLessThan(1e-3);
    wasm.dispose();
  });
});

describe('WasmBackend', () => {
  const config = configs[1]!.config;
  let engine: WasmEngine;
  beforeAll(async () => {
    engine = await WasmEngine.get(1);
  });

  test('the whole-model gradient matches finite differences of its loss', async () => {
    const small: GptConfig = { vocabSize: 11, contextLength: 6, dModel: 8, nLayers: 2, nHeads: 2 };
    const backend = await WasmBackend.create(small, { threads: 1 });
    const params = initParams(small, keyFromSeed(3));
    for (let i = 0; i < params.length; i++) params[i] += rng.normal() * 0.05;
    await backend.setParams(params);
    const batch = randomBatch(small, 2, 5, (i) => (i % 4 === 0 ? -1 : 1));
    const { grads } = await backend.gradients(batch);
    let worst = 0;
    for (const view of backend.layout.views) {
      for (const i of [view.offset, view.offset + view.size - 1]) {
        const orig = params[i]!;
        const lossAt = async (x: number) => {
          params[i] = x;
          await backend.setParams(params);
          return (await backend.evaluate(batch)).loss;
        };
        const eps = 1e-2;
        const numeric = ((await lossAt(orig + eps)) - (await lossAt(orig - eps))) / (2 * eps);
        params[i] = orig;
        worst = Math.max(worst, Math.abs(grads[i]! - numeric));
      }
    }
    console.log(`Wasm whole-model gradient vs finite differences: worst abs error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
    backend.dispose();
  });

  test('same seed, same bits: twice on one thread, on two threads, and on an unshared memory (a page without isolation)', async () => {
    const run = async (opts: { threads: number; engine?: WasmEngine }) => {
      const b = await WasmBackend.create(config, opts);
      await b.setParams(initParams(config, keyFromSeed(5)));
      const losses: number[] = [];
      for (let s = 0; s < 4; s++) losses.push((await b.trainStep(randomBatch(config, 4, 11, () => 1, s), HYPER, { loss: true })).loss!);
      const p = await b.getParams();
      b.dispose();
      return { losses, p, description: b.description };
    };
    const one = await run({ threads: 1 });
    const again = await run({ threads: 1 });
    const two = await run({ threads: 2 });
    const unshared = await run({ threads: 2, engine: await WasmEngine.standalone({ shared: false, fma: engine.fma }) });
    console.log(`determinism: ${two.description}; unshared: ${unshared.description}`);
    expect(two.description).toContain('2 threads');
    expect(unshared.description).toContain('1 thread');
    expect(again.losses).toEqual(one.losses);
    expect(two.losses).toEqual(one.losses);
    expect(unshared.losses).toEqual(one.losses);
    expect(sameBits(again.p, one.p) && sameBits(two.p, one.p) && sameBits(unshared.p, one.p)).toBe(true);
  });

  test('the KV-cache decoder gives the full forward\'s logits bit for bit, and generate() the same tokens with or without it', async () => {
    for (const threads of [1, 2]) {
      const backend = await WasmBackend.create(config, { threads });
      await backend.setParams(initParams(config, keyFromSeed(6)));
      const V = config.vocabSize;
      const seq = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
      const full = await backend.forwardLogits(Int32Array.from(seq), 1, seq.length);
      const decoder = backend.createDecoder(3);
      for (let t = 0; t < seq.length; t++) {
        const logits = await decoder.step(Int32Array.from([0, 2]), Int32Array.from([7, seq[t]!]), Int32Array.from([t, t]));
        expect(sameBits(logits.subarray(V, 2 * V), full.subarray(t * V, (t + 1) * V)), `position ${t}`).toBe(true);
      }
      const inputs = Int32Array.from({ length: 3 * 11 }, (_, i) => (i * 7) % V);
      const last = await backend.lastLogits(inputs, 3, 11, Int32Array.from([10, 0, 4]));
      const all = await backend.forwardLogits(inputs, 3, 11);
      [10, 0, 4].forEach((t, b) => expect(sameBits(last.subarray(b * V, (b + 1) * V), all.subarray((b * 11 + t) * V, (b * 11 + t + 1) * V))).toBe(true));
      const plain = Object.create(backend, { createDecoder: { value: undefined } }) as WasmBackend;
      const prompts = [[1], [2, 3, 4], [5, 6], Array(10).fill(1)];
      for (const opts of [
        { maxNewTokens: 10, temperature: 1.3, topK: 0, topP: 1, stopTokens: [7], key: keyFromSeed(21) },
        { maxNewTokens: 8, temperature: 0.8, topK: 3, topP: 0.9, stopTokens: [2], key: keyFromSeed(23) },
      ]) {
        expect(await generate(backend, prompts, opts)).toEqual(await generate(plain, prompts, opts));
      }
      backend.dispose();
    }
  });

  test('a non-finite loss stops training and keeps the last good parameters; bad input names the field', async () => {
    const backend = await WasmBackend.create(config, { threads: 1 });
    const layout = paramLayout(config);
    const params = initParams(config, keyFromSeed(1));
    params[layout.wpe.offset + 3] = NaN;
    await backend.setParams(params);
    const before = await backend.getParams();
    const err = await backend.trainStep(randomBatch(config, 2, 11, () => 1), HYPER).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(sameBits(await backend.getParams(), before)).toBe(true);
    const bad = randomBatch(config, 2, 11, () => 1);
    bad.targets[3] = 99;
    await expect(backend.evaluate(bad)).rejects.toThrow(/batch.targets: id 99 at index 3/);
    await expect(backend.forwardLogits(Int32Array.from([0, 40]), 1, 2)).rejects.toThrow(/token id 40 at index 1/);
    await expect(backend.setParams(new Float32Array(3))).rejects.toThrow(/setParams: expected/);
    backend.dispose();
  });

  test('dispose frees its memory, and a disposed backend refuses work', async () => {
    const live = engine.liveBytes();
    const backend = await WasmBackend.create(config, { threads: 1 });
    await backend.setParams(initParams(config, keyFromSeed(1)));
    await backend.evaluate(randomBatch(config, 2, 11, () => 1));
    expect(backend.hostBytes()).toBeGreaterThan(0);
    expect(engine.liveBytes()).toBeGreaterThan(live);
    backend.dispose();
    expect(engine.liveBytes()).toBe(live);
    await expect(backend.evaluate(randomBatch(config, 2, 11, () => 1))).rejects.toThrow(/used after dispose/);
  });
});

describe('createBackend', () => {
  let backends: { dispose(): void }[] = [];
  afterAll(() => backends.forEach((b) => b.dispose()));

  test('the default CPU path is the WebAssembly engine; the TypeScript reference on request', async () => {
    const config = configs[0]!.config;
    const wasm = await createBackend(config, { prefer: 'cpu' });
    const ts = await createCpuBackend(config, { engine: 'ts' });
    backends = [wasm.backend, ts.backend];
    console.log(`CPU path: ${wasm.cpu?.reason}; report: ${JSON.stringify(cpuReport())}`);
    expect(wasm.backend).toBeInstanceOf(WasmBackend);
    expect(wasm.backend.kind).toBe('cpu');
    expect(wasm.cpu).toMatchObject({ engine: 'wasm', threads: cpuReport().threads });
    expect(ts.backend).toBeInstanceOf(CpuBackend);
    expect(ts.cpu.engine).toBe('ts');
    await expect(createCpuBackend(config, { threads: 0 })).rejects.toThrow(/threads: expected an integer ≥ 1/);
  });
});
