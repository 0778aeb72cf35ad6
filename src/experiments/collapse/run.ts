/**
 * Model collapse on a language whose truth is known (Shumailov et al. 2024;
 * Gerstgrasser et al. 2024; docs/collapse.md has the setup and measures).
 *
 *   generation 0: train a word-level GPT on the real sentences, sample N
 *   generation g ≥ 1, each mode side by side from its own previous model:
 *     replace               the previous generation's N samples only
 *     accumulate            the real data and every sample so far
 *     real-mix              (1 − r)·N previous samples and r·N fresh real sentences
 *     accumulate-subsample  a random subset (of the real data's size) of accumulate's pool
 *   then sample N and measure the model and its samples.
 */
import type { Backend } from '../../core/backend';
import type { GptConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import { histogram, meanPairwiseCosineDistance, rareVocabulary, relativeTailMass } from '../../core/metrics/diversity';
import { mean } from '../../core/metrics/stats';
import { type Key, Rng, foldIn } from '../../core/rng';
import { generate } from '../../core/sample';
import { scoreContinuations } from '../../core/score';
import { lmBatch } from '../../core/train';
import { runEmbedder } from '../embedding';
import { finalLoss, phaseOptim, resetOptimizer, trainPhase } from '../phases';
import { RunSession, streamKey } from '../session';
import type { RunContext } from '../types';
import { COLLAPSE_MODES, CORPUS_INPUT, type CollapseConfig, type CollapseMode } from './config';
import { type Corpus, grammarCorpus, textMetrics, uploadedCorpus } from './corpus';
import {
  type CollapsePosition, type CollapseRecord, type CollapseState, type GenerationRecord, type ViewerRow,
  STATE_VERSION, position, record, state as stateSchema,
} from './records';
import { type CollapseSummary, summarize } from './report';
import { collapseSpec } from './spec';

/** The run's random streams: streamKey(runKey, tag, …parts). Fixed forever: changing one changes every run's results. */
const STREAM = {
  corpus: 1, init: 2, gaussian: 3,
  /** Parts: generation, mode index (generation 0: generation only). */
  train: 100, sample: 200,
  /** The viewer's prompts are answered from the same stream every generation. */
  viewer: 300,
  /** Self-BLEU's hypotheses: generation, mode index (the reference: 999). */
  bleu: 400,
  /** real-mix and accumulate-subsample's draws: generation, mode index. */
  subsample: 500,
} as const;

/** Sentences per progress unit (one unit per optimizer step, one per 50 sampled sentences). */
const SENTENCES_PER_UNIT = 50;

function plan(c: CollapseConfig) {
  const sampling = Math.ceil(c.samplesPerGeneration / SENTENCES_PER_UNIT);
  const laterSteps = c.continueTraining ? c.stepsPerGeneration : c.firstSteps;
  return { sampling, laterSteps, total: c.firstSteps + sampling + c.generations * c.modes.length * (laterSteps + sampling) };
}

const modeIndex = (m: CollapseMode) => COLLAPSE_MODES.indexOf(m);
const accumulates = (m: CollapseMode) => m === 'accumulate' || m === 'accumulate-subsample';

interface Sample {
  words: string[];
  /** Whether it ended with the end token (an unfinished sentence is never valid). */
  finished: boolean;
}

/** What a generation trained on, for its record. */
interface DataFacts {
  size: number;
  realShare: number;
  trainLoss: number | null;
}

/** A run in progress: the corpus, the model on its backend, and how a generation is trained, sampled and measured. */
class CollapseRun {
  readonly corpus: Corpus;
  readonly gpt: GptConfig;
  readonly plan: ReturnType<typeof plan>;
  readonly rare: ReturnType<typeof rareVocabulary>;
  readonly viewerPrompts: string[][] = [];
  /** Held-out sentences as scoring items (every token after BOS, EOS included), and their token count. */
  readonly heldOut: { prompt: number[]; continuation: number[] }[];
  readonly heldOutTokens: number;
  readonly embed: ReturnType<typeof runEmbedder>;
  backend!: Backend;

  constructor(readonly c: CollapseConfig, readonly session: RunSession<CollapseRecord, CollapsePosition, CollapseState>) {
    this.corpus = c.corpus === 'grammar'
      ? grammarCorpus(c, this.key(STREAM.corpus))
      : uploadedCorpus(c, session.ctx.inputs?.[CORPUS_INPUT], this.key(STREAM.corpus));
    const tok = this.corpus.tokenizer;
    const contextLength = Math.ceil((this.corpus.maxWords + 2) / 8) * 8; // BOS + words + EOS
    this.gpt = { vocabSize: tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
    this.plan = plan(c);
    this.rare = rareVocabulary(this.corpus.real, 0.2);
    this.heldOut = this.corpus.heldOut.map((sentence) => {
      const seq = this.encode(sentence);
      return { prompt: seq.slice(0, 1), continuation: seq.slice(1) };
    });
    this.heldOutTokens = this.heldOut.reduce((n, it) => n + it.continuation.length, 0);
    // Distinct prompts: the first two words of held-out sentences (one word for a two-word sentence).
    for (const s of this.corpus.heldOut) {
      if (this.viewerPrompts.length >= c.viewerPrompts) break;
      const p = s.slice(0, Math.min(2, s.length - 1));
      if (p.length > 0 && !this.viewerPrompts.some((q) => q.join(' ') === p.join(' '))) this.viewerPrompts.push(p);
    }
    this.embed = runEmbedder(session.ctx);
  }

  key(tag: number, ...parts: number[]): Key {
    return streamKey(this.session.runKey, tag, ...parts);
  }

  encode(s: readonly string[]): number[] {
    const tok = this.corpus.tokenizer;
    return [tok.bos, ...tok.encode(s.join(' ')), tok.eos];
  }

  /** Train from `from` on `data` for `steps` steps (fresh AdamW moments, length-grouped batches); the new parameters and final loss. */
  async train(from: Float32Array, data: readonly (readonly string[])[], steps: number, phase: string, k: Key) {
    const { c, backend, session } = this;
    await backend.setParams(from);
    await resetOptimizer(backend);
    const seqs = data.map((s) => this.encode(s));
    const rng = new Rng(k);
    // Length-grouped batches (as Hugging Face's group_by_length): shuffle, sort
    // chunks of 8 batches by length, cut them into batches, shuffle the batches.
    // A batch runs at its longest row, so this halves the padding.
    let queue: number[][][] = [];
    const refill = () => {
      const order = rng.shuffle(seqs.map((_, i) => i));
      const batches: number[][][] = [];
      const chunk = 8 * c.batchSize;
      for (let i = 0; i < order.length; i += chunk) {
        const group = order.slice(i, i + chunk).map((j) => seqs[j]!).sort((a, b) => a.length - b.length);
        for (let j = 0; j < group.length; j += c.batchSize) batches.push(group.slice(j, j + c.batchSize));
      }
      queue = rng.shuffle(batches);
    };
    const nextBatch = () => {
      if (queue.length === 0) refill();
      const rows = queue.pop()!;
      return lmBatch(rows, Math.max(...rows.map((r) => r.length - 1)));
    };
    const result = await trainPhase(backend, session.ctx, { nextBatch, optim: phaseOptim(c.learningRate, c.weightDecay, steps), steps, phase });
    session.checkCancel();
    session.progress(phase, result.steps);
    return { params: await backend.getParams(), loss: finalLoss(result.points) };
  }

  /** Sentences from the model on the backend (after each prompt, or from BOS); unfinished ones are kept and flagged. */
  async sample(n: number, k: Key, prompts?: readonly (readonly string[])[]): Promise<Sample[]> {
    const { c, corpus, session } = this;
    const tok = corpus.tokenizer;
    const inputs = prompts ? prompts.map((p) => [tok.bos, ...tok.encode(p.join(' '))]) : Array.from({ length: n }, () => [tok.bos]);
    const out: Sample[] = [];
    for (let start = 0; start < inputs.length; start += 128) {
      session.checkCancel();
      const gens = await generate(this.backend, inputs.slice(start, start + 128), {
        maxNewTokens: this.gpt.contextLength - 1, temperature: c.temperature, topK: 0, topP: c.topP, stopTokens: [tok.eos], key: foldIn(k, start),
      });
      for (const g of gens) out.push({ words: tok.decode(g.tokens).split(' ').filter((w) => w !== ''), finished: g.stoppedBy === 'stop' });
    }
    return out;
  }

  /** Per-token log-likelihood of each sentence under `params` (the generation-0 model); the backend gets `current` back. */
  async logLikPerToken(params: Float32Array, current: Float32Array, sentences: readonly (readonly string[])[]): Promise<number[]> {
    const tok = this.corpus.tokenizer;
    await this.backend.setParams(params);
    const items = sentences.map((s) => ({ prompt: [tok.bos], continuation: [...tok.encode(s.join(' ')), tok.eos] }));
    const ll = await scoreContinuations(this.backend, items, 64);
    await this.backend.setParams(current);
    return Array.from(ll, (x, i) => x / items[i]!.continuation.length);
  }

  /** Embedding diversity of the first embeddingSamples sentences; null with the reason when not computed. */
  async embeddingDiversity(sentences: readonly (readonly string[])[]): Promise<{ value: number | null; note: string }> {
    if (this.c.embeddingSamples === 0) return { value: null, note: 'not computed: embeddingSamples is 0' };
    const texts = sentences.slice(0, this.c.embeddingSamples).map((s) => s.join(' '));
    const r = await this.embed(texts);
    return r.ok ? { value: meanPairwiseCosineDistance(r.vectors), note: `${r.model}, ${texts.length} samples` } : { value: null, note: `not computed: ${r.reason}` };
  }

  /** The real corpus measured as the generations are: the reference line. */
  emitReference(): void {
    const { c, corpus } = this;
    const g = corpus.grammar;
    const trueHeldOut = g ? corpus.heldOut.map((s) => (g.parse(s) as { logProb: number }).logProb) : null;
    this.session.emit({
      kind: 'reference', corpus: corpus.name, vocabularySize: corpus.tokenizer.vocabSize - 3, rareWords: this.rare.tokens.size,
      truePerplexity: trueHeldOut ? Math.exp(-trueHeldOut.reduce((a, b) => a + b, 0) / corpus.heldOut.reduce((n, s) => n + s.length + 1, 0)) : null,
      trueLogLik: g ? mean(corpus.real.map((s) => (g.parse(s) as { logProb: number }).logProb)) : null,
      ...textMetrics(corpus.real, c.selfBleuSamples, this.key(STREAM.bleu, 999)), note: corpus.noGrammar,
    });
  }

  /** Measure the model on the backend (`params`) and its samples; emit a record, a histogram and a sample set per mode in `modes`. */
  async measure(modes: readonly CollapseMode[], generation: number, params: Float32Array, gen0: Float32Array, samples: Sample[], data: DataFacts) {
    const { c, corpus, session } = this;
    const words = samples.map((s) => s.words);
    const ll = await scoreContinuations(this.backend, this.heldOut, 64);
    const perplexity = Math.exp(-ll.reduce((a, b) => a + b, 0) / this.heldOutTokens);
    const verdicts = samples.map((s) => {
      if (!corpus.grammar) return null;
      if (!s.finished) return { valid: false, reason: 'never ended' } as const;
      const p = corpus.grammar.parse(s.words);
      return p.valid ? { valid: true, logProb: p.logProb } as const : { valid: false, reason: p.reason } as const;
    });
    const accepted = verdicts.flatMap((x) => (x?.valid ? [x.logProb] : []));
    const embedding = await this.embeddingDiversity(words);
    const text = textMetrics(words, c.selfBleuSamples, this.key(STREAM.bleu, generation, modeIndex(modes[0]!)));
    const hist = histogram(await this.logLikPerToken(gen0, params, words), { min: -8, max: 0, bins: c.histogramBins });
    // The viewer: the same prompts, with the same random stream, for every generation (parsed once; the rows repeat per mode sharing it).
    const viewer = this.viewerPrompts.length > 0 ? await this.sample(this.viewerPrompts.length, this.key(STREAM.viewer), this.viewerPrompts) : [];
    const viewerRows = viewer.map((s, i) => {
      const prompt = this.viewerPrompts[i]!;
      const verdict = corpus.grammar ? (s.finished ? corpus.grammar.parse([...prompt, ...s.words]) : { valid: false as const, reason: 'never ended' }) : null;
      return {
        kind: 'viewer' as const, generation, prompt: prompt.join(' '), text: s.words.join(' '),
        valid: verdict ? verdict.valid : null, reason: verdict && !verdict.valid ? verdict.reason : null,
      };
    });
    const sampleRows = samples.slice(0, 12).map((s, i) => {
      const v = verdicts[i];
      return { kind: 'sample' as const, generation, prompt: '', text: s.words.join(' '), valid: v ? v.valid : null, reason: v && !v.valid ? v.reason : null };
    });
    const seconds = session.elapsed();
    for (const mode of modes) {
      session.emit({
        kind: 'generation', mode, generation, sharedBy: [...modes], perplexity,
        validity: corpus.grammar ? accepted.length / samples.length : null, trueLogLik: accepted.length > 0 ? mean(accepted) : null,
        ...text, tailMass: relativeTailMass(words, this.rare), embeddingDiversity: embedding.value, embeddingNote: embedding.note,
        dataSize: data.size, realShare: data.realShare, trainLoss: data.trainLoss, seconds,
      } satisfies GenerationRecord);
      session.emit({ kind: 'histogram', mode, generation, edges: hist.edges, counts: hist.counts, clipped: hist.clipped });
      session.samples({ generation, mode }, [...viewerRows, ...sampleRows].map((r): ViewerRow => ({ ...r, mode })));
    }
  }

  /** This generation's training data for `mode`, built from its pool, and how many of its sentences are real. */
  dataFor(mode: CollapseMode, g: number, pool: string[][]): { data: string[][]; real: number } {
    const { c, corpus } = this;
    const rng = () => new Rng(this.key(STREAM.subsample, g, modeIndex(mode)));
    switch (mode) {
      case 'replace':
        return { data: pool, real: 0 };
      case 'accumulate':
        return { data: pool, real: corpus.real.length };
      case 'real-mix': {
        const nReal = Math.round(c.realMixFraction * c.samplesPerGeneration);
        const synthetic = rng().shuffle([...pool]).slice(0, c.samplesPerGeneration - nReal);
        return { data: [...synthetic, ...corpus.fresh(nReal, g)], real: nReal };
      }
      case 'accumulate-subsample': {
        const order = rng().shuffle(pool.map((_, i) => i)).slice(0, corpus.real.length);
        // The pool starts with the real sentences.
        return { data: order.map((i) => pool[i]!), real: order.filter((i) => i < corpus.real.length).length };
      }
      default:
        throw new Error(mode satisfies never);
    }
  }
}

/** Run the experiment: setup, generation 0 (or the checkpoint), the generations, the summary. */
export async function run(c: CollapseConfig, ctx: RunContext): Promise<CollapseSummary> {
  const session = new RunSession(ctx, {
    experiment: 'collapse', total: plan(c).total, record, position, describe: collapseSpec.describe, state: { version: STATE_VERSION, schema: stateSchema },
  });
  const lab = new CollapseRun(c, session);
  const { corpus, plan: units } = lab;
  lab.backend = await ctx.createBackend(lab.gpt);
  const init = initParams(lab.gpt, lab.key(STREAM.init));
  const modeParams: Partial<Record<CollapseMode, Float32Array>> = {};
  let state: CollapseState;
  let gen0: Float32Array;
  let first: number;
  const checkpoint = (generation: number) => {
    const extra: Record<string, Float32Array> = { gen0 };
    for (const m of c.modes) extra[`mode:${m}`] = modeParams[m]!;
    session.checkpoint({ generation, mode: null }, {
      config: lab.gpt, tokenizer: corpus.tokenizer.toJSON(), params: modeParams[c.modes[0]!] ?? gen0, extra,
    }, state);
  };

  if (session.resumed) {
    ({ state } = session.resumed);
    gen0 = session.resumed.extraParams.gen0!;
    for (const m of c.modes) modeParams[m] = session.resumed.extraParams[`mode:${m}`];
    first = session.resumed.at.generation + 1;
  } else {
    lab.emitReference();
    const t = await lab.train(init, corpus.real, c.firstSteps, 'generation 0', lab.key(STREAM.train, 0));
    gen0 = t.params;
    const samples = await lab.sample(c.samplesPerGeneration, lab.key(STREAM.sample, 0));
    session.progress('generation 0: sampling', units.sampling);
    await lab.measure(c.modes, 0, t.params, t.params, samples, { size: corpus.real.length, realShare: 1, trainLoss: t.loss });
    const words = samples.map((s) => s.words);
    state = { gen0Samples: words, modes: {} };
    for (const m of c.modes) {
      modeParams[m] = t.params;
      state.modes[m] = { pool: accumulates(m) ? [...corpus.real, ...words] : words, samples: words };
    }
    checkpoint(0);
    first = 1;
  }

  for (let g = first; g <= c.generations; g++) {
    for (const mode of c.modes) {
      session.checkCancel();
      const { pool } = state.modes[mode]!;
      const { data, real } = lab.dataFor(mode, g, pool);
      const from = c.continueTraining ? modeParams[mode]! : init;
      const t = await lab.train(from, data, units.laterSteps, `generation ${g}: ${mode}`, lab.key(STREAM.train, g, modeIndex(mode)));
      modeParams[mode] = t.params;
      const samples = await lab.sample(c.samplesPerGeneration, lab.key(STREAM.sample, g, modeIndex(mode)));
      session.progress(`generation ${g}: ${mode}, sampling`, units.sampling);
      await lab.measure([mode], g, t.params, gen0, samples, { size: data.length, realShare: real / data.length, trainLoss: t.loss });
      const words = samples.map((s) => s.words);
      state.modes[mode] = { pool: accumulates(mode) ? [...pool, ...words] : words, samples: words };
    }
    checkpoint(g);
  }

  lab.backend.dispose();
  return summarize(c, session.records, session.elapsed(), lab.key(STREAM.gaussian));
}
