/**
 * CPU-backend parity with the PyTorch fixtures of test/reference/make_fixtures.py,
 * for both CPU engines: the TypeScript reference and the WebAssembly engine
 * (the default CPU path; one thread and two). Used by `npm run lab -- check`
 * and by test/unit/parity.test.ts; the checks and their tolerances are in
 * test/reference/check-fixture.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../src/core/backend';
import { createCpuBackend } from '../src/core/backends/index';
import { type GptConfig, validateGptConfig } from '../src/core/gpt/config';
import { type CheckLine, checkFixture as checkOn, type Fixture } from '../test/reference/check-fixture';

export type { CheckLine };

export const FIXTURES_DIR = new URL('../test/reference/fixtures/', import.meta.url).pathname;

/** The CPU engines the fixtures check: 'ts' (cpu.ts) and 'wasm' (wasm.ts, one thread, and two threads). */
export type ParityEngine = 'ts' | 'wasm' | 'wasm-2-threads';
export const PARITY_ENGINES: readonly ParityEngine[] = ['ts', 'wasm', 'wasm-2-threads'];

async function engineBackend(engine: ParityEngine, config: GptConfig): Promise<Backend> {
  switch (engine) {
    case 'ts': return (await createCpuBackend(config, { engine: 'ts' })).backend;
    case 'wasm': return (await createCpuBackend(config, { engine: 'wasm', threads: 1 })).backend;
    case 'wasm-2-threads': return (await createCpuBackend(config, { engine: 'wasm', threads: 2 })).backend;
    default: return engine satisfies never;
  }
}

export function loadFixtures(dir = FIXTURES_DIR): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);
}

/** Every check of one fixture on a fresh backend of `engine`. */
export async function checkFixture(fx: Fixture, engine: ParityEngine = 'ts'): Promise<CheckLine[]> {
  return checkOn(fx, await engineBackend(engine, validateGptConfig(fx.config)), engine);
}

/** All fixtures' checks, on every engine. */
export async function runParityChecks(dir = FIXTURES_DIR): Promise<CheckLine[]> {
  const out: CheckLine[] = [];
  for (const engine of PARITY_ENGINES) for (const fx of loadFixtures(dir)) out.push(...(await checkFixture(fx, engine)));
  return out;
}

/** One printable line per check. */
export function formatCheck(l: CheckLine): string {
  const status = l.ok ? 'ok  ' : 'FAIL';
  return `${status} ${l.engine.padEnd(14)} ${l.fixture.padEnd(6)} ${l.check.padEnd(50)} max ${l.mode} diff ${l.maxDiff.toExponential(2)} (tol ${l.tolerance.toExponential(0)})`;
}
