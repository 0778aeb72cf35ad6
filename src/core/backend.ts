/**
 * The one small interface both engines implement: the readable CPU backend
 * (`backends/cpu.ts`, the reference) and the WebGPU backend
 * (`backends/webgpu.ts`, loaded with a dynamic import only once an adapter
 * exists). Everything above the engine — training loops, sampling, scoring,
 * checkpoints — talks to this interface only.
 *
 * All methods are async because a GPU readback is; the CPU backend resolves
 * immediately. Tensors cross the interface as flat typed arrays in the
 * layouts of `gpt/config.ts`.
 */
import type { GptConfig, ParamLayout } from './gpt/config';

export type BackendKind = 'cpu' | 'webgpu';

/** A batch for the weighted loss; every array is (B,T), row-major. */
export interface TokenBatch {
  B: number;
  T: number;
  /** Input token ids. */
  inputs: Int32Array;
  /** Target token ids (the next token), each in [0, V). */
  targets: Int32Array;
  /** Per-token loss weights: 0 masks, negative is allowed (score-function objectives). */
  weights: Float32Array;
}

export interface LossResult {
  /** Σ_{b,t} w·ce. */
  loss: number;
  /** (B): Σ_t w·ce of each row; these add up to `loss`. */
  perSeqLoss: Float32Array;
}

/** Hyperparameters of one AdamW step (the learning rate already scheduled). */
export interface StepHyper {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global L2 gradient-norm clip; 0 disables. */
  gradClip: number;
}

export interface StepResult {
  /** Optimizer steps taken so far, this one included (Adam's t). */
  step: number;
  /** The step's loss, when the caller asked to read it. */
  loss?: number;
  /** The global gradient norm before clipping, when asked. */
  gradNorm?: number;
}

export interface OptimizerState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** Raised when a loss or gradient is NaN/Inf; the parameters are those before `step`. */
export class NonFiniteError extends Error {
  constructor(readonly step: number, what: string) {
    super(`training stopped: ${what} became non-finite at step ${step}; parameters are kept from step ${step - 1}`);
    this.name = 'NonFiniteError';
  }
}

/** Raised when a requested shape does not fit the device (names the setting to change). */
export class DeviceLimitError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'DeviceLimitError';
  }
}

/**
 * Incremental decoding with a key/value cache: each call feeds ONE token per
 * listed row at that row's next position and returns the next-token logits,
 * so generating n tokens costs n positions instead of n prefixes. Rows are
 * slots 0…B−1 of the decoder, advanced independently (a finished row is
 * simply no longer listed). The logits have the same bits as the full
 * forward pass at that position.
 */
export interface Decoder {
  /** logits (M,V) ← tokens (M) fed to slots rows (M) at positions (M) (0-based; each row's positions must go 0, 1, 2, …). */
  step(rows: Int32Array, tokens: Int32Array, positions: Int32Array): Promise<Float32Array>;
}

/**
 * What a device needs to sample on its own, by the rules of core/sample.ts
 * (`sampleToken`, `appendToken`): the options of one generate() call, with
 * the per-row streams resolved to keys.
 */
export interface DeviceSampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  stopTokens: readonly number[];
  /** (B·2) uint32: row b draws from Threefry key (rowKeys[2b], rowKeys[2b+1]) with counter 0, 1, 2, … (Rng.uniform). */
  rowKeys: Uint32Array;
}

/** Device work since the backend was made: what per-call API overhead scales with. */
export interface DeviceCounters {
  /** Compute dispatches recorded. */
  dispatches: number;
  /** Bind groups created. */
  bindGroups: number;
  /** Buffers mapped for reading (each a round trip that waits for the device). */
  readbacks: number;
  /** queue.submit calls. */
  submits: number;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly config: GptConfig;
  readonly layout: ParamLayout;
  /** Human-readable description ("CPU (reference)", the adapter's name). */
  readonly description: string;

  /** Upload parameters: a Float32Array of layout.total floats. */
  setParams(params: Float32Array): Promise<void>;
  /** A copy of the parameters. */
  getParams(): Promise<Float32Array>;
  getOptimizerState(): Promise<OptimizerState>;
  setOptimizerState(state: OptimizerState): Promise<void>;

  /** logits (B,T,V) of the forward pass. */
  forwardLogits(inputs: Int32Array, B: number, T: number): Promise<Float32Array>;
  /**
   * A KV-cache decoder over the current parameters for B rows, where the
   * backend has one; sampling falls back to lastLogits otherwise.
   * Parameters must not change while it is in use.
   */
  createDecoder?(B: number): Decoder;
  /**
   * generate() without leaving the device, where the backend can (WebGPU):
   * prefill, KV-cached decoding and sampling all on the device, the new
   * tokens of each row (stop token included) the only thing read back, at
   * most once per decoded position. A row stops by appendToken's rule; a
   * prompt must be 1…contextLength tokens.
   */
  generateOnDevice?(prompts: readonly (readonly number[])[], sampling: DeviceSampling): Promise<number[][]>;
  /** logits (B,V) at position positions[b] of each row (for sampling). */
  lastLogits(inputs: Int32Array, B: number, T: number, positions: Int32Array): Promise<Float32Array>;
  /** The weighted loss without gradients. */
  evaluate(batch: TokenBatch): Promise<LossResult>;
  /** The loss and the full parameter gradient (tests, diagnostics). */
  gradients(batch: TokenBatch): Promise<LossResult & { grads: Float32Array }>;
  /**
   * One training step: forward, backward, clip, AdamW. Reads nothing back
   * unless `read` asks. Throws NonFiniteError (possibly at a later call, when
   * a readback happens) and then keeps the last good parameters.
   */
  trainStep(batch: TokenBatch, hyper: StepHyper, read?: { loss?: boolean; gradNorm?: boolean }): Promise<StepResult>;

  /** Dispatches, bind groups, readbacks and submits so far, where there is a device (WebGPU). */
  counters?(): DeviceCounters;
  /** Bytes held in device buffers (0 for CPU: see `hostBytes`). */
  deviceBytes(): number;
  /** Bytes held in host typed arrays by this backend. */
  hostBytes(): number;
  dispose(): void;
}
