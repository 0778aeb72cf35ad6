/**
 * One program run inside QuickJS (WebAssembly), in whichever worker hosts
 * the module (workers/sandbox.worker.ts in a browser,
 * workers/sandbox.node-worker.ts in Node). Each run gets a fresh QuickJS
 * runtime and context: its own heap with a malloc limit, a stack limit, an
 * interrupt handler with a deadline, and no globals but ECMAScript's own
 * and a `console` whose output is captured. Nothing of the host (network,
 * storage, DOM, the worker's globals) is reachable from inside: the only
 * host function is the capture behind console.log. docs/sandbox.md has
 * the threat model.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import type { Json, SandboxJob, SandboxResult, WorkerReply } from './types';

/**
 * Installs `console` (log, info, warn, error, debug: one line per call,
 * arguments as strings or JSON) around the host's `print`, which is never
 * itself a global. Runs before the program, so the program may replace it.
 */
const CONSOLE_PRELUDE = `(function (print) {
  const stringify = JSON.stringify;
  const text = (x) => {
    if (typeof x === 'string') return x;
    try { const j = stringify(x); return j === undefined ? String(x) : j; } catch { try { return String(x); } catch { return '[unprintable]'; } }
  };
  const log = (...args) => { print(args.map(text).join(' ')); };
  globalThis.console = { log, info: log, warn: log, error: log, debug: log };
})`;

/** Characters of an error's name, message or location kept in a result's message. */
const MESSAGE_CHARS = 500;

/** What went wrong while the program ran, from the VM's point of view (classified into an outcome at the end). */
type Failure =
  | { kind: 'thrown'; message: string }
  | { kind: 'no-solve' }
  | { kind: 'not-json'; message: string }
  | { kind: 'pending' }
  | { kind: 'value-too-large'; size: string };

/** Run one job in a fresh runtime of `module`. Never throws: a fault of the VM itself comes back with `discard`. */
export function runJob(module: QuickJSWASMModule, job: SandboxJob, now: () => number = () => performance.now()): WorkerReply {
  const { limits } = job;
  const start = now();
  const deadline = start + limits.timeoutMs;
  let printed = '';
  let printedOver = false;
  let timedOut = false;
  const finish = (result: Omit<SandboxResult, 'printed' | 'ms'>, discard = false): WorkerReply =>
    ({ result: { ...result, printed, ms: now() - start }, discard });

  let rt: QuickJSRuntime | undefined;
  let ctx: QuickJSContext | undefined;
  const handles: QuickJSHandle[] = [];
  let got: Outcome;
  try {
    rt = module.newRuntime();
    rt.setMemoryLimit(limits.memoryBytes);
    rt.setMaxStackSize(limits.stackBytes);
    rt.setInterruptHandler(() => {
      if (printedOver) return true;
      if (now() > deadline) timedOut = true;
      return timedOut;
    });
    ctx = rt.newContext();
    got = evaluate(ctx, job, handles, {
      print(text, chars) {
        if (printedOver) return false;
        const room = limits.maxPrintedChars - printed.length;
        if (chars + 1 > room) {
          printed += text.slice(0, room);
          printedOver = true;
          return false;
        }
        printed += `${text}\n`;
        return true;
      },
      room: () => Math.max(limits.maxPrintedChars - printed.length, 0),
    });
  } catch (e) {
    // A throw from the host side of the VM: the worker's own stack overflowed
    // inside QuickJS's C code, or the Wasm instance trapped. Its memory may be
    // inconsistent, so nothing more is run or freed in it: the worker is discarded.
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (/Maximum call stack size exceeded|too much recursion/i.test(text)) {
      return finish({ outcome: 'memory', message: 'stack overflow (the worker\'s own stack, inside QuickJS)' }, true);
    }
    if (/out of memory|Cannot enlarge memory|\bOOM\b/i.test(text)) {
      return finish({ outcome: 'memory', message: `out of memory (the worker's WebAssembly memory: ${text.slice(0, MESSAGE_CHARS)})` }, true);
    }
    // The deadline passed inside a host-side call (setting the VM up on a busy machine, reading the value back):
    // a timeout like any other, though the worker is still replaced.
    if (timedOut) return finish({ outcome: 'timeout', message: `interrupted after ${limits.timeoutMs} ms` }, true);
    return finish({ outcome: 'error', message: `the VM failed: ${text.slice(0, MESSAGE_CHARS)}` }, true);
  }
  try {
    for (const h of handles.reverse()) if (h.alive) h.dispose();
    ctx?.dispose();
    rt?.dispose();
  } catch {
    // Freeing after a program that ran out of memory can fail; this runtime is never used again.
  }

  if (printedOver) return finish({ outcome: 'output', message: `printed more than ${limits.maxPrintedChars} characters` });
  if (timedOut) return finish({ outcome: 'timeout', message: `interrupted after ${limits.timeoutMs} ms` });
  if (!('kind' in got)) return finish({ outcome: 'value', ...got });
  switch (got.kind) {
    case 'thrown':
      if (/^InternalError: out of memory/.test(got.message)) return finish({ outcome: 'memory', message: `out of memory (limit ${limits.memoryBytes} bytes)` });
      if (/^\w+: stack overflow/.test(got.message)) return finish({ outcome: 'memory', message: `stack overflow (limit ${limits.stackBytes} bytes)` });
      return finish({ outcome: 'error', message: got.message });
    case 'no-solve':
      return finish({ outcome: 'error', message: 'the program defines no function solve(input)' });
    case 'not-json':
      return finish({ outcome: 'error', message: `the value is not JSON: ${got.message}` });
    case 'pending':
      return finish({ outcome: 'error', message: 'solve returned a promise that never settled' });
    case 'value-too-large':
      return finish({ outcome: 'output', message: `the value is too large: ${got.size}, over the limit of ${limits.maxValueChars}` });
    default:
      return got satisfies never;
  }
}

