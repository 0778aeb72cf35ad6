/**
 * Sampling from a Backend: greedy, temperature, top-k, top-p (nucleus),
 * batched, with stop tokens and a budget of new tokens, seeded.
 *
 * Three paths, the first the backend offers:
 *   - generateOnDevice (WebGPU): the device decodes with a KV cache and
 *     samples by the rule of `sampleToken`, with the same Threefry streams,
 *     and returns only the tokens; `appendToken` is replayed on them here, so
 *     the stop rule stays written once and a device that disagrees is caught;
 *   - createDecoder (the CPU backend): a KV cache, logits per position, the
 *     token chosen here;
 *   - lastLogits: the whole prefix recomputed for every token.
 * Each row draws from its own stream `foldIn(key, row)`, so a row's tokens
 * do not depend on the other rows in the batch, and the same seed gives the
 * same tokens on either backend (up to logits or running sums that tie
 * within float rounding).
 */
import type { Backend, Decoder } from './backend';
import { type Key, Rng, foldIn } from './rng';

export interface SampleOptions {
  /** New tokens to generate at most per row. */
  maxNewTokens: number;
  /** Softmax temperature; 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 disables. */
  topP: number;
  /** Generation of a row ends after it emits one of these (the stop token is kept). */
  stopTokens: readonly number[];
  key: Key;
}

export const defaultSampleOptions: Omit<SampleOptions, 'key'> = {
  maxNewTokens: 32,
  temperature: 1,
  topK: 0,
  topP: 1,
  stopTokens: [],
};

export interface Generation {
  /** The new tokens only (the prompt is not repeated). */
  tokens: number[];
  /** Why the row ended: a stop token, the token budget, or the model's context length. */
  stoppedBy: 'stop' | 'length' | 'context';
}

