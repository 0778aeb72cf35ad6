/**
 * The WebAssembly CPU engine in the browser (run by test/browser/wasm-parity.test.ts,
 * on a page's main thread and inside a Web Worker):
 *  - the PyTorch fixtures (test/reference/check-fixture.ts, the same checks
 *    and tolerances as `npm run lab -- check`) on the default CPU path, on
 *    one thread, and on an unshared memory (what a page without isolation gets);
 *  - the Wasm backend against the TypeScript reference on the same batches;
 *  - the same bits on one thread and on the pool, and the decoder's bits.
 * Everything returns plain numbers and strings (structured-clonable).
 */
import { CpuBackend } from '../../../src/core/backends/cpu';
import { cpuReport, createCpuBackend } from '../../../src/core/backends/index';
import { WasmBackend } from '../../../src/core/backends/wasm';
import { WasmEngine } from '../../../src/core/backends/wasm/runtime';
import type { GptConfig } from '../../../src/core/gpt/config';
import { initParams } from '../../../src/core/gpt/init';
import { keyFromSeed, Rng } from '../../../src/core/rng';
import { type CheckLine, checkFixture, type Fixture } from '../../reference/check-fixture';
import small from '../../reference/fixtures/small.json';
import tiny from '../../reference/fixtures/tiny.json';

const FIXTURES = [tiny, small] as unknown as Fixture[];

export interface Environment {
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  cpu: ReturnType<typeof cpuReport>;
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return a.length === b.length ? d / (s || 1) : Infinity;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return a.length === b.length && x.every((v, i) => v === y[i]);
}

const CONFIG: GptConfig = { vocabSize: 37, contextLength: 11, dModel: 24, nLayers: 2, nHeads: 4 };
const HYPER = { lr: 1e-2, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1 };

function batch(seed: number, weightAt: (i: number) => number) {
  const r = new Rng(keyFromSeed(seed));
  const [B, T] = [3, 11];
  return {
    B, T,
    inputs: Int32Array.from({ length: B * T }, () => r.int(CONFIG.vocabSize)),
    targets: Int32Array.from({ length: B * T }, () => r.int(CONFIG.vocabSize)),
    weights: Float32Array.from({ length: B * T }, (_, i) => weightAt(i) / (B * T)),
  };
}

export const suite = {
  environment(): Environment {
    return { crossOriginIsolated: globalThis.crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined', cpu: cpuReport() };
  },

  /** The fixture checks on the default CPU path, one thread, and an unshared memory; with each backend's description. */
  async fixtures(): Promise<{ engine: string; description: string; lines: CheckLine[] }[]> {
    const out: { engine: string; description: string; lines: CheckLine[] }[] = [];
    const unshared = await WasmEngine.standalone({ shared: false });
    const engines: [string, (c: GptConfig) => Promise<WasmBackend | CpuBackend>][] = [
      ['default', async (c) => (await createCpuBackend(c)).backend as WasmBackend],
      ['1 thread', (c) => WasmBackend.create(c, { threads: 1 })],
      ['unshared memory', (c) => WasmBackend.create(c, { engine: unshared })],
    ];
    for (const [engine, make] of engines) {
      let description = '';
      const lines: CheckLine[] = [];
      for (const fx of FIXTURES) {
        const backend = await make(fx.config as GptConfig);
        description = backend.description;
        lines.push(...(await checkFixture(fx, backend, engine)));
      }
      out.push({ engine, description, lines });
    }
    return out;
  },

  /** Wasm (default path) against the TypeScript reference; same bits on one thread and on the pool; the decoder's bits. */
  async vsReference() {
    const params = initParams(CONFIG, keyFromSeed(4));
    const ts = new CpuBackend(CONFIG);
    const { backend: wasm } = await createCpuBackend(CONFIG);
    const one = await WasmBackend.create(CONFIG, { threads: 1 });
    for (const b of [ts, wasm, one]) await b.setParams(params);
    const dense = batch(1, (i) => (i % 5 === 0 ? -0.5 : 1));
    const sparse = batch(2, (i) => (i % 7 === 3 ? 1 : 0));
    const logits = maxRel(await wasm.forwardLogits(dense.inputs, 3, 11), await ts.forwardLogits(dense.inputs, 3, 11));
    const grads: { name: string; rel: number }[] = [];
    let lossDiff = 0;
    for (const bt of [dense, sparse]) {
      const [a, b] = [await wasm.gradients(bt), await ts.gradients(bt)];
      lossDiff = Math.max(lossDiff, Math.abs(a.loss - b.loss));
      for (const v of wasm.layout.views) {
        grads.push({ name: v.name, rel: maxRel(a.grads.subarray(v.offset, v.offset + v.size), b.grads.subarray(v.offset, v.offset + v.size)) });
      }
    }
    const steps: { wasm: number; ts: number; one: number }[] = [];
    for (let s = 0; s < 5; s++) {
      const bt = s % 2 ? sparse : dense;
      steps.push({
        wasm: (await wasm.trainStep(bt, HYPER, { loss: true })).loss!,
        ts: (await ts.trainStep(bt, HYPER, { loss: true })).loss!,
        one: (await one.trainStep(bt, HYPER, { loss: true })).loss!,
      });
    }
    const threadsSameBits = sameBits(await wasm.getParams(), await one.getParams());
    // The decoder against the full forward, bit for bit.
    const seq = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
    const full = await wasm.forwardLogits(Int32Array.from(seq), 1, seq.length);
    const decoder = wasm.createDecoder!(2);
    let decoderSameBits = true;
    const V = CONFIG.vocabSize;
    for (let t = 0; t < seq.length; t++) {
      const l = await decoder.step(Int32Array.from([1]), Int32Array.from([seq[t]!]), Int32Array.from([t]));
      decoderSameBits &&= sameBits(l, full.subarray(t * V, (t + 1) * V));
    }
    const description = wasm.description;
    for (const b of [ts, wasm, one]) b.dispose();
    return { description, logits, lossDiff, grads, steps, threadsSameBits, decoderSameBits };
  },
};

export type WasmParitySuite = typeof suite;
