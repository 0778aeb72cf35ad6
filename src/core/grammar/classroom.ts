/**
 * The classroom grammar: English-like sentences ("the small cat sees two old
 * dogs near the river") from a deterministic probabilistic automaton
 * (grammar.ts) with subject–verb number agreement, optional adjectives,
 * transitive and intransitive verbs, adverbs and chains of prepositional
 * phrases. 190 words in 12 classes, Zipfian within each class (s = 1.1), so
 * the corpus has a long tail of rare words — the tail that recursive training
 * loses first.
 *
 * Number agreement is a dependency across up to a few adjectives ("the old
 * red dogs sleep"), so "valid" is a real test of what a model learned, not
 * only of which word follows which.
 */
import { type Arc, Grammar, type GrammarSpec, type GrammarState, type WordClass } from './grammar';

const ZIPF = 1.1;

/** [singular, plural] pairs, most frequent first. */
const NOUNS: readonly [string, string][] = [
  ['cat', 'cats'], ['dog', 'dogs'], ['child', 'children'], ['bird', 'birds'], ['teacher', 'teachers'],
  ['farmer', 'farmers'], ['horse', 'horses'], ['student', 'students'], ['king', 'kings'], ['girl', 'girls'],
  ['boy', 'boys'], ['fox', 'foxes'], ['baker', 'bakers'], ['sailor', 'sailors'], ['doctor', 'doctors'],
  ['rabbit', 'rabbits'], ['queen', 'queens'], ['robot', 'robots'], ['painter', 'painters'], ['mouse', 'mice'],
  ['wolf', 'wolves'], ['poet', 'poets'], ['owl', 'owls'], ['pilot', 'pilots'], ['goat', 'goats'],
  ['tiger', 'tigers'], ['knight', 'knights'], ['monk', 'monks'], ['frog', 'frogs'], ['whale', 'whales'],
];
const TRANSITIVE: readonly [string, string][] = [
  ['sees', 'see'], ['likes', 'like'], ['follows', 'follow'], ['finds', 'find'], ['helps', 'help'],
  ['watches', 'watch'], ['chases', 'chase'], ['meets', 'meet'], ['feeds', 'feed'], ['paints', 'paint'],
  ['admires', 'admire'], ['visits', 'visit'], ['ignores', 'ignore'], ['teaches', 'teach'], ['carries', 'carry'],
  ['greets', 'greet'],
];
const INTRANSITIVE: readonly [string, string][] = [
  ['sleeps', 'sleep'], ['runs', 'run'], ['sings', 'sing'], ['waits', 'wait'], ['laughs', 'laugh'],
  ['swims', 'swim'], ['dances', 'dance'], ['hides', 'hide'], ['rests', 'rest'], ['wanders', 'wander'],
];
const ADJECTIVES = [
  'small', 'old', 'happy', 'red', 'big', 'quiet', 'young', 'brave', 'green', 'clever', 'tired', 'strange',
  'gentle', 'proud', 'hungry', 'golden', 'lazy', 'silver', 'ancient', 'curious', 'shy', 'wild', 'polite', 'pale',
];
const ADVERBS = ['slowly', 'quietly', 'often', 'happily', 'early', 'alone', 'again', 'rarely', 'softly', 'badly'];
const PREPOSITIONS = ['near', 'with', 'behind', 'under', 'beside', 'without', 'above', 'beyond'];
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar'];

const CLASSES: WordClass[] = [
  { name: 'det-any', words: ['the'], zipf: 0, description: 'a determiner' },
  { name: 'det-sg', words: ['a', 'every', 'this', 'one'], zipf: ZIPF, description: 'a singular determiner' },
  { name: 'det-pl', words: ['some', 'two', 'these', 'many', 'three', 'few'], zipf: ZIPF, description: 'a plural determiner' },
  { name: 'adj', words: ADJECTIVES, zipf: ZIPF, description: 'an adjective' },
  { name: 'noun-sg', words: NOUNS.map(([sg]) => sg), zipf: ZIPF, description: 'a singular noun' },
  { name: 'noun-pl', words: NOUNS.map(([, pl]) => pl), zipf: ZIPF, description: 'a plural noun' },
  { name: 'name', words: NAMES, zipf: ZIPF, description: 'a name' },
  { name: 'vt-sg', words: TRANSITIVE.map(([sg]) => sg), zipf: ZIPF, description: 'a singular transitive verb' },
  { name: 'vt-pl', words: TRANSITIVE.map(([, pl]) => pl), zipf: ZIPF, description: 'a plural transitive verb' },
  { name: 'vi-sg', words: INTRANSITIVE.map(([sg]) => sg), zipf: ZIPF, description: 'a singular intransitive verb' },
  { name: 'vi-pl', words: INTRANSITIVE.map(([, pl]) => pl), zipf: ZIPF, description: 'a plural intransitive verb' },
  { name: 'adv', words: ADVERBS, zipf: ZIPF, description: 'an adverb' },
  { name: 'prep', words: PREPOSITIONS, zipf: ZIPF, description: 'a preposition' },
];

