/**
 * The hostile-program table: programs that try to escape, exhaust or
 * confuse the sandbox, each with the outcomes that count as contained and,
 * where the outcome alone proves too little, a check of the result.
 * `npm run lab -- sandbox-check`, test/unit/sandbox.test.ts and
 * test/browser/sandbox.test.ts all run it; docs/sandbox.md lists it.
 *
 * After every case the runner also runs SANITY_PROGRAM in the same
 * sandbox: the sandbox must still answer, with no trace of the case
 * (Object.prototype and Array.prototype as new).
 */
import type { Json, ProgramOutcome, SandboxLimits, SandboxResult } from './types';

export interface HostileCase {
  name: string;
  /** Defines solve(input); run with input `"x"`. */
  source: string;
  /** Outcomes that count as contained. */
  expect: readonly ProgramOutcome[];
  /** A further condition on the result: null when it holds, else what is wrong. */
  check?: (r: SandboxResult) => string | null;
  limits?: Partial<SandboxLimits>;
}

/** Every global name an ECMAScript engine may define (ES2025 and Annex B), QuickJS's InternalError, and the sandbox's console. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  'globalThis', 'Infinity', 'NaN', 'undefined', 'eval', 'isFinite', 'isNaN', 'parseFloat', 'parseInt',
  'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape',
  'AggregateError', 'Array', 'ArrayBuffer', 'Atomics', 'BigInt', 'BigInt64Array', 'BigUint64Array', 'Boolean', 'DataView', 'Date',
  'Error', 'EvalError', 'FinalizationRegistry', 'Float16Array', 'Float32Array', 'Float64Array', 'Function', 'Int8Array', 'Int16Array',
  'Int32Array', 'Iterator', 'JSON', 'Map', 'Math', 'Number', 'Object', 'Promise', 'Proxy', 'RangeError', 'ReferenceError', 'Reflect',
  'RegExp', 'Set', 'SharedArrayBuffer', 'String', 'Symbol', 'SyntaxError', 'TypeError', 'Uint8Array', 'Uint8ClampedArray',
  'Uint16Array', 'Uint32Array', 'URIError', 'WeakMap', 'WeakRef', 'WeakSet',
  'InternalError', 'console', 'solve',
]);

const isValue = (expected: Json) => (r: SandboxResult): string | null =>
  JSON.stringify(r.value) === JSON.stringify(expected) ? null : `value ${JSON.stringify(r.value)}, expected ${JSON.stringify(expected)}`;

const messageMatches = (re: RegExp) => (r: SandboxResult): string | null =>
  re.test(r.message ?? '') ? null : `message ${JSON.stringify(r.message)} does not match ${re}`;

/** A host name that must be absent: using it is a ReferenceError inside the VM. */
const absent = (name: string, use: string): HostileCase => ({
  name: `${name}`,
  source: `function solve() { return ${use}; }`,
  expect: ['error'],
  check: messageMatches(new RegExp(`^ReferenceError: '${name}' is not defined`)),
});

