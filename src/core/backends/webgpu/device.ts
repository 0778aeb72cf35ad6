/**
 * Facts about a WebGPU device that need no GPU objects (and no WGSL, so the
 * main bundle can import this without the kernels): the adapter's name, the
 * limits to request, and whether a model and a (B,T) shape fit.
 *
 * The fit checks run before anything is allocated, so a too-large setting
 * becomes a DeviceLimitError that names the setting to change instead of a
 * validation error or a lost device. The UI can call them with an adapter's
 * limits from `probeWebGpu` to grey out settings.
 */
import { DeviceLimitError } from '../../backend';
import { countParams, type GptConfig } from '../../gpt/config';

/** Output tile edge (rows and columns) of one matmul workgroup (see matmul.ts). */
export const MATMUL_TILE = 64;

/** Workgroup memory of the matmul kernel, bytes: two 16 × 65 f32 tiles. */
export const MATMUL_WORKGROUP_BYTES = 2 * 16 * 65 * 4;

/** Workgroup memory of the attention row kernels for a context of tmax, bytes (a row plus a 64-lane reduction). */
export function attentionWorkgroupBytes(tmax: number): number {
  return 4 * (tmax + 64);
}

/** The WebGPU limits the backend depends on. */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupStorageSize: number;
  maxStorageBuffersPerShaderStage: number;
}

/** The WebGPU spec's defaults: what any adapter gives without requiredLimits. */
export const DEFAULT_LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 8,
};

/** Storage buffers the busiest kernels bind (the decoder's fused block and fused head + sampler: 7; WebGPU guarantees 8). */
export const STORAGE_BUFFERS_NEEDED = 7;

/**
 * What to ask `requestDevice` for: the adapter's maxima for the limits that
 * bound the model and batch sizes. Activation sizes depend on the (B,T) a
 * caller asks for later, so the device is requested as large as the adapter
 * allows and each shape is checked against it (`checkFitsDevice`).
 */
export function requiredLimitsFor(adapter: DeviceLimits): Record<keyof DeviceLimits, number> {
  return {
    maxStorageBufferBindingSize: adapter.maxStorageBufferBindingSize,
    maxBufferSize: adapter.maxBufferSize,
    maxComputeWorkgroupsPerDimension: adapter.maxComputeWorkgroupsPerDimension,
    maxComputeWorkgroupStorageSize: adapter.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: adapter.maxStorageBuffersPerShaderStage,
  };
}

/** A short adapter name for reports: "google swiftshader", "NVIDIA GeForce RTX 4090". */
export function adapterName(info: { vendor: string; architecture: string; device: string; description: string }): string {
  return info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
}

/** Adapters that emulate a GPU on CPU cores (each invocation a SIMD lane). */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|warp|software/i;

/** True for a software adapter: the fallback flag, or a known CPU renderer's name. */
export function isSoftwareAdapter(info: {
  vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean;
}): boolean {
  return info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(`${adapterName(info)} ${info.architecture}`);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;
}

function limitsOf(limits: Partial<DeviceLimits> | GPUSupportedLimits): DeviceLimits {
  const l = limits as Partial<DeviceLimits>;
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize ?? DEFAULT_LIMITS.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize ?? DEFAULT_LIMITS.maxBufferSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension ?? DEFAULT_LIMITS.maxComputeWorkgroupsPerDimension,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize ?? DEFAULT_LIMITS.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage ?? DEFAULT_LIMITS.maxStorageBuffersPerShaderStage,
  };
}

/**
 * The model alone (parameters, moments, kernels) fits? Throws DeviceLimitError:
 * 'dModel' when a parameter buffer is too large, 'contextLength' when an
 * attention row does not fit in workgroup memory (the tiled kernels' bound,
 * checked for every family to keep one answer per device).
 */
