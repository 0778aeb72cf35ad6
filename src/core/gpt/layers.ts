/**
 * The GPT's layers, each as a paired forward / backward on flat Float32Arrays
 * (the llm.c way). This is the reference the WebGPU kernels are checked
 * against, so it favours clarity; the only concessions to speed are loop
 * orders that walk memory contiguously and a blocked matmul.
 *
 * Legend: B batch, T time, C channels, V vocab, NH heads, hs = C/NH,
 * OC output channels, N = B*T rows. Row-major everywhere: x (B,T,C) means
 * x[(b*T + t)*C + c]. Backward functions ACCUMULATE (+=) into gradients,
 * so callers zero them first.
 */

// ---------------------------------------------------------------------------
// Embedding: out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]

/** out (B,T,C), inp (B,T) token ids, wte (V,C), wpe (maxT,C). */
export function encoderForward(
  out: Float32Array, inp: Int32Array, wte: Float32Array, wpe: Float32Array,
  B: number, T: number, C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = inp[b * T + t]! * C;
      const p = t * C;
      for (let c = 0; c < C; c++) out[o + c] = wte[ix + c]! + wpe[p + c]!;
    }
  }
}

/** dwte (V,C), dwpe (maxT,C) += from dout (B,T,C). */
export function encoderBackward(
  dwte: Float32Array, dwpe: Float32Array, dout: Float32Array, inp: Int32Array,
  B: number, T: number, C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = inp[b * T + t]! * C;
      const p = t * C;
      for (let c = 0; c < C; c++) {
        const d = dout[o + c]!;
        dwte[ix + c] += d;
        dwpe[p + c] += d;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// LayerNorm: y = (x − μ) / sqrt(σ² + ε) · w + b, over the last axis (ε = 1e-5).

export const LN_EPS = 1e-5;

/** out (N,C), mean (N), rstd (N) ← inp (N,C), weight (C), bias (C). */
export function layernormForward(
  out: Float32Array, mean: Float32Array, rstd: Float32Array,
  inp: Float32Array, weight: Float32Array, bias: Float32Array, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const x = n * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += inp[x + c]!;
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = inp[x + c]! - m;
      v += d * d;
    }
    v /= C; // biased variance, as PyTorch's LayerNorm
    const s = 1 / Math.sqrt(v + LN_EPS);
    for (let c = 0; c < C; c++) out[x + c] = (inp[x + c]! - m) * s * weight[c]! + bias[c]!;
    mean[n] = m;
    rstd[n] = s;
  }
}

/**
 * dinp (N,C), dweight (C), dbias (C) += from dout (N,C).
 * With x̂ = (x−μ)·rstd and g = dout·w:  dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)).
 */
export function layernormBackward(
  dinp: Float32Array, dweight: Float32Array, dbias: Float32Array, dout: Float32Array,
  inp: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const x = n * C;
    const m = mean[n]!;
    const s = rstd[n]!;
    let gMean = 0;
    let gxMean = 0;
    for (let c = 0; c < C; c++) {
      const xhat = (inp[x + c]! - m) * s;
      const g = dout[x + c]! * weight[c]!;
      gMean += g;
      gxMean += g * xhat;
    }
    gMean /= C;
    gxMean /= C;
    for (let c = 0; c < C; c++) {
      const xhat = (inp[x + c]! - m) * s;
      const d = dout[x + c]!;
      dbias[c] += d;
      dweight[c] += d * xhat;
      dinp[x + c] += s * (d * weight[c]! - gMean - xhat * gxMean);
    }
  }
}

// ---------------------------------------------------------------------------
// Linear: out = inp · weightᵀ + bias
//
// All three products of a linear layer are written as one kernel, gemmNT
// (out = a · bᵀ, both operands walked contiguously along K), after
// transposing the operand that is not already in that form:
//   forward   out   (N,OC) = inp     (N,C)  · weight (OC,C)ᵀ
//   backward  dinp  (N,C)  = dout    (N,OC) · weightᵀ(C,OC)ᵀ
//             dW    (OC,C) = doutᵀ  (OC,N) · inpᵀ   (C,N)ᵀ
// The transposes cost O(N·C + N·OC + OC·C), small next to the O(N·C·OC)
// products, and make the backward pass as fast per flop as the forward.

