/**
 * Model collapse on a language whose truth is known (Shumailov et al. 2024,
 * "AI models collapse when trained on recursively generated data";
 * Gerstgrasser et al. 2024, "Is model collapse inevitable?").
 *
 * The "real" corpus is drawn from the classroom grammar (core/grammar), so
 * the exact probability and grammaticality of any generated sentence is
 * known; or it is a text the visitor uploaded (then validity and true
 * likelihood are not computed, and say why).
 *
 *   generation 0: train a word-level GPT on `realSize` real sentences, sample N.
 *   generation g ≥ 1, for every mode side by side (same seed, same init):
 *     replace               train on the previous generation's N samples only
 *     accumulate            train on the real data and every sample so far
 *     real-mix              train on N sentences: (1 − r)·N of the previous
 *                           samples and r·N fresh real sentences
 *     accumulate-subsample  like accumulate, but a random subset of a fixed
 *                           budget (`realSize` sentences) each generation
 *   then sample N from the new model and measure it.
 *
 * Each mode's model continues from its own previous generation (fine-tuned
 * on its own outputs) with `stepsPerGeneration` steps, or with
 * `continueTraining` off restarts from the same initialisation for
 * `firstSteps` steps.
 *
 * Measured every generation, on the model and its N samples: perplexity on
 * held-out real sentences; the share of samples the grammar accepts and
 * their mean true log-likelihood; Distinct-1/2; Self-BLEU (3-gram, NLTK
 * method1 smoothing); unigram entropy; tail mass (share of the real corpus's
 * rare words, relative to the real corpus, so real = 1); embedding
 * diversity (through ctx.embed; "not computed" with the reason otherwise);
 * and a histogram of each sample's per-token log-likelihood under the
 * generation-0 model (the tails thinning out, Shumailov et al. Fig. 1).
 * A sample viewer answers the same prompts with every generation.
 *
 * The summary also carries the analytic Gaussian demo (core/collapse).
 *
 * Randomness: every phase draws from foldIn(runKey, tag), so a resumed run
 * continues exactly as the uninterrupted one.
 */
import * as v from 'valibot';
import { gaussianCollapse } from '../core/collapse/analytic';
import { CorpusError, parsePlainText } from '../core/corpus/plain-text';
import type { GptConfig } from '../core/gpt/config';
import { initParams } from '../core/gpt/init';
import { classroomGrammar } from '../core/grammar/classroom';
import type { Grammar } from '../core/grammar/grammar';
import {
  distinctN, histogram, meanPairwiseCosineDistance, rareVocabulary, relativeTailMass, selfBleu, tokenEntropy,
} from '../core/metrics/diversity';
import { mean } from '../core/metrics/stats';
import { type Key, Rng, foldIn, keyFromSeed } from '../core/rng';
import { generate } from '../core/sample';
import { distinctChoices, integerIn, numberIn, positiveInt } from '../core/schema';
import { scoreContinuations } from '../core/score';
import { WordTokenizer } from '../core/tokenizer/word';
import { lmBatch } from '../core/train';
import { runEmbedder } from './embedding';
import { finalLoss, phaseOptim, resetOptimizer, trainPhase } from './phases';
import { type Experiment, type MetricRecord, RunCancelled, type RunContext } from './types';

export const COLLAPSE_MODES = ['replace', 'accumulate', 'real-mix', 'accumulate-subsample'] as const;
export type CollapseMode = (typeof COLLAPSE_MODES)[number];

