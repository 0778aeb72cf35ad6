/**
 * Engine demo: train a tiny character-level GPT on a few built-in sentences.
 *
 * The smallest complete use of the engine — config, init, batches, AdamW
 * steps, loss events — that the front page runs to show the engine works on
 * this machine and how fast. The loss starts near ln V (a uniform guess over
 * the V characters) and falls as the model learns which character follows
 * which. This file is its settings and events (the page imports them); run.ts trains.
 */
import * as v from 'valibot';
import { type GptConfig, type OptimConfig, defaultOptimConfig, validateGptConfig, validateOptimConfig } from '../../core/gpt/config';
import { ConfigError, parseConfig, positiveInt } from '../../core/schema';
import { alphabetFromCorpus, CharTokenizer } from '../../core/tokenizer/char';

/** The training text: a few sentences written for this demo (public domain). */
export const demoText =
  'The quick brown fox jumps over the lazy dog. ' +
  'A small model reads these lines again and again, and slowly learns which letter tends to follow which. ' +
  'At first it guesses every letter with equal odds; after a few hundred steps it knows that a space follows a word, ' +
  'that q is followed by u, and that a sentence ends with a full stop. ' +
  'It never sees more than a few dozen letters at once, so it cannot learn the whole text by heart, only its habits. ' +
  'Train it twice with the same seed and it learns the same way twice. ' +
  'Change the seed and the loss takes a slightly different road to the same valley.';

/** One id per distinct character of the text (plus the tokenizer's BOS/EOS/PAD, unused here). */
export const demoTokenizer = new CharTokenizer(alphabetFromCorpus(demoText));

export interface EngineDemoConfig {
  /** Characters per training window (T); also the model's contextLength. 32 sees a few words at once. */
  contextLength: number;
  /** Residual width C. 32 is enough to learn character habits in a few hundred steps. */
  dModel: number;
  /** Transformer blocks L. Two blocks let attention look at the previous letters and combine them. */
  nLayers: number;
  /** Attention heads NH (must divide dModel). */
  nHeads: number;
  /** Windows per batch (B). 8 × 32 = 256 tokens per step: a smooth loss curve, fast on CPU. */
  batchSize: number;
  /** Optimizer steps. 200 takes a few seconds on CPU and brings the loss well below ln V. */
  steps: number;
  /** Peak AdamW learning rate. 3e-3 is high for big models but right for one this small. */
  learningRate: number;
  /** Seed of the initial weights and of the batch order: same seed, same run. */
  seed: number;
}

export const defaultConfig: EngineDemoConfig = {
  contextLength: 32,
  dModel: 32,
  nLayers: 2,
  nHeads: 2,
  batchSize: 8,
  steps: 200,
  learningRate: 3e-3,
  seed: 1,
};

/** Fields the engine's own schemas do not check. */
const demoOnlySchema = v.object({
  batchSize: positiveInt(),
  seed: v.pipe(
    v.number('must be a non-negative integer'),
    v.check((x) => Number.isSafeInteger(x) && x >= 0, (i) => `must be a non-negative integer, got ${String(i.input)}`),
  ),
  contextLength: v.pipe(
    v.unknown(),
    v.check(
      // A window is T inputs plus the next character as the last target.
      (x) => typeof x !== 'number' || x <= demoText.length - 1,
      `must be at most ${demoText.length - 1} (the training text has ${demoText.length} characters)`,
    ),
  ),
});

/** The checked parts of a demo config: the model and optimizer configs it implies. */
export interface ValidDemoConfig {
  config: EngineDemoConfig;
  model: GptConfig;
  optim: OptimConfig;
}

/**
 * Validate a demo config; throws one ConfigError naming every bad field with
 * the demo's field names (the optimizer's `totalSteps` is reported as `steps`).
 */
export function validateEngineDemo(input: unknown): ValidDemoConfig {
  const c = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const known = new Set(Object.keys(defaultConfig));
  const problems: ConfigError['problems'] = Object.keys(c)
    .filter((k) => !known.has(k))
    .map((field) => ({ field, message: 'unknown key' }));
  const collect = <T>(check: () => T, rename: Record<string, string> = {}): T | undefined => {
    try {
      return check();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) problems.push({ field: rename[p.field] ?? p.field, message: p.message });
      return undefined;
    }
  };
  const model = collect(() =>
    validateGptConfig({
      vocabSize: demoTokenizer.vocabSize,
      contextLength: c.contextLength,
      dModel: c.dModel,
      nLayers: c.nLayers,
      nHeads: c.nHeads,
    }),
  );
  const steps = c.steps;
  const optim = collect(
    () =>
      validateOptimConfig({
        ...defaultOptimConfig,
        learningRate: c.learningRate,
        totalSteps: steps,
        // Warm up over the first 10% of the steps (at most the default 10).
        warmupSteps: Number.isFinite(steps) ? Math.min(defaultOptimConfig.warmupSteps, Math.floor((steps as number) / 10)) : 0,
      }),
    { totalSteps: 'steps' },
  );
  collect(() => parseConfig(demoOnlySchema, c, 'demo config'));
  if (problems.length > 0 || !model || !optim) throw new ConfigError('engine demo config', problems);
  const config: EngineDemoConfig = {
    contextLength: model.contextLength,
    dModel: model.dModel,
    nLayers: model.nLayers,
    nHeads: model.nHeads,
    batchSize: c.batchSize as number,
    steps: optim.totalSteps,
    learningRate: optim.learningRate,
    seed: c.seed as number,
  };
  return { config, model, optim };
}

/** A report at each step whose loss was read back. */
export interface StepEvent {
  type: 'step';
  /** Steps done, this one included (1-based, so step === steps means finished). */
  step: number;
  /** Mean cross-entropy per token of this step's batch, in nats. */
  loss: number;
  /** Wall-clock milliseconds per step, averaged since the previous event. */
  ms: number;
  /** Training tokens (B·T per step) per second since the previous event. */
  tokensPerSecond: number;
}

export interface DoneEvent {
  type: 'done';
  steps: number;
  /** Loss of the last step, in nats. */
  loss: number;
  seconds: number;
}

export type EngineDemoEvent = StepEvent | DoneEvent;

