/**
 * Text as the symbiosis lab sees it: normalised (one space between words, no
 * control characters), the bytes that stand for labels and the separator
 * (which therefore never occur in a text), and what makes a written text
 * unusable. Pure string functions, shared by the dataset check, the Student
 * and the writers.
 */

/**
 * Label k's token: a byte no normalised text contains, so the label's
 * embedding (tied to its output row) serves the label alone: the bytes
 * UTF-8 never uses (0xC0, 0xC1, 0xF5–0xFF), then control bytes, which
 * `normalise` removes from every text. At most 36 classes.
 */
export const LABEL_BYTES: readonly number[] = [
  0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
];

/** The separator's byte token (newline: normalised texts never contain one). */
export const SEP = 0x0a;

/** A written example with fewer words than this is dropped as unusable. */
export const MIN_WORDS = 3;

/** C0 control characters and DEL: the bytes of the label tokens and SEP, never part of a text. */
const isControl = (code: number) => code < 0x20 || code === 0x7f;

/** One space between words, control characters turned into spaces. */
export const normalise = (text: string) =>
  Array.from(text, (ch) => (isControl(ch.charCodeAt(0)) ? ' ' : ch)).join('').replace(/\s+/g, ' ').trim();

/** A byte-level model can write bytes that are not UTF-8 (decoded as U+FFFD) or control characters other than whitespace: unusable text. */
export function isInvalidText(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0xfffd || (isControl(code) && !(code >= 0x09 && code <= 0x0d))) return true;
  }
  return false;
}

/** The lower-cased words of a normalised text. */
export const words = (text: string) => text.toLowerCase().split(' ').filter((w) => w !== '');

/**
 * Clean one output of a pretrained instruct model: drop preamble lines
 * ("Sure, here is …:") and label lines ("Category: …"), "Article:"-style
 * prefixes, markdown emphasis and outer quotes; collapse whitespace. Returns
 * the text, or why it is unusable (empty; fewer than MIN_WORDS words).
 */
export function cleanGeneratedText(raw: string): { text: string } | { dropped: 'empty' | 'too short' } {
  const lines = raw.split(/\r?\n/)
    .map((l) => l.replace(/\*\*|__|`/g, '').replace(/^#+\s*/, '').trim())
    .filter((l) => !/^(sure|certainly|here is|here's|okay|ok)\b.*:$/i.test(l) && !/^(category|label|topic|class)\s*:/i.test(l))
    .map((l) => l.replace(/^(news article|article|example|text|title|teaching material)\s*:\s*/i, ''));
  let text = normalise(lines.join(' '));
  const quoted = /^["“'](.*)["”']$/.exec(text);
  if (quoted) text = normalise(quoted[1]!);
  if (text === '') return { dropped: 'empty' };
  if (words(text).length < MIN_WORDS) return { dropped: 'too short' };
  return { text };
}
