/**
 * A plain-text corpus a visitor uploads as the collapse lab's "real" data:
 * checked, cut into sentences and words, and given a capped vocabulary.
 *
 *   bytes → UTF-8 text (a decoding error names the byte offset)
 *         → sentences: one per non-empty line; a line holding several
 *           sentences is cut after . ! or ? followed by a space
 *         → words: lower-cased runs of letters, digits and inner apostrophes
 *           (punctuation is dropped); sentences keep at most `maxWords` words
 *           and need at least `minWords`
 *         → vocabulary: the `maxVocab` most frequent words (ties by first
 *           appearance) seen at least `minCount` times, plus `<unk>` for the rest.
 *
 * Every check fails with a CorpusError that says what to change.
 */
import { UNK_WORD } from '../tokenizer/word';
import { decodeUtf8Strict } from '../utf8';

export interface PlainTextOptions {
  /** Largest accepted file, in bytes. */
  maxBytes: number;
  /** Fewest usable sentences. */
  minSentences: number;
  minWords: number;
  maxWords: number;
  /** Most words in the vocabulary (`<unk>` not counted). */
  maxVocab: number;
  /** A word seen fewer times than this becomes `<unk>`. */
  minCount: number;
}

export const defaultPlainTextOptions: PlainTextOptions = {
  maxBytes: 5 * 1024 * 1024,
  minSentences: 300,
  minWords: 3,
  maxWords: 20,
  maxVocab: 1000,
  minCount: 2,
};

export interface PlainTextCorpus {
  /** Sentences as words, `<unk>` already substituted, in file order. */
  sentences: string[][];
  /** The vocabulary, most frequent first, `<unk>` last. */
  vocabulary: string[];
  /** Lines dropped for having fewer than minWords words. */
  droppedShort: number;
  /** Word tokens replaced by `<unk>`, of all word tokens kept. */
  unknownShare: number;
}

export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusError';
  }
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** Lower-cased words of a sentence, punctuation dropped. */
export function wordsOf(sentence: string): string[] {
  return (sentence.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/’/g, "'"));
}

/** Parse an uploaded text file; throws CorpusError naming the problem. */
export function parsePlainText(bytes: Uint8Array, fileName: string, options: Partial<PlainTextOptions> = {}): PlainTextCorpus {
  const o = { ...defaultPlainTextOptions, ...options };
  if (bytes.length === 0) throw new CorpusError(`${fileName}: the file is empty`);
  if (bytes.length > o.maxBytes) {
    throw new CorpusError(`${fileName}: ${(bytes.length / 1048576).toFixed(1)} MiB is more than the ${(o.maxBytes / 1048576).toFixed(0)} MiB this lab takes; upload a shorter excerpt`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new CorpusError(`${fileName}: not a text file (a NUL byte at byte ${nul}); upload a .txt file`);
  const decoded = decodeUtf8Strict(bytes);
  if (!('text' in decoded)) {
    throw new CorpusError(`${fileName}: not UTF-8 text (an invalid byte sequence at byte ${decoded.badByte}); save the file as UTF-8 plain text`);
  }
  const text = decoded.text;
  const sentences: string[][] = [];
  let droppedShort = 0;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.trim() === '') continue;
    for (const piece of line.split(/(?<=[.!?])\s+/)) {
      const words = wordsOf(piece);
      if (words.length === 0) continue;
      if (words.length < o.minWords) {
        droppedShort++;
        continue;
      }
      sentences.push(words.slice(0, o.maxWords));
    }
  }
  if (sentences.length < o.minSentences) {
    throw new CorpusError(
      `${fileName}: ${sentences.length} usable sentences (of at least ${o.minWords} words); the lab needs at least ${o.minSentences}`
      + (droppedShort > 0 ? ` (${droppedShort} shorter ones were skipped)` : ''),
    );
  }
  const counts = new Map<string, number>();
  for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const order = [...counts.keys()]; // Map keeps first-appearance order: the tie-break
  const recurring = order
    .map((w, i) => ({ w, c: counts.get(w)!, i }))
    .filter((x) => x.c >= o.minCount)
    .sort((a, b) => b.c - a.c || a.i - b.i);
  if (recurring.length < 10) {
    throw new CorpusError(`${fileName}: only ${recurring.length} words occur ${o.minCount} or more times; the lab needs a text with at least 10 recurring words`);
  }
  const kept = recurring.slice(0, o.maxVocab).map((x) => x.w);
  const vocab = new Set(kept);
  let unknown = 0;
  let total = 0;
  const mapped = sentences.map((s) => s.map((w) => {
    total++;
    if (vocab.has(w)) return w;
    unknown++;
    return UNK_WORD;
  }));
  return { sentences: mapped, vocabulary: [...kept, UNK_WORD], droppedShort, unknownShare: unknown / total };
}
