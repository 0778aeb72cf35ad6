/**
 * Browser side of `npm run bench -- labs`: runs one lab's preset to the end
 * on our WebGPU backend in this page (the same experiment module the lab
 * worker runs), and returns its seconds and its summary.
 *
 * bin/bench-labs-time.ts opens a fresh page per run, waits for
 * `window.benchReady`, then awaits `window.benchLab(req)`.
 */
import { gpuBufferBytes } from './memory-probe'; // first: wraps the allocators
import { createBackend } from '../../src/core/backends/index';
import { resolveConfig } from '../../src/experiments/config';
import { experimentByName } from '../../src/experiments/index';
import { NotMeasured } from '../protocol';

export interface LabPageRequest {
  lab: string;
  preset: string;
  seed: number;
  /** Inputs by name, bytes as base64 (the symbiosis dataset). */
  inputs: Record<string, { name: string; base64: string }>;
  budgetMs: number;
}

export type LabPageResponse =
  | { ok: true; seconds: number; summary: unknown; backend: string; gpuPeakBytes: number }
  | { ok: false; notMeasured: boolean; reason: string };

function fromBase64(s: string): Uint8Array {
  const raw = atob(s);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function benchLab(req: LabPageRequest): Promise<LabPageResponse> {
  // The experiment disposes the backends it creates; the page is closed after each run.
  const signal = AbortSignal.timeout(req.budgetMs);
  try {
    if (!navigator.gpu) throw new NotMeasured('navigator.gpu is missing in this browser');
    const experiment = experimentByName(req.lab);
    const config = resolveConfig(experiment, req.preset, {});
    let description = '';
    const t0 = performance.now();
    const summary = await experiment.run(config, {
      seed: req.seed,
      now: () => performance.now(),
      emit: () => {},
      signal,
      inputs: Object.fromEntries(Object.entries(req.inputs).map(([k, v]) => [k, { name: v.name, bytes: fromBase64(v.base64) }])),
      createBackend: async (c) => {
        const created = await createBackend(c, { prefer: 'webgpu' });
        if (created.backend.kind !== 'webgpu') {
          created.backend.dispose();
          throw new NotMeasured(`createBackend fell back to '${created.backend.kind}': ${created.reason}`);
        }
        description = created.backend.description;
        return created.backend;
      },
    });
    return { ok: true, seconds: (performance.now() - t0) / 1000, summary, backend: description, gpuPeakBytes: gpuBufferBytes.peak };
  } catch (e) {
    const timedOut = signal.aborted;
    const notMeasured = e instanceof NotMeasured || timedOut;
    const reason = timedOut ? `over the ${req.budgetMs / 1000} s budget`
      : e instanceof Error ? (notMeasured ? e.message : `${e.name}: ${e.message}\n${e.stack ?? ''}`) : String(e);
    return { ok: false, notMeasured, reason };
  }
}

declare global {
  interface Window {
    benchLab?: (req: LabPageRequest) => Promise<LabPageResponse>;
  }
}

window.benchLab = benchLab;
window.benchReady = true;