export interface CollapseConfig extends Record<string, unknown> {
  /** 'grammar': the generated classroom grammar; 'upload': a .txt file given with the run (no grammar: validity not computed). */
  corpus: 'grammar' | 'upload';
  /** Real training sentences of generation 0 (and the fixed budget of accumulate-subsample). */
  realSize: number;
  /** Real sentences held out for perplexity. */
  heldOutSize: number;
  /** N: sentences each generation's model writes (the next generation's data). */
  samplesPerGeneration: number;
  /** Generations after generation 0. */
  generations: number;
  /** The ways to build a generation's data, run side by side. */
  modes: CollapseMode[];
  /** r: the share of fresh real sentences in each real-mix generation. */
  realMixFraction: number;
  /** Model width C, depth L and heads NH (the context fits the longest sentence). */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Optimizer steps of generation 0 (from scratch), and of each later generation. */
  firstSteps: number;
  stepsPerGeneration: number;
  /** Continue each mode's model from its previous generation; off: retrain from the same init for firstSteps. */
  continueTraining: boolean;
  /** Sentences per optimizer step. */
  batchSize: number;
  /** Peak learning rate (warmup, then cosine within each generation). */
  learningRate: number;
  /** AdamW's decoupled weight decay on the matrices (0.1, as nanoGPT). */
  weightDecay: number;
  /** Sampling temperature and nucleus (top-p) of every generation's samples; top-p < 1 cuts the tail, as deployed generators do. */
  temperature: number;
  topP: number;
  /** Prompts (the first two words of held-out sentences) every generation answers in the sample viewer. */
  viewerPrompts: number;
  /** Samples per generation embedded for embedding diversity (0: off). */
  embeddingSamples: number;
  /** Hypotheses per generation for Self-BLEU (each against all other samples). */
  selfBleuSamples: number;
  /** Bins of the per-token log-likelihood histogram. */
  histogramBins: number;
  /** Uploaded corpus: the most words kept in its vocabulary (the rest become <unk>). */
  uploadMaxVocab: number;
  /** The analytic Gaussian demo in the summary: samples per generation n, generations, seeds. */
  gaussianN: number;
  gaussianGenerations: number;
  gaussianSeeds: number;
}

/**
 * The classroom setting, tuned to finish a seed in under a minute on one CPU
 * core: 400 real sentences, 5 generations of 400 samples, a 1-layer GPT.
 * top-p 0.9 makes the tails vanish within a few generations (at top-p 1
 * perplexity still rises under replace, but the diversity measures move slowly).
 */
export const defaultConfig: CollapseConfig = {
  corpus: 'grammar',
  realSize: 400,
  heldOutSize: 200,
  samplesPerGeneration: 400,
  generations: 5,
  modes: [...COLLAPSE_MODES],
  realMixFraction: 0.25,
  dModel: 32,
  nLayers: 1,
  nHeads: 2,
  firstSteps: 300,
  stepsPerGeneration: 100,
  continueTraining: true,
  batchSize: 32,
  learningRate: 1e-2,
  weightDecay: 0.1,
  temperature: 1,
  topP: 0.9,
  viewerPrompts: 6,
  embeddingSamples: 200,
  selfBleuSamples: 100,
  histogramBins: 24,
  uploadMaxVocab: 1000,
  gaussianN: 20,
  gaussianGenerations: 50,
  gaussianSeeds: 200,
};

const schema = v.pipe(
  v.strictObject({
    corpus: v.picklist(['grammar', 'upload'], "must be 'grammar' or 'upload'"),
    realSize: integerIn(20, 100_000),
    heldOutSize: integerIn(10, 100_000),
    samplesPerGeneration: integerIn(10, 100_000),
    generations: integerIn(1, 100),
    modes: distinctChoices(COLLAPSE_MODES, 'mode'),
    realMixFraction: numberIn(0, 1),
    dModel: positiveInt(),
    nLayers: integerIn(1, 32),
    nHeads: positiveInt(),
    firstSteps: integerIn(1, 1_000_000),
    stepsPerGeneration: integerIn(1, 1_000_000),
    continueTraining: v.boolean('must be true or false'),
    batchSize: integerIn(1, 4096),
    learningRate: numberIn(0, 1),
    weightDecay: numberIn(0, 10),
    temperature: numberIn(0.05, 10),
    topP: numberIn(0.01, 1),
    viewerPrompts: integerIn(0, 100),
    embeddingSamples: integerIn(0, 10_000),
    selfBleuSamples: integerIn(2, 10_000),
    histogramBins: integerIn(2, 200),
    uploadMaxVocab: integerIn(10, 50_000),
    gaussianN: integerIn(2, 100_000),
    gaussianGenerations: integerIn(1, 10_000),
    gaussianSeeds: integerIn(1, 10_000),
  }),
  v.forward(v.check((c) => c.dModel % c.nHeads === 0, (i) => `must divide dModel (${i.input.dModel})`), ['nHeads']),
) as unknown as v.GenericSchema<unknown, CollapseConfig>;

