/**
 * A pretrained instruct language model (transformers.js) that writes text
 * for chat prompts: the Generator of the symbiosis lab, adapted by its
 * prompts only (inference, no training).
 *
 * Where it runs: WebGPU with 4-bit weights and fp16 activations (q4f16) when
 * the adapter has `shader-f16`, 4-bit weights with fp32 activations (q4)
 * otherwise; onnxruntime-web's Wasm backend (q4) without WebGPU or on a
 * software adapter; onnxruntime-node's CPU backend (q4) in Node.
 *
 * How it samples: transformers.js's own sampler draws from an unseeded
 * global generator and implements neither top-p nor top-k, so the choice of
 * token is made here, with core/sample's `sampleToken` and one seeded stream
 * per prompt (`foldIn(keyFromSeed(seed), promptIndex)`): a prompt's text does
 * not depend on the batch it lands in. The chosen token is handed to
 * transformers.js's greedy search as the only finite logit (SeededChoice).
 * A row that has stopped keeps receiving the pad token until its batch ends.
 */
import {
  AutoConfig, AutoModelForCausalLM, BaseStreamer, LogitsProcessor, LogitsProcessorList, type PreTrainedModel, type PreTrainedTokenizer,
  StoppingCriteria, StoppingCriteriaList, type Tensor, type TextStreamer,
} from '@huggingface/transformers';
import { type DeviceReport, probeWebGpu } from '../core/backends/index';
import { foldIn, keyFromSeed, Rng } from '../core/rng';
import { DEFAULT_GENERATOR_MODEL } from '../core/models';
import { checkSampleOptions, sampleToken } from '../core/sample';
import {
  CancelledError, configureTransformers, IS_NODE, type LoadProgress, loadTokenizer, ModelLoadError, type ModelSource, nextTask,
  progressReporter,
} from './env';

export { DEFAULT_GENERATOR_MODEL, GENERATOR_MODELS } from '../core/models';

export type GeneratorDevice = 'webgpu' | 'wasm' | 'cpu';
/** Weight files: onnx/model_q4f16.onnx, model_q4.onnx, model_fp16.onnx, model.onnx. */
export type GeneratorDtype = 'q4f16' | 'q4' | 'fp16' | 'fp32';

export interface GeneratorSpec extends ModelSource {
  /** A Hub id, a local folder (Node) or a URL path the app serves (browser). Default DEFAULT_GENERATOR_MODEL. */
  model?: string;
  /** 'auto' (default): see choosePlacement. */
  device?: GeneratorDevice | 'auto';
  /** Default: the device's (choosePlacement). */
  dtype?: GeneratorDtype;
}

export interface Placement {
  device: GeneratorDevice;
  dtype: GeneratorDtype;
  /** One line for the UI and the run record. */
  reason: string;
}

/**
 * Device and weights for 'auto', from a WebGPU probe (null in Node). A
 * software adapter (SwiftShader, lavapipe) runs these models slower than
 * the Wasm backend, so auto takes Wasm there, as the training engine takes
 * its CPU backend.
 */
export function choosePlacement(report: DeviceReport | null): Placement {
  if (report === null) return { device: 'cpu', dtype: 'q4', reason: 'Node: onnxruntime-node on the CPU, 4-bit weights' };
  if (!report.webgpu) return { device: 'wasm', dtype: 'q4', reason: `${report.reason}: Wasm, 4-bit weights` };
  if (report.isFallbackAdapter) return { device: 'wasm', dtype: 'q4', reason: `${report.reason} is slower than Wasm: Wasm, 4-bit weights` };
  return report.shaderF16
    ? { device: 'webgpu', dtype: 'q4f16', reason: `${report.reason} with shader-f16: WebGPU, 4-bit weights, fp16 activations` }
    : { device: 'webgpu', dtype: 'q4', reason: `${report.reason} without shader-f16: WebGPU, 4-bit weights, fp32 activations` };
}