type Outcome = { value?: Json } | Failure;

interface Printer {
  /** Append one line of `chars` characters (`text` may be cut short); false when the output is over the limit. */
  print(text: string, chars: number): boolean;
  /** Characters still allowed. */
  room(): number;
}

/**
 * Install console, run the program, call solve, settle a promise and
 * stringify the value inside the VM. Every handle it makes goes on
 * `handles`, which the caller frees.
 */
function evaluate(vm: QuickJSContext, job: SandboxJob, handles: QuickJSHandle[], printer: Printer): Outcome {
  const keep = (h: QuickJSHandle): QuickJSHandle => {
    handles.push(h);
    return h;
  };
  // Pristine built-ins, taken before the program can replace them.
  const json = keep(vm.getProp(vm.global, 'JSON'));
  const parse = keep(vm.getProp(json, 'parse'));
  const stringify = keep(vm.getProp(json, 'stringify'));
  const toString = keep(vm.getProp(vm.global, 'String'));
  const slice = keep(vm.getProp(keep(vm.getProp(toString, 'prototype')), 'slice'));

  /** A VM string, at most `max` characters of it (cut inside the VM, so a huge string is never copied out). */
  const lengthOf = (h: QuickJSHandle): number => {
    const length = vm.getProp(h, 'length');
    const n = vm.getNumber(length);
    length.dispose();
    return n;
  };
  const readString = (h: QuickJSHandle, max: number): { text: string; chars: number } => {
    const chars = lengthOf(h);
    if (chars <= max) return { text: vm.getString(h), chars };
    const from = vm.newNumber(0);
    const to = vm.newNumber(max);
    const cut = vm.callFunction(slice, h, from, to);
    from.dispose();
    to.dispose();
    if (cut.error) {
      cut.error.dispose();
      return { text: '', chars };
    }
    const text = vm.getString(cut.value);
    cut.value.dispose();
    return { text, chars };
  };

  const print = keep(vm.newFunction('print', (line) => {
    const { text, chars } = readString(line, printer.room());
    if (!printer.print(text, chars)) return { error: vm.newError('console output is over the sandbox limit') };
  }));
  const installer = keep(vm.unwrapResult(vm.evalCode(CONSOLE_PRELUDE, 'console.js', { type: 'global', strict: true })));
  keep(vm.unwrapResult(vm.callFunction(installer, vm.undefined, print)));

  /** What a thrown value says: "Name: message (program.js:3:7)", or what it was when not an Error. */
  const describeThrown = (h: QuickJSHandle): string => {
    const type = vm.typeof(h);
    if (type === 'object' && vm.eq(h, vm.null)) return 'uncaught null (not an Error)';
    const prop = (name: string): string | null => {
      try {
        const v = keep(vm.getProp(h, name));
        return vm.typeof(v) === 'string' ? readString(v, MESSAGE_CHARS).text : null;
      } catch {
        return null; // a getter that throws, or is stopped by the interrupt
      }
    };
    if (type === 'object' || type === 'function') {
      const name = prop('name');
      const message = prop('message');
      if (name === null && message === null) return 'uncaught object (not an Error)';
      const at = /program\.js:\d+:\d+/.exec(prop('stack') ?? '');
      return `${name ?? 'Error'}: ${message ?? ''}${at ? ` (${at[0]})` : ''}`;
    }
    if (type === 'string') return `uncaught string (not an Error): ${JSON.stringify(readString(h, MESSAGE_CHARS).text)}`;
    if (type === 'number' || type === 'boolean' || type === 'bigint') {
      const text = vm.callFunction(toString, vm.undefined, h);
      if (text.error) keep(text.error);
      return `uncaught ${type} (not an Error): ${text.error ? '?' : readString(keep(text.value), MESSAGE_CHARS).text}`;
    }
    return `uncaught ${type} (not an Error)`;
  };
  const thrown = (h: QuickJSHandle): Failure => ({ kind: 'thrown', message: describeThrown(keep(h)) });

  const ran = vm.evalCode(job.source, 'program.js', { type: 'global' });
  if (ran.error) return thrown(ran.error);
  let value = keep(ran.value);
  if (job.input !== undefined) {
    const found = vm.evalCode('typeof solve === "function" ? solve : undefined', 'harness.js', { type: 'global' });
    if (found.error) return thrown(found.error);
    const solve = keep(found.value);
    if (vm.typeof(solve) !== 'function') return { kind: 'no-solve' };
    const input = vm.callFunction(parse, vm.undefined, keep(vm.newString(JSON.stringify(job.input))));
    if (input.error) return thrown(input.error);
    const called = vm.callFunction(solve, vm.undefined, keep(input.value));
    if (called.error) return thrown(called.error);
    value = keep(called.value);
  }
  if (vm.typeof(value) === 'object') {
    const first = vm.getPromiseState(value);
    if (!(first.type === 'fulfilled' && first.notAPromise)) {
      if (first.type === 'fulfilled') keep(first.value);
      if (first.type === 'rejected') keep(first.error);
      // An async solve: run its jobs (under the same deadline), then take what it settled to.
      const jobs = vm.runtime.executePendingJobs();
      if (jobs.error) return thrown(jobs.error);
      const settled = vm.getPromiseState(value);
      if (settled.type === 'pending') return { kind: 'pending' };
      if (settled.type === 'rejected') return thrown(settled.error);
      value = keep(settled.value);
    }
  }
  const type = vm.typeof(value);
  if (type === 'undefined') return {};
  if (type === 'function' || type === 'symbol') return { kind: 'not-json', message: `it is a ${type}` };
  const max = job.limits.maxValueChars;
  if (type === 'string') {
    // Refused before stringify copies it: its JSON is longer still (quotes, escapes).
    const chars = lengthOf(value);
    if (chars + 2 > max) return { kind: 'value-too-large', size: `a string of ${chars} characters` };
  }
  const text = vm.callFunction(stringify, vm.undefined, value);
  if (text.error) return { kind: 'not-json', message: describeThrown(keep(text.error)) };
  const body = keep(text.value);
  if (vm.typeof(body) !== 'string') return {}; // e.g. a toJSON that returns undefined
  const read = readString(body, max);
  if (read.chars > max) return { kind: 'value-too-large', size: `JSON of ${read.chars} characters` };
  return { value: JSON.parse(read.text) as Json };
}
