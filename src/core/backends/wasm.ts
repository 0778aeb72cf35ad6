/**
 * The default CPU backend: the GPT of `cpu.ts` (the readable TypeScript
 * reference, same layer order, same buffers) run by the WebAssembly SIMD
 * kernels of `wasm/kernels.ts`, with the big kernels split across a worker
 * pool where shared memory allows (`wasm/runtime.ts`, `wasm/pool.ts`).
 * Design and measurements: docs/cpu-engine.md.
 *
 * All tensors live in the engine's one WebAssembly memory and are passed to
 * kernels as byte addresses. Matrices used as the right operand of a
 * forward product are kept transposed (W (OC,C) → Wᵀ (C,OC)) and refreshed
 * after the parameters change; logits rows are padded to Vp = V rounded up
 * to 4 floats. Arithmetic differs from the reference in summation order and
 * (where relaxed SIMD exists) fused multiply-adds, so results agree to
 * rounding, not bit for bit; a run is deterministic for a given machine and
 * does not depend on the number of threads.
 */
import {
  type Backend, type Decoder, type LossResult, NonFiniteError, type OptimizerState, type StepHyper, type StepResult,
  type TokenBatch,
} from '../backend';
import { type GptConfig, type ParamLayout, type ParamView, paramLayout } from '../gpt/config';
import { clipScale } from '../optim';
import { checkBatch } from './batch';
import { defaultThreads } from './wasm/features';
import { attentionScratchBytes, DEFAULT_TILE, GEMM, gemmPackBytes, LN_BLOCK_ROWS, roundUp4, SUMSQ_BLOCK } from './wasm/kernels';
import { WasmEngine, type WasmReport } from './wasm/runtime';

/** Byte offsets of one shape's activations within its block (see allocActs). */
interface Acts {
  B: number; T: number;
  /** The block holding everything below (freed when the shape leaves the cache). */
  block: number;
  bytes: number;
  inputs: number; targets: number; weights: number; // (N) i32, i32, f32
  encoded: number; // (N,C)
  blocks: BlockActs[];
  lnf: number; lnfMean: number; lnfRstd: number;
  logits: number; // (N,Vp)
  ce: number; // (N)
  lnfRows: number; // (N,C) the sparse head's gathered rows
  scratch: number; // per-thread attention scratch
  scratchBytes: number;
  lnPartials: number; // (2, ⌈N/LN_BLOCK_ROWS⌉, C) LayerNorm backward's per-block weight and bias sums
  /** Gradient scratch (same block). */
  dlogits: number; dlnf: number; dres: number; dln: number; datty: number; dqkv: number; dfchGelu: number; dfch: number;
}

interface BlockActs {
  ln1: number; ln1Mean: number; ln1Rstd: number; qkv: number; att: number; atty: number; res2: number;
  ln2: number; ln2Mean: number; ln2Rstd: number; fch: number; fchGelu: number; res3: number;
}

/** Float counts of named arrays → byte offsets within one block (each 64-byte aligned, with a spare vector after it). */
function packOffsets<K extends string>(base: number, floats: Record<K, number>): { offsets: Record<K, number>; end: number } {
  const offsets = {} as Record<K, number>;
  let at = base;
  for (const k of Object.keys(floats) as K[]) {
    offsets[k] = at;
    at += Math.ceil((4 * floats[k] + 64) / 64) * 64;
  }
  return { offsets, end: at };
}

const CACHED_SHAPES = 4;

/** See cpu.ts weightedRows: the weighted rows when fewer than 3 in 4 are, else null. */
function weightedRows(batch: TokenBatch): Int32Array | null {
  const N = batch.B * batch.T;
  let count = 0;
  for (let i = 0; i < N; i++) if (batch.weights[i] !== 0) count++;
  if (count * 4 >= N * 3) return null;
  const rows = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < N; i++) if (batch.weights[i] !== 0) rows[k++] = i;
  return rows;
}

/** Frees a backend's (or decoder's) blocks if it is garbage-collected without dispose(). */
const orphans = new FinalizationRegistry<{ engine: WasmEngine; blocks: number[] }>(({ engine, blocks }) => {
  for (const b of blocks) engine.free(b);
});

export interface WasmBackendOptions {
  /** Threads for the big kernels (1 = this thread only). Default: see features.ts defaultThreads. */
  threads?: number;
  /** An engine other than this thread's shared one (tests: WasmEngine.standalone). */
  engine?: WasmEngine;
}

