/**
 * A GPT the lab trains, on one backend: the Student, the tiny Generator and
 * the Recursive Student as a writer are one architecture with different
 * parameters; the corpus Generator is another TextModel with its own shape,
 * tokenizer and backend. Here are the rows each trains on, training from
 * given parameters, the Student's posteriors over the labels, writing
 * labelled examples, and a writer's loss on given texts. The row formats
 * (docs/symbiosis.md, "The Student"):
 *   classify  BOS · text[:maxTextTokens] · SEP → label token
 *   write     BOS · label token · SEP → text · EOS
 *   pretrain  BOS · text · EOS (plain LM)
 */
import type { Backend } from '../../core/backend';
import type { GptConfig } from '../../core/gpt/config';
import { type Key, Rng, foldIn } from '../../core/rng';
import { generate } from '../../core/sample';
import type { Tokenizer } from '../../core/tokenizer';
import { type WeightedRow, weightedBatch } from '../../core/train';
import { type StepPoint, epochCycler, finalLoss, phaseOptim, resetOptimizer, trainPhase } from '../phases';
import type { RunSession } from '../session';
import type { SymbiosisConfig } from './config';
import type { ReplicateState, SymbiosisPosition, SymbiosisRecord } from './records';
import { LABEL_BYTES, MIN_WORDS, SEP, isInvalidText, normalise, words } from './text';

export type SymbiosisSession = RunSession<SymbiosisRecord, SymbiosisPosition, ReplicateState>;

/** A labelled example (label: the class id). */
export interface Example {
  text: string;
  label: number;
}

/** A written example, and the hard example it was written around (index into that generation's list), else null. */
export interface Written extends Example {
  hard: number | null;
}

/** What a writer produced: the usable examples, the outputs dropped by reason, and how many it wrote. */
export interface WriteOutput {
  written: Written[];
  dropped: Record<string, number>;
  generated: number;
}

/** One example for a tiny model to write: its label, the tokens it starts with, the hard example it is written around. */
export interface WriteJob {
  label: number;
  prefix: number[];
  hard: number | null;
}

/** Rows in a shuffled cycle through `count` items, `perStep` at a time (epoch after epoch). */
export function cycler(count: number, perStep: number, key: Key): () => number[] {
  const next = epochCycler(count, new Rng(key));
  return () => next(perStep);
}

export class TextModel {
  /** Label k's token (text.ts). */
  readonly labelTokens: readonly number[];

  /**
   * `maxTokens`: the text tokens it reads and writes at most (the Student and
   * the tiny Generator: maxTextTokens; the corpus Generator: its own).
   */
  constructor(
    readonly c: SymbiosisConfig, readonly session: SymbiosisSession, readonly tok: Tokenizer,
    readonly gpt: GptConfig, readonly backend: Backend, numClasses: number, readonly maxTokens: number = c.maxTextTokens,
  ) {
    this.labelTokens = LABEL_BYTES.slice(0, numClasses);
  }

  /** A text's tokens as this model sees them (cut to maxTokens). */
  encode(text: string): number[] {
    return this.tok.encode(text).slice(0, this.maxTokens);
  }

  /** The prompt of the write direction: BOS · label · SEP. */
  writePrompt(label: number): number[] {
    return [this.tok.bos, this.labelTokens[label]!, SEP];
  }

  /** The write direction, prompt → text · EOS, each target token weighted `weight`. */
  writeRow(tokens: readonly number[], label: number, weight: number): WeightedRow {
    const prompt = this.writePrompt(label);
    const row = [...prompt, ...tokens, this.tok.eos];
    return { tokens: row, weights: row.slice(1).map((_, t) => (t >= prompt.length - 1 ? weight : 0)) };
  }

  /** Target tokens of a write row: the text and EOS. */
  writeTargets(tokens: readonly number[]): number {
    return tokens.length + 1;
  }

  /** Write rows for `picked` examples, the weights a mean over all their target tokens. */
  writeBatch(picked: readonly { tokens: readonly number[]; label: number }[]): WeightedRow[] {
    const targets = picked.reduce((s, e) => s + this.writeTargets(e.tokens), 0);
    return picked.map((e) => this.writeRow(e.tokens, e.label, 1 / targets));
  }

  /** Plain-LM rows BOS · text · EOS, the weights a mean over all their target tokens. */
  lmBatch(texts: readonly (readonly number[])[]): WeightedRow[] {
    const rows = texts.map((t) => [this.tok.bos, ...t, this.tok.eos]);
    const targets = rows.reduce((s, r) => s + r.length - 1, 0);
    return rows.map((r) => ({ tokens: r, weights: r.slice(1).map(() => 1 / targets) }));
  }

