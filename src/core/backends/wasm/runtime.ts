/**
 * The WebAssembly engine of a thread (a page, a worker, a Node process): the
 * kernels of `kernels.ts` compiled once, ONE memory all Wasm backends of
 * this thread allocate from, and — where SharedArrayBuffer exists (Node, or
 * a cross-origin isolated page) and more than one thread is asked for — a
 * pool of workers running over the same shared memory (`pool.ts`).
 *
 * What was chosen and why is in `report` (threads, SIMD, fused
 * multiply-add, the reason for each), for the device panel and run records.
 * Design notes: docs/cpu-engine.md.
 */
import { detectFeatures, type WasmFeatures } from './features';
import { buildKernels, CONSTANTS_BYTE, CONSTANTS_END, KERNEL_NAMES, type KernelName } from './kernels';
import { WorkerPool } from './pool';

/** Which CPU path runs, and why (shown by the device panel, kept in run records). */
export interface WasmReport {
  /** Threads that split the big kernels (1 = no pool). */
  threads: number;
  /** Why this many: "2 threads (SharedArrayBuffer available, 2 cores)", "1 thread: the page is not cross-origin isolated", … */
  reason: string;
  /** Relaxed-SIMD fused multiply-add in the kernels (fixed per machine, so runs stay deterministic there). */
  fma: boolean;
  /** The memory is shared (threads possible). */
  sharedMemory: boolean;
}

/** The exported kernels, called with numbers (pointers are byte addresses). */
export type KernelFn = (...args: number[]) => number | undefined;
export type Kernels = Record<KernelName, KernelFn>;

/** Bytes 0…CONTROL_BYTES hold the pool's control block and the kernels' constants; allocations start after. */
export const CONTROL_BYTES = CONSTANTS_END;
/** Every allocation is followed by this many spare bytes: kernels may read (never write) a vector past an array's end. */
const SLACK = 64;
const ALIGN = 64;
const PAGE = 65536;

/** The memory's maximum in pages: 4 GiB where the platform grants it (shared memories reserve it up front). */
const MAX_PAGES = [65536, 32768, 16384];

interface Block { start: number; size: number }

/**
 * First-fit allocator over the memory, growing it when no free block fits.
 * Blocks are 64-byte aligned and zeroed; freeing coalesces neighbours.
 */
class Allocator {
  private free: Block[] = [];
  private sizes = new Map<number, number>();
  private top = CONTROL_BYTES;

  constructor(private readonly memory: WebAssembly.Memory, private readonly zero: (start: number, size: number) => void) {}

