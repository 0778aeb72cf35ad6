/**
 * Tokenizers: round trips over random Unicode (seeded), the char tokenizer's
 * id layout and errors, BPE training against a naive re-implementation
 * (same merges, same tie rule), encoding against naive rank-order merging,
 * determinism, vocabulary bounds, and JSON round trips / errors.
 */
import { describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng';
import { ConfigError } from '../../src/core/schema';
import { pretokenize } from '../../src/core/tokenizer/bpe';
import {
  BpeTokenizer, CharTokenizer, UnknownCharacterError, UnknownWordError, WordTokenizer, alphabetFromCorpus, tokenizerFromJSON, trainBpe,
} from '../../src/core/tokenizer/index';

// ---------------------------------------------------------------------------
// Random text from a seeded Rng: pieces from pools that stress UTF-8 and the
// pre-tokenizer, plus uniformly random code points from every plane.
const POOLS: string[][] = [
  [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  ['the', ' the', 'The', ' quick', ' brown', ' fox', 'ing', ' and', "'s", "'ll", "'re", "n't", "I'm"],
  [...'0123456789', '2024', ' 3.14', '1e-5'],
  [...'.,;:!?-_()[]{}<>/\\|@#$%^&*+=~`"\'', '...', '!!', ' --'],
  [' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', ' \n ', '\u00a0', '\u3000', '\u2028', '\u000b', '\u000c'],
  ['é', 'è', 'ü', 'ñ', 'Å', 'ø', 'ß', 'e\u0301', 'a\u0308', 'ﬁ', 'İ', 'ǅ'],
  ['中', '文', '字', '日本語', '한국어', 'ไทย', 'العربية', 'עברית', 'Ελληνικά', 'Русский', '中文没有空格的句子很长'],
  ['😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '🏳️‍🌈', '𝔘𝔫𝔦', '🀄', '\u{1f9ea}'],
  ['\u0000', '\u0001', '\u007f', '\ufeff', '\ufffd', '\uffff', '\u{10ffff}', '\u200b', '\u200d'],
];

function randomCodePoint(rng: Rng): string {
  for (;;) {
    const cp = rng.int(0x110000);
    if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp); // surrogates are not characters
  }
}

function randomText(rng: Rng, maxPieces = 40): string {
  const n = rng.int(maxPieces + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.1) {
      s += randomCodePoint(rng);
    } else {
      const pool = POOLS[rng.int(POOLS.length)]!;
      s += pool[rng.int(pool.length)]!;
    }
  }
  return s;
}

/** A corpus of sentences over a Zipf-ish word list, as natural text would be. */
function zipfCorpus(rng: Rng, chars: number, nWords = 2000): string {
  const vocab = Array.from({ length: nWords }, (_, i) => {
    let w = '';
    const len = 2 + (i % 11);
    const r = new Rng([i, 77]);
    for (let k = 0; k < len; k++) w += 'etaoinshrdlucmfwypvbgkjqxz'[Math.floor(r.uniform() ** 2 * 26)]!;
    return w;
  });
  const parts: string[] = [];
  let size = 0;
  while (size < chars) {
    const i = Math.floor(vocab.length * rng.uniform() ** 3);
    const w = vocab[i]!;
    const piece = rng.uniform() < 0.08 ? `${w}. ` : rng.uniform() < 0.05 ? `${w}, ` : rng.uniform() < 0.02 ? `${rng.int(1000)} ` : `${w} `;
    parts.push(piece);
    size += piece.length;
  }
  return parts.join('');
}

const utf8 = new TextEncoder();

// ---------------------------------------------------------------------------
// Naive references for BPE: recount everything each merge; apply merges in rank order.

function naiveMergeWord(s: number[], a: number, b: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length;) {
    if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
      out.push(c);
      i += 2;
    } else {
      out.push(s[i++]!);
    }
  }
  return out;
}

