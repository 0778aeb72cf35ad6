/**
 * The CPU backend: the whole GPT forward and backward pass, written out
 * layer by layer over the functions of `gpt/layers.ts` (llm.c's
 * gpt2_forward / gpt2_backward). It is the reference the WebGPU backend is
 * tested against and the fallback where WebGPU is missing.
 *
 * Activations are kept per (B,T) shape and reused between calls.
 */
import {
  type Backend, type Decoder, type LossResult, NonFiniteError, type OptimizerState, type StepHyper, type StepResult,
  type TokenBatch,
} from '../backend';
import { type GptConfig, type ParamLayout, paramLayout, viewOf } from '../gpt/config';
import {
  attentionBackward, attentionDecode, attentionForward, crossEntropyBackward, crossEntropyForward, encoderBackward, encoderForward,
  geluBackward, geluForward, layernormBackward, layernormForward, matmulBackward, matmulForward, residualForward,
} from '../gpt/layers';
import { adamwUpdate, clipScale, globalNorm } from '../optim';
import { checkBatch } from './batch';

/** Activations of one block for a (B,T) shape. */
interface BlockActs {
  ln1: Float32Array; ln1Mean: Float32Array; ln1Rstd: Float32Array; // (B,T,C), (B,T), (B,T)
  qkv: Float32Array; // (B,T,3C)
  att: Float32Array; // (B,NH,T,T)
  atty: Float32Array; // (B,T,C) attention output before the projection
  attproj: Float32Array; // (B,T,C)
  res2: Float32Array; // (B,T,C) residual after attention
  ln2: Float32Array; ln2Mean: Float32Array; ln2Rstd: Float32Array;
  fch: Float32Array; // (B,T,4C)
  fchGelu: Float32Array; // (B,T,4C)
  fcproj: Float32Array; // (B,T,C)
  res3: Float32Array; // (B,T,C) block output
}

interface Acts {
  B: number; T: number;
  encoded: Float32Array; // (B,T,C)
  blocks: BlockActs[];
  lnf: Float32Array; lnfMean: Float32Array; lnfRstd: Float32Array;
  logits: Float32Array; // (B,T,V)
  ce: Float32Array; // (B,T)
  /** Gradient scratch, allocated on the first backward pass at this shape. */
  grad: GradScratch | null;
}

interface GradScratch {
  dlogits: Float32Array; // (B,T,V)
  dlnf: Float32Array; // (B,T,C)
  dres: Float32Array; // (B,T,C) gradient w.r.t. the residual stream, walked down the blocks
  dln: Float32Array; // (B,T,C)
  datty: Float32Array; // (B,T,C)
  dqkv: Float32Array; // (B,T,3C)
  dfchGelu: Float32Array; // (B,T,4C)
  dfch: Float32Array; // (B,T,4C)
}

function allocActs(c: GptConfig, B: number, T: number): Acts {
  const { dModel: C, nHeads: NH, vocabSize: V } = c;
  const N = B * T;
  const f = (n: number) => new Float32Array(n);
  const blocks: BlockActs[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    blocks.push({
      ln1: f(N * C), ln1Mean: f(N), ln1Rstd: f(N), qkv: f(N * 3 * C), att: f(B * NH * T * T),
      atty: f(N * C), attproj: f(N * C), res2: f(N * C),
      ln2: f(N * C), ln2Mean: f(N), ln2Rstd: f(N), fch: f(N * 4 * C), fchGelu: f(N * 4 * C),
      fcproj: f(N * C), res3: f(N * C),
    });
  }
  return {
    B, T, encoded: f(N * C), blocks, lnf: f(N * C), lnfMean: f(N), lnfRstd: f(N), logits: f(N * V), ce: f(N), grad: null,
  };
}

