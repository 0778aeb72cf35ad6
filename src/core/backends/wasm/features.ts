/**
 * What this runtime offers the CPU engine: WebAssembly SIMD, relaxed SIMD
 * (fused multiply-add), shared memory (threads: Node, or a cross-origin
 * isolated page), and how many cores — probed with tiny modules built by the
 * emitter, without compiling the kernels.
 */
import { f32x4, ModuleBuilder } from './emit';

export interface WasmFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  /** SharedArrayBuffer and a shared WebAssembly.Memory can be made. */
  sharedMemory: boolean;
  /** Why not, when sharedMemory is false. */
  sharedMemoryReason: string;
  /** Cores the runtime reports (navigator.hardwareConcurrency, os.availableParallelism). */
  cores: number;
}

/** A one-function module that validates only where `op` does (fixed-width SIMD, relaxed SIMD). */
function probe(op: 'simd' | 'relaxed'): Uint8Array {
  const mod = new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, maxPages: 1, shared: false });
  mod.func('probe', [['a', 'v128'], ['b', 'v128']], ['v128'], (f, a, b) => {
    f.ret(op === 'simd' ? f32x4.add(a.get(), b.get()) : f32x4.relaxed_madd(a.get(), b.get(), a.get()));
  });
  return mod.toBytes();
}

interface NodeProcess {
  getBuiltinModule?: (name: string) => unknown;
  versions?: { node?: string };
}

/** Node's process object when running in Node, else undefined. */
export function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node ? p : undefined;
}

/**
 * Node 20 (V8 11.3) has relaxed SIMD behind a flag that Node 22 turned on;
 * the flag only changes which Wasm modules validate, so it is set here
 * (once, before any kernel module is compiled) rather than asking every
 * entry point (tests, runner, benchmarks) for a command-line option.
 */
function enableRelaxedSimdInNode(): void {
  const node = nodeProcess();
  const v8 = node?.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
  v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
}

let detected: WasmFeatures | null = null;

/** The features (probed once per thread). */
export function detectFeatures(): WasmFeatures {
  detected ??= probeFeatures();
  return detected;
}

function probeFeatures(): WasmFeatures {
  const simd = WebAssembly.validate(probe('simd') as BufferSource);
  let relaxedSimd = simd && WebAssembly.validate(probe('relaxed') as BufferSource);
  if (simd && !relaxedSimd && nodeProcess()) {
    enableRelaxedSimdInNode();
    relaxedSimd = WebAssembly.validate(probe('relaxed') as BufferSource);
  }
  let cores: number;
  const node = nodeProcess();
  if (node?.getBuiltinModule) {
    const os = node.getBuiltinModule('node:os') as { availableParallelism?: () => number; cpus: () => unknown[] };
    cores = os.availableParallelism?.() ?? os.cpus().length;
  } else {
    cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  }
  let sharedMemory = false;
  let sharedMemoryReason = '';
  if (typeof SharedArrayBuffer === 'undefined') {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    sharedMemoryReason = isolated === false
      ? 'the page is not cross-origin isolated (no COOP/COEP headers), so SharedArrayBuffer is off'
      : 'SharedArrayBuffer is not available here';
  } else {
    try {
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      sharedMemory = true;
    } catch (e) {
      sharedMemoryReason = `a shared WebAssembly.Memory cannot be created (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  return { simd, relaxedSimd, sharedMemory, sharedMemoryReason, cores: Math.max(1, cores) };
}

/** Threads the default CPU path uses: all cores up to 4 where shared memory exists, else 1 — with the reason. */
export function defaultThreads(f: WasmFeatures): { threads: number; reason: string } {
  if (!f.sharedMemory) return { threads: 1, reason: `1 thread: ${f.sharedMemoryReason}` };
  const threads = Math.min(4, f.cores);
  return { threads, reason: `${threads} thread${threads > 1 ? 's' : ''} (shared memory, ${f.cores} core${f.cores > 1 ? 's' : ''})` };
}
