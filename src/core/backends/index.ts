/**
 * Choosing an engine: probe WebGPU, create the WebGPU backend when an adapter
 * exists (its module, with the WGSL, is loaded with a dynamic import only
 * then), and otherwise fall back to the CPU — always saying why. The CPU
 * path is the WebAssembly SIMD backend (`wasm.ts`, threads where shared
 * memory exists), or the TypeScript reference (`cpu.ts`) where Wasm SIMD is
 * missing or when asked for.
 */
import { type Backend, type BackendKind, DeviceLimitError } from '../backend';
import type { GptConfig } from '../gpt/config';
import { CpuBackend } from './cpu';
import { defaultThreads, detectFeatures } from './wasm/features';
import { adapterName, checkFitsDevice, type DeviceLimits, isSoftwareAdapter } from './webgpu/device';

export { checkFitsDevice, type DeviceLimits };

/** How the CPU path should run: the Wasm engine (default) or the TypeScript reference; threads for Wasm. */
export interface CpuOptions {
  engine?: 'wasm' | 'ts';
  /** Threads for the Wasm engine (default: up to 4 where shared memory exists, else 1). */
  threads?: number;
}

/** Which CPU path runs here and why, for the device panel and run records. */
export interface CpuReport {
  engine: 'wasm' | 'ts';
  /** Threads the big kernels use (1 without shared memory). */
  threads: number;
  /** Relaxed-SIMD fused multiply-add (Wasm engine only). */
  fma: boolean;
  /** One line: "WebAssembly SIMD, 2 threads (shared memory, 2 cores)", "1 thread: the page is not cross-origin isolated …". */
  reason: string;
}

/** The CPU backend: Wasm SIMD unless unavailable or `engine: 'ts'`; never throws for a missing feature (it falls back and says why). */
export async function createCpuBackend(config: GptConfig, opts: CpuOptions = {}): Promise<{ backend: Backend; cpu: CpuReport }> {
  if (opts.engine === 'ts') {
    return { backend: new CpuBackend(config), cpu: { engine: 'ts', threads: 1, fma: false, reason: 'TypeScript reference requested' } };
  }
  const features = detectFeatures();
  if (!features.simd) {
    return {
      backend: new CpuBackend(config),
      cpu: { engine: 'ts', threads: 1, fma: false, reason: 'this browser has no WebAssembly SIMD: TypeScript reference' },
    };
  }
  const { WasmBackend } = await import('./wasm'); // the kernels are built only when a CPU backend is made
  const backend = await WasmBackend.create(config, opts.threads === undefined ? {} : { threads: opts.threads });
  const r = backend.report;
  return { backend, cpu: { engine: 'wasm', threads: r.threads, fma: r.fma, reason: `WebAssembly SIMD${r.fma ? ' with fused multiply-add' : ''}, ${r.reason}` } };
}

/** What the default CPU path would be here (probes only; nothing is compiled). */
export function cpuReport(): CpuReport {
  const f = detectFeatures();
  if (!f.simd) return { engine: 'ts', threads: 1, fma: false, reason: 'this browser has no WebAssembly SIMD: TypeScript reference' };
  const { threads, reason } = defaultThreads(f);
  return { engine: 'wasm', threads, fma: f.relaxedSimd, reason: `WebAssembly SIMD${f.relaxedSimd ? ' with fused multiply-add' : ''}, ${reason}` };
}

/** What the environment offers, for the run record and the UI. */
export interface DeviceReport {
  webgpu: boolean;
  /** One line: "WebGPU adapter 'NVIDIA …'", "no WebGPU adapter: CPU fallback", … */
  reason: string;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string } | null;
  /** A software adapter (SwiftShader, lavapipe, WARP): works, but slowly. */
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
  shaderF16: boolean;
}

