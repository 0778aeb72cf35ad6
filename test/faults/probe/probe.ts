/**
 * The fault probe: test code that runs inside a lab worker, before the
 * worker's own modules (probe.worker.ts imports it first), and injects ONE
 * fault at a planned point:
 *   - 'train-step' n / 'decode' n: the n-th training step / sampling call of
 *     the run's backend (TS CPU, Wasm CPU or WebGPU, patched on their prototypes: the
 *     worker's modules are the same instances);
 *   - 'checkpoint-write' n: the n-th row put into the runCheckpoints store
 *     (the write's transaction is still open);
 *   - 'hold': tell the page (BroadcastChannel FAULT_CHANNEL) and block the
 *     worker's thread, so the page's terminate() or reload lands exactly there;
 *     'destroy-device': call GPUDevice.destroy() on the run's devices, then go on.
 * The plan comes in the worker's name ("lab-runner|{json}", set by the page's
 * spawn hook), so it is known before any of the worker's code runs. The probe
 * also counts GPU buffer bytes (created minus destroyed) and answers
 * 'gpu-bytes' requests on the channel.
 */
import { CpuBackend } from '../../../src/core/backends/cpu';
import { WasmBackend } from '../../../src/core/backends/wasm';
import { WebGpuBackend } from '../../../src/core/backends/webgpu';

export const FAULT_CHANNEL = 'symbiosis-lab/faults';

export type Trigger = 'train-step' | 'decode' | 'checkpoint-write';
export interface FaultPlan {
  at: Trigger;
  /** 1-based: the n-th event of that kind in this worker. */
  n: number;
  /** 'slow': not a fault but a stretch of time: every event from the n-th on takes `ms` longer (a second tab can open meanwhile). */
  action: 'hold' | 'destroy-device' | 'slow';
  ms?: number;
  /**
   * Wait for this many committed checkpoint writes too: the fault goes at
   * the first event from the n-th on that comes after them. The run writer
   * saves checkpoints behind the training (how far behind depends on the
   * machine's load), so "the n-th step" alone may come before any
   * checkpoint is saved, or after the last.
   */
  afterCommitted?: number;
}

/** What the probe posts on FAULT_CHANNEL. */
export type ProbeMessage =
  | { type: 'injected'; worker: string; at: Trigger; n: number; action: FaultPlan['action']; detail: string; committed: number }
  /** At each checkpoint write: how many of each event came before it (a reference run tells where faults can go). */
  | { type: 'tick'; worker: string; counts: Record<Trigger, number> }
  | { type: 'gpu-bytes'; worker: string; live: number; peak: number; buffers: number; liveAtDestroy: number | null };

/** What the page's spawn hook puts after the worker's name. */
export interface ProbeOptions {
  plan: FaultPlan | null;
  /** Act as a newer build of the lab: its database has one more version (and one more store) than this build's. */
  newerDb: boolean;
  /** The n-th lab runner of its page (1-based; 0 for other lab workers): reports name it 'lab-runner#n'. */
  index?: number;
}

const [baseName, optionsText] = self.name.split('|');
const options: ProbeOptions = optionsText ? (JSON.parse(optionsText) as ProbeOptions) : { plan: null, newerDb: false };
const workerName = options.index ? `${baseName}#${options.index}` : baseName;
const plan = options.plan;
const channel = new BroadcastChannel(FAULT_CHANNEL);
const counts: Record<Trigger, number> = { 'train-step': 0, decode: 0, 'checkpoint-write': 0 };
const devices: GPUDevice[] = [];
/** Checkpoint rows whose transaction has committed. */
let committed = 0;
let fired = false;

function post(message: ProbeMessage): void {
  channel.postMessage(message);
}

