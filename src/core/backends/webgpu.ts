/**
 * The WebGPU backend: the GPT of `backends/cpu.ts` as WGSL compute kernels
 * (`backends/webgpu/*.ts`), with the same layouts and the same semantics —
 * weighted loss Σ w·ce with per-sequence sums, tied LM head, GELU (tanh),
 * LayerNorm ε = 1e-5, AdamW and clipping as `optim.ts`.
 *
 * How a training step runs (one command encoder, one submit):
 *   queue.writeBuffer  inputs, targets, weights, token buckets, step hyper (lr, t, …)
 *   compute pass       forward → head → fused softmax/CE/dlogits → per-seq loss
 *                      → backward (every gradient written exactly once, no zeroing)
 *                      → grad norm → guard + clip scale → AdamW
 *   readback           only what the caller asked for (loss, grad norm)
 *
 * Pipelines are compiled once per backend. Activation buffers, the per-op
 * uniforms and the bind groups are built once per (B,T) shape and cached
 * (a few shapes, least recently used evicted). Every op's shape parameters
 * live in a uniform written at build time, so a step records dispatches only.
 *
 * NaN/Inf guard without a readback: the guard kernel records the first failed
 * step in a status buffer and AdamW skips while it is set; every readback
 * copies that status along and throws NonFiniteError(step), after which the
 * parameters are those of the last good step and the flag is cleared.
 *
 * Kernel families compute the same maths (`KernelFamily`): 'tiled' for
 * hardware GPUs (workgroup-memory tiles, workgroup-per-row reductions), and
 * 'blocked' / 'subgroup' for software adapters such as SwiftShader, where
 * barriers are coroutine switches and each load is a per-lane gather, so
 * barrier-free, register-blocked vec4 kernels run several times faster
 * (measured: a training step 15–20× faster than 'tiled' there). All are
 * tested against the CPU reference.
 *
 * Generation (generateOnDevice, createDecoder) runs on a decode session per
 * batch size: KV caches, one position per row per step, and the sampler of
 * webgpu/decode.ts, all recorded without readbacks; only token ids come back.
 * On hardware kernels a step is one fused kernel per layer and the head
 * fused into the sampler (dispatch overhead dominates there); on software
 * adapters it is the training kernels on M = B rows. `counters()` counts
 * dispatches, bind groups, readbacks and submits.
 *
 * Determinism: no float atomics anywhere; every sum has a fixed order (or is
 * an exact integer sum), so the same inputs give the same bits on the same
 * adapter and kernel family.
 */
import {
  type Backend, type Decoder, type DeviceCounters, DeviceLimitError, type DeviceSampling, type LossResult, NonFiniteError,
  type OptimizerState, type StepHyper, type StepResult, type TokenBatch,
} from '../backend';
import { type GptConfig, type ParamLayout, paramLayout, validateGptConfig } from '../gpt/config';
import { checkBatch } from './batch';
import {
  ADAMW_PARAMS, ADAMW_WGSL, decayMask, GRAD_NORM_CHUNKS_PARAMS, GRAD_NORM_CHUNKS_WGSL, GRAD_NORM_FINAL_PARAMS,
  GRAD_NORM_FINAL_WGSL, GRAD_NORM_PARTIALS_PARAMS, GRAD_NORM_PARTIALS_WGSL, HYPER_BYTES, normPartialCount, packHyper,
  STATUS_BYTES, STATUS_FAIL_STEP, STATUS_FAIL_WHAT, STATUS_NORM,
} from './webgpu/adamw';
import {
  ATTENTION_BACKWARD_KV_ROWS_WGSL, ATTENTION_BACKWARD_KV_WGSL, ATTENTION_PARAMS, attentionBackwardQueryRowsWgsl,
  attentionBackwardQueryWgsl, attentionForwardRowsWgsl, attentionForwardWgsl,
} from './webgpu/attention';
import { packParams } from './webgpu/common';
import {
  DECODE_ATTENTION_PARAMS, DECODE_EMBED_LN_PARAMS, decodeAttentionWgsl, decodeEmbedLnWgsl, KV_FROM_QKV_PARAMS,
  KV_FROM_QKV_WGSL, packSettings, ROW, ROW_WORDS, SAMPLE_PARAMS, sampleSerialWgsl, sampleWorkgroupWgsl, SETTINGS_BYTES,
  DECODE_BLOCK_PARAMS, decodeBlockWgsl, decodeBlockWorkgroupBytes,
} from './webgpu/decode';
import {
  CROSS_ENTROPY_PARAMS, CROSS_ENTROPY_ROWS_WGSL, CROSS_ENTROPY_WGSL, LOSS_REDUCE_PARAMS, LOSS_REDUCE_WGSL,
} from './webgpu/cross-entropy';
import {
  adapterName, checkModelFitsDevice, checkShapeFitsDevice, isSoftwareAdapter, MATMUL_TILE, requiredLimitsFor,
} from './webgpu/device';
import {
  type BucketScratch, bucketWords, ENCODER_BACKWARD_WPE_PARAMS, ENCODER_BACKWARD_WPE_WGSL,
  ENCODER_BACKWARD_WTE_PARAMS, ENCODER_BACKWARD_WTE_WGSL, ENCODER_FORWARD_PARAMS, ENCODER_FORWARD_WGSL,
  encoderBuckets, GATHER_ROWS_PARAMS, GATHER_ROWS_WGSL, makeBucketScratch,
} from './webgpu/encoder';
import {
  LAYERNORM_BACKWARD_PARAMS, LAYERNORM_BACKWARD_ROWS_WGSL, LAYERNORM_BACKWARD_WGSL, LAYERNORM_FORWARD_PARAMS,
  LAYERNORM_FORWARD_ROWS_WGSL, LAYERNORM_FORWARD_WGSL, LAYERNORM_PARAM_GRADS_COLS_WGSL, LAYERNORM_PARAM_GRADS_PARAMS,
  LAYERNORM_PARAM_GRADS_WGSL,
} from './webgpu/layernorm';
import {
  BLOCK_M, BLOCK_N, MATMUL_PARAMS, MATMUL_VARIANTS, type MatmulVariant, matmulBlockedWgsl,
  matmulSubgroupWgsl, matmulTiledWgsl, SPLIT_K_REDUCE_PARAMS, SPLIT_K_REDUCE_WGSL, SUBGROUP_LAYOUT_CHECK_WGSL,
  subgroupMatmulInvocations,
} from './webgpu/matmul';

/**
 * GPUBufferUsage / GPUMapMode bits (values fixed by the WebGPU spec), spelled
 * out so this module loads where those globals are not installed (Node's
 * `webgpu` package leaves that to the caller).
 */
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;

const STORAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

/**
 * Which kernels run (see webgpu/matmul.ts):
 *   'tiled'     hardware GPUs: workgroup-memory tiles and workgroup reductions;
 *   'blocked'   software adapters: no barriers, one invocation per register
 *               block or row, vec4 loads (needs dModel and the head size to be
 *               multiples of 4);
 *   'subgroup'  'blocked' with matmuls whose 4-lane subgroups share operands
 *               (software adapters with 4-lane subgroups: SwiftShader).
 */
export type KernelFamily = 'tiled' | 'blocked' | 'subgroup';

export interface WebGpuBackendOptions {
  /** The adapter to request a device from (default: navigator.gpu.requestAdapter()). */
  adapter?: GPUAdapter;
  /** A device to use as is (its limits are checked, never raised); the caller owns it. */
  device?: GPUDevice;
  /** Called once if the device is lost (driver reset, tab in background too long, destroy()). */
  onDeviceLost?: (message: string) => void;
  /** Force a kernel family (tests run all); default: 'subgroup' or 'blocked' on software adapters when dModel allows, else 'tiled'. */
  kernels?: KernelFamily;
  /** Force the decoder's unfused kernels on the tiled family (tests); default: fused wherever it fits. */
  unfusedDecode?: boolean;
}

type KernelName =
  | 'encoderForward' | 'gatherRows' | 'encoderBackwardWte' | 'encoderBackwardWpe'
  | 'layernormForward' | 'layernormBackward' | 'layernormParamGrads'
  | `matmul.${MatmulVariant}`
  | 'attentionForward' | 'attentionBackwardQuery' | 'attentionBackwardKeyValue'
  | 'crossEntropy' | 'lossReduce'
  | 'gradNormPartials' | 'gradNormFinal' | 'adamw'
  | 'splitKReduce'
  | 'decodeEmbedLn' | 'decodeAttention' | 'kvFromQkv' | 'sample' | 'decodeBlock' | 'headSample';

/**
 * The WGSL of every kernel a family uses; with `fusedDecode` (tiled), also
 * the one-dispatch decode block and the head fused into the sampler.
 */
