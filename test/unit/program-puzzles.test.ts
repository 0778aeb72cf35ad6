/**
 * Program puzzles (src/core/puzzles/programs.ts): the pure parts (inputs,
 * prompts, answer conversion, hidden-input drawing) and the verifier with
 * hand-written programs run in the real Node sandbox (QuickJS in a
 * worker_thread): correct ones pass everything, buggy ones are judged
 * input by input exactly as the same code judged on the host, and a
 * program that returns the visible answer as a constant is caught by the
 * hidden inputs.
 */
import { afterAll, describe, expect, test } from 'vitest';
import {
  FAMILY_NAMES, type FamilyName, type Json, type Puzzle, extractProgram, generatePuzzle, hiddenPuzzles, judgeRun, programAnswerText,
  programInput, programPrompt, verifyProgram,
} from '../../src/core/puzzles';
import { foldIn, keyFromSeed } from '../../src/core/rng';
import { nodeSandbox } from '../../src/sandbox/node';
import { BUGGY, CORRECT } from '../support/programs';

describe('program inputs and prompts', () => {
  test('each family hands solve the operands of its prompt', () => {
    const key = keyFromSeed(5);
    const examples: Record<FamilyName, RegExp> = {
      arithmetic: /^[\d+\-*()]+$/, rpn: /^\d+( (\d+|[+\-*]))+$/, brackets: /^[()[\]{}]+$/,
      modular: /^\d+[+\-*]\d+%\d+$/, reverse: /^\d+$/, sort: /^\d+$/,
    };
    for (const family of FAMILY_NAMES) {
      for (let d = 1; d <= 10; d++) {
        const p = generatePuzzle(family, foldIn(key, d), d);
        const input = programInput(p);
        expect(input, `${family} d${d}: ${p.prompt}`).toMatch(examples[family]);
        expect(p.prompt).toContain(input);
        if (family === 'reverse' || family === 'sort') expect(input).toHaveLength(d + 2);
      }
    }
    expect(programInput({ family: 'reverse', prompt: 'rev 0310=' })).toBe('0310');
    expect(programInput({ family: 'brackets', prompt: '({)}?' })).toBe('({)}');
    expect(programInput({ family: 'modular', prompt: '3-5%7=' })).toBe('3-5%7');
  });

  test('the prompt names solve, the input, the return type, and never the answer', () => {
    const p = generatePuzzle('rpn', keyFromSeed(9), 6);
    const text = programPrompt(p);
    expect(text).toContain('solve(input)');
    expect(text).toContain(`solve(${JSON.stringify(programInput(p))})`);
    expect(text).toMatch(/integer number/);
    expect(text).not.toContain(`returns ${p.answer}.`);
    expect(programPrompt({ family: 'reverse', prompt: 'rev 120=' })).toMatch(/as a string/);
    expect(programPrompt({ family: 'brackets', prompt: '()?' })).toMatch(/as a boolean/);
  });

  test('extractProgram takes the first fenced block and drops export', () => {
    expect(extractProgram('Here:\n```js\nexport function solve(s) { return s; }\n```\nDone.')).toBe('function solve(s) { return s; }');
    expect(extractProgram('```javascript\nexport const solve = (s) => 1;\n```')).toBe('const solve = (s) => 1;');
    expect(extractProgram('  function solve(s) { return 2; }  ')).toBe('function solve(s) { return 2; }');
    expect(extractProgram('```\nexport default function solve() {}\n```')).toBe('function solve() {}');
  });

  test('answers are converted by type: digit strings stay strings, integers may be strings, booleans may be text', () => {
    expect(programAnswerText(14, 'integer')).toBe('14');
    expect(programAnswerText(-0, 'integer')).toBe('0');
    expect(programAnswerText('0014', 'integer')).toBe('14');
    expect(programAnswerText(14.5, 'integer')).toBeNull();
    expect(programAnswerText('1e3', 'integer')).toBeNull();
    expect(programAnswerText(true, 'boolean')).toBe('true');
    expect(programAnswerText('False', 'boolean')).toBe('false');
    expect(programAnswerText(1, 'boolean')).toBeNull();
    expect(programAnswerText('0130', 'digits')).toBe('0130');
    expect(programAnswerText(130, 'digits')).toBeNull(); // a number loses the leading zero
    expect(programAnswerText(undefined, 'integer')).toBeNull();
    expect(programAnswerText([1], 'digits')).toBeNull();
  });

  test('judgeRun names the reason', () => {
    const p = { answer: '14', answerKind: 'integer' as const };
    expect(judgeRun(p, { outcome: 'value', value: 14, printed: '', ms: 1 })).toEqual({ passed: true });
    expect(judgeRun(p, { outcome: 'value', value: 20, printed: '', ms: 1 })).toEqual({ passed: false, reason: 'wrong', message: 'returned 20, expected 14' });
    expect(judgeRun(p, { outcome: 'value', value: [14], printed: '', ms: 1 })).toMatchObject({ passed: false, reason: 'type' });
    expect(judgeRun(p, { outcome: 'value', printed: '', ms: 1 })).toMatchObject({ passed: false, reason: 'type', message: 'expected an integer, got undefined' });
    expect(judgeRun(p, { outcome: 'timeout', message: 'interrupted', printed: '', ms: 1 })).toEqual({ passed: false, reason: 'timeout', message: 'interrupted' });
  });
});