/** Check sampling options; throws a message naming the field. */
export function checkSampleOptions(o: SampleOptions): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) {
    throw new Error(`maxNewTokens: must be a non-negative integer, got ${o.maxNewTokens}`);
  }
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) {
    throw new Error(`temperature: must be a finite number ≥ 0, got ${o.temperature}`);
  }
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`topK: must be a non-negative integer, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`topP: must be in (0, 1], got ${o.topP}`);
}

/**
 * Choose one token from a row of logits (V). Greedy when temperature is 0
 * (lowest id wins ties); otherwise softmax(logits / temperature), restricted
 * to the k most likely tokens (top-k) and then to the smallest most-likely
 * set whose mass reaches p (top-p), sampled by inverse CDF.
 *
 * Cost: O(V) without top-k/top-p (the CDF runs in id order); with top-p the
 * candidates are first cut to the tokens whose weight clears a threshold
 * found by bisection (O(V) per halving), so only that nucleus is sorted
 * (by logit, descending; ties by id, so the order is deterministic); top-k
 * sorts the whole row (rarely used). Sorting every row of a 1,536-token
 * vocabulary cost 85% of a generation's time.
 */
export function sampleToken(logits: Float32Array, o: Omit<SampleOptions, 'key'>, rng: Rng): number {
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
    return best;
  }
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[v]! > max) max = logits[v]!;
  const w = new Float64Array(V); // unnormalised probabilities, in (0, 1]
  let total = 0;
  for (let v = 0; v < V; v++) {
    w[v] = Math.exp((logits[v]! - max) / o.temperature);
    total += w[v]!;
  }
  if (o.topP >= 1 && !(o.topK > 0 && o.topK < V)) {
    // The full distribution: inverse CDF in id order, no sort.
    const u = rng.uniform() * total;
    let acc = 0;
    for (let v = 0; v < V; v++) {
      acc += w[v]!;
      if (u < acc) return v;
    }
    return V - 1;
  }

  const byLogit = (a: number, b: number) => logits[b]! - logits[a]! || a - b;
  let order: number[]; // candidates, most likely first
  let mass = total; // the mass top-p is a share of: all tokens', or the top k's
  if (o.topK > 0 && o.topK < V) {
    order = Array.from({ length: V }, (_, v) => v).sort(byLogit).slice(0, o.topK);
    mass = order.reduce((m, v) => m + w[v]!, 0);
  } else {
    // The largest threshold θ whose tokens (w ≥ θ) still hold topP of the mass: the nucleus is among them.
    const need = o.topP * total;
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 40; i++) {
      const mid = (lo + hi) / 2;
      let m = 0;
      for (let v = 0; v < V; v++) if (w[v]! >= mid) m += w[v]!;
      if (m >= need) lo = mid;
      else hi = mid;
    }
    order = [];
    for (let v = 0; v < V; v++) if (w[v]! >= lo) order.push(v);
    order.sort(byLogit);
  }
  // Nucleus: the smallest prefix whose share of `mass` reaches topP.
  let keep = order.length;
  if (o.topP < 1) {
    let share = 0;
    for (let i = 0; i < order.length; i++) {
      share += w[order[i]!]! / mass;
      if (share >= o.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += w[order[i]!]!;
  return inverseCdf(w, order, keep, rng.uniform() * kept);
}

/** The first of candidates[0…n) at which the running sum of w passes u (the last one if rounding leaves u above the sum). */
function inverseCdf(w: Float64Array, candidates: readonly number[], n: number, u: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += w[candidates[i]!]!;
    if (u < acc) return candidates[i]!;
  }
  return candidates[n - 1]!;
}

/**
 * The sequence length to run for a longest row of T tokens. WebGPU caches
 * buffers and bind groups per (B,T), so it gets multiples of 8 (few distinct
 * shapes); the CPU pays per position, so it gets T exactly.
 */
function paddedLength(backend: Backend, T: number): number {
  const max = backend.config.contextLength;
  return backend.kind === 'webgpu' ? Math.min(max, Math.ceil(T / 8) * 8) : Math.min(max, T);
}

/** Generate continuations for a batch of prompts (token ids; each non-empty). */
export async function generate(backend: Backend, prompts: readonly (readonly number[])[], o: SampleOptions): Promise<Generation[]> {
  checkSampleOptions(o);
  const ctx = backend.config.contextLength;
  const B = prompts.length;
  prompts.forEach((p, b) => {
    if (p.length === 0) throw new Error(`prompts[${b}]: a prompt needs at least one token (e.g. BOS)`);
    if (p.length > ctx) throw new Error(`prompts[${b}]: ${p.length} tokens exceed the context length ${ctx}`);
  });
  const rows = prompts.map((p) => [...p]);
  const out: Generation[] = prompts.map(() => ({ tokens: [], stoppedBy: 'length' }));
  const rngs = prompts.map((_, b) => new Rng(foldIn(o.key, b)));
  const active = prompts.map(() => o.maxNewTokens > 0);
  const stop = new Set(o.stopTokens);
  for (let b = 0; b < B; b++) {
    if (active[b] && rows[b]!.length >= ctx) {
      active[b] = false;
      out[b]!.stoppedBy = 'context';
    }
  }
  if (backend.generateOnDevice) return generateOnDevice(backend, prompts, out, active, stop, o);
  if (backend.createDecoder) return generateWithCache(backend, backend.createDecoder(B), rows, out, active, rngs, stop, o);
  const V = backend.config.vocabSize;
  // The CPU pays per row, so it runs only the rows still generating; WebGPU
  // caches per (B,T) shape and keeps the batch whole (a finished row costs it little).
  const compact = backend.kind === 'cpu';
  while (active.some(Boolean)) {
    const live = compact ? rows.flatMap((_, b) => (active[b] ? [b] : [])) : rows.map((_, b) => b);
    const longest = Math.max(...live.map((b) => (active[b] ? rows[b]!.length : 0)));
    const T = paddedLength(backend, longest);
    const inputs = new Int32Array(live.length * T); // right-padded with id 0: causal attention never looks right
    const positions = new Int32Array(live.length);
    live.forEach((b, i) => {
      const r = rows[b]!;
      const n = Math.min(r.length, T);
      inputs.set(r.slice(r.length - n), i * T);
      positions[i] = n - 1;
    });
    const logits = await backend.lastLogits(inputs, live.length, T, positions);
    for (const [i, b] of live.entries()) {
      if (!active[b]) continue;
      const token = sampleToken(logits.subarray(i * V, (i + 1) * V), o, rngs[b]!);
      active[b] = appendToken(rows[b]!, out[b]!, token, stop, o.maxNewTokens, ctx);
    }
  }
  return out;
}

/**
 * Append a sampled token to a row (prompt + output so far) and its
 * Generation; false once the row is finished, with the reason recorded:
 * a stop token, the budget of new tokens, or the context length.
 */
function appendToken(row: number[], g: Generation, token: number, stop: Set<number>, maxNewTokens: number, ctx: number): boolean {
  row.push(token);
  g.tokens.push(token);
  if (stop.has(token)) g.stoppedBy = 'stop';
  else if (g.tokens.length >= maxNewTokens) g.stoppedBy = 'length';
  else if (row.length >= ctx) g.stoppedBy = 'context';
  else return true;
  return false;
}

/**
 * generate() over a KV-cache decoder: the prompts are fed position by
 * position (all rows in lockstep), then each new token costs one position.
 * Same streams, same stopping rules, and (the decoder's logits having the
 * full forward's bits) the same tokens as the path without a cache.
 */
async function generateWithCache(
  backend: Backend, decoder: Decoder, rows: number[][], out: Generation[], active: boolean[], rngs: Rng[], stop: Set<number>,
  o: SampleOptions,
): Promise<Generation[]> {
  const V = backend.config.vocabSize;
  const ctx = backend.config.contextLength;
  const B = rows.length;
  const last: (Float32Array | null)[] = rows.map(() => null); // each row's next-token logits (V)
  const feed = async (list: number[], tokenAt: (b: number) => number, positionOf: (b: number) => number) => {
    if (list.length === 0) return;
    const logits = await decoder.step(Int32Array.from(list), Int32Array.from(list, tokenAt), Int32Array.from(list, positionOf));
    list.forEach((b, i) => (last[b] = logits.subarray(i * V, (i + 1) * V)));
  };
  // Prefill: position t of every active row whose prompt is longer than t.
  const longest = Math.max(0, ...rows.map((r, b) => (active[b] ? r.length : 0)));
  for (let t = 0; t < longest; t++) {
    await feed(rows.flatMap((r, b) => (active[b] && t < r.length ? [b] : [])), (b) => rows[b]![t]!, () => t);
  }
  while (active.some(Boolean)) {
    const next: number[] = [];
    for (let b = 0; b < B; b++) {
      if (!active[b]) continue;
      const token = sampleToken(last[b]!, o, rngs[b]!);
      active[b] = appendToken(rows[b]!, out[b]!, token, stop, o.maxNewTokens, ctx);
      if (active[b]) next.push(b);
    }
    await feed(next, (b) => rows[b]![rows[b]!.length - 1]!, (b) => rows[b]!.length - 1);
  }
  return out;
}

/**
 * generate() on a device that samples itself (Backend.generateOnDevice):
 * the rows' streams go down as keys, the new tokens come back, and
 * appendToken, replayed on them, must end each row exactly at its last token.
 */
async function generateOnDevice(
  backend: Backend, prompts: readonly (readonly number[])[], out: Generation[], active: boolean[], stop: Set<number>, o: SampleOptions,
): Promise<Generation[]> {
  const ctx = backend.config.contextLength;
  const rowKeys = new Uint32Array(2 * prompts.length);
  prompts.forEach((_, b) => rowKeys.set(foldIn(o.key, b), 2 * b));
  const { maxNewTokens, temperature, topK, topP, stopTokens } = o;
  const tokens = await backend.generateOnDevice!(prompts, { maxNewTokens, temperature, topK, topP, stopTokens, rowKeys });
  prompts.forEach((p, b) => {
    const row = [...p];
    let live = active[b]!;
    for (const token of tokens[b]!) {
      if (!live) throw new Error(`generate: the device gave row ${b} a token after its stop rule ended it`);
      live = appendToken(row, out[b]!, token, stop, o.maxNewTokens, ctx);
    }
    if (live) throw new Error(`generate: the device ended row ${b} after ${tokens[b]!.length} tokens, before its stop rule did`);
  });
  return out;
}