function kernelSources(config: GptConfig, family: KernelFamily, fusedDecode: boolean): Partial<Record<KernelName, string>> {
  const common = {
    encoderForward: ENCODER_FORWARD_WGSL,
    gatherRows: GATHER_ROWS_WGSL,
    encoderBackwardWte: ENCODER_BACKWARD_WTE_WGSL,
    encoderBackwardWpe: ENCODER_BACKWARD_WPE_WGSL,
    lossReduce: LOSS_REDUCE_WGSL,
    gradNormFinal: GRAD_NORM_FINAL_WGSL,
    adamw: ADAMW_WGSL,
    kvFromQkv: KV_FROM_QKV_WGSL,
  };
  const rowGroup = rowWorkgroupSize(family);
  const decode = fusedDecode
    ? {
      decodeBlock: decodeBlockWgsl(config.dModel, config.nHeads, config.contextLength),
      headSample: sampleWorkgroupWgsl(config.dModel),
    }
    : {
      decodeEmbedLn: decodeEmbedLnWgsl(rowGroup),
      decodeAttention: decodeAttentionWgsl(config.dModel / config.nHeads, config.contextLength, rowGroup),
      sample: family === 'tiled' ? sampleWorkgroupWgsl() : sampleSerialWgsl(rowGroup),
    };
  switch (family) {
    case 'tiled': {
      const tmax = config.contextLength;
      return {
        ...common,
        ...decode,
        ...Object.fromEntries(MATMUL_VARIANTS.map((v) => [`matmul.${v}`, matmulTiledWgsl(v)])),
        splitKReduce: SPLIT_K_REDUCE_WGSL,
        layernormForward: LAYERNORM_FORWARD_WGSL,
        layernormBackward: LAYERNORM_BACKWARD_WGSL,
        layernormParamGrads: LAYERNORM_PARAM_GRADS_WGSL,
        attentionForward: attentionForwardWgsl(tmax),
        attentionBackwardQuery: attentionBackwardQueryWgsl(tmax),
        attentionBackwardKeyValue: ATTENTION_BACKWARD_KV_WGSL,
        crossEntropy: CROSS_ENTROPY_WGSL,
        gradNormPartials: GRAD_NORM_PARTIALS_WGSL,
      };
    }
    case 'blocked':
    case 'subgroup': {
      const hs = config.dModel / config.nHeads;
      const matmul = family === 'blocked' ? matmulBlockedWgsl : matmulSubgroupWgsl;
      return {
        ...common,
        ...decode,
        ...Object.fromEntries(MATMUL_VARIANTS.map((v) => [`matmul.${v}`, matmul(v)])),
        layernormForward: LAYERNORM_FORWARD_ROWS_WGSL,
        layernormBackward: LAYERNORM_BACKWARD_ROWS_WGSL,
        layernormParamGrads: LAYERNORM_PARAM_GRADS_COLS_WGSL,
        attentionForward: attentionForwardRowsWgsl(hs),
        attentionBackwardQuery: attentionBackwardQueryRowsWgsl(hs),
        attentionBackwardKeyValue: ATTENTION_BACKWARD_KV_ROWS_WGSL,
        crossEntropy: CROSS_ENTROPY_ROWS_WGSL,
        gradNormPartials: GRAD_NORM_CHUNKS_WGSL,
      };
    }
    default:
      return family satisfies never;
  }
}

/** Invocations per workgroup of the decoder's one-row-per-invocation kernels (see webgpu/decode.ts). */
function rowWorkgroupSize(family: KernelFamily): number {
  return family === 'tiled' ? 64 : 4;
}

/** Whether the blocked family's vec4 layout applies: every offset and row a multiple of 4 floats. */
function blockedApplies(config: GptConfig): boolean {
  return config.dModel % 4 === 0 && (config.dModel / config.nHeads) % 4 === 0;
}

/**
 * Whether `device` runs the subgroup matmuls correctly: the 'subgroups'
 * feature, and 64-invocation workgroups split into subgroups of 4
 * consecutive invocations (SUBGROUP_LAYOUT_CHECK_WGSL, run once).
 */
async function subgroupLayoutOk(device: GPUDevice): Promise<boolean> {
  if (!device.features.has('subgroups')) return false;
  device.pushErrorScope('validation');
  const out = device.createBuffer({ size: 256, usage: USAGE.STORAGE | USAGE.COPY_SRC });
  const read = device.createBuffer({ size: 256, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  try {
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto', compute: { module: device.createShaderModule({ code: SUBGROUP_LAYOUT_CHECK_WGSL }), entryPoint: 'main' },
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(out, 0, read, 0, 256);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(MAP_READ);
    const ok = new Uint32Array(read.getMappedRange()).every((x) => x === 1);
    read.unmap();
    return ok;
  } catch {
    return false;
  } finally {
    out.destroy();
    read.destroy();
    // Its error, if any, is not reported: a device that cannot run the check just gets the blocked kernels.
    await device.popErrorScope();
  }
}

/**
 * The kernel family: `requested` if given (throwing when it cannot run here),
 * else 'subgroup' or 'blocked' on software adapters when dModel allows, else 'tiled'.
 */
async function chooseKernels(
  c: GptConfig, device: GPUDevice, software: boolean, requested: KernelFamily | undefined,
): Promise<KernelFamily> {
  if (requested === 'tiled') return 'tiled';
  if (requested !== undefined && !blockedApplies(c)) {
    throw new Error(`WebGPU backend: the ${requested} kernels need dModel and dModel/nHeads to be multiples of 4 `
      + `(dModel ${c.dModel}, nHeads ${c.nHeads})`);
  }
  if (requested === 'blocked') return 'blocked';
  if (requested === 'subgroup') {
    if (!(await subgroupLayoutOk(device))) throw new Error('WebGPU backend: this device has no 4-lane subgroups for the subgroup kernels');
    return 'subgroup';
  }
  if (!software || !blockedApplies(c)) return 'tiled';
  return (await subgroupLayoutOk(device)) ? 'subgroup' : 'blocked';
}

/**
 * K splits of a tiled 'tn' product (a weight gradient: few output tiles, K =
 * B·T rows): enough workgroups to fill a large GPU (~256), each chunk at least
 * 128 rows. 1 means no split.
 */
function splitsFor(M: number, N: number, K: number): number {
  const tiles = Math.ceil(M / MATMUL_TILE) * Math.ceil(N / MATMUL_TILE);
  return Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(K / 128)));
}

/** Floats of split-K scratch the backward of a tiled backend needs for N rows (the largest tn product). */
function splitScratchFloats(config: GptConfig, N: number): number {
  const { vocabSize: V, dModel: C } = config;
  const products: [number, number][] = [[V, C], [C, 4 * C], [4 * C, C], [C, C], [3 * C, C]];
  return Math.max(0, ...products.map(([M, Nc]) => {
    const splits = splitsFor(M, Nc, N);
    return splits > 1 ? splits * (M * Nc + M) : 0;
  }));
}

/** Partial sums of the blocked family's grad-norm first stage. */
const NORM_CHUNKS = 256;

/** Optional matmul strides and offsets (floats); strides default to the dense layout of the variant. */
interface MatmulLayout {
  lda?: number; ldb?: number; ldo?: number;
  aOff?: number; bOff?: number; outOff?: number; biasOff?: number;
}

/** Where one training step's time went (`profileTrainStep`). */
export interface StepProfile {
  /** The optimizer step it took (as `StepResult.step`). */
  step: number;
  /** Round trip of an empty submit, taken off every dispatch's time (ms). */
  overheadMs: number;
  /** Per kernel, slowest first: wall ms summed over its dispatches. */
  kernels: { kernel: string; ms: number; dispatches: number }[];
}

/** One recorded dispatch. */
interface Op {
  kernel: KernelName;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: readonly [number, number, number];
}

/** What an op needs before its bind group exists: buffers bound at 1, 2, … after the uniform at 0. */
interface OpSpec {
  kernel: KernelName;
  params: Uint32Array;
  buffers: GPUBuffer[];
  groups: readonly [number, number, number];
}

/** Activations of one block for a (B,T) shape (as CpuBackend's BlockActs; stats = mean (N) then rstd (N)). */
interface BlockBuffers {
  ln1: GPUBuffer; ln1Stats: GPUBuffer; // (B,T,C), (2·B·T)
  qkv: GPUBuffer; // (B,T,3C)
  att: GPUBuffer; // (B,NH,T,T)
  atty: GPUBuffer; // (B,T,C)
  res2: GPUBuffer; // (B,T,C) residual after attention (projection + residual fused)
  ln2: GPUBuffer; ln2Stats: GPUBuffer;
  fch: GPUBuffer; // (B,T,4C) before GELU
  fchGelu: GPUBuffer; // (B,T,4C)
  res3: GPUBuffer; // (B,T,C) block output
}

/** Gradient scratch of a shape, built on the first backward pass at that shape. */
interface TrainPart {
  dln: GPUBuffer; // (B,T,C) gradient into a LayerNorm output (dlnf, dln2, dln1 in turn)
  dres: GPUBuffer; // (B,T,C) gradient of the residual stream, walked down the blocks
  datty: GPUBuffer; // (B,T,C)
  dqkv: GPUBuffer; // (B,T,3C)
  dfch: GPUBuffer; // (B,T,4C) (gelu' fused into its matmul)
  dpre: GPUBuffer; // (B,NH,T,T) attention pre-softmax gradient
  splitScratch: GPUBuffer | null; // tiled family: split-K partials of the weight gradients
  ceTrain: Op[];
  backward: Op[];
  optimizer: Op[];
}

interface Shape {
  B: number; T: number; N: number;
  buffers: GPUBuffer[];
  bytes: number;
  inputs: GPUBuffer; targets: GPUBuffer; weights: GPUBuffer; // (B,T) i32, i32, f32
  buckets: GPUBuffer; // token ids bucketed for the wte backward (encoder.ts)
  positions: GPUBuffer; // (B) i32 rows for lastLogits
  encoded: GPUBuffer; // (B,T,C)
  blocks: BlockBuffers[];
  lnf: GPUBuffer; lnfStats: GPUBuffer;
  logits: GPUBuffer; // (B,T,Vp) rows padded to Vp = ⌈V/4⌉·4; dlogits after a training forward
  ce: GPUBuffer; // (B,T)
  loss: GPUBuffer; // (1+B): loss, then per-sequence losses
  lastRows: GPUBuffer; // (B,C) lnf rows at the sampled positions
  lastLogits: GPUBuffer; // (B,V)
  scratch: BucketScratch;
  forward: Op[]; // embedding → blocks → final LayerNorm
  headFull: Op[]; // logits (B,T,V)
  headLast: Op[]; // logits (B,V) at `positions`
  ceEval: Op[];
  train: TrainPart | null;
}

/** Shapes kept with their buffers; older ones are destroyed. */
const MAX_SHAPES = 4;

/**
 * The GPU-resident decoder of B rows: a KV cache per layer, the activations
 * of one position per row, the rows' sampling state, and the op lists of a
 * decode step, built once (bind groups included) and reused for every step.
 */
