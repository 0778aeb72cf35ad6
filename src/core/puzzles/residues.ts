/**
 * Modular arithmetic written one token per residue: the whole table of
 * a ∘ b mod p (all p² pairs), prompts `a ∘ b =` as four words and the answer
 * c as one, for the word tokenizer (ids 0…p−1 are the residues, so row a of
 * the embedding is residue a and its Fourier spectrum can be read off; see
 * core/metrics/fourier.ts and docs/grokking.md). Split exhaustively: the
 * pairs in a seeded order, cut into train, validation and test by count —
 * the literature's setting (Power et al. 2022; Nanda et al. 2023) trains on a
 * fixed fraction of the table and validates on the rest.
 */
import { Rng, type Key } from '../rng';
import { WordTokenizer } from '../tokenizer/word';
import type { SplitName, Splits } from './splits';
import type { Puzzle } from './types';

export const RESIDUE_OPERATIONS = ['+', '-', '*'] as const;
export type ResidueOperation = (typeof RESIDUE_OPERATIONS)[number];

/** The moduli a table may have: p² pairs stay a few thousand, and p ≥ 2 has a non-constant frequency. */
export const MIN_MODULUS = 2;
export const MAX_MODULUS = 113;

function checkTable(p: number, op: string): asserts op is ResidueOperation {
  if (!Number.isInteger(p) || p < MIN_MODULUS || p > MAX_MODULUS) {
    throw new Error(`modulus: must be an integer from ${MIN_MODULUS} to ${MAX_MODULUS}, got ${p}`);
  }
  if (!(RESIDUE_OPERATIONS as readonly string[]).includes(op)) {
    throw new Error(`operation: must be one of ${RESIDUE_OPERATIONS.join(', ')}, got '${op}'`);
  }
}

/** (a ∘ b) mod p in [0, p). */
export function residueOf(a: number, b: number, op: ResidueOperation, p: number): number {
  const raw = op === '+' ? a + b : op === '-' ? a - b : a * b;
  return ((raw % p) + p) % p;
}

/**
 * Every pair of the table in order (a major, then b), as puzzles of the
 * modular family: prompt `a ∘ b =` (words separated by spaces), answer c.
 * The table has one level, so every puzzle has difficulty 1.
 */
export function residueTable(p: number, op: ResidueOperation): Puzzle[] {
  checkTable(p, op);
  const out: Puzzle[] = [];
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      out.push({
        family: 'modular', difficulty: 1, prompt: `${a} ${op} ${b} =`, answer: String(residueOf(a, b, op, p)),
        answerKind: 'integer', meta: { p, op, a, b },
      });
    }
  }
  return out;
}

/** The words of a table's vocabulary: residues '0'…'p−1' (id = the residue), then the operation and '='. */
export function residueWords(p: number, op: ResidueOperation): string[] {
  checkTable(p, op);
  return [...Array.from({ length: p }, (_, a) => String(a)), op, '='];
}

/** The word tokenizer of a table: residue a is id a; BOS, EOS and PAD follow the words (unused by the task). */
export function residueTokenizer(p: number, op: ResidueOperation): WordTokenizer {
  return new WordTokenizer(residueWords(p, op));
}

/**
 * The table's p² pairs shuffled by `key`, then the first `sizes.train` for
 * training, the next `sizes.val` for validation and the next `sizes.test`
 * for test (the rest unused). Throws, naming the field, when the sizes ask
 * for more than p² pairs.
 */
export function residueSplits(p: number, op: ResidueOperation, sizes: Record<SplitName, number>, key: Key): Splits {
  const table = residueTable(p, op);
  const want = sizes.train + sizes.val + sizes.test;
  if (want > table.length) {
    throw new Error(`sizes: train + validation + test = ${want} pairs, but the table of a ${op} b mod ${p} has only ${p}² = ${table.length}`);
  }
  new Rng(key).shuffle(table);
  return {
    train: table.slice(0, sizes.train),
    val: table.slice(sizes.train, sizes.train + sizes.val),
    test: table.slice(sizes.train + sizes.val, want),
  };
}