/**
 * The states of a noun phrase starting in `prefix`: a determiner (numbered or
 * 'the'), adjectives (each one more with probability 0.15), a noun; or a name
 * (singular). It ends in `sg` or `pl`, so a subject can choose its verb's number.
 */
function nounPhrase(prefix: string, sg: string, pl: string): Record<string, GrammarState> {
  const adj = (after: string): Arc => ({ cls: 'adj', p: 0.3, to: after });
  return {
    [prefix]: {
      arcs: [
        { cls: 'det-any', p: 0.35, to: `${prefix}/the` },
        { cls: 'det-sg', p: 0.25, to: `${prefix}/sg` },
        { cls: 'det-pl', p: 0.22, to: `${prefix}/pl` },
        { cls: 'name', p: 0.18, to: sg },
      ],
      end: 0,
    },
    [`${prefix}/the`]: {
      arcs: [adj(`${prefix}/the+adj`), { cls: 'noun-sg', p: 0.45, to: sg }, { cls: 'noun-pl', p: 0.25, to: pl }],
      end: 0,
    },
    [`${prefix}/the+adj`]: {
      arcs: [{ cls: 'adj', p: 0.15, to: `${prefix}/the+adj` }, { cls: 'noun-sg', p: 0.55, to: sg }, { cls: 'noun-pl', p: 0.3, to: pl }],
      end: 0,
    },
    [`${prefix}/sg`]: { arcs: [adj(`${prefix}/sg+adj`), { cls: 'noun-sg', p: 0.7, to: sg }], end: 0 },
    [`${prefix}/sg+adj`]: { arcs: [{ cls: 'adj', p: 0.15, to: `${prefix}/sg+adj` }, { cls: 'noun-sg', p: 0.85, to: sg }], end: 0 },
    [`${prefix}/pl`]: { arcs: [adj(`${prefix}/pl+adj`), { cls: 'noun-pl', p: 0.7, to: pl }], end: 0 },
    [`${prefix}/pl+adj`]: { arcs: [{ cls: 'adj', p: 0.15, to: `${prefix}/pl+adj` }, { cls: 'noun-pl', p: 0.85, to: pl }], end: 0 },
  };
}

const STATES: Record<string, GrammarState> = {
  ...nounPhrase('subject', 'subject-sg', 'subject-pl'),
  'subject-sg': { arcs: [{ cls: 'vt-sg', p: 0.6, to: 'verb-t' }, { cls: 'vi-sg', p: 0.4, to: 'verb-i' }], end: 0 },
  'subject-pl': { arcs: [{ cls: 'vt-pl', p: 0.6, to: 'verb-t' }, { cls: 'vi-pl', p: 0.4, to: 'verb-i' }], end: 0 },
  ...nounPhrase('verb-t', 'object', 'object'),
  object: { arcs: [{ cls: 'prep', p: 0.25, to: 'prep' }], end: 0.75 },
  'verb-i': { arcs: [{ cls: 'adv', p: 0.35, to: 'adverb' }, { cls: 'prep', p: 0.25, to: 'prep' }], end: 0.4 },
  adverb: { arcs: [{ cls: 'prep', p: 0.2, to: 'prep' }], end: 0.8 },
  ...nounPhrase('prep', 'prep-object', 'prep-object'),
  'prep-object': { arcs: [{ cls: 'prep', p: 0.12, to: 'prep' }], end: 0.88 },
};

export const CLASSROOM_GRAMMAR: GrammarSpec = {
  name: 'classroom',
  start: 'subject',
  states: STATES,
  classes: CLASSES,
  maxWords: 20,
};

let built: Grammar | null = null;

/** The classroom grammar, built on first use and shared (a Grammar is immutable once built). */
export function classroomGrammar(): Grammar {
  built ??= new Grammar(CLASSROOM_GRAMMAR);
  return built;
}
