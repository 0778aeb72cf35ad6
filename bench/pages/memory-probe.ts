/**
 * Memory counters for the bench pages, the same for every engine on the page:
 *
 *  - GPU: wraps GPUDevice.prototype.createBuffer and GPUBuffer.prototype.destroy
 *    and keeps the live and peak byte counts of every buffer created from then
 *    on (pools, staging and uniform buffers included). A buffer dropped without
 *    destroy() stays counted until the page closes, so `liveBytes` is an upper
 *    bound; each measurement runs in a fresh page.
 *  - Wasm: records every WebAssembly.Memory constructed (jax-js allocates all of
 *    its arrays in one), whose buffer size is the Wasm backend's footprint.
 *
 * Install both before any engine starts (the page's first import does).
 */

export const gpuBufferBytes = { live: 0, peak: 0, buffersCreated: 0 };

const bufferSizes = new WeakMap<GPUBuffer, number>();
const wasmMemories: WebAssembly.Memory[] = [];

function installGpuBufferCounter(): void {
  if (typeof GPUDevice === 'undefined' || typeof GPUBuffer === 'undefined') return;
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = createBuffer.call(this, descriptor);
    bufferSizes.set(buffer, descriptor.size);
    gpuBufferBytes.live += descriptor.size;
    gpuBufferBytes.peak = Math.max(gpuBufferBytes.peak, gpuBufferBytes.live);
    gpuBufferBytes.buffersCreated++;
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer): undefined {
    const size = bufferSizes.get(this);
    if (size !== undefined) {
      gpuBufferBytes.live -= size;
      bufferSizes.delete(this);
    }
    return destroy.call(this);
  };
}

function installWasmMemoryRecorder(): void {
  const Memory = WebAssembly.Memory;
  const recording = new Proxy(Memory, {
    construct(target, args: [WebAssembly.MemoryDescriptor], newTarget) {
      const memory = Reflect.construct(target, args, newTarget) as WebAssembly.Memory;
      wasmMemories.push(memory);
      return memory;
    },
  });
  Object.defineProperty(WebAssembly, 'Memory', { value: recording, configurable: true, writable: true });
}

/** Current total size of the recorded Wasm memories, bytes. */
export function wasmMemoryBytes(): number {
  return wasmMemories.reduce((n, m) => n + m.buffer.byteLength, 0);
}

installGpuBufferCounter();
installWasmMemoryRecorder();