/** The name of the uploaded corpus in ctx.inputs. */
export const CORPUS_INPUT = 'corpus';

// --- records -------------------------------------------------------------------

/** What each generation of each mode measured. null: not computed (see the matching note). */
export interface GenerationMetrics extends MetricRecord {
  kind: 'generation';
  mode: CollapseMode;
  generation: number;
  /** The modes this row's model belongs to: generation 0 is one model shared by every mode (its row repeats per mode). */
  sharedBy: CollapseMode[];
  /** exp(mean negative log-likelihood per token) on the held-out real sentences (words and the end token). */
  perplexity: number;
  /** Share of samples the grammar accepts (an unfinished sample counts as invalid); null without a grammar. */
  validity: number | null;
  /** Mean true log-likelihood (nats) of the accepted samples under the grammar; null without a grammar or accepted samples. */
  trueLogLik: number | null;
  distinct1: number;
  distinct2: number;
  selfBleu: number;
  /** Unigram entropy of the samples' words, bits. */
  entropy: number;
  /** Share of the real corpus's rare words among the samples' words, relative to the real corpus (real = 1). */
  tailMass: number;
  /** 1 − mean pairwise cosine similarity of sentence embeddings; null when not computed. */
  embeddingDiversity: number | null;
  /** Why embeddingDiversity is null, or the embedding model used. */
  embeddingNote: string;
  /** Mean sentence length of the samples, words. */
  meanLength: number;
  /** Sentences the model trained on this generation, and the share of them that were real. */
  dataSize: number;
  realShare: number;
  /** Mean of the last training losses read (nats per token). */
  trainLoss: number | null;
  seconds: number;
}

/** The real corpus measured the same way: the line every curve is compared with. */
export interface ReferenceMetrics extends MetricRecord {
  kind: 'reference';
  corpus: string;
  vocabularySize: number;
  rareWords: number;
  /** exp(mean −log P_true per token) of the held-out sentences under the grammar: the best possible perplexity; null without a grammar. */
  truePerplexity: number | null;
  /** Mean true log-likelihood of the real sentences; null without a grammar. */
  trueLogLik: number | null;
  distinct1: number;
  distinct2: number;
  selfBleu: number;
  entropy: number;
  meanLength: number;
  /** Why validity and true likelihood are missing, when they are. */
  note: string | null;
}

/** Per-token log-likelihood of a generation's samples under the generation-0 model, on fixed bins. */
export interface LikelihoodHistogram extends MetricRecord {
  kind: 'histogram';
  mode: CollapseMode;
  generation: number;
  edges: number[];
  counts: number[];
  clipped: number;
}

/** A row of the sample viewer: a prompt and one generation's continuation. */
export interface ViewerRow {
  kind: 'viewer' | 'sample';
  mode: CollapseMode;
  generation: number;
  prompt: string;
  text: string;
  /** null without a grammar. */
  valid: boolean | null;
  reason: string | null;
}

export interface CollapseSummary {
  seconds: number;
  corpus: string;
  reference: ReferenceMetrics;
  /** Per mode, generation 0 … G. */
  modes: Partial<Record<CollapseMode, GenerationMetrics[]>>;
  gaussian: {
    n: number;
    seeds: number;
    estimator: 'ml';
    /** Mean fitted variance over seeds per generation (σ0² = 1), and the 10–90% band. */
    variance: number[];
    low: number[];
    high: number[];
    /** E[σ²_t] = σ0²((n−1)/n)^(t+1) (generation 0 is already one fit). */
    theory: number[];
  };
}

interface ModeState {
  /** The data the next generation is built from: the last samples (replace, real-mix) or everything so far (accumulate*). */
  pool: string[][];
  /** The last generation's samples. */
  samples: string[][];
}

interface CollapseState {
  generation: number;
  seconds: number;
  gen0Samples: string[][];
  modes: Partial<Record<CollapseMode, ModeState>>;
}

// --- the corpus ----------------------------------------------------------------------

