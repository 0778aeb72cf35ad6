/**
 * The pretrained-model worker (workers/generator.worker.ts) in real headless
 * Chromium, on the tiny models of test/support/tiny-onnx.ts served to the
 * page by a Playwright route (real 404s for anything else), with every
 * request to another origin refused (offline):
 *   - on onnxruntime-web's Wasm backend: load progress per file; greedy
 *     answers and a seeded sample equal to onnxruntime-node's (computed here
 *     through the same src/pretrained code); streaming; soft cancel; embed;
 *   - the files come from the app: the models through the route, the Wasm
 *     runtime from /ort/ (not a CDN), both kept in the Cache API;
 *   - a model that is not there, or is on the offline Hub, fails with a reason;
 *   - WebGPU (a SwiftShader adapter here): 'auto' takes Wasm on a software
 *     adapter; an explicit WebGPU load gives the same greedy answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadEmbedder } from '../../src/pretrained/embeddings';
import type { LoadProgress } from '../../src/pretrained/env';
import { type ChatPrompt, type GenerateResult, loadGenerator } from '../../src/pretrained/generator';
import { tinyEmbedderFiles, tinyLmFiles, writeModelFiles } from '../support/tiny-onnx';
import { type Lab, startLab } from './harness';

const lm = tinyLmFiles({ seed: 1 });
const embedderModel = tinyEmbedderFiles({ seed: 2 });
const served: Record<string, Record<string, Uint8Array | string>> = { lm: lm.files, embedder: embedderModel.files };

const user = (content: string): ChatPrompt => [{ role: 'user', content }];
const prompts: ChatPrompt[] = [user('Write the news.'), user('hi'), user('A cat sat on the mat, and then the dog came in.'), user('science')];
const texts = ['The cat sat on the mat.', 'Sports news from the world!', 'science', 'a dog', 'Business is business; and 42 is 42.'];
const MAX_NEW = 16;
const SAMPLE = { maxNewTokens: MAX_NEW, temperature: 1, topP: 0.9, seed: 7 };

let lab: Lab;
let page: Page;
let errors: string[];
const requests: string[] = [];
/** What onnxruntime-node gives for the same models, through the same src/pretrained code. */
let expected: { greedy: GenerateResult; sampled: GenerateResult; vectors: number[][] };

/** Serve /tiny-models/<name>/<file> from memory; 404 for anything else. */
async function serveTinyModels(route: Route): Promise<void> {
  const [, name, ...rest] = new URL(route.request().url()).pathname.split('/').filter(Boolean);
  const body = served[name ?? '']?.[rest.join('/')];
  if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
  const contentType = rest.at(-1)!.endsWith('.json') ? 'application/json' : 'application/octet-stream';
  await route.fulfill({ status: 200, body: typeof body === 'string' ? body : Buffer.from(body), contentType });
}

async function offline(context: BrowserContext, origin: string): Promise<void> {
  context.on('request', (r) => requests.push(r.url()));
  await context.route((url) => url.origin !== origin, (route) => route.abort('internetdisconnected'));
  await context.route(`${origin}/tiny-models/**`, serveTinyModels);
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-pretrained-browser-'));
  try {
    writeModelFiles(join(dir, 'lm'), lm.files);
    writeModelFiles(join(dir, 'embedder'), embedderModel.files);
    const generator = await loadGenerator({ model: join(dir, 'lm'), allowRemote: false });
    const embedder = await loadEmbedder({ model: join(dir, 'embedder'), allowRemote: false });
    expected = {
      greedy: await generator.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0 }),
      sampled: await generator.generate(prompts, SAMPLE),
      vectors: (await embedder.embed(texts)).map((v) => Array.from(v)),
    };
    await generator.dispose();
    await embedder.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  lab = await startLab();
  ({ page, errors } = await lab.newPage());
  await offline(page.context(), new URL(lab.url).origin);
  await page.goto(`${lab.url}/test/browser/pages/pretrained.html`);
  await page.waitForFunction(() => window.pretrainedReady === true);
});

afterAll(async () => {
  await lab?.close();
});

const tokensOf = (r: GenerateResult) => r.generations.map((g) => `${g.stoppedBy}:${g.tokens.join(',')}`);

