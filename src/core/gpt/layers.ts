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

/** out (N,OC) ← inp (N,C), weight (OC,C), bias (OC) or null. */
export function matmulForward(
  out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
  N: number, C: number, OC: number,
): void {
  // Four input rows at a time share each weight row's loads (both walk C contiguously).
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const x0 = n * C, x1 = x0 + C, x2 = x1 + C, x3 = x2 + C;
    for (let o = 0; o < OC; o++) {
      const w = o * C;
      const b0 = bias ? bias[o]! : 0;
      let s0 = b0, s1 = b0, s2 = b0, s3 = b0;
      for (let c = 0; c < C; c++) {
        const wc = weight[w + c]!;
        s0 += inp[x0 + c]! * wc;
        s1 += inp[x1 + c]! * wc;
        s2 += inp[x2 + c]! * wc;
        s3 += inp[x3 + c]! * wc;
      }
      out[n * OC + o] = s0;
      out[(n + 1) * OC + o] = s1;
      out[(n + 2) * OC + o] = s2;
      out[(n + 3) * OC + o] = s3;
    }
  }
  for (; n < N; n++) {
    const x = n * C;
    for (let o = 0; o < OC; o++) {
      const w = o * C;
      let s = bias ? bias[o]! : 0;
      for (let c = 0; c < C; c++) s += inp[x + c]! * weight[w + c]!;
      out[n * OC + o] = s;
    }
  }
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
    for (let n = 0; n < N; n++) {
      const x = n * C;
      const d = n * OC;
      for (let o = 0; o < OC; o++) {
        const g = dout[d + o]!;
        if (g === 0) continue;
        const w = o * C;
        for (let c = 0; c < C; c++) dinp[x + c] += g * weight[w + c]!;
      }
    }
  }
  for (let o = 0; o < OC; o++) {
    const w = o * C;
    let db = 0;
    for (let n = 0; n < N; n++) {
      const g = dout[n * OC + o]!;
      db += g;
      if (g === 0) continue;
      const x = n * C;
      for (let c = 0; c < C; c++) dweight[w + c] += g * inp[x + c]!;
    }
    if (dbias) dbias[o] += db;
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
