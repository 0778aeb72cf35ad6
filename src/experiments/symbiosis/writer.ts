/**
 * The in-lab Generator of a replicate (docs/symbiosis.md, "The Generator"):
 * a TextModel and its parameters before any adaptation, plus the copy each
 * adapting method fine-tunes on its hard examples. Three ways to get one:
 *   tiny     the Student's own model, taught class-conditional text on a
 *            seed set of the pool (the lab's first Generator);
 *   trained  the corpus Generator: its own BPE and GPT, trained on its own
 *            corpus (generator.ts), on a backend of its own;
 *   loaded   a corpus Generator from a file (the `generator` run input).
 */
import type { LabelledRow } from '../../core/data/labelled';
import type { GptConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import { type Key, Rng } from '../../core/rng';
import { type TokenizerJson, tokenizerFromJSON, trainBpe } from '../../core/tokenizer';
import { CheckpointError } from '../session';
import type { SymbiosisConfig } from './config';
import { type GeneratorFile, corpusHashes, hashesFromBase64, hashesToBase64 } from './generator';
import type { SymbiosisMethod } from './methods';
import { type SymbiosisSession, TextModel, type WriteJob, cycler } from './model';
import { normalise } from './text';
import type { TrainedGenerator } from './records';

/** The corpus Generator's BPE learns from at most this many of its texts (a 120,000-row corpus would take minutes, for no better merges). */
export const GENERATOR_BPE_TEXTS = 20_000;

export class InLabGenerator {
  readonly #adapted = new Map<SymbiosisMethod, Float32Array>();

  constructor(
    /** Its model: the Student's own ('tiny') or one with its own tokenizer and backend. */
    readonly model: TextModel,
    /** Its parameters before any adaptation (what wrote the static set). */
    readonly base: Float32Array,
    readonly origin: 'tiny' | 'trained' | 'loaded',
    /** Rows it learnt from, its steps and final loss (null: not read). */
    readonly corpusRows: number,
    readonly steps: number,
    readonly trainLoss: number | null,
    /** The fingerprints of its corpus (sorted; empty for 'tiny', whose seed set is part of the pool). */
    readonly hashes: Uint32Array = new Uint32Array(0),
    /** Its own labelled rows, which open static (and anchor) examples: its corpus, or the tiny one's seed set (set again on a resume). */
    public ownRows: readonly LabelledRow[] = [],
  ) {}

  /**
   * Write requests for `labels`, each opened by the first `prefixTokens`
   * tokens (its own) of a random row of that class from its own rows (no
   * rows, or 0 tokens: from the class alone).
   */
  openings(labels: readonly number[], prefixTokens: number, key: Key): WriteJob[] {
    const rng = new Rng(key);
    const byClass = new Map<number, LabelledRow[]>();
    for (const r of this.ownRows) byClass.set(r.label, [...(byClass.get(r.label) ?? []), r]);
    return labels.map((label) => {
      const rows = prefixTokens > 0 ? (byClass.get(label) ?? []) : [];
      const prefix = rows.length === 0 ? [] : this.model.encode(normalise(rows[rng.int(rows.length)]!.text)).slice(0, prefixTokens);
      return { label, prefix, hard: null };
    });
  }

  /** Whether it runs on a backend of its own (disposed with the replicate). */
  get ownBackend(): boolean {
    return this.origin !== 'tiny';
  }

  /** Method m's copy (the base until m has adapted it). */
  params(m: SymbiosisMethod): Float32Array {
    return this.#adapted.get(m) ?? this.base;
  }

  setAdapted(m: SymbiosisMethod, params: Float32Array): void {
    this.#adapted.set(m, params);
  }

  /** The adapted copies, for a checkpoint. */
  adaptedCopies(): [SymbiosisMethod, Float32Array][] {
    return [...this.#adapted];
  }

  /** What a checkpoint's state needs to rebuild a trained corpus Generator (its parameters travel as extra 'generator'). */
  toState(): TrainedGenerator | null {
    if (this.origin !== 'trained') return null;
    return {
      config: this.model.gpt, tokenizer: this.model.tok.toJSON(), maxTokens: this.model.maxTokens, corpusRows: this.corpusRows,
      corpusHashes: hashesToBase64(this.hashes), steps: this.steps, trainLoss: this.trainLoss,
    };
  }

  /** As a Generator file's contents (generator.ts) for a dataset's classes. */
  toFile(dataset: string, labelNames: readonly string[], quality: unknown): GeneratorFile {
    return {
      config: this.model.gpt, params: this.base, tokenizer: this.model.tok, dataset, labelNames: [...labelNames], maxTokens: this.model.maxTokens,
      corpusRows: this.corpusRows, corpusHashes: this.hashes, steps: this.steps, trainLoss: this.trainLoss, quality,
    };
  }
}

/** The corpus Generator's shape for a tokenizer: text up to `maxTokens`, rows BOS · label · SEP · text · EOS. */
export function generatorGpt(c: SymbiosisConfig, vocabSize: number, maxTokens: number): GptConfig {
  return { vocabSize, contextLength: maxTokens + 4, dModel: c.generatorDModel, nLayers: c.generatorLayers, nHeads: c.generatorHeads };
}

/** A TextModel for a corpus Generator on a fresh backend. */
async function corpusModel(c: SymbiosisConfig, session: SymbiosisSession, tok: TextModel['tok'], gpt: GptConfig, K: number, maxTokens: number) {
  return new TextModel(c, session, tok, gpt, await session.ctx.createBackend(gpt), K, maxTokens);
}

/**
 * Train a corpus Generator: its BPE on (the first GENERATOR_BPE_TEXTS of) its
 * corpus, its GPT from `initKey`, `generatorSteps` steps of write rows
 * BOS · label · SEP · text · EOS in the order of `orderKey`.
 */
export async function trainCorpusGenerator(
  c: SymbiosisConfig, session: SymbiosisSession, corpus: readonly LabelledRow[], K: number,
  keys: { init: Parameters<typeof initParams>[1]; order: Parameters<typeof cycler>[2] }, phase: string,
): Promise<InLabGenerator> {
  const tok = trainBpe(corpus.slice(0, GENERATOR_BPE_TEXTS).map((r) => r.text), { vocabSize: c.generatorVocabSize });
  const gpt = generatorGpt(c, tok.vocabSize, c.generatorMaxTokens);
  const model = await corpusModel(c, session, tok, gpt, K, c.generatorMaxTokens);
  const tokens = corpus.map((r) => model.encode(r.text));
  const next = cycler(corpus.length, Math.min(c.generatorBatchSize, corpus.length), keys.order);
  const trained = await model.train(
    initParams(gpt, keys.init), c.generatorSteps, () => model.writeBatch(next().map((i) => ({ tokens: tokens[i]!, label: corpus[i]!.label }))),
    c.generatorLearningRate, phase, 0,
  );
  session.progress(phase, c.generatorSteps);
  return new InLabGenerator(
    model, trained.params, 'trained', corpus.length, c.generatorSteps, trained.loss, corpusHashes(corpus.map((r) => r.text)), corpus,
  );
}

/** A corpus Generator from a file (checked against the dataset's classes by the caller); `ownRows`: the dataset's rows of its corpus. */
export async function loadCorpusGenerator(
  c: SymbiosisConfig, session: SymbiosisSession, file: GeneratorFile, ownRows: readonly LabelledRow[],
): Promise<InLabGenerator> {
  const model = await corpusModel(c, session, file.tokenizer, file.config, file.labelNames.length, file.maxTokens);
  return new InLabGenerator(model, file.params, 'loaded', file.corpusRows, file.steps, file.trainLoss, file.corpusHashes, ownRows);
}

/** A trained corpus Generator again, from a checkpoint's state and its parameters. */
export async function restoreCorpusGenerator(
  c: SymbiosisConfig, session: SymbiosisSession, saved: TrainedGenerator, params: Float32Array, K: number,
): Promise<InLabGenerator> {
  let tok: TextModel['tok'];
  try {
    tok = tokenizerFromJSON(saved.tokenizer as TokenizerJson);
  } catch (e) {
    throw new CheckpointError(`this checkpoint's Generator tokenizer cannot be read (${(e as Error).message}): it cannot continue`);
  }
  const model = await corpusModel(c, session, tok, saved.config, K, saved.maxTokens);
  return new InLabGenerator(model, params, 'trained', saved.corpusRows, saved.steps, saved.trainLoss, hashesFromBase64(saved.corpusHashes));
}
