/**
 * The program sandbox in real headless Chromium, through the real Web
 * Worker (workers/sandbox.worker.ts, QuickJS's .wasm served by Vite from
 * node_modules; no request leaves the dev server): every hostile program
 * is contained with its named outcome while the page's own thread keeps
 * running and its prototypes stay clean; hand-written programs are judged
 * as in Node; and a sandbox started inside another worker (as the lab
 * worker will) works too.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Json } from '../../src/core/puzzles';
import { BUGGY, CORRECT } from '../support/programs';
import { type Lab, startLab } from './harness';

let lab: Lab;
let page: Page;
let errors: string[];
const requests: string[] = [];

beforeAll(async () => {
  lab = await startLab();
  ({ page, errors } = await lab.newPage());
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${lab.url}/test/browser/pages/sandbox.html`);
  await page.waitForFunction(() => window.sandboxReady === true);
});

afterAll(async () => {
  await lab?.close();
});

describe('the sandbox in a Web Worker', () => {
  test('every hostile program is contained; the page keeps running and stays clean', async () => {
    const r = await page.evaluate(async () => {
      const { sandbox, heartbeat, runHostileCases, formatHostileVerdict } = window.sandboxPage;
      const beatsBefore = heartbeat.beats;
      const t0 = performance.now();
      const verdicts = await runHostileCases((source, input, limits) => sandbox.run(source, input, limits));
      const seconds = (performance.now() - t0) / 1000;
      return {
        lines: verdicts.map(formatHostileVerdict),
        outcomes: verdicts.map((v) => [v.name, v.result.outcome, v.contained, v.problem] as const),
        beats: heartbeat.beats - beatsBefore, seconds,
        pagePolluted: Object.getOwnPropertyNames(Object.prototype).includes('polluted'),
        stats: sandbox.stats,
      };
    });
    console.log(r.lines.join('\n'));
    for (const [name, outcome, contained, problem] of r.outcomes) expect(contained, `${name}: ${outcome} ${problem}`).toBe(true);
    expect(r.outcomes.length).toBeGreaterThanOrEqual(25);
    // The page's timer fired throughout (at least a quarter of its 50 beats a second): no program blocked it.
    expect(r.beats).toBeGreaterThan(r.seconds * 50 * 0.25);
    expect(r.pagePolluted).toBe(false);
    expect(r.stats.replaced).toBeGreaterThanOrEqual(1); // the native call the interrupt cannot reach
    expect(errors).toEqual([]);
    // Every request went to the dev server (QuickJS's .wasm included), none elsewhere.
    expect(requests.filter((u) => !u.startsWith(lab.url) && !u.startsWith('data:'))).toEqual([]);
    expect(requests.some((u) => /emscripten-module\.wasm/.test(u))).toBe(true);
  });

  test('hand-written programs per family: correct ones generalise, buggy ones fail somewhere, constants are caught', async () => {
    const rows = await page.evaluate(async ({ correct, buggy }) => {
      const { sandbox, puzzles, keyFromSeed, foldIn } = window.sandboxPage;
      const run = (source: string, input: Json) => sandbox.run(source, input);
      const out = [];
      for (const family of puzzles.FAMILY_NAMES) {
        let buggyFailures = 0;
        for (const d of [2, 5, 9]) {
          const visible = puzzles.generatePuzzle(family, foldIn(keyFromSeed(41), d), d);
          const hidden = puzzles.hiddenPuzzles(visible, foldIn(keyFromSeed(42), d), 4);
          const good = await puzzles.verifyProgram(visible, hidden, correct[family], run);
          const bad = await puzzles.verifyProgram(visible, hidden, buggy[family], run);
          const constant = visible.answerKind === 'digits' ? JSON.stringify(visible.answer) : visible.answer;
          const memorised = await puzzles.verifyProgram(visible, hidden, `function solve() { return ${constant}; }`, run);
          buggyFailures += [bad.visible.verdict, ...bad.hidden.map((h) => h.verdict)].filter((v) => !v.passed).length;
          out.push({
            family, d, good: [good.passesVisible, good.generalises], memorised: [memorised.passesVisible, memorised.generalises, memorised.hiddenShare],
          });
        }
        out.push({ family, buggyFailures });
      }
      return out;
    }, { correct: CORRECT, buggy: BUGGY });
    for (const row of rows) {
      if ('buggyFailures' in row) expect(row.buggyFailures, row.family).toBeGreaterThan(0);
      else {
        expect(row.good, `${row.family} d${row.d}`).toEqual([true, true]);
        expect(row.memorised.slice(0, 2), `${row.family} d${row.d}`).toEqual([true, false]);
        expect(row.memorised[2]).toBeLessThan(1);
      }
    }
  });

  test('a sandbox started inside another worker runs programs and contains a runaway one', async () => {
    const r = await page.evaluate(async () => {
      const nested = window.sandboxNested;
      const value = await nested.run('function solve(s) { return s.split("").sort().join(""); }', '3140');
      const stuck = await nested.run('function solve() { return new Array(2 ** 29).join("x").length; }', 0);
      const after = await nested.run('function solve(x) { return x + 1; }', 1);
      return { value, stuck, after, stats: await nested.stats() };
    });
    expect(r.value).toMatchObject({ outcome: 'value', value: '0134' });
    expect(r.stuck).toMatchObject({ outcome: 'timeout', terminated: true });
    expect(r.after).toMatchObject({ outcome: 'value', value: 2 });
    expect(r.stats).toMatchObject({ spawned: 2, replaced: 1 });
  });
});
