/**
 * Word-level tokenizer over a fixed vocabulary: for corpora whose words are
 * known (the collapse lab's generated grammar) or were counted up front (an
 * uploaded text, normalised and capped to its most frequent words).
 *
 * Ids: words[i] → i for i < n, then BOS = n, EOS = n + 1, PAD = n + 2, so
 * vocabSize = n + 3 (the layout of the char tokenizer).
 *
 * Text is words separated by single spaces; `encode` splits on any run of
 * whitespace. A word outside the vocabulary maps to the vocabulary's own
 * `<unk>` entry when it has one (a capped vocabulary), and is an
 * UnknownWordError otherwise (a grammar's vocabulary is exact, and a silent
 * UNK there would turn a mismatch into wrong validity numbers).
 */
import { ConfigError } from '../schema';
import type { Tokenizer } from './index';

/** The vocabulary entry that stands for every out-of-vocabulary word, when present. */
export const UNK_WORD = '<unk>';

/** The saved form of a word tokenizer. */
export interface WordTokenizerJson {
  format: 'symbiosis-lab/tokenizer';
  version: 1;
  kind: 'word';
  /** The vocabulary in id order. */
  words: string[];
}

/** Raised by `encode` for a word outside a vocabulary without `<unk>`. */
export class UnknownWordError extends Error {
  constructor(readonly word: string, readonly position: number) {
    super(`unknown word ${JSON.stringify(word)} at word ${position}: it is not in the tokenizer's vocabulary`);
    this.name = 'UnknownWordError';
  }
}

export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  /** The id of `<unk>`, or null when the vocabulary has none. */
  readonly unk: number | null;
  private readonly ids = new Map<string, number>();

  /** Throws a ConfigError on an empty vocabulary, a duplicate, or a word that is empty or holds whitespace. */
  constructor(readonly words: readonly string[]) {
    const problems: { field: string; message: string }[] = [];
    if (words.length === 0) problems.push({ field: 'words', message: 'must not be empty' });
    words.forEach((w, i) => {
      if (w === '' || /\s/.test(w)) problems.push({ field: 'words', message: `word ${i} ${JSON.stringify(w)} is empty or holds whitespace` });
      const first = this.ids.get(w);
      if (first !== undefined) problems.push({ field: 'words', message: `duplicate word ${JSON.stringify(w)} at ${first} and ${i}` });
      else this.ids.set(w, i);
    });
    if (problems.length > 0) throw new ConfigError('word tokenizer', problems);
    const n = words.length;
    this.bos = n;
    this.eos = n + 1;
    this.pad = n + 2;
    this.vocabSize = n + 3;
    this.unk = this.ids.get(UNK_WORD) ?? null;
  }

  /** Words → ids; an unknown word becomes `<unk>` or throws UnknownWordError (see the file comment). */
  encode(text: string): number[] {
    const out: number[] = [];
    const parts = text.split(/\s+/).filter((w) => w !== '');
    parts.forEach((w, position) => {
      const id = this.ids.get(w) ?? this.unk;
      if (id === null) throw new UnknownWordError(w, position);
      out.push(id);
    });
    return out;
  }

  /** Ids → words joined by single spaces; BOS/EOS/PAD are dropped. */
  decode(ids: readonly number[]): string {
    const words: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`decode: id ${id} at position ${i} is outside [0, ${this.vocabSize})`);
      }
      if (id < this.words.length) words.push(this.words[id]!);
    }
    return words.join(' ');
  }

  /** The id of a vocabulary word, or undefined. */
  idOf(word: string): number | undefined {
    return this.ids.get(word);
  }

  toJSON(): WordTokenizerJson {
    return { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'word', words: [...this.words] };
  }
}