interface Corpus {
  name: string;
  tokenizer: WordTokenizer;
  grammar: Grammar | null;
  /** Why there is no grammar (validity, true likelihood not computed). */
  noGrammar: string | null;
  real: string[][];
  heldOut: string[][];
  /** `count` fresh real sentences for real-mix generation `generation`. */
  fresh(count: number, generation: number): string[][];
  maxWords: number;
}

function grammarCorpus(c: CollapseConfig, key: Key): Corpus {
  const grammar = classroomGrammar();
  const draw = (n: number, k: Key) => {
    const rng = new Rng(k);
    return Array.from({ length: n }, () => grammar.sample(rng));
  };
  return {
    name: 'classroom grammar',
    tokenizer: new WordTokenizer(grammar.vocabulary),
    grammar,
    noGrammar: null,
    real: draw(c.realSize, foldIn(key, 1)),
    heldOut: draw(c.heldOutSize, foldIn(key, 2)),
    fresh: (n, g) => draw(n, foldIn(foldIn(key, 3), g)),
    maxWords: grammar.spec.maxWords,
  };
}

function uploadedCorpus(c: CollapseConfig, ctx: RunContext, key: Key): Corpus {
  const input = ctx.inputs?.[CORPUS_INPUT];
  if (!input) throw new CorpusError("corpus: 'upload' needs a .txt file: choose one in the setup (a share link cannot carry a file)");
  const parsed = parsePlainText(input.bytes, input.name, { maxVocab: c.uploadMaxVocab, minSentences: c.realSize + c.heldOutSize });
  const order = new Rng(foldIn(key, 1)).shuffle(parsed.sentences.map((_, i) => i));
  const heldOut = order.slice(0, c.heldOutSize).map((i) => parsed.sentences[i]!);
  const real = order.slice(c.heldOutSize, c.heldOutSize + c.realSize).map((i) => parsed.sentences[i]!);
  const rest = order.slice(c.heldOutSize + c.realSize).map((i) => parsed.sentences[i]!);
  return {
    name: input.name,
    tokenizer: new WordTokenizer(parsed.vocabulary),
    grammar: null,
    noGrammar: 'an uploaded text has no known grammar',
    real,
    heldOut,
    // Fresh sentences come from the part of the file not used for training or held out; when that runs short, the real training sentences are drawn again.
    fresh: (n, g) => {
      const source = rest.length >= n ? rest : [...rest, ...real];
      return new Rng(foldIn(foldIn(key, 3), g)).shuffle([...source.keys()]).slice(0, n).map((i) => source[i]!);
    },
    maxWords: Math.max(...parsed.sentences.map((s) => s.length)),
  };
}

// --- metrics -----------------------------------------------------------------------

/** Distinct-n, Self-BLEU, entropy, mean length: what is measured on any set of sentences. */
function textMetrics(sentences: readonly (readonly string[])[], selfBleuSamples: number, key: Key) {
  return {
    distinct1: distinctN(sentences, 1),
    distinct2: distinctN(sentences, 2),
    selfBleu: selfBleu(sentences, { maxN: 3, maxHypotheses: selfBleuSamples, key }),
    entropy: tokenEntropy(sentences),
    meanLength: mean(sentences.map((s) => s.length)),
  };
}

// --- run ------------------------------------------------------------------------------

/** Phase tags for foldIn(runKey, tag): one independent stream per use. */
const TAG = { corpus: 1, init: 2, gaussian: 3, train: 100, sample: 200, viewer: 300, bleu: 400, subsample: 500 } as const;

