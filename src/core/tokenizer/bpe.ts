/**
 * Byte-level BPE (GPT-2 style), trained inside the lab.
 *
 * Vocabulary, in id order:
 *   0…255      the bytes (every UTF-8 string is representable: no UNK)
 *   256, 257, 258  BOS, EOS, PAD
 *   259 + r    the r-th merge: the concatenation of its two parts' bytes
 * so vocabSize = 259 + merges.length.
 *
 * Pre-tokenization: GPT-2's regex, with Unicode classes, splits text into
 * contractions, letter runs, number runs, punctuation runs (each optionally
 * led by one space) and whitespace runs. Merges never cross a pre-token
 * boundary, so tokens are "word pieces" and training can count each unique
 * word once, weighted by its frequency.
 *
 * Training (Sennrich et al. 2016, with the bookkeeping of HF `tokenizers`):
 *   - counts[pair] = Σ over words of freq · occurrences of the pair;
 *   - where[pair] = the words the pair occurs in (may hold stale entries);
 *   - each step takes the most frequent pair — TIE RULE: the highest count
 *     wins; among equal counts the pair with the smaller left id, then the
 *     smaller right id (so byte order decides among raw bytes);
 *   - it is merged only in the words listed for it, and only the counts of
 *     the pairs around each merged occurrence change. A lazy max-heap holds
 *     one entry per count change; stale entries are dropped when popped.
 * Cost per merge: the total length of the words holding the pair — a few
 * seconds for a couple of MB of text.
 *
 * Encoding applies the merges by rank (lowest first, leftmost first within a
 * rank), which reproduces the training-time segmentation; a linked list and
 * a heap keep it O(n log n) even for a pre-token of thousands of bytes (CJK
 * text has no spaces). Results are cached per pre-token.
 */
import { ConfigError } from '../schema';
import type { Tokenizer } from './index';

/** The saved form of a BPE tokenizer. */
export interface BpeTokenizerJson {
  format: 'symbiosis-lab/tokenizer';
  version: 1;
  kind: 'bpe';
  /** Which pre-tokenization regex; only GPT-2's exists. */
  pretokenizer: 'gpt2';
  /** 259 + merges.length, stored as a check against a truncated file. */
  vocabSize: number;
  /** merges[r] = [left, right]: their concatenation is token 259 + r. */
  merges: [number, number][];
}

export interface BpeTrainOptions {
  /** Upper bound on the vocabulary (bytes + 3 specials + merges); at least 259. */
  vocabSize: number;
  /**
   * Stop merging when the best pair occurs fewer times than this (default 2:
   * a pair seen once only memorises the corpus). The vocabulary may then be
   * smaller than `vocabSize`; read the tokenizer's `vocabSize`.
   */
  minPairCount?: number;
}

const NUM_BYTES = 256;
const BOS = 256;
const EOS = 257;
const PAD = 258;
const FIRST_MERGE_ID = 259;
/** Pair keys pack (left, right) as left · 2^21 + right, exact below 2^53. */
const KEY_BASE = 2 ** 21;
/** Largest supported vocabulary (ids must fit the pair key). */
export const MAX_BPE_VOCAB = KEY_BASE;
/** Pre-tokens longer than this (in UTF-16 units) are encoded but not cached. */
const CACHE_MAX_WORD = 256;
/** The encode cache is emptied when it reaches this many words. */
const CACHE_MAX_ENTRIES = 100_000;

/** GPT-2's pre-tokenizer (openai/gpt-2 encoder.py), with the `u` flag for \p{L}/\p{N}. */
const PRETOKEN = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const pairKey = (a: number, b: number): number => a * KEY_BASE + b;

const utf8Encoder = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF (the default strips it, breaking round trips).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Throw if `text` holds a lone UTF-16 surrogate: it has no UTF-8 form, so it could not round-trip. */
function assertWellFormed(text: string, what: string): void {
  const m = /\p{Cs}/u.exec(text);
  if (m) {
    const unit = text.charCodeAt(m.index).toString(16).toUpperCase();
    throw new Error(`${what}: lone surrogate U+${unit} at UTF-16 index ${m.index} has no UTF-8 encoding`);
  }
}

/** Split text into GPT-2 pre-tokens; their concatenation is the text. */
export function pretokenize(text: string): string[] {
  return text.match(PRETOKEN) ?? [];
}

/** A binary heap; `before(x, y)` is true when x must come out first. */
class Heap<T> {
  private items: T[] = [];
  constructor(private readonly before: (x: T, y: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && this.before(a[l]!, a[best]!)) best = l;
        if (r < a.length && this.before(a[r]!, a[best]!)) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best]!, a[i]!];
        i = best;
      }
    }
    return top;
  }
}

/** A candidate merge in the training heap: `count` as of when it was pushed. */
interface PairEntry {
  count: number;
  a: number;
  b: number;
}

/** The tie rule: higher count first, then smaller left id, then smaller right id. */
const pairBefore = (x: PairEntry, y: PairEntry): boolean =>
  x.count !== y.count ? x.count > y.count : x.a !== y.a ? x.a < y.a : x.b < y.b;

