/**
 * Diversity-aware fine-tuning with a λ sweep: loss = quality_loss − λ·J,
 * J the additive or polychromic diversity objective (objectives.ts; derived
 * in docs/diversity.md).
 *
 *   per replicate r: warm start (SFT on the seed answers) → evaluate: the base model
 *     per λ, from that base, with the same batches and samples (only λ differs):
 *       fine-tune on quality rows, plus diversity rows every `diversityEvery`
 *       steps; diagnose the loss and gradient shares every `diagnoseEvery`;
 *       evaluate → checkpoint
 *   then mean and 95% CI over replicates and the change against λ = 0 (report.ts)
 * Each (replicate, λ) is a unit of the plan; a checkpoint after each lets a
 * resumed run continue exactly as the uninterrupted one.
 */
import type { Backend, TokenBatch } from '../../core/backend';
import type { GptConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import { distinctN, meanPairwiseCosineDistance, selfBleu } from '../../core/metrics/diversity';
import { meanPassAtK } from '../../core/metrics/pass-at-k';
import { globalNorm } from '../../core/optim';
import { SPLIT_NAMES, type SplitName } from '../../core/puzzles/splits';
import { type TargetLevel, type TargetSplits, type TargetTask, type TargetVerdict, targetLevel, verifyTarget } from '../../core/puzzles/targets';
import { PUZZLE_ALPHABET } from '../../core/puzzles/types';
import { type Key, Rng, foldIn } from '../../core/rng';
import { generate } from '../../core/sample';
import { CharTokenizer } from '../../core/tokenizer/char';
import { sftBatch } from '../../core/train';
import { runEmbedder } from '../embedding';
import { type StepPoint, epochCycler, finalLoss, phaseOptim, resetOptimizer, trainPhase } from '../phases';
import { CheckpointError, RunSession, streamKey } from '../session';
import type { RunContext } from '../types';
import type { DiversityConfig } from './config';
import { concatBatches, cosine, diversityEstimate, setDiversity, surrogateBatch } from './objectives';
import {
  type DiagnosticRecord, type DiversityPosition, type DiversityRecord, type DiversityState, type EvaluationRecord, type PromptRow,
  STATE_VERSION, describePosition, position, record, state as stateSchema,
} from './records';
import { type DiversitySummary, aggregateRecords, emptyTally, lambdaKey, summarize } from './report';
import { REP, STREAM, runTargets } from './targets';

/** Rows per generate call (evaluation and diversity samples). */
const GEN_BATCH = 64;

/**
 * The plan: units in run order (per replicate the base, then each λ) and the
 * work they take, counted in optimizer steps and evaluation generate calls.
 */
function planOf(c: DiversityConfig, targets: TargetSplits) {
  const units: DiversityPosition[] = [...Array(c.replicates).keys()].flatMap((replicate) => [
    { replicate, lambda: null }, ...c.lambdas.map((lambda) => ({ replicate, lambda })),
  ]);
  const evalBatches = c.evalSplits.reduce((n, split) => n + Math.ceil((targets[split].length * c.evalSamples) / GEN_BATCH), 0);
  const work = (u: DiversityPosition) => (u.lambda === null ? c.warmStartSteps : c.fineTuneSteps) + evalBatches;
  return { units, total: units.reduce((s, u) => s + work(u), 0) };
}

interface Sample {
  text: string;
  /** The generated ids (EOS included when the row stopped on it). */
  tokens: number[];
}

/** A model's training outcome: the last losses' mean, and the mean shares of its diagnostics (null for the base). */
interface Trained {
  loss: number | null;
  lossShare: number | null;
  gradShare: number | null;
}

/** Mean of the finite values, with a note on how many were left out; null when none is finite. */
function meanOfFinite(xs: readonly number[]): { value: number | null; note: string } {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return { value: null, note: '' };
  const left = xs.length - ok.length;
  return { value: ok.reduce((a, b) => a + b, 0) / ok.length, note: left ? ` (${left} of ${xs.length} prompts not computable, left out)` : '' };
}

/** A run in progress: the targets, the model on its backend, and the steps of a unit. */
class DiversityRun {
  readonly level: TargetLevel;
  readonly tok = new CharTokenizer(PUZZLE_ALPHABET);
  readonly gpt: GptConfig;
  /** The seed set as SFT rows: BOS + prompt, then answer + EOS. */
  readonly seedPairs: { prompt: number[]; completion: number[] }[];
  readonly embed: ReturnType<typeof runEmbedder>;
  backend!: Backend;

  constructor(readonly c: DiversityConfig, readonly targets: TargetSplits, readonly session: RunSession<DiversityRecord, DiversityPosition, DiversityState>) {
    this.level = targetLevel(c.difficulty);
    const maxPrompt = Math.max(...[...targets.train, ...targets.val, ...targets.test].map((t) => t.prompt.length));
    const contextLength = Math.ceil((1 + maxPrompt + this.level.maxLength + 1) / 8) * 8;
    this.gpt = { vocabSize: this.tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
    this.seedPairs = targets.train.flatMap((t) => t.seeds.map((s) => ({ prompt: this.promptIds(t), completion: [...this.tok.encode(s), this.tok.eos] })));
    this.embed = runEmbedder(session.ctx);
  }

  promptIds(t: TargetTask): number[] {
    return [this.tok.bos, ...this.tok.encode(t.prompt)];
  }

  /** Replicate r's stream for a REP part. */
  key(r: number, part: number): Key {
    return streamKey(this.session.runKey, STREAM.replicate, r, part);
  }

  /** `count` samples per target, in batches of GEN_BATCH rows (each a unit of progress when `phase` is given); rows: targets × count. */
  async sampleAnswers(tasks: readonly TargetTask[], count: number, key: Key, phase?: string): Promise<Sample[][]> {
    const jobs = tasks.flatMap((t, i) => Array.from({ length: count }, () => ({ i, prompt: this.promptIds(t) })));
    const out: Sample[][] = tasks.map(() => []);
    for (let start = 0; start < jobs.length; start += GEN_BATCH) {
      this.session.checkCancel();
      const chunk = jobs.slice(start, start + GEN_BATCH);
      const gens = await generate(this.backend, chunk.map((j) => j.prompt), {
        maxNewTokens: this.level.maxLength + 1, temperature: this.c.temperature, topK: 0, topP: 1, stopTokens: [this.tok.eos], key: foldIn(key, start),
      });
      gens.forEach((g, j) => out[chunk[j]!.i]!.push({ text: this.tok.decode(g.tokens), tokens: g.tokens }));
      if (phase) this.session.progress(phase, 1);
    }
    return out;
  }

  /** SFT on the seed pairs: a shuffled epoch order per key; batches of batchSize rows. */
  qualityBatches(key: Key): () => TokenBatch {
    const next = epochCycler(this.seedPairs.length, new Rng(key));
    return () => {
      const rows = next(this.c.batchSize).map((i) => this.seedPairs[i]!);
      return sftBatch(rows, Math.max(...rows.map((r) => r.prompt.length + r.completion.length - 1)));
    };
  }

  /** Replicate r's warm start from a fresh init: the base model. */
  async warmStart(r: number): Promise<Trained> {
    const { c, session } = this;
    await this.backend.setParams(initParams(this.gpt, this.key(r, REP.init)));
    await resetOptimizer(this.backend);
    const phase = `replicate ${r + 1}: warm start`;
    const result = await trainPhase(this.backend, session.ctx, {
      nextBatch: this.qualityBatches(this.key(r, REP.warmBatches)), optim: phaseOptim(c.warmStartLearningRate, c.weightDecay, c.warmStartSteps),
      steps: c.warmStartSteps, phase,
    });
    session.checkCancel();
    session.progress(phase, result.steps);
    return { loss: finalLoss(result.points), lossShare: null, gradShare: null };
  }

  /** One diversity estimate of replicate r at a step: P training prompts × n samples, scored. */
  async sampleEstimate(r: number, step: number) {
    const { c, level } = this;
    const prompts = new Rng(foldIn(this.key(r, REP.prompts), step)).shuffle([...this.targets.train]).slice(0, c.promptsPerEstimate);
    const samples = await this.sampleAnswers(prompts, c.samplesPerPrompt, foldIn(this.key(r, REP.samples), step));
    const sets = prompts.map((t, p) => ({
      prompt: this.promptIds(t),
      samples: samples[p]!.map((y) => ({ ...y, correct: verifyTarget(t.target, y.text, level).correct })),
    }));
    return diversityEstimate(sets, c.objective, c.setSize);
  }

  /** Fine-tune replicate r's base with this λ, emitting diagnostics. */
  async fineTune(r: number, lambda: number, base: Float32Array): Promise<Trained> {
    const { c, session } = this;
    await this.backend.setParams(base);
    await resetOptimizer(this.backend);
    const phase = `replicate ${r + 1}: λ = ${lambda}`;
    const nextQuality = this.qualityBatches(this.key(r, REP.fineTuneBatches));
    const optim = phaseOptim(c.learningRate, c.weightDecay, c.fineTuneSteps);
    const losses: StepPoint[] = [];
    const diagnosed: DiagnosticRecord[] = [];
    for (let s0 = 0; s0 < c.fineTuneSteps; s0 += c.diversityEvery) {
      session.checkCancel();
      const segment = Math.min(c.diversityEvery, c.fineTuneSteps - s0);
      const diagnose = c.diagnoseEvery > 0 && s0 % c.diagnoseEvery === 0;
      // Batches of this segment, drawn in order whether or not diversity rows join them.
      const batches = Array.from({ length: segment }, () => nextQuality());
      // λ = 0 trains on quality rows only; it samples only to measure J̄ at diagnostic steps.
      const estimate = lambda > 0 || diagnose ? await this.sampleEstimate(r, s0) : null;
      if (estimate && diagnose) diagnosed.push(await this.diagnose(r, lambda, s0, batches[0]!, estimate));
      if (estimate && lambda > 0) batches[0] = concatBatches(batches[0]!, surrogateBatch(estimate, lambda));
      // The loss is read at each segment's last step, which has quality rows only unless diversityEvery is 1 (then the surrogate's value is included).
      const result = await trainPhase(this.backend, session.ctx, { nextBatch: (step) => batches[step - s0]!, optim, steps: segment, phase, startStep: s0, readEvery: segment });
      losses.push(...result.points);
      session.checkCancel();
      session.progress(phase, result.steps);
    }
    const meanOf = (f: (d: DiagnosticRecord) => number) => (diagnosed.length ? diagnosed.reduce((s, d) => s + f(d), 0) / diagnosed.length : null);
    return { lossShare: meanOf((d) => d.lossShare), gradShare: meanOf((d) => d.gradShare), loss: finalLoss(losses) };
  }

  /** The loss and gradient shares of the diversity term at this step, before the update (docs/diversity.md, Diagnostics). */
  async diagnose(r: number, lambda: number, step: number, quality: TokenBatch, estimate: ReturnType<typeof diversityEstimate>): Promise<DiagnosticRecord> {
    const q = await this.backend.gradients(quality);
    // g_J = g_A + g_B: the rows are independent, so the two halves' gradients add up to the whole.
    const half = (h: number) => surrogateBatch(estimate, 1, (p) => (p < estimate.prompts / 2 ? 0 : 1) === h);
    const gA = (await this.backend.gradients(half(0))).grads;
    const gB = this.c.promptsPerEstimate > 1 ? (await this.backend.gradients(half(1))).grads : new Float32Array(gA.length);
    const g = gA.map((x, i) => x + gB[i]!);
    const qNorm = globalNorm(q.grads);
    const gNorm = globalNorm(g);
    const lossTerm = Math.abs(lambda * estimate.score);
    const rec: DiagnosticRecord = {
      kind: 'diagnostic', objective: this.c.objective, lambda, replicate: r, step,
      qualityLoss: q.loss, diversityScore: estimate.score,
      lossShare: lossTerm / (Math.abs(q.loss) + lossTerm),
      gradShare: (lambda * gNorm) / (qNorm + lambda * gNorm),
      qualityGradNorm: qNorm, diversityGradNorm: gNorm, gradCosine: cosine(q.grads, g),
      halvesAgreement: this.c.promptsPerEstimate > 1 ? cosine(gA, gB) : null,
      sampleQuality: estimate.sampleQuality, sampleDistinct: estimate.sampleDistinct,
    };
    this.session.emit(rec);
    return rec;
  }

  /** Embedding diversity per prompt through ctx.embed, in batches of embedBatchSize texts; null with the reason otherwise. */
  async embeddingDiversity(sets: readonly string[][]): Promise<{ value: number | null; note: string }> {
    const { c } = this;
    if (c.embedBatchSize === 0) return { value: null, note: 'not computed: embedBatchSize is 0' };
    const texts = sets.flat();
    const vectors: Float32Array[] = [];
    let model = '';
    for (let start = 0; start < texts.length; start += c.embedBatchSize) {
      this.session.checkCancel();
      const r = await this.embed(texts.slice(start, start + c.embedBatchSize));
      if (!r.ok) return { value: null, note: `not computed: ${r.reason}` };
      vectors.push(...r.vectors);
      model = r.model;
    }
    let offset = 0;
    const perPrompt = sets.map((s) => {
      const d = meanPairwiseCosineDistance(vectors.slice(offset, offset + s.length));
      offset += s.length;
      return d;
    });
    const m = meanOfFinite(perPrompt);
    return m.value === null
      ? { value: null, note: 'not computed: no prompt had two embeddable samples' }
      : { value: m.value, note: `${model}, ${texts.length} texts in batches of ${c.embedBatchSize}${m.note}` };
  }

  /** The model on the backend on one split: m samples per prompt, verified and measured (docs/diversity.md, Evaluation). */
  async evaluate(r: number, split: SplitName, phase: string) {
    const { c } = this;
    const tasks = this.targets[split];
    const samples = await this.sampleAnswers(tasks, c.evalSamples, foldIn(this.key(r, REP.evaluation), SPLIT_NAMES.indexOf(split)), phase);
    const validity = emptyTally();
    const verdicts = tasks.map((t, p) => samples[p]!.map((y) => {
      const verdict = verifyTarget(t.target, y.text, this.level);
      validity[verdict.correct ? 'correct' : verdict.reason]++;
      return verdict;
    }));
    const texts = samples.map((ys) => ys.map((y) => y.text));
    const correctSets = texts.map((ts, p) => new Set(ts.filter((_, i) => verdicts[p]![i]!.correct)));
    const counts = verdicts.map((vs) => ({ n: vs.length, c: vs.filter((x) => x.correct).length }));
    const notes: Record<string, string> = {};
    const perPrompt = (name: string, f: (ts: string[]) => number) => {
      const m = meanOfFinite(texts.map(f));
      if (m.value === null) notes[name] = 'not computed: no prompt had the n-grams or pairs it needs';
      else if (m.note) notes[name] = m.note.trim();
      return m.value;
    };
    const chars = (ts: string[]) => ts.map((t) => [...t]);
    const embedding = await this.embeddingDiversity(texts);
    notes.embeddingDiversity = embedding.note;
    return {
      samples, verdicts,
      metrics: {
        quality: meanPassAtK(counts, 1),
        k: c.passK,
        passAtK: meanPassAtK(counts, c.passK),
        distinct2: perPrompt('distinct2', (ts) => distinctN(chars(ts), 2)),
        selfBleu: perPrompt('selfBleu', (ts) => selfBleu(chars(ts), { maxN: 3, smoothing: 'method1' })),
        editDiversity: perPrompt('editDiversity', setDiversity),
        embeddingDiversity: embedding.value,
        distinctCorrect: correctSets.reduce((n, set) => n + set.size, 0) / tasks.length,
        novelCorrect: correctSets.reduce((n, set, p) => n + [...set].filter((a) => !tasks[p]!.seeds.includes(a)).length, 0) / tasks.length,
        validity,
        notes,
      },
    };
  }

  /** Evaluate the unit's model on every split: emit an evaluation record each; the viewer's rows. */
  async evaluateUnit(at: DiversityPosition, trained: Trained): Promise<PromptRow[]> {
    const { c } = this;
    const { replicate, lambda } = at;
    const model: EvaluationRecord['model'] = lambda === null ? 'base' : 'fine-tuned';
    const viewer: PromptRow[] = [];
    for (const split of c.evalSplits) {
      const e = await this.evaluate(replicate, split, `replicate ${replicate + 1}: ${lambda === null ? 'base' : `λ = ${lambda}`}, ${split} evaluation`);
      this.session.emit({
        kind: 'evaluation', objective: c.objective, model, lambda, replicate,
        split, prompts: this.targets[split].length, samplesPerPrompt: c.evalSamples, ...e.metrics,
        lossShare: trained.lossShare, gradShare: trained.gradShare, trainLoss: trained.loss, seconds: this.session.elapsed(),
      } satisfies EvaluationRecord);
      viewer.push(...this.targets[split].slice(0, c.viewerPrompts).map((t, p) => ({
        model, lambda, replicate, split, target: t.target, prompt: t.prompt, seeds: t.seeds,
        samples: e.samples[p]!.map((y, i) => shownSample(y.text, e.verdicts[p]![i]!)),
      })));
    }
    return viewer;
  }
}

/** A sample as the viewer shows it: its text, and why it is wrong. */
function shownSample(text: string, v: TargetVerdict): PromptRow['samples'][number] {
  return { text, correct: v.correct, reason: v.correct ? null : v.reason, detail: v.correct ? null : v.detail };
}

/** Run the experiment: setup, the units of the plan from the start (or after the checkpoint), the aggregates and summary. */
export async function run(c: DiversityConfig, ctx: RunContext): Promise<DiversitySummary> {
  const targets = runTargets(c, ctx.seed);
  const plan = planOf(c, targets);
  const session = new RunSession(ctx, {
    experiment: 'diversity', total: plan.total, record, position, describe: describePosition,
    state: { version: STATE_VERSION, schema: stateSchema },
  });
  const lab = new DiversityRun(c, targets, session);
  lab.backend = await ctx.createBackend(lab.gpt);

  let first = 0;
  let base: Float32Array | null = null;
  if (session.resumed) {
    const { at, extraParams } = session.resumed;
    const done = plan.units.findIndex((u) => u.replicate === at.replicate && u.lambda === at.lambda);
    if (done < 0) throw new CheckpointError(`this checkpoint (after ${describePosition(at)}) is not a step of this run's sweep: it cannot continue here`);
    first = done + 1;
    base = extraParams.base ?? null;
  }

  for (const at of plan.units.slice(first)) {
    session.checkCancel();
    let trained: Trained;
    if (at.lambda === null) {
      trained = await lab.warmStart(at.replicate);
      base = await lab.backend.getParams();
    } else {
      if (!base) throw new CheckpointError(`this checkpoint has no base model for ${describePosition(at)}: it cannot continue`);
      trained = await lab.fineTune(at.replicate, at.lambda, base);
    }
    session.samples(at, await lab.evaluateUnit(at, trained));
    session.checkpoint(at, { config: lab.gpt, tokenizer: lab.tok.toJSON(), params: await lab.backend.getParams(), extra: { base } }, {});
  }

  lab.backend.dispose();
  const summary = summarize(session.records, c, session.elapsed());
  for (const a of [summary.base, ...c.lambdas.map((l) => summary.lambdas[lambdaKey(l)]!)]) {
    for (const rec of aggregateRecords(a, c)) session.emit(rec);
  }
  return summary;
}