async function run(c: CollapseConfig, ctx: RunContext): Promise<CollapseSummary> {
  const runKey = keyFromSeed(ctx.seed);
  const key = (tag: number, ...parts: number[]) => parts.reduce((k, p) => foldIn(k, p), foldIn(runKey, tag));
  const corpus = c.corpus === 'grammar' ? grammarCorpus(c, key(TAG.corpus)) : uploadedCorpus(c, ctx, key(TAG.corpus));
  const tok = corpus.tokenizer;
  const contextLength = Math.ceil((corpus.maxWords + 2) / 8) * 8; // BOS + words + EOS
  const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const backend = await ctx.createBackend(gpt);
  const init = initParams(gpt, key(TAG.init));
  const modeIndex = (m: CollapseMode) => COLLAPSE_MODES.indexOf(m);
  const records: MetricRecord[] = [];
  const started = ctx.now();
  const encode = (s: readonly string[]) => [tok.bos, ...tok.encode(s.join(' ')), tok.eos];
  const rare = rareVocabulary(corpus.real, 0.2);

  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new RunCancelled();
  };
  const emit = (record: MetricRecord) => {
    records.push(record);
    ctx.emit({ type: 'metrics', record });
  };

  // Progress: one unit per optimizer step and per 50 sampled sentences.
  const sampleUnits = Math.ceil(c.samplesPerGeneration / 50);
  const laterSteps = c.continueTraining ? c.stepsPerGeneration : c.firstSteps;
  const unitsPerLater = laterSteps + sampleUnits;
  const totalUnits = c.firstSteps + sampleUnits + c.generations * c.modes.length * unitsPerLater;
  let doneUnits = 0;
  const progress = (phase: string, units: number) => {
    doneUnits += units;
    ctx.emit({ type: 'progress', phase, done: Math.min(doneUnits, totalUnits), total: totalUnits });
  };

  /** Train from `from` on `data` for `steps` steps (fresh AdamW moments); returns the new parameters and the mean of the last losses. */
  const train = async (from: Float32Array, data: readonly (readonly string[])[], steps: number, phase: string, k: Key) => {
    await backend.setParams(from);
    await resetOptimizer(backend);
    const seqs = data.map(encode);
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
    const result = await trainPhase(backend, ctx, { nextBatch, optim: phaseOptim(c.learningRate, c.weightDecay, steps), steps, phase });
    checkCancel();
    progress(phase, result.steps);
    return { params: await backend.getParams(), loss: finalLoss(result.points) };
  };

  /** N sentences from the model now on the backend; unfinished ones (no end token) are kept and flagged. */
  const sampleSentences = async (n: number, k: Key, prompts?: readonly (readonly string[])[]) => {
    const inputs = prompts ? prompts.map((p) => [tok.bos, ...tok.encode(p.join(' '))]) : Array.from({ length: n }, () => [tok.bos]);
    const out: { words: string[]; finished: boolean }[] = [];
    const batch = 128;
    for (let start = 0; start < inputs.length; start += batch) {
      checkCancel();
      const chunk = inputs.slice(start, start + batch);
      const gens = await generate(backend, chunk, {
        maxNewTokens: contextLength - 1, temperature: c.temperature, topK: 0, topP: c.topP, stopTokens: [tok.eos], key: foldIn(k, start),
      });
      for (const g of gens) {
        const words = tok.decode(g.tokens).split(' ').filter((w) => w !== '');
        out.push({ words, finished: g.stoppedBy === 'stop' });
      }
    }
    return out;
  };

  // Held-out real sentences as scoring items: every token after BOS is scored (EOS included).
  const heldOutItems = corpus.heldOut.map((sentence) => {
    const seq = encode(sentence);
    return { prompt: seq.slice(0, 1), continuation: seq.slice(1) };
  });
  const heldOutTokens = heldOutItems.reduce((n, it) => n + it.continuation.length, 0);
  /** exp(mean negative log-likelihood per token) of the held-out set under the model on the backend. */
  const heldOutPerplexity = async () => {
    const ll = await scoreContinuations(backend, heldOutItems, 64);
    return Math.exp(-ll.reduce((a, b) => a + b, 0) / heldOutTokens);
  };

  /** Per-token log-likelihood of each sample under parameters `params` (the generation-0 model). */
  const logLikPerToken = async (params: Float32Array, current: Float32Array, samples: readonly (readonly string[])[]) => {
    await backend.setParams(params);
    const items = samples.map((s) => ({ prompt: [tok.bos], continuation: [...tok.encode(s.join(' ')), tok.eos] }));
    const ll = await scoreContinuations(backend, items, 64);
    await backend.setParams(current);
    return Array.from(ll, (x, i) => x / items[i]!.continuation.length);
  };

  // A model that could not be loaded is not asked again in this run (offline, every try would fail the same way).
  const embed = runEmbedder(ctx);
  const embedNote = async (sentences: readonly (readonly string[])[]): Promise<{ value: number | null; note: string }> => {
    if (c.embeddingSamples === 0) return { value: null, note: 'not computed: embeddingSamples is 0' };
    const texts = sentences.slice(0, c.embeddingSamples).map((s) => s.join(' '));
    const r = await embed(texts);
    return r.ok
      ? { value: meanPairwiseCosineDistance(r.vectors), note: `${r.model}, ${texts.length} samples` }
      : { value: null, note: `not computed: ${r.reason}` };
  };

  // Distinct prompts: the first two words of held-out sentences (one word for a two-word sentence).
  const viewerPrompts: string[][] = [];
  for (const s of corpus.heldOut) {
    if (viewerPrompts.length >= c.viewerPrompts) break;
    const p = s.slice(0, Math.min(2, s.length - 1));
    if (p.length > 0 && !viewerPrompts.some((q) => q.join(' ') === p.join(' '))) viewerPrompts.push(p);
  }

  /** Measure the model now on the backend (parameters `params`) and its samples; emit its rows. */
  const measure = async (
    modes: readonly CollapseMode[], generation: number, params: Float32Array, gen0: Float32Array,
    samples: { words: string[]; finished: boolean }[], data: { size: number; realShare: number; trainLoss: number | null },
  ): Promise<void> => {
    const words = samples.map((s) => s.words);
    const perplexity = await heldOutPerplexity();
    let validity: number | null = null;
    let trueLogLik: number | null = null;
    const verdicts = samples.map((s) => {
      if (!corpus.grammar) return null;
      if (!s.finished) return { valid: false, reason: 'never ended' } as const;
      const p = corpus.grammar.parse(s.words);
      return p.valid ? { valid: true, logProb: p.logProb } as const : { valid: false, reason: p.reason } as const;
    });
    if (corpus.grammar) {
      const accepted = verdicts.flatMap((x) => (x?.valid ? [x.logProb] : []));
      validity = accepted.length / samples.length;
      trueLogLik = accepted.length > 0 ? mean(accepted) : null;
    }
    const embedding = await embedNote(words);
    const text = textMetrics(words, c.selfBleuSamples, key(TAG.bleu, generation, modeIndex(modes[0]!)));
    const ll = await logLikPerToken(gen0, params, words);
    const hist = histogram(ll, { min: -8, max: 0, bins: c.histogramBins });
    // The viewer: the same prompts, with the same random stream, for every generation.
    const viewer = viewerPrompts.length > 0 ? await sampleSentences(viewerPrompts.length, key(TAG.viewer), viewerPrompts) : [];
    // Parsed once; the rows repeat for each mode that shares this generation.
    const viewerRows = viewer.map((s, i) => {
      const prompt = viewerPrompts[i]!;
      const verdict = corpus.grammar ? (s.finished ? corpus.grammar.parse([...prompt, ...s.words]) : { valid: false as const, reason: 'never ended' }) : null;
      return {
        kind: 'viewer' as const, generation, prompt: prompt.join(' '), text: s.words.join(' '),
        valid: verdict ? verdict.valid : null, reason: verdict && !verdict.valid ? verdict.reason : null,
      };
    });
    const sampleRows = samples.slice(0, 12).map((s, i) => ({
      kind: 'sample' as const, generation, prompt: '', text: s.words.join(' '),
      valid: verdicts[i] ? verdicts[i].valid : null, reason: verdicts[i] && !verdicts[i].valid ? verdicts[i].reason : null,
    }));
    const seconds = (ctx.now() - started) / 1000 + state.seconds;
    for (const mode of modes) {
      const record: GenerationMetrics = {
        kind: 'generation', mode, generation, sharedBy: [...modes], perplexity, validity, trueLogLik,
        ...text, tailMass: relativeTailMass(words, rare), embeddingDiversity: embedding.value, embeddingNote: embedding.note,
        dataSize: data.size, realShare: data.realShare, trainLoss: data.trainLoss, seconds,
      };
      emit(record);
      emit({ kind: 'histogram', mode, generation, edges: hist.edges, counts: hist.counts, clipped: hist.clipped } satisfies LikelihoodHistogram);
      const rows: ViewerRow[] = [...viewerRows, ...sampleRows].map((r) => ({ ...r, mode }));
      ctx.emit({ type: 'samples', iteration: generation * COLLAPSE_MODES.length + modeIndex(mode), rows });
    }
  };

  let state: CollapseState;
  let gen0Params: Float32Array;
  const modeParams: Partial<Record<CollapseMode, Float32Array>> = {};

  const saveCheckpoint = (generation: number) => {
    const extra: Record<string, Float32Array> = { gen0: gen0Params };
    for (const m of c.modes) if (modeParams[m]) extra[`mode:${m}`] = modeParams[m];
    ctx.emit({
      type: 'checkpoint',
      checkpoint: {
        iteration: generation, modelConfig: gpt, tokenizer: tok.toJSON(),
        params: modeParams[c.modes[0]!] ?? gen0Params, extraParams: extra,
        state: { ...state, generation, seconds: state.seconds + (ctx.now() - started) / 1000 }, records: [...records],
      },
    });
  };

  if (ctx.resume) {
    const r = ctx.resume;
    state = r.state as CollapseState;
    gen0Params = r.extraParams.gen0!;
    for (const m of c.modes) {
      const p = r.extraParams[`mode:${m}`];
      if (p) modeParams[m] = p;
    }
    records.push(...r.records);
    doneUnits = c.firstSteps + sampleUnits + r.iteration * c.modes.length * unitsPerLater;
    ctx.emit({ type: 'log', message: `resumed after generation ${r.iteration}` });
  } else {
    state = { generation: 0, seconds: 0, gen0Samples: [], modes: {} };
    const realText = textMetrics(corpus.real, c.selfBleuSamples, key(TAG.bleu, 999));
    const trueHeldOut = corpus.grammar
      ? corpus.heldOut.map((s) => (corpus.grammar!.parse(s) as { logProb: number }).logProb)
      : null;
    emit({
      kind: 'reference', corpus: corpus.name, vocabularySize: tok.vocabSize - 3, rareWords: rare.tokens.size,
      truePerplexity: trueHeldOut ? Math.exp(-trueHeldOut.reduce((a, b) => a + b, 0) / corpus.heldOut.reduce((n, s) => n + s.length + 1, 0)) : null,
      trueLogLik: corpus.grammar ? mean(corpus.real.map((s) => (corpus.grammar!.parse(s) as { logProb: number }).logProb)) : null,
      ...realText, note: corpus.noGrammar,
    } satisfies ReferenceMetrics);
    const t = await train(init, corpus.real, c.firstSteps, 'generation 0', key(TAG.train, 0));
    gen0Params = t.params;
    const samples = await sampleSentences(c.samplesPerGeneration, key(TAG.sample, 0));
    progress('generation 0: sampling', sampleUnits);
    await measure(c.modes, 0, t.params, t.params, samples, { size: corpus.real.length, realShare: 1, trainLoss: t.loss });
    state.gen0Samples = samples.map((s) => s.words);
    for (const m of c.modes) {
      modeParams[m] = t.params;
      const accumulates = m === 'accumulate' || m === 'accumulate-subsample';
      state.modes[m] = { pool: accumulates ? [...corpus.real, ...state.gen0Samples] : state.gen0Samples, samples: state.gen0Samples };
    }
    saveCheckpoint(0);
  }

  for (let g = state.generation + 1; g <= c.generations; g++) {
    for (const mode of c.modes) {
      checkCancel();
      const ms = state.modes[mode]!;
      // This generation's training data, and how much of it is real.
      let data: string[][];
      let realCount: number;
      switch (mode) {
        case 'replace':
          data = ms.pool;
          realCount = 0;
          break;
        case 'accumulate':
          data = ms.pool;
          realCount = corpus.real.length;
          break;
        case 'real-mix': {
          const nReal = Math.round(c.realMixFraction * c.samplesPerGeneration);
          const synthetic = new Rng(key(TAG.subsample, g, modeIndex(mode))).shuffle([...ms.pool]).slice(0, c.samplesPerGeneration - nReal);
          data = [...synthetic, ...corpus.fresh(nReal, g)];
          realCount = nReal;
          break;
        }
        case 'accumulate-subsample': {
          const order = new Rng(key(TAG.subsample, g, modeIndex(mode))).shuffle(ms.pool.map((_, i) => i)).slice(0, corpus.real.length);
          data = order.map((i) => ms.pool[i]!);
          realCount = order.filter((i) => i < corpus.real.length).length; // the pool starts with the real sentences
          break;
        }
        default:
          throw new Error(mode satisfies never);
      }
      const from = c.continueTraining ? modeParams[mode]! : init;
      const t = await train(from, data, laterSteps, `generation ${g}: ${mode}`, key(TAG.train, g, modeIndex(mode)));
      modeParams[mode] = t.params;
      const samples = await sampleSentences(c.samplesPerGeneration, key(TAG.sample, g, modeIndex(mode)));
      progress(`generation ${g}: ${mode}, sampling`, sampleUnits);
      await measure([mode], g, t.params, gen0Params, samples, { size: data.length, realShare: realCount / data.length, trainLoss: t.loss });
      const words = samples.map((s) => s.words);
      const accumulates = mode === 'accumulate' || mode === 'accumulate-subsample';
      state.modes[mode] = { pool: accumulates ? [...ms.pool, ...words] : words, samples: words };
    }
    state.generation = g;
    saveCheckpoint(g);
  }

  backend.dispose();
  const gens = records.filter((r): r is GenerationMetrics => r.kind === 'generation');
  const modes: Partial<Record<CollapseMode, GenerationMetrics[]>> = {};
  for (const m of c.modes) modes[m] = gens.filter((r) => r.mode === m).sort((a, b) => a.generation - b.generation);
  const gauss = gaussianCollapse(key(TAG.gaussian), {
    samplesPerGeneration: c.gaussianN, generations: c.gaussianGenerations, seeds: c.gaussianSeeds, estimator: 'ml', mode: 'replace',
  });
  return {
    seconds: state.seconds + (ctx.now() - started) / 1000,
    corpus: corpus.name,
    reference: records.find((r): r is ReferenceMetrics => r.kind === 'reference')!,
    modes,
    gaussian: {
      n: c.gaussianN, seeds: c.gaussianSeeds, estimator: 'ml',
      variance: gauss.varianceBand.mean, low: gauss.varianceBand.low, high: gauss.varianceBand.high, theory: gauss.theory!,
    },
  };
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