export class WasmBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly description: string;
  readonly layout: ParamLayout;
  readonly report: WasmReport;
  private readonly P: number;
  /** Byte addresses of the parameter, gradient and moment buffers (layout.total floats each). */
  private readonly params: number;
  private readonly grads: number;
  private readonly m: number;
  private readonly v: number;
  /** Transposed matrices: per block qkvwᵀ (C,3C), attprojwᵀ (C,C), fcwᵀ (C,4C), fcprojwᵀ (4C,C); then wteᵀ (C,V). */
  private readonly wT: number;
  private readonly wTOffsets: { qkv: number; attproj: number; fc: number; fcproj: number }[] = [];
  private readonly wteT: number;
  /** Parameters change → transposes are stale. */
  private paramsVersion = 0;
  private transposedVersion = -1;
  private step = 0;
  private actsCache: Acts[] = [];
  private readonly owned: { engine: WasmEngine; blocks: number[] };
  /** Bytes of each live block (for hostBytes). */
  private readonly bytes = new Map<number, number>();
  private disposed = false;
  private readonly Vp: number;
  /** gemm's packing scratch (all threads) and its size; Σg²'s per-block partial sums. */
  private pack = 0;
  private packSize = 0;
  private sumSqPartials = 0;

  private constructor(readonly config: GptConfig, private readonly engine: WasmEngine, readonly threads: number, reason: string) {
    this.layout = paramLayout(config);
    const { dModel: C, vocabSize: V } = config;
    this.P = this.layout.total;
    this.Vp = roundUp4(V);
    this.owned = { engine, blocks: [] };
    this.params = this.alloc(4 * this.P);
    this.grads = this.alloc(4 * this.P);
    this.m = this.alloc(4 * this.P);
    this.v = this.alloc(4 * this.P);
    let wTFloats = 0;
    for (let l = 0; l < config.nLayers; l++) {
      const o = { qkv: wTFloats, attproj: 0, fc: 0, fcproj: 0 };
      wTFloats += 3 * C * C;
      o.attproj = wTFloats;
      wTFloats += C * C;
      o.fc = wTFloats;
      wTFloats += 4 * C * C;
      o.fcproj = wTFloats;
      wTFloats += 4 * C * C;
      this.wTOffsets.push(o);
    }
    this.wT = this.alloc(4 * (wTFloats + C * V));
    this.wteT = this.wT + 4 * wTFloats;
    this.report = { threads, reason, fma: engine.fma, sharedMemory: engine.features.sharedMemory };
    this.description = `CPU (WebAssembly SIMD${engine.fma ? ', fused multiply-add' : ''}, ${threads} thread${threads > 1 ? 's' : ''})`;
    orphans.register(this, this.owned, this);
  }

  /** A backend on this thread's engine (compiled on first use). */
  static async create(config: GptConfig, opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    // A first engine with no pool tells what the platform allows; the pool is started only if threads are used.
    const probe = opts.engine ?? await WasmEngine.get(1);
    const auto = defaultThreads(probe.features);
    let threads = auto.threads;
    let reason = auto.reason;
    if (opts.threads !== undefined) {
      if (!(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new Error(`threads: expected an integer ≥ 1, got ${opts.threads}`);
      threads = probe.features.sharedMemory ? opts.threads : 1;
      reason = probe.features.sharedMemory ? `${threads} thread${threads > 1 ? 's' : ''} requested`
        : `1 thread (asked for ${opts.threads}): ${probe.features.sharedMemoryReason}`;
    }
    let engine = probe;
    if (threads > 1) {
      try {
        if (opts.engine) await opts.engine.ensurePool(threads);
        else engine = await WasmEngine.get(threads);
        threads = Math.min(threads, engine.poolThreads);
      } catch (e) {
        reason = `1 thread: the worker pool did not start (${e instanceof Error ? e.message : String(e)})`;
        threads = 1;
      }
    }
    return new WasmBackend(config, engine, threads, reason);
  }

  private alloc(bytes: number): number {
    const p = this.engine.alloc(bytes);
    this.owned.blocks.push(p);
    this.bytes.set(p, bytes);
    return p;
  }

  private release(ptr: number): void {
    this.engine.free(ptr);
    this.owned.blocks.splice(this.owned.blocks.indexOf(ptr), 1);
    this.bytes.delete(ptr);
  }

  /** Throws once dispose() was called. */
  live(): void {
    if (this.disposed) throw new Error('CPU (WebAssembly) backend: used after dispose()');
  }

  /** Byte address of a parameter view, in the parameters or the gradients. */
  p(view: ParamView): number {
    return this.params + 4 * view.offset;
  }

  private g(view: ParamView): number {
    return this.grads + 4 * view.offset;
  }

  private f32(): Float32Array {
    return this.engine.f32();
  }

  async setParams(params: Float32Array): Promise<void> {
    this.live();
    if (params.length !== this.P) throw new Error(`setParams: expected ${this.P} floats for this config, got ${params.length}`);
    this.f32().set(params, this.params >> 2);
    this.paramsVersion++;
  }

  async getParams(): Promise<Float32Array> {
    this.live();
    return this.f32().slice(this.params >> 2, (this.params >> 2) + this.P);
  }

  async getOptimizerState(): Promise<OptimizerState> {
    this.live();
    const h = this.f32();
    return { step: this.step, m: h.slice(this.m >> 2, (this.m >> 2) + this.P), v: h.slice(this.v >> 2, (this.v >> 2) + this.P) };
  }

  async setOptimizerState(state: OptimizerState): Promise<void> {
    this.live();
    if (state.m.length !== this.P || state.v.length !== this.P) throw new Error(`setOptimizerState: moments must have ${this.P} floats`);
    this.step = state.step;
    this.f32().set(state.m, this.m >> 2);
    this.f32().set(state.v, this.v >> 2);
  }

  async forwardLogits(inputs: Int32Array, B: number, T: number): Promise<Float32Array> {
    const acts = this.forward(inputs, B, T);
    return this.copyRows(acts.logits, this.Vp, B * T, this.config.vocabSize);
  }

  /** The trunk for every position, the LM head only at positions[b] of each row. */
  async lastLogits(inputs: Int32Array, B: number, T: number, positions: Int32Array): Promise<Float32Array> {
    const { dModel: C, vocabSize: V } = this.config;
    for (let b = 0; b < B; b++) {
      const t = positions[b]!;
      if (!(t >= 0 && t < T)) throw new Error(`lastLogits: position ${t} of row ${b} is outside [0, ${T})`);
    }
    const acts = this.forward(inputs, B, T, false);
    const h = this.f32();
    for (let b = 0; b < B; b++) {
      const src = (acts.lnf >> 2) + (b * T + positions[b]!) * C;
      h.copyWithin((acts.lnfRows >> 2) + b * C, src, src + C);
    }
    this.head(acts.logits, acts.lnfRows, B);
    return this.copyRows(acts.logits, this.Vp, B, V);
  }

  createDecoder(B: number): Decoder {
    this.live();
    return new WasmDecoder(this, this.engine, B);
  }

  async evaluate(batch: TokenBatch): Promise<LossResult> {
    checkBatch(batch, this.config);
    const rows = weightedRows(batch);
    const acts = this.forward(batch.inputs, batch.B, batch.T, rows === null);
    this.stageTargets(acts, batch, rows);
    const M = rows ? rows.length : batch.B * batch.T;
    if (rows) this.gatherRows(acts, rows);
    this.crossEntropy(acts, M, false);
    return this.lossOf(acts, batch, rows);
  }

  async gradients(batch: TokenBatch): Promise<LossResult & { grads: Float32Array }> {
    const result = this.forwardBackward(batch);
    return { ...result, grads: this.f32().slice(this.grads >> 2, (this.grads >> 2) + this.P) };
  }

  async trainStep(batch: TokenBatch, h: StepHyper, read: { loss?: boolean; gradNorm?: boolean } = {}): Promise<StepResult> {
    const { loss } = this.forwardBackward(batch);
    const t = this.step + 1;
    const norm = Math.sqrt(this.sumSquares());
    if (!Number.isFinite(loss)) throw new NonFiniteError(t, 'the loss');
    if (!Number.isFinite(norm)) throw new NonFiniteError(t, 'the gradient');
    const scale = clipScale(norm, h.gradClip);
    const bc1 = 1 - Math.pow(h.beta1, t);
    const bc2 = 1 - Math.pow(h.beta2, t);
    for (const view of this.layout.views) {
      const decay = view.decay ? 1 - h.lr * h.weightDecay : 1;
      const o = 4 * view.offset;
      this.engine.run('adamw', [this.params + o, this.grads + o, this.m + o, this.v + o, h.lr, h.beta1, h.beta2, bc1, bc2, h.eps, decay, scale],
        view.size, this.grain(view.size, 4), this.threads, view.size);
    }
    this.paramsVersion++;
    this.step = t;
    const out: StepResult = { step: t };
    if (read.loss) out.loss = loss;
    if (read.gradNorm) out.gradNorm = norm;
    return out;
  }

  /** Σ g² over the gradient, in float64: per-block sums (on the pool), added in block order here. */
  private sumSquares(): number {
    const blocks = Math.ceil(this.P / SUMSQ_BLOCK);
    if (!this.sumSqPartials) this.sumSqPartials = this.alloc(8 * blocks);
    this.engine.run('sumSquaresBlocks', [this.sumSqPartials, this.grads, this.P], blocks, this.grain(blocks, 1), this.threads, this.P);
    const partials = new Float64Array(this.engine.memory.buffer, this.sumSqPartials, blocks);
    let s = 0;
    for (const x of partials) s += x;
    return s;
  }

  deviceBytes(): number {
    return 0;
  }

  /** Bytes this backend holds in the engine's WebAssembly memory (parameters, gradients, moments, transposes, activations, scratch). */
  hostBytes(): number {
    let n = 0;
    for (const b of this.bytes.values()) n += b;
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    orphans.unregister(this);
    for (const b of this.owned.blocks) this.engine.free(b);
    this.owned.blocks = [];
    this.bytes.clear();
    this.actsCache = [];
  }

  // -------------------------------------------------------------------------
  // Kernel calls

  /** Chunk size for splitting n units over this backend's threads: about 3 chunks per thread, a multiple of `multiple`. */
  private grain(n: number, multiple: number): number {
    const per = Math.ceil(n / (3 * this.threads));
    return Math.max(multiple, Math.ceil(per / multiple) * multiple);
  }

  /**
   * out (M,N) (+)= A·B (+ bias): see kernels.ts gemm; split over rows of out.
   * Products of 16 rows or more pack their operands into per-thread scratch
   * (fewer rows do not repay the copy; the result has the same bits either way).
   */
  gemm(out: number, ldo: number, a: number, sAm: number, sAk: number, b: number, ldb: number,
    M: number, N: number, K: number, bias: number, flags: number): void {
    const packBytes = gemmPackBytes(K);
    const pack = M >= 16 ? this.packScratch(packBytes * this.threads) : 0;
    this.engine.run('gemm', [out, ldo, a, sAm, sAk, b, ldb, M, N, K, bias, flags, pack, packBytes], M,
      this.grain(M, DEFAULT_TILE.mr), this.threads, M * N * K);
  }

  /** The gemm packing scratch, grown to at least `bytes`. */
  private packScratch(bytes: number): number {
    if (bytes > this.packSize) {
      if (this.pack) this.release(this.pack);
      this.pack = this.alloc(bytes);
      this.packSize = bytes;
    }
    return this.pack;
  }

  /** Rows of layernorm. */
  layernorm(out: number, mean: number, rstd: number, inp: number, w: ParamView, b: ParamView, N: number): void {
    const C = this.config.dModel;
    this.engine.run('layernormForward', [out, mean, rstd, inp, this.p(w), this.p(b), C], N, this.grain(N, 1), this.threads, N * C * 4);
  }

  /** out = x + (A·Wᵀ + bias) (the residual add folded into the product: out starts as a copy of x). */
  private projectAdd(out: number, x: number, a: number, wT: number, bias: ParamView, N: number, K: number): void {
    const C = this.config.dModel;
    this.f32().copyWithin(out >> 2, x >> 2, (x >> 2) + N * C);
    this.gemm(out, C, a, K, 1, wT, C, N, C, K, this.p(bias), GEMM.ACCUMULATE);
  }

  /** Refresh the transposed matrices when the parameters changed since the last transpose. */
  refreshTransposed(): void {
    if (this.transposedVersion === this.paramsVersion) return;
    const { dModel: C, vocabSize: V } = this.config;
    const tr = (out: number, inp: ParamView, R: number, cols: number) =>
      this.engine.run('transpose', [out, this.p(inp), R, cols], R, this.grain(R, 1), this.threads, R * cols);
    this.layout.blocks.forEach((w, l) => {
      const o = this.wTOffsets[l]!;
      tr(this.wT + 4 * o.qkv, w.qkvw, 3 * C, C);
      tr(this.wT + 4 * o.attproj, w.attprojw, C, C);
      tr(this.wT + 4 * o.fc, w.fcw, 4 * C, C);
      tr(this.wT + 4 * o.fcproj, w.fcprojw, C, 4 * C);
    });
    tr(this.wteT, this.layout.wte, V, C);
    this.transposedVersion = this.paramsVersion;
  }

  /** Byte addresses of block l's transposed matrices. */
  wTOf(l: number): { qkv: number; attproj: number; fc: number; fcproj: number } {
    const o = this.wTOffsets[l]!;
    return { qkv: this.wT + 4 * o.qkv, attproj: this.wT + 4 * o.attproj, fc: this.wT + 4 * o.fc, fcproj: this.wT + 4 * o.fcproj };
  }

  /** logits (M,Vp) = rows (M,C) · wteᵀ: the tied LM head. */
  head(logits: number, rows: number, M: number): void {
    const { dModel: C, vocabSize: V } = this.config;
    this.gemm(logits, this.Vp, rows, C, 1, this.wteT, V, M, V, C, 0, 0);
  }

  /** A (rows, cols) Float32Array copy of a (rows, ld) array in the memory. */
  copyRows(ptr: number, ld: number, rows: number, cols: number): Float32Array {
    const h = this.f32();
    const out = new Float32Array(rows * cols);
    if (ld === cols) out.set(h.subarray(ptr >> 2, (ptr >> 2) + rows * cols));
    else for (let r = 0; r < rows; r++) out.set(h.subarray((ptr >> 2) + r * ld, (ptr >> 2) + r * ld + cols), r * cols);
    return out;
  }

  // -------------------------------------------------------------------------

  private actsFor(B: number, T: number): Acts {
    const i = this.actsCache.findIndex((a) => a.B === B && a.T === T);
    const acts = i >= 0 ? this.actsCache.splice(i, 1)[0]! : this.allocActs(B, T);
    this.actsCache.push(acts);
    if (this.actsCache.length > CACHED_SHAPES) this.release(this.actsCache.shift()!.block);
    return acts;
  }

  private allocActs(B: number, T: number): Acts {
    const { dModel: C, nHeads: NH, nLayers: L } = this.config;
    const N = B * T;
    const Tp = roundUp4(T);
    const scratchBytes = attentionScratchBytes(T, C / NH);
    const top = {
      inputs: N, targets: N, weights: N, encoded: N * C, lnf: N * C, lnfMean: N, lnfRstd: N, logits: N * this.Vp, ce: N,
      lnfRows: N * C, scratch: (scratchBytes * this.threads) / 4, lnPartials: 2 * Math.ceil(N / LN_BLOCK_ROWS) * C,
      dlogits: N * this.Vp, dlnf: N * C, dres: N * C, dln: N * C, datty: N * C, dqkv: N * 3 * C, dfchGelu: N * 4 * C, dfch: N * 4 * C,
    };
    const perBlock = {
      ln1: N * C, ln1Mean: N, ln1Rstd: N, qkv: N * 3 * C, att: B * NH * T * Tp, atty: N * C, res2: N * C,
      ln2: N * C, ln2Mean: N, ln2Rstd: N, fch: N * 4 * C, fchGelu: N * 4 * C, res3: N * C,
    };
    const sized = packOffsets(0, top);
    let end = sized.end;
    const blockOffsets: BlockActs[] = [];
    for (let l = 0; l < L; l++) {
      const b = packOffsets(end, perBlock);
      blockOffsets.push(b.offsets);
      end = b.end;
    }
    const block = this.alloc(end);
    const shift = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v + block])) as T;
    return { B, T, block, bytes: end, scratchBytes, ...shift(sized.offsets), blocks: blockOffsets.map(shift) };
  }

  /** The forward pass up to the logits (or only the final LayerNorm, without `head`). */
  private forward(inputs: Int32Array, B: number, T: number, head = true): Acts {
    this.live();
    const c = this.config;
    const { dModel: C, nHeads: NH, vocabSize: V } = c;
    if (T > c.contextLength) throw new Error(`sequence length ${T} exceeds contextLength ${c.contextLength}`);
    if (inputs.length < B * T) throw new Error(`inputs: expected ${B * T} token ids, got ${inputs.length}`);
    const N = B * T;
    for (let i = 0; i < N; i++) {
      const id = inputs[i]!;
      if (!(id >= 0 && id < V)) throw new Error(`inputs: token id ${id} at index ${i} is outside [0, ${V})`);
    }
    this.refreshTransposed();
    const acts = this.actsFor(B, T);
    const L = this.layout;
    const run = this.engine;
    this.engine.i32().set(inputs.subarray(0, N), acts.inputs >> 2);
    run.run('encoderForward', [acts.encoded, acts.inputs, 0, this.p(L.wte), this.p(L.wpe), T, C], N, this.grain(N, 1), this.threads, N * C);
    let x = acts.encoded;
    for (let l = 0; l < c.nLayers; l++) {
      const w = L.blocks[l]!;
      const a = acts.blocks[l]!;
      const wT = this.wTOf(l);
      this.layernorm(a.ln1, a.ln1Mean, a.ln1Rstd, x, w.ln1w, w.ln1b, N);
      this.gemm(a.qkv, 3 * C, a.ln1, C, 1, wT.qkv, 3 * C, N, 3 * C, C, this.p(w.qkvb), 0);
      run.run('attentionForward', [a.atty, a.att, a.qkv, T, C, NH, acts.scratch, acts.scratchBytes], B * NH, 1, this.threads, N * T * C);
      this.projectAdd(a.res2, x, a.atty, wT.attproj, w.attprojb, N, C);
      this.layernorm(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, w.ln2w, w.ln2b, N);
      this.gemm(a.fch, 4 * C, a.ln2, C, 1, wT.fc, 4 * C, N, 4 * C, C, this.p(w.fcb), 0);
      run.run('geluForward', [a.fchGelu, a.fch], N * 4 * C, this.grain(N * 4 * C, 4), this.threads, N * 4 * C);
      this.projectAdd(a.res3, a.res2, a.fchGelu, wT.fcproj, w.fcprojb, N, 4 * C);
      x = a.res3;
    }
    this.layernorm(acts.lnf, acts.lnfMean, acts.lnfRstd, x, L.lnfw, L.lnfb, N);
    if (head) this.head(acts.logits, acts.lnf, N);
    return acts;
  }

  /** Targets and weights into the memory: all rows, or the weighted `rows` only (in order). */
  private stageTargets(acts: Acts, batch: TokenBatch, rows: Int32Array | null): void {
    const i32 = this.engine.i32();
    const f32 = this.f32();
    if (!rows) {
      i32.set(batch.targets, acts.targets >> 2);
      f32.set(batch.weights, acts.weights >> 2);
      return;
    }
    rows.forEach((r, m) => {
      i32[(acts.targets >> 2) + m] = batch.targets[r]!;
      f32[(acts.weights >> 2) + m] = batch.weights[r]!;
    });
  }

  /** The sparse head: lnfRows (M,C) ← the weighted rows of lnf, then their logits. */
  private gatherRows(acts: Acts, rows: Int32Array): void {
    const C = this.config.dModel;
    const h = this.f32();
    rows.forEach((r, m) => h.copyWithin((acts.lnfRows >> 2) + m * C, (acts.lnf >> 2) + r * C, (acts.lnf >> 2) + (r + 1) * C));
    this.head(acts.logits, acts.lnfRows, rows.length);
  }

  /** ce (M) for the first M logits rows, and dlogits when asked. */
  private crossEntropy(acts: Acts, M: number, withGrad: boolean): void {
    const V = this.config.vocabSize;
    this.engine.run('crossEntropy', [acts.ce, withGrad ? acts.dlogits : 0, acts.logits, acts.targets, acts.weights, V, this.Vp],
      M, this.grain(M, 1), this.threads, M * V);
  }

  /** loss = Σ w·ce and per-sequence sums, in float64 in (b, t) order as cpu.ts does. */
  private lossOf(acts: Acts, batch: TokenBatch, rows: Int32Array | null): LossResult {
    const { B, T, weights } = batch;
    const ce = this.f32().subarray(acts.ce >> 2, (acts.ce >> 2) + B * T);
    const seqSums = new Float64Array(B);
    if (rows) {
      rows.forEach((r, m) => (seqSums[Math.floor(r / T)]! += weights[r]! * ce[m]!));
    } else {
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let t = 0; t < T; t++) {
          const w = weights[b * T + t]!;
          if (w !== 0) s += w * ce[b * T + t]!;
        }
        seqSums[b] = s;
      }
    }
    let loss = 0;
    for (const s of seqSums) loss += s;
    return { loss, perSeqLoss: Float32Array.from(seqSums) };
  }

  /** Forward, weighted loss, and the backward pass into the gradient buffer (zeroed first). */
  private forwardBackward(batch: TokenBatch): LossResult {
    checkBatch(batch, this.config);
    const { B, T } = batch;
    const c = this.config;
    const { dModel: C, nHeads: NH, vocabSize: V } = c;
    const N = B * T;
    const rows = weightedRows(batch);
    const acts = this.forward(batch.inputs, B, T, rows === null);
    const L = this.layout;
    const run = this.engine;
    const h = this.f32();
    h.fill(0, this.grads >> 2, (this.grads >> 2) + this.P);
    this.stageTargets(acts, batch, rows);
    const M = rows ? rows.length : N;
    const lnfIn = rows ? acts.lnfRows : acts.lnf;
    if (rows) this.gatherRows(acts, rows);
    this.crossEntropy(acts, M, true);
    const result = this.lossOf(acts, batch, rows);
    // Tied head: dlnf (M,C) = dlogits · wte; dwte (V,C) = dlogitsᵀ · lnf.
    const dlnfRows = rows ? acts.dln : acts.dlnf; // the sparse head writes its rows to scratch, then scatters
    this.gemm(dlnfRows, C, acts.dlogits, this.Vp, 1, this.p(L.wte), C, M, C, V, 0, 0);
    this.gemm(this.g(L.wte), C, acts.dlogits, 1, this.Vp, lnfIn, C, V, C, M, 0, 0);
    if (rows) {
      h.fill(0, acts.dlnf >> 2, (acts.dlnf >> 2) + N * C);
      rows.forEach((r, m) => h.copyWithin((acts.dlnf >> 2) + r * C, (dlnfRows >> 2) + m * C, (dlnfRows >> 2) + (m + 1) * C));
    }
    h.fill(0, acts.dres >> 2, (acts.dres >> 2) + N * C);
    const lastX = c.nLayers > 0 ? acts.blocks[c.nLayers - 1]!.res3 : acts.encoded;
    // LayerNorm backward: dres += the input gradient; per-block sums of dweight, dbias, then added up in block order.
    const blocks = Math.ceil(N / LN_BLOCK_ROWS);
    const dbPart = acts.lnPartials + 4 * blocks * C;
    const lnBack = (dout: number, x: number, w: ParamView, b: ParamView, mean: number, rstd: number) => {
      run.run('layernormBackward', [acts.dres, acts.lnPartials, dbPart, dout, x, this.p(w), mean, rstd, N, C], blocks,
        this.grain(blocks, 1), this.threads, 8 * N * C);
      run.run('columnSums', [this.g(w), acts.lnPartials, blocks, C, 1], C, C, 1, 0);
      run.run('columnSums', [this.g(b), dbPart, blocks, C, 1], C, C, 1, 0);
    };
    lnBack(acts.dlnf, lastX, L.lnfw, L.lnfb, acts.lnfMean, acts.lnfRstd);
    // Walking down the blocks, dres holds the gradient w.r.t. the residual
    // stream; each branch's input gradient is accumulated into it by the
    // branch's LayerNorm backward (as in cpu.ts).
    const colSums = (out: ParamView, inp: number, OC: number) =>
      run.run('columnSums', [this.g(out), inp, N, OC, 0], OC, this.grain(OC, 4), this.threads, N * OC);
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const w = L.blocks[l]!;
      const a = acts.blocks[l]!;
      const x = l === 0 ? acts.encoded : acts.blocks[l - 1]!.res3;
      // res3 = res2 + fcproj(gelu(fc(ln2(res2))))
      this.gemm(acts.dfchGelu, 4 * C, acts.dres, C, 1, this.p(w.fcprojw), 4 * C, N, 4 * C, C, 0, 0);
      this.gemm(this.g(w.fcprojw), 4 * C, acts.dres, 1, C, a.fchGelu, 4 * C, C, 4 * C, N, 0, 0);
      colSums(w.fcprojb, acts.dres, C);
      run.run('geluBackward', [acts.dfch, a.fch, acts.dfchGelu], N * 4 * C, this.grain(N * 4 * C, 4), this.threads, N * 4 * C);
      this.gemm(acts.dln, C, acts.dfch, 4 * C, 1, this.p(w.fcw), C, N, C, 4 * C, 0, 0);
      this.gemm(this.g(w.fcw), C, acts.dfch, 1, 4 * C, a.ln2, C, 4 * C, C, N, 0, 0);
      colSums(w.fcb, acts.dfch, 4 * C);
      lnBack(acts.dln, a.res2, w.ln2w, w.ln2b, a.ln2Mean, a.ln2Rstd);
      // res2 = x + attproj(attention(qkv(ln1(x))))
      this.gemm(acts.datty, C, acts.dres, C, 1, this.p(w.attprojw), C, N, C, C, 0, 0);
      this.gemm(this.g(w.attprojw), C, acts.dres, 1, C, a.atty, C, C, C, N, 0, 0);
      colSums(w.attprojb, acts.dres, C);
      run.run('attentionBackward', [acts.dqkv, acts.datty, a.qkv, a.att, T, C, NH, acts.scratch, acts.scratchBytes],
        B * NH, 1, this.threads, 2 * N * T * C);
      this.gemm(acts.dln, C, acts.dqkv, 3 * C, 1, this.p(w.qkvw), C, N, C, 3 * C, 0, 0);
      this.gemm(this.g(w.qkvw), C, acts.dqkv, 1, 3 * C, a.ln1, C, 3 * C, C, N, 0, 0);
      colSums(w.qkvb, acts.dqkv, 3 * C);
      lnBack(acts.dln, x, w.ln1w, w.ln1b, a.ln1Mean, a.ln1Rstd);
    }
    run.kernels.encoderBackward(this.g(L.wte), this.g(L.wpe), acts.dres, acts.inputs, N, T, C);
    return result;
  }
}

