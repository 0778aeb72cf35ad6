/**
 * The pieces every lab's training phase shares (self-improve, collapse,
 * diversity, symbiosis): the phase's AdamW schedule, fresh optimizer
 * moments, a training run that reports each read loss as a `step` event,
 * and the shuffled epochs its batches are drawn from.
 */
import type { Backend, TokenBatch } from '../core/backend';
import { type OptimConfig, defaultOptimConfig } from '../core/gpt/config';
import type { Rng } from '../core/rng';
import { trainSteps } from '../core/train';
import type { RunContext } from './types';

/** A loss read during training: the step (1-based, on the caller's count), the loss (nats), the lr, ms per step. */
export interface StepPoint {
  step: number;
  loss: number;
  lr: number;
  ms: number;
}

/** A fine-tuning phase's AdamW: warmup over a tenth of the steps (1 to 20), cosine to the phase's end, β2 0.98. */
export function phaseOptim(learningRate: number, weightDecay: number, steps: number): OptimConfig {
  return {
    ...defaultOptimConfig, learningRate, weightDecay,
    warmupSteps: Math.min(20, Math.max(1, Math.floor(steps / 10))), totalSteps: Math.max(1, steps), beta2: 0.98,
  };
}

/** Zero AdamW's moments and step: each phase starts its own schedule. */
export async function resetOptimizer(backend: Backend): Promise<void> {
  const zeros = new Float32Array(backend.layout.total);
  await backend.setOptimizerState({ step: 0, m: zeros, v: zeros });
}

/**
 * `steps` optimizer steps from `startStep` (the schedule's position), the loss
 * read every `readEvery` steps and at the last; each read is a `step` event
 * on `phase`, numbered `stepOffset + step + 1`. Stops early when ctx.signal
 * aborts (the caller checks). Returns the steps taken and the points read.
 */
export async function trainPhase(
  backend: Backend, ctx: RunContext,
  o: { nextBatch: (step: number) => TokenBatch; optim: OptimConfig; steps: number; phase: string; startStep?: number; stepOffset?: number; readEvery?: number },
): Promise<{ steps: number; points: StepPoint[] }> {
  const points: StepPoint[] = [];
  const result = await trainSteps(backend, o.nextBatch, o.optim, {
    startStep: o.startStep ?? 0, steps: o.steps, readEvery: o.readEvery ?? 10, signal: ctx.signal, now: ctx.now,
    onEvent: (e) => {
      if (e.loss === undefined) return;
      const point = { step: (o.stepOffset ?? 0) + e.step + 1, loss: e.loss, lr: e.lr, ms: e.ms };
      points.push(point);
      ctx.emit({ type: 'step', phase: o.phase, ...point });
    },
  });
  return { steps: result.steps, points };
}

/** The mean of the last (up to) 3 losses read: a phase's final training loss; null when none was read. */
export function finalLoss(points: readonly { loss: number }[]): number | null {
  const tail = points.slice(-3);
  return tail.length ? tail.reduce((s, p) => s + p.loss, 0) / tail.length : null;
}

/** Indices 0…count−1 in epochs, each a fresh shuffle by `rng`; `next(n)` gives the next n (across epoch ends). */
export function epochCycler(count: number, rng: Rng): (n: number) => number[] {
  let order: number[] = [];
  return (n) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (order.length === 0) order = rng.shuffle([...Array(count).keys()]);
      out.push(order.pop()!);
    }
    return out;
  };
}