export const HOSTILE_CASES: readonly HostileCase[] = [
  { name: 'infinite loop', source: 'function solve() { while (true) {} }', expect: ['timeout'], check: (r) => (r.terminated ? 'the worker was terminated; the interrupt should have stopped it' : null) },
  {
    name: 'deep recursion', source: 'function solve() { function f(n) { return f(n + 1) + 1; } return f(0); }', expect: ['memory'],
    check: messageMatches(/^stack overflow/),
  },
  {
    // QuickJS's parser recurses in C; its frames can fill the worker's own stack before QuickJS's check fires.
    name: 'deep nesting in the parser', source: 'function solve() { return eval("[".repeat(30000) + "]".repeat(30000)).length; }', expect: ['memory'],
    check: messageMatches(/^stack overflow/),
  },
  {
    name: '4 GiB ArrayBuffer', source: 'function solve() { return new ArrayBuffer(4 * 1024 ** 3).byteLength; }', expect: ['error'],
    check: messageMatches(/^RangeError: invalid array buffer length/),
  },
  {
    name: '4 GiB in two 2 GiB buffers', source: 'function solve() { const a = new ArrayBuffer(2 ** 31 - 1); const b = new ArrayBuffer(2 ** 31 - 1); return a.byteLength + b.byteLength; }',
    expect: ['memory'],
  },
  {
    name: 'allocating forever', source: 'function solve() { const kept = []; while (true) kept.push(new Array(1000).fill(kept.length)); }',
    expect: ['memory', 'timeout'],
  },
  {
    // A single native call never returns to the interpreter, so the interrupt never comes: the host terminates the worker.
    name: 'a native call the interrupt cannot reach', source: 'function solve() { return new Array(2 ** 29).join("x").length; }', expect: ['timeout'],
    check: (r) => (r.terminated ? null : 'expected the host to terminate the worker'),
  },
  { name: 'catastrophic regex', source: 'function solve() { return /(a+)+$/.test("a".repeat(40) + "b"); }', expect: ['timeout'] },
  absent('fetch', 'fetch("http://127.0.0.1:9/")'),
  absent('XMLHttpRequest', 'new XMLHttpRequest()'),
  absent('indexedDB', 'indexedDB.open("symbiosis-lab")'),
  absent('caches', 'caches.open("x")'),
  absent('postMessage', 'postMessage("hello")'),
  absent('importScripts', 'importScripts("http://127.0.0.1:9/x.js")'),
  absent('self', 'self.location.href'),
  absent('process', 'process.exit(1)'),
  absent('require', 'require("fs")'),
  absent('WebAssembly', 'WebAssembly.compile(new Uint8Array(8))'),
  {
    name: 'dynamic import', source: 'function solve() { return import("node:fs").then((fs) => fs.readFileSync("/etc/passwd", "utf8")); }', expect: ['error'],
    check: messageMatches(/could not load module/),
  },
  {
    // QuickJS's own eval: it compiles inside the VM and sees only the VM's globals.
    name: 'eval', source: 'function solve() { return eval("typeof fetch + \' \' + typeof postMessage + \' \' + (6 * 7)"); }', expect: ['value'],
    check: isValue('undefined undefined 42'),
  },
  {
    name: 'Function and the global object', source: 'function solve() { const g = Function("return this")(); return Object.getOwnPropertyNames(g); }', expect: ['value'],
    check: (r) => {
      if (!Array.isArray(r.value)) return 'expected a list of names';
      const extra = r.value.filter((n) => typeof n !== 'string' || !ALLOWED_GLOBALS.has(n));
      return extra.length === 0 ? null : `globals beyond ECMAScript's: ${extra.join(', ')}`;
    },
  },
  {
    // The only host function, console's capture, is wrapped by a VM function whose constructor is the VM's Function.
    name: 'through console.log\'s constructor', source: 'function solve() { return console.log.constructor("return [typeof process, typeof require, typeof fetch, typeof document].join()")(); }',
    expect: ['value'], check: isValue('undefined,undefined,undefined,undefined'),
  },
  {
    name: 'polluting Object.prototype', source: 'function solve() { Object.prototype.polluted = "yes"; Array.prototype.map = null; JSON.parse = () => 1; return ({}).polluted; }',
    expect: ['value'], check: isValue('yes'),
  },
  { name: 'huge return string', source: 'function solve() { return "x".repeat(1e7); }', expect: ['output'] },
  { name: 'printing forever', source: 'function solve() { while (true) console.log("spam ".repeat(1000)); }', expect: ['output'] },
  { name: 'thrown non-Error', source: 'function solve() { throw 42; }', expect: ['error'], check: messageMatches(/^uncaught number \(not an Error\): 42$/) },
  {
    name: 'thrown object with a looping getter', source: 'function solve() { throw { get message() { while (true) {} } }; }', expect: ['timeout', 'error'],
  },
  { name: 'never-settling promise', source: 'async function solve() { await new Promise(() => {}); }', expect: ['error'], check: messageMatches(/never settled/) },
  { name: 'a value that is not JSON', source: 'function solve() { return 10n ** 30n; }', expect: ['error'], check: messageMatches(/^the value is not JSON/) },
  { name: 'syntax error', source: 'function solve(input) { return input +; }', expect: ['error'], check: messageMatches(/^SyntaxError/) },
  { name: 'no solve', source: 'const answer = 42;', expect: ['error'], check: messageMatches(/defines no function solve/) },
];

/** Runs after every case: the sandbox still answers, with fresh built-ins. */
export const SANITY_PROGRAM = 'function solve(x) { return [typeof ({}).polluted, [1, 2].map((v) => v * 2).join(), JSON.parse("[3]")[0], x]; }';
export const SANITY_INPUT: Json = 'ok';
export const SANITY_VALUE: Json = ['undefined', '2,4', 3, 'ok'];

export interface HostileVerdict {
  name: string;
  result: SandboxResult;
  /** The outcome is expected, the check holds, the sandbox answered the sanity program, and the host's prototypes are clean. */
  contained: boolean;
  /** Why not, when not contained. */
  problem: string | null;
}

/** Run the table (or part of it) through `run`, case by case, each followed by the sanity program. */
export async function runHostileCases(
  run: (source: string, input: Json, limits?: Partial<SandboxLimits>) => Promise<SandboxResult>,
  cases: readonly HostileCase[] = HOSTILE_CASES,
  onCase?: (v: HostileVerdict) => void,
): Promise<HostileVerdict[]> {
  const out: HostileVerdict[] = [];
  for (const c of cases) {
    const result = await run(c.source, 'x', c.limits);
    let problem: string | null = c.expect.includes(result.outcome) ? null : `outcome ${result.outcome} (${result.message ?? ''}), expected ${c.expect.join(' or ')}`;
    problem ??= c.check?.(result) ?? null;
    const sanity = await run(SANITY_PROGRAM, SANITY_INPUT);
    if (problem === null && JSON.stringify(sanity.value) !== JSON.stringify(SANITY_VALUE)) {
      problem = `the next program saw ${sanity.outcome} ${JSON.stringify(sanity.value ?? sanity.message)}, expected ${JSON.stringify(SANITY_VALUE)}`;
    }
    const hostPolluted = Object.getOwnPropertyNames(Object.prototype).includes('polluted') || typeof Array.prototype.map !== 'function';
    if (problem === null && hostPolluted) problem = "the host's Object.prototype or Array.prototype changed";
    const verdict = { name: c.name, result, contained: problem === null, problem };
    onCase?.(verdict);
    out.push(verdict);
  }
  return out;
}

/** One line for a verdict: "contained  infinite loop → timeout: interrupted after 1000 ms (1012 ms)". */
export function formatHostileVerdict(v: HostileVerdict): string {
  const r = v.result;
  const what = r.outcome === 'value' ? `value ${JSON.stringify(r.value)?.slice(0, 80) ?? 'undefined'}` : `${r.outcome}: ${r.message ?? ''}`;
  return `${v.contained ? 'contained' : 'ESCAPED  '}  ${v.name} → ${what} (${Math.round(r.ms)} ms)${v.problem ? `  -- ${v.problem}` : ''}`;
}
