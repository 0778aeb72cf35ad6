/**
 * A tiny generated classification set for the symbiosis tests: three
 * classes, each written with its own letters (15% filler every class uses),
 * so a tiny model learns it in seconds and a classifier's accuracy on it
 * says something. Deterministic (seed 11).
 */
import type { LabelledDataset } from '../../src/core/data/labelled';
import { Rng, keyFromSeed } from '../../src/core/rng';
import type { RunInput } from '../../src/experiments/types';

export const LABEL_NAMES = ['sport', 'money', 'science'];
/** Each class writes its words with its own letters; 'pqrstu' is filler every class uses. */
const CLASS_LETTERS = ['abcde', 'fghij', 'klmno'];

export function sentence(rng: Rng, label: number): string {
  const words = Array.from({ length: 6 + rng.int(4) }, () => {
    const letters = rng.uniform() < 0.85 ? CLASS_LETTERS[label]! : 'pqrstu';
    return Array.from({ length: 3 + rng.int(3) }, () => letters[rng.int(letters.length)]).join('');
  });
  return words.join(' ');
}

export function makeDataset(train = 300, testRows = 100): LabelledDataset {
  const rng = new Rng(keyFromSeed(11));
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ text: sentence(rng, i % 3), label: i % 3 }));
  return { name: 'letters', source: { kind: 'file', fileName: 'letters.json' }, labelNames: LABEL_NAMES, splits: { train: rows(train), test: rows(testRows) } };
}

/** JSON as a run input (the symbiosis lab's dataset input is JSON of a LabelledDataset). */
export const asInput = (json: unknown, name = 'letters.json'): RunInput => ({ name, bytes: new TextEncoder().encode(JSON.stringify(json)) });