function allocGradScratch(c: GptConfig, B: number, T: number): GradScratch {
  const N = B * T;
  const C = c.dModel;
  const f = (n: number) => new Float32Array(n);
  return {
    dlogits: f(N * c.vocabSize), dlnf: f(N * C), dres: f(N * C), dln: f(N * C), datty: f(N * C),
    dqkv: f(N * 3 * C), dfchGelu: f(N * 4 * C), dfch: f(N * 4 * C),
  };
}

function actsBytes(a: Acts): number {
  const arrays: Float32Array[] = [a.encoded, a.lnf, a.lnfMean, a.lnfRstd, a.logits, a.ce];
  for (const b of a.blocks) arrays.push(...Object.values(b));
  if (a.grad) arrays.push(...Object.values(a.grad));
  return arrays.reduce((n, x) => n + x.byteLength, 0);
}

const CACHED_SHAPES = 4;

/**
 * The rows (b*T+t, ascending) whose weight is not 0, when fewer than 3 in 4
 * rows are weighted (then the head runs on those rows only); null otherwise
 * (the full head is as cheap and keeps its blocked matmul).
 */
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

export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly description = 'CPU (TypeScript reference)';
  readonly layout: ParamLayout;
  private params: Float32Array;
  private grads: Float32Array;
  private m: Float32Array;
  private v: Float32Array;
  private step = 0;
  /** Activations per (B,T) shape, most recently used last; a few are kept because batches of varying length alternate. */
  private actsCache: Acts[] = [];

  constructor(readonly config: GptConfig) {
    this.layout = paramLayout(config);
    const n = this.layout.total;
    this.params = new Float32Array(n);
    this.grads = new Float32Array(n);
    this.m = new Float32Array(n);
    this.v = new Float32Array(n);
  }

  async setParams(params: Float32Array): Promise<void> {
    if (params.length !== this.layout.total) {
      throw new Error(`setParams: expected ${this.layout.total} floats for this config, got ${params.length}`);
    }
    this.params.set(params);
  }

  async getParams(): Promise<Float32Array> {
    return this.params.slice();
  }

  async getOptimizerState(): Promise<OptimizerState> {
    return { step: this.step, m: this.m.slice(), v: this.v.slice() };
  }

  async setOptimizerState(state: OptimizerState): Promise<void> {
    if (state.m.length !== this.layout.total || state.v.length !== this.layout.total) {
      throw new Error(`setOptimizerState: moments must have ${this.layout.total} floats`);
    }
    this.step = state.step;
    this.m.set(state.m);
    this.v.set(state.v);
  }

  async forwardLogits(inputs: Int32Array, B: number, T: number): Promise<Float32Array> {
    const acts = this.forward(inputs, B, T);
    return acts.logits.slice(0, B * T * this.config.vocabSize);
  }

  /** The trunk for every position, but the LM head only at the B asked-for positions (sampling needs no more). */
  async lastLogits(inputs: Int32Array, B: number, T: number, positions: Int32Array): Promise<Float32Array> {
    const { dModel: C, vocabSize: V } = this.config;
    for (let b = 0; b < B; b++) {
      const t = positions[b]!;
      if (!(t >= 0 && t < T)) throw new Error(`lastLogits: position ${t} of row ${b} is outside [0, ${T})`);
    }
    const acts = this.forward(inputs, B, T, false);
    const rows = new Float32Array(B * C); // (B,C): the final LayerNorm's output at each row's position
    for (let b = 0; b < B; b++) rows.set(acts.lnf.subarray((b * T + positions[b]!) * C, (b * T + positions[b]! + 1) * C), b * C);
    const out = new Float32Array(B * V);
    matmulForward(out, rows, viewOf(this.params, this.layout.wte), null, B, C, V); // tied head
    return out;
  }

  createDecoder(B: number): Decoder {
    return new CpuDecoder(this.config, this.params, this.layout, B);
  }

  async evaluate(batch: TokenBatch): Promise<LossResult> {
    checkBatch(batch, this.config);
    const rows = weightedRows(batch);
    const acts = this.forward(batch.inputs, batch.B, batch.T, rows === null);
    return rows === null ? this.lossOf(acts, batch) : this.sparseHead(acts, batch, rows).result;
  }

  async gradients(batch: TokenBatch): Promise<LossResult & { grads: Float32Array }> {
    const result = this.forwardBackward(batch);
    return { ...result, grads: this.grads.slice() };
  }

  async trainStep(batch: TokenBatch, h: StepHyper, read: { loss?: boolean; gradNorm?: boolean } = {}): Promise<StepResult> {
    const { loss } = this.forwardBackward(batch);
    const t = this.step + 1;
    const norm = globalNorm(this.grads);
    if (!Number.isFinite(loss)) throw new NonFiniteError(t, 'the loss');
    if (!Number.isFinite(norm)) throw new NonFiniteError(t, 'the gradient');
    adamwUpdate(this.params, this.grads, this.m, this.v, this.layout, h, t, clipScale(norm, h.gradClip));
    this.step = t;
    const out: StepResult = { step: t };
    if (read.loss) out.loss = loss;
    if (read.gradNorm) out.gradNorm = norm;
    return out;
  }

  deviceBytes(): number {
    return 0;
  }

  hostBytes(): number {
    return 4 * 4 * this.layout.total + this.actsCache.reduce((n, a) => n + actsBytes(a), 0);
  }

  dispose(): void {
    this.actsCache = [];
  }

  // -------------------------------------------------------------------------

  private actsFor(B: number, T: number): Acts {
    const i = this.actsCache.findIndex((a) => a.B === B && a.T === T);
    const acts = i >= 0 ? this.actsCache.splice(i, 1)[0]! : allocActs(this.config, B, T);
    this.actsCache.push(acts);
    if (this.actsCache.length > CACHED_SHAPES) this.actsCache.shift();
    return acts;
  }

  private lossOf(acts: Acts, batch: TokenBatch): LossResult {
    const { B, T, targets, weights } = batch;
    crossEntropyForward(acts.ce, acts.logits, targets, B * T, this.config.vocabSize);
    const perSeqLoss = new Float32Array(B);
    let loss = 0;
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let t = 0; t < T; t++) {
        const w = weights[b * T + t]!;
        if (w !== 0) s += w * acts.ce[b * T + t]!;
      }
      perSeqLoss[b] = s;
      loss += s;
    }
    return { loss, perSeqLoss };
  }

  /** The forward pass up to the logits (or only the final LayerNorm, without `head`); activations are kept for backward. */
  private forward(inputs: Int32Array, B: number, T: number, head = true): Acts {
    const c = this.config;
    const { dModel: C, nHeads: NH, vocabSize: V } = c;
    if (T > c.contextLength) throw new Error(`sequence length ${T} exceeds contextLength ${c.contextLength}`);
    if (inputs.length < B * T) throw new Error(`inputs: expected ${B * T} token ids, got ${inputs.length}`);
    for (let i = 0; i < B * T; i++) {
      const id = inputs[i]!;
      if (!(id >= 0 && id < V)) throw new Error(`inputs: token id ${id} at index ${i} is outside [0, ${V})`);
    }
    const p = this.params;
    const L = this.layout;
    const N = B * T;
    const acts = this.actsFor(B, T);
    encoderForward(acts.encoded, inputs, viewOf(p, L.wte), viewOf(p, L.wpe), B, T, C);
    let x = acts.encoded;
    for (let l = 0; l < c.nLayers; l++) {
      const w = L.blocks[l]!;
      const a = acts.blocks[l]!;
      layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, x, viewOf(p, w.ln1w), viewOf(p, w.ln1b), N, C);
      matmulForward(a.qkv, a.ln1, viewOf(p, w.qkvw), viewOf(p, w.qkvb), N, C, 3 * C);
      attentionForward(a.atty, a.att, a.qkv, B, T, C, NH);
      matmulForward(a.attproj, a.atty, viewOf(p, w.attprojw), viewOf(p, w.attprojb), N, C, C);
      residualForward(a.res2, x, a.attproj, N * C);
      layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, viewOf(p, w.ln2w), viewOf(p, w.ln2b), N, C);
      matmulForward(a.fch, a.ln2, viewOf(p, w.fcw), viewOf(p, w.fcb), N, C, 4 * C);
      geluForward(a.fchGelu, a.fch, N * 4 * C);
      matmulForward(a.fcproj, a.fchGelu, viewOf(p, w.fcprojw), viewOf(p, w.fcprojb), N, 4 * C, C);
      residualForward(a.res3, a.res2, a.fcproj, N * C);
      x = a.res3;
    }
    layernormForward(acts.lnf, acts.lnfMean, acts.lnfRstd, x, viewOf(p, L.lnfw), viewOf(p, L.lnfb), N, C);
    if (head) matmulForward(acts.logits, acts.lnf, viewOf(p, L.wte), null, N, C, V); // tied head
    return acts;
  }

  /**
   * The LM head and weighted loss on the M weighted rows only (rows: indices
   * b*T+t): logits (M,V) from the final LayerNorm's rows (M,C). A row with
   * weight 0 adds nothing to the loss or any gradient, so skipping it changes
   * no bit of either; prompts, padding and classification rows (one weighted
   * token each) make this most of the head's work.
   */
  private sparseHead(acts: Acts, batch: TokenBatch, rows: Int32Array) {
    const { dModel: C, vocabSize: V } = this.config;
    const M = rows.length;
    const lnfRows = new Float32Array(M * C);
    const targets = new Int32Array(M);
    const weights = new Float32Array(M);
    rows.forEach((r, m) => {
      lnfRows.set(acts.lnf.subarray(r * C, (r + 1) * C), m * C);
      targets[m] = batch.targets[r]!;
      weights[m] = batch.weights[r]!;
    });
    const logits = new Float32Array(M * V);
    matmulForward(logits, lnfRows, viewOf(this.params, this.layout.wte), null, M, C, V); // tied head
    const ce = new Float32Array(M);
    crossEntropyForward(ce, logits, targets, M, V);
    // Rows are in (b, t) order, so each sequence's terms add up in the order lossOf uses (in float64, as there).
    const seqSums = new Float64Array(batch.B);
    rows.forEach((r, m) => (seqSums[Math.floor(r / batch.T)]! += weights[m]! * ce[m]!));
    const perSeqLoss = Float32Array.from(seqSums);
    let loss = 0;
    for (const s of seqSums) loss += s;
    return { result: { loss, perSeqLoss } as LossResult, lnfRows, logits, targets, weights };
  }

  /** Forward, weighted loss, and the backward pass into this.grads (zeroed first). */
  private forwardBackward(batch: TokenBatch): LossResult {
    checkBatch(batch, this.config);
    const { B, T, inputs, targets, weights } = batch;
    const c = this.config;
    const { dModel: C, nHeads: NH, vocabSize: V } = c;
    const N = B * T;
    const rows = weightedRows(batch);
    const acts = this.forward(inputs, B, T, rows === null);
    const p = this.params;
    const g = this.grads;
    const L = this.layout;
    g.fill(0);
    acts.grad ??= allocGradScratch(c, B, T);
    const { dlogits, dlnf, dres, dln, datty, dqkv, dfchGelu, dfch } = acts.grad;

    let result: LossResult;
    dlnf.fill(0);
    if (rows === null) {
      result = this.lossOf(acts, batch);
      crossEntropyBackward(dlogits, acts.logits, targets, weights, N, V);
      matmulBackward(dlnf, viewOf(g, L.wte), null, dlogits, acts.lnf, viewOf(p, L.wte), N, C, V); // tied head
    } else {
      const h = this.sparseHead(acts, batch, rows);
      result = h.result;
      const M = rows.length;
      const dlogitsRows = new Float32Array(M * V);
      crossEntropyBackward(dlogitsRows, h.logits, h.targets, h.weights, M, V);
      const dlnfRows = new Float32Array(M * C);
      matmulBackward(dlnfRows, viewOf(g, L.wte), null, dlogitsRows, h.lnfRows, viewOf(p, L.wte), M, C, V); // tied head
      rows.forEach((r, m) => dlnf.set(dlnfRows.subarray(m * C, (m + 1) * C), r * C));
    }
    dres.fill(0);
    const lastX = c.nLayers > 0 ? acts.blocks[c.nLayers - 1]!.res3 : acts.encoded;
    layernormBackward(dres, viewOf(g, L.lnfw), viewOf(g, L.lnfb), dlnf, lastX, viewOf(p, L.lnfw),
      acts.lnfMean, acts.lnfRstd, N, C);

    // Walking down the blocks, dres holds the gradient w.r.t. the residual stream.
    // A residual add passes dres to both of its inputs, so each branch's input
    // gradient is simply ACCUMULATED into dres by the branch's LayerNorm backward.
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const w = L.blocks[l]!; // gradient views share the parameter layout
      const a = acts.blocks[l]!;
      const x = l === 0 ? acts.encoded : acts.blocks[l - 1]!.res3;
      // res3 = res2 + fcproj(gelu(fc(ln2(res2))))
      dfchGelu.fill(0);
      matmulBackward(dfchGelu, viewOf(g, w.fcprojw), viewOf(g, w.fcprojb), dres, a.fchGelu,
        viewOf(p, w.fcprojw), N, 4 * C, C);
      dfch.fill(0);
      geluBackward(dfch, a.fch, dfchGelu, N * 4 * C);
      dln.fill(0);
      matmulBackward(dln, viewOf(g, w.fcw), viewOf(g, w.fcb), dfch, a.ln2, viewOf(p, w.fcw), N, C, 4 * C);
      layernormBackward(dres, viewOf(g, w.ln2w), viewOf(g, w.ln2b), dln, a.res2, viewOf(p, w.ln2w),
        a.ln2Mean, a.ln2Rstd, N, C);
      // res2 = x + attproj(attention(qkv(ln1(x))))
      datty.fill(0);
      matmulBackward(datty, viewOf(g, w.attprojw), viewOf(g, w.attprojb), dres, a.atty,
        viewOf(p, w.attprojw), N, C, C);
      dqkv.fill(0);
      attentionBackward(dqkv, datty, a.qkv, a.att, B, T, C, NH);
      dln.fill(0);
      matmulBackward(dln, viewOf(g, w.qkvw), viewOf(g, w.qkvb), dqkv, a.ln1, viewOf(p, w.qkvw), N, C, 3 * C);
      layernormBackward(dres, viewOf(g, w.ln1w), viewOf(g, w.ln1b), dln, x, viewOf(p, w.ln1w),
        a.ln1Mean, a.ln1Rstd, N, C);
    }
    encoderBackward(viewOf(g, L.wte), viewOf(g, L.wpe), dres, inputs, B, T, C);
    return result;
  }
}