interface DecodeSession {
  B: number;
  buffers: GPUBuffer[];
  bytes: number;
  rows: GPUBuffer; // (B) Row state and Threefry key (webgpu/decode.ts)
  stops: GPUBuffer; // (⌈V/32⌉) u32 stop-token bit set
  settings: GPUBuffer; // uniform: maxNewTokens, temperature, topK, topP
  out: GPUBuffer; // (B,maxT) u32 emitted tokens
  logits: GPUBuffer; // (B,Vp)
  kCache: GPUBuffer[]; // per layer (B,maxT,C)
  vCache: GPUBuffer[];
  lnf: GPUBuffer; // (B,C) the head's input
  /** Embedding of each row's token at its position → blocks (writing the caches) → final LayerNorm. */
  step: Op[];
  /** logits (B,V) from lnf. */
  head: Op[];
  /** Choose each active row's token from lnf (the head included) or from logits, append it, apply the stop rule. */
  sample: Op[];
  /** What turns lnf into the next tokens: [head, sample], or [sample] when the sampler is the head too. */
  pick: Op[][];
  /** Per prefill shape: its k, v into the caches, and its lnf rows at the prompts' last positions into lnf. */
  prefill: WeakMap<Shape, Op[]>;
  /** Who ran the session last (a Decoder from createDecoder, or a generate call): caches belong to it. */
  owner: object | null;
}

/** Decode sessions kept (one per batch size B); older ones are destroyed. */
const MAX_SESSIONS = 2;

/**
 * Decode steps recorded per submit, and, when a stop token may end rows
 * early, per check of whether any row is still active (one readback, which
 * also brings the tokens). Measured on SwiftShader (Chromium, 2 cores): a
 * readback round trip ~1 ms, a submit ~0.35 ms, a decode step of the
 * collapse lab's model 5–9 ms; so a check every 8 steps costs ~2%, and a
 * batch whose rows all stop early runs at most 7 steps too many (never past
 * the longest row's budget).
 */
const STEPS_PER_SUBMIT = 8;

