/**
 * Sentence embeddings from a pretrained encoder (default
 * `Xenova/all-MiniLM-L6-v2`, 384 dims): mean of the last hidden states over
 * the attention mask, then L2-normalised, so a dot product is a cosine.
 *
 * Texts are embedded in batches: the write-up this lab reproduces ran out of
 * memory embedding 10,000 texts at once and silently reported 0.0. Here a
 * failing batch is an error naming the batch, and a vector that is zero or
 * not finite is an error too; nothing is ever reported as 0.
 */
import { AutoConfig, AutoModel, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import {
  CancelledError, configureTransformers, IS_NODE, type LoadProgress, loadTokenizer, ModelLoadError, type ModelSource, nextTask,
  progressReporter,
} from './env';
import { ModelSlot } from './model-slot';

export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

export interface EmbedderSpec extends ModelSource {
  /** A Hub id, a local folder (Node) or a URL path the app serves (browser). Default DEFAULT_EMBEDDING_MODEL. */
  model?: string;
  /** Default: 'wasm' in the browser (the GPU stays free for training), 'cpu' in Node. */
  device?: 'wasm' | 'webgpu' | 'cpu';
  /**
   * Weights file: 'fp32' (onnx/model.onnx, the default, so the browser and the
   * headless runner give the same numbers) or 'q8' (onnx/model_quantized.onnx,
   * about a quarter of the download).
   */
  dtype?: 'fp32' | 'fp16' | 'q8';
}

export interface EmbedOptions {
  /** Texts per forward pass (default 32): bounds the memory of one pass. */
  batchSize?: number;
  /** After each batch: texts embedded so far, of `total`. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between batches; an abort rejects with CancelledError. */
  signal?: AbortSignal;
}

export interface Embedder {
  readonly modelId: string;
  /** Length of every vector. */
  readonly dims: number;
  /** One unit-length vector per text, in order. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

export const DEFAULT_EMBED_BATCH = 32;

/**
 * Mean-pool and L2-normalise a batch: hidden (B,T,C), mask (B,T) of 0/1 →
 * B vectors (C), v = Σ_t m_t h_t / Σ_t m_t, then v / ‖v‖. Throws on a row
 * with no unmasked token or whose vector is zero or not finite.
 */
export function meanPoolNormalize(hidden: Float32Array, mask: ArrayLike<number | bigint>, B: number, T: number, C: number): Float32Array[] {
  if (hidden.length !== B * T * C || mask.length !== B * T) {
    throw new Error(`meanPoolNormalize: hidden has ${hidden.length} values and mask ${mask.length}, expected (${B},${T},${C}) and (${B},${T})`);
  }
  const out: Float32Array[] = [];
  for (let b = 0; b < B; b++) {
    const sum = new Float64Array(C);
    let count = 0;
    for (let t = 0; t < T; t++) {
      if (Number(mask[b * T + t]) === 0) continue;
      count++;
      const row = (b * T + t) * C;
      for (let c = 0; c < C; c++) sum[c]! += hidden[row + c]!;
    }
    if (count === 0) throw new Error(`row ${b} has no token to pool (empty attention mask)`);
    let norm = 0;
    for (let c = 0; c < C; c++) norm += sum[c]! * sum[c]!;
    norm = Math.sqrt(norm);
    if (!Number.isFinite(norm)) throw new Error(`row ${b}: the model gave a non-finite embedding`);
    if (norm === 0) throw new Error(`row ${b}: the model gave an all-zero embedding`);
    const v = new Float32Array(C);
    for (let c = 0; c < C; c++) v[c] = sum[c]! / norm;
    out.push(v);
  }
  return out;
}

class TransformersEmbedder implements Embedder {
  constructor(
    readonly modelId: string,
    readonly dims: number,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
  ) {}

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const batchSize = options.batchSize ?? DEFAULT_EMBED_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize: must be a positive integer, got ${batchSize}`);
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      await nextTask(); // let a worker's cancel message in between batches
      if (options.signal?.aborted) throw new CancelledError('embedding');
      const batch = texts.slice(start, start + batchSize);
      try {
        out.push(...(await this.#embedBatch(batch)));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        throw new Error(`embedding texts ${start}–${start + batch.length - 1} of ${texts.length} failed: ${message}`, { cause: e });
      }
      options.onProgress?.(out.length, texts.length);
    }
    return out;
  }

  async #embedBatch(batch: readonly string[]): Promise<Float32Array[]> {
    const inputs = this.tokenizer([...batch], { padding: true, truncation: true });
    const outputs = (await this.model(inputs)) as { last_hidden_state?: Tensor };
    const hidden = outputs.last_hidden_state;
    if (!hidden) throw new Error(`the model has no 'last_hidden_state' output (outputs: ${Object.keys(outputs).join(', ')})`);
    try {
      const [B, T, C] = hidden.dims as [number, number, number];
      if (C !== this.dims) throw new Error(`the model returned ${C}-dim states, its config says ${this.dims}`);
      const mask = (inputs as { attention_mask: Tensor }).attention_mask.data as BigInt64Array;
      return meanPoolNormalize(hidden.data as Float32Array, mask, B, T, C);
    } finally {
      hidden.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/** Load a sentence encoder (tokenizer + ONNX model); rejects with ModelLoadError saying why. */
export async function loadEmbedder(spec: EmbedderSpec = {}, onProgress?: (p: LoadProgress) => void): Promise<Embedder> {
  const modelId = spec.model ?? DEFAULT_EMBEDDING_MODEL;
  try {
    configureTransformers(modelId, spec);
    const progress_callback = progressReporter(modelId, onProgress);
    const config = await AutoConfig.from_pretrained(modelId, { progress_callback });
    const tokenizer = await loadTokenizer(modelId, progress_callback);
    const model = await AutoModel.from_pretrained(modelId, {
      config,
      progress_callback,
      device: spec.device ?? (IS_NODE ? 'cpu' : 'wasm'),
      dtype: spec.dtype ?? 'fp32',
    });
    const dims = (model.config as { hidden_size?: unknown }).hidden_size;
    if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) {
      await model.dispose();
      throw new Error(`config.json has no hidden_size, so the embedding size is unknown (got ${String(dims)})`);
    }
    return new TransformersEmbedder(modelId, dims, tokenizer, model);
  } catch (e) {
    throw e instanceof ModelLoadError ? e : new ModelLoadError(modelId, e);
  }
}

/** What RunContext.embed resolves to (src/experiments/types.ts EmbedResult, restated: pretrained does not import experiments). */
export type EmbedOutcome = { ok: true; model: string; vectors: Float32Array[] } | { ok: false; reason: string };

export type EmbedFunction = (
  texts: readonly string[],
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
) => Promise<EmbedOutcome>;

/**
 * A host's RunContext.embed: loads the embedder on the first call and keeps
 * it; a load that fails resolves `{ok: false, reason}` with the error's
 * message (offline, missing files, …) and is retried on the next call; a
 * failure while embedding resolves `{ok: false}` too, so the experiment
 * reports the metric as not computed. An abort rejects with CancelledError.
 */
export function embedOnDemand(spec: EmbedderSpec = {}, onLoadProgress?: (p: LoadProgress) => void): EmbedFunction {
  const slot = new ModelSlot<Embedder>();
  return async (texts, onProgress, signal) => {
    let embedder: Embedder;
    try {
      embedder = await slot.get('', () => loadEmbedder(spec, onLoadProgress));
    } catch (e) {
      return { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
    try {
      const vectors = await embedder.embed(texts, { ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
      return { ok: true, model: embedder.modelId, vectors };
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      return { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
  };
}
