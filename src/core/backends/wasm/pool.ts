/**
 * A pool of worker threads that run the engine's kernels over the SAME
 * shared WebAssembly memory as the calling thread: Web Workers in a
 * cross-origin isolated page, worker_threads in Node. A dispatch writes the
 * kernel's index and arguments into a control block at the start of the
 * memory and wakes the workers (Atomics.notify); every thread, the caller
 * included, then claims chunks of the index range with a compare-and-swap
 * until none is left, and the caller waits until all chunks are done. Each
 * chunk's outputs are disjoint and computed by the same arithmetic whoever
 * runs it, so the result does not depend on the number of threads.
 *
 * The workers' code is a string (below), so the pool needs no bundler
 * support: a Blob URL in the browser, `eval: true` in Node.
 */

/** Int32 words of the control block (byte 0 of the memory). */
const SEQ = 0; // dispatch generation; workers sleep on it
const CLAIM = 1; // (generation & 0xffff) << 16 | next chunk << 8 | chunk count
const DONE = 2; // chunks finished in this generation
const FN = 3; // kernel index
const NARGS = 4;
const TOTAL = 5;
const CHUNK = 6; // chunk size
const SHUTDOWN = 7;
const ERRORS = 8; // chunks that threw
const PROBE = 9; // scratch word for the can-this-thread-wait probe
const THREADS = 10; // threads this dispatch may use: workers with tid ≥ this sit it out (per-thread scratch is sized by it)
/** Float64 arguments start at this byte. */
const ARGS_BYTE = 64;
const MAX_ARGS = 24;
const MAX_CHUNKS = 255;

/** How long (loop rounds) an idle worker polls before it sleeps: dispatches in a step come microseconds apart. */
const WORKER_SPIN = 20000;
/** How long the caller polls for the last chunks before it sleeps. */
const CALLER_SPIN = 2000;

const WORKER_SOURCE = `
'use strict';
const isNode = typeof self === 'undefined';
const port = isNode ? require('node:worker_threads').parentPort : self;
const onMessage = (fn) => (isNode ? port.on('message', fn) : (self.onmessage = (e) => fn(e.data)));
onMessage((msg) => {
  let fns, ctrl, args;
  try {
    const instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory, log: Math.log } });
    fns = msg.names.map((n) => instance.exports[n]);
    ctrl = new Int32Array(msg.memory.buffer, 0, 16);
    args = new Float64Array(msg.memory.buffer, ${ARGS_BYTE}, ${MAX_ARGS});
  } catch (e) {
    port.postMessage({ error: String(e) });
    return;
  }
  port.postMessage({ ready: true });
  const tid = msg.tid;
  let seen = Atomics.load(ctrl, ${SEQ});
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, ${SEQ}) === seen && spins < ${WORKER_SPIN}) spins++;
    if (Atomics.load(ctrl, ${SEQ}) === seen) Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    if (Atomics.load(ctrl, ${SHUTDOWN})) return;
    while (tid < Atomics.load(ctrl, ${THREADS})) {
      const old = Atomics.load(ctrl, ${CLAIM});
      if ((old >>> 16) !== (seen & 0xffff)) break;
      const next = (old >>> 8) & 255;
      const n = old & 255;
      if (next >= n) break;
      if (Atomics.compareExchange(ctrl, ${CLAIM}, old, old + 256) !== old) continue;
      const nargs = ctrl[${NARGS}];
      const a = [];
      for (let i = 0; i < nargs; i++) a.push(args[i]);
      const chunk = ctrl[${CHUNK}];
      const begin = next * chunk;
      const end = Math.min(ctrl[${TOTAL}], begin + chunk);
      try {
        fns[ctrl[${FN}]](...a, begin, end, tid);
      } catch (e) {
        Atomics.add(ctrl, ${ERRORS}, 1);
        port.postMessage({ error: String(e) });
      }
      if (Atomics.add(ctrl, ${DONE}, 1) + 1 === n) Atomics.notify(ctrl, ${DONE});
    }
  }
});
`;

