/**
 * The verifier: exact match after normalisation, no partial credit, with the
 * reason for a failure. Normalisation forgives only formatting: surrounding
 * whitespace, a leading '+', leading zeros and '-0' for integers, case for
 * booleans, inner spaces for digit strings.
 */
import type { AnswerKind, Puzzle } from './types';

export type Verdict =
  | { correct: true }
  | { correct: false; reason: 'empty' | 'unparsable' | 'wrong'; normalized: string | null };

/** The canonical form of an answer text, or null when it cannot be an answer of this kind. */
export function normalizeAnswer(text: string, kind: AnswerKind): string | null {
  const t = text.trim();
  switch (kind) {
    case 'integer': {
      const m = /^([+-]?)0*(\d+)$/.exec(t);
      if (!m) return null;
      const digits = m[2]!;
      return m[1] === '-' && digits !== '0' ? `-${digits}` : digits;
    }
    case 'boolean': {
      const l = t.toLowerCase();
      return l === 'true' || l === 'false' ? l : null;
    }
    case 'digits': {
      const d = t.replace(/\s+/g, '');
      return /^\d+$/.test(d) ? d : null;
    }
    default:
      return kind satisfies never;
  }
}

/** Check a model's answer against the puzzle's. */
export function verify(puzzle: Pick<Puzzle, 'answer' | 'answerKind'>, attempt: string): Verdict {
  if (attempt.trim() === '') return { correct: false, reason: 'empty', normalized: null };
  const normalized = normalizeAnswer(attempt, puzzle.answerKind);
  if (normalized === null) return { correct: false, reason: 'unparsable', normalized: null };
  return normalized === puzzle.answer ? { correct: true } : { correct: false, reason: 'wrong', normalized };
}
