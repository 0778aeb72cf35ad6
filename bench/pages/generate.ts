/**
 * Browser side of `npm run bench -- generate`: times generate() of one lab
 * shape (bench/generate.ts) on our WebGPU backend, by one of its paths:
 *
 *   - 'webgpu':        generateOnDevice (KV cache and sampling on the GPU, tokens read back);
 *   - 'webgpu-logits': createDecoder (KV cache on the GPU, logits read back every position,
 *                      tokens chosen by core/sample.ts);
 *   - 'webgpu-prefix': lastLogits (the whole prefix recomputed for every token, the path
 *                      generate() took on WebGPU before the decoder existed).
 *
 * bin/bench.ts opens a fresh page per measurement, waits for
 * `window.benchReady`, then awaits `window.benchGenerate(req)`.
 */
import { gpuBufferBytes } from './memory-probe'; // first: wraps the allocators
import type { Backend } from '../../src/core/backend';
import { createBackend } from '../../src/core/backends/index';
import { generateParams, generateShape, type GenerateRun, timeGenerate } from '../generate';
import { NotMeasured } from '../protocol';

export type GeneratePageEngine = 'webgpu' | 'webgpu-logits' | 'webgpu-prefix';

export interface GeneratePageRequest {
  engine: GeneratePageEngine;
  shape: string;
  calls: number;
  budgetMs: number;
}

export type GeneratePageResponse =
  | { ok: true; run: GenerateRun & { gpuPeakBytes: number } }
  | { ok: false; notMeasured: boolean; reason: string };

/** The backend seen through one path: the methods generate() would take first hidden (the rest run on the backend itself). */
function through(backend: Backend, engine: GeneratePageEngine): Backend {
  const hidden: readonly PropertyKey[] = engine === 'webgpu' ? [] : engine === 'webgpu-logits'
    ? ['generateOnDevice'] : ['generateOnDevice', 'createDecoder'];
  return new Proxy(backend, {
    get: (target, prop) => {
      if (hidden.includes(prop)) return undefined;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function benchGenerate(req: GeneratePageRequest): Promise<GeneratePageResponse> {
  try {
    if (!navigator.gpu) throw new NotMeasured('navigator.gpu is missing in this browser');
    const s = generateShape(req.shape);
    let deviceLost = '';
    const setupStart = performance.now();
    const created = await createBackend(s.config, { prefer: 'webgpu', onDeviceLost: (m) => (deviceLost = m) });
    const backend = created.backend;
    try {
      if (backend.kind !== 'webgpu') throw new NotMeasured(`createBackend fell back to '${backend.kind}': ${created.reason}`);
      await backend.setParams(generateParams(s));
      const setupMs = performance.now() - setupStart;
      const t = await timeGenerate(through(backend, req.engine), s, { calls: req.calls, budgetMs: req.budgetMs, now: () => performance.now() });
      if (deviceLost) throw new Error(`the GPU device was lost during the measurement: ${deviceLost}`);
      return { ok: true, run: { ...t, description: `ours WebGPU: ${backend.description} [${created.reason}]`, setupMs, gpuPeakBytes: gpuBufferBytes.peak } };
    } finally {
      backend.dispose();
    }
  } catch (e) {
    const notMeasured = e instanceof NotMeasured;
    const reason = e instanceof Error ? (notMeasured ? e.message : `${e.name}: ${e.message}\n${e.stack ?? ''}`) : String(e);
    return { ok: false, notMeasured, reason };
  }
}

declare global {
  interface Window {
    benchGenerate?: (req: GeneratePageRequest) => Promise<GeneratePageResponse>;
  }
}

window.benchGenerate = benchGenerate;
window.benchReady = true;