export function checkModelFitsDevice(config: GptConfig, limits: Partial<DeviceLimits> | GPUSupportedLimits): void {
  const l = limitsOf(limits);
  const perBuffer = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
  const which = l.maxStorageBufferBindingSize <= l.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const P = countParams(config);
  if (4 * P > perBuffer) {
    throw new DeviceLimitError('dModel',
      `the model has ${P} parameters (${mib(4 * P)} per buffer: parameters, gradients and each Adam moment) `
      + `but this device allows ${mib(perBuffer)} per buffer (${which}); reduce dModel, nLayers or vocabSize`);
  }
  const attBytes = attentionWorkgroupBytes(config.contextLength);
  const wgBytes = Math.max(attBytes, MATMUL_WORKGROUP_BYTES);
  if (wgBytes > l.maxComputeWorkgroupStorageSize) {
    const maxT = Math.floor(l.maxComputeWorkgroupStorageSize / 4) - 64;
    throw new DeviceLimitError('contextLength',
      `attention keeps a row of ${config.contextLength} scores in workgroup memory (${attBytes} bytes) but this device `
      + `allows ${l.maxComputeWorkgroupStorageSize} bytes (maxComputeWorkgroupStorageSize); use contextLength ≤ ${maxT}`);
  }
  if (l.maxStorageBuffersPerShaderStage < STORAGE_BUFFERS_NEEDED) {
    throw new DeviceLimitError('backend',
      `the kernels bind ${STORAGE_BUFFERS_NEEDED} storage buffers but this device allows `
      + `${l.maxStorageBuffersPerShaderStage} (maxStorageBuffersPerShaderStage); use the CPU backend`);
  }
  const maxDim = l.maxComputeWorkgroupsPerDimension;
  if (Math.ceil(config.vocabSize / MATMUL_TILE) > maxDim) {
    throw new DeviceLimitError('vocabSize',
      `a vocabulary of ${config.vocabSize} needs ${Math.ceil(config.vocabSize / MATMUL_TILE)} workgroups in one `
      + `dimension but this device allows ${maxDim} (maxComputeWorkgroupsPerDimension)`);
  }
  if (Math.ceil(P / 256) > maxDim * maxDim) {
    throw new DeviceLimitError('dModel', `the model has ${P} parameters, more than one dispatch can cover on this device`);
  }
}

/**
 * Activations of a (B,T) batch fit? (The model itself is `checkModelFitsDevice`.)
 * Throws DeviceLimitError with field 'batchSize' and the largest batch that
 * fits, or 'contextLength' when even one sequence of length T does not fit.
 */
export function checkShapeFitsDevice(
  config: GptConfig, B: number, T: number, limits: Partial<DeviceLimits> | GPUSupportedLimits,
): void {
  const l = limitsOf(limits);
  const perBuffer = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
  const which = l.maxStorageBufferBindingSize <= l.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const { vocabSize: V, dModel: C, nHeads: NH } = config;
  // The largest buffers of one shape, as bytes per sequence (all scale with B).
  const perSequence: [string, number][] = [
    ['logits (B·T·V floats)', 4 * T * Math.ceil(V / 4) * 4],
    ['attention weights (B·NH·T·T floats)', 4 * NH * T * T],
    ['MLP activations (B·T·4C floats)', 4 * T * 4 * C],
  ];
  for (const [what, bytes] of perSequence) {
    if (B * bytes <= perBuffer) continue;
    const maxB = Math.floor(perBuffer / bytes);
    if (maxB >= 1) {
      throw new DeviceLimitError('batchSize',
        `B=${B} sequences of T=${T} need ${mib(B * bytes)} for the ${what} but this device allows `
        + `${mib(perBuffer)} per buffer (${which}); use batchSize ≤ ${maxB}`);
    }
    throw new DeviceLimitError('contextLength',
      `one sequence of T=${T} needs ${mib(bytes)} for the ${what} but this device allows ${mib(perBuffer)} `
      + `per buffer (${which}); reduce contextLength${what.startsWith('logits') ? ' or vocabSize' : ''}`);
  }
  const maxDim = l.maxComputeWorkgroupsPerDimension;
  const rowTiles = Math.ceil((B * T) / MATMUL_TILE);
  if (rowTiles > maxDim) {
    throw new DeviceLimitError('batchSize',
      `B·T = ${B * T} rows need ${rowTiles} matmul workgroups in one dimension but this device allows ${maxDim} `
      + `(maxComputeWorkgroupsPerDimension); use batchSize ≤ ${Math.floor((maxDim * MATMUL_TILE) / T)}`);
  }
  if (B * NH * T > maxDim * maxDim) {
    throw new DeviceLimitError('batchSize', `B·NH·T = ${B * NH * T} attention rows exceed one dispatch on this device`);
  }
}

/** Both checks: the model, then the (B,T) activations. Throws DeviceLimitError naming the setting. */
export function checkFitsDevice(
  config: GptConfig, B: number, T: number, limits: Partial<DeviceLimits> | GPUSupportedLimits,
): void {
  checkModelFitsDevice(config, limits);
  checkShapeFitsDevice(config, B, T, limits);
}
