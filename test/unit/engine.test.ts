/** The engine's behaviour on the CPU backend: determinism, learning, NaN guard, sampling, scoring. */
import { describe, expect, test } from 'vitest';
import { NonFiniteError } from '../../src/core/backend';
import { CpuBackend } from '../../src/core/backends/cpu';
import { defaultOptimConfig, paramLayout } from '../../src/core/gpt/config';
import { initParams } from '../../src/core/gpt/init';
import { Rng, keyFromSeed } from '../../src/core/rng';
import { generate, sampleToken } from '../../src/core/sample';
import { classifyByContinuation, scoreContinuations } from '../../src/core/score';
import { lmBatch, trainSteps, weightedBatch } from '../../src/core/train';

const config = { vocabSize: 13, contextLength: 16, dModel: 16, nLayers: 2, nHeads: 2 };
const optim = { ...defaultOptimConfig, learningRate: 1e-2, warmupSteps: 5, totalSteps: 100 };

async function freshBackend(seed = 1): Promise<CpuBackend> {
  const b = new CpuBackend(config);
  await b.setParams(initParams(config, keyFromSeed(seed)));
  return b;
}

/** Sequences of a repeating pattern 1 2 3 … 12 from random offsets. */
function patternBatch(step: number) {
  const rng = new Rng(keyFromSeed(1000 + step));
  const seqs = Array.from({ length: 4 }, () => {
    const o = rng.int(12);
    return Array.from({ length: 13 }, (_, t) => 1 + ((o + t) % 12));
  });
  return lmBatch(seqs, 12);
}