/**
 * The KV-cache decoder: per layer, keys transposed (B,NH,hsp,maxT) and
 * values (B,NH,maxT,hsp) of every position fed so far, zero-padded to hsp;
 * each step runs the block stack on the M new positions with the same
 * kernels as the full forward (a row's result never depends on the rows
 * around it), so the logits equal the full forward's bit for bit.
 */
class WasmDecoder implements Decoder {
  private readonly block: number;
  private readonly kT: number[] = [];
  private readonly vc: number[] = [];
  private readonly scratchBytes: number;
  private readonly scratch: number;
  private readonly owned: { engine: WasmEngine; blocks: number[] };
  /** Step buffers for up to `capacity` rows (grown on demand), and their addresses. */
  private stepBlock = 0;
  private capacity = 0;
  private stepBuffersCache: Record<string, number> | null = null;

  constructor(private readonly backend: WasmBackend, private readonly engine: WasmEngine, private readonly B: number) {
    const { contextLength: maxT, dModel: C, nHeads: NH, nLayers: L } = backend.config;
    const hsp = roundUp4(C / NH);
    const perCache = B * NH * hsp * maxT;
    this.scratchBytes = attentionScratchBytes(maxT, C / NH);
    let bytes = 0;
    for (let l = 0; l < L; l++) {
      this.kT.push(bytes);
      bytes += 4 * perCache + 64;
      this.vc.push(bytes);
      bytes += 4 * perCache + 64;
    }
    const scratchAt = bytes;
    bytes += this.scratchBytes * backend.threads;
    this.block = engine.alloc(bytes);
    this.kT = this.kT.map((o) => o + this.block);
    this.vc = this.vc.map((o) => o + this.block);
    this.scratch = this.block + scratchAt;
    this.owned = { engine, blocks: [this.block] };
    orphans.register(this, this.owned);
  }