test('Wasm: load progress per file; greedy answers and a seeded sample equal onnxruntime-node\'s; streamed pieces make the answers', async () => {
  const run = await page.evaluate(async ({ prompts, maxNew, sample }) => {
    const { api } = window.pretrained.startWorker();
    window.generatorApi = api;
    const progress: LoadProgress[] = [];
    const t0 = performance.now();
    const info = await api.load({ model: '/tiny-models/lm', device: 'wasm' }, window.pretrained.proxy((p: LoadProgress) => progress.push(p)));
    const loadMs = performance.now() - t0;
    const pieces: [number, string][] = [];
    const greedy = await api.generate(prompts, { maxNewTokens: maxNew, temperature: 0, batchSize: 2 },
      window.pretrained.proxy((prompt: number, text: string) => pieces.push([prompt, text])));
    const sampled = await api.generate(prompts, { ...sample, batchSize: 3 });
    // Callbacks come through their own MessagePort: give the last ones a moment.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { info, progress, greedy, sampled, pieces, loadMs };
  }, { prompts, maxNew: MAX_NEW, sample: SAMPLE });
  console.log(`wasm: load ${run.loadMs.toFixed(0)} ms; answers ${run.greedy.generations.map((g) => JSON.stringify(g.text)).join(' | ')}`);

  expect(run.info).toMatchObject({ modelId: '/tiny-models/lm', placement: { device: 'wasm', dtype: 'q4' } });
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'onnx/model_q4.onnx']) {
    const events = run.progress.filter((p) => p.file === file);
    expect(events[0]?.status, file).toBe('start');
    expect(events.at(-1)?.status, file).toBe('done');
  }
  const onnx = run.progress.filter((p) => p.file === 'onnx/model_q4.onnx' && p.status === 'progress').at(-1)!;
  expect(onnx).toMatchObject({ loaded: (lm.files['onnx/model_q4.onnx'] as Uint8Array).byteLength, total: (lm.files['onnx/model_q4.onnx'] as Uint8Array).byteLength });

  expect(tokensOf(run.greedy)).toEqual(tokensOf(expected.greedy));
  expect(run.greedy.generations.map((g) => g.text)).toEqual(expected.greedy.generations.map((g) => g.text));
  expect(run.sampled.seed).toBe(SAMPLE.seed);
  expect(tokensOf(run.sampled)).toEqual(tokensOf(expected.sampled));
  run.greedy.generations.forEach((g, i) => {
    expect(run.pieces.filter(([p]) => p === i).map(([, t]) => t).join(''), `prompt ${i}`).toBe(g.text);
  });
});

test('soft cancel: generation stops after the current token, rejects as CancelledError, and the worker goes on working', async () => {
  const run = await page.evaluate(async ({ prompts, maxNew }) => {
    const api = window.generatorApi!;
    let pieces = 0;
    let outcome: { name: string; message: string } | null = null;
    try {
      await api.generate(prompts, { maxNewTokens: maxNew, temperature: 0, batchSize: 1 }, window.pretrained.proxy(() => {
        if (pieces++ === 0) void api.cancel();
      }));
    } catch (e) {
      outcome = { name: (e as Error).name, message: (e as Error).message };
    }
    const piecesAtCancel = pieces;
    const again = await api.generate([prompts[0]!], { maxNewTokens: 4, temperature: 0 });
    return { outcome, piecesAtCancel, again, cancelIdle: await api.cancel() };
  }, { prompts, maxNew: MAX_NEW });
  expect(run.outcome).toEqual({ name: 'CancelledError', message: 'generation cancelled' });
  // The worker stops within a token of receiving the message; pieces already on their way still arrive.
  const fullPieces = expected.greedy.generations.reduce((n, g) => n + g.tokens.length, 0);
  expect(fullPieces).toBeGreaterThan(40);
  expect(run.piecesAtCancel).toBeLessThan(fullPieces / 2);
  expect(run.again.generations[0]!.tokens).toEqual(expected.greedy.generations[0]!.tokens.slice(0, 4));
  expect(run.cancelIdle).toBe(false);
});

