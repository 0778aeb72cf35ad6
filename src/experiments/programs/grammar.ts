/**
 * The lab's GPT coder starts from nothing, so before iteration 0 it learns
 * to write programs from a small grammar: `function solve(s){` then an
 * optional statement that rewrites `s`, then `return` and an expression of
 * `s` (docs/programs.md, "The lab's own GPT"). The programs are paired with
 * random puzzles, so the warm-started GPT writes them whatever the puzzle:
 * what the loop adds is finding which program answers which kind of puzzle,
 * and preferring programs that compute to constants.
 *
 * Some programs of the grammar solve a family outright (`eval(s)` for
 * arithmetic, reversing and sorting the digits, removing matched pairs for
 * brackets), some only part of it (cutting `%p` off modular arithmetic is
 * right while a op b < p), and none solves RPN: the GPT cannot write a
 * program the grammar does not hold.
 */
import { type Key, Rng } from '../../core/rng';

/** What every program starts with; the GPT writes the rest (the body). */
export const SIGNATURE = 'function solve(s){';

/** A choice with its probability weight. */
type Weighted = readonly [text: string, weight: number];

/** A statement that rewrites s first (or none). */
const PREFIXES: readonly Weighted[] = [
  ['', 10],
  ['while(s!=(s=s.replace(/\\(\\)|\\[\\]|\\{\\}/g,"")));', 4], // drop matched pairs until none is left
  ['s=s.split("%")[0];', 3], // cut a modulus off
  ['s=s.replace(/ /g,"");', 3], // drop the spaces
];

/** An expression of s: a string (which a wrapper may turn into a value), or already a value. */
const STRING_CORES: readonly Weighted[] = [
  ['s', 8],
  ['s.split("").reverse().join("")', 3],
  ['s.split("").sort().join("")', 3],
  ['s.split(" ").reverse().join(" ")', 1],
];
const VALUE_CORES: readonly Weighted[] = [
  ['s.length', 1],
  ['s.split(" ").length', 1],
  ['0', 0.5],
  ['1', 0.5],
  ['true', 0.5],
  ['false', 0.5],
];

/** What becomes of a string core; `$` is the core. */
const WRAPPERS: readonly Weighted[] = [
  ['$', 8],
  ['eval($)', 6],
  ['$==""', 3],
  ['Number($)', 3],
];

function pick(rng: Rng, options: readonly Weighted[]): string {
  const total = options.reduce((s, [, w]) => s + w, 0);
  let u = rng.uniform() * total;
  for (const [text, w] of options) {
    u -= w;
    if (u < 0) return text;
  }
  return options.at(-1)![0];
}

/** One program body (what follows SIGNATURE) from `rng`. */
export function sampleBody(rng: Rng): string {
  const prefix = pick(rng, PREFIXES);
  const valueWeight = VALUE_CORES.reduce((s, [, w]) => s + w, 0);
  const stringWeight = STRING_CORES.reduce((s, [, w]) => s + w, 0);
  const expression = rng.uniform() * (valueWeight + stringWeight) < valueWeight
    ? pick(rng, VALUE_CORES)
    : pick(rng, WRAPPERS).replace('$', pick(rng, STRING_CORES));
  return `${prefix}return ${expression}}`;
}

/** `count` program bodies drawn from `key`. */
export function sampleBodies(count: number, key: Key): string[] {
  const rng = new Rng(key);
  return Array.from({ length: count }, () => sampleBody(rng));
}

/** The longest body the grammar can write, in characters: the GPT's budget of new tokens. */
export const MAX_BODY_LENGTH = Math.max(...PREFIXES.map(([p]) => p.length))
  + 'return '.length
  + Math.max(...STRING_CORES.map(([c]) => c.length)) + Math.max(...WRAPPERS.map(([w]) => w.length - 1))
  + '}'.length;
