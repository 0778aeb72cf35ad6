/**
 * The collapse lab's "real" data: sentences drawn from the classroom grammar
 * (core/grammar), whose exact probabilities are known, or from a text the
 * visitor uploaded (then there is no grammar, and validity and true
 * likelihood say why they are missing). Also the text measures taken on any
 * set of sentences.
 */
import { CorpusError, parsePlainText } from '../../core/corpus/plain-text';
import { classroomGrammar } from '../../core/grammar/classroom';
import type { Grammar } from '../../core/grammar/grammar';
import { distinctN, selfBleu, tokenEntropy } from '../../core/metrics/diversity';
import { mean } from '../../core/metrics/stats';
import { type Key, Rng, foldIn } from '../../core/rng';
import { WordTokenizer } from '../../core/tokenizer/word';
import type { RunInput } from '../types';
import type { CollapseConfig } from './config';

export interface Corpus {
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

/** Real, held-out and fresh sentences from the classroom grammar, each from its own stream of `key`. */
export function grammarCorpus(c: CollapseConfig, key: Key): Corpus {
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

/** An uploaded text's sentences, shuffled by `key` into held-out, real and the rest (real-mix's fresh sentences). */
export function uploadedCorpus(c: CollapseConfig, input: RunInput | undefined, key: Key): Corpus {
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

/** Distinct-n, Self-BLEU, entropy, mean length: what is measured on any set of sentences. */
export function textMetrics(sentences: readonly (readonly string[])[], selfBleuSamples: number, key: Key) {
  return {
    distinct1: distinctN(sentences, 1),
    distinct2: distinctN(sentences, 2),
    selfBleu: selfBleu(sentences, { maxN: 3, maxHypotheses: selfBleuSamples, key }),
    entropy: tokenEntropy(sentences),
    meanLength: mean(sentences.map((s) => s.length)),
  };
}
