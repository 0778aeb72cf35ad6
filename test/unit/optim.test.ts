import { expect, test } from 'vitest';
import { defaultOptimConfig, paramLayout, validateGptConfig, validateOptimConfig } from '../../src/core/gpt/config';
import { adamwUpdate, clipScale, globalNorm, lrAt } from '../../src/core/optim';

test('lrAt: linear warmup, cosine to the floor, flat after', () => {
  const c = { ...defaultOptimConfig, learningRate: 1, minLrRatio: 0.1, warmupSteps: 4, totalSteps: 14 };
  expect([0, 1, 2, 3].map((s) => lrAt(s, c))).toEqual([0.25, 0.5, 0.75, 1]);
  expect(lrAt(4, c)).toBeCloseTo(1, 12);
  expect(lrAt(9, c)).toBeCloseTo(0.55, 12); // half way: floor + (peak−floor)/2
  expect(lrAt(14, c)).toBeCloseTo(0.1, 12);
  expect(lrAt(100, c)).toBeCloseTo(0.1, 12);
});

test('lrAt with a hold: warmup, the peak held, then the cosine over what is left', () => {
  // warmup 2, hold 6 (steps 2…7 at the peak), cosine over steps 8…12 to 0 at 12.
  const c = { ...defaultOptimConfig, learningRate: 2, minLrRatio: 0, warmupSteps: 2, holdSteps: 6, totalSteps: 12 };
  expect([0, 1].map((s) => lrAt(s, c))).toEqual([1, 2]);
  expect([2, 5, 7, 8].map((s) => lrAt(s, c))).toEqual([2, 2, 2, 2]);
  expect(lrAt(10, c)).toBeCloseTo(1, 12); // half way through the cosine: 2·(1 + cos(π/2))/2
  expect(lrAt(11, c)).toBeCloseTo(1 - Math.SQRT1_2, 12); // 2·(1 + cos(3π/4))/2
  expect(lrAt(12, c)).toBe(0);
  expect(lrAt(50, c)).toBe(0);
  // holdSteps 0 is the schedule without a hold, value for value.
  const plain = { ...defaultOptimConfig, warmupSteps: 3, totalSteps: 40 };
  for (let s = 0; s < 45; s++) expect(lrAt(s, { ...plain, holdSteps: 0 })).toBe(lrAt(s, plain));
  expect(() => validateOptimConfig({ ...c, holdSteps: -1 })).toThrow(/holdSteps/);
});

test('clipping follows clip_grad_norm_', () => {
  expect(globalNorm(Float32Array.from([3, 4]))).toBe(5);
  expect(clipScale(5, 1)).toBeCloseTo(1 / (5 + 1e-6), 12);
  expect(clipScale(0.5, 1)).toBe(1);
  expect(clipScale(5, 0)).toBe(1);
});

test('AdamW values: two hand-computed steps, decay only on matrices', () => {
  const config = { vocabSize: 1, contextLength: 1, dModel: 1, nLayers: 0, nHeads: 1 };
  const layout = paramLayout(config); // wte (1,1) decays, wpe (1,1) decays, ln_f weight/bias do not
  const p = Float32Array.from([1, 1, 1, 1]);
  const g = Float32Array.from([0.5, 0.5, 0.5, 0.5]);
  const m = new Float32Array(4), v = new Float32Array(4);
  const h = { lr: 0.1, weightDecay: 0.5, beta1: 0.9, beta2: 0.99, eps: 1e-8, gradClip: 0 };
  adamwUpdate(p, g, m, v, layout, h, 1, 1);
  // t=1: m̂ = g, v̂ = g², update = lr·g/|g| = 0.1; decayed: 1·(1 − 0.05) − 0.1
  expect(p[0]).toBeCloseTo(0.85, 6);
  expect(p[3]).toBeCloseTo(0.9, 6);
  adamwUpdate(p, g, m, v, layout, h, 2, 1);
  // constant gradient: m̂ = g, v̂ = g² again, so another −0.1
  expect(p[0]).toBeCloseTo(0.85 * 0.95 - 0.1, 5);
  expect(p[3]).toBeCloseTo(0.8, 5);
  expect(m[0]).toBeCloseTo(0.5 * (1 - 0.81), 6);
});

test('config validation names the field', () => {
  expect(() => validateGptConfig({ vocabSize: 10, contextLength: 8, dModel: 30, nLayers: 1, nHeads: 4 })).toThrow(/nHeads: must divide dModel \(30\), got 4/);
  expect(() => validateGptConfig({ vocabSize: 0, contextLength: 8, dModel: 32, nLayers: 1, nHeads: 4 })).toThrow(/vocabSize: must be a positive integer, got 0/);
  expect(() => validateGptConfig({ vocabSize: 10, contextLength: -3, dModel: 32, nLayers: 1, nHeads: 4 })).toThrow(/contextLength/);
  expect(() => validateGptConfig({ vocabSize: 10, contextLength: 8, dModel: 32, nLayers: 1, nHeads: 4, extra: 1 })).toThrow(/extra: unknown key/);
  expect(() => validateOptimConfig({ ...defaultOptimConfig, learningRate: NaN })).toThrow(/learningRate: must be a finite number/);
  expect(validateOptimConfig(defaultOptimConfig)).toEqual(defaultOptimConfig);
});

test('a missing field is reported as missing, not as unknown', () => {
  expect(() => validateGptConfig({ vocabSize: 10, contextLength: 8, dModel: 32, nLayers: 1 })).toThrow(/nHeads: is missing/);
});