  alloc(bytes: number): number {
    const size = Math.ceil((Math.max(bytes, 4) + SLACK) / ALIGN) * ALIGN;
    let start: number;
    const i = this.free.findIndex((b) => b.size >= size);
    if (i >= 0) {
      const b = this.free[i]!;
      start = b.start;
      if (b.size === size) this.free.splice(i, 1);
      else this.free[i] = { start: b.start + size, size: b.size - size };
      this.zero(start, size);
    } else {
      start = this.top;
      const need = start + size;
      const have = this.memory.buffer.byteLength;
      if (need > have) {
        const pages = Math.ceil((need - have) / PAGE);
        try {
          this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4))); // grow by ≥ 25% to amortise
        } catch {
          try {
            this.memory.grow(pages);
          } catch (e) {
            throw new Error(`the CPU engine's memory could not grow to ${(need / 2 ** 20).toFixed(0)} MiB: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
          }
        }
      }
      this.top = need;
      this.zero(start, size); // fresh pages are zero, but a block freed at the top and reused is not
    }
    this.sizes.set(start, size);
    return start;
  }

  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`free: ${ptr} is not an allocated block`);
    this.sizes.delete(ptr);
    let i = this.free.findIndex((b) => b.start > ptr);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { start: ptr, size });
    // coalesce with the next, then the previous block
    const cur = this.free[i]!;
    const next = this.free[i + 1];
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
    // a free block at the top goes back to the bump pointer
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }

  /** Bytes in live blocks. */
  liveBytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }
}

/** Work below this many units (multiply-adds, elements) runs on the calling thread: waking the pool costs more. */
export const MIN_PARALLEL_WORK = 1 << 15;

export class WasmEngine {
  readonly kernels: Kernels;
  private readonly allocator: Allocator;
  private f32View: Float32Array;
  private i32View: Int32Array;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly module: WebAssembly.Module,
    instance: WebAssembly.Instance,
    readonly features: WasmFeatures,
    readonly fma: boolean,
    private pool: WorkerPool | null,
  ) {
    this.kernels = instance.exports as unknown as Kernels;
    this.f32View = new Float32Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
    this.allocator = new Allocator(memory, (start, size) => this.f32().fill(0, start >> 2, (start + size) >> 2));
  }

  /** Threads that run pooled kernels (the calling thread included). */
  get poolThreads(): number {
    return this.pool ? this.pool.size + 1 : 1;
  }

  /**
   * The engine of this thread, created on first use. `threads` > 1 asks for
   * a pool of threads − 1 workers (granted where shared memory exists); a
   * later call asking for more threads than the pool has grows it.
   */
  static async get(threads: number): Promise<WasmEngine> {
    engine ??= WasmEngine.create();
    const e = await engine;
    await e.ensurePool(threads);
    return e;
  }

  /**
   * An engine of its own (its own memory and pool), not this thread's
   * shared one: tests use it to run the kernels without fused multiply-add
   * or without shared memory (as a page that is not cross-origin isolated).
   */
  static async standalone(opts: { fma?: boolean; shared?: boolean; threads?: number } = {}): Promise<WasmEngine> {
    const e = await WasmEngine.create(opts);
    await e.ensurePool(opts.threads ?? 1);
    return e;
  }

  private static async create(opts: { fma?: boolean; shared?: boolean } = {}): Promise<WasmEngine> {
    const detected = detectFeatures();
    if (!detected.simd) throw new Error('this runtime has no WebAssembly SIMD');
    if (opts.fma && !detected.relaxedSimd) throw new Error('fma: this runtime has no relaxed SIMD');
    let memory: WebAssembly.Memory | null = null;
    let maxPages: number | undefined;
    if (detected.sharedMemory && opts.shared !== false) {
      for (const max of MAX_PAGES) {
        try {
          memory = new WebAssembly.Memory({ initial: 64, maximum: max, shared: true });
          maxPages = max;
          break;
        } catch {
          // the platform refused to reserve this much address space: try less
        }
      }
    }
    const shared = memory !== null;
    memory ??= new WebAssembly.Memory({ initial: 64 });
    const fma = opts.fma ?? detected.relaxedSimd;
    const features: WasmFeatures = shared ? detected : {
      ...detected, sharedMemory: false,
      sharedMemoryReason: detected.sharedMemory ? 'an unshared memory was asked for' : detected.sharedMemoryReason,
    };
    const kernels = buildKernels({ fma, shared, ...(maxPages ? { maxPages } : {}) });
    new Uint8Array(memory.buffer).set(kernels.constants, CONSTANTS_BYTE);
    const module = await WebAssembly.compile(kernels.bytes as BufferSource);
    const instance = await WebAssembly.instantiate(module, { env: { memory, log: Math.log } });
    return new WasmEngine(memory, module, instance, features, fma, null);
  }

  /** Start (or grow) the worker pool to `threads` threads in all, where the memory is shared. */
  async ensurePool(threads: number): Promise<void> {
    const want = Math.max(0, Math.min(threads, MAX_THREADS) - 1);
    if (want === 0 || !this.features.sharedMemory || (this.pool && this.pool.size >= want)) return;
    const old = this.pool;
    this.pool = await WorkerPool.start(this.module, this.memory, [...KERNEL_NAMES], want);
    old?.terminate();
  }

  /** A Float32Array over the whole memory (renewed after the memory grew). */
  f32(): Float32Array {
    if (this.f32View.byteLength !== this.memory.buffer.byteLength) this.f32View = new Float32Array(this.memory.buffer);
    return this.f32View;
  }

  i32(): Int32Array {
    if (this.i32View.byteLength !== this.memory.buffer.byteLength) this.i32View = new Int32Array(this.memory.buffer);
    return this.i32View;
  }

  /** A zeroed block of `bytes` (64-byte aligned, with readable slack after it). */
  alloc(bytes: number): number {
    return this.allocator.alloc(bytes);
  }

  free(ptr: number): void {
    this.allocator.release(ptr);
  }

  liveBytes(): number {
    return this.allocator.liveBytes();
  }

  /**
   * Run kernel `name` over [0, total) of its outer index, split into chunks
   * of `grain` (rounded up so there are at most 255) across up to `threads`
   * threads when `work` (its multiply-adds or elements) is worth it; else on
   * this thread in one call. args are the kernel's parameters before
   * (begin, end, tid).
   */
  run(name: KernelName, args: number[], total: number, grain: number, threads: number, work: number): void {
    if (total <= 0) return;
    const pool = this.pool;
    if (!pool || threads <= 1 || work < MIN_PARALLEL_WORK || total <= grain) {
      this.kernels[name](...args, 0, total, 0);
      return;
    }
    pool.run(KERNEL_NAMES.indexOf(name), this.kernels[name], args, total, grain, Math.min(threads, pool.size + 1));
  }
}

/** More threads than this rarely pay for the lab's model sizes. */
export const MAX_THREADS = 8;

let engine: Promise<WasmEngine> | null = null;
