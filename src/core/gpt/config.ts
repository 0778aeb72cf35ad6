/**
 * GPT configuration and the parameter layout.
 *
 * Legend (used in every shape comment of the engine):
 *   B  batch size            T  sequence length (≤ contextLength)
 *   C  dModel (channels)     V  vocabSize
 *   L  nLayers               NH nHeads, hs = C / NH (head size)
 *
 * All parameters live in ONE Float32Array; `paramLayout` names the views into
 * it, in order. The names are nanoGPT's `state_dict` keys, and every matrix is
 * stored (out, in) like `nn.Linear.weight`, so a checkpoint exported as
 * safetensors loads into nanoGPT's GPT (`lm_head.weight` = wte, see below).
 *
 * Choice: the LM head is TIED to the token embedding (logits = lnf(x) · wteᵀ),
 * as in GPT-2 and llm.c. For the lab's small vocabularies this saves V·C
 * parameters and regularises tiny models; the gradient of wte gets both the
 * embedding and the head contributions.
 */
import * as v from 'valibot';
import { finiteIn, parseConfig, positiveInt } from '../schema';

export interface GptConfig {
  /** Number of token ids (tokenizer's vocabulary size). */
  vocabSize: number;
  /** Maximum sequence length T the position embedding covers. */
  contextLength: number;
  /** Width C of the residual stream. */
  dModel: number;
  /** Number of transformer blocks L. */
  nLayers: number;
  /** Attention heads NH; must divide dModel. */
  nHeads: number;
}

const gptConfigSchema = v.pipe(
  v.strictObject({
    vocabSize: positiveInt(),
    contextLength: positiveInt(),
    dModel: positiveInt(),
    nLayers: positiveInt(),
    nHeads: positiveInt(),
  }),
  v.forward(
    v.check((c) => c.dModel % c.nHeads === 0, (i) => `must divide dModel (${i.input.dModel}), got ${i.input.nHeads}`),
    ['nHeads'],
  ),
);

/** Validate a model config; throws a ConfigError naming each bad field. */
export function validateGptConfig(config: unknown): GptConfig {
  return parseConfig(gptConfigSchema, config, 'model config');
}

/** Optimizer and schedule hyperparameters (AdamW + warmup/cosine). */
export interface OptimConfig {
  /** Peak learning rate after warmup. */
  learningRate: number;
  /** Final learning rate as a fraction of the peak (cosine floor). */
  minLrRatio: number;
  /** Linear warmup steps from 0 to the peak. */
  warmupSteps: number;
  /** Total steps; the cosine reaches the floor here and stays there. */
  totalSteps: number;
  /**
   * Steps held at the peak after the warmup before the cosine starts (absent
   * or 0: the cosine starts at once). Warmup, hold, then a cosine over the
   * remaining totalSteps − warmupSteps − holdSteps steps.
   */
  holdSteps?: number;
  /** Decoupled weight decay on matrices and embeddings (not biases/LayerNorm). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient L2 norm to this (0 disables clipping). */
  gradClip: number;
}

export const defaultOptimConfig: OptimConfig = {
  learningRate: 1e-3,
  minLrRatio: 0.1,
  warmupSteps: 10,
  totalSteps: 1000,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  gradClip: 1.0,
};

const optimConfigSchema = v.strictObject({
  learningRate: finiteIn(0, 10),
  minLrRatio: finiteIn(0, 1),
  warmupSteps: v.pipe(v.number(), v.integer('must be an integer'), v.minValue(0)),
  totalSteps: positiveInt(),
  holdSteps: v.optional(v.pipe(v.number(), v.integer('must be an integer'), v.minValue(0))),
  weightDecay: finiteIn(0, 10),
  beta1: finiteIn(0, 0.999999),
  beta2: finiteIn(0, 0.999999),
  eps: finiteIn(0, 1),
  gradClip: finiteIn(0, 1e9),
});

/** Validate optimizer settings; throws a ConfigError naming each bad field. */
export function validateOptimConfig(config: unknown): OptimConfig {
  return parseConfig(optimConfigSchema, config, 'optimizer config');
}

/** One named view into the flat parameter (or gradient) buffer. */
export interface ParamView {
  name: string;
  /** Offset in floats from the start of the buffer. */
  offset: number;
  shape: number[];
  size: number;
  /** Weight decay applies (matrices and embeddings; not biases or LayerNorm). */
  decay: boolean;
}

