/**
 * Tokenizers: the one interface the engine, the samplers and the checkpoints
 * use, and the JSON form a tokenizer is saved in.
 *
 * Three kinds:
 *   - `char` (`char.ts`): one id per Unicode code point of a fixed alphabet —
 *     for puzzles, whose alphabets are small and known.
 *   - `word` (`word.ts`): one id per word of a fixed vocabulary — for the
 *     collapse lab's generated grammar and uploaded plain-text corpora.
 *   - `bpe` (`bpe.ts`): byte-level BPE trained inside the lab (GPT-2 style) —
 *     for natural text such as AG News.
 *
 * Id conventions shared by both: the content ids come first (alphabet
 * characters, or the 256 bytes), then the three special tokens BOS, EOS, PAD,
 * then (BPE only) the merged tokens. `encode` never produces a special id and
 * never reads special-token strings out of the text (so no text can inject an
 * EOS); callers add `bos`/`eos`/`pad` themselves. `decode` drops special ids.
 *
 * Saved tokenizers carry `format` and `version`; `tokenizerFromJSON` checks
 * both before anything else, so a foreign JSON file (a Hugging Face
 * tokenizer.json, say) is rejected with a message saying what it is not.
 */
import * as v from 'valibot';
import { ConfigError, parseConfig, positiveInt } from '../schema';
import { BpeTokenizer, type BpeTokenizerJson } from './bpe';
import { CharTokenizer, type CharTokenizerJson } from './char';
import { WordTokenizer, type WordTokenizerJson } from './word';

/** The `format` tag of a saved tokenizer. */
export const TOKENIZER_FORMAT = 'symbiosis-lab/tokenizer';
/** Bumped when the JSON form changes incompatibly; readers accept only this one. */
export const TOKENIZER_VERSION = 1;

export type TokenizerJson = CharTokenizerJson | WordTokenizerJson | BpeTokenizerJson;

/** What the engine, samplers and checkpoints need from a tokenizer. */
export interface Tokenizer {
  readonly kind: 'char' | 'word' | 'bpe';
  /** Number of ids, specials included: every id is in [0, vocabSize). */
  readonly vocabSize: number;
  /** Text → ids (no specials added). Throws on text the tokenizer cannot represent. */
  encode(text: string): number[];
  /** Ids → text; special ids are dropped. Throws on an id outside [0, vocabSize). */
  decode(ids: readonly number[]): string;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  toJSON(): TokenizerJson;
}

const NOT_OURS = `must be '${TOKENIZER_FORMAT}' (this is not a tokenizer saved by Symbiosis Lab)`;

/**
 * An object schema whose issues read well: a missing key says "is missing",
 * an extra key "unknown key" (as a rest issue, so it names the key).
 */
const jsonObject = <E extends v.ObjectEntries>(entries: E) =>
  v.objectWithRest(entries, v.never('unknown key'), (issue) => (issue.expected === 'Object' ? 'must be a JSON object' : 'is missing'));

/** The same, ignoring keys it does not name (for the staged header checks). */
const jsonObjectLoose = <E extends v.ObjectEntries>(entries: E, missing = 'is missing') =>
  v.looseObject(entries, (issue) => (issue.expected === 'Object' ? 'must be a JSON object' : missing));

// The header is checked in stages — format, then version, then kind — so a
// foreign file fails on "what is this" alone, not on a list of its keys.
const formatSchema = jsonObjectLoose({ format: v.literal(TOKENIZER_FORMAT, NOT_OURS) }, NOT_OURS);
const versionSchema = jsonObjectLoose({
  version: v.pipe(
    v.number('must be a number'),
    v.check(
      (x) => x === TOKENIZER_VERSION,
      (issue) => {
        const hint = Number(issue.input) > TOKENIZER_VERSION
          ? 'it was saved by a newer Symbiosis Lab; reload the page to update'
          : 'it was saved by an older Symbiosis Lab; retrain the tokenizer';
        return `unsupported tokenizer version ${String(issue.input)} (this build reads ${TOKENIZER_VERSION}): ${hint}`;
      },
    ),
  ),
});
const kindSchema = jsonObjectLoose({ kind: v.picklist(['char', 'word', 'bpe'], "must be 'char', 'word' or 'bpe'") });

const common = {
  format: v.literal(TOKENIZER_FORMAT),
  version: v.literal(TOKENIZER_VERSION),
};

const charJsonSchema = jsonObject({
  ...common,
  kind: v.literal('char'),
  alphabet: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')),
});

const wordJsonSchema = jsonObject({
  ...common,
  kind: v.literal('word'),
  words: v.pipe(v.array(v.string('must be a string'), 'must be an array of words'), v.minLength(1, 'must not be empty')),
});

const tokenId = v.pipe(
  v.number('must be a token id'),
  v.check((x) => Number.isInteger(x) && x >= 0, (issue) => `must be a non-negative integer, got ${String(issue.input)}`),
);

const bpeJsonSchema = jsonObject({
  ...common,
  kind: v.literal('bpe'),
  pretokenizer: v.literal('gpt2', "must be 'gpt2'"),
  vocabSize: positiveInt(),
  merges: v.array(
    v.pipe(
      v.array(tokenId, 'must be a pair [left, right] of token ids'),
      v.length(2, 'must be a pair [left, right] of token ids'),
      v.transform((pair) => pair as [number, number]),
    ),
    'must be an array of [left, right] pairs',
  ),
});

/** Rebuild a tokenizer from its JSON; throws a ConfigError naming the bad field. */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  parseConfig(formatSchema, json, 'tokenizer');
  parseConfig(versionSchema, json, 'tokenizer');
  const { kind } = parseConfig(kindSchema, json, 'tokenizer');
  switch (kind) {
    case 'char': {
      const parsed = parseConfig(charJsonSchema, json, 'tokenizer');
      return new CharTokenizer(parsed.alphabet);
    }
    case 'word': {
      const parsed = parseConfig(wordJsonSchema, json, 'tokenizer');
      return new WordTokenizer(parsed.words);
    }
    case 'bpe': {
      const parsed = parseConfig(bpeJsonSchema, json, 'tokenizer');
      const tokenizer = new BpeTokenizer(parsed.merges);
      if (tokenizer.vocabSize !== parsed.vocabSize) {
        throw new ConfigError('tokenizer', [{
          field: 'vocabSize',
          message: `is ${parsed.vocabSize} but ${parsed.merges.length} merges give ${tokenizer.vocabSize} (file truncated or edited?)`,
        }]);
      }
      return tokenizer;
    }
    default:
      return kind satisfies never;
  }
}

export { CharTokenizer, alphabetFromCorpus, UnknownCharacterError } from './char';
export { WordTokenizer, UnknownWordError, UNK_WORD } from './word';
export { BpeTokenizer, pretokenize, trainBpe, type BpeTrainOptions } from './bpe';