  /**
   * The Student's batch: per example a classify row (weight 1/b) and, where
   * `write` says so, a write row (lmWeight / write targets in the batch).
   */
  studentBatch(examples: readonly { tokens: number[]; label: number; write: boolean }[]): WeightedRow[] {
    const b = examples.length;
    const writers = this.c.lmWeight > 0 ? examples.filter((e) => e.write) : [];
    const targets = writers.reduce((s, e) => s + this.writeTargets(e.tokens), 0);
    const rows: WeightedRow[] = examples.map((e) => {
      const row = [this.tok.bos, ...e.tokens, SEP, this.labelTokens[e.label]!];
      return { tokens: row, weights: row.slice(1).map((_, t) => (t === row.length - 2 ? 1 / b : 0)) };
    });
    for (const e of writers) rows.push(this.writeRow(e.tokens, e.label, this.c.lmWeight / targets));
    return rows;
  }

  /** Train from `from` for `steps` steps on batches from `nextRows` (fresh AdamW moments); returns the params and the mean of the last losses read. */
  async train(
    from: Float32Array, steps: number, nextRows: (step: number) => WeightedRow[], lr: number, phase: string, stepOffset: number,
  ): Promise<{ params: Float32Array; loss: number | null; points: StepPoint[] }> {
    await this.backend.setParams(from);
    if (steps === 0) return { params: from, loss: null, points: [] };
    await resetOptimizer(this.backend);
    const { points } = await trainPhase(this.backend, this.session.ctx, {
      nextBatch: (s) => weightedBatch(nextRows(s)), optim: phaseOptim(lr, this.c.weightDecay, steps), steps, phase, stepOffset,
    });
    this.session.checkCancel();
    return { params: await this.backend.getParams(), loss: finalLoss(points), points };
  }

  /** p(k | text) over the K labels (softmax of the label logits at SEP), for the parameters on the backend. */
  async posteriors(texts: readonly (readonly number[])[]): Promise<Float64Array[]> {
    const out: Float64Array[] = new Array(texts.length);
    const order = [...texts.keys()].sort((a, b) => texts[a]!.length - texts[b]!.length);
    const V = this.gpt.vocabSize;
    for (let s = 0; s < order.length; s += 64) {
      const chunk = order.slice(s, s + 64);
      const seqs = chunk.map((i) => [this.tok.bos, ...texts[i]!, SEP]);
      const T = Math.max(...seqs.map((q) => q.length));
      const inputs = new Int32Array(chunk.length * T);
      seqs.forEach((q, b) => inputs.set(q, b * T));
      const logits = await this.backend.lastLogits(inputs, chunk.length, T, Int32Array.from(seqs, (q) => q.length - 1));
      chunk.forEach((i, b) => {
        const z = this.labelTokens.map((t) => logits[b * V + t]!);
        const max = Math.max(...z);
        const e = z.map((x) => Math.exp(x - max));
        const sum = e.reduce((a, x) => a + x, 0);
        out[i] = Float64Array.from(e, (x) => x / sum);
      });
    }
    return out;
  }

  /**
   * The write direction's loss on labelled texts, for the parameters on the
   * backend: per example the summed NLL (nats) of its text and EOS given
   * BOS · label · SEP, and the number of those tokens.
   */
  async writeLoss(examples: readonly { tokens: readonly number[]; label: number }[]): Promise<{ nll: number; tokens: number }[]> {
    const out: { nll: number; tokens: number }[] = [];
    for (let s = 0; s < examples.length; s += 64) {
      const chunk = examples.slice(s, s + 64);
      const rows = chunk.map((e) => this.writeRow(e.tokens, e.label, 1));
      const { perSeqLoss } = await this.backend.evaluate(weightedBatch(rows));
      chunk.forEach((e, i) => out.push({ nll: perSeqLoss[i]!, tokens: this.writeTargets(e.tokens) }));
    }
    return out;
  }

  /** Write examples with `params`: prompt BOS · label · SEP · prefix; text = prefix + the new tokens. Unusable outputs are counted and dropped. */
  async write(params: Float32Array, jobs: readonly WriteJob[], key: Key, phase: string): Promise<WriteOutput> {
    const { c, tok, session } = this;
    await this.backend.setParams(params);
    const written: Written[] = [];
    const dropped: Record<string, number> = {};
    for (let s = 0; s < jobs.length; s += 64) {
      session.checkCancel();
      const chunk = jobs.slice(s, s + 64);
      const gens = await generate(this.backend, chunk.map((j) => [...this.writePrompt(j.label), ...j.prefix]), {
        maxNewTokens: this.maxTokens - Math.max(...chunk.map((j) => j.prefix.length)) + 1,
        temperature: c.temperature, topK: 0, topP: c.topP, stopTokens: [tok.eos], key: foldIn(key, s),
      });
      gens.forEach((g, i) => {
        const job = chunk[i]!;
        const fresh = g.tokens.filter((t) => t !== tok.eos);
        const raw = tok.decode([...job.prefix, ...fresh]);
        const text = normalise(raw);
        const reason = normalise(tok.decode(fresh)) === '' ? 'empty'
          : isInvalidText(raw) ? 'invalid bytes' : words(text).length < MIN_WORDS ? 'too short' : null;
        if (reason) dropped[reason] = (dropped[reason] ?? 0) + 1;
        else written.push({ text, label: job.label, hard: job.hard });
      });
      session.progress(phase, chunk.length);
    }
    return { written, dropped, generated: jobs.length };
  }
}