/** Views of one transformer block, in buffer order. */
export interface BlockViews {
  ln1w: ParamView; ln1b: ParamView; // (C)
  qkvw: ParamView; qkvb: ParamView; // (3C, C), (3C)
  attprojw: ParamView; attprojb: ParamView; // (C, C), (C)
  ln2w: ParamView; ln2b: ParamView; // (C)
  fcw: ParamView; fcb: ParamView; // (4C, C), (4C)
  fcprojw: ParamView; fcprojb: ParamView; // (C, 4C), (C)
}

export interface ParamLayout {
  views: ParamView[];
  total: number;
  wte: ParamView; // (V, C)
  wpe: ParamView; // (T, C)
  blocks: BlockViews[];
  lnfw: ParamView; lnfb: ParamView; // (C)
}

/** The parameter layout of a config: nanoGPT names, (out, in) matrices. */
export function paramLayout(config: GptConfig): ParamLayout {
  const { vocabSize: V, contextLength: T, dModel: C, nLayers: L } = config;
  const views: ParamView[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean): ParamView => {
    const size = shape.reduce((a, b) => a * b, 1);
    const view = { name, offset, shape, size, decay };
    views.push(view);
    offset += size;
    return view;
  };
  const wte = add('transformer.wte.weight', [V, C], true);
  const wpe = add('transformer.wpe.weight', [T, C], true);
  const blocks: BlockViews[] = [];
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}.`;
    blocks.push({
      ln1w: add(`${p}ln_1.weight`, [C], false),
      ln1b: add(`${p}ln_1.bias`, [C], false),
      qkvw: add(`${p}attn.c_attn.weight`, [3 * C, C], true),
      qkvb: add(`${p}attn.c_attn.bias`, [3 * C], false),
      attprojw: add(`${p}attn.c_proj.weight`, [C, C], true),
      attprojb: add(`${p}attn.c_proj.bias`, [C], false),
      ln2w: add(`${p}ln_2.weight`, [C], false),
      ln2b: add(`${p}ln_2.bias`, [C], false),
      fcw: add(`${p}mlp.c_fc.weight`, [4 * C, C], true),
      fcb: add(`${p}mlp.c_fc.bias`, [4 * C], false),
      fcprojw: add(`${p}mlp.c_proj.weight`, [C, 4 * C], true),
      fcprojb: add(`${p}mlp.c_proj.bias`, [C], false),
    });
  }
  const lnfw = add('transformer.ln_f.weight', [C], false);
  const lnfb = add('transformer.ln_f.bias', [C], false);
  return { views, total: offset, wte, wpe, blocks, lnfw, lnfb };
}

/** Number of parameters of a config. */
export function countParams(config: GptConfig): number {
  return paramLayout(config).total;
}

/** The subarray of `buffer` for one view (no copy). */
export function viewOf(buffer: Float32Array, view: ParamView): Float32Array {
  return buffer.subarray(view.offset, view.offset + view.size);
}

/** What training a model takes per optimizer step, known before anything is allocated. */
export interface TrainingFootprint {
  params: number;
  /** Weights, gradients and both AdamW moments: 4 float32 per parameter, bytes. */
  paramBytes: number;
  /** Forward activations and backward scratch of one (B,T) batch, bytes. */
  activationBytes: number;
  /** paramBytes + activationBytes. */
  bytes: number;
  /** FLOPs of one forward and backward pass over the batch (nanoGPT's 6·P + 12·L·C·T per token). */
  flopsPerStep: number;
}

/**
 * The memory and work of one training step of `config` on B sequences of T
 * tokens, as the CPU backend allocates them (backends/cpu.ts allocActs and
 * allocGradScratch), per token (N = B·T rows):
 *   each block: 18C + 4 floats (LayerNorms, qkv 3C, attention output, MLP 4C + 4C, residuals) and NH·T attention weights;
 *   the embedding and final LayerNorm 2C + 3, the logits V;
 *   the backward scratch V + 15C.
 * The WebGPU backend holds about the same. Used to refuse a setting before a run allocates it.
 */
export function trainingFootprint(config: GptConfig, B: number, T = config.contextLength): TrainingFootprint {
  const { vocabSize: V, dModel: C, nLayers: L, nHeads: NH } = config;
  const params = countParams(config);
  const N = B * T;
  const perToken = L * (18 * C + 4 + NH * T) + 2 * C + 3 + V + (V + 15 * C);
  const paramBytes = 16 * params;
  const activationBytes = 4 * N * perToken;
  return { params, paramBytes, activationBytes, bytes: paramBytes + activationBytes, flopsPerStep: N * (6 * params + 12 * L * C * T) };
}