async function resolvePlacement(spec: GeneratorSpec): Promise<Placement> {
  const device = spec.device ?? 'auto';
  if (device === 'auto') {
    const auto = choosePlacement(IS_NODE ? null : (await probeWebGpu()).report);
    return spec.dtype ? { ...auto, dtype: spec.dtype, reason: `${auto.reason}; ${spec.dtype} weights requested` } : auto;
  }
  if (spec.dtype) return { device, dtype: spec.dtype, reason: `${device}, ${spec.dtype} requested` };
  if (device !== 'webgpu') return { device, dtype: 'q4', reason: `${device} requested, 4-bit weights` };
  const { report } = await probeWebGpu();
  return report.shaderF16
    ? { device, dtype: 'q4f16', reason: 'WebGPU requested; shader-f16: 4-bit weights, fp16 activations' }
    : { device, dtype: 'q4', reason: 'WebGPU requested; no shader-f16: 4-bit weights, fp32 activations' };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One prompt: a conversation the model answers as the assistant. */
export type ChatPrompt = readonly ChatMessage[];

export interface GenerateOptions {
  /** New tokens per prompt at most (≥ 1). */
  maxNewTokens: number;
  /** Softmax temperature; 0 is greedy. */
  temperature: number;
  /** Nucleus: keep the smallest set of tokens whose probability reaches topP (default 1: off). */
  topP?: number;
  /** Keep the k most likely tokens (default 0: off). */
  topK?: number;
  /** Sampling seed; default a fresh one, returned in the result so the run can be repeated. */
  seed?: number;
  /** Prompts per forward pass (default 4). */
  batchSize?: number;
}

export interface GenerateCallbacks {
  /** Text as it is generated: `text` continues prompt `prompt`'s earlier pieces; all pieces concatenated are its final text. */
  onToken?: (prompt: number, text: string) => void;
  /** Aborting stops after the current token; generate() then rejects with CancelledError. */
  signal?: AbortSignal;
}

export interface Generation {
  /** The answer, special tokens removed. */
  text: string;
  /** The new token ids, the stop token included when there is one. */
  tokens: number[];
  stoppedBy: 'stop' | 'length';
}

export interface GenerateResult {
  seed: number;
  generations: Generation[];
}

export interface Generator {
  readonly modelId: string;
  readonly placement: Placement;
  generate(prompts: readonly ChatPrompt[], options: GenerateOptions, callbacks?: GenerateCallbacks): Promise<GenerateResult>;
  dispose(): Promise<void>;
}

export const DEFAULT_GENERATE_BATCH = 4;

/** One prompt's state during a batch. */
interface Row {
  rng: Rng;
  tokens: number[];
  done: boolean;
  /** Text already passed to onToken. */
  emitted: string;
}

type SampleSettings = { temperature: number; topK: number; topP: number; maxNewTokens: number; stopTokens: readonly number[] };

/** Chooses each row's next token (core/sample) and leaves it the only finite logit, for transformers.js's greedy step. */
class SeededChoice extends LogitsProcessor {
  constructor(private readonly rows: Row[], private readonly settings: SampleSettings, private readonly stop: ReadonlySet<number>, private readonly pad: number) {
    super();
  }

  // logits (B,V): this step's scores, after transformers.js's own processors (none, as generate() configures it).
  override _call(_inputIds: bigint[][], logits: Tensor): Tensor {
    const [B, V] = logits.dims as [number, number];
    const data = logits.data as Float32Array;
    for (let b = 0; b < B; b++) {
      const row = this.rows[b]!;
      const scores = data.subarray(b * V, (b + 1) * V);
      let next = this.pad;
      if (!row.done) {
        next = sampleToken(scores, this.settings, row.rng);
        row.tokens.push(next);
        row.done = this.stop.has(next);
      }
      scores.fill(-Infinity);
      scores[next] = 0;
    }
    return logits;
  }
}

/** Ends every row once the signal has fired (checked after each token). */
class AbortCriterion extends StoppingCriteria {
  constructor(private readonly signal: AbortSignal | undefined) {
    super();
  }

  override _call(inputIds: readonly unknown[]): boolean[] {
    return inputIds.map(() => this.signal?.aborted ?? false);
  }
}

/** After each token: the new text of every row still going, to onToken. */
class RowStreamer extends BaseStreamer {
  #promptSeen = false;

  constructor(private readonly rows: Row[], private readonly emit: (b: number) => void) {
    super();
  }

  override put(_value: bigint[][]): void {
    // The first call carries the prompts; later ones one token per row (already in row.tokens).
    if (!this.#promptSeen) {
      this.#promptSeen = true;
      return;
    }
    this.rows.forEach((_, b) => this.emit(b));
  }

  override end(): void {}
}

class TransformersGenerator implements Generator {
  readonly #stop: ReadonlySet<number>;
  readonly #pad: number;
  readonly #maxPositions: number;

  constructor(
    readonly modelId: string,
    readonly placement: Placement,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
  ) {
    // Stop on the generation config's EOS ids (Qwen: <|im_end|> and <|endoftext|>) and the tokenizer's.
    const ids = [model.generation_config?.eos_token_id, tokenizer.eos_token_id].flat();
    this.#stop = new Set(ids.filter((id): id is number => typeof id === 'number'));
    if (this.#stop.size === 0) throw new Error('the model names no EOS token (generation_config.json or tokenizer_config.json), so generation could not stop');
    this.#pad = tokenizer.pad_token_id ?? [...this.#stop][0]!;
    const maxPositions = (model.config as { max_position_embeddings?: unknown }).max_position_embeddings;
    this.#maxPositions = typeof maxPositions === 'number' ? maxPositions : Infinity;
    tokenizer.padding_side = 'left'; // a decoder continues from the last position of every row
    // generate() awaits forward() once per token: yield there, so a worker's cancel message gets in.
    const forward = model.forward.bind(model);
    model.forward = async (inputs) => {
      await nextTask();
      return forward(inputs);
    };
  }

  async generate(prompts: readonly ChatPrompt[], options: GenerateOptions, callbacks: GenerateCallbacks = {}): Promise<GenerateResult> {
    const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
    const settings: SampleSettings = {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      stopTokens: [...this.#stop],
    };
    const key = keyFromSeed(seed);
    checkSampleOptions({ ...settings, key });
    if (settings.maxNewTokens < 1) throw new Error(`maxNewTokens: must be at least 1, got ${settings.maxNewTokens}`);
    const batchSize = options.batchSize ?? DEFAULT_GENERATE_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize: must be a positive integer, got ${batchSize}`);
    prompts.forEach((p, i) => {
      if (!Array.isArray(p) || p.length === 0) throw new Error(`prompt ${i}: must be a non-empty list of chat messages`);
    });

    const generations: Generation[] = [];
    for (let start = 0; start < prompts.length; start += batchSize) {
      if (callbacks.signal?.aborted) throw new CancelledError('generation');
      const batch = prompts.slice(start, start + batchSize);
      const rows: Row[] = batch.map((_, r) => ({ rng: new Rng(foldIn(key, start + r)), tokens: [], done: false, emitted: '' }));
      await this.#generateBatch(batch, start, rows, settings, callbacks);
      if (callbacks.signal?.aborted) throw new CancelledError('generation');
      rows.forEach((row, r) => {
        this.#emit(row, start + r, callbacks.onToken, true);
        generations.push({ text: this.#text(row), tokens: row.tokens, stoppedBy: row.done ? 'stop' : 'length' });
      });
    }
    return { seed, generations };
  }

  async #generateBatch(batch: readonly ChatPrompt[], start: number, rows: Row[], settings: SampleSettings, callbacks: GenerateCallbacks): Promise<void> {
    const texts = batch.map((messages) => this.tokenizer.apply_chat_template([...messages], { tokenize: false, add_generation_prompt: true }) as string);
    // A prompt longer than the tokenizer's model_max_length would not be padded to the batch's length
    // (transformers.js then fails with "Unable to create tensor…"): say which prompt and by how much.
    const limit = Math.min(this.#maxPositions, (this.tokenizer as { model_max_length?: number }).model_max_length ?? Infinity);
    texts.forEach((text, i) => {
      const n = this.tokenizer.encode(text, { add_special_tokens: false }).length;
      if (n + settings.maxNewTokens > limit) {
        throw new Error(`prompt ${start + i}: ${n} tokens + maxNewTokens ${settings.maxNewTokens} exceed the model's ${limit}-token context; shorten the prompt`);
      }
    });
    // The chat template writes the special tokens itself.
    const inputs = this.tokenizer(texts, { padding: true, add_special_tokens: false });
    const promptLength = (inputs as { input_ids: Tensor }).input_ids.dims[1]!;
    if (promptLength + settings.maxNewTokens > this.#maxPositions) {
      throw new Error(`prompts ${start}–${start + batch.length - 1}: ${promptLength} tokens + maxNewTokens ${settings.maxNewTokens} exceed the model's ${this.#maxPositions}-token context`);
    }
    const choose = new LogitsProcessorList();
    choose.push(new SeededChoice(rows, settings, this.#stop, this.#pad));
    const stopping = new StoppingCriteriaList();
    stopping.push(new AbortCriterion(callbacks.signal));
    const output = await this.model.generate({
      ...inputs,
      max_new_tokens: settings.maxNewTokens,
      // Greedy over SeededChoice's one finite logit; the model's own sampling defaults are switched off.
      do_sample: false,
      num_beams: 1,
      repetition_penalty: 1,
      no_repeat_ngram_size: 0,
      min_length: 0,
      min_new_tokens: 0,
      eos_token_id: [...this.#stop],
      pad_token_id: this.#pad,
      logits_processor: choose,
      stopping_criteria: stopping,
      // Typed as TextStreamer in transformers.js's .d.ts; generate() calls only put() and end().
      streamer: new RowStreamer(rows, (b) => this.#emit(rows[b]!, start + b, callbacks.onToken, false)) as unknown as TextStreamer,
    });
    (output as Tensor).dispose?.();
  }

  /** The answer: the tokens before the stop token, decoded without special tokens. */
  #text(row: Row): string {
    const content = row.done ? row.tokens.slice(0, -1) : row.tokens;
    return content.length === 0 ? '' : this.tokenizer.decode(content, { skip_special_tokens: true });
  }

  /** Pass the row's new text on; an incomplete UTF-8 character at the end waits for its next byte unless `final`. */
  #emit(row: Row, prompt: number, onToken: GenerateCallbacks['onToken'], final: boolean): void {
    if (!onToken) return;
    const text = this.#text(row);
    if (!text.startsWith(row.emitted) || text.length === row.emitted.length) return;
    if (!final && text.endsWith('\uFFFD')) return;
    const piece = text.slice(row.emitted.length);
    row.emitted = text;
    onToken(prompt, piece);
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/**
 * Load an instruct LM and its tokenizer. With device 'auto', a WebGPU load
 * that fails is retried on Wasm (the reason says so). Rejects with
 * ModelLoadError saying why.
 */
export async function loadGenerator(spec: GeneratorSpec = {}, onProgress?: (p: LoadProgress) => void): Promise<Generator> {
  const modelId = spec.model ?? DEFAULT_GENERATOR_MODEL;
  try {
    configureTransformers(modelId, spec);
    const progress_callback = progressReporter(modelId, onProgress);
    let placement = await resolvePlacement(spec);
    const config = await AutoConfig.from_pretrained(modelId, { progress_callback });
    const tokenizer = await loadTokenizer(modelId, progress_callback);
    const load = (p: Placement) => AutoModelForCausalLM.from_pretrained(modelId, { config, progress_callback, device: p.device, dtype: p.dtype });
    let model: PreTrainedModel;
    try {
      model = await load(placement);
    } catch (e) {
      if ((spec.device ?? 'auto') !== 'auto' || placement.device !== 'webgpu') throw e;
      const why = e instanceof Error ? e.message : String(e);
      placement = { device: 'wasm', dtype: 'q4', reason: `WebGPU failed (${why}): Wasm, 4-bit weights` };
      model = await load(placement);
    }
    return new TransformersGenerator(modelId, placement, tokenizer, model);
  } catch (e) {
    throw e instanceof ModelLoadError ? e : new ModelLoadError(modelId, e);
  }
}
