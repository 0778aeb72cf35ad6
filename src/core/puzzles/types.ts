/**
 * Procedural puzzles: pure generators `(key, difficulty) → Puzzle` with a
 * known answer, a verifier, and splits that never share a puzzle.
 */
import type { Key } from '../rng';

/** The puzzle families (families.ts generates each). */
export const FAMILY_NAMES = ['arithmetic', 'rpn', 'brackets', 'modular', 'reverse', 'sort'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

/** What kind of text an answer is, which decides how it is normalised and parsed. */
export type AnswerKind = 'integer' | 'boolean' | 'digits';

export interface Puzzle {
  family: FamilyName;
  /** 1 (easiest) … 10. */
  difficulty: number;
  /** What the model sees, e.g. "2+3*4=". */
  prompt: string;
  /** The one correct answer in canonical form, e.g. "14". */
  answer: string;
  answerKind: AnswerKind;
  /** Family-specific facts (operand count, depth, whether a near miss, …). */
  meta: Record<string, number | string | boolean>;
}

export interface PuzzleFamily {
  name: FamilyName;
  answerKind: AnswerKind;
  /** One line per difficulty 1…10: what the level means (rendered in the docs and the UI). */
  levels: readonly string[];
  /** A puzzle of this family at `difficulty`, a pure function of the key. */
  generate(key: Key, difficulty: number): Puzzle;
}

export function checkDifficulty(difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > 10) {
    throw new Error(`difficulty: must be an integer from 1 to 10, got ${difficulty}`);
  }
}

/** Every character a puzzle prompt, answer or hint can contain: one fixed alphabet for all runs (the labs' character tokenizer). */
export const PUZZLE_ALPHABET = ' 0123456789+-*%=?()[]{}abcdefghijklmnopqrstuvwxyz|:';