test('embed in the worker: vectors equal onnxruntime-node\'s whatever the batch size; progress per batch', async () => {
  const run = await page.evaluate(async ({ texts }) => {
    const api = window.generatorApi!;
    const spec = { model: '/tiny-models/embedder', device: 'wasm' as const };
    const progress: [number, number][] = [];
    const byTwo = await api.embed(texts, spec, { batchSize: 2 }, window.pretrained.proxy((done: number, total: number) => progress.push([done, total])));
    const all = await api.embed(texts, spec, { batchSize: 8 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { model: byTwo.model, byTwo: byTwo.vectors.map((v) => Array.from(v)), all: all.vectors.map((v) => Array.from(v)), progress };
  }, { texts });
  expect(run.model).toBe('/tiny-models/embedder');
  expect(run.progress).toEqual([[2, 5], [4, 5], [5, 5]]);
  for (const vectors of [run.byTwo, run.all]) {
    const diff = Math.max(...vectors.flatMap((v, i) => v.map((x, c) => Math.abs(x - expected.vectors[i]![c]!))));
    expect(diff).toBeLessThan(1e-5);
  }
});

test('files come from the app: models through the route, the Wasm runtime from /ort/, both kept in the Cache API', async () => {
  expect(requests.filter((u) => !u.startsWith(lab.url))).toEqual([]);
  expect(requests).toContain(`${lab.url}/ort/ort-wasm-simd-threaded.asyncify.wasm`);
  const cached = await page.evaluate(async () => (await (await caches.open('transformers-cache')).keys()).map((r) => r.url));
  expect(cached).toContain(`${lab.url}/ort/ort-wasm-simd-threaded.asyncify.wasm`);
  expect(cached).toContain(`${lab.url}/tiny-models/lm/onnx/model_q4.onnx`);
  expect(cached).toContain(`${lab.url}/tiny-models/embedder/onnx/model.onnx`);
});

test('a model that is not served, or is on the (offline) Hub, fails with a reason', async () => {
  const run = await page.evaluate(async () => {
    const { api } = window.pretrained.startWorker();
    const failure = async (p: Promise<unknown>) => p.then(() => 'loaded', (e: Error) => e.message);
    return {
      missing: await failure(api.load({ model: '/tiny-models/missing', device: 'wasm' })),
      hub: await failure(api.embed(['a cat'])),
    };
  });
  expect(run.missing).toMatch(/^could not load model '\/tiny-models\/missing': .*config\.json/);
  expect(run.hub).toMatch(/^could not load model 'Xenova\/all-MiniLM-L6-v2': /);
  expect(requests.some((u) => u.startsWith('https://huggingface.co/Xenova/all-MiniLM-L6-v2/'))).toBe(true);
});

test('WebGPU: auto takes Wasm on a software adapter; an explicit WebGPU load gives the same greedy answers', async () => {
  const run = await page.evaluate(async ({ prompts }) => {
    const adapter = await navigator.gpu?.requestAdapter();
    const t0 = performance.now();
    const auto = window.pretrained.startWorker();
    const autoInfo = await auto.api.load({ model: '/tiny-models/lm' });
    auto.worker.terminate();
    const t1 = performance.now();
    if (!adapter) return { autoInfo, webgpu: null, ms: [t1 - t0] };
    const gpu = window.pretrained.startWorker();
    const info = await gpu.api.load({ model: '/tiny-models/lm', device: 'webgpu' });
    const t2 = performance.now();
    // SwiftShader compiles shaders for every new shape (each step's length): one short prompt, few tokens.
    const answers = await gpu.api.generate([prompts[1]!], { maxNewTokens: 3, temperature: 0 });
    gpu.worker.terminate();
    return { autoInfo, webgpu: { info, answers }, ms: [t1 - t0, t2 - t1, performance.now() - t2] };
  }, { prompts });
  console.log(`auto: ${run.autoInfo.placement.reason}; ms (auto load, webgpu load, generate): ${run.ms.map((m) => m.toFixed(0)).join(', ')}`);
  if (/software|no WebGPU|navigator\.gpu missing/.test(run.autoInfo.placement.reason)) {
    expect(run.autoInfo.placement).toMatchObject({ device: 'wasm', dtype: 'q4' });
  }
  if (run.webgpu) {
    expect(run.webgpu.info.placement.device).toBe('webgpu');
    expect(run.webgpu.answers.generations[0]!.tokens).toEqual(expected.greedy.generations[1]!.tokens.slice(0, 3));
  }
  expect(errors).toEqual([]);
});

declare global {
  interface Window {
    generatorApi?: ReturnType<Window['pretrained']['startWorker']>['api'];
  }
}
