/**
 * The WebAssembly CPU engine in real headless Chromium (pages/wasm-parity-suite.ts):
 *  - served as the dev server serves the app (cross-origin isolated, so the
 *    default CPU path runs a worker pool): the PyTorch fixtures with the
 *    tolerances of `npm run lab -- check` on the default path, one thread
 *    and an unshared memory; the Wasm backend against the TypeScript
 *    reference; the same bits on one thread and on the pool; the decoder's
 *    bits — on the page's main thread and inside a Web Worker;
 *  - served WITHOUT the isolation headers: no SharedArrayBuffer, one thread,
 *    the reason said, and the fixtures still pass.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CheckLine } from '../reference/check-fixture';
import { type Lab, startLab } from './harness';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
});

afterAll(async () => {
  await lab?.close();
});

async function open(isolated: boolean): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await lab.newPage();
  if (!isolated) {
    // The same page, its document served without COOP/COEP: what a static host that sends no headers gives.
    await page.route('**/wasm-parity.html', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
  }
  await page.goto(`${lab.url}/test/browser/pages/wasm-parity.html`);
  await page.waitForFunction(() => window.wasmParityReady === true);
  return { page, errors };
}

function expectFixtures(runs: { engine: string; description: string; lines: CheckLine[] }[]): void {
  for (const run of runs) {
    console.log(`${run.engine}: ${run.description}`);
    const failed = run.lines.filter((l) => !l.ok);
    const worst = [...run.lines].sort((a, b) => b.maxDiff / b.tolerance - a.maxDiff / a.tolerance)[0]!;
    console.log(`  ${run.lines.length} checks, ${failed.length} failed; closest to its tolerance: ${worst.fixture} ${worst.check} ${worst.maxDiff.toExponential(2)} (tol ${worst.tolerance})`);
    expect(failed.map((l) => `${l.engine} ${l.fixture} ${l.check}: ${l.maxDiff}`)).toEqual([]);
    expect(run.lines.length).toBeGreaterThan(40);
  }
}

describe('Wasm CPU engine in Chromium, cross-origin isolated', () => {
  let page: Page;
  let errors: string[];
  beforeAll(async () => {
    ({ page, errors } = await open(true));
  });

  test('the dev server isolates the page, so the default CPU path has threads', async () => {
    const env = await page.evaluate(() => window.wasmParity.environment());
    console.log(`isolated page: ${JSON.stringify(env)}`);
    expect(env.crossOriginIsolated).toBe(true);
    expect(env.sharedArrayBuffer).toBe(true);
    expect(env.cpu.engine).toBe('wasm');
    expect(env.cpu.fma, 'Chromium has relaxed SIMD').toBe(true);
  });

  test('PyTorch fixtures on the main thread: default path, one thread, unshared memory', async () => {
    expectFixtures(await page.evaluate(() => window.wasmParity.fixtures()));
  });

  test('against the TypeScript reference; the pool and one thread give the same bits; the decoder too', async () => {
    const r = await page.evaluate(() => window.wasmParity.vsReference());
    console.log(`${r.description}: logits rel ${r.logits.toExponential(2)}, loss |Δ| ${r.lossDiff.toExponential(2)}, ` +
      `worst gradient rel ${Math.max(...r.grads.map((g) => g.rel)).toExponential(2)}; steps ${JSON.stringify(r.steps)}`);
    expect(r.logits).toBeLessThan(1e-5);
    expect(r.lossDiff).toBeLessThan(1e-5);
    expect(r.grads.filter((g) => !(g.rel < 1e-4))).toEqual([]);
    for (const s of r.steps) {
      expect(Math.abs(s.wasm - s.ts)).toBeLessThan(1e-4);
      expect(s.one).toBe(s.wasm);
    }
    expect(r.threadsSameBits).toBe(true);
    expect(r.decoderSameBits).toBe(true);
  });

  test('inside a Web Worker (the pool\'s workers nested in it): fixtures and the reference', async () => {
    const env = await page.evaluate(() => window.wasmParityWorker.environment());
    console.log(`worker: ${JSON.stringify(env)}`);
    expect(env.crossOriginIsolated).toBe(true);
    expectFixtures(await page.evaluate(() => window.wasmParityWorker.fixtures()));
    const r = await page.evaluate(() => window.wasmParityWorker.vsReference());
    expect(r.description).toContain(`${env.cpu.threads} thread`);
    expect(r.grads.filter((g) => !(g.rel < 1e-4))).toEqual([]);
    expect(r.threadsSameBits).toBe(true);
    expect(r.decoderSameBits).toBe(true);
  });

  test('no page errors', () => {
    expect(errors).toEqual([]);
  });
});

describe('Wasm CPU engine in Chromium, page not isolated', () => {
  test('one thread, the reason said, and the fixtures pass', async () => {
    const { page, errors } = await open(false);
    const env = await page.evaluate(() => window.wasmParity.environment());
    console.log(`page without isolation: ${JSON.stringify(env)}`);
    expect(env.crossOriginIsolated).toBe(false);
    expect(env.cpu).toMatchObject({ engine: 'wasm', threads: 1 });
    expect(env.cpu.reason).toContain('not cross-origin isolated');
    const runs = await page.evaluate(() => window.wasmParity.fixtures());
    expect(runs[0]!.description).toContain('1 thread');
    expectFixtures(runs);
    // Vite's HMR client cannot open its websocket from a document Chromium got through route.fulfill
    // (local-network-access checks); that socket has nothing to do with the engine.
    expect(errors.filter((e) => !/WebSocket connection to 'ws:|\[vite\] failed to connect to websocket/.test(e))).toEqual([]);
  });
});
