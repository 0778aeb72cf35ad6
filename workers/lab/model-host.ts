/**
 * Pretrained models for a run (RunContext.embed and generateText), through
 * transformers.js (src/pretrained), loaded at a run's first call and kept for
 * this worker's later calls. transformers.js is imported only then, so runs
 * that never use a pretrained model never load it. A model that cannot be
 * loaded (offline, …) resolves {ok: false, reason}; a cancelled run rejects.
 */
import { messageOf } from '../../src/core/tasks';
import type { ChatMessage, EmbedResult, GenerateTextResult } from '../../src/experiments/types';
import type { EmbedFunction } from '../../src/pretrained/embeddings';
import type { Generator } from '../../src/pretrained/generator';
import { ModelSlot } from '../../src/pretrained/model-slot';
import type { LabEvent } from './events';

let embedFunction: Promise<EmbedFunction> | null = null;

/** Sentence embeddings from the default embedding model. */
export async function embed(
  texts: readonly string[], onProgress: ((done: number, total: number) => void) | undefined, signal: AbortSignal,
): Promise<EmbedResult> {
  let run: EmbedFunction;
  try {
    embedFunction ??= import('../../src/pretrained/embeddings').then((m) => m.embedOnDemand());
    run = await embedFunction;
  } catch (e) {
    embedFunction = null;
    return { ok: false, reason: `the embedding code could not be loaded: ${messageOf(e)}` };
  }
  return run(texts, onProgress, signal);
}

const textModel = new ModelSlot<Generator>();

/** At most ~10 stream events a second: the page shows the text being written, not every token. */
const STREAM_EVERY_MS = 100;

/** One output per chat request from a pretrained instruct model, with download and stream events for the page. */
export async function generateText(
  requests: { messages: ChatMessage[] }[],
  options: { maxNewTokens: number; temperature: number; topP: number; seed: number; model?: string },
  onProgress: ((done: number, total: number) => void) | undefined,
  signal: AbortSignal,
  send: (e: LabEvent) => void,
): Promise<GenerateTextResult> {
  const { DEFAULT_GENERATE_BATCH, DEFAULT_GENERATOR_MODEL, loadGenerator } = await import('../../src/pretrained/generator');
  const id = options.model ?? DEFAULT_GENERATOR_MODEL;
  let generator: Generator;
  try {
    generator = await textModel.get(id, () => loadGenerator({ model: id }, (p) => send({
      type: 'download', model: p.model, file: p.file, loaded: p.loaded, total: p.total, done: p.status === 'done',
    })));
  } catch (e) {
    return { ok: false, reason: messageOf(e) };
  }
  let started = 0;
  const streamed = new Map<number, string>();
  let lastSent = 0;
  try {
    const result = await generator.generate(requests.map((r) => r.messages), {
      maxNewTokens: options.maxNewTokens, temperature: options.temperature, topP: options.topP, seed: options.seed,
    }, {
      signal,
      onToken: (prompt, text) => {
        const sofar = (streamed.get(prompt) ?? '') + text;
        streamed.set(prompt, sofar);
        const now = performance.now();
        if (now - lastSent > STREAM_EVERY_MS) {
          lastSent = now;
          send({ type: 'stream', model: generator.modelId, prompt, text: sofar });
        }
        // Prompts run in order, a batch at a time: one that has begun means the ones a batch before it are written.
        if (prompt + 1 > started) {
          started = prompt + 1;
          onProgress?.(Math.max(0, started - DEFAULT_GENERATE_BATCH), requests.length);
        }
      },
    });
    onProgress?.(requests.length, requests.length);
    return { ok: true, model: generator.modelId, texts: result.generations.map((g) => g.text) };
  } catch (e) {
    if (signal.aborted) throw e;
    return { ok: false, reason: messageOf(e) };
  }
}
