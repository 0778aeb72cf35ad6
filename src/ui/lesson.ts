/**
 * Lesson links: a share link (experiments/config.ts) plus what a teacher
 * adds for a class — the backend (same seed and same backend give the same
 * run on every machine), controls to hide (as TensorFlow Playground's
 * `_hide` keys do), and a question to predict before running:
 *
 *   #/lab/collapse?preset=classroom&seed=3&backend=cpu&hide=adjust,seed&question=Will+perplexity+rise%3F
 *
 * `hide` lists page controls (LESSON_CONTROLS) and any setting's key (that
 * field alone leaves the form). The question is shown as plain text.
 */
import type { BackendChoice } from './lab-client.svelte';

/** Page controls a lesson link can hide, with what each is in words. */
export const LESSON_CONTROLS = {
  presets: 'the other presets',
  adjust: 'all settings (the Adjust section)',
  seed: 'the seed',
  backend: 'the backend choice',
  link: 'the share links',
  history: 'the run history',
} as const;

export type LessonControl = keyof typeof LESSON_CONTROLS;

/** The link keys a lesson adds to a share link. */
export const LESSON_KEYS = ['backend', 'hide', 'question'] as const;

/** The longest question a link may carry, characters. */
export const MAX_QUESTION = 400;

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'cpu'];

export interface Lesson {
  /** What to predict before running; null: none. */
  question: string | null;
  /** Controls and setting keys hidden from the class. */
  hide: string[];
}

export const NO_LESSON: Lesson = { question: null, hide: [] };

/** One thing wrong with a lesson key of a link. */
export interface LessonProblem {
  field: 'backend' | 'hide' | 'question';
  message: string;
  given: string;
}

/**
 * Read the lesson keys of a link's query (and take them out of it, so the
 * rest is settings). `settings` are the experiment's field keys, which
 * `hide` may name too. Whatever is wrong is a problem naming the key; the
 * good parts still apply.
 */
export function takeLesson(query: URLSearchParams, settings: readonly string[]): {
  lesson: Lesson; backend: BackendChoice; problems: LessonProblem[];
} {
  const problems: LessonProblem[] = [];
  let backend: BackendChoice = 'auto';
  const b = query.get('backend');
  if (b !== null) {
    if ((BACKEND_CHOICES as readonly string[]).includes(b)) backend = b as BackendChoice;
    else problems.push({ field: 'backend', message: `must be one of ${BACKEND_CHOICES.join(', ')}`, given: b });
  }
  const hide: string[] = [];
  for (const item of (query.get('hide') ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (item in LESSON_CONTROLS || settings.includes(item)) {
      if (!hide.includes(item)) hide.push(item);
    } else {
      problems.push({
        field: 'hide', given: item,
        message: `'${item}' is neither a control (${Object.keys(LESSON_CONTROLS).join(', ')}) nor a setting of this lab`,
      });
    }
  }
  let question = query.get('question');
  if (question !== null) {
    question = question.trim();
    if (question.length > MAX_QUESTION) {
      problems.push({ field: 'question', message: `is cut to its first ${MAX_QUESTION} characters`, given: `${question.slice(0, 40)}…` });
      question = question.slice(0, MAX_QUESTION);
    }
    if (question === '') question = null;
  }
  for (const k of LESSON_KEYS) query.delete(k);
  return { lesson: { question, hide }, backend, problems };
}

/** The lesson keys as a query string to append to a share link ('' when there is nothing to add). */
export function lessonQuery(lesson: Lesson, backend: BackendChoice): string {
  const q = new URLSearchParams();
  if (backend !== 'auto') q.set('backend', backend);
  if (lesson.hide.length > 0) q.set('hide', lesson.hide.join(','));
  if (lesson.question) q.set('question', lesson.question);
  return q.toString();
}

/** A share-link hash with lesson keys appended. */
export function withLesson(hash: string, lesson: Lesson, backend: BackendChoice): string {
  const extra = lessonQuery(lesson, backend);
  return extra === '' ? hash : `${hash}${hash.includes('?') ? '&' : '?'}${extra}`;
}
