/**
 * Character-level tokenizer over a fixed alphabet.
 *
 * A "character" is a Unicode code point (so '😀' is one character, not two
 * UTF-16 units). Ids: alphabet[i] → i for i < n, then BOS = n, EOS = n + 1,
 * PAD = n + 2, so vocabSize = n + 3.
 *
 * Choice: a character outside the alphabet is an ERROR (UnknownCharacterError,
 * naming the character and its position), not an UNK id. The char tokenizer
 * serves corpora whose alphabet is known exactly — generated grammars, puzzles
 * — where every metric (validity, perplexity under the true distribution)
 * assumes the text the model saw is the text that was written. A silent UNK
 * would turn an alphabet mismatch (a preset built from another corpus, a
 * prompt with a stray character) into wrong numbers instead of a message.
 */
import { ConfigError } from '../schema';
import type { Tokenizer } from './index';

/** The saved form of a char tokenizer. */
export interface CharTokenizerJson {
  format: 'symbiosis-lab/tokenizer';
  version: 1;
  kind: 'char';
  /** The alphabet in id order, as one string of code points. */
  alphabet: string;
}

/** Raised by `encode` for a character that is not in the alphabet. */
export class UnknownCharacterError extends Error {
  constructor(
    readonly char: string,
    /** Index of the character in code points (not UTF-16 units) from the start of the text. */
    readonly position: number,
  ) {
    super(`unknown character ${describeChar(char)} at position ${position}: it is not in the tokenizer's alphabet`);
    this.name = 'UnknownCharacterError';
  }
}

/** A character as JSON-quoted text plus its code point: "'\n' (U+000A)". */
function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** The sorted set of code points of a corpus, as an alphabet string (sorted by code point: deterministic). */
export function alphabetFromCorpus(corpus: string | readonly string[]): string {
  const texts = typeof corpus === 'string' ? [corpus] : corpus;
  const seen = new Set<number>();
  for (const text of texts) {
    for (const ch of text) seen.add(ch.codePointAt(0)!);
  }
  // Numeric sort on code points; the default string sort compares UTF-16
  // units, which puts astral characters (surrogates, 0xD800…) before U+E000–U+FFFF.
  return [...seen].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp)).join('');
}

/** One id per code point of a fixed alphabet; see the file comment for the id layout. */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  /** id → character, for ids < alphabet size. */
  private readonly chars: string[];
  private readonly ids = new Map<string, number>();

  /** A tokenizer whose ids are the code points of `alphabet` in order; throws a ConfigError on duplicates. */
  constructor(readonly alphabet: string) {
    this.chars = [...alphabet];
    const problems: { field: string; message: string }[] = [];
    if (this.chars.length === 0) problems.push({ field: 'alphabet', message: 'must not be empty' });
    this.chars.forEach((ch, i) => {
      const cp = ch.codePointAt(0)!;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        problems.push({ field: 'alphabet', message: `lone surrogate ${describeChar(ch)} at position ${i} is not a character` });
      }
      const first = this.ids.get(ch);
      if (first !== undefined) {
        problems.push({ field: 'alphabet', message: `duplicate character ${describeChar(ch)} at positions ${first} and ${i}` });
      } else {
        this.ids.set(ch, i);
      }
    });
    if (problems.length > 0) throw new ConfigError('char tokenizer', problems);
    const n = this.chars.length;
    this.bos = n;
    this.eos = n + 1;
    this.pad = n + 2;
    this.vocabSize = n + 3;
  }

  /** Text → one id per code point; throws UnknownCharacterError for a character outside the alphabet. */
  encode(text: string): number[] {
    const out: number[] = [];
    let position = 0;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id === undefined) throw new UnknownCharacterError(ch, position);
      out.push(id);
      position++;
    }
    return out;
  }

  /** Ids → text; BOS/EOS/PAD are dropped. */
  decode(ids: readonly number[]): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`decode: id ${id} at position ${i} is outside [0, ${this.vocabSize})`);
      }
      if (id < this.chars.length) text += this.chars[id]!;
    }
    return text;
  }

  toJSON(): CharTokenizerJson {
    return { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'char', alphabet: this.alphabet };
  }
}
