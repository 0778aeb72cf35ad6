/**
 * The persistence page: exposes src/persist on `window.persist` (the test
 * drives the store directly here; only tests may import it outside
 * workers), a LabClient on `window.lab` (which runs experiments in the real
 * lab worker), and fixtures — records, sample rows and checkpoints a
 * self-improve run really writes (the store checks them against the
 * experiment) — then sets `window.persistReady`.
 */
import * as persist from '../../../src/persist';
import { resolveConfig } from '../../../src/experiments/config';
import { selfImprove } from '../../../src/experiments/self-improve';
import type { SelfImproveConfig } from '../../../src/experiments/self-improve/config';
import type { AttemptRow, EvalRecord, IterationRecord } from '../../../src/experiments/self-improve/records';
import type { RunCheckpoint } from '../../../src/experiments/types';
import { LabClient } from '../../../src/ui/lab-client.svelte';
import { listMeasurements } from '../../../src/core/backends/timing-cache';

/** Rows in each store of a database (to check that a failed write wrote nothing). */
async function countRows(store: persist.LabStore): Promise<Record<string, number>> {
  const db = store.db;
  return {
    runs: await db.count('runs'),
    metrics: await db.count('metrics'),
    samples: await db.count('runSamples'),
    checkpoints: await db.count('runCheckpoints'),
  };
}

/** A complete self-improve config (import validates configs against the experiment's schema). */
function selfImproveConfig(overrides: Partial<SelfImproveConfig> = {}): SelfImproveConfig {
  return resolveConfig(selfImprove, null, overrides);
}

const perSplit = (x: number) => ({ train: x, val: x, test: x });

/** An iteration record with every field; `over` changes some. */
function iteration(i: number, over: Partial<IterationRecord> = {}): IterationRecord {
  return {
    kind: 'iteration', iteration: i, step: 10 * i, seconds: i, accuracy: perSplit(0.5), passAtK: null, passAt1: null,
    byDifficulty: { train: { 1: 0.5 }, val: { 1: 0.5 }, test: { 1: 0.5 } }, byFamily: { train: { reverse: 0.5 }, val: { reverse: 0.5 }, test: { reverse: 0.5 } },
    attempted: 4, correctAttempts: 2, kept: 1, keptTotal: i, rationalized: 0, trainLoss: 1.5, weightNorm: 3, curriculumLevel: 1, ...over,
  };
}

function evaluation(step: number, over: Partial<EvalRecord> = {}): EvalRecord {
  return { kind: 'eval', step, train: 0.5, val: 0.25, weightNorm: 3, ...over };
}

function attempt(prompt: string): AttemptRow {
  return { split: 'train', family: 'reverse', difficulty: 1, prompt, answer: [...prompt].reverse().join(''), attempts: [{ text: prompt, correct: false, reason: 'wrong' }] };
}

/** A checkpoint after iteration `i` of a tiny model, with `params` as its parameters. */
function checkpoint(i: number, params: Float32Array, over: Partial<RunCheckpoint> = {}): RunCheckpoint {
  return {
    experiment: 'self-improve', stateVersion: 1, at: { iteration: i }, label: i === 0 ? 'the warm start' : `iteration ${i}`,
    modelConfig: { vocabSize: 4, contextLength: 8, dModel: 4, nLayers: 1, nHeads: 1 },
    tokenizer: { format: 'symbiosis-lab/tokenizer', version: 1, kind: 'char', alphabet: 'ab' } as never,
    params, extraParams: {}, state: { kept: [['a', 'b']], curriculumLevel: 1, step: i }, progress: { done: i, total: 3, seconds: i }, records: [], ...over,
  };
}

const helpers = { countRows, selfImproveConfig, iteration, evaluation, attempt, checkpoint, listMeasurements };

declare global {
  interface Window {
    persist: typeof persist;
    persistHelpers: typeof helpers;
    lab: LabClient;
    persistReady: boolean;
  }
}

window.persist = persist;
window.persistHelpers = helpers;
window.lab = new LabClient();
window.persistReady = true;
