/**
 * The sandbox's limits, jobs and results, shared by the VM code (vm.ts, in
 * the worker), the host client (client.ts) and their callers. A result is
 * core's `ProgramRun` (src/core/puzzles/programs.ts), so the puzzle
 * verifier consumes it without importing the sandbox. Threat model and
 * defaults: docs/sandbox.md.
 */
import type { Json, ProgramOutcome, ProgramRun } from '../core/puzzles/programs';

export type { Json, ProgramOutcome, ProgramRun };

export interface SandboxLimits {
  /** Bytes the program's QuickJS runtime may allocate (its malloc limit). 64 MiB: puzzle programs need kilobytes. */
  memoryBytes: number;
  /**
   * Bytes of stack QuickJS's own check allows. 96 KiB ≈ 500 frames of a
   * small recursive function. QuickJS's C frames also use the worker's own
   * stack, which is smaller in a Chromium worker than in a Node one: there,
   * from 160 KiB on, some recursions (toString calling itself) overflow the
   * worker's stack before QuickJS's check (still contained, but that worker
   * is replaced); 96 KiB keeps a margin.
   */
  stackBytes: number;
  /** Milliseconds from the start of a run until the interrupt handler stops it. 1,000: puzzle programs take well under 10 ms. */
  timeoutMs: number;
  /** Milliseconds past timeoutMs the host waits before it terminates the worker (a native call the interrupt cannot reach). */
  graceMs: number;
  /** Characters of the returned value's JSON text. 65,536. */
  maxValueChars: number;
  /** Characters console.log may print in one run (a newline per call). 65,536. */
  maxPrintedChars: number;
}

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = {
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 96 * 1024,
  timeoutMs: 1_000,
  graceMs: 1_000,
  maxValueChars: 65_536,
  maxPrintedChars: 65_536,
};

/** The largest stackBytes that works (measured: 4 MiB runs, 8 MiB fails before the program starts). */
export const MAX_STACK_BYTES = 4 * 1024 * 1024;

/** Limits with defaults filled in; throws naming the first bad field. */
export function resolveLimits(overrides: Partial<SandboxLimits> = {}): SandboxLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_LIMITS)) throw new Error(`${name}: not a sandbox limit (limits: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    const min = name === 'graceMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new Error(`${name}: must be an integer ≥ ${min}, got ${String(value)}`);
    }
    if (name === 'stackBytes' && value > MAX_STACK_BYTES) {
      throw new Error(`stackBytes: at most ${MAX_STACK_BYTES} (QuickJS's stack lives in its WebAssembly module's stack region; a larger limit wraps below it and every call fails), got ${value}`);
    }
    limits[name as keyof SandboxLimits] = value;
  }
  return limits;
}

/**
 * One program to run. With `input` the program must define `solve` and the
 * value is `solve(input)`; without it the value is the script's completion
 * value (its last expression statement).
 */
export interface SandboxJob {
  source: string;
  input?: Json;
  limits: SandboxLimits;
}

/** What the sandbox answers: core's ProgramRun, plus whether the host had to terminate the worker. */
export interface SandboxResult extends ProgramRun {
  /** True when the interrupt never came and the host terminated the worker (a `timeout`), or the worker died. */
  terminated?: boolean;
}

/** The worker's reply to a job: the result, and whether this worker's VM is no longer to be trusted. */
export interface WorkerReply {
  result: SandboxResult;
  /** The Wasm instance may be corrupt (a host-stack overflow or a trap inside QuickJS): terminate this worker. */
  discard: boolean;
}
