/**
 * src/pretrained in Node (onnxruntime-node), on tiny models written from a
 * seed (test/support/tiny-onnx.ts) and loaded with remote loading off:
 *   - generation: greedy answers equal a direct onnxruntime run of the graph
 *     (the whole sequence recomputed each step, no KV cache), although the
 *     model's generation_config asks for sampling with a repetition penalty;
 *     batch size changes nothing, greedy or sampled; a seed reproduces a
 *     sample; streamed pieces concatenate to the answers; an abort stops
 *     after the current token; progress arrives per file; bad options name
 *     their field;
 *   - embeddings: unit vectors equal to mean pooling a direct run, whatever
 *     the batch size; progress per batch; abort; clear load errors;
 *     embedOnDemand and the headless runner's embed (ok: false with a reason,
 *     then vectors).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { headlessEmbed, parseRunArgs } from '../../bin/run-experiment';
import type { DeviceReport } from '../../src/core/backends/index';
import { type Embedder, embedOnDemand, loadEmbedder, meanPoolNormalize } from '../../src/pretrained/embeddings';
import { CancelledError, type LoadProgress, ModelLoadError } from '../../src/pretrained/env';
import { type ChatPrompt, choosePlacement, type Generation, type Generator, loadGenerator } from '../../src/pretrained/generator';
import { tinyEmbedderFiles, tinyLmFiles, writeModelFiles } from '../support/tiny-onnx';

const root = mkdtempSync(join(tmpdir(), 'lab-pretrained-'));
const lmDir = join(root, 'lm');
const embedderDir = join(root, 'embedder');
const lm = tinyLmFiles({ seed: 1 });
const tinyEmbedder = tinyEmbedderFiles({ seed: 2 });
writeModelFiles(lmDir, lm.files);
writeModelFiles(embedderDir, tinyEmbedder.files);

let generator: Generator;
const loadEvents: LoadProgress[] = [];

beforeAll(async () => {
  generator = await loadGenerator({ model: lmDir, allowRemote: false }, (p) => loadEvents.push(p));
});

afterAll(async () => {
  await generator?.dispose();
  rmSync(root, { recursive: true, force: true });
});

const user = (content: string): ChatPrompt => [{ role: 'user', content }];
const prompts: ChatPrompt[] = [
  user('Write the news.'),
  user('hi'),
  [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me about sports and the world' }],
  user('A cat sat on the mat, and then the dog came in.'),
  user('science'),
];
const MAX_NEW = 20;

describe('generator', () => {
  test('loads from a local folder, chooses the CPU with 4-bit weights in Node, and reports progress per file', () => {
    expect(generator.modelId).toBe(lmDir);
    expect(generator.placement).toMatchObject({ device: 'cpu', dtype: 'q4' });
    const files = new Set(loadEvents.map((e) => e.file));
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_q4.onnx']) {
      expect(files, f).toContain(f);
      const events = loadEvents.filter((e) => e.file === f);
      expect(events[0]!.status, f).toBe('start');
      expect(events.at(-1)).toMatchObject({ status: 'done', model: lmDir });
    }
    const onnx = loadEvents.filter((e) => e.file === 'onnx/model_q4.onnx').at(-1)!;
    expect(onnx.total).toBe((lm.files['onnx/model_q4.onnx'] as Uint8Array).byteLength);
    expect(onnx.loaded).toBe(onnx.total);
  });

  test('greedy answers equal a direct onnxruntime run of the graph (no KV cache), stopping at <|im_end|> or the budget', async () => {
    const tokenizer = (await AutoTokenizer.from_pretrained(lmDir)) as PreTrainedTokenizer;
    const session = await ort.InferenceSession.create(join(lmDir, 'onnx/model.onnx'));
    const stop = new Set([lm.eosId, lm.padId]);
    const expected: number[][] = [];
    for (const p of prompts) {
      const text = tokenizer.apply_chat_template([...p], { tokenize: false, add_generation_prompt: true }) as string;
      expected.push(await greedyReference(session, tokenizer.encode(text, { add_special_tokens: false }), MAX_NEW, stop));
    }
    await session.release();
    // The check means something only if the prompts end both ways and answer differently.
    expect(expected.some((t) => stop.has(t.at(-1)!))).toBe(true);
    expect(expected.some((t) => t.length === MAX_NEW && !stop.has(t.at(-1)!))).toBe(true);
    expect(new Set(expected.map((t) => t.join())).size).toBe(prompts.length);

    const { generations } = await generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0, batchSize: 5 });
    generations.forEach((g, i) => {
      expect(g.tokens, `prompt ${i}`).toEqual(expected[i]);
      expect(g.stoppedBy).toBe(stop.has(expected[i]!.at(-1)!) ? 'stop' : 'length');
      const content = g.stoppedBy === 'stop' ? g.tokens.slice(0, -1) : g.tokens;
      expect(g.text).toBe(content.length === 0 ? '' : tokenizer.decode(content, { skip_special_tokens: true }));
    });
    console.log(`greedy answers: ${generations.map((g) => JSON.stringify(g.text)).join(' | ')}`);
  });

  test('batch size changes nothing, greedy or sampled; a seed reproduces a sample', async () => {
    const texts = (gs: Generation[]) => gs.map((g) => `${g.stoppedBy}:${g.tokens.join(',')}`);
    const greedy = await generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0, batchSize: 1 });
    for (const batchSize of [2, 5]) {
      const other = await generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0, batchSize });
      expect(texts(other.generations), `batch ${batchSize}`).toEqual(texts(greedy.generations));
    }
    const sample = { maxNewTokens: MAX_NEW, temperature: 1, topP: 0.9, topK: 50 };
    const one = await generator.generate(prompts, { ...sample, seed: 7, batchSize: 1 });
    const three = await generator.generate(prompts, { ...sample, seed: 7, batchSize: 3 });
    expect(one.seed).toBe(7);
    expect(texts(three.generations)).toEqual(texts(one.generations));
    const otherSeed = await generator.generate(prompts, { ...sample, seed: 8, batchSize: 3 });
    expect(texts(otherSeed.generations)).not.toEqual(texts(one.generations));
    expect(texts(one.generations)).not.toEqual(texts(greedy.generations));
    // No seed: one is drawn, returned, and repeats the sample.
    const drawn = await generator.generate(prompts.slice(0, 2), sample);
    const again = await generator.generate(prompts.slice(0, 2), { ...sample, seed: drawn.seed });
    expect(texts(again.generations)).toEqual(texts(drawn.generations));
  });

  test('streamed pieces arrive while generating and concatenate to each answer', async () => {
    const pieces: { prompt: number; text: string }[] = [];
    let resolved = false;
    const pending = generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0, batchSize: 2 }, {
      onToken: (prompt, text) => {
        expect(resolved).toBe(false);
        pieces.push({ prompt, text });
      },
    });
    const { generations } = await pending;
    resolved = true;
    generations.forEach((g, i) => {
      const mine = pieces.filter((p) => p.prompt === i);
      expect(mine.map((p) => p.text).join(''), `prompt ${i}`).toBe(g.text);
      if (g.text.length > 3) expect(mine.length, `prompt ${i} arrived in pieces`).toBeGreaterThan(1);
    });
    // Within a batch the rows interleave: prompt 1's first piece comes before prompt 0's last.
    const first1 = pieces.findIndex((p) => p.prompt === 1);
    const last0 = pieces.map((p) => p.prompt).lastIndexOf(0);
    expect(first1).toBeLessThan(last0);
  });

  test('an abort stops generation after the current token and rejects with CancelledError', async () => {
    const full = await generator.generate([prompts[0]!], { maxNewTokens: MAX_NEW, temperature: 0 });
    expect(full.generations[0]!.tokens.length).toBeGreaterThan(5);

    const controller = new AbortController();
    const pieces: string[] = [];
    const cancelled = generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0, batchSize: 1 }, {
      signal: controller.signal,
      onToken: (_prompt, text) => {
        pieces.push(text);
        controller.abort();
      },
    });
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    await expect(cancelled).rejects.toThrow('generation cancelled');
    expect(pieces.length).toBe(1);

    const before = new AbortController();
    before.abort();
    await expect(generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0 }, { signal: before.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  test('bad options and prompts are rejected with the field named', async () => {
    const ok = { maxNewTokens: 4, temperature: 0 };
    await expect(generator.generate(prompts, { ...ok, maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
    await expect(generator.generate(prompts, { ...ok, temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generator.generate(prompts, { ...ok, topP: 0 })).rejects.toThrow(/topP/);
    await expect(generator.generate(prompts, { ...ok, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(generator.generate([prompts[0]!, []], ok)).rejects.toThrow(/prompt 1/);
    await expect(generator.generate(prompts, { ...ok, maxNewTokens: 1000 })).rejects.toThrow(/256-token context/);
  });

  test('in a process of its own (nothing else holding Node open), generation finishes and the process exits 0', () => {
    // The per-step yield (env.ts nextTask) once let Node exit mid-generation ("unsettled top-level await", code 13).
    const script = [
      `import { loadGenerator } from ${JSON.stringify(new URL('../../src/pretrained/generator.ts', import.meta.url).pathname)};`,
      `const g = await loadGenerator({ model: ${JSON.stringify(lmDir)}, allowRemote: false });`,
      "const r = await g.generate([[{ role: 'user', content: 'hi' }]], { maxNewTokens: 8, temperature: 0 });",
      'console.log(JSON.stringify(r.generations[0].tokens.length));',
    ].join('\n');
    const file = join(root, 'generate-once.mts'); // an ES module, for its top-level await
    writeFileSync(file, script);
    const r = spawnSync('npx', ['tsx', file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(0);
  }, 90_000);

  test('a prompt longer than the model\'s context is refused, naming the prompt, before anything runs', async () => {
    const long = user('x'.repeat(400));
    await expect(generator.generate([user('hi'), long], { maxNewTokens: 8, temperature: 0 }))
      .rejects.toThrow(/prompt 1: \d+ tokens \+ maxNewTokens 8 exceed the model's 256-token context; shorten the prompt/);
  });

  test('placement: Node → CPU; no or software WebGPU → Wasm; hardware WebGPU → q4f16 with shader-f16, else q4', () => {
    const report = (over: Partial<DeviceReport>): DeviceReport => ({
      webgpu: true, reason: "WebGPU adapter 'x'", adapterInfo: null, isFallbackAdapter: false, features: [], limits: {}, shaderF16: false, ...over,
    });
    expect(choosePlacement(null)).toMatchObject({ device: 'cpu', dtype: 'q4' });
    expect(choosePlacement(report({ webgpu: false, reason: 'no WebGPU adapter' }))).toMatchObject({ device: 'wasm', dtype: 'q4' });
    expect(choosePlacement(report({ isFallbackAdapter: true, shaderF16: true }))).toMatchObject({ device: 'wasm', dtype: 'q4' });
    expect(choosePlacement(report({ shaderF16: true }))).toMatchObject({ device: 'webgpu', dtype: 'q4f16' });
    expect(choosePlacement(report({}))).toMatchObject({ device: 'webgpu', dtype: 'q4' });
  });
});

describe('embeddings', () => {
  let embedder: Embedder;
  const texts = ['The cat sat on the mat.', 'Sports news from the world!', 'science', 'a dog', 'Business is business; and 42 is 42.'];

  beforeAll(async () => {
    embedder = await loadEmbedder({ model: embedderDir, allowRemote: false });
  });

  afterAll(async () => {
    await embedder?.dispose();
  });

  test('one unit vector per text: the mean of the hidden states over the mask, as a direct run gives', async () => {
    expect(embedder.dims).toBe(tinyEmbedder.dims);
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const v of vectors) {
      expect(v).toHaveLength(tinyEmbedder.dims);
      expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-5);
    }
    const tokenizer = (await AutoTokenizer.from_pretrained(embedderDir)) as PreTrainedTokenizer;
    const session = await ort.InferenceSession.create(join(embedderDir, 'onnx/model.onnx'));
    for (const [i, text] of texts.entries()) {
      const ids = tokenizer.encode(text);
      const T = ids.length;
      const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, T]);
      const out = await session.run({ input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)), token_type_ids: int64(ids.map(() => 0)) });
      const hidden = out.last_hidden_state!.data as Float32Array;
      const mean = new Float64Array(embedder.dims);
      for (let t = 0; t < T; t++) for (let c = 0; c < embedder.dims; c++) mean[c]! += hidden[t * embedder.dims + c]! / T;
      const norm = Math.hypot(...mean);
      const diff = Math.max(...Array.from(mean, (m, c) => Math.abs(m / norm - vectors[i]![c]!)));
      expect(diff, `text ${i}`).toBeLessThan(1e-5);
    }
    await session.release();
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, c) => s + x * b[c]!, 0);
    expect(cos(vectors[0]!, vectors[1]!)).toBeLessThan(0.99);
  });

  test('the batch size changes no vector; progress comes after each batch', async () => {
    const progress: [number, number][] = [];
    const byTwo = await embedder.embed(texts, { batchSize: 2, onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toEqual([[2, 5], [4, 5], [5, 5]]);
    for (const batchSize of [1, 64]) {
      const other = await embedder.embed(texts, { batchSize });
      const diff = Math.max(...other.flatMap((v, i) => Array.from(v, (x, c) => Math.abs(x - byTwo[i]![c]!))));
      expect(diff, `batch ${batchSize}`).toBeLessThan(1e-6);
    }
    expect(await embedder.embed([])).toEqual([]);
  });

  test('an abort between batches rejects with CancelledError', async () => {
    const controller = new AbortController();
    const embedding = embedder.embed(texts, { batchSize: 1, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(embedding).rejects.toBeInstanceOf(CancelledError);
    await expect(embedding).rejects.toThrow('embedding cancelled');
  });

  test('pooling refuses zero, non-finite and empty rows instead of reporting them', () => {
    expect(() => meanPoolNormalize(new Float32Array(4), [1, 1], 1, 2, 2)).toThrow(/all-zero/);
    expect(() => meanPoolNormalize(Float32Array.from([NaN, 1, 1, 1]), [1, 1], 1, 2, 2)).toThrow(/non-finite/);
    expect(() => meanPoolNormalize(Float32Array.from([1, 1, 1, 1]), [0, 0], 1, 2, 2)).toThrow(/no token/);
    expect(meanPoolNormalize(Float32Array.from([3, 0, 9, 9]), [1n, 0n], 1, 2, 2)).toEqual([Float32Array.from([1, 0])]);
  });

  test('a model that cannot be loaded fails with a message naming it and why', async () => {
    const missing = join(root, 'no-such-model');
    await expect(loadEmbedder({ model: missing, allowRemote: false })).rejects.toThrow(ModelLoadError);
    await expect(loadEmbedder({ model: missing, allowRemote: false })).rejects.toThrow(`could not load model '${missing}'`);
    await expect(loadEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', allowRemote: false }))
      .rejects.toThrow(/could not load model 'Xenova\/all-MiniLM-L6-v2': .*(allowRemoteModels=false|not found)/);

    const corrupt = join(root, 'corrupt');
    writeModelFiles(corrupt, { ...tinyEmbedder.files, 'onnx/model.onnx': new Uint8Array([1, 2, 3, 4]) });
    await expect(loadEmbedder({ model: corrupt, allowRemote: false })).rejects.toThrow(`could not load model '${corrupt}'`);
  });

  test('embedOnDemand resolves ok: false with the reason, retries the load on the next call, then keeps the model', async () => {
    const dir = join(root, 'on-demand');
    writeModelFiles(dir, { ...tinyEmbedder.files, 'onnx/model.onnx': new Uint8Array([9, 9, 9]) });
    const loads: LoadProgress[] = [];
    const embed = embedOnDemand({ model: dir, allowRemote: false }, (p) => loads.push(p));
    const failed = await embed(['a cat']);
    expect(failed.ok).toBe(false);
    expect(failed.ok ? '' : failed.reason).toContain(`could not load model '${dir}'`);

    writeFileSync(join(dir, 'onnx/model.onnx'), tinyEmbedder.files['onnx/model.onnx']!);
    const first = await embed(['a cat', 'a dog']);
    const second = await embed(['the mat']);
    expect(first).toMatchObject({ ok: true, model: dir });
    expect(first.ok && first.vectors).toHaveLength(2);
    expect(second.ok && second.vectors).toHaveLength(1);
    const modelLoads = loads.filter((p) => p.file === 'onnx/model.onnx' && p.status === 'start');
    expect(modelLoads).toHaveLength(2); // the failed load and one good one
  });

  test('headless runner: --embedding-model DIR gives vectors; without it, a reason saying how to give one', async () => {
    expect(parseRunArgs(['self-improve', '--embedding-model', embedderDir]).embeddingModel).toBe(embedderDir);
    expect(parseRunArgs(['self-improve']).embeddingModel).toBeUndefined();
    const none = await headlessEmbed(null)(['a cat']);
    expect(none).toEqual({ ok: false, reason: expect.stringContaining('--embedding-model DIR') });
    const progress: number[] = [];
    const some = await headlessEmbed(embedderDir)(['a cat', 'a dog', 'news'], (done) => progress.push(done));
    expect(some).toMatchObject({ ok: true, model: resolve(embedderDir) });
    expect(some.ok && some.vectors.map((v) => v.length)).toEqual([tinyEmbedder.dims, tinyEmbedder.dims, tinyEmbedder.dims]);
    expect(progress.at(-1)).toBe(3);
    expect(() => headlessEmbed(join(root, 'no-such-model'))).toThrow(/--embedding-model: .*no-such-model has no config\.json/);
  });
});

/**
 * Greedy decoding straight on the ONNX graph: the whole sequence each step
 * (empty past, positions 0…n−1), the last position's argmax (lowest id on a
 * tie), until a stop token or `maxNew` tokens. Returns the new tokens.
 */
async function greedyReference(session: ort.InferenceSession, promptIds: number[], maxNew: number, stop: ReadonlySet<number>): Promise<number[]> {
  const ids = [...promptIds];
  const out: number[] = [];
  while (out.length < maxNew) {
    const n = ids.length;
    const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, n]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(ids),
      attention_mask: int64(ids.map(() => 1)),
      position_ids: int64(ids.map((_, i) => i)),
    };
    for (let l = 0; l < lm.layers; l++) {
      for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, lm.heads, 0, lm.headSize]);
    }
    const logits = (await session.run(feeds)).logits!.data as Float32Array;
    const last = logits.subarray((n - 1) * lm.vocabSize, n * lm.vocabSize);
    let best = 0;
    for (let v = 1; v < last.length; v++) if (last[v]! > last[best]!) best = v;
    out.push(best);
    ids.push(best);
    if (stop.has(best)) break;
  }
  return out;
}
