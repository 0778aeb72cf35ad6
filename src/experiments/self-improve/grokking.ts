/**
 * The residue-table task (task 'residue table'; docs/grokking.md): no loop,
 * but supervised full-batch training on a fraction of a ∘ b mod p, one token
 * per residue, the answer predicted at '=' — the setting where grokking
 * (Power et al. 2022) shows in minutes. Every `evalEvery` steps each arm is
 * evaluated on every train and validation pair, with the weight norms and
 * the residue embeddings' Fourier spectrum (Nanda et al. 2023), as `grok`
 * records. With compareNoDecay a second arm trains with weight decay 0 from
 * the same initial parameters on the same split, step for step beside the
 * first, so the page draws both as they go.
 */
import type { Backend, TokenBatch } from '../../core/backend';
import { type GptConfig, type OptimConfig, defaultOptimConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import { decayedWeightNorm, embeddingFourier, weightNorm } from '../../core/metrics/fourier';
import { stepHyperAt } from '../../core/optim';
import type { Puzzle, Splits } from '../../core/puzzles';
import { residueTokenizer } from '../../core/puzzles/residues';
import type { RunSession } from '../session';
import { streamKey } from '../session';
import type { SelfImproveConfig } from './config';
import type { Arm, GrokRecord, IterationRecord, LoopState, SelfImprovePosition, SelfImproveRecord } from './records';
import { STREAM } from './splits';

/** `a ∘ b =`: the answer is predicted at the last of these T = 4 positions (no BOS, no EOS: docs/grokking.md). */
const T = 4;
/** Warmup steps before the held peak rate. */
const WARMUP = 10;
/** Frequencies summed in the Fourier readout's top share, and the share the key frequencies reach. */
const TOP_M = 5;
const KEY_SHARE = 0.8;

/** Units of progress: one per optimizer step and one per evaluation, per arm. */
export function residuePlan(c: SelfImproveConfig): number {
  const evals = Math.floor(c.warmStartSteps / c.evalEvery) + 1 + (c.warmStartSteps % c.evalEvery === 0 ? 0 : 1);
  return (c.compareNoDecay ? 2 : 1) * (c.warmStartSteps + evals);
}

/** The table run's AdamW: 10 warmup steps, the peak held, a cosine to 0 over the last cooldownSteps; β2 0.999. */
export function residueOptim(c: SelfImproveConfig, weightDecay: number): OptimConfig {
  return {
    ...defaultOptimConfig, learningRate: c.learningRate, weightDecay, beta2: 0.999, minLrRatio: 0,
    warmupSteps: WARMUP, holdSteps: c.warmStartSteps - WARMUP - c.cooldownSteps, totalSteps: c.warmStartSteps,
  };
}

/** One batch of every pair of a split: inputs `a ∘ b =`, the answer's id the target at position 3 with weight 1/B. */
export function residueBatch(puzzles: readonly Puzzle[], encode: (text: string) => number[]): TokenBatch {
  const B = puzzles.length;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  puzzles.forEach((p, i) => {
    const ids = encode(p.prompt);
    if (ids.length !== T) throw new Error(`residue prompt '${p.prompt}' is ${ids.length} tokens, not ${T}`);
    inputs.set(ids, i * T);
    targets[i * T + T - 1] = encode(p.answer)[0]!;
    weights[i * T + T - 1] = 1 / B;
  });
  return { B, T, inputs, targets, weights };
}

/** Greedy accuracy and mean cross-entropy (nats) of the answer token over a batch of pairs. */
export async function answerScores(backend: Backend, batch: TokenBatch, V: number): Promise<{ accuracy: number; loss: number }> {
  const logits = await backend.lastLogits(batch.inputs, batch.B, T, new Int32Array(batch.B).fill(T - 1));
  let correct = 0;
  let loss = 0;
  for (let b = 0; b < batch.B; b++) {
    const row = logits.subarray(b * V, (b + 1) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(row[v]! - row[best]!);
    const target = batch.targets[b * T + T - 1]!;
    loss += Math.log(z) + row[best]! - row[target]!;
    if (best === target) correct++;
  }
  return { accuracy: batch.B === 0 ? NaN : correct / batch.B, loss: batch.B === 0 ? NaN : loss / batch.B };
}

/** One arm: its backend, its optimiser settings and the seconds it has used. */
interface ArmState {
  arm: Arm;
  backend: Backend;
  optim: OptimConfig;
  seconds: number;
}

type Session = RunSession<SelfImproveRecord, SelfImprovePosition, LoopState>;

/** Train the arms, evaluating every evalEvery steps and at the end; emit the final iteration record and checkpoint. */
export async function runResidueTable(
  c: SelfImproveConfig, session: Session, splits: Splits,
): Promise<{ armSeconds: Partial<Record<Arm, number>> }> {
  const { ctx } = session;
  const tok = residueTokenizer(c.modulus, c.operation);
  const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength: T, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const encode = (text: string) => tok.encode(text);
  const batches = { train: residueBatch(splits.train, encode), val: residueBatch(splits.val, encode) };
  const init = initParams(gpt, streamKey(session.runKey, STREAM.init));
  const arms: ArmState[] = [];
  for (const [arm, wd] of [['decay', c.weightDecay], ...(c.compareNoDecay ? [['none', 0]] : [])] as [Arm, number][]) {
    const backend = await ctx.createBackend(gpt);
    await backend.setParams(init);
    arms.push({ arm, backend, optim: residueOptim(c, wd), seconds: 0 });
  }

  const evaluate = async (a: ArmState, step: number): Promise<GrokRecord> => {
    const t0 = ctx.now();
    const train = await answerScores(a.backend, batches.train, gpt.vocabSize);
    const val = await answerScores(a.backend, batches.val, gpt.vocabSize);
    const params = await a.backend.getParams();
    const fourier = embeddingFourier(params, a.backend.layout, c.modulus, { topM: TOP_M, keyShare: KEY_SHARE });
    a.seconds += (ctx.now() - t0) / 1000;
    const rec: GrokRecord = {
      kind: 'grok', arm: a.arm, step, seconds: session.elapsed(), train: train.accuracy, val: val.accuracy,
      trainLoss: train.loss, valLoss: val.loss, weightNorm: weightNorm(params), decayedNorm: decayedWeightNorm(params, a.backend.layout), fourier,
    };
    session.emit(rec);
    session.progress('evaluate', 1);
    return rec;
  };

  const last = new Map<Arm, GrokRecord>();
  for (let step = 0; ; step++) {
    session.checkCancel();
    if (step % c.evalEvery === 0 || step === c.warmStartSteps) {
      for (const a of arms) last.set(a.arm, await evaluate(a, step));
    }
    if (step === c.warmStartSteps) break;
    const readLoss = (step + 1) % 10 === 0;
    for (const a of arms) {
      const t0 = ctx.now();
      const hyper = stepHyperAt(step, a.optim);
      const r = await a.backend.trainStep(batches.train, hyper, { loss: readLoss });
      const ms = ctx.now() - t0;
      a.seconds += ms / 1000;
      if (r.loss !== undefined) ctx.emit({ type: 'step', phase: a.arm === 'decay' ? 'train' : 'train, no weight decay', step: step + 1, loss: r.loss, lr: hyper.lr, ms });
    }
    session.progress('train', arms.length);
  }

  // The run's one iteration record (the decay arm's final evaluation), so history and summaries read it like any run.
  const end = last.get('decay')!;
  const state: LoopState = { kept: [], curriculumLevel: 0, step: c.warmStartSteps };
  session.emit({
    kind: 'iteration', iteration: 0, step: c.warmStartSteps, seconds: session.elapsed(),
    accuracy: { train: end.train, val: end.val, test: NaN }, passAtK: null, passAt1: null,
    byDifficulty: { train: {}, val: {}, test: {} }, byFamily: { train: {}, val: {}, test: {} },
    attempted: 0, correctAttempts: 0, kept: 0, keptTotal: 0, rationalized: 0, trainLoss: end.trainLoss,
    weightNorm: end.weightNorm, curriculumLevel: 0,
  } satisfies IterationRecord);
  const params = await arms[0]!.backend.getParams();
  const extra = arms[1] ? { noDecay: await arms[1].backend.getParams() } : undefined;
  session.checkpoint({ iteration: 0 }, { config: gpt, tokenizer: tok.toJSON(), params, extra: { base: init, ...extra } }, state);
  for (const a of arms) a.backend.dispose();
  return { armSeconds: Object.fromEntries(arms.map((a) => [a.arm, a.seconds])) };
}