  async step(rows: Int32Array, tokens: Int32Array, positions: Int32Array): Promise<Float32Array> {
    const be = this.backend;
    const c = be.config;
    const { dModel: C, nHeads: NH, vocabSize: V, contextLength: maxT } = c;
    const M = rows.length;
    if (tokens.length !== M || positions.length !== M) throw new Error(`decoder: rows, tokens and positions must have one entry each (got ${M}, ${tokens.length}, ${positions.length})`);
    for (let m = 0; m < M; m++) {
      if (!(rows[m]! >= 0 && rows[m]! < this.B)) throw new Error(`decoder: row ${rows[m]} is outside [0, ${this.B})`);
      if (!(positions[m]! >= 0 && positions[m]! < maxT)) throw new Error(`decoder: position ${positions[m]} is outside [0, ${maxT})`);
      if (!(tokens[m]! >= 0 && tokens[m]! < V)) throw new Error(`decoder: token id ${tokens[m]} is outside [0, ${V})`);
    }
    be.live();
    be.refreshTransposed();
    const s = this.stepBuffers(M);
    const eng = this.engine;
    const threads = be.threads;
    const L = be.layout;
    const p = (v: ParamView) => be.p(v);
    const i32 = eng.i32();
    i32.set(tokens, s.tokens >> 2);
    i32.set(positions, s.positions >> 2);
    i32.set(rows, s.rows >> 2);
    eng.run('encoderForward', [s.x, s.tokens, s.positions, p(L.wte), p(L.wpe), maxT, C], M, M, 1, 0);
    const hs = C / NH;
    const hsp = roundUp4(hs);
    let cur = s.x;
    for (let l = 0; l < c.nLayers; l++) {
      const w = L.blocks[l]!;
      const wT = be.wTOf(l);
      be.layernorm(s.ln, s.mean, s.rstd, cur, w.ln1w, w.ln1b, M);
      be.gemm(s.qkv, 3 * C, s.ln, C, 1, wT.qkv, 3 * C, M, 3 * C, C, p(w.qkvb), 0);
      // New keys (transposed) and values into the caches; padding lanes stay 0 from allocation.
      const h = eng.f32();
      const kT = this.kT[l]! >> 2;
      const vc = this.vc[l]! >> 2;
      for (let m = 0; m < M; m++) {
        const q = (s.qkv >> 2) + m * 3 * C;
        const t = positions[m]!;
        for (let head = 0; head < NH; head++) {
          const slot = rows[m]! * NH + head;
          for (let i = 0; i < hs; i++) {
            h[kT + (slot * hsp + i) * maxT + t] = h[q + C + head * hs + i]!;
            h[vc + (slot * maxT + t) * hsp + i] = h[q + 2 * C + head * hs + i]!;
          }
        }
      }
      eng.run('attentionDecode', [s.atty, s.qkv, this.kT[l]!, this.vc[l]!, s.rows, s.positions, maxT, C, NH, this.scratch, this.scratchBytes],
        M, 1, threads, M * maxT * C);
      eng.f32().copyWithin(s.res2 >> 2, cur >> 2, (cur >> 2) + M * C);
      be.gemm(s.res2, C, s.atty, C, 1, wT.attproj, C, M, C, C, p(w.attprojb), GEMM.ACCUMULATE);
      be.layernorm(s.ln, s.mean, s.rstd, s.res2, w.ln2w, w.ln2b, M);
      be.gemm(s.fch, 4 * C, s.ln, C, 1, wT.fc, 4 * C, M, 4 * C, C, p(w.fcb), 0);
      eng.run('geluForward', [s.gelu, s.fch], M * 4 * C, M * 4 * C, 1, 0);
      eng.f32().copyWithin(s.res >> 2, s.res2 >> 2, (s.res2 >> 2) + M * C);
      be.gemm(s.res, C, s.gelu, 4 * C, 1, wT.fcproj, C, M, C, 4 * C, p(w.fcprojb), GEMM.ACCUMULATE);
      // The next layer reads res as its input; copy it so res can be rewritten.
      eng.f32().copyWithin(s.x >> 2, s.res >> 2, (s.res >> 2) + M * C);
      cur = s.x;
    }
    be.layernorm(s.ln, s.mean, s.rstd, cur, L.lnfw, L.lnfb, M);
    be.head(s.logits, s.ln, M);
    return be.copyRows(s.logits, roundUp4(V), M, V);
  }