export const collapse: Experiment<CollapseConfig, CollapseSummary> = {
  name: 'collapse',
  title: 'Model collapse and diversity',
  description: 'Train on your own outputs, generation after generation: replace, accumulate or mix in real data, and watch the tails.',
  defaultConfig,
  schema,
  tableRow: (r) => {
    if (r.kind !== 'generation') return null;
    const m = r as GenerationMetrics;
    if (m.mode !== m.sharedBy[0]) return null; // a shared row prints once
    return {
      gen: m.generation, mode: m.sharedBy.length > 1 ? 'all' : m.mode, ppl: fmt(m.perplexity, 2), valid: fmt(m.validity), 'distinct-2': fmt(m.distinct2),
      'self-bleu': fmt(m.selfBleu), entropy: fmt(m.entropy, 2), tail: fmt(m.tailMass), data: m.dataSize, seconds: m.seconds.toFixed(1),
    };
  },
  presets: {
    classroom: {
      description: 'The classroom grammar, four modes, five generations; under a minute per seed on a CPU.',
      overrides: {},
    },
    'pure-sampling': {
      description: 'As classroom, sampling the full distribution (top-p 1): perplexity still rises under replace, the tails fade more slowly.',
      overrides: { topP: 1 },
    },
    long: {
      description: 'Ten generations of 800 samples with a 2-layer model: slower, smoother curves.',
      overrides: { generations: 10, samplesPerGeneration: 800, nLayers: 2, dModel: 48, firstSteps: 600, stepsPerGeneration: 200 },
    },
  },
  run,
};