export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly layout: ParamLayout;
  private readonly pipelines = new Map<KernelName, GPUComputePipeline>();
  private readonly shapes = new Map<string, Shape>(); // insertion order = least recently used first
  private readonly sessions = new Map<number, DecodeSession>(); // by B, least recently used first
  private readonly counts: DeviceCounters = { dispatches: 0, bindGroups: 0, readbacks: 0, submits: 0 };
  private readonly modelBuffers: GPUBuffer[] = [];
  private params!: GPUBuffer; // (P) the flat parameters of gpt/config.ts
  private grads!: GPUBuffer; // (P)
  private m!: GPUBuffer; // (P) Adam first moment
  private v!: GPUBuffer; // (P) Adam second moment
  private mask!: GPUBuffer; // (⌈P/32⌉) u32 decay bits
  private partials!: GPUBuffer; // (parts) grad-norm partial sums
  private status!: GPUBuffer; // STATUS_BYTES: norm, clip scale, guard flag
  private hyper!: GPUBuffer; // HYPER_BYTES uniform: per-step hyperparameters
  private staging: GPUBuffer | null = null; // MAP_READ, grown on demand
  /**
   * Decode steps run one fused kernel per layer and the head inside the
   * sampler (see buildSession): hardware kernels, where a row's activations
   * fit in workgroup memory.
   */
  private fusedDecode = false;
  private step = 0;
  /** Row stride of the logits: V rounded up to a multiple of 4 (vec4 rows for the blocked kernels). */
  private readonly Vp: number;
  private chain: Promise<unknown> = Promise.resolve();
  private lostMessage: string | null = null;
  private gpuError: string | null = null;
  private disposed = false;
  private allocated = 0;

  private constructor(
    readonly config: GptConfig,
    /** The device; its limits are what shapes are checked against. */
    readonly device: GPUDevice,
    /** The kernels this backend runs. */
    readonly kernels: KernelFamily,
    private readonly ownsDevice: boolean,
    readonly description: string,
    private readonly onDeviceLost: ((message: string) => void) | undefined,
  ) {
    this.layout = paramLayout(config);
    this.Vp = Math.ceil(config.vocabSize / 4) * 4;
  }

  /**
   * A backend on `opts.device`, or on a device requested from `opts.adapter`
   * (default: navigator.gpu's) with the adapter's maxima for buffer sizes,
   * workgroup memory and dispatch sizes as requiredLimits: activation sizes
   * depend on the (B,T) asked later, and each shape is checked against them.
   * Throws DeviceLimitError when the model cannot fit, before allocating.
   */
  static async create(config: GptConfig, opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const c = validateGptConfig(config);
    let device = opts.device;
    let info: GPUAdapterInfo | undefined; // undefined in browsers older than the 2024 spec
    if (device) {
      info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    } else {
      let adapter = opts.adapter ?? null;
      if (!adapter) {
        const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
        if (!gpu) throw new Error('WebGPU backend: navigator.gpu is missing (this environment has no WebGPU)');
        adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
        if (!adapter) throw new Error('WebGPU backend: requestAdapter() returned no adapter');
      }
      checkModelFitsDevice(c, adapter.limits);
      info = (adapter as { info?: GPUAdapterInfo }).info;
      device = await adapter.requestDevice({
        label: 'symbiosis-lab',
        requiredLimits: requiredLimitsFor(adapter.limits),
        // Only the subgroup kernels use it; requested wherever offered so tests can force them.
        requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [],
      });
    }
    checkModelFitsDevice(c, device.limits);
    const name = info ? adapterName(info) : 'unknown adapter';
    const kernels = await chooseKernels(c, device, info ? isSoftwareAdapter(info) : false, opts.kernels);
    const backend = new WebGpuBackend(c, device, kernels, !opts.device, `WebGPU (${name}, ${kernels} kernels)`, opts.onDeviceLost);
    backend.fusedDecode = kernels === 'tiled' && !opts.unfusedDecode
      && decodeBlockWorkgroupBytes(c.dModel, c.nHeads, c.contextLength) <= device.limits.maxComputeWorkgroupStorageSize;
    try {
      await backend.init();
    } catch (e) {
      backend.dispose();
      throw e;
    }
    return backend;
  }

  // -------------------------------------------------------------------------
  // Backend interface

  setParams(params: Float32Array): Promise<void> {
    return this.exclusive(async () => {
      if (params.length !== this.layout.total) {
        throw new Error(`setParams: expected ${this.layout.total} floats for this config, got ${params.length}`);
      }
      this.write(this.params, params);
    });
  }

  getParams(): Promise<Float32Array> {
    return this.exclusive(async () => {
      const { data } = await this.submitAndRead(this.device.createCommandEncoder(), [[this.params, 4 * this.layout.total]]);
      return new Float32Array(data[0]!);
    });
  }

  getOptimizerState(): Promise<OptimizerState> {
    return this.exclusive(async () => {
      const bytes = 4 * this.layout.total;
      const { data } = await this.submitAndRead(this.device.createCommandEncoder(), [[this.m, bytes], [this.v, bytes]]);
      return { step: this.step, m: new Float32Array(data[0]!), v: new Float32Array(data[1]!) };
    });
  }

  setOptimizerState(state: OptimizerState): Promise<void> {
    return this.exclusive(async () => {
      if (state.m.length !== this.layout.total || state.v.length !== this.layout.total) {
        throw new Error(`setOptimizerState: moments must have ${this.layout.total} floats`);
      }
      if (!(Number.isInteger(state.step) && state.step >= 0)) {
        throw new Error(`setOptimizerState: step must be a non-negative integer, got ${state.step}`);
      }
      this.step = state.step;
      this.write(this.m, state.m);
      this.write(this.v, state.v);
    });
  }

  forwardLogits(inputs: Int32Array, B: number, T: number): Promise<Float32Array> {
    return this.exclusive(async () => {
      this.checkInputs(inputs, B, T);
      const s = await this.shapeFor(B, T);
      this.write(s.inputs, inputs, B * T);
      const enc = this.encode([s.forward, s.headFull]);
      const V = this.config.vocabSize;
      const { data } = await this.submitAndRead(enc, [[s.logits, 4 * B * T * this.Vp]]);
      const padded = new Float32Array(data[0]!);
      if (this.Vp === V) return padded;
      const logits = new Float32Array(B * T * V);
      for (let n = 0; n < B * T; n++) logits.set(padded.subarray(n * this.Vp, n * this.Vp + V), n * V);
      return logits;
    });
  }

  /**
   * Runs the batch padded to a power-of-two length (≥ 16, ≤ contextLength) so
   * that a sampler growing T by one token reuses a few shapes. Causal
   * attention makes rows < T independent of the padding, and every kernel's
   * sum order is independent of T, so the logits are the same bits as an
   * unpadded run.
   */
  lastLogits(inputs: Int32Array, B: number, T: number, positions: Int32Array): Promise<Float32Array> {
    return this.exclusive(async () => {
      this.checkInputs(inputs, B, T);
      if (positions.length < B) throw new Error(`lastLogits: expected ${B} positions, got ${positions.length}`);
      for (let b = 0; b < B; b++) {
        const t = positions[b]!;
        if (!(t >= 0 && t < T)) throw new Error(`lastLogits: position ${t} of row ${b} is outside [0, ${T})`);
      }
      let Tp = 16;
      while (Tp < T) Tp *= 2;
      Tp = Math.max(T, Math.min(Tp, this.config.contextLength));
      const padded = new Int32Array(B * Tp);
      for (let b = 0; b < B; b++) padded.set(inputs.subarray(b * T, (b + 1) * T), b * Tp);
      const s = await this.shapeFor(B, Tp);
      this.write(s.inputs, padded);
      this.write(s.positions, positions, B);
      const enc = this.encode([s.forward, s.headLast]);
      const { data } = await this.submitAndRead(enc, [[s.lastLogits, 4 * B * this.config.vocabSize]]);
      return new Float32Array(data[0]!);
    });
  }

  evaluate(batch: TokenBatch): Promise<LossResult> {
    return this.exclusive(async () => {
      checkBatch(batch, this.config);
      const s = await this.shapeFor(batch.B, batch.T);
      this.uploadBatch(s, batch, false);
      const enc = this.encode([s.forward, s.headFull, s.ceEval]);
      const { data } = await this.submitAndRead(enc, [[s.loss, 4 * (1 + batch.B)]]);
      return lossResult(data[0]!);
    });
  }

  gradients(batch: TokenBatch): Promise<LossResult & { grads: Float32Array }> {
    return this.exclusive(async () => {
      checkBatch(batch, this.config);
      const s = await this.shapeFor(batch.B, batch.T);
      const train = await this.trainPartOf(s);
      this.uploadBatch(s, batch, true);
      const enc = this.encode([s.forward, s.headFull, train.ceTrain, train.backward]);
      const { data } = await this.submitAndRead(enc, [[s.loss, 4 * (1 + batch.B)], [this.grads, 4 * this.layout.total]]);
      return { ...lossResult(data[0]!), grads: new Float32Array(data[1]!) };
    });
  }

  /**
   * Check and upload what a training step needs (batch, token buckets, hyper
   * with step t); returns its shape and its op lists in order.
   */
  private async prepareTrainStep(batch: TokenBatch, h: StepHyper): Promise<{ s: Shape; t: number; ops: Op[][] }> {
    checkBatch(batch, this.config);
    checkHyper(h);
    const s = await this.shapeFor(batch.B, batch.T);
    const train = await this.trainPartOf(s);
    this.uploadBatch(s, batch, true);
    const t = this.step + 1;
    this.device.queue.writeBuffer(this.hyper, 0, packHyper(h, t));
    return { s, t, ops: [s.forward, s.headFull, train.ceTrain, train.backward, train.optimizer] };
  }

  trainStep(batch: TokenBatch, h: StepHyper, read: { loss?: boolean; gradNorm?: boolean } = {}): Promise<StepResult> {
    return this.exclusive(async () => {
      const { s, t, ops } = await this.prepareTrainStep(batch, h);
      const enc = this.encode(ops);
      this.step = t;
      if (!read.loss && !read.gradNorm) {
        this.submit(enc);
        return { step: t };
      }
      // The status (with the norm) comes back with every readback; the loss only when asked.
      const { status, data } = await this.submitAndRead(enc, read.loss ? [[s.loss, 4]] : []);
      const out: StepResult = { step: t };
      if (read.loss) out.loss = new Float32Array(data[0]!)[0]!;
      if (read.gradNorm) out.gradNorm = status[STATUS_NORM]!;
      return out;
    });
  }

  /**
   * generate() on the device (Backend.generateOnDevice): one prefill forward
   * over the prompts (right-padded to the longest) whose k, v fill the
   * caches, then one position per row per step, each step one run of the
   * decode session's ops (embedding, blocks, head, sampler) recorded
   * STEPS_PER_SUBMIT at a time. Nothing is read back until the last step,
   * or, when stop tokens may end every row early, once per submit to see
   * whether any row is still active; each readback brings the emitted tokens.
   */
  generateOnDevice(prompts: readonly (readonly number[])[], sampling: DeviceSampling): Promise<number[][]> {
    return this.exclusive(async () => {
      const { vocabSize: V, contextLength: maxT } = this.config;
      const B = prompts.length;
      checkSampling(sampling, B);
      prompts.forEach((p, b) => checkPrompt(p, b, V, maxT));
      const lens = prompts.map((p) => p.length);
      const active = lens.map((n) => sampling.maxNewTokens > 0 && n < maxT);
      // Every row emits at most min(budget, room left in the context) tokens; the prefill emits the first.
      const steps = Math.max(0, ...lens.map((n, b) => (active[b] ? Math.min(sampling.maxNewTokens, maxT - n) : 0)));
      if (steps === 0) return prompts.map(() => []);
      // The prefill runs at the longest live prompt's length exactly: padding costs every row the padded
      // positions (a lab's prompts in one call have one or a few lengths, so few shapes are made).
      const Tp = Math.max(...lens.filter((_, b) => active[b]));
      const s = await this.shapeFor(B, Tp);
      const d = await this.sessionFor(B);
      d.owner = null;
      const inputs = new Int32Array(B * Tp);
      const positions = new Int32Array(B);
      prompts.forEach((p, b) => {
        if (!active[b]) return;
        inputs.set(p, b * Tp);
        positions[b] = p.length - 1;
      });
      this.write(s.inputs, inputs);
      this.write(s.positions, positions);
      const rows = new Uint32Array(B * ROW_WORDS);
      lens.forEach((n, b) => {
        rows[b * ROW_WORDS + ROW.pos] = n - 1;
        rows[b * ROW_WORDS + ROW.live] = active[b] ? 1 : 0;
        rows[b * ROW_WORDS + ROW.len] = n;
        rows[b * ROW_WORDS + ROW.key0] = sampling.rowKeys[2 * b]!;
        rows[b * ROW_WORDS + ROW.key1] = sampling.rowKeys[2 * b + 1]!;
      });
      this.write(d.rows, rows);
      const stops = new Uint32Array(Math.ceil(V / 32));
      // A stop id outside the vocabulary can never be emitted: it has no bit.
      for (const t of sampling.stopTokens) if (Number.isInteger(t) && t >= 0 && t < V) stops[t >>> 5] = stops[t >>> 5]! | (1 << (t & 31));
      this.write(d.stops, stops);
      this.device.queue.writeBuffer(d.settings, 0, packSettings(sampling));
      // Read back the rows' state and their tokens; the first readback that finds no active row ends it.
      const read = async (enc: GPUCommandEncoder) => {
        const { data } = await this.submitAndRead(enc, [[d.rows, 4 * B * ROW_WORDS], [d.out, 4 * B * maxT]]);
        return { rows: new Uint32Array(data[0]!), out: new Uint32Array(data[1]!) };
      };
      const check = sampling.stopTokens.length > 0;
      let lists: Op[][] = [s.forward, this.prefillOps(d, s), ...d.pick];
      let last: { rows: Uint32Array; out: Uint32Array } | null = null;
      for (let done = 1; ; ) {
        const n = Math.min(STEPS_PER_SUBMIT, steps - done);
        for (let i = 0; i < n; i++) lists.push(d.step, ...d.pick);
        done += n;
        const enc = this.encode(lists);
        lists = [];
        if (done >= steps) {
          last = await read(enc);
          break;
        }
        if (!check) {
          this.submit(enc);
          continue;
        }
        last = await read(enc);
        if (!anyActive(last.rows, B)) break;
      }
      return prompts.map((_, b) => Array.from(last.out.subarray(b * maxT, b * maxT + last.rows[b * ROW_WORDS + ROW.count]!)));
    });
  }

  /**
   * A KV-cache decoder (Backend.createDecoder) on a decode session: each
   * step writes the listed rows' tokens and positions, runs the session's
   * step and head, and reads the logits back (B·V floats; generateOnDevice
   * reads only tokens). Sessions are shared per B, so a decoder is valid
   * until the next decoder or generate call of the same B takes the session.
   */
  createDecoder(B: number): Decoder {
    if (!Number.isInteger(B) || B < 1) throw new Error(`B: must be a positive integer, got ${B}`);
    const owner = {};
    let started = false;
    const step = (rowIds: Int32Array, tokens: Int32Array, positions: Int32Array) => this.exclusive(async () => {
      const { vocabSize: V, contextLength: maxT } = this.config;
      const M = rowIds.length;
      if (tokens.length !== M || positions.length !== M) {
        throw new Error(`decoder: rows, tokens and positions must have one entry each (got ${M}, ${tokens.length}, ${positions.length})`);
      }
      const rows = new Uint32Array(B * ROW_WORDS);
      for (let m = 0; m < M; m++) {
        const b = rowIds[m]!;
        if (!(b >= 0 && b < B)) throw new Error(`decoder: row ${b} is outside [0, ${B})`);
        if (!(positions[m]! >= 0 && positions[m]! < maxT)) throw new Error(`decoder: position ${positions[m]} is outside [0, ${maxT})`);
        if (!(tokens[m]! >= 0 && tokens[m]! < V)) throw new Error(`decoder: token id ${tokens[m]} is outside [0, ${V})`);
        rows[b * ROW_WORDS + ROW.token] = tokens[m]!;
        rows[b * ROW_WORDS + ROW.pos] = positions[m]!;
        rows[b * ROW_WORDS + ROW.live] = 1;
      }
      const d = await this.sessionFor(B);
      if (!started) {
        d.owner = owner;
        started = true;
      } else if (d.owner !== owner) {
        throw new Error('decoder: a later decoder or generate call of the same batch size has taken its KV cache; create a new decoder');
      }
      this.write(d.rows, rows);
      const { data } = await this.submitAndRead(this.encode([d.step, d.head]), [[d.logits, 4 * B * this.Vp]]);
      const all = new Float32Array(data[0]!);
      const out = new Float32Array(M * V);
      for (let m = 0; m < M; m++) out.set(all.subarray(rowIds[m]! * this.Vp, rowIds[m]! * this.Vp + V), m * V);
      return out;
    });
    return { step };
  }

  counters(): DeviceCounters {
    return { ...this.counts };
  }

  deviceBytes(): number {
    return this.allocated;
  }

  /**
   * One training step with every dispatch in its own submit, waited for, to
   * see where a step's time goes (`npm run bench -- train --profile`).
   * Milliseconds of wall time per kernel, summed over its dispatches, each
   * minus the round trip of an empty submit (`overheadMs`, the median of 5).
   * Slower than `trainStep` and only for measuring; the step itself is real
   * (the parameters move).
   */
  profileTrainStep(batch: TokenBatch, h: StepHyper): Promise<StepProfile> {
    return this.exclusive(async () => {
      const { t, ops } = await this.prepareTrainStep(batch, h);
      await this.device.queue.onSubmittedWorkDone();
      const roundTrip = async (ops: Op[]): Promise<number> => {
        const start = performance.now();
        this.submit(this.encode([ops]));
        await this.device.queue.onSubmittedWorkDone();
        return performance.now() - start;
      };
      const empty: number[] = [];
      for (let i = 0; i < 5; i++) empty.push(await roundTrip([]));
      const overheadMs = empty.sort((a, b) => a - b)[2]!;
      const kernels = new Map<string, { ms: number; dispatches: number }>();
      for (const op of ops.flat()) {
        const ms = Math.max(0, (await roundTrip([op])) - overheadMs);
        const k = kernels.get(op.kernel) ?? { ms: 0, dispatches: 0 };
        k.ms += ms;
        k.dispatches++;
        kernels.set(op.kernel, k);
      }
      this.step = t;
      return {
        step: t,
        overheadMs,
        kernels: [...kernels].map(([kernel, k]) => ({ kernel, ...k })).sort((a, b) => b.ms - a.ms),
      };
    });
  }

  hostBytes(): number {
    let n = 0;
    for (const s of this.shapes.values()) {
      n += s.scratch.counts.byteLength + s.scratch.cursor.byteLength + s.scratch.packed.byteLength;
    }
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.shapes.values()) this.destroyShape(s);
    this.shapes.clear();
    for (const d of this.sessions.values()) this.destroyShape(d);
    this.sessions.clear();
    for (const b of this.modelBuffers) b.destroy();
    this.modelBuffers.length = 0;
    this.staging?.destroy();
    this.staging = null;
    this.allocated = 0;
    if (this.ownsDevice) this.device.destroy();
  }

  // -------------------------------------------------------------------------
  // Setup

  private async init(): Promise<void> {
    const d = this.device;
    void d.lost.then((info) => {
      if (this.disposed) return;
      this.lostMessage = `WebGPU device lost (${info.reason}): ${info.message || 'no message'}`;
      this.onDeviceLost?.(this.lostMessage);
    });
    d.addEventListener('uncapturederror', (e) => {
      this.gpuError ??= (e as GPUUncapturedErrorEvent).error.message;
    });
    const P = this.layout.total;
    await this.withErrorScopes('allocating the parameters', async () => {
      const model = (bytes: number, usage: number, label: string) => this.createBuffer(bytes, usage, label, this.modelBuffers);
      this.params = model(4 * P, STORAGE, 'params');
      this.grads = model(4 * P, STORAGE, 'grads');
      this.m = model(4 * P, STORAGE, 'adam.m');
      this.v = model(4 * P, STORAGE, 'adam.v');
      const mask = decayMask(this.layout.views, P);
      this.mask = model(mask.byteLength, STORAGE, 'decayMask');
      this.write(this.mask, mask);
      this.partials = model(4 * Math.max(normPartialCount(P), NORM_CHUNKS), STORAGE, 'gradNorm.partials');
      this.status = model(STATUS_BYTES, STORAGE, 'status');
      this.hyper = model(HYPER_BYTES, USAGE.UNIFORM | USAGE.COPY_DST, 'hyper');
    });
    const sources = kernelSources(this.config, this.kernels, this.fusedDecode);
    await Promise.all(Object.entries(sources).map(async ([name, code]: [string, string]) => {
      const module = d.createShaderModule({ label: name, code });
      try {
        const pipeline = await d.createComputePipelineAsync({
          label: name, layout: 'auto', compute: { module, entryPoint: 'main' },
        });
        this.pipelines.set(name as KernelName, pipeline);
      } catch (e) {
        const info = await module.getCompilationInfo();
        const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
        throw new Error(`WebGPU kernel ${name} failed to compile: ${e instanceof Error ? e.message : String(e)}\n${messages}`, { cause: e });
      }
    }));
  }

  private createBuffer(bytes: number, usage: number, label: string, into: GPUBuffer[]): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const buffer = this.device.createBuffer({ label, size, usage });
    into.push(buffer);
    this.allocated += size;
    return buffer;
  }

  /**
   * Run `fn`, turning the validation and out-of-memory errors it causes into
   * exceptions (out of memory: a DeviceLimitError naming `oomField`). The
   * scopes are popped whether or not `fn` throws; its own error wins.
   */
  private async withErrorScopes<T>(what: string, fn: () => Promise<T> | T, oomField = 'batchSize'): Promise<T> {
    const d = this.device;
    d.pushErrorScope('out-of-memory');
    d.pushErrorScope('validation');
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const validation = await d.popErrorScope();
    const oom = await d.popErrorScope();
    if (!outcome.ok) throw outcome.error;
    if (oom) throw new DeviceLimitError(oomField, `out of GPU memory ${what}: ${oom.message}`);
    if (validation) throw new Error(`WebGPU validation error ${what}: ${validation.message}`);
    return outcome.value;
  }

  // -------------------------------------------------------------------------
  // Shapes: activations, uniforms and bind groups per (B,T)

  private grid(workgroups: number): readonly [number, number, number] {
    const maxDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    const x = Math.max(1, Math.min(workgroups, maxDim));
    return [x, Math.max(1, Math.ceil(workgroups / x)), 1];
  }

  private async shapeFor(B: number, T: number): Promise<Shape> {
    const key = `${B}x${T}`;
    const hit = this.shapes.get(key);
    if (hit) {
      this.shapes.delete(key);
      this.shapes.set(key, hit);
      return hit;
    }
    checkShapeFitsDevice(this.config, B, T, this.device.limits);
    while (this.shapes.size >= MAX_SHAPES) {
      const [oldKey, old] = this.shapes.entries().next().value!;
      this.destroyShape(old);
      this.shapes.delete(oldKey);
    }
    const buffers: GPUBuffer[] = [];
    const before = this.allocated;
    const shape = await this.withErrorScopes(`allocating activations for B=${B}, T=${T}`, () => this.buildShape(B, T, buffers)).catch((e: unknown) => {
      for (const b of buffers) b.destroy();
      this.allocated = before;
      throw e;
    });
    shape.bytes = this.allocated - before;
    this.shapes.set(key, shape);
    return shape;
  }

  private destroyShape(s: { buffers: GPUBuffer[]; bytes: number }): void {
    for (const b of s.buffers) b.destroy();
    this.allocated -= s.bytes;
  }

  private buildShape(B: number, T: number, buffers: GPUBuffer[]): Shape {
    const { vocabSize: V, dModel: C, nHeads: NH, nLayers: NL } = this.config;
    const N = B * T;
    const Vp = this.Vp;
    const f32 = (n: number, label: string) => this.createBuffer(4 * n, STORAGE, label, buffers);
    const blocks: BlockBuffers[] = [];
    for (let l = 0; l < NL; l++) {
      blocks.push({
        ln1: f32(N * C, `h${l}.ln1`), ln1Stats: f32(2 * N, `h${l}.ln1Stats`), qkv: f32(N * 3 * C, `h${l}.qkv`),
        att: f32(B * NH * T * T, `h${l}.att`), atty: f32(N * C, `h${l}.atty`), res2: f32(N * C, `h${l}.res2`),
        ln2: f32(N * C, `h${l}.ln2`), ln2Stats: f32(2 * N, `h${l}.ln2Stats`), fch: f32(N * 4 * C, `h${l}.fch`),
        fchGelu: f32(N * 4 * C, `h${l}.fchGelu`), res3: f32(N * C, `h${l}.res3`),
      });
    }
    const s: Shape = {
      B, T, N, buffers, bytes: 0,
      inputs: f32(N, 'inputs'), targets: f32(N, 'targets'), weights: f32(N, 'weights'),
      buckets: f32(bucketWords(N, V), 'buckets'), positions: f32(B, 'positions'),
      encoded: f32(N * C, 'encoded'), blocks, lnf: f32(N * C, 'lnf'), lnfStats: f32(2 * N, 'lnfStats'),
      logits: f32(N * Vp, 'logits'), ce: f32(N, 'ce'), loss: f32(1 + B, 'loss'),
      lastRows: f32(B * C, 'lastRows'), lastLogits: f32(B * V, 'lastLogits'),
      scratch: makeBucketScratch(N, V),
      forward: [], headFull: [], headLast: [], ceEval: [], train: null,
    };
    const wte = this.layout.wte.offset;
    s.forward = this.buildOps(this.forwardSpecs(s), buffers);
    // Tied head: logits = lnf · wteᵀ, rows Vp apart.
    s.headFull = this.buildOps(this.matmul('nt', N, V, C, s.lnf, this.params, s.logits, { bOff: wte, ldo: Vp }), buffers);
    s.headLast = this.buildOps([
      this.spec('gatherRows', packParams(GATHER_ROWS_PARAMS, { B, T, C }), [s.positions, s.lnf, s.lastRows],
        this.grid(Math.ceil((B * C) / 256))),
      ...this.matmul('nt', B, V, C, s.lastRows, this.params, s.lastLogits, { bOff: wte }),
    ], buffers);
    s.ceEval = this.buildOps(this.lossSpecs(s, false), buffers);
    return s;
  }

  /** The gradient scratch and the training op lists of a shape, on first use. */
  private async trainPartOf(s: Shape): Promise<TrainPart> {
    if (s.train) return s.train;
    const before = this.allocated;
    const buffers: GPUBuffer[] = [];
    const part = await this.withErrorScopes(`allocating gradients for B=${s.B}, T=${s.T}`, () => {
      const { dModel: C, nHeads: NH } = this.config;
      const { B, T, N } = s;
      const f32 = (n: number, label: string) => this.createBuffer(4 * n, STORAGE, label, buffers);
      const scratch = this.kernels === 'tiled' ? splitScratchFloats(this.config, N) : 0;
      const t: TrainPart = {
        dln: f32(N * C, 'dln'), dres: f32(N * C, 'dres'), datty: f32(N * C, 'datty'), dqkv: f32(N * 3 * C, 'dqkv'),
        dfch: f32(N * 4 * C, 'dfch'), dpre: f32(B * NH * T * T, 'dpre'),
        splitScratch: scratch > 0 ? f32(scratch, 'splitK') : null, ceTrain: [], backward: [], optimizer: [],
      };
      t.ceTrain = this.buildOps(this.lossSpecs(s, true), buffers);
      t.backward = this.buildOps(this.backwardSpecs(s, t), buffers);
      t.optimizer = this.buildOps(this.optimizerSpecs(s), buffers);
      return t;
    }).catch((e: unknown) => {
      for (const b of buffers) b.destroy();
      this.allocated = before;
      throw e;
    });
    s.buffers.push(...buffers);
    s.bytes += this.allocated - before;
    s.train = part;
    return part;
  }

  /** The decode session of B rows (built on first use; the least recently used beyond MAX_SESSIONS destroyed). */
  private async sessionFor(B: number): Promise<DecodeSession> {
    const hit = this.sessions.get(B);
    if (hit) {
      this.sessions.delete(B);
      this.sessions.set(B, hit);
      return hit;
    }
    checkShapeFitsDevice(this.config, B, 1, this.device.limits);
    while (this.sessions.size >= MAX_SESSIONS) {
      const [oldB, old] = this.sessions.entries().next().value!;
      this.destroyShape(old);
      this.sessions.delete(oldB);
    }
    const buffers: GPUBuffer[] = [];
    const before = this.allocated;
    const session = await this.withErrorScopes(`allocating the decoder for B=${B}`, () => this.buildSession(B, buffers)).catch((e: unknown) => {
      for (const b of buffers) b.destroy();
      this.allocated = before;
      throw e;
    });
    session.bytes = this.allocated - before;
    this.sessions.set(B, session);
    return session;
  }

  private buildSession(B: number, buffers: GPUBuffer[]): DecodeSession {
    const { vocabSize: V, dModel: C, nHeads: NH, contextLength: maxT } = this.config;
    const L = this.layout;
    const P = this.params;
    const f32 = (n: number, label: string) => this.createBuffer(4 * n, STORAGE, label, buffers);
    const x = [f32(B * C, 'decode.x0'), f32(B * C, 'decode.x1')]; // residual stream, in and out of a block
    const d: DecodeSession = {
      B, buffers, bytes: 0,
      rows: f32(B * ROW_WORDS, 'decode.rows'), stops: f32(Math.ceil(V / 32), 'decode.stops'),
      settings: this.createBuffer(SETTINGS_BYTES, USAGE.UNIFORM | USAGE.COPY_DST, 'decode.settings', buffers),
      out: f32(B * maxT, 'decode.out'), logits: f32(B * this.Vp, 'decode.logits'),
      kCache: L.blocks.map((_, l) => f32(B * maxT * C, `decode.k${l}`)),
      vCache: L.blocks.map((_, l) => f32(B * maxT * C, `decode.v${l}`)),
      lnf: f32(B * C, 'decode.lnf'), step: [], head: [], sample: [], pick: [], prefill: new WeakMap(), owner: null,
    };
    d.head = this.buildOps(this.matmul('nt', B, V, C, d.lnf, P, d.logits, { bOff: L.wte.offset, ldo: this.Vp }), buffers);
    const wq = f32(B * this.Vp, 'decode.wq');
    const sampleParams = packParams(SAMPLE_PARAMS, { B, V, ld: this.Vp, outStride: maxT, maxT, wteOff: L.wte.offset });
    if (this.fusedDecode) {
      // One workgroup per row and layer: the whole block (layer 0 embeds, the last applies the final LayerNorm).
      d.step = this.buildOps(L.blocks.map((w, l) => this.spec('decodeBlock', packParams(DECODE_BLOCK_PARAMS, {
        B, first: l === 0 ? 1 : 0, last: l === L.blocks.length - 1 ? 1 : 0, wteOff: L.wte.offset, wpeOff: L.wpe.offset,
        ln1w: w.ln1w.offset, ln1b: w.ln1b.offset, qkvw: w.qkvw.offset, qkvb: w.qkvb.offset, projw: w.attprojw.offset,
        projb: w.attprojb.offset, ln2w: w.ln2w.offset, ln2b: w.ln2b.offset, fcw: w.fcw.offset, fcb: w.fcb.offset,
        fcprojw: w.fcprojw.offset, fcprojb: w.fcprojb.offset, lnfw: L.lnfw.offset, lnfb: L.lnfb.offset,
      }), [d.rows, P, x[l % 2]!, x[(l + 1) % 2]!, d.kCache[l]!, d.vCache[l]!, d.lnf], this.grid(B))), buffers);
      d.sample = this.buildOps([this.spec('headSample', sampleParams, [d.logits, d.rows, d.stops, d.out, wq, d.settings, d.lnf, P],
        this.grid(B))], buffers);
      d.pick = [d.sample];
      return d;
    }
    // One op per layer and step, the training kernels on M = B rows (software adapters: compute-bound, not dispatch-bound).
    const ln = f32(B * C, 'decode.ln');
    const lnStats = f32(2 * B, 'decode.lnStats');
    const qkv = f32(B * 3 * C, 'decode.qkv');
    const atty = f32(B * C, 'decode.atty');
    const res2 = f32(B * C, 'decode.res2');
    const fch = f32(B * 4 * C, 'decode.fch');
    const fchGelu = f32(B * 4 * C, 'decode.fchGelu');
    const layernorm = (inp: GPUBuffer, w: number, b: number, out: GPUBuffer) => this.spec('layernormForward',
      packParams(LAYERNORM_FORWARD_PARAMS, { N: B, C, wOff: w, bOff: b }), [inp, P, out, lnStats], this.perRow(B));
    const specs: OpSpec[] = [];
    L.blocks.forEach((w, l) => {
      const [xIn, xOut] = l % 2 === 0 ? [x[0]!, x[1]!] : [x[1]!, x[0]!];
      specs.push(
        l === 0
          ? this.spec('decodeEmbedLn', packParams(DECODE_EMBED_LN_PARAMS, {
            B, C, wteOff: L.wte.offset, wpeOff: L.wpe.offset, lnwOff: w.ln1w.offset, lnbOff: w.ln1b.offset,
          }), [d.rows, P, xIn, ln], this.groupsFor(B, rowWorkgroupSize(this.kernels)))
          : layernorm(xIn, w.ln1w.offset, w.ln1b.offset, ln),
        ...this.matmul('ntBias', B, 3 * C, C, ln, P, qkv, { bOff: w.qkvw.offset, biasOff: w.qkvb.offset }),
        this.spec('decodeAttention', packParams(DECODE_ATTENTION_PARAMS, { B, C, NH, maxT }),
          [d.rows, qkv, d.kCache[l]!, d.vCache[l]!, atty], this.groupsFor(B * NH, rowWorkgroupSize(this.kernels))),
        ...this.matmul('ntBiasResidual', B, C, C, atty, P, res2, { bOff: w.attprojw.offset, biasOff: w.attprojb.offset }, xIn),
        layernorm(res2, w.ln2w.offset, w.ln2b.offset, ln),
        ...this.matmul('ntBiasGelu', B, 4 * C, C, ln, P, fchGelu, { bOff: w.fcw.offset, biasOff: w.fcb.offset }, fch),
        ...this.matmul('ntBiasResidual', B, C, 4 * C, fchGelu, P, xOut, { bOff: w.fcprojw.offset, biasOff: w.fcprojb.offset }, res2),
      );
    });
    specs.push(layernorm(x[L.blocks.length % 2]!, L.lnfw.offset, L.lnfb.offset, d.lnf));
    d.step = this.buildOps(specs, buffers);
    d.sample = this.buildOps([this.spec('sample', sampleParams, [d.logits, d.rows, d.stops, d.out, wq, d.settings],
      this.kernels === 'tiled' ? this.grid(B) : this.groupsFor(B, rowWorkgroupSize(this.kernels)))], buffers);
    d.pick = [d.head, d.sample];
    return d;
  }

  /** The ops that hand a prefill forward at shape s to the session: k, v of every layer into the caches, lnf rows at s.positions. */
  private prefillOps(d: DecodeSession, s: Shape): Op[] {
    const hit = d.prefill.get(s);
    if (hit) return hit;
    const { dModel: C, contextLength: maxT } = this.config;
    const { B, T } = s;
    const ops = this.buildOps([
      ...s.blocks.map((a, l) => this.spec('kvFromQkv', packParams(KV_FROM_QKV_PARAMS, { B, T, C, maxT }),
        [a.qkv, d.kCache[l]!, d.vCache[l]!], this.groupsFor(B * T * C, 256))),
      this.spec('gatherRows', packParams(GATHER_ROWS_PARAMS, { B, T, C }), [s.positions, s.lnf, d.lnf], this.groupsFor(B * C, 256)),
    ], d.buffers);
    d.prefill.set(s, ops);
    return ops;
  }

  private spec(kernel: KernelName, params: Uint32Array, buffers: GPUBuffer[], groups: readonly [number, number, number]): OpSpec {
    return { kernel, params, buffers, groups };
  }

  /** Workgroups of `perWorkgroup` items each for `items` items, as a grid. */
  private groupsFor(items: number, perWorkgroup: number): readonly [number, number, number] {
    return this.grid(Math.ceil(items / perWorkgroup));
  }

  /**
   * out (M,N) = A·B for a variant of matmul.ts: one op; or two for a tiled 'tn…' split along K
   * (partials into `scratch`, then splitKReduce). Strides default to dense layouts.
   */
  private matmul(
    variant: MatmulVariant, M: number, N: number, K: number, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer,
    layout: MatmulLayout = {}, extra?: GPUBuffer, scratch?: GPUBuffer | null,
  ): OpSpec[] {
    const form = variant.slice(0, 2);
    const lda = layout.lda ?? (form === 'tn' ? M : K);
    const ldb = layout.ldb ?? (form === 'nt' ? K : N);
    const values = {
      M, N, K, lda, ldb, ldo: layout.ldo ?? N, aOff: layout.aOff ?? 0, bOff: layout.bOff ?? 0,
      outOff: layout.outOff ?? 0, biasOff: layout.biasOff ?? 0, kChunk: K, outSlice: 0, biasSlice: 0,
    };
    const buffers = extra ? [a, b, out, extra] : [a, b, out];
    switch (this.kernels) {
      case 'tiled': {
        const grid = [Math.ceil(N / MATMUL_TILE), Math.ceil(M / MATMUL_TILE)] as const;
        const splits = form === 'tn' && scratch ? splitsFor(M, N, K) : 1;
        if (splits === 1) return [this.spec(`matmul.${variant}`, packParams(MATMUL_PARAMS, values), buffers, [...grid, 1])];
        const partials = {
          ...values, ldo: N, outOff: 0, biasOff: splits * M * N, kChunk: Math.ceil(K / splits), outSlice: M * N, biasSlice: M,
        };
        return [
          this.spec(`matmul.${variant}`, packParams(MATMUL_PARAMS, partials), [a, b, scratch!], [...grid, splits]),
          this.spec('splitKReduce', packParams(SPLIT_K_REDUCE_PARAMS, {
            M, N, splits, ldo: values.ldo, outOff: values.outOff, biasOff: values.biasOff, hasBias: variant === 'tnBiasGrad' ? 1 : 0,
          }), [scratch!, out], this.groupsFor(M * N + M, 256)),
        ];
      }
      case 'blocked':
      case 'subgroup': {
        const invocations = this.kernels === 'blocked'
          ? Math.ceil(M / BLOCK_M) * Math.ceil(N / BLOCK_N)
          : subgroupMatmulInvocations(variant, M, N);
        return [this.spec(`matmul.${variant}`, packParams(MATMUL_PARAMS, values), buffers, this.groupsFor(invocations, 64))];
      }
      default:
        return this.kernels satisfies never;
    }
  }

  /** Workgroups of a kernel with one workgroup (tiled) or one invocation (blocked) per row. */
  private perRow(rows: number): readonly [number, number, number] {
    return this.kernels === 'tiled' ? this.grid(rows) : this.groupsFor(rows, 64);
  }

  /** Workgroups of the attention row kernels: a workgroup per query row (tiled) or an invocation per 4 rows (blocked). */
  private attentionRows(B: number, T: number): readonly [number, number, number] {
    const NH = this.config.nHeads;
    return this.kernels === 'tiled' ? this.grid(B * NH * T) : this.groupsFor(B * NH * Math.ceil(T / 4), 64);
  }

  private forwardSpecs(s: Shape): OpSpec[] {
    const { dModel: C, nHeads: NH } = this.config;
    const { B, T, N } = s;
    const L = this.layout;
    const P = this.params;
    const specs: OpSpec[] = [
      this.spec('encoderForward', packParams(ENCODER_FORWARD_PARAMS, { N, T, C, wteOff: L.wte.offset, wpeOff: L.wpe.offset }),
        [s.inputs, P, s.encoded], this.groupsFor(N * C, 256)),
    ];
    const ln = (x: GPUBuffer, w: number, b: number, out: GPUBuffer, stats: GPUBuffer) =>
      this.spec('layernormForward', packParams(LAYERNORM_FORWARD_PARAMS, { N, C, wOff: w, bOff: b }), [x, P, out, stats], this.perRow(N));
    let x = s.encoded;
    s.blocks.forEach((a, l) => {
      const w = L.blocks[l]!;
      specs.push(
        ln(x, w.ln1w.offset, w.ln1b.offset, a.ln1, a.ln1Stats),
        ...this.matmul('ntBias', N, 3 * C, C, a.ln1, P, a.qkv, { bOff: w.qkvw.offset, biasOff: w.qkvb.offset }),
        this.spec('attentionForward', packParams(ATTENTION_PARAMS, { B, T, C, NH }), [a.qkv, a.atty, a.att], this.attentionRows(B, T)),
        ...this.matmul('ntBiasResidual', N, C, C, a.atty, P, a.res2, { bOff: w.attprojw.offset, biasOff: w.attprojb.offset }, x),
        ln(a.res2, w.ln2w.offset, w.ln2b.offset, a.ln2, a.ln2Stats),
        ...this.matmul('ntBiasGelu', N, 4 * C, C, a.ln2, P, a.fchGelu, { bOff: w.fcw.offset, biasOff: w.fcb.offset }, a.fch),
        ...this.matmul('ntBiasResidual', N, C, 4 * C, a.fchGelu, P, a.res3, { bOff: w.fcprojw.offset, biasOff: w.fcprojb.offset }, a.res2),
      );
      x = a.res3;
    });
    specs.push(ln(x, L.lnfw.offset, L.lnfb.offset, s.lnf, s.lnfStats));
    return specs;
  }

  private lossSpecs(s: Shape, backward: boolean): OpSpec[] {
    const { N, B, T } = s;
    return [
      this.spec('crossEntropy', packParams(CROSS_ENTROPY_PARAMS, { N, V: this.config.vocabSize, Vp: this.Vp, backward: backward ? 1 : 0 }),
        [s.logits, s.targets, s.weights, s.ce], this.perRow(N)),
      this.spec('lossReduce', packParams(LOSS_REDUCE_PARAMS, { B, T }), [s.ce, s.weights, s.loss], [1, 1, 1]),
    ];
  }

  /** The backward pass, in the order of CpuBackend.forwardBackward. */
  private backwardSpecs(s: Shape, g: TrainPart): OpSpec[] {
    const { vocabSize: V, dModel: C, nHeads: NH, contextLength: maxT } = this.config;
    const { B, T, N } = s;
    const L = this.layout;
    const P = this.params;
    const G = this.grads;
    const Vp = this.Vp;
    const lastX = s.blocks.length > 0 ? s.blocks[s.blocks.length - 1]!.res3 : s.encoded;
    const lnBackward = (x: GPUBuffer, stats: GPUBuffer, w: number, b: number, accumulate: boolean) => [
      this.spec('layernormBackward', packParams(LAYERNORM_BACKWARD_PARAMS, { N, C, wOff: w, accumulate: accumulate ? 1 : 0 }),
        [g.dln, x, stats, P, g.dres], this.perRow(N)),
      this.spec('layernormParamGrads', packParams(LAYERNORM_PARAM_GRADS_PARAMS, { N, C, dwOff: w, dbOff: b }),
        [g.dln, x, stats, G], this.kernels === 'tiled' ? [Math.ceil(C / 16), 1, 1] as const : this.groupsFor(C / 4, 64)),
    ];
    const attention = (kernel: 'attentionBackwardQuery' | 'attentionBackwardKeyValue', a: BlockBuffers) => {
      const groups = kernel === 'attentionBackwardQuery'
        ? this.attentionRows(B, T)
        : this.kernels === 'tiled' ? this.groupsFor(N * 2 * C, 64) : this.groupsFor((B * Math.ceil(T / 4) * C) / 4, 64);
      return this.spec(kernel, packParams(ATTENTION_PARAMS, { B, T, C, NH }), [a.qkv, a.att, g.datty, g.dqkv, g.dpre], groups);
    };
    const specs: OpSpec[] = [
      // Tied head: dlnf = dlogits · wte (K = V over rows Vp apart), dwte = dlogitsᵀ · lnf (the encoder adds to it at the end).
      ...this.matmul('nn', N, C, V, s.logits, P, g.dln, { lda: Vp, bOff: L.wte.offset }),
      ...this.matmul('tn', V, C, N, s.logits, s.lnf, G, { lda: Vp, outOff: L.wte.offset }, undefined, g.splitScratch),
      ...lnBackward(lastX, s.lnfStats, L.lnfw.offset, L.lnfb.offset, false),
    ];
    // Walking down the blocks, dres holds the gradient of the residual stream; each
    // branch's LayerNorm backward accumulates its input gradient into it.
    for (let l = s.blocks.length - 1; l >= 0; l--) {
      const a = s.blocks[l]!;
      const w = L.blocks[l]!;
      const x = l === 0 ? s.encoded : s.blocks[l - 1]!.res3;
      specs.push(
        // res3 = res2 + fcproj(gelu(fc(ln2(res2))))
        ...this.matmul('nnGeluBackward', N, 4 * C, C, g.dres, P, g.dfch, { bOff: w.fcprojw.offset }, a.fch),
        ...this.matmul('tnBiasGrad', C, 4 * C, N, g.dres, a.fchGelu, G, { outOff: w.fcprojw.offset, biasOff: w.fcprojb.offset }, undefined, g.splitScratch),
        ...this.matmul('nn', N, C, 4 * C, g.dfch, P, g.dln, { bOff: w.fcw.offset }),
        ...this.matmul('tnBiasGrad', 4 * C, C, N, g.dfch, a.ln2, G, { outOff: w.fcw.offset, biasOff: w.fcb.offset }, undefined, g.splitScratch),
        ...lnBackward(a.res2, a.ln2Stats, w.ln2w.offset, w.ln2b.offset, true),
        // res2 = x + attproj(attention(qkv(ln1(x))))
        ...this.matmul('nn', N, C, C, g.dres, P, g.datty, { bOff: w.attprojw.offset }),
        ...this.matmul('tnBiasGrad', C, C, N, g.dres, a.atty, G, { outOff: w.attprojw.offset, biasOff: w.attprojb.offset }, undefined, g.splitScratch),
        attention('attentionBackwardQuery', a),
        attention('attentionBackwardKeyValue', a),
        ...this.matmul('nn', N, C, 3 * C, g.dqkv, P, g.dln, { bOff: w.qkvw.offset }),
        ...this.matmul('tnBiasGrad', 3 * C, C, N, g.dqkv, a.ln1, G, { outOff: w.qkvw.offset, biasOff: w.qkvb.offset }, undefined, g.splitScratch),
        ...lnBackward(x, a.ln1Stats, w.ln1w.offset, w.ln1b.offset, true),
      );
    }
    const maxU = Math.min(N, V);
    specs.push(
      this.spec('encoderBackwardWte', packParams(ENCODER_BACKWARD_WTE_PARAMS, { maxU, C, wteOff: L.wte.offset }),
        [s.buckets, g.dres, G], this.groupsFor(maxU * C, 256)),
      this.spec('encoderBackwardWpe', packParams(ENCODER_BACKWARD_WPE_PARAMS, { B, T, maxT, C, wpeOff: L.wpe.offset }),
        [g.dres, G], this.groupsFor(maxT * C, 256)),
    );
    return specs;
  }

  private optimizerSpecs(s: Shape): OpSpec[] {
    const P = this.layout.total;
    let first: OpSpec;
    let parts: number;
    switch (this.kernels) {
      case 'tiled':
        parts = normPartialCount(P);
        first = this.spec('gradNormPartials', packParams(GRAD_NORM_PARTIALS_PARAMS, { P, parts }), [this.grads, this.partials], [parts, 1, 1]);
        break;
      case 'blocked':
      case 'subgroup': {
        parts = NORM_CHUNKS;
        const chunk = Math.ceil(P / parts / 4) * 4;
        first = this.spec('gradNormPartials', packParams(GRAD_NORM_CHUNKS_PARAMS, { P, parts, chunk }), [this.grads, this.partials],
          [Math.ceil(parts / 64), 1, 1]);
        break;
      }
      default:
        return this.kernels satisfies never;
    }
    return [
      first,
      this.spec('gradNormFinal', packParams(GRAD_NORM_FINAL_PARAMS, { parts }), [this.partials, s.loss, this.status, this.hyper], [1, 1, 1]),
      this.spec('adamw', packParams(ADAMW_PARAMS, { P }),
        [this.params, this.grads, this.m, this.v, this.mask, this.status, this.hyper], this.groupsFor(P, 256)),
    ];
  }

  /** One uniform buffer for a list of ops (a 256-byte aligned slot each), and their bind groups. */
  private buildOps(specs: OpSpec[], buffers: GPUBuffer[]): Op[] {
    const d = this.device;
    const stride = Math.max(256, d.limits.minUniformBufferOffsetAlignment);
    const uniform = this.createBuffer(stride * specs.length, USAGE.UNIFORM | USAGE.COPY_DST, 'op params', buffers);
    const bytes = new Uint8Array(stride * specs.length);
    specs.forEach((spec, i) => bytes.set(new Uint8Array(spec.params.buffer, spec.params.byteOffset, spec.params.byteLength), i * stride));
    d.queue.writeBuffer(uniform, 0, bytes);
    return specs.map((spec, i) => {
      const pipeline = this.pipelines.get(spec.kernel);
      if (!pipeline) throw new Error(`WebGPU backend: no pipeline for kernel ${spec.kernel}`);
      this.counts.bindGroups++;
      const bindGroup = d.createBindGroup({
        label: spec.kernel,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform, offset: i * stride, size: Math.max(16, Math.ceil(spec.params.byteLength / 16) * 16) } },
          ...spec.buffers.map((buffer, j) => ({ binding: j + 1, resource: { buffer } })),
        ],
      });
      return { kernel: spec.kernel, pipeline, bindGroup, groups: spec.groups };
    });
  }

  // -------------------------------------------------------------------------
  // Steps and readback

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      this.assertUsable();
      return fn();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('WebGPU backend: used after dispose()');
    if (this.lostMessage) {
      throw new Error(`${this.lostMessage}; this backend can no longer run — create a new one and restore the last checkpoint`);
    }
  }

  private checkInputs(inputs: Int32Array, B: number, T: number): void {
    const V = this.config.vocabSize;
    if (!Number.isInteger(B) || B < 1) throw new Error(`B: must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new Error(`T: must be a positive integer, got ${T}`);
    if (T > this.config.contextLength) throw new Error(`sequence length ${T} exceeds contextLength ${this.config.contextLength}`);
    if (inputs.length < B * T) throw new Error(`inputs: expected ${B * T} token ids, got ${inputs.length}`);
    for (let i = 0; i < B * T; i++) {
      const id = inputs[i]!;
      if (!(id >= 0 && id < V)) throw new Error(`inputs: token id ${id} at index ${i} is outside [0, ${V})`);
    }
  }

  /** queue.writeBuffer of the first `count` elements (default all) of a typed array at offset 0. */
  private write(buffer: GPUBuffer, data: Float32Array | Int32Array | Uint32Array, count = data.length): void {
    // The typings reject views that might be on a SharedArrayBuffer; writeBuffer accepts them ([AllowShared]).
    this.device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>, 0, count);
  }

  private uploadBatch(s: Shape, batch: TokenBatch, withBuckets: boolean): void {
    this.write(s.inputs, batch.inputs);
    this.write(s.targets, batch.targets);
    this.write(s.weights, batch.weights);
    if (withBuckets) this.write(s.buckets, encoderBuckets(batch.inputs, s.N, this.config.vocabSize, s.scratch));
  }

  private submit(enc: GPUCommandEncoder): void {
    this.device.queue.submit([enc.finish()]);
    this.counts.submits++;
  }

  /** Record op lists into one compute pass of a new encoder. */
  private encode(lists: Op[][]): GPUCommandEncoder {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const ops of lists) {
      for (const op of ops) {
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2]);
      }
      this.counts.dispatches += ops.length;
    }
    pass.end();
    return enc;
  }

  /**
   * Append copies of the status and of `parts` ([buffer, bytes from 0]) to
   * `enc`, submit, map, and return the parts' bytes. Throws a pending GPU
   * error, then NonFiniteError if a step has failed (clearing the flag and
   * rewinding the step count to the last good step). Returns the status as
   * floats (STATUS_NORM, STATUS_SCALE) and the parts.
   */
  private async submitAndRead(
    enc: GPUCommandEncoder, parts: [GPUBuffer, number][],
  ): Promise<{ status: Float32Array; data: ArrayBuffer[] }> {
    const sizes = parts.map(([, bytes]) => Math.ceil(bytes / 4) * 4);
    const total = STATUS_BYTES + sizes.reduce((a, b) => a + b, 0);
    const staging = this.stagingFor(total);
    enc.copyBufferToBuffer(this.status, 0, staging, 0, STATUS_BYTES);
    let at = STATUS_BYTES;
    parts.forEach(([buffer], i) => {
      enc.copyBufferToBuffer(buffer, 0, staging, at, sizes[i]!);
      at += sizes[i]!;
    });
    this.submit(enc);
    this.counts.readbacks++;
    let bytes: ArrayBuffer;
    try {
      await staging.mapAsync(MAP_READ, 0, total);
      bytes = staging.getMappedRange(0, total).slice(0);
      staging.unmap();
    } catch (e) {
      if (this.lostMessage) throw new Error(this.lostMessage, { cause: e });
      throw e;
    }
    if (this.gpuError) {
      const message = this.gpuError;
      this.gpuError = null;
      throw new Error(`WebGPU error: ${message}`);
    }
    const status = bytes.slice(0, STATUS_BYTES);
    const words = new Uint32Array(status);
    const failStep = words[STATUS_FAIL_STEP]!;
    if (failStep !== 0) {
      const what = words[STATUS_FAIL_WHAT] === 1 ? 'the loss' : 'the gradient';
      this.device.queue.writeBuffer(this.status, 0, new Uint32Array(STATUS_BYTES / 4));
      this.step = failStep - 1;
      throw new NonFiniteError(failStep, what);
    }
    const data: ArrayBuffer[] = [];
    at = STATUS_BYTES;
    for (const size of sizes) {
      data.push(bytes.slice(at, at + size));
      at += size;
    }
    return { status: new Float32Array(status), data };
  }

  private stagingFor(bytes: number): GPUBuffer {
    if (this.staging && this.staging.size >= bytes) return this.staging;
    if (this.staging) {
      this.allocated -= this.staging.size;
      this.staging.destroy();
    }
    let size = 4096;
    while (size < bytes) size *= 2;
    this.staging = this.device.createBuffer({ label: 'staging', size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.allocated += size;
    return this.staging;
  }
}

/** Any row of a Row state readback still active? */
function anyActive(rows: Uint32Array, B: number): boolean {
  for (let b = 0; b < B; b++) if (rows[b * ROW_WORDS + ROW.live] !== 0) return true;
  return false;
}

function checkPrompt(p: readonly number[], b: number, V: number, maxT: number): void {
  if (p.length === 0) throw new Error(`prompts[${b}]: a prompt needs at least one token (e.g. BOS)`);
  if (p.length > maxT) throw new Error(`prompts[${b}]: ${p.length} tokens exceed the context length ${maxT}`);
  for (const id of p) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`prompts[${b}]: token id ${id} is outside [0, ${V})`);
}

function checkSampling(s: DeviceSampling, B: number): void {
  if (B < 1) throw new Error('prompts: at least one prompt is needed');
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 0) throw new Error(`maxNewTokens: must be a non-negative integer, got ${s.maxNewTokens}`);
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) throw new Error(`temperature: must be a finite number ≥ 0, got ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new Error(`topK: must be a non-negative integer, got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new Error(`topP: must be in (0, 1], got ${s.topP}`);
  if (s.rowKeys.length < 2 * B) throw new Error(`rowKeys: expected ${2 * B} words (two per row), got ${s.rowKeys.length}`);
}

function lossResult(bytes: ArrayBuffer): LossResult {
  const f = new Float32Array(bytes);
  return { loss: f[0]!, perSeqLoss: f.slice(1) };
}

function checkHyper(h: StepHyper): void {
  for (const key of ['lr', 'weightDecay', 'beta1', 'beta2', 'eps', 'gradClip'] as const) {
    if (!Number.isFinite(h[key])) throw new Error(`trainStep: hyper.${key} must be finite, got ${h[key]}`);
  }
}
