/**
 * Hand-written solve(input) programs for every puzzle family
 * (docs/puzzles.md, "Program form"): a correct one and a plausibly buggy
 * one each, shared by the Node and browser tests of the program verifier.
 */
import type { FamilyName } from '../../src/core/puzzles';

export const CORRECT: Record<FamilyName, string> = {
  arithmetic: `function solve(s) {
    let i = 0;
    const factor = () => {
      if (s[i] === '(') { i++; const v = expr(); i++; return v; }
      let j = i; while (j < s.length && s[j] >= '0' && s[j] <= '9') j++;
      const v = Number(s.slice(i, j)); i = j; return v;
    };
    const term = () => { let v = factor(); while (s[i] === '*') { i++; v *= factor(); } return v; };
    const expr = () => { let v = term(); while (s[i] === '+' || s[i] === '-') { const op = s[i++]; const r = term(); v = op === '+' ? v + r : v - r; } return v; };
    return expr();
  }`,
  rpn: `function solve(s) {
    const st = [];
    for (const t of s.split(' ')) {
      if (/^\\d+$/.test(t)) st.push(Number(t));
      else { const b = st.pop(), a = st.pop(); st.push(t === '+' ? a + b : t === '-' ? a - b : a * b); }
    }
    return st[0];
  }`,
  brackets: `function solve(s) {
    const close = { '(': ')', '[': ']', '{': '}' }, st = [];
    for (const c of s) { if (close[c]) st.push(close[c]); else if (st.pop() !== c) return false; }
    return st.length === 0;
  }`,
  modular: `function solve(s) {
    const [, a, op, b, p] = /^(\\d+)([+*-])(\\d+)%(\\d+)$/.exec(s).map((x, i) => (i === 2 ? x : Number(x)));
    const r = op === '+' ? a + b : op === '-' ? a - b : a * b;
    return ((r % p) + p) % p;
  }`,
  reverse: 'const solve = (s) => s.split("").reverse().join("");',
  sort: 'function solve(s) { return [...s].sort().join(""); }',
};

/** Plausible mistakes: each is right on some inputs and wrong on others. */
export const BUGGY: Record<FamilyName, string> = {
  // Left to right, ignoring precedence (and parentheses' contents are read as numbers 0).
  arithmetic: `function solve(s) {
    const toks = s.match(/\\d+|[+*-]/g); let v = Number(toks[0]);
    for (let i = 1; i < toks.length; i += 2) { const b = Number(toks[i + 1]); v = toks[i] === '+' ? v + b : toks[i] === '-' ? v - b : v * b; }
    return v;
  }`,
  // Operands of - taken in the wrong order.
  rpn: `function solve(s) {
    const st = [];
    for (const t of s.split(' ')) {
      if (/^\\d+$/.test(t)) st.push(Number(t));
      else { const b = st.pop(), a = st.pop(); st.push(t === '+' ? a + b : t === '-' ? b - a : a * b); }
    }
    return st[0];
  }`,
  // Counts depth, ignores the kind of bracket.
  brackets: `function solve(s) {
    let d = 0;
    for (const c of s) { d += '([{'.includes(c) ? 1 : -1; if (d < 0) return false; }
    return d === 0;
  }`,
  // JavaScript's % keeps the sign: negative results for a-b < 0.
  modular: `function solve(s) {
    const m = /^(\\d+)([+*-])(\\d+)%(\\d+)$/.exec(s); const a = +m[1], b = +m[3], p = +m[4];
    return (m[2] === '+' ? a + b : m[2] === '-' ? a - b : a * b) % p;
  }`,
  // Sorts descending instead of reversing: right only when the digits already descend.
  reverse: 'function solve(s) { return s.split("").sort().reverse().join(""); }',
  // Drops repeated digits.
  sort: 'function solve(s) { return [...new Set(s)].sort().join(""); }',
};