function naiveTrain(texts: string[], vocabSize: number, minPairCount = 2): [number, number][] {
  const freq = new Map<string, number>();
  for (const t of texts) for (const w of pretokenize(t)) freq.set(w, (freq.get(w) ?? 0) + 1);
  let words = [...freq].map(([w, f]) => ({ s: Array.from(utf8.encode(w)), f }));
  const merges: [number, number][] = [];
  while (259 + merges.length < vocabSize) {
    const counts = new Map<string, { a: number; b: number; n: number }>();
    for (const { s, f } of words) {
      for (let i = 0; i + 1 < s.length; i++) {
        const k = `${s[i]},${s[i + 1]}`;
        const e = counts.get(k) ?? { a: s[i]!, b: s[i + 1]!, n: 0 };
        e.n += f;
        counts.set(k, e);
      }
    }
    let best: { a: number; b: number; n: number } | null = null;
    for (const e of counts.values()) {
      if (!best || e.n > best.n || (e.n === best.n && (e.a < best.a || (e.a === best.a && e.b < best.b)))) best = e;
    }
    if (!best || best.n < minPairCount) break;
    const c = 259 + merges.length;
    merges.push([best.a, best.b]);
    words = words.map(({ s, f }) => ({ s: naiveMergeWord(s, best.a, best.b, c), f }));
  }
  return merges;
}

function naiveEncode(merges: readonly (readonly [number, number])[], text: string): number[] {
  const out: number[] = [];
  for (const w of pretokenize(text)) {
    let s = Array.from(utf8.encode(w));
    merges.forEach(([a, b], r) => {
      s = naiveMergeWord(s, a, b, 259 + r);
    });
    out.push(...s);
  }
  return out;
}

// ---------------------------------------------------------------------------

