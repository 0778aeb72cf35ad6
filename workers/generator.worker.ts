/**
 * The pretrained-model worker: an instruct LM that writes text for chat
 * prompts (the symbiosis lab's Generator) and sentence embeddings, both
 * through transformers.js (src/pretrained), off the page's thread.
 *
 * One job at a time: `cancel()` stops the running generate/embed after its
 * current token or batch (it rejects with an error named 'CancelledError');
 * terminating the worker stops it at once and frees the model.
 */
import * as Comlink from 'comlink';
import type { LoadProgress } from '../src/pretrained/env';
import { type Embedder, type EmbedderSpec, loadEmbedder } from '../src/pretrained/embeddings';
import {
  type ChatPrompt, type GenerateOptions, type GenerateResult, type Generator, type GeneratorSpec, loadGenerator, type Placement,
} from '../src/pretrained/generator';
import { ModelSlot } from '../src/pretrained/model-slot';

export type { ChatPrompt, EmbedderSpec, GenerateOptions, GenerateResult, GeneratorSpec, LoadProgress, Placement };

/** What `load` resolves with: the model and where it runs. */
export interface GeneratorInfo {
  modelId: string;
  placement: Placement;
}

let generator: Generator | null = null;
const embedder = new ModelSlot<Embedder>();
let running: AbortController | null = null;

/** Run `job` as the worker's one cancellable job. */
async function exclusive<T>(what: string, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (running) throw new Error(`${what}: the worker is busy with another job; cancel it or wait`);
  const controller = new AbortController();
  running = controller;
  try {
    return await job(controller.signal);
  } finally {
    running = null;
  }
}

const api = {
  /** Load (or replace) the generator; progress per file. Rejects with the reason it could not load. */
  async load(spec: GeneratorSpec = {}, onProgress?: (p: LoadProgress) => void): Promise<GeneratorInfo> {
    if (running) throw new Error('load: the worker is busy with another job; cancel it or wait');
    const previous = generator;
    generator = null;
    await previous?.dispose();
    const loaded = await loadGenerator(spec, onProgress);
    generator = loaded;
    return { modelId: loaded.modelId, placement: loaded.placement };
  },

  /**
   * Answer each chat prompt; `onToken(prompt, text)` streams the text as it
   * comes. Rejects with CancelledError after `cancel()`.
   */
  async generate(prompts: ChatPrompt[], options: GenerateOptions, onToken?: (prompt: number, text: string) => void): Promise<GenerateResult> {
    const loaded = generator;
    if (!loaded) throw new Error('generate: no model loaded; call load() first');
    return exclusive('generate', (signal) => loaded.generate(prompts, options, { signal, ...(onToken ? { onToken } : {}) }));
  },

  /** Stop the running generate/embed soon (after its current token or batch). Returns whether one was running. */
  cancel(): boolean {
    if (!running) return false;
    running.abort();
    return true;
  },

  /**
   * Unit-length sentence embeddings, one per text, computed in batches. The
   * embedder is loaded on first use and kept while `spec` stays the same.
   */
  async embed(
    texts: string[],
    spec: EmbedderSpec = {},
    options: { batchSize?: number } = {},
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ model: string; vectors: Float32Array[] }> {
    const model = await embedder.get(JSON.stringify(spec), () => loadEmbedder(spec));
    const vectors = await exclusive('embed', (signal) => model.embed(texts, { ...options, signal, ...(onProgress ? { onProgress } : {}) }));
    return Comlink.transfer({ model: model.modelId, vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
  },
};

export type GeneratorWorkerApi = typeof api;

Comlink.expose(api);