function emptyReport(reason: string): DeviceReport {
  return { webgpu: false, reason, adapterInfo: null, isFallbackAdapter: false, features: [], limits: {}, shaderF16: false };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Ask for a WebGPU adapter and describe it. Never throws: a missing API, a
 * refused request or no adapter come back as `adapter: null` with the reason.
 */
export async function probeWebGpu(
  gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu,
): Promise<{ report: DeviceReport; adapter: GPUAdapter | null }> {
  if (!gpu) return { report: emptyReport('navigator.gpu missing (this browser has no WebGPU): CPU fallback'), adapter: null };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { report: emptyReport(`requestAdapter failed (${errorText(e)}): CPU fallback`), adapter: null };
  }
  if (!adapter) return { report: emptyReport('no WebGPU adapter: CPU fallback'), adapter: null };
  try {
    // adapter.info is missing in browsers older than the 2024 spec: report an unnamed adapter, still usable.
    const info: Partial<GPUAdapterInfo> = (adapter as { info?: GPUAdapterInfo }).info ?? {};
    const adapterInfo = {
      vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '',
    };
    const name = adapterName(adapterInfo);
    const software = isSoftwareAdapter({ ...adapterInfo, isFallbackAdapter: info.isFallbackAdapter ?? false });
    const limits: Record<string, number> = {};
    // WebIDL attributes live on the prototype as enumerable getters, so for…in sees them.
    for (const key in adapter.limits) {
      const value = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number') limits[key] = value;
    }
    const features = [...adapter.features].sort();
    return {
      report: {
        webgpu: true,
        reason: `WebGPU adapter '${name}'${software ? ' (software)' : ''}`,
        adapterInfo,
        isFallbackAdapter: software,
        features,
        limits,
        shaderF16: adapter.features.has('shader-f16'),
      },
      adapter,
    };
  } catch (e) {
    return { report: emptyReport(`reading the WebGPU adapter failed (${errorText(e)}): CPU fallback`), adapter: null };
  }
}

/**
 * The backend to train on: WebGPU when `prefer` is not 'cpu' and an adapter
 * exists, else the CPU path (see createCpuBackend; `cpu` chooses it). `reason`
 * says which and why (it is also `report.reason` unless the WebGPU device
 * could not be created); `cpu` describes the CPU path when it was taken.
 * A DeviceLimitError (the model does not fit the device) is rethrown rather
 * than hidden behind a fallback: it names the setting to change.
 */
export async function createBackend(
  config: GptConfig,
  opts: { prefer?: BackendKind; onDeviceLost?: (message: string) => void; gpu?: GPU; cpu?: CpuOptions } = {},
): Promise<{ backend: Backend; report: DeviceReport; reason: string; cpu?: CpuReport }> {
  const prefer: BackendKind = opts.prefer ?? 'webgpu';
  const { report, adapter } = await probeWebGpu(opts.gpu);
  const cpuFallback = async (why: string) => {
    const { backend, cpu } = await createCpuBackend(config, opts.cpu);
    return { backend, report, reason: why, cpu };
  };
  switch (prefer) {
    case 'cpu':
      return cpuFallback('CPU backend requested');
    case 'webgpu': {
      if (!adapter) return cpuFallback(report.reason);
      try {
        const { WebGpuBackend } = await import('./webgpu');
        const backend = await WebGpuBackend.create(config, {
          adapter,
          ...(opts.onDeviceLost ? { onDeviceLost: opts.onDeviceLost } : {}),
        });
        return { backend, report, reason: report.reason };
      } catch (e) {
        if (e instanceof DeviceLimitError) throw e;
        return cpuFallback(`WebGPU backend failed (${errorText(e)}): CPU fallback`);
      }
    }
    default:
      return prefer satisfies never;
  }
}

/**
 * The backend "auto" asks for. A software WebGPU adapter (SwiftShader,
 * lavapipe) trains these small models slower than the CPU backend (the
 * default config, 200 steps on a 2-core machine: SwiftShader 9.6 s, CPU
 * 6.0 s), so auto takes the CPU there; with a hardware adapter, or none, it
 * leaves the choice to createBackend (WebGPU when an adapter exists).
 */
export function autoBackend(report: DeviceReport): { prefer: BackendKind; reason: string } | null {
  if (report.webgpu && report.isFallbackAdapter) {
    return { prefer: 'cpu', reason: `${report.reason} is slower than the CPU for models this small: CPU` };
  }
  return null;
}