/**
 * out (M,N) = a (M,K) · b (N,K)ᵀ (+ bias (N)); accumulates into out when `accumulate`.
 * Blocked 4 rows of a × 2 rows of b: each loaded value feeds several products.
 */
export function gemmNT(
  out: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
  M: number, K: number, N: number, accumulate: boolean,
): void {
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    const o0 = m * N, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
    let n = 0;
    for (; n + 2 <= N; n += 2) {
      const b0 = n * K, b1 = b0 + K;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = b[b0 + k]!, x1 = b[b1 + k]!;
        const y0 = a[a0 + k]!, y1 = a[a1 + k]!, y2 = a[a2 + k]!, y3 = a[a3 + k]!;
        s00 += y0 * x0; s01 += y0 * x1;
        s10 += y1 * x0; s11 += y1 * x1;
        s20 += y2 * x0; s21 += y2 * x1;
        s30 += y3 * x0; s31 += y3 * x1;
      }
      if (bias) {
        const c0 = bias[n]!, c1 = bias[n + 1]!;
        s00 += c0; s10 += c0; s20 += c0; s30 += c0;
        s01 += c1; s11 += c1; s21 += c1; s31 += c1;
      }
      if (accumulate) {
        out[o0 + n] += s00; out[o0 + n + 1] += s01;
        out[o1 + n] += s10; out[o1 + n + 1] += s11;
        out[o2 + n] += s20; out[o2 + n + 1] += s21;
        out[o3 + n] += s30; out[o3 + n + 1] += s31;
      } else {
        out[o0 + n] = s00; out[o0 + n + 1] = s01;
        out[o1 + n] = s10; out[o1 + n + 1] = s11;
        out[o2 + n] = s20; out[o2 + n + 1] = s21;
        out[o3 + n] = s30; out[o3 + n + 1] = s31;
      }
    }
    for (; n < N; n++) {
      for (let r = 0; r < 4; r++) gemmCell(out, a, b, bias, m + r, n, K, N, accumulate);
    }
  }
  for (; m < M; m++) for (let n = 0; n < N; n++) gemmCell(out, a, b, bias, m, n, K, N, accumulate);
}

/**
 * One element of gemmNT (the edges the blocked loop leaves over), summed in
 * the blocked loop's order (k ascending, then the bias), so an output row has
 * the same bits whichever path computes it: a row's result never depends on
 * the batch around it (the KV-cache decoder relies on this).
 */
function gemmCell(
  out: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
  m: number, n: number, K: number, N: number, accumulate: boolean,
): void {
  let s = 0;
  const am = m * K, bn = n * K;
  for (let k = 0; k < K; k++) s += a[am + k]! * b[bn + k]!;
  if (bias) s += bias[n]!;
  if (accumulate) out[m * N + n] += s;
  else out[m * N + n] = s;
}

/** out (C,R) = inp (R,C)ᵀ. */
export function transpose(out: Float32Array, inp: Float32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const x = r * C;
    for (let c = 0; c < C; c++) out[c * R + r] = inp[x + c]!;
  }
}

/** Reusable scratch for the transposes (grown on demand; the engine is single-threaded). */
const scratch: Float32Array[] = [];
function scratchOf(slot: number, n: number): Float32Array {
  const s = scratch[slot];
  if (s && s.length >= n) return s.subarray(0, n);
  const fresh = new Float32Array(n);
  scratch[slot] = fresh;
  return fresh;
}

/** out (N,OC) ← inp (N,C), weight (OC,C), bias (OC) or null. */
export function matmulForward(
  out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
  N: number, C: number, OC: number,
): void {
  gemmNT(out, inp, weight, bias, N, C, OC, false);
}

/**
 * dinp (N,C) += dout · weight;  dweight (OC,C) += doutᵀ · inp;  dbias (OC) += Σₙ dout.
 * dinp may be null (the first layer's input needs no gradient).
 */
