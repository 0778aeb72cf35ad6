/**
 * The GPU-resident decoder against the CPU decoder, in real headless
 * Chromium (SwiftShader where there is no GPU: the models are tiny).
 *
 * The page `pages/decode.html` runs `pages/decode-suite.ts`; this side prints
 * and asserts:
 *   - the WGSL Threefry gives core/rng's words bit for bit;
 *   - for each kernel family, the WebGPU KV-cache decoder's logits are the
 *     CPU decoder's within 1e-4 at every step (rows joining late and sitting
 *     steps out), and a decoder whose session a later call took refuses to go on;
 *   - generate() on the device gives THE SAME tokens and stop reasons as the
 *     CPU decoder with core/sample.ts for the same seed (greedy, full
 *     distribution, top-k, top-p, both, stop tokens, budgets, a prompt that
 *     fills the context), the same again on a second call, and the same
 *     through the WebGPU createDecoder path;
 *   - a generate call reads back once when no stop token can end it early,
 *     never more than once per decoded position, and a second call at the
 *     same batch size creates no bind group.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Lab, startLab } from './harness';

let lab: Lab;
let page: Page;
let errors: string[];

beforeAll(async () => {
  lab = await startLab();
  ({ page, errors } = await lab.newPage());
  await page.goto(`${lab.url}/test/browser/pages/decode.html`);
  await page.waitForFunction(() => window.decodeReady === true);
});

afterAll(async () => {
  await lab?.close();
});

describe('GPU-resident decoder vs the CPU decoder', () => {
  test('Threefry in WGSL gives core/rng words bit for bit', async () => {
    const r = await page.evaluate(() => window.decode.threefry(4096));
    console.log(`threefry: ${r.n} inputs, ${r.mismatchCount} mismatches ${JSON.stringify(r.mismatches)}`);
    expect(r.mismatchCount).toBe(0);
  });

  const families = ['tiled', 'blocked', 'subgroup'] as const;
  for (const kernels of ['tiled', 'blocked'] as const) {
    for (const V of [37, 1536]) {
      test(`${kernels === 'tiled' ? '64-lane' : 'serial'} sampler alone: sampleToken's tokens on the same logits (V=${V})`, async () => {
        const r = await page.evaluate(([k, v]) => window.decode.samplerParity(k, v, 20), [kernels, V] as const);
        for (const run of r.runs) {
          console.log(`sampler (${r.description}) V=${V} T=${run.setting.temperature} topK=${run.setting.topK} topP=${run.setting.topP}: `
            + `${r.B} rows × ${r.draws} draws, ${run.differ.length} rows differ ${JSON.stringify(run.differ.slice(0, 2))}`);
          expect(run.differ).toEqual([]);
        }
      });
    }
  }

  for (const kernels of families) {
    for (const name of ['A', 'B'] as const) {
      test(`case ${name}, ${kernels} kernels: decoder logits at every step`, async () => {
        const r = await page.evaluate(([n, k]) => window.decode.decoderLogits(n, k), [name, kernels] as const);
        expect(r.kernels).toBe(kernels);
        const worst = Math.max(...r.steps.map((s) => s.maxDiff));
        console.log(`case ${name} (${kernels}) on ${r.description}: ${r.steps.length} steps, max|Δ| ${worst.toExponential(2)} `
          + `(max|cpu| ${Math.max(...r.steps.map((s) => s.maxRef)).toExponential(2)}); stale decoder: ${r.stale}`);
        for (const s of r.steps) expect(s.maxDiff, `rows ${s.rows.join(',')}`).toBeLessThanOrEqual(1e-4);
        expect(r.steps.length).toBeGreaterThan(4);
        expect(r.stale).toContain('create a new decoder');
      });
    }

    // The samplers: the 64-lane one with the fused head (tiled), the serial one (blocked, subgroup); W has the larger vocabulary.
    const generateCases = { tiled: ['A', 'W'], blocked: ['A', 'B', 'W'], subgroup: ['B'] } as const;
    for (const name of generateCases[kernels]) {
      test(`case ${name}, ${kernels} kernels: generate() on the device gives the CPU's tokens`, async () => {
        const r = await page.evaluate(([n, k]) => window.decode.generateParity(n, k), [name, kernels] as const);
        expect(r.kernels).toBe(kernels);
        for (const run of r.runs) {
          const o = run.setting;
          const tokens = run.gpu.reduce((n, g) => n + g.tokens.length, 0);
          console.log(`case ${name} (${kernels}) T=${o.temperature} topK=${o.topK} topP=${o.topP} stops=${JSON.stringify(o.stopTokens)} `
            + `max=${o.maxNewTokens}: ${tokens} tokens over ${run.positions} positions; device ${JSON.stringify(run.counters)}, `
            + `second call ${JSON.stringify(run.secondCall)}\n  gpu ${JSON.stringify(run.gpu.map((g) => g.tokens))}\n`
            + `  cpu ${JSON.stringify(run.cpu.map((g) => g.tokens))}\n  stopped ${run.gpu.map((g) => g.stoppedBy).join(',')}`);
          expect(run.gpu).toEqual(run.cpu);
          expect(run.viaDecoder).toEqual(run.cpu);
          expect(run.deterministic).toBe(true);
          expect(run.counters.readbacks).toBeGreaterThanOrEqual(1);
          expect(run.counters.readbacks).toBeLessThanOrEqual(run.positions);
          if (o.stopTokens.length === 0) expect(run.counters.readbacks).toBe(1);
          expect(run.secondCall.bindGroups).toBe(0);
        }
        // The settings reach every stop reason somewhere.
        const reasons = new Set(r.runs.flatMap((run) => run.gpu.map((g) => g.stoppedBy)));
        expect([...reasons].sort()).toEqual(['context', 'length', 'stop']);
      });
    }
  }

  test('measureBackends times both backends on the run shape, picks the faster for the workload, and caches', async () => {
    const { first, again, entries } = await page.evaluate(() => window.decode.measure());
    console.log(`measureBackends: ${first.reason}\n  ${first.timings.map((t) => `${t.kind}: ${t.description}`).join('\n  ')}`);
    expect(first.timings.map((t) => t.kind)).toEqual(['cpu', 'webgpu']);
    for (const t of first.timings) {
      expect(t.msPerStep, t.kind).toBeGreaterThan(0);
      expect(t.msPerPosition, t.kind).toBeGreaterThan(0);
    }
    const estimate = (t: (typeof first.timings)[number]) => 100 * t.msPerStep! + 40 * t.msPerPosition!;
    const faster = first.timings.reduce((a, b) => (estimate(b) < estimate(a) ? b : a));
    expect(first.choice).toBe(faster.kind);
    expect(JSON.parse(first.key).device).toContain('swiftshader');
    expect(again).toEqual({ ...first, cached: true });
    expect(entries).toBe(1);
  });

  test('no page errors', () => {
    expect(errors).toEqual([]);
  });
});
