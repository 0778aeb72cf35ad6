/**
 * The generation benchmark's shapes and timing protocol, shared by Node
 * (`bin/bench.ts generate`: our CPU decoder) and the browser page
 * (`bench/pages/generate.ts`: our WebGPU decoder), so both generate the same
 * tokens from the same parameters and prompts.
 *
 * Each shape is one lab's own `generate()` call at its classroom setting:
 * model, batch, prompt length, token budget, temperature, top-p and stop
 * token. A measurement times whole generate() calls (prefill, decoding,
 * sampling, the final readback) on a freshly initialised model; every call
 * uses the same key, so every call and every engine produce the same tokens
 * (the bench compares their digests).
 */
import type { Backend, DeviceCounters } from '../src/core/backend';
import { countParams, type GptConfig } from '../src/core/gpt/config';
import { initParams } from '../src/core/gpt/init';
import { keyFromSeed, Rng, split } from '../src/core/rng';
import { generate, type SampleOptions } from '../src/core/sample';

export interface GenerateShape {
  name: string;
  /** Which lab call this is, in words. */
  lab: string;
  config: GptConfig;
  /** Rows generated per call. */
  B: number;
  /** Prompt length (tokens, all rows). */
  promptLength: number;
  sampling: Omit<SampleOptions, 'key' | 'stopTokens'>;
  /** The one stop token: id V − 1 (the labs stop on an end-of-text id among their tokenizer's specials). */
  eos: number;
}

/**
 * The labs' classroom generate() calls (src/experiments/*):
 *   collapse      word-level classroom grammar (V 180), d 32, 1 layer, context 24; 128 sentences from BOS, top-p 0.9;
 *   self-improve  puzzle characters (V 54), d 64, 2 layers, context 16; 64 answers to a ~10-token prompt, 5 new tokens;
 *   symbiosis     BPE (V 1536), d 24, 1 layer, context 28; 64 texts from BOS·label·SEP·4 prefix tokens, T 0.9, top-p 0.95;
 *   symbiosis-d64 the same Student widened to d 64 (4 heads).
 */
export const GENERATE_SHAPES: readonly GenerateShape[] = [
  {
    name: 'collapse', lab: 'collapse classroom: sampleSentences',
    config: { vocabSize: 180, contextLength: 24, dModel: 32, nLayers: 1, nHeads: 2 },
    B: 128, promptLength: 1, sampling: { maxNewTokens: 23, temperature: 1, topK: 0, topP: 0.9 }, eos: 179,
  },
  {
    name: 'self-improve', lab: 'self-improve classroom: PuzzleModel.answer',
    config: { vocabSize: 54, contextLength: 16, dModel: 64, nLayers: 2, nHeads: 4 },
    B: 64, promptLength: 10, sampling: { maxNewTokens: 5, temperature: 1, topK: 0, topP: 1 }, eos: 53,
  },
  {
    name: 'symbiosis', lab: 'symbiosis tiny: writeTiny (the tiny Generator)',
    config: { vocabSize: 1536, contextLength: 28, dModel: 24, nLayers: 1, nHeads: 2 },
    B: 64, promptLength: 7, sampling: { maxNewTokens: 21, temperature: 0.9, topK: 0, topP: 0.95 }, eos: 1535,
  },
  {
    name: 'symbiosis-d64', lab: 'symbiosis writeTiny with a d 64 model',
    config: { vocabSize: 1536, contextLength: 28, dModel: 64, nLayers: 1, nHeads: 4 },
    B: 64, promptLength: 7, sampling: { maxNewTokens: 21, temperature: 0.9, topK: 0, topP: 0.95 }, eos: 1535,
  },
];

export function generateShape(name: string): GenerateShape {
  const s = GENERATE_SHAPES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown generate shape '${name}': expected one of ${GENERATE_SHAPES.map((x) => x.name).join(', ')}`);
  return s;
}

const SEED = 4321;

/** Fresh parameters (nanoGPT init), the same for every engine. */
export function generateParams(s: GenerateShape): Float32Array {
  return initParams(s.config, split(keyFromSeed(SEED), 2)[0]!);
}

/** B prompts of promptLength random ids (never the stop token), the same for every engine. */
export function generatePrompts(s: GenerateShape): number[][] {
  const rng = new Rng(split(keyFromSeed(SEED), 2)[1]!);
  return Array.from({ length: s.B }, () => Array.from({ length: s.promptLength }, () => rng.int(s.config.vocabSize - 1)));
}

export function generateOptions(s: GenerateShape): SampleOptions {
  return { ...s.sampling, stopTokens: [s.eos], key: keyFromSeed(SEED + 1) };
}

export function paramCountOf(s: GenerateShape): number {
  return countParams(s.config);
}

/** What one engine measured on one shape. */
export interface GenerateRun {
  description: string;
  /** Backend creation + parameter upload, ms. */
  setupMs: number;
  /** The first call (allocation of the decoder's buffers and bind groups), ms. */
  firstCallMs: number;
  /** Each timed call, ms. */
  callMs: number[];
  medianMs: number;
  /** New tokens per call, all rows. */
  tokens: number;
  /** Decoded positions per call: the longest row's new tokens. */
  positions: number;
  /** A digest of the generated tokens (equal across engines that sample alike). */
  digest: string;
  /** Device counters of one timed call (WebGPU only). */
  counters?: DeviceCounters;
  /** Device buffer bytes after the calls (WebGPU only). */
  deviceBytes?: number;
  hostBytes: number;
  capped: boolean;
}

/** FNV-1a over the rows' tokens and stop reasons. */
function digestOf(gens: { tokens: number[]; stoppedBy: string }[]): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => (h = Math.imul(h ^ x, 0x01000193) >>> 0);
  for (const g of gens) {
    for (const t of g.tokens) mix(t);
    mix(0xffff0000 + g.stoppedBy.length);
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Time generate() on a backend with the shape's parameters already set: one
 * untimed first call, then up to `calls` timed calls within `budgetMs` (at
 * least one). Counters are taken around the last timed call.
 */
export async function timeGenerate(
  backend: Backend, s: GenerateShape, o: { calls: number; budgetMs: number; now: () => number },
): Promise<Omit<GenerateRun, 'description' | 'setupMs'>> {
  const prompts = generatePrompts(s);
  const opts = generateOptions(s);
  const start = o.now();
  const first = await generate(backend, prompts, opts);
  const firstCallMs = o.now() - start;
  const callMs: number[] = [];
  let counters: DeviceCounters | undefined;
  let capped = false;
  for (let i = 0; i < o.calls; i++) {
    const before = backend.counters?.();
    const t0 = o.now();
    await generate(backend, prompts, opts);
    callMs.push(o.now() - t0);
    const after = backend.counters?.();
    if (before && after) {
      counters = {
        dispatches: after.dispatches - before.dispatches, bindGroups: after.bindGroups - before.bindGroups,
        readbacks: after.readbacks - before.readbacks, submits: after.submits - before.submits,
      };
    }
    if (o.now() - start > o.budgetMs && i + 1 < o.calls) {
      capped = true;
      break;
    }
  }
  const sorted = [...callMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const out: Omit<GenerateRun, 'description' | 'setupMs'> = {
    firstCallMs, callMs, medianMs,
    tokens: first.reduce((n, g) => n + g.tokens.length, 0),
    positions: Math.max(...first.map((g) => g.tokens.length)),
    digest: digestOf(first),
    hostBytes: backend.hostBytes(),
    capped,
  };
  if (counters) out.counters = counters;
  if (backend.kind === 'webgpu') out.deviceBytes = backend.deviceBytes();
  return out;
}