  /** Byte addresses of the step's buffers for M rows (reallocated when M grows). */
  private stepBuffers(M: number): Record<'tokens' | 'positions' | 'rows' | 'x' | 'ln' | 'mean' | 'rstd' | 'qkv' | 'atty' | 'res2' | 'fch' | 'gelu' | 'res' | 'logits', number> {
    if (M > this.capacity || !this.stepBuffersCache) {
      if (this.stepBlock) {
        this.engine.free(this.stepBlock);
        this.owned.blocks.splice(this.owned.blocks.indexOf(this.stepBlock), 1);
      }
      const cap = Math.max(M, this.capacity);
      const { dModel: C, vocabSize: V } = this.backend.config;
      const sized = packOffsets(0, {
        tokens: cap, positions: cap, rows: cap, x: cap * C, ln: cap * C, mean: cap, rstd: cap, qkv: cap * 3 * C, atty: cap * C,
        res2: cap * C, fch: cap * 4 * C, gelu: cap * 4 * C, res: cap * C, logits: cap * roundUp4(V),
      });
      this.stepBlock = this.engine.alloc(sized.end);
      this.owned.blocks.push(this.stepBlock);
      this.capacity = cap;
      this.stepBuffersCache = Object.fromEntries(Object.entries(sized.offsets).map(([k, v]) => [k, (v as number) + this.stepBlock]));
    }
    return this.stepBuffersCache as ReturnType<WasmDecoder['stepBuffers']>;
  }
}