export function matmulBackward(
  dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
  dout: Float32Array, inp: Float32Array, weight: Float32Array,
  N: number, C: number, OC: number,
): void {
  if (dinp) {
    const weightT = scratchOf(0, C * OC);
    transpose(weightT, weight, OC, C); // (C,OC)
    gemmNT(dinp, dout, weightT, null, N, OC, C, true);
  }
  const doutT = scratchOf(1, OC * N);
  const inpT = scratchOf(2, C * N);
  transpose(doutT, dout, N, OC); // (OC,N)
  transpose(inpT, inp, N, C); // (C,N)
  gemmNT(dweight, doutT, inpT, null, OC, N, C, true);
  if (dbias) {
    for (let o = 0; o < OC; o++) {
      let s = 0;
      const row = o * N;
      for (let n = 0; n < N; n++) s += doutT[row + n]!;
      dbias[o] += s;
    }
  }
}

// ---------------------------------------------------------------------------
// Causal multi-head self-attention on packed qkv.
// qkv[b,t,:] = [q (C) | k (C) | v (C)], head h uses channels h*hs … (h+1)*hs.
// att[b,h,t,t2] = softmax_{t2≤t}(q_t · k_t2 / sqrt(hs)), 0 for t2 > t.
// out[b,t,h*hs+i] = Σ_{t2≤t} att[b,h,t,t2] · v_t2[i].

/** out (B,T,C), att (B,NH,T,T) ← qkv (B,T,3C). */
export function attentionForward(
  out: Float32Array, att: Float32Array, qkv: Float32Array,
  B: number, T: number, C: number, NH: number,
): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < NH; h++) {
        const q = (b * T + t) * C3 + h * hs;
        const a = ((b * NH + h) * T + t) * T;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const k = (b * T + t2) * C3 + C + h * hs;
          let s = 0;
          for (let i = 0; i < hs; i++) s += qkv[q + i]! * qkv[k + i]!;
          s *= scale;
          att[a + t2] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(att[a + t2]! - max);
          att[a + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let t2 = 0; t2 <= t; t2++) att[a + t2] *= inv;
        for (let t2 = t + 1; t2 < T; t2++) att[a + t2] = 0;
        const o = (b * T + t) * C + h * hs;
        for (let i = 0; i < hs; i++) out[o + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vv = (b * T + t2) * C3 + 2 * C + h * hs;
          const w = att[a + t2]!;
          for (let i = 0; i < hs; i++) out[o + i] += w * qkv[vv + i]!;
        }
      }
    }
  }
}

/**
 * Attention for ONE new position per row, against a key/value cache (the
 * decoder's step). out (M,C) ← q (M,3C) rows (only the q part is read),
 * kCache/vCache (R,maxT,C) for cache rows rows[m], attending to positions
 * 0…positions[m]. The arithmetic mirrors attentionForward statement for
 * statement (float32 stores included), so the result has the same bits as
 * the full forward's row at that position. att is (maxT) float32 scratch.
 */
export function attentionDecode(
  out: Float32Array, qkv: Float32Array, kCache: Float32Array, vCache: Float32Array, att: Float32Array,
  rows: Int32Array, positions: Int32Array, M: number, maxT: number, C: number, NH: number,
): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  for (let m = 0; m < M; m++) {
    const t = positions[m]!;
    const base = rows[m]! * maxT * C;
    for (let h = 0; h < NH; h++) {
      const q = m * C3 + h * hs;
      let max = -Infinity;
      for (let t2 = 0; t2 <= t; t2++) {
        const k = base + t2 * C + h * hs;
        let s = 0;
        for (let i = 0; i < hs; i++) s += qkv[q + i]! * kCache[k + i]!;
        s *= scale;
        att[t2] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        const e = Math.exp(att[t2]! - max);
        att[t2] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let t2 = 0; t2 <= t; t2++) att[t2] *= inv;
      const o = m * C + h * hs;
      for (let i = 0; i < hs; i++) out[o + i] = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        const vv = base + t2 * C + h * hs;
        const w = att[t2]!;
        for (let i = 0; i < hs; i++) out[o + i] += w * vCache[vv + i]!;
      }
    }
  }
}