/** Count one event; inject the planned fault when it is the planned one. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing of this worker may run on
  }
}

function tick(at: Trigger, detail: string): void {
  counts[at]++;
  if (at === 'checkpoint-write') {
    post({ type: 'tick', worker: workerName ?? '?', counts: { ...counts } });
    postGpuBytes();
  }
  if (plan?.action === 'slow' && plan.at === at && counts[at] >= plan.n) return busy(plan.ms ?? 0);
  if (!plan || fired || plan.at !== at) return;
  if (plan.afterCommitted === undefined ? counts[at] !== plan.n : counts[at] < plan.n || committed < plan.afterCommitted) return;
  fired = true;
  post({ type: 'injected', worker: workerName ?? '?', at, n: counts[at], action: plan.action, detail, committed });
  if (plan.action === 'destroy-device') {
    for (const d of devices) d.destroy();
    return;
  }
  // Hold the thread: the page terminates this worker (or reloads) while we are here. 60 s at most.
  busy(60_000);
}

// --- backends -------------------------------------------------------------------------

function wrapMethod<T extends object>(proto: T, name: string, before: (self: T, args: unknown[]) => void): void {
  const original = (proto as Record<string, unknown>)[name];
  if (typeof original !== 'function') return;
  (proto as Record<string, unknown>)[name] = function (this: T, ...args: unknown[]) {
    before(this, args);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

for (const proto of [CpuBackend.prototype, WasmBackend.prototype, WebGpuBackend.prototype] as object[]) {
  wrapMethod(proto, 'trainStep', () => tick('train-step', 'a training step'));
  wrapMethod(proto, 'lastLogits', () => tick('decode', 'a sampling step (full forward)'));
  const createDecoder = (proto as { createDecoder?: (B: number) => { step: (...a: unknown[]) => Promise<Float32Array> } }).createDecoder;
  if (createDecoder) {
    (proto as { createDecoder: unknown }).createDecoder = function (this: unknown, B: number) {
      const decoder = createDecoder.call(this, B);
      const step = decoder.step.bind(decoder);
      decoder.step = (...a: unknown[]) => {
        tick('decode', 'a sampling step (KV cache)');
        return step(...a);
      };
      return decoder;
    };
  }
}

// --- IndexedDB ----------------------------------------------------------------------------

const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
  const request = put.apply(this, args);
  if (this.name === 'runCheckpoints') {
    this.transaction.addEventListener('complete', () => committed++);
    tick('checkpoint-write', 'a checkpoint row put, its transaction open');
  }
  return request;
};

// --- a newer build's database ----------------------------------------------------------------

/**
 * A newer build opens the lab's database one version up, adding a store in
 * its upgrade step. Here: every open of the lab's database asks for one
 * version more and adds the store 'newerBuild'; the lab's own upgrade code
 * is shown the version it knows, so it runs its own steps and no other.
 */
if (options.newerDb) {
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (this: IDBFactory, name: string, version?: number) {
    if (name !== 'symbiosis-lab' || version === undefined) return open.call(this, name, version);
    const request = open.call(this, name, version + 1);
    request.addEventListener('upgradeneeded', (event) => {
      const db = request.result;
      if (!db.objectStoreNames.contains('newerBuild')) db.createObjectStore('newerBuild');
      Object.defineProperty(event, 'newVersion', { value: version });
    });
    return request;
  };
}

// --- WebGPU devices and buffers -------------------------------------------------------------

const sizes = new WeakMap<GPUBuffer, number>();
let live = 0;
let peak = 0;
let buffers = 0;
/** Buffer bytes still alive when the last device was destroyed (what the run held at its end); null before. */
let liveAtDestroy: number | null = null;
if (typeof GPUAdapter !== 'undefined') {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, ...args: Parameters<GPUAdapter['requestDevice']>) {
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    void device.lost.then(() => {
      // A destroyed device frees all its buffers.
      live = 0;
      buffers = 0;
    });
    return device;
  };
  const destroyDevice = GPUDevice.prototype.destroy;
  GPUDevice.prototype.destroy = function (this: GPUDevice) {
    liveAtDestroy = live;
    postGpuBytes();
    return destroyDevice.call(this);
  };
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, descriptor);
    sizes.set(buffer, descriptor.size);
    live += descriptor.size;
    buffers++;
    peak = Math.max(peak, live);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
    const size = sizes.get(this);
    if (size !== undefined) {
      live -= size;
      buffers--;
      sizes.delete(this);
    }
    return destroy.call(this);
  };
}

/** Report the GPU buffer bytes (at each checkpoint write, when asked, and when a device is destroyed); nothing before a device exists. */
function postGpuBytes(): void {
  if (devices.length > 0) post({ type: 'gpu-bytes', worker: workerName ?? '?', live, peak, buffers, liveAtDestroy });
}

channel.addEventListener('message', (e: MessageEvent<{ type: string }>) => {
  if (e.data.type === 'gpu-bytes?') postGpuBytes();
});