describe('training', () => {
  test('same seed → bit-identical losses on the CPU backend', async () => {
    const run = async () => {
      const losses: number[] = [];
      await trainSteps(await freshBackend(), patternBatch, optim, {
        startStep: 0, steps: 8, readEvery: 1, onEvent: (e) => losses.push(e.loss!),
      });
      return losses;
    };
    const a = await run();
    expect(a).toHaveLength(8);
    expect(await run()).toEqual(a);
  });

  test('a tiny model learns a repeating pattern (loss falls well below chance)', async () => {
    const backend = await freshBackend();
    const { lastLoss } = await trainSteps(backend, patternBatch, optim, { startStep: 0, steps: 100, readEvery: 10 });
    // Chance is ln 13 ≈ 2.56; the pattern is deterministic after the first token.
    expect(lastLoss).toBeLessThan(1.0);
  });

  test('a non-finite loss stops training and keeps the last good parameters', async () => {
    const backend = await freshBackend();
    const layout = paramLayout(config);
    const params = await backend.getParams();
    params[layout.wpe.offset + 3] = NaN; // e.g. what an overflowing update leaves behind
    await backend.setParams(params);
    const before = await backend.getParams();
    const err = await backend.trainStep(patternBatch(0), { lr: 1e-3, weightDecay: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(String(err)).toMatch(/non-finite at step 1; parameters are kept from step 0/);
    expect(await backend.getParams()).toEqual(before);
  });

  test('a bad batch is rejected with the field named', async () => {
    const backend = await freshBackend();
    const batch = patternBatch(0);
    batch.targets[3] = 99;
    await expect(backend.evaluate(batch)).rejects.toThrow(/batch.targets: id 99 at index 3/);
    await expect(backend.evaluate({ ...patternBatch(0), T: 20 })).rejects.toThrow(/batch.T: 20 exceeds/);
  });
});

describe('sampling', () => {
  test('greedy is deterministic and equals top-k 1 and a tiny top-p', async () => {
    const backend = await freshBackend(2);
    const prompts = [[1, 2, 3], [5], [7, 7]];
    const opts = { maxNewTokens: 6, temperature: 0, topK: 0, topP: 1, stopTokens: [], key: keyFromSeed(0) };
    const greedy = await generate(backend, prompts, opts);
    expect(greedy.map((g) => g.tokens.length)).toEqual([6, 6, 6]);
    const k1 = await generate(backend, prompts, { ...opts, temperature: 1, topK: 1, key: keyFromSeed(5) });
    const p0 = await generate(backend, prompts, { ...opts, temperature: 1, topP: 1e-6, key: keyFromSeed(6) });
    expect(k1.map((g) => g.tokens)).toEqual(greedy.map((g) => g.tokens));
    expect(p0.map((g) => g.tokens)).toEqual(greedy.map((g) => g.tokens));
  });

  test('seeded sampling repeats; a row does not depend on the others; stop tokens and the context end rows', async () => {
    const backend = await freshBackend(3);
    const opts = { maxNewTokens: 10, temperature: 1.5, topK: 0, topP: 1, stopTokens: [], key: keyFromSeed(11) };
    const a = await generate(backend, [[1], [2], [3]], opts);
    const b = await generate(backend, [[1], [2], [3]], opts);
    expect(b).toEqual(a);
    const alone = await generate(backend, [[1]], opts);
    expect(alone[0]).toEqual(a[0]);
    const stopAt = alone[0]!.tokens[2]!;
    const first = alone[0]!.tokens.indexOf(stopAt);
    const stopped = await generate(backend, [[1]], { ...opts, stopTokens: [stopAt] });
    expect(stopped[0]).toEqual({ tokens: alone[0]!.tokens.slice(0, first + 1), stoppedBy: 'stop' });
    const long = await generate(backend, [Array(14).fill(1)], { ...opts, maxNewTokens: 10 });
    expect(long[0]).toMatchObject({ stoppedBy: 'context' });
    expect(long[0]!.tokens).toHaveLength(2);
  });

  test('lastLogits (head at the asked-for positions only) has the bits of forwardLogits', async () => {
    const backend = await freshBackend(4);
    const B = 3;
    const T = 9;
    const inputs = new Int32Array(B * T).map((_, i) => (i * 7) % 13);
    const positions = new Int32Array([8, 0, 4]);
    const full = await backend.forwardLogits(inputs, B, T);
    const last = await backend.lastLogits(inputs, B, T, positions);
    const V = config.vocabSize;
    for (let b = 0; b < B; b++) {
      const t = positions[b]!;
      expect(Array.from(last.subarray(b * V, (b + 1) * V))).toEqual(Array.from(full.subarray((b * T + t) * V, (b * T + t + 1) * V)));
    }
  });

  test('the KV-cache decoder gives the full forward\'s logits bit for bit, and generate() the same tokens with or without it', async () => {
    const backend = await freshBackend(5);
    const V = config.vocabSize;
    const seq = [3, 1, 4, 1, 5, 9, 2, 6];
    const full = await backend.forwardLogits(Int32Array.from(seq), 1, seq.length);
    const decoder = backend.createDecoder(2);
    for (let t = 0; t < seq.length; t++) {
      // Slot 1 decodes the sequence; slot 0 is fed something else at the same steps, which must not matter.
      const logits = await decoder.step(Int32Array.from([0, 1]), Int32Array.from([7, seq[t]!]), Int32Array.from([t, t]));
      expect(Array.from(logits.subarray(V, 2 * V)), `position ${t}`).toEqual(Array.from(full.subarray(t * V, (t + 1) * V)));
    }
    // The same backend seen without its decoder takes the recompute-the-prefix path.
    const plain = Object.create(backend, { createDecoder: { value: undefined } }) as CpuBackend;
    const prompts = [[1], [2, 3, 4], [5, 6], Array(14).fill(1)];
    for (const opts of [
      { maxNewTokens: 10, temperature: 1.3, topK: 0, topP: 1, stopTokens: [7], key: keyFromSeed(21) },
      { maxNewTokens: 12, temperature: 0, topK: 0, topP: 1, stopTokens: [], key: keyFromSeed(22) },
      { maxNewTokens: 6, temperature: 0.8, topK: 3, topP: 0.9, stopTokens: [2, 8], key: keyFromSeed(23) },
    ]) {
      expect(await generate(backend, prompts, opts)).toEqual(await generate(plain, prompts, opts));
    }
  });

  test('sampleToken draws in proportion to softmax(logits / temperature)', () => {
    const logits = Float32Array.from([0, 1, 2, -1]);
    const rng = Rng.fromSeed(4);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { maxNewTokens: 1, temperature: 2, topK: 0, topP: 1, stopTokens: [] }, rng)]!++;
    const z = [0, 1, 2, -1].map((x) => Math.exp(x / 2));
    const s = z.reduce((a, b) => a + b);
    counts.forEach((c, i) => expect(Math.abs(c / n - z[i]! / s)).toBeLessThan(0.015));
    // top-k 2 never draws the two least likely tokens
    for (let i = 0; i < 200; i++) expect([1, 2]).toContain(sampleToken(logits, { maxNewTokens: 1, temperature: 1, topK: 2, topP: 1, stopTokens: [] }, rng));
  });

  test('top-p keeps exactly the nucleus a full sort finds, in proportion', () => {
    const rng = new Rng(keyFromSeed(31));
    for (let trial = 0; trial < 20; trial++) {
      const logits = Float32Array.from({ length: 300 }, () => rng.normal() * 2);
      const temperature = 0.7;
      const topP = 0.2 + 0.7 * rng.uniform();
      // Reference: every token sorted by logit, the smallest prefix whose probability reaches topP.
      const order = Array.from({ length: 300 }, (_, v) => v).sort((a, b) => logits[b]! - logits[a]! || a - b);
      const max = logits[order[0]!]!;
      const w = order.map((v) => Math.exp((logits[v]! - max) / temperature));
      const total = w.reduce((a, b) => a + b, 0);
      let mass = 0;
      let keep = 0;
      while (mass / total < topP) mass += w[keep++]!;
      const nucleus = new Set(order.slice(0, keep));
      const opts = { maxNewTokens: 1, temperature, topK: 0, topP, stopTokens: [] };
      const seen = new Set<number>();
      for (let i = 0; i < 400; i++) {
        const t = sampleToken(logits, opts, rng);
        expect(nucleus.has(t), `trial ${trial}: token ${t} outside the nucleus of ${keep}`).toBe(true);
        seen.add(t);
      }
      if (keep <= 5) expect(seen.size).toBe(keep);
    }
  });

  test('bad sampling options name the field', async () => {
    const backend = await freshBackend();
    const opts = { maxNewTokens: 2, temperature: -1, topK: 0, topP: 1, stopTokens: [], key: keyFromSeed(0) };
    await expect(generate(backend, [[1]], opts)).rejects.toThrow(/temperature/);
    await expect(generate(backend, [[1]], { ...opts, temperature: 1, topP: 0 })).rejects.toThrow(/topP/);
    await expect(generate(backend, [[]], { ...opts, temperature: 1 })).rejects.toThrow(/prompts\[0\]/);
  });
});