/** Train a byte-level BPE on `corpus` (one text or many; merges never cross texts). Deterministic. */
export function trainBpe(corpus: string | readonly string[], options: BpeTrainOptions): BpeTokenizer {
  const { vocabSize } = options;
  const minPairCount = options.minPairCount ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE_ID || vocabSize > MAX_BPE_VOCAB) {
    throw new ConfigError('BPE training', [{
      field: 'vocabSize',
      message: `must be an integer in [${FIRST_MERGE_ID}, ${MAX_BPE_VOCAB}] (256 bytes + 3 specials + merges), got ${vocabSize}`,
    }]);
  }
  if (!Number.isInteger(minPairCount) || minPairCount < 1) {
    throw new ConfigError('BPE training', [{ field: 'minPairCount', message: `must be a positive integer, got ${minPairCount}` }]);
  }

  // 1. Unique pre-tokens with their frequencies (Map order = first occurrence: deterministic).
  const wordFreq = new Map<string, number>();
  const texts = typeof corpus === 'string' ? [corpus] : corpus;
  for (const text of texts) {
    assertWellFormed(text, 'trainBpe');
    for (const m of text.matchAll(PRETOKEN)) wordFreq.set(m[0], (wordFreq.get(m[0]) ?? 0) + 1);
  }
  // words[w]: the current symbols of unique word w (mutated by merges); freqs[w]: its count.
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [word, freq] of wordFreq) {
    words.push(Array.from(utf8Encoder.encode(word)));
    freqs.push(freq);
  }

  // 2. Initial pair counts and where-lists.
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  const noteWord = (key: number, w: number): void => {
    const list = where.get(key);
    if (list === undefined) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < words.length; w++) {
    const s = words[w]!;
    const f = freqs[w]!;
    for (let i = 0; i + 1 < s.length; i++) {
      const key = pairKey(s[i]!, s[i + 1]!);
      counts.set(key, (counts.get(key) ?? 0) + f);
      noteWord(key, w);
    }
  }
  const heap = new Heap<PairEntry>(pairBefore);
  for (const [key, count] of counts) heap.push({ count, a: Math.floor(key / KEY_BASE), b: key % KEY_BASE });

  // 3. Merge until the vocabulary is full or no pair is frequent enough.
  const merges: [number, number][] = [];
  const visited = new Int32Array(words.length).fill(-1); // merge index that last touched word w
  const changed = new Set<number>();
  while (FIRST_MERGE_ID + merges.length < vocabSize) {
    let top = heap.pop();
    while (top !== undefined && counts.get(pairKey(top.a, top.b)) !== top.count) top = heap.pop(); // stale
    if (top === undefined || top.count < minPairCount) break;
    const { a, b } = top;
    const merged = pairKey(a, b);
    const c = FIRST_MERGE_ID + merges.length;
    const step = merges.length;
    merges.push([a, b]);
    changed.clear();
    const add = (x: number, y: number, delta: number, w: number): void => {
      const key = pairKey(x, y);
      if (key === merged) return; // the merged pair's count is dropped wholesale below
      counts.set(key, (counts.get(key) ?? 0) + delta);
      if (delta > 0) noteWord(key, w);
      changed.add(key);
    };
    for (const w of where.get(merged) ?? []) {
      if (visited[w] === step) continue; // listed twice
      visited[w] = step;
      const s = words[w]!;
      const f = freqs[w]!;
      const n = s.length;
      // Merge left to right, non-overlapping, in place (j = write index).
      // Around each occurrence x [a b] y: (x,a) → (x,c) and (b,y) → (c,y); x
      // is read from the already-rewritten part, so "a b a b" gives c c.
      let j = 0;
      for (let i = 0; i < n;) {
        if (i + 1 < n && s[i] === a && s[i + 1] === b) {
          if (j > 0) {
            add(s[j - 1]!, a, -f, w);
            add(s[j - 1]!, c, f, w);
          }
          if (i + 2 < n) {
            add(b, s[i + 2]!, -f, w);
            add(c, s[i + 2]!, f, w);
          }
          s[j++] = c;
          i += 2;
        } else {
          s[j++] = s[i++]!;
        }
      }
      s.length = j;
    }
    counts.delete(merged);
    where.delete(merged);
    for (const key of changed) {
      const count = counts.get(key)!;
      if (count > 0) heap.push({ count, a: Math.floor(key / KEY_BASE), b: key % KEY_BASE });
      else counts.delete(key);
    }
  }
  return new BpeTokenizer(merges);
}

