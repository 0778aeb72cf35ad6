/**
 * The WebGPU backend against the CPU reference, in real headless Chromium
 * (a SwiftShader adapter where there is no GPU: slow, so the models are tiny).
 *
 * The page `pages/parity.html` runs both backends on the same parameters and
 * batches (`pages/parity-suite.ts`) and returns the largest difference per
 * tensor; this side prints every one and fails on any above tolerance:
 * for each kernel family (tiled, blocked, subgroup: all run on SwiftShader):
 *   logits, lastLogits        max |Δ| ≤ 1e-4
 *   loss, per-sequence loss   |Δ| ≤ 1e-5 (the losses here are ~1)
 *   gradients                 max |Δ| ≤ 1e-3 · max |cpu| of that tensor
 *   10 AdamW steps            each step's loss within 1e-4, grad norm within 1e-4 relative;
 *                             final parameters max |Δ| ≤ 1e-4 + 1e-3 · max |cpu|
 *                             (the absolute term covers parameters whose true gradient is 0,
 *                             e.g. the key bias, where Adam amplifies rounding noise to ~eps-sized steps)
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Diff } from './pages/parity-suite';
import { type Lab, startLab } from './harness';

let lab: Lab;
let page: Page;
let errors: string[];

beforeAll(async () => {
  lab = await startLab();
  ({ page, errors } = await lab.newPage());
  await page.goto(`${lab.url}/test/browser/pages/parity.html`);
  await page.waitForFunction(() => window.parityReady === true);
});

afterAll(async () => {
  await lab?.close();
});

function show(label: string, diffs: Diff[]): void {
  const width = Math.max(...diffs.map((d) => d.name.length));
  const lines = diffs.map((d) => {
    const rel = d.maxRef > 0 ? d.maxDiff / d.maxRef : 0;
    return `  ${d.name.padEnd(width)}  max|Δ| ${d.maxDiff.toExponential(2)}  max|cpu| ${d.maxRef.toExponential(2)}  rel ${rel.toExponential(2)}`;
  });
  console.log(`${label}\n${lines.join('\n')}`);
}

function expectRelative(diffs: Diff[], rel: number, abs = 0): void {
  const bad = diffs.filter((d) => !(d.maxDiff <= abs + rel * d.maxRef));
  expect(bad, `tensors over tolerance (|Δ| ≤ ${abs} + ${rel}·max|cpu|)`).toEqual([]);
}

describe('WebGPU backend vs CPU reference', () => {
  test('the adapter is WebGPU', async () => {
    const report = await page.evaluate(() => window.parity.probe());
    console.log(`adapter: ${report.reason}; shader-f16 ${report.shaderF16}; maxStorageBufferBindingSize ${report.limits.maxStorageBufferBindingSize}`);
    expect(report.webgpu).toBe(true);
  });

  const families = ['tiled', 'blocked', 'subgroup'] as const;
  for (const [name, kernels] of families.flatMap((k) => [['A', k], ['B', k], ['C', k]] as const)) {
    test(`case ${name}, ${kernels} kernels: logits, losses and every gradient`, async () => {
      const r = await page.evaluate(([n, k]) => window.parity.forwardAndGradients(n, k), [name, kernels] as const);
      console.log(`case ${name} on ${r.description}: ${r.deviceBytes} device bytes, ${r.hostBytes} host bytes`);
      expect(r.kernels).toBe(kernels);
      show(`case ${name} (${kernels}) forward`, [r.logits, r.lastLogits, r.evaluate.perSeq, r.gradientsLoss.perSeq]);
      console.log(`case ${name} (${kernels}) loss: evaluate gpu ${r.evaluate.gpu} cpu ${r.evaluate.cpu}; gradients gpu ${r.gradientsLoss.gpu} cpu ${r.gradientsLoss.cpu}`);
      show(`case ${name} (${kernels}) gradients (largest difference per tensor)`, r.grads);
      expect(r.logits.maxDiff).toBeLessThanOrEqual(1e-4);
      expect(r.lastLogits.maxDiff).toBeLessThanOrEqual(1e-4);
      expect(r.lastMatchesForward, 'lastLogits (padded length) has the bits of forwardLogits').toBe(true);
      expect(Math.abs(r.evaluate.gpu - r.evaluate.cpu)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(r.gradientsLoss.gpu - r.gradientsLoss.cpu)).toBeLessThanOrEqual(1e-5);
      expect(r.evaluate.perSeq.maxDiff).toBeLessThanOrEqual(1e-5);
      expect(r.gradientsLoss.perSeq.maxDiff).toBeLessThanOrEqual(1e-5);
      expectRelative(r.grads, 1e-3);
      expect(r.deterministic, 'the same batch twice gives the same gradient bits').toBe(true);
      expect(r.deviceBytes).toBeGreaterThan(0);
    });

    if (name === 'C') continue; // C exists for the split-K gradient path; A and B cover training
    test(`case ${name}, ${kernels} kernels: ten AdamW steps with weight decay and clipping`, async () => {
      const r = await page.evaluate(([n, k]) => window.parity.training(n, k), [name, kernels] as const);
      r.losses.forEach((l, i) => {
        console.log(`case ${name} (${kernels}) step ${i + 1}: loss gpu ${l.gpu.toFixed(7)} cpu ${l.cpu.toFixed(7)} |Δ| ${Math.abs(l.gpu - l.cpu).toExponential(2)}; ‖g‖ gpu ${l.gpuNorm.toFixed(6)} cpu ${l.cpuNorm.toFixed(6)}`);
      });
      show(`case ${name} (${kernels}) after 10 steps`, [...r.params, r.m, r.v]);
      for (const l of r.losses) {
        expect(Math.abs(l.gpu - l.cpu)).toBeLessThanOrEqual(1e-4);
        expect(Math.abs(l.gpuNorm - l.cpuNorm)).toBeLessThanOrEqual(1e-4 * l.cpuNorm);
        expect(l.cpuNorm, 'the clip acts').toBeGreaterThan(0.05);
      }
      expectRelative(r.params, 1e-3, 1e-4);
      expectRelative([r.m, r.v], 1e-3);
      expect(r.steps).toEqual({ gpu: 10, cpu: 10, quiet: 10 });
      expect(r.quietSameBits, 'reading nothing until the end gives the same parameters').toBe(true);
      // Its step 2 was the profiler's (each dispatch alone): the same step, every dispatch of a step timed once.
      expect(r.profile!.step).toBe(2);
      expect(r.profile!.dispatches).toBe(r.profile!.stepDispatches);
      expect(r.profile!.kernels).toBeGreaterThan(5);
    });
  }

  test('NaN/Inf guard: NonFiniteError at the next readback, last good parameters kept', async () => {
    const r = await page.evaluate(() => window.parity.nanGuard('A'));
    console.log(`guard: queued steps ${r.queuedSteps}; gpu: ${r.gpuError?.message}; cpu: ${r.cpuError?.message}; planted NaN: ${r.nanError?.message}`);
    show('guard: parameters after the error vs CPU after two steps', r.vsCpuAfterTwo);
    expect(r.queuedSteps).toEqual([3, 4]);
    expect(r.gpuError).toMatchObject({ name: 'NonFiniteError', step: 3 });
    expect(r.gpuError?.message).toContain('the loss');
    expect(r.cpuError).toMatchObject({ name: 'NonFiniteError', step: 3 });
    expect(r.unchanged, 'parameters are bit for bit those after step 2').toBe(true);
    expectRelative(r.vsCpuAfterTwo, 1e-3, 1e-4);
    expect(r.stepAfterError).toBe(2);
    expect(r.resumed.step).toBe(3);
    expect(Number.isFinite(r.resumed.loss)).toBe(true);
    expect(r.nanError).toMatchObject({ name: 'NonFiniteError', step: 1 });
    expect(r.nanUnchanged).toBe(true);
  });

  test('DeviceLimitError names the setting, before allocating', async () => {
    const r = await page.evaluate(() => window.parity.deviceLimits());
    console.log(`limits: model: ${r.modelError?.message}\n  context: ${r.contextError?.message}\n  batch: ${r.batchError?.message}`);
    expect(r.modelError).toMatchObject({ name: 'DeviceLimitError', field: 'dModel' });
    expect(r.contextError).toMatchObject({ name: 'DeviceLimitError', field: 'contextLength' });
    expect(r.batchError).toMatchObject({ name: 'DeviceLimitError', field: 'batchSize' });
    expect(r.batchError?.message).toContain(`batchSize ≤ ${r.batchB - 1}`);
    expect(r.checkError).toMatchObject({ name: 'DeviceLimitError', field: 'batchSize' });
    expect(r.bytesAfter).toBe(r.bytesBefore);
    expect(r.smallFinite).toBe(true);
  });

  test('device loss reaches onDeviceLost and later calls fail clearly', async () => {
    const r = await page.evaluate(() => window.parity.deviceLost());
    console.log(`device lost: ${r.messages.join(' | ')}; then: ${r.after?.message}`);
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toContain('WebGPU device lost');
    expect(r.after?.message).toContain('WebGPU device lost');
  });

  test('createBackend picks WebGPU, honours prefer: cpu, and falls back without an adapter', async () => {
    const r = await page.evaluate(() => window.parity.backendChoice());
    console.log(`createBackend: auto → ${r.auto.kind} (${r.auto.reason}); cpu → ${r.cpu.reason}; no adapter → ${r.noAdapter.kind} (${r.noAdapter.reason})`);
    expect(r.auto.kind).toBe('webgpu');
    expect(r.cpu.kind).toBe('cpu');
    expect(r.noAdapter).toEqual({ kind: 'cpu', reason: 'no WebGPU adapter: CPU fallback', webgpu: false });
  });

  test('sampling: the same seed gives the same tokens on both backends', async () => {
    const runs = await page.evaluate(() => window.parity.sampling('B'));
    for (const run of runs) {
      console.log(`sampling T=${run.temperature} topK=${run.topK} topP=${run.topP}: gpu ${JSON.stringify(run.gpu)} cpu ${JSON.stringify(run.cpu)}`);
      expect(run.gpu).toEqual(run.cpu);
    }
  });

  test('inside a Web Worker: case B forward, gradients and training', async () => {
    const g = await page.evaluate(() => window.parityWorker.forwardAndGradients('B'));
    console.log(`worker: ${g.description}`);
    show('worker: case B forward', [g.logits, g.lastLogits, g.gradientsLoss.perSeq]);
    show('worker: case B gradients', g.grads);
    expect(g.logits.maxDiff).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(g.gradientsLoss.gpu - g.gradientsLoss.cpu)).toBeLessThanOrEqual(1e-5);
    expectRelative(g.grads, 1e-3);
    expect(g.deterministic).toBe(true);
    const t = await page.evaluate(() => window.parityWorker.training('B', undefined, 3));
    show('worker: case B after 3 steps', t.params);
    for (const l of t.losses) expect(Math.abs(l.gpu - l.cpu)).toBeLessThanOrEqual(1e-4);
    expectRelative(t.params, 1e-3, 1e-4);
    expect(t.quietSameBits).toBe(true);
  });

  test('no page errors', () => {
    expect(errors).toEqual([]);
  });
});
