/**
 * The program sandbox in Node (QuickJS in a worker_thread, src/sandbox):
 * every hostile program in the table is contained with its named outcome
 * and the sandbox still answers afterwards; values, printed text, limits
 * and isolation between runs behave as docs/sandbox.md says; and the
 * headless `sandbox` command prints one JSON line and exits 0 whatever the
 * program did.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { sandboxFile } from '../../bin/sandbox';
import { HOSTILE_CASES, formatHostileVerdict, runHostileCases } from '../../src/sandbox/hostile';
import { Sandbox, type SandboxWorker } from '../../src/sandbox/client';
import { nodeSandbox, spawnNodeSandboxWorker } from '../../src/sandbox/node';
import { DEFAULT_LIMITS, MAX_STACK_BYTES, resolveLimits } from '../../src/sandbox/types';

const sandbox = nodeSandbox();
afterAll(() => sandbox.close());

describe('hostile programs are contained', () => {
  test.each(HOSTILE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const [v] = await runHostileCases((source, input, limits) => sandbox.run(source, input, limits), [c]);
    expect(v!.problem, formatHostileVerdict(v!)).toBeNull();
    expect(v!.contained).toBe(true);
    expect(c.expect).toContain(v!.result.outcome);
  });

  test('a hard timeout replaces the worker, and the next run gets a fresh one', async () => {
    const before = { ...sandbox.stats };
    const r = await sandbox.run('function solve() { return new Array(2 ** 29).join("x").length; }', 0, { timeoutMs: 200, graceMs: 300 });
    expect(r).toMatchObject({ outcome: 'timeout', terminated: true });
    expect(r.ms).toBeGreaterThanOrEqual(500);
    expect(sandbox.stats.replaced).toBe(before.replaced + 1);
    expect(await sandbox.run('function solve(x) { return x * 2; }', 21)).toMatchObject({ outcome: 'value', value: 42 });
    expect(sandbox.stats.spawned).toBe(before.spawned + 1);
  });

  test('a stack limit beyond the worker\'s own stack: the overflow inside QuickJS\'s C code discards that worker', async () => {
    const before = sandbox.stats.replaced;
    const r = await sandbox.run('function solve() { function f(n) { return f(n + 1) + 1; } return f(0); }', 0, { stackBytes: MAX_STACK_BYTES });
    expect(r).toMatchObject({ outcome: 'memory', message: "stack overflow (the worker's own stack, inside QuickJS)" });
    expect(sandbox.stats.replaced).toBe(before + 1);
    expect(await sandbox.run('function solve(x) { return x - 1; }', 1)).toMatchObject({ outcome: 'value', value: 0 });
  });

  test('a worker that dies mid-run (killed from outside) gives a named failure, and the next run gets a fresh worker', async () => {
    const spawned: SandboxWorker[] = [];
    const own = new Sandbox(() => {
      const w = spawnNodeSandboxWorker();
      spawned.push(w);
      return w;
    }, { timeoutMs: 10_000 });
    try {
      await own.warm();
      const running = own.run('function solve() { while (true) {} }', 0);
      setTimeout(() => spawned[0]!.terminate(), 300);
      const r = await running;
      expect(r).toMatchObject({ outcome: 'error', terminated: true });
      expect(r.message).toMatch(/^the sandbox worker died: exited with code/);
      expect(r.ms).toBeLessThan(5_000);
      expect(await own.run('function solve(x) { return x; }', 'back')).toMatchObject({ outcome: 'value', value: 'back' });
      expect(own.stats).toMatchObject({ spawned: 2, replaced: 1 });
    } finally {
      own.close();
    }
  });
});

describe('runs', () => {
  test('a value, what was printed, and the input intact', async () => {
    const input = { text: 'héllo ✓ "quoted"', list: [1, 2.5, null, true], nested: { deep: ['x'] } };
    const r = await sandbox.run('function solve(x) { console.log("got", x.list, 7); console.info("second"); return { echo: x, n: x.list.length }; }', input);
    expect(r).toMatchObject({ outcome: 'value', value: { echo: input, n: 4 } });
    expect(r.printed).toBe('got [1,2.5,null,true] 7\nsecond\n');
    expect(r.ms).toBeGreaterThan(0);
  });

  test('without an input the value is the script\'s last expression; undefined comes back as no value', async () => {
    expect(await sandbox.run('const a = [3, 1, 2]; a.sort(); a')).toMatchObject({ outcome: 'value', value: [1, 2, 3] });
    const r = await sandbox.run('function solve() {}', 1);
    expect(r.outcome).toBe('value');
    expect('value' in r).toBe(false);
    expect(await sandbox.run('const solve = (s) => s.length;', 'abcd')).toMatchObject({ outcome: 'value', value: 4 });
    expect(await sandbox.run('async function solve(x) { await null; return x + 1; }', 1)).toMatchObject({ outcome: 'value', value: 2 });
  });

  test('errors carry their name, message and place in the program', async () => {
    const r = await sandbox.run('function solve(s) {\n  return s.nope.deeper;\n}', 'x');
    expect(r.outcome).toBe('error');
    expect(r.message).toMatch(/^TypeError: .*\(program\.js:2:\d+\)$/);
    expect((await sandbox.run('function solve() { throw new RangeError("too big"); }', 0)).message).toMatch(/^RangeError: too big/);
    expect((await sandbox.run('function solve() { throw "plain"; }', 0)).message).toBe('uncaught string (not an Error): "plain"');
    expect((await sandbox.run('function solve() { throw null; }', 0)).message).toBe('uncaught null (not an Error)');
    expect((await sandbox.run('function solve() { return () => 1; }', 0)).message).toBe('the value is not JSON: it is a function');
  });

  test('nothing a program does survives into the next run', async () => {
    await sandbox.run('globalThis.leak = 1; Object.prototype.leak = 2; String.prototype.trim = null; function solve() { return 0; }', 0);
    expect(await sandbox.run('function solve() { return [typeof leak, ({}).leak === undefined, typeof "".trim]; }', 0))
      .toMatchObject({ value: ['undefined', true, 'function'] });
  });

  test('the limits hold and are per run', async () => {
    const allocate = 'function solve() { const a = new Uint8Array(8 * 1024 * 1024); return a.length; }';
    expect(await sandbox.run(allocate, 0)).toMatchObject({ outcome: 'value', value: 8 * 1024 * 1024 });
    expect(await sandbox.run(allocate, 0, { memoryBytes: 4 * 1024 * 1024 })).toMatchObject({ outcome: 'memory' });
    const printing = await sandbox.run('function solve() { for (let i = 0; i < 100; i++) console.log("0123456789"); return 1; }', 0, { maxPrintedChars: 50 });
    expect(printing.outcome).toBe('output');
    expect(printing.printed).toHaveLength(50);
    expect(await sandbox.run('function solve() { return "y".repeat(100); }', 0, { maxValueChars: 101 })).toMatchObject({ outcome: 'output' });
    expect(await sandbox.run('function solve() { return "y".repeat(99); }', 0, { maxValueChars: 101 })).toMatchObject({ outcome: 'value' });
    const slow = await sandbox.run('function solve() { const t = Date.now(); while (Date.now() - t < 300) {} return 1; }', 0, { timeoutMs: 100 });
    expect(slow).toMatchObject({ outcome: 'timeout', message: 'interrupted after 100 ms' });
    expect(slow.terminated).toBeUndefined();
    const deep = 'function solve() { function f(n) { return n === 0 ? 0 : 1 + f(n - 1); } return f(200); }';
    expect(await sandbox.run(deep, 0)).toMatchObject({ outcome: 'value', value: 200 });
    expect(await sandbox.run(deep, 0, { stackBytes: 16 * 1024 })).toMatchObject({ outcome: 'memory' });
  });

  test('bad limits are refused, naming the field', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(() => resolveLimits({ timeoutMs: 0 })).toThrow(/^timeoutMs: must be an integer ≥ 1, got 0/);
    expect(() => resolveLimits({ memoryBytes: 1.5 })).toThrow(/^memoryBytes:/);
    expect(() => resolveLimits({ bogus: 1 } as never)).toThrow(/^bogus: not a sandbox limit/);
    expect(() => resolveLimits({ stackBytes: MAX_STACK_BYTES + 1 })).toThrow(/^stackBytes: at most/);
    expect(() => sandbox.run('1', undefined, { graceMs: -1 })).toThrow(/^graceMs/);
  });
});

describe('npm run lab -- sandbox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** sandboxFile in this process, with what it printed. */
  async function inProcess(args: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      return { code: await sandboxFile(args), lines };
    } finally {
      log.mockRestore();
    }
  }

  test('one JSON line and exit 0, whatever the program did', async () => {
    const good = await inProcess([file('good.js', 'function solve(s) { console.log("len", s.length); return s.split("").reverse().join(""); }'), '--input', '"0314"']);
    expect(good.code).toBe(0);
    expect(good.lines).toHaveLength(1);
    const line = JSON.parse(good.lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ outcome: 'value', value: '4130', printed: 'len 4\n' });
    expect(Object.keys(line)).toEqual(['outcome', 'value', 'printed', 'ms']);
    const loop = await inProcess([file('loop.js', 'while (true) {}')]);
    expect(loop.code).toBe(0);
    expect(JSON.parse(loop.lines[0]!)).toMatchObject({ outcome: 'timeout', message: 'interrupted after 1000 ms' });
    await expect(inProcess([file('x.js', '1'), '--input', '{bad'])).rejects.toThrow(/^--input: not JSON/);
    await expect(inProcess([])).rejects.toThrow(/^sandbox: give a JavaScript file/);
  });

  test('through bin/lab.ts: the line on stdout and exit 0 for a failing program; exit 1 when the file is missing', async () => {
    const exec = promisify(execFile);
    const root = new URL('../..', import.meta.url).pathname;
    const lab = (...args: string[]) => exec(join(root, 'node_modules/.bin/tsx'), ['bin/lab.ts', ...args], { cwd: root });
    const thrown = await lab('sandbox', file('throws.js', 'function solve() { throw new Error("no"); }'), '--input', '1');
    expect(thrown.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(thrown.stdout)).toMatchObject({ outcome: 'error', message: 'Error: no (program.js:1:35)' });
    await expect(lab('sandbox', join(dir, 'missing.js'))).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/ENOENT/) });
  });
});
