/**
 * measureBackends in Node, where there is no WebGPU adapter: the CPU is
 * measured on the run's own shapes, WebGPU is reported as not measured with
 * the reason, the cache is keyed by device and shape and its timings are
 * reused while the choice is remade for each run's workload; and the choice
 * rule (chooseBackend) on given timings. No test here times anything: the
 * timings are only checked to exist.
 */
import { describe, expect, test } from 'vitest';
import { type BackendTiming, chooseBackend, measureBackends, memoryCache } from '../../src/core/backends/measure';

const config = { vocabSize: 17, contextLength: 12, dModel: 8, nLayers: 1, nHeads: 2 };
const noAdapter = { requestAdapter: async () => null } as unknown as GPU;

function timing(kind: 'cpu' | 'webgpu', msPerStep: number | null, msPerPosition: number | null = null): BackendTiming {
  return { kind, description: kind, msPerStep, msPerPosition, steps: msPerStep === null ? 0 : 3 };
}

describe('chooseBackend', () => {
  test('picks the smaller estimated run time, steps·ms/step + positions·ms/position', () => {
    const timings = [timing('cpu', 10, 5), timing('webgpu', 20, 1)];
    expect(chooseBackend(timings, { trainSteps: 100, decodedPositions: 0 }).choice).toBe('cpu');
    // 100·10 + 1000·5 = 6000 against 100·20 + 1000·1 = 3000
    expect(chooseBackend(timings, { trainSteps: 100, decodedPositions: 1000 }).choice).toBe('webgpu');
  });

  test('a backend that was not measured is never chosen; nothing measured means the CPU', () => {
    const r = chooseBackend([timing('cpu', 30), { ...timing('webgpu', null), error: 'no WebGPU adapter' }], { trainSteps: 1, decodedPositions: 0 });
    expect(r.choice).toBe('cpu');
    expect(r.reason).toContain('webgpu not measured (no WebGPU adapter)');
    expect(r.reason).toContain('cpu 30.0 ms/step');
    expect(chooseBackend([timing('webgpu', null)], { trainSteps: 1, decodedPositions: 0 }).choice).toBe('cpu');
  });

  test('decode time counts only when the workload decodes, and a backend without it then loses', () => {
    const timings = [timing('cpu', 10, null), timing('webgpu', 20, 1)];
    expect(chooseBackend(timings, { trainSteps: 1, decodedPositions: 0 }).choice).toBe('cpu');
    expect(chooseBackend(timings, { trainSteps: 1, decodedPositions: 10 }).choice).toBe('webgpu');
  });
});

describe('measureBackends (no WebGPU here)', () => {
  test('measures the CPU on the run shape, reports WebGPU as not measured, and caches per device and shape', async () => {
    const cache = memoryCache();
    const shape = { B: 2, T: 8, decode: { B: 3, positions: 4 } };
    const first = await measureBackends(config, shape, { cache, gpu: noAdapter, steps: 2 });
    expect(first.cached).toBe(false);
    expect(first.choice).toBe('cpu');
    const [cpu, webgpu] = first.timings;
    expect(cpu).toMatchObject({ kind: 'cpu', steps: 2 });
    expect(cpu!.msPerStep).toBeGreaterThan(0);
    expect(cpu!.msPerPosition).toBeGreaterThan(0);
    expect(webgpu).toMatchObject({ kind: 'webgpu', msPerStep: null, msPerPosition: null, error: 'no WebGPU adapter: CPU fallback' });
    expect(first.reason).toMatch(/^measured: cpu [\d.]+ ms\/step, [\d.]+ ms\/position; webgpu not measured/);
    expect(JSON.parse(first.key)).toMatchObject({ device: 'no-webgpu', config, shape });
    expect(cache.entries.size).toBe(1);

    // The same device and shape: the cached timings, the choice remade for this run's workload.
    const again = await measureBackends(config, shape, { cache, gpu: noAdapter, workload: { trainSteps: 5, decodedPositions: 50 } });
    expect(again.cached).toBe(true);
    expect(again.timings).toEqual(first.timings);
    expect(again.measuredAt).toBe(first.measuredAt);

    // Another batch shape is another entry.
    const other = await measureBackends(config, { B: 4, T: 8 }, { cache, gpu: noAdapter, steps: 1 });
    expect(other.cached).toBe(false);
    expect(other.timings[0]!.msPerPosition).toBeNull();
    expect(cache.entries.size).toBe(2);
  });

  test('a bad shape is refused with the field named', async () => {
    await expect(measureBackends(config, { B: 0, T: 8 }, { gpu: noAdapter })).rejects.toThrow(/^B: /);
    await expect(measureBackends(config, { B: 2, T: 13 }, { gpu: noAdapter })).rejects.toThrow(/^T: .*contextLength 12/);
    await expect(measureBackends(config, { B: 2, T: 4, decode: { B: 1, positions: 0 } }, { gpu: noAdapter })).rejects.toThrow(/^decode: /);
  });
});