describe('hidden puzzles', () => {
  test.each(FAMILY_NAMES.flatMap((family) => [1, 4, 7, 10].map((difficulty) => ({ family, difficulty }))))(
    '$family d$difficulty: same family and level, distinct, not the visible one, deterministic, no constant passes them all',
    ({ family, difficulty }) => {
      for (let i = 0; i < 20; i++) {
        const visible = generatePuzzle(family, foldIn(keyFromSeed(difficulty), i), difficulty);
        const key = foldIn(keyFromSeed(1000 + difficulty), i);
        const hidden = hiddenPuzzles(visible, key, 6);
        expect(hiddenPuzzles(visible, key, 6)).toEqual(hidden);
        expect(hidden).toHaveLength(6);
        const prompts = new Set(hidden.map((h) => h.prompt));
        expect(prompts.size).toBe(6);
        expect(prompts.has(visible.prompt)).toBe(false);
        for (const h of hidden) expect([h.family, h.difficulty]).toEqual([family, difficulty]);
        // The constant that passes the visible puzzle fails at least one hidden one; so does every other constant.
        expect(hidden.some((h) => h.answer !== visible.answer)).toBe(true);
        expect(new Set(hidden.map((h) => h.answer)).size).toBeGreaterThan(1);
        if (family === 'brackets') {
          // Balanced where the level has enough strings (difficulty 1 has only two balanced ones: "()()" and "(())").
          const trues = hidden.filter((h) => h.answer === 'true').length;
          if (difficulty > 1) expect(trues).toBe(3);
          else expect(trues).toBe(visible.answer === 'true' ? 1 : 2);
          expect(hiddenPuzzles(visible, key, 1)[0]!.answer).not.toBe(visible.answer);
        }
      }
    },
  );

  test('another key draws other puzzles; too many for a small family is refused, naming count', () => {
    const visible = generatePuzzle('arithmetic', keyFromSeed(1), 6);
    const a = hiddenPuzzles(visible, keyFromSeed(2), 5).map((p) => p.prompt);
    const b = hiddenPuzzles(visible, keyFromSeed(3), 5).map((p) => p.prompt);
    expect(a).not.toEqual(b);
    const small = generatePuzzle('modular', keyFromSeed(1), 1); // a+b mod 5: 25 puzzles in all
    expect(hiddenPuzzles(small, keyFromSeed(2), 24)).toHaveLength(24);
    expect(() => hiddenPuzzles(small, keyFromSeed(2), 25)).toThrow(/^count: the modular puzzles of difficulty 1 allow only 24 hidden ones/);
    expect(() => hiddenPuzzles(small, keyFromSeed(2), 0)).toThrow(/^count: must be a positive integer/);
  });
});

/** The host's own answer for trusted, hand-written source (the test's reference for what the sandbox should report). */
function hostValue(source: string, input: string): Json | undefined {
  const solve = new Function(`${source}\nreturn solve;`)() as (s: string) => Json;
  return solve(input);
}