/** The part of a worker (Web Worker or worker_threads) the pool uses. */
interface PoolWorker {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

interface NodeWorkerThreads {
  Worker: new (source: string, options: { eval: true }) => PoolWorker & {
    on(event: 'message' | 'error', fn: (x: unknown) => void): void;
    unref(): void;
  };
}

/** Start one worker from WORKER_SOURCE; resolves once it instantiated the module. */
function spawn(init: { module: WebAssembly.Module; memory: WebAssembly.Memory; names: string[]; tid: number }): Promise<PoolWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (worker: PoolWorker, data: unknown) => {
      const msg = data as { ready?: boolean; error?: string };
      if (msg.ready) resolve(worker);
      else if (msg.error) reject(new Error(`a CPU engine worker failed: ${msg.error}`));
    };
    const node = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (n: string) => unknown } }).process;
    if (node?.versions?.node && node.getBuiltinModule) {
      const wt = node.getBuiltinModule('node:worker_threads') as NodeWorkerThreads;
      const worker = new wt.Worker(WORKER_SOURCE, { eval: true });
      worker.unref(); // an idle pool does not keep Node alive
      worker.on('message', (d) => onMessage(worker, d));
      worker.on('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
      worker.postMessage(init);
      return;
    }
    const WorkerCtor = (globalThis as { Worker?: new (url: string) => Worker }).Worker;
    if (!WorkerCtor) {
      reject(new Error('this runtime has no Worker'));
      return;
    }
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    const worker = new WorkerCtor(url);
    URL.revokeObjectURL(url);
    worker.onmessage = (e) => onMessage(worker, e.data);
    worker.onerror = (e) => reject(new Error(`a CPU engine worker did not start: ${e.message}`));
    worker.postMessage(init);
  });
}

export class WorkerPool {
  private generation = 0;
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  /** Atomics.wait is allowed on this thread (not on a page's main thread). */
  private readonly canWait: boolean;

  private constructor(private readonly workers: PoolWorker[], memory: WebAssembly.Memory) {
    this.ctrl = new Int32Array(memory.buffer, 0, 16);
    this.args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
    let canWait = true;
    try {
      Atomics.wait(this.ctrl, PROBE, 1, 0); // the word is 0: returns "not-equal" at once where waiting is allowed
    } catch {
      canWait = false;
    }
    this.canWait = canWait;
  }

  /** Workers in the pool (the calling thread is one more). */
  get size(): number {
    return this.workers.length;
  }

  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], workers: number): Promise<WorkerPool> {
    const ctrl = new Int32Array(memory.buffer, 0, 16);
    Atomics.store(ctrl, SHUTDOWN, 0);
    const started = await Promise.allSettled(Array.from({ length: workers }, (_, i) => spawn({ module, memory, names, tid: i + 1 })));
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      for (const w of ok) w.terminate();
      throw (failed as PromiseRejectedResult).reason;
    }
    return new WorkerPool(ok, memory);
  }

  /**
   * fn(...args, begin, end, tid) over chunks of [0, total), on `threads`
   * threads (this one and threads − 1 workers; all workers wake, and the
   * chunk count bounds how many get work). Returns when every chunk is done.
   */
  run(fnIndex: number, fn: (...a: number[]) => unknown, args: number[], total: number, grain: number, threads: number): void {
    if (args.length > MAX_ARGS) throw new Error(`pool: ${args.length} arguments exceed ${MAX_ARGS}`);
    let chunk = Math.max(1, grain);
    let chunks = Math.ceil(total / chunk);
    if (chunks > MAX_CHUNKS) {
      chunk = Math.ceil(total / MAX_CHUNKS / grain) * grain;
      chunks = Math.ceil(total / chunk);
    }
    const ctrl = this.ctrl;
    ctrl[FN] = fnIndex;
    ctrl[NARGS] = args.length;
    ctrl[TOTAL] = total;
    ctrl[CHUNK] = chunk;
    ctrl[THREADS] = threads;
    this.args.set(args);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, ERRORS, 0);
    this.generation = (this.generation + 1) | 0;
    const gen = this.generation;
    Atomics.store(ctrl, CLAIM, ((gen & 0xffff) << 16) | chunks);
    Atomics.store(ctrl, SEQ, gen);
    Atomics.notify(ctrl, SEQ, Math.min(threads - 1, chunks - 1));
    // This thread claims chunks like any worker.
    for (;;) {
      const old = Atomics.load(ctrl, CLAIM);
      const next = (old >>> 8) & 255;
      if (next >= chunks) break;
      if (Atomics.compareExchange(ctrl, CLAIM, old, old + 256) !== old) continue;
      const begin = next * chunk;
      try {
        fn(...args, begin, Math.min(total, begin + chunk), 0);
      } finally {
        Atomics.add(ctrl, DONE, 1);
      }
    }
    let spins = 0;
    for (let done = Atomics.load(ctrl, DONE); done < chunks; done = Atomics.load(ctrl, DONE)) {
      if (this.canWait && ++spins > CALLER_SPIN) Atomics.wait(ctrl, DONE, done, 50);
    }
    if (Atomics.load(ctrl, ERRORS) > 0) throw new Error('a CPU engine worker failed while running a kernel (its message is in the worker\'s console)');
  }

  terminate(): void {
    Atomics.store(this.ctrl, SHUTDOWN, 1);
    this.generation = (this.generation + 1) | 0;
    Atomics.store(this.ctrl, SEQ, this.generation);
    Atomics.notify(this.ctrl, SEQ);
    for (const w of this.workers) w.terminate();
  }
}