/**
 * The CPU backend's KV-cache decoder: per layer, keys and values (B,maxT,C)
 * of every position fed so far; each step runs the block stack on the M new
 * positions only, with the same layer functions as the full forward (a row's
 * result never depends on the rows around it), so the logits equal the full
 * forward's bit for bit. It reads the backend's parameter buffer live.
 */
class CpuDecoder implements Decoder {
  private readonly kCache: Float32Array[] = [];
  private readonly vCache: Float32Array[] = [];
  private readonly attScratch: Float32Array;

  constructor(
    private readonly config: GptConfig,
    private readonly params: Float32Array,
    private readonly layout: ParamLayout,
    private readonly B: number,
  ) {
    const { contextLength: T, dModel: C } = config;
    for (let l = 0; l < config.nLayers; l++) {
      this.kCache.push(new Float32Array(B * T * C));
      this.vCache.push(new Float32Array(B * T * C));
    }
    this.attScratch = new Float32Array(T);
  }

  async step(rows: Int32Array, tokens: Int32Array, positions: Int32Array): Promise<Float32Array> {
    const c = this.config;
    const { dModel: C, nHeads: NH, vocabSize: V, contextLength: maxT } = c;
    const M = rows.length;
    if (tokens.length !== M || positions.length !== M) throw new Error(`decoder: rows, tokens and positions must have one entry each (got ${M}, ${tokens.length}, ${positions.length})`);
    for (let m = 0; m < M; m++) {
      if (!(rows[m]! >= 0 && rows[m]! < this.B)) throw new Error(`decoder: row ${rows[m]} is outside [0, ${this.B})`);
      if (!(positions[m]! >= 0 && positions[m]! < maxT)) throw new Error(`decoder: position ${positions[m]} is outside [0, ${maxT})`);
      if (!(tokens[m]! >= 0 && tokens[m]! < V)) throw new Error(`decoder: token id ${tokens[m]} is outside [0, ${V})`);
    }
    const p = this.params;
    const L = this.layout;
    const f = (n: number) => new Float32Array(n);
    // x (M,C): token + position embedding (encoderForward's sum, one row per new position).
    const x = f(M * C);
    const wte = viewOf(p, L.wte);
    const wpe = viewOf(p, L.wpe);
    for (let m = 0; m < M; m++) {
      const ix = tokens[m]! * C;
      const pp = positions[m]! * C;
      for (let i = 0; i < C; i++) x[m * C + i] = wte[ix + i]! + wpe[pp + i]!;
    }
    const ln = f(M * C), mean = f(M), rstd = f(M), qkv = f(M * 3 * C), atty = f(M * C), proj = f(M * C);
    const fch = f(M * 4 * C), gelu = f(M * 4 * C), res2 = f(M * C), res = f(M * C);
    // cur is read last by the first residual below, before res is written: the next layer can read res in place.
    let cur = x;
    for (let l = 0; l < c.nLayers; l++) {
      const w = L.blocks[l]!;
      layernormForward(ln, mean, rstd, cur, viewOf(p, w.ln1w), viewOf(p, w.ln1b), M, C);
      matmulForward(qkv, ln, viewOf(p, w.qkvw), viewOf(p, w.qkvb), M, C, 3 * C);
      const kc = this.kCache[l]!;
      const vc = this.vCache[l]!;
      for (let m = 0; m < M; m++) {
        const at = (rows[m]! * maxT + positions[m]!) * C;
        kc.set(qkv.subarray(m * 3 * C + C, m * 3 * C + 2 * C), at);
        vc.set(qkv.subarray(m * 3 * C + 2 * C, m * 3 * C + 3 * C), at);
      }
      attentionDecode(atty, qkv, kc, vc, this.attScratch, rows, positions, M, maxT, C, NH);
      matmulForward(proj, atty, viewOf(p, w.attprojw), viewOf(p, w.attprojb), M, C, C);
      residualForward(res2, cur, proj, M * C);
      layernormForward(ln, mean, rstd, res2, viewOf(p, w.ln2w), viewOf(p, w.ln2b), M, C);
      matmulForward(fch, ln, viewOf(p, w.fcw), viewOf(p, w.fcb), M, C, 4 * C);
      geluForward(gelu, fch, M * 4 * C);
      matmulForward(proj, gelu, viewOf(p, w.fcprojw), viewOf(p, w.fcprojb), M, 4 * C, C);
      residualForward(res, res2, proj, M * C);
      cur = res;
    }
    layernormForward(ln, mean, rstd, cur, viewOf(p, L.lnfw), viewOf(p, L.lnfb), M, C);
    const logits = f(M * V);
    matmulForward(logits, ln, wte, null, M, C, V); // tied head
    return logits;
  }
}