describe('the verifier on hand-written programs, in the Node sandbox', () => {
  const sandbox = nodeSandbox();
  const run = (source: string, input: Json) => sandbox.run(source, input);
  afterAll(() => sandbox.close());

  /** One visible puzzle per difficulty, 4 hidden each. */
  const tasks = (family: FamilyName): { visible: Puzzle; hidden: Puzzle[] }[] =>
    Array.from({ length: 10 }, (_, i) => {
      const visible = generatePuzzle(family, foldIn(keyFromSeed(31), i), i + 1);
      return { visible, hidden: hiddenPuzzles(visible, foldIn(keyFromSeed(32), i), 4) };
    });

  test.each(FAMILY_NAMES)('%s: the correct program passes every visible and hidden puzzle', async (family) => {
    for (const { visible, hidden } of tasks(family)) {
      const v = await verifyProgram(visible, hidden, CORRECT[family], run);
      expect(v.passesVisible, `${visible.prompt} ${JSON.stringify(v.visible)}`).toBe(true);
      expect(v.hiddenShare).toBe(1);
      expect(v.generalises).toBe(true);
    }
  });

  test.each(FAMILY_NAMES)('%s: the buggy program is judged input by input as the host judges the same code, and fails somewhere', async (family) => {
    let failures = 0;
    for (const { visible, hidden } of tasks(family)) {
      const v = await verifyProgram(visible, hidden, BUGGY[family], run);
      const rows = [{ puzzle: visible, verdict: v.visible.verdict, run: v.visible.run }, ...v.hidden];
      for (const row of rows) {
        const expected = hostValue(BUGGY[family], programInput(row.puzzle));
        expect(row.run.outcome).toBe('value');
        expect(row.run.value).toEqual(JSON.parse(JSON.stringify(expected))); // values travel as JSON (-0 arrives as 0)
        const shouldPass = programAnswerText(expected, row.puzzle.answerKind) === row.puzzle.answer;
        expect(row.verdict.passed, `${row.puzzle.prompt} → ${JSON.stringify(expected)}`).toBe(shouldPass);
        if (!row.verdict.passed) failures++;
      }
      expect(v.hiddenShare).toBe(v.hidden.filter((h) => h.verdict.passed).length / 4);
    }
    expect(failures).toBeGreaterThan(0);
  });

  test.each(FAMILY_NAMES)('%s: a program returning the visible answer as a constant passes it and is caught by the hidden inputs', async (family) => {
    for (const { visible, hidden } of tasks(family)) {
      const constant = visible.answerKind === 'digits' ? JSON.stringify(visible.answer) : visible.answer;
      const v = await verifyProgram(visible, hidden, `function solve(input) { return ${constant}; }`, run);
      expect(v.passesVisible).toBe(true);
      expect(v.generalises).toBe(false);
      expect(v.hiddenShare).toBeLessThan(1);
      expect(v.hidden.some((h) => !h.verdict.passed && h.verdict.reason === 'wrong')).toBe(true);
    }
  });

  test('wrong types and failures are named per input', async () => {
    const visible = generatePuzzle('reverse', keyFromSeed(4), 3);
    const hidden = hiddenPuzzles(visible, keyFromSeed(5), 2);
    const asNumber = await verifyProgram(visible, hidden, 'function solve(s) { return Number(s); }', run);
    expect(asNumber.visible.verdict).toMatchObject({ passed: false, reason: 'type' });
    const loops = await verifyProgram(visible, hidden, 'function solve(s) { while (true) {} }', run);
    expect(loops.visible.verdict).toMatchObject({ passed: false, reason: 'timeout' });
    expect(loops.hiddenShare).toBe(0);
    const arithmetic = generatePuzzle('arithmetic', keyFromSeed(6), 3);
    const viaEval = await verifyProgram(arithmetic, hiddenPuzzles(arithmetic, keyFromSeed(7), 3), 'const solve = (s) => eval(s);', run);
    expect(viaEval.generalises).toBe(true); // QuickJS's own eval computes inside the VM
  });
});