describe('scoring', () => {
  test('log-likelihood of continuations equals the sum of log-softmax of the logits', async () => {
    const backend = await freshBackend(4);
    const prompt = [1, 4, 2];
    const cont = [9, 3];
    const [score] = await scoreContinuations(backend, [{ prompt, continuation: cont }]);
    const seq = [...prompt, ...cont];
    const T = seq.length - 1;
    const logits = await backend.forwardLogits(Int32Array.from(seq.slice(0, T)), 1, T);
    let expected = 0;
    for (let t = prompt.length - 1; t < T; t++) {
      const row = Array.from(logits.subarray(t * 13, (t + 1) * 13));
      const max = Math.max(...row);
      const lse = Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) + max;
      expected += row[seq[t + 1]!]! - lse;
    }
    expect(score).toBeCloseTo(expected, 5);
  });

  test('classification scores each label continuation independently and picks the most likely', async () => {
    const backend = await freshBackend(5);
    const prompts = [[1, 2], [3], [4, 5, 6]];
    const labels = [[7], [8, 9], [10]];
    const { logLik, predicted } = await classifyByContinuation(backend, prompts, labels, 4);
    expect(logLik).toHaveLength(9);
    // The reference: every (prompt, label) pair scored on its own, one at a time.
    const reference: number[] = [];
    for (const prompt of prompts) {
      for (const continuation of labels) reference.push((await scoreContinuations(backend, [{ prompt, continuation }], 1))[0]!);
    }
    reference.forEach((x, i) => expect(logLik[i]).toBeCloseTo(x, 5));
    prompts.forEach((_, i) => {
      const row = reference.slice(i * 3, i * 3 + 3);
      expect(predicted[i]).toBe(row.indexOf(Math.max(...row)));
    });
  });
});

test('weightedBatch: each row its own weights, right-padded at weight 0; a given T cuts longer rows', () => {
  const b = weightedBatch([{ tokens: [5, 6, 7], weights: [0.5, 2] }, { tokens: [8, 9], weights: [-1] }]);
  expect({ B: b.B, T: b.T }).toEqual({ B: 2, T: 2 });
  expect([...b.inputs]).toEqual([5, 6, 8, 0]);
  expect([...b.targets]).toEqual([6, 7, 9, 0]);
  expect([...b.weights]).toEqual([0.5, 2, -1, 0]);
  const cut = weightedBatch([{ tokens: [5, 6, 7], weights: [0.5, 2] }], 1);
  expect([...cut.inputs, ...cut.targets, ...cut.weights]).toEqual([5, 6, 0.5]);
});