/**
 * dqkv (B,T,3C) += from dout (B,T,C), using att (B,NH,T,T) and qkv.
 * Softmax backward in closed form: dpre[t2] = att[t2] · (datt[t2] − Σ_j att[j]·datt[j]).
 */
export function attentionBackward(
  dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
  B: number, T: number, C: number, NH: number,
): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < NH; h++) {
        const a = ((b * NH + h) * T + t) * T;
        const o = (b * T + t) * C + h * hs;
        const q = (b * T + t) * C3 + h * hs;
        // through out = Σ att·v
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vv = (b * T + t2) * C3 + 2 * C + h * hs;
          const w = att[a + t2]!;
          let s = 0;
          for (let i = 0; i < hs; i++) {
            const g = dout[o + i]!;
            s += qkv[vv + i]! * g;
            dqkv[vv + i] += w * g;
          }
          datt[t2] = s;
          dot += w * s;
        }
        // through softmax, then through q·k·scale
        for (let t2 = 0; t2 <= t; t2++) {
          const dpre = att[a + t2]! * (datt[t2]! - dot) * scale;
          if (dpre === 0) continue;
          const k = (b * T + t2) * C3 + C + h * hs;
          for (let i = 0; i < hs; i++) {
            dqkv[q + i] += dpre * qkv[k + i]!;
            dqkv[k + i] += dpre * qkv[q + i]!;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// GELU, tanh approximation (GPT-2): y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))

const GELU_K = Math.sqrt(2 / Math.PI);

/** out (n) ← gelu(inp (n)). */
export function geluForward(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_K * (x + 0.044715 * x * x * x)));
  }
}

/** dinp (n) += gelu'(inp) · dout. */
export function geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    const u = GELU_K * (x + 0.044715 * x * x * x);
    const th = Math.tanh(u);
    const sech2 = 1 - th * th;
    const local = 0.5 * (1 + th) + 0.5 * x * sech2 * GELU_K * (1 + 3 * 0.044715 * x * x);
    dinp[i] += local * dout[i]!;
  }
}

// ---------------------------------------------------------------------------
// Residual: out = a + b. Its backward passes dout to both inputs unchanged;
// the backends fold that into accumulating (+=) the branch gradients.

export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}

// ---------------------------------------------------------------------------
// Weighted token cross-entropy, fused with softmax.
//   ce[b,t]   = −log softmax(logits[b,t,:])[targets[b,t]]
//   loss      = Σ_{b,t} w[b,t] · ce[b,t]          (weights may be 0 or negative)
//   perSeq[b] = Σ_t w[b,t] · ce[b,t]
// The caller chooses the normalisation through the weights (e.g. 1/#tokens).

/** ce (B*T) ← logits (B*T,V), targets (B*T). Returns nothing; see crossEntropyLoss. */
export function crossEntropyForward(
  ce: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number,
): void {
  for (let n = 0; n < N; n++) {
    const x = n * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[x + v]! > max) max = logits[x + v]!;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[x + v]! - max);
    ce[n] = Math.log(sum) + max - logits[x + targets[n]!]!;
  }
}

/** dlogits (B*T,V) = w · (softmax(logits) − onehot(target)). Overwrites, does not accumulate. */
export function crossEntropyBackward(
  dlogits: Float32Array, logits: Float32Array, targets: Int32Array, weights: Float32Array, N: number, V: number,
): void {
  for (let n = 0; n < N; n++) {
    const x = n * V;
    const w = weights[n]!;
    if (w === 0) {
      dlogits.fill(0, x, x + V);
      continue;
    }
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[x + v]! > max) max = logits[x + v]!;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[x + v]! - max);
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) dlogits[x + v] = w * Math.exp(logits[x + v]! - max) * inv;
    dlogits[x + targets[n]!] -= w;
  }
}