describe('char tokenizer', () => {
  test('alphabetFromCorpus is the sorted set of code points, independent of order', () => {
    expect(alphabetFromCorpus('hello world')).toBe(' dehlorw');
    // Sorted by code point: U+FF01 comes before the astral U+1F600 (UTF-16 order would invert them).
    expect(alphabetFromCorpus(['😀！', 'a'])).toBe('a！😀');
    const rng = Rng.fromSeed(1);
    const texts = Array.from({ length: 50 }, () => randomText(rng));
    expect(alphabetFromCorpus(texts)).toBe(alphabetFromCorpus([...texts].reverse()));
    expect(alphabetFromCorpus(texts.join(''))).toBe(alphabetFromCorpus(texts));
  });

  test('ids: alphabet in order, then BOS, EOS, PAD; decode drops specials', () => {
    const tok = new CharTokenizer('ab😀');
    expect([tok.bos, tok.eos, tok.pad, tok.vocabSize]).toEqual([3, 4, 5, 6]);
    expect(tok.encode('b😀a')).toEqual([1, 2, 0]);
    expect(tok.decode([tok.bos, 1, 2, tok.pad, 0, tok.eos])).toBe('b😀a');
    expect(() => tok.decode([6])).toThrow(/id 6 at position 0 is outside \[0, 6\)/);
  });

  test('round trip over random Unicode text (property, 300 seeded strings)', () => {
    const rng = Rng.fromSeed(2);
    const texts = Array.from({ length: 300 }, () => randomText(rng));
    const tok = new CharTokenizer(alphabetFromCorpus(texts));
    for (const text of texts) {
      const ids = tok.encode(text);
      expect(ids.length).toBe([...text].length);
      expect(ids.every((id) => id >= 0 && id < tok.bos)).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  test('an unknown character is an error naming the character and its code-point position', () => {
    const tok = new CharTokenizer('abc😀');
    expect(() => tok.encode('a😀bxc')).toThrow(UnknownCharacterError);
    try {
      tok.encode('a😀b\nc');
      expect.unreachable();
    } catch (e) {
      const err = e as UnknownCharacterError;
      expect(err.char).toBe('\n');
      expect(err.position).toBe(3); // '😀' counts as one character
      expect(err.message).toContain('"\\n" (U+000A) at position 3');
    }
  });

  test('a bad alphabet is a ConfigError naming the field', () => {
    expect(() => new CharTokenizer('abca')).toThrow(/alphabet: duplicate character "a" \(U\+0061\) at positions 0 and 3/);
    expect(() => new CharTokenizer('')).toThrow(/alphabet: must not be empty/);
    expect(() => new CharTokenizer('a\ud800')).toThrow(/alphabet: lone surrogate/);
    expect(() => new CharTokenizer('abca')).toThrow(ConfigError);
  });

  test('JSON round trip', () => {
    const tok = new CharTokenizer(alphabetFromCorpus('the quick brown fox 😀 中文'));
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back).toBeInstanceOf(CharTokenizer);
    expect(back.toJSON()).toEqual(tok.toJSON());
    expect(back.encode('fox 😀')).toEqual(tok.encode('fox 😀'));
  });
});

describe('word tokenizer', () => {
  test('ids: words in order, then BOS, EOS, PAD; whitespace runs split; decode drops specials', () => {
    const tok = new WordTokenizer(['the', 'cat', 'sleeps']);
    expect([tok.bos, tok.eos, tok.pad, tok.vocabSize, tok.unk]).toEqual([3, 4, 5, 6, null]);
    expect(tok.encode('  the cat\n\tsleeps ')).toEqual([0, 1, 2]);
    expect(tok.encode('')).toEqual([]);
    expect(tok.decode([tok.bos, 0, 1, tok.pad, 2, tok.eos])).toBe('the cat sleeps');
    expect(() => tok.decode([6])).toThrow(/id 6 at position 0 is outside \[0, 6\)/);
  });

  test('an unknown word is an error naming it, unless the vocabulary has <unk>', () => {
    const exact = new WordTokenizer(['the', 'cat']);
    expect(() => exact.encode('the dog')).toThrow(UnknownWordError);
    expect(() => exact.encode('the dog')).toThrow(/unknown word "dog" at word 1/);
    const capped = new WordTokenizer(['the', 'cat', '<unk>']);
    expect(capped.encode('the dog cat')).toEqual([0, 2, 1]);
    expect(capped.decode(capped.encode('the dog'))).toBe('the <unk>');
  });

  test('a bad vocabulary is a ConfigError naming the field', () => {
    expect(() => new WordTokenizer(['a', 'b', 'a'])).toThrow(/words: duplicate word "a" at 0 and 2/);
    expect(() => new WordTokenizer([])).toThrow(/words: must not be empty/);
    expect(() => new WordTokenizer(['a b'])).toThrow(/words: word 0 "a b" is empty or holds whitespace/);
    expect(() => new WordTokenizer([''])).toThrow(ConfigError);
  });

  test('JSON round trip', () => {
    const tok = new WordTokenizer(['the', 'cat', '<unk>', 'café']);
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back).toBeInstanceOf(WordTokenizer);
    expect(back.toJSON()).toEqual(tok.toJSON());
    expect(back.encode('café cat dog')).toEqual([3, 1, 2]);
  });
});

describe('BPE pre-tokenizer', () => {
  test('splits like GPT-2', () => {
    expect(pretokenize("Hello world's  123 foo!!\n\n  bar")).toEqual(
      ['Hello', ' world', "'s", ' ', ' 123', ' foo', '!!', '\n\n ', ' bar'],
    );
    expect(pretokenize('héllo 中文字 😀😀 x')).toEqual(['héllo', ' 中文字', ' 😀😀', ' x']);
  });

  test('the pieces concatenate to the text (property)', () => {
    const rng = Rng.fromSeed(3);
    for (let i = 0; i < 300; i++) {
      const text = randomText(rng);
      expect(pretokenize(text).join('')).toBe(text);
    }
  });
});

describe('BPE training', () => {
  test('the tie rule on a tiny corpus: highest count, then smaller left id, then smaller right id', () => {
    const tok = trainBpe('ab cd', { vocabSize: 300, minPairCount: 1 });
    // All pairs occur once: (32,99)=" c" first, then (97,98)="ab", then (" c", 100)=" cd".
    expect(tok.merges).toEqual([[32, 99], [97, 98], [259, 100]]);
    expect(tok.vocabSize).toBe(262); // ran out of pairs before 300
    // 'ab' ×3 wins outright; then ' c', ' '+'ab' and 'cd' tie at 2 and the smaller ids go first.
    const counted = trainBpe('ab ab ab cd cd', { vocabSize: 300 });
    expect(counted.merges).toEqual([[97, 98], [32, 99], [32, 259], [260, 100]]);
  });

  test('identical merges to a naive trainer (random corpora, incl. Unicode and repeats)', () => {
    const rng = Rng.fromSeed(4);
    for (let trial = 0; trial < 6; trial++) {
      const texts = Array.from({ length: 40 }, () => randomText(rng, 30));
      texts.push(zipfCorpus(rng, 3000), 'aaaaaaa abababab aaaa');
      const vocabSize = 259 + 30 + rng.int(150);
      const minPairCount = 1 + rng.int(3);
      expect(trainBpe(texts, { vocabSize, minPairCount }).merges).toEqual(naiveTrain(texts, vocabSize, minPairCount));
    }
  });

  test('deterministic: the same corpus gives the same merges', () => {
    const corpus = zipfCorpus(Rng.fromSeed(5), 50_000);
    const a = trainBpe(corpus, { vocabSize: 800 });
    const b = trainBpe(corpus, { vocabSize: 800 });
    expect(b.merges).toEqual(a.merges);
    expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
  });

  test('vocabSize is respected, and no merge crosses a pre-token boundary', () => {
    const corpus = zipfCorpus(Rng.fromSeed(6), 100_000);
    for (const vocabSize of [259, 260, 500, 1500]) {
      const tok = trainBpe(corpus, { vocabSize });
      expect(tok.vocabSize).toBe(vocabSize);
      expect(tok.merges.length).toBe(vocabSize - 259);
      const ids = tok.encode(corpus.slice(0, 5000));
      expect(Math.max(...ids)).toBeLessThan(vocabSize);
    }
    const tok = trainBpe(corpus, { vocabSize: 1500 });
    const decoder = new TextDecoder();
    for (let id = 259; id < tok.vocabSize; id++) {
      const piece = decoder.decode(tok.tokenBytes(id)); // the corpus is ASCII: every token is whole characters
      expect(pretokenize(piece)).toEqual([piece]);
    }
    expect(trainBpe('abc', { vocabSize: 1000 }).vocabSize).toBeLessThan(1000); // nothing frequent left to merge
  });

  test('bad options are ConfigErrors naming the field', () => {
    expect(() => trainBpe('abc', { vocabSize: 100 })).toThrow(/vocabSize: must be an integer in \[259,/);
    expect(() => trainBpe('abc', { vocabSize: 300.5 })).toThrow(/vocabSize/);
    expect(() => trainBpe('abc', { vocabSize: 300, minPairCount: 0 })).toThrow(/minPairCount/);
    expect(() => trainBpe('a\ud800b', { vocabSize: 300 })).toThrow(/lone surrogate U\+D800 at UTF-16 index 1/);
  });

  test('trains on 1 MB of text in seconds', () => {
    const corpus = zipfCorpus(Rng.fromSeed(7), 1_000_000, 100_000); // ~50k distinct words
    const t0 = performance.now();
    const tok = trainBpe(corpus, { vocabSize: 4096 });
    const ms = performance.now() - t0;
    console.log(`BPE: trained ${tok.vocabSize} tokens on ${corpus.length} chars in ${ms.toFixed(0)} ms`);
    expect(tok.vocabSize).toBe(4096);
    expect(ms).toBeLessThan(20_000); // ~1 s on a laptop; generous for a loaded 2-core CI machine
  });
});

describe('BPE encode / decode', () => {
  const rng = Rng.fromSeed(8);
  const trainTexts = [zipfCorpus(rng, 30_000), ...Array.from({ length: 200 }, () => randomText(rng))];
  const tok = trainBpe(trainTexts, { vocabSize: 700 });

  test('ids layout: bytes, then BOS/EOS/PAD, then merges', () => {
    expect([tok.bos, tok.eos, tok.pad]).toEqual([256, 257, 258]);
    expect(tok.vocabSize).toBe(259 + tok.merges.length);
    expect(tok.encode('A')).toEqual([65]);
    expect(tok.decode([tok.bos, 72, 105, tok.eos, tok.pad])).toBe('Hi');
    expect(() => tok.decode([tok.vocabSize])).toThrow(/outside \[0, 700\)/);
  });

  test('round trip is exact over random Unicode text (property, 500 seeded strings)', () => {
    const r = Rng.fromSeed(9);
    for (let i = 0; i < 500; i++) {
      const text = randomText(r);
      const ids = tok.encode(text);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize && (id < 256 || id > 258))).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  test('edge cases round-trip: empty, BOM first, NUL, whitespace runs, long CJK and emoji runs', () => {
    const cases = ['', '\ufeffstart', '\u0000\u0000', ' ', '    \n\t\t  \r\n', '中'.repeat(3000), '👨‍👩‍👧'.repeat(200), 'e\u0301'.repeat(50)];
    for (const text of cases) expect(tok.decode(tok.encode(text))).toBe(text);
  });

  test('encode equals naive rank-order merging (training texts and unseen text)', () => {
    const r = Rng.fromSeed(10);
    const texts = [trainTexts[0]!.slice(0, 5000), ...trainTexts.slice(1, 60), ...Array.from({ length: 60 }, () => randomText(r))];
    texts.push('ab'.repeat(500), 'aaaaaaaaaaaaaaaaaaaaa');
    for (const text of texts) expect(tok.encode(text)).toEqual(naiveEncode(tok.merges, text));
  });

  test('the cache does not change results; encoding compresses the training text', () => {
    const text = trainTexts[0]!.slice(0, 10_000);
    const first = tok.encode(text);
    expect(tok.encode(text)).toEqual(first);
    expect(first.length).toBeLessThan(utf8.encode(text).length / 1.5);
  });

  test('a lone surrogate cannot be encoded (no UTF-8 form): an error, not a silent U+FFFD', () => {
    expect(() => tok.encode('ok \udc00')).toThrow(/lone surrogate U\+DC00 at UTF-16 index 3/);
  });

  test('JSON round trip', () => {
    const json = JSON.parse(JSON.stringify(tok.toJSON()));
    expect(json).toMatchObject({ format: 'symbiosis-lab/tokenizer', version: 1, kind: 'bpe', pretokenizer: 'gpt2', vocabSize: 700 });
    const back = tokenizerFromJSON(json);
    expect(back).toBeInstanceOf(BpeTokenizer);
    expect(back.toJSON()).toEqual(tok.toJSON());
    const text = randomText(Rng.fromSeed(11), 200);
    expect(back.encode(text)).toEqual(tok.encode(text));
  });
});

describe('tokenizerFromJSON errors name the field', () => {
  const bpe = trainBpe('low lower lowest newer newest wider', { vocabSize: 270 }).toJSON();
  const char = new CharTokenizer('abc').toJSON();
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'abc', /tokenizer: .*/],
    ['null', null, /tokenizer: /],
    ['a Hugging Face tokenizer.json', { version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] } },
      /format: must be 'symbiosis-lab\/tokenizer' \(this is not a tokenizer saved by Symbiosis Lab\)/],
    ['a newer version', { ...char, version: 2 }, /version: unsupported tokenizer version 2 \(this build reads 1\): .*newer/],
    ['a version as a string', { ...char, version: '1' }, /version: must be a number/],
    ['an unknown kind', { ...char, kind: 'wordpiece' }, /kind: must be 'char', 'word' or 'bpe'/],
    ['word: words missing', { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'word' }, /tokenizer: words: is missing$/],
    ['word: a word not a string', { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'word', words: ['a', 3] }, /words\.1: must be a string/],
    ['word: duplicate word', { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'word', words: ['a', 'a'] }, /words: duplicate word "a"/],
    ['an unknown key', { ...char, extra: 1 }, /extra: unknown key/],
    ['char: alphabet missing', { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'char' }, /tokenizer: alphabet: is missing$/],
    ['char: alphabet not a string', { ...char, alphabet: ['a'] }, /alphabet: must be a string/],
    ['char: duplicate in alphabet', { ...char, alphabet: 'abb' }, /alphabet: duplicate character "b"/],
    ['bpe: merges not an array', { ...bpe, merges: 'ab' }, /merges: must be an array/],
    ['bpe: merges missing', (({ merges: _, ...rest }) => rest)(bpe), /merges: is missing/],
    ['bpe: a merge is not a pair', { ...bpe, merges: [[97]] }, /merges\.0: must be a pair/],
    ['bpe: a merge uses a later id', { ...bpe, merges: [[97, 259]], vocabSize: 260 }, /merges\.0: token id 259 is not defined before this merge/],
    ['bpe: a merge uses a special', { ...bpe, merges: [[97, 257]], vocabSize: 260 }, /merges\.0: token id 257 is a special token/],
    ['bpe: duplicate merge', { ...bpe, merges: [[97, 98], [97, 98]], vocabSize: 261 }, /merges\.1: duplicates merge 0/],
    ['bpe: negative id', { ...bpe, merges: [[-1, 98]], vocabSize: 260 }, /merges\.0\.0: must be a non-negative integer, got -1/],
    ['bpe: vocabSize disagrees (truncated merges)', { ...bpe, merges: bpe.merges.slice(0, 3) }, new RegExp(`vocabSize: is ${bpe.vocabSize} but 3 merges give 262`)],
    ['bpe: unknown pretokenizer', { ...bpe, pretokenizer: 'llama' }, /pretokenizer: must be 'gpt2'/],
  ];
  for (const [what, json, message] of cases) {
    test(what, () => {
      expect(() => tokenizerFromJSON(json)).toThrow(ConfigError);
      expect(() => tokenizerFromJSON(json)).toThrow(message);
    });
  }
});