/** A byte-level BPE tokenizer defined by its merge list (see the file comment). */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly bos = BOS;
  readonly eos = EOS;
  readonly pad = PAD;
  readonly merges: readonly (readonly [number, number])[];
  /** pairKey(left, right) → merge rank r (the token is 259 + r). */
  private readonly ranks = new Map<number, number>();
  /** id → its bytes (empty for the specials). */
  private readonly bytes: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  /** A tokenizer from its merge list; throws a ConfigError naming the first bad merge. */
  constructor(merges: readonly (readonly [number, number])[]) {
    this.vocabSize = FIRST_MERGE_ID + merges.length;
    if (this.vocabSize > MAX_BPE_VOCAB) {
      throw new ConfigError('BPE tokenizer', [{ field: 'merges', message: `${merges.length} merges exceed the largest vocabulary ${MAX_BPE_VOCAB}` }]);
    }
    for (let i = 0; i < NUM_BYTES; i++) this.bytes.push(Uint8Array.of(i));
    for (let i = NUM_BYTES; i < FIRST_MERGE_ID; i++) this.bytes.push(new Uint8Array(0));
    merges.forEach(([a, b], r) => {
      const id = FIRST_MERGE_ID + r;
      const bad = (message: string) => new ConfigError('BPE tokenizer', [{ field: `merges.${r}`, message }]);
      for (const part of [a, b]) {
        if (!Number.isInteger(part) || part < 0 || part >= id) {
          throw bad(`token id ${part} is not defined before this merge (it may only use ids below ${id})`);
        }
        if (part >= NUM_BYTES && part < FIRST_MERGE_ID) throw bad(`token id ${part} is a special token; specials are never merged`);
      }
      const key = pairKey(a, b);
      const earlier = this.ranks.get(key);
      if (earlier !== undefined) throw bad(`duplicates merge ${earlier} [${a}, ${b}]`);
      this.ranks.set(key, r);
      const left = this.bytes[a]!;
      const right = this.bytes[b]!;
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left);
      joined.set(right, left.length);
      this.bytes.push(joined);
    });
    this.merges = merges.map(([a, b]) => [a, b] as const);
  }

  /** The bytes a token stands for (a copy; empty for specials). */
  tokenBytes(id: number): Uint8Array {
    const bytes = this.bytes[id];
    if (bytes === undefined) throw new Error(`tokenBytes: id ${id} is outside [0, ${this.vocabSize})`);
    return bytes.slice();
  }

  /** Text → ids: pre-tokenize, then merge each pre-token's UTF-8 bytes by rank. Throws on lone surrogates. */
  encode(text: string): number[] {
    assertWellFormed(text, 'encode');
    const out: number[] = [];
    for (const m of text.matchAll(PRETOKEN)) {
      const word = m[0];
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(utf8Encoder.encode(word));
        if (word.length <= CACHE_MAX_WORD) {
          if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
          this.cache.set(word, ids);
        }
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  /**
   * One pre-token's bytes → ids. Symbols form a linked list over byte
   * positions; the heap holds (rank, left position) of candidate pairs, packed
   * as rank · 2^32 + position so that plain number order is "lowest rank, then
   * leftmost". An entry is stale when its left symbol died or its pair changed.
   */
  private encodeWord(bytes: Uint8Array): number[] {
    const n = bytes.length;
    if (n < 2) return Array.from(bytes);
    const sym = Int32Array.from(bytes);
    const next = new Int32Array(n); // next live position, -1 at the end
    const prev = new Int32Array(n); // previous live position, -1 at the start
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new Heap<number>((x, y) => x < y);
    const pushPair = (i: number): void => {
      const j = next[i]!;
      if (j < 0) return;
      const r = this.ranks.get(pairKey(sym[i]!, sym[j]!));
      if (r !== undefined) heap.push(r * 2 ** 32 + i);
    };
    for (let i = 0; i + 1 < n; i++) pushPair(i);
    while (heap.size > 0) {
      const entry = heap.pop()!;
      const r = Math.floor(entry / 2 ** 32);
      const i = entry % 2 ** 32;
      const j = next[i]!;
      if (!alive[i] || j < 0 || this.ranks.get(pairKey(sym[i]!, sym[j]!)) !== r) continue;
      // Merge j into i.
      sym[i] = FIRST_MERGE_ID + r;
      alive[j] = 0;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      if (prev[i]! >= 0) pushPair(prev[i]!);
      pushPair(i);
    }
    const ids: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) ids.push(sym[i]!);
    return ids;
  }

  /** Ids → text: concatenate the tokens' bytes and decode UTF-8 (invalid sequences become U+FFFD); specials are dropped. */
  decode(ids: readonly number[]): string {
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytes[ids[i]!];
      if (bytes === undefined) throw new Error(`decode: id ${ids[i]} at position ${i} is outside [0, ${this.vocabSize})`);
      length += bytes.length;
    }
    const buffer = new Uint8Array(length);
    let offset = 0;
    for (const id of ids) {
      const bytes = this.bytes[id]!;
      buffer.set(bytes, offset);
      offset += bytes.length;
    }
    return utf8Decoder.decode(buffer);
  }

  toJSON(): BpeTokenizerJson {
    return {
      format: 'symbiosis-lab/tokenizer',
      version: 1,
      kind: 'bpe',
      pretokenizer: 'gpt2',
      vocabSize: this.vocabSize,
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }
}
