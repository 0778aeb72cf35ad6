/**
 * Runs in IndexedDB, in real headless Chromium (no fake IndexedDB):
 *   - the store: create, append, samples, checkpoints (only the latest 2
 *     kept), list, delete; the checkpoint transaction is all-or-nothing;
 *   - a real QuotaExceededError (Chromium's quota for the origin lowered
 *     through the DevTools protocol) becomes a StorageFullError and loses
 *     nothing saved before;
 *   - run files: export → import gives the same metrics; the headless
 *     runner's run.jsonl imports; malformed files each fail with their
 *     message and write nothing;
 *   - the lab worker through LabClient: a run interrupted by a page reload
 *     after its first checkpoint is found as interrupted and resumed to the
 *     same result as an uninterrupted run; cancel; a save failure stops a run.
 * Runs use the CPU backend (SwiftShader WebGPU is slow) and a tiny config.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runExperiment } from '../../bin/run-experiment';
import { decodeCheckpoint } from '../../src/core/checkpoint';
import { EXPERIMENTS } from '../../src/experiments';
import type { SelfImproveConfig } from '../../src/experiments/self-improve/config';
import type { MetricRecord } from '../../src/experiments/types';
import { type Lab, startLab } from './harness';

let lab: Lab;
let page: Page;
let errors: string[];

/** A tiny self-improve run, with iterations long enough (~2 s on a CPU) to reload the page inside one. */
const tinyRun: Partial<SelfImproveConfig> = {
  families: ['reverse'], minDifficulty: 1, maxDifficulty: 1, trainSize: 16, valSize: 6, testSize: 6, seedSetSize: 8,
  dModel: 16, nLayers: 1, nHeads: 2, warmStartSteps: 6, iterations: 2, samplesPerProblem: 2, stepsPerIteration: 1000,
  batchSize: 4, passSamples: 2, passK: 2, evalEvery: 250,
};

async function openPage(): Promise<void> {
  await page.goto(`${lab.url}/test/browser/pages/persist.html`);
  await page.waitForFunction(() => window.persistReady === true);
}

beforeAll(async () => {
  lab = await startLab();
  ({ page, errors } = await lab.newPage());
  await openPage();
});

afterAll(async () => {
  await lab?.close();
});

/**
 * A fresh page (its own browser context, so its own empty storage) whose
 * origin has a quota of `quotaBytes`, set through the DevTools protocol.
 * Chromium applies the override only when it comes before the origin's
 * first IndexedDB use in the context, hence the fresh context.
 */
async function pageWithQuota(quotaBytes: number): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const fresh = await lab.newPage();
  const cdp = await fresh.page.context().newCDPSession(fresh.page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(lab.url).origin, quotaSize: quotaBytes });
  await fresh.page.goto(`${lab.url}/test/browser/pages/persist.html`);
  await fresh.page.waitForFunction(() => window.persistReady === true);
  return { ...fresh, close: () => fresh.page.context().close() };
}

/** Evaluate `fn(arg)` in the page every `every` ms until it returns a truthy value; returns it. */
async function poll<T>(fn: (arg: string) => Promise<T>, arg: string, timeout: number, every = 50): Promise<T> {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await page.evaluate(fn, arg);
    if (value) return value;
    if (Date.now() > until) throw new Error(`poll: still falsy after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** Metric records without their wall-clock fields (which differ between runs). */
function withoutClock(records: MetricRecord[]): MetricRecord[] {
  return records.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'seconds')) as MetricRecord);
}

describe('store', () => {
  test('create, append, samples, checkpoints, list, finish, delete', async () => {
    const r = await page.evaluate(async () => {
      const { persist, persistHelpers: f } = window;
      const store = await persist.LabStore.open('store-basics');
      const env = { backend: 'cpu' as const, description: 'CPU (reference)' };
      const a = await store.createRun({ experiment: 'self-improve', preset: null, seed: 1, config: { x: 1 }, overrides: {}, environment: env });
      const b = await store.createRun({ experiment: 'self-improve', preset: 'classroom', seed: 2, config: { x: 2 }, overrides: {}, environment: env });
      await store.appendMetric(a.id, f.iteration(0));
      await store.appendMetrics(a.id, [f.evaluation(3), f.iteration(1, { trainLoss: NaN })]);
      await store.appendMetric(b.id, f.iteration(0));
      await store.saveSamples(a.id, { iteration: 1 }, [f.attempt('ab')]);
      await store.saveSamples(a.id, { iteration: 1 }, [f.attempt('cd')]);
      const params = (n: number) => Float32Array.from({ length: 8 }, (_, i) => i + n);
      const checkpoint = (iteration: number) => f.checkpoint(iteration, params(iteration), { extraParams: { base: params(100) } });
      for (const it of [0, 1, 2]) await store.saveCheckpoint(a.id, checkpoint(it));
      const latest = await store.latestCheckpoint(a.id);
      const runA = await store.getRun(a.id);
      const listed = await store.listRuns();
      const locked = await persist.withRunLock(a.id, () => store.listRuns());
      const stale = persist.displayStatus(runA, runA.heartbeatAt + persist.STALE_AFTER_MS + 1, new Set([persist.runLockName(a.id)]));
      await store.finishRun(a.id, { status: 'done', summary: { best: 0.5 } });
      const cancelledAfterDone = await store.finishRun(a.id, { status: 'cancelled' }, { ifRunning: true });
      const done = await store.openRun(a.id);
      const usage = await store.storageUsage();
      await store.deleteRun(a.id);
      const afterDelete = {
        runs: (await store.listRuns()).map((x) => x.id),
        metrics: (await store.getMetrics(a.id)).length,
        samples: (await store.db.getAll('runSamples', persist.runRange(a.id))).length,
        checkpoint: await store.latestCheckpoint(a.id),
        otherMetrics: (await store.getMetrics(b.id)).length,
      };
      const missing = await store.getRun(a.id).then(() => 'found', (e: Error) => e.message);
      store.close();
      return {
        a: a.id, b: b.id, latestAt: latest?.at, latestLabel: latest?.label, latestParams: Array.from(latest!.params),
        latestBase: Array.from(latest!.extraParams.base!), latestState: latest!.state, latestProgress: latest!.progress,
        runA, listed, locked: locked.map((x) => [x.id, x.status]), stale, cancelledAfterDone, done, usage, afterDelete, missing,
      };
    });
    expect(r.latestAt).toEqual({ iteration: 2 });
    expect(r.latestLabel).toBe('iteration 2');
    expect(r.latestParams).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.latestBase[0]).toBe(100);
    expect(r.latestState).toEqual({ kept: [['a', 'b']], curriculumLevel: 1, step: 2 });
    expect(r.latestProgress).toEqual({ done: 2, total: 3, seconds: 2 });
    expect(r.runA).toMatchObject({
      status: 'running', lastCheckpoint: 'iteration 2', metricCount: 3, sampleCount: 2, checkpointCount: 3, formatVersion: 2,
    });
    expect(Object.keys(r.runA.storedBytes.checkpoints).sort(), 'only the latest 2 checkpoints are kept').toEqual(['1', '2']);
    // Newest first; without its worker's lock a 'running' run is interrupted (its worker is gone), with it running.
    expect(r.listed.map((x) => x.id)).toEqual([r.b, r.a]);
    expect(r.listed.map((x) => x.status)).toEqual(['interrupted', 'interrupted']);
    expect(r.listed[1]).toMatchObject({ resumable: true, lastCheckpoint: 'iteration 2' });
    expect(r.listed[0]).toMatchObject({ resumable: false, lastCheckpoint: null });
    expect(r.locked).toEqual([[r.b, 'interrupted'], [r.a, 'running']]);
    expect(r.stale, 'a heartbeat older than 15 s means interrupted, lock or not').toBe('interrupted');
    expect(r.cancelledAfterDone).toBe(false);
    expect(r.done.status).toBe('done');
    expect(r.done.run.summary).toEqual({ best: 0.5 });
    expect(r.done.records.map((x) => x.kind)).toEqual(['iteration', 'eval', 'iteration']);
    expect(Number.isNaN(r.done.records[2]!.trainLoss), 'IndexedDB keeps NaN').toBe(true);
    expect(r.done.samples.map((x) => [x.at, x.rows.map((row) => (row as { prompt: string }).prompt)])).toEqual([[{ iteration: 1 }, ['ab']], [{ iteration: 1 }, ['cd']]]);
    expect(r.usage.usedBytes).toBeGreaterThan(0);
    expect(r.usage.perRun[r.a]).toBeGreaterThan(2 * 2 * 8 * 4); // two checkpoints of two 8-float buffers, at least
    expect(r.afterDelete).toEqual({ runs: [r.b], metrics: 0, samples: 0, checkpoint: null, otherMetrics: 1 });
    expect(r.missing).toMatch(/does not exist/);
  });

  test('a run saved by the previous version (database 3, record format 1) is listed with a message naming its format, and can be deleted', async () => {
    const r = await page.evaluate(async () => {
      const name = 'store-format-1';
      // The database as the previous version left it: version 3, a run of record format 1 with a checkpoint.
      await new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name, 3);
        open.onupgradeneeded = () => {
          const db = open.result;
          db.createObjectStore('runs', { keyPath: 'id' }).createIndex('by-created', 'createdAt');
          db.createObjectStore('metrics', { keyPath: ['runId', 'seq'] }).createIndex('by-run', 'runId');
          db.createObjectStore('samples', { keyPath: ['runId', 'iteration'] }).createIndex('by-run', 'runId');
          db.createObjectStore('checkpoints', { keyPath: ['runId', 'iteration'] }).createIndex('by-run', 'runId');
          db.createObjectStore('datasets', { keyPath: 'id' }).createIndex('by-created', 'createdAt');
          db.createObjectStore('datasetRows', { keyPath: 'datasetId' });
          db.createObjectStore('runInputs', { keyPath: 'runId' });
          const tx = open.transaction!;
          tx.objectStore('runs').put({
            id: 'old-run', formatVersion: 1, experiment: 'self-improve', preset: 'classroom', seed: 1, config: {}, overrides: {},
            environment: { backend: 'cpu' }, status: 'running', heartbeatAt: 0, createdAt: 1, updatedAt: 1, error: null, summary: null,
            lastCheckpointIteration: 0, lastIteration: 0, metricCount: 0, storedBytes: { metrics: 0, samples: 0, checkpoints: {} }, importedFrom: null,
          });
          tx.objectStore('checkpoints').put({ formatVersion: 1, runId: 'old-run', iteration: 0, params: new ArrayBuffer(8) });
        };
        open.onsuccess = () => {
          open.result.close();
          resolve();
        };
        open.onerror = () => reject(open.error);
      });
      const store = await window.persist.LabStore.open(name);
      const listed = await store.listRuns();
      const opened = await store.openRun('old-run').then(() => 'opened', (e: Error) => `${e.name}: ${e.message}`);
      await store.deleteRun('old-run');
      const after = { runs: (await store.listRuns()).length, legacyCheckpoints: await store.db.count('checkpoints') };
      store.close();
      return { listed, opened, after };
    });
    expect(r.listed).toHaveLength(1);
    expect(r.listed[0]).toMatchObject({ id: 'old-run', status: 'failed', resumable: false });
    expect(r.listed[0]!.error).toMatch(/has record format 1, which this version of Symbiosis Lab \(format 2\) cannot read/);
    expect(r.opened).toMatch(/^StoredFormatError: run old-run has record format 1/);
    expect(r.after).toEqual({ runs: 0, legacyCheckpoints: 0 });
  });

  test('input files are stored with their run, read back byte for byte, counted, and deleted with it', async () => {
    const r = await page.evaluate(async () => {
      const { persist } = window;
      const store = await persist.LabStore.open('store-inputs');
      const env = { backend: 'cpu' as const, description: 'CPU (reference)' };
      // A view on part of a larger buffer: only the view's bytes may be stored.
      const backing = new Uint8Array([9, 9, 104, 105, 0xc3, 0xa9, 9]);
      const bytes = backing.subarray(2, 6);
      const withFile = await store.createRun({
        experiment: 'collapse', preset: null, seed: 1, config: {}, overrides: {}, environment: env,
        inputs: { corpus: { name: 'story.txt', bytes } },
      });
      const without = await store.createRun({ experiment: 'collapse', preset: null, seed: 2, config: {}, overrides: {}, environment: env });
      const back = await store.getRunInputs(withFile.id);
      const none = await store.getRunInputs(without.id);
      const usage = await store.storageUsage();
      await store.deleteRun(withFile.id);
      const afterDelete = await store.getRunInputs(withFile.id);
      store.close();
      return {
        name: back.corpus?.name, bytes: Array.from(back.corpus?.bytes ?? []), none, stored: withFile.storedBytes.inputs,
        usageWith: usage.perRun[withFile.id]!, usageWithout: usage.perRun[without.id]!, afterDelete,
      };
    });
    expect(r).toMatchObject({ name: 'story.txt', bytes: [104, 105, 0xc3, 0xa9], none: {}, stored: 4, afterDelete: {} });
    expect(r.usageWith - r.usageWithout).toBe(4);
  });

  test('a checkpoint and its run update commit together or not at all', async () => {
    const r = await page.evaluate(async () => {
      const { persist, persistHelpers: f } = window;
      const store = await persist.LabStore.open('store-atomic');
      const run = await store.createRun({
        experiment: 'self-improve', preset: null, seed: 1, config: {}, overrides: {}, environment: { backend: 'cpu', description: 'cpu' },
      });
      const params = new Float32Array(8).fill(1);
      await store.saveCheckpoint(run.id, f.checkpoint(0, params, { state: { ok: true } }));
      await store.appendMetric(run.id, f.iteration(1));
      const before = { run: await store.getRun(run.id), rows: await f.countRows(store) };
      // A function cannot be stored: the checkpoint put fails after the run record was already put in the same transaction.
      const failure = await store.saveCheckpoint(run.id, f.checkpoint(1, params, { state: { bad: () => 1 } })).then(
        () => null, (e: Error) => `${e.name}: ${e.message}`,
      );
      const missingRun = await store.saveCheckpoint('no-such-run', f.checkpoint(0, params)).then(() => null, (e: Error) => e.message);
      const after = { run: await store.getRun(run.id), rows: await f.countRows(store) };
      const latest = await store.latestCheckpoint(run.id);
      store.close();
      return { before, after, failure, missingRun, latestLabel: latest?.label, latestState: latest?.state };
    });
    expect(r.failure).toMatch(/DataCloneError/);
    expect(r.missingRun).toMatch(/does not exist/);
    expect(r.after.run, 'the run record is exactly as before the failed checkpoint').toEqual(r.before.run);
    expect(r.after.rows).toEqual(r.before.rows);
    expect(r.latestLabel).toBe('the warm start');
    expect(r.latestState).toEqual({ ok: true });
  });

  test('a full disk: StorageFullError, and nothing saved before is lost', async () => {
    // The translation on its own, with a real DOMException of that name.
    const translated = await page.evaluate(() => {
      const e = window.persist.storageError(new DOMException('quota', 'QuotaExceededError')) as Error;
      const other = window.persist.storageError(new DOMException('x', 'DataError')) as Error;
      return { name: e.name, message: e.message, other: other.name };
    });
    expect(translated.name).toBe('StorageFullError');
    expect(translated.message).toMatch(/storage is full.*Delete runs/);
    expect(translated.other).toBe('DataError');

    // The real thing: a page whose origin may store 1 MB.
    const q = await pageWithQuota(1_000_000);
    try {
      const r = await q.page.evaluate(async () => {
        const { persist, persistHelpers: f } = window;
        const store = await persist.LabStore.open('store-quota');
        const run = await store.createRun({
          experiment: 'self-improve', preset: null, seed: 1, config: {}, overrides: {}, environment: { backend: 'cpu', description: 'cpu' },
        });
        await store.appendMetric(run.id, f.iteration(0));
        await store.saveCheckpoint(run.id, f.checkpoint(0, new Float32Array(16).fill(2)));
        const before = { run: await store.getRun(run.id), rows: await f.countRows(store) };
        // 40 MB of parameters cannot fit in 1 MB.
        const failure = await store.saveCheckpoint(run.id, f.checkpoint(1, new Float32Array(10_000_000).fill(1))).then(
          () => null, (e: Error) => ({ name: e.name, message: e.message, cause: (e.cause as Error | undefined)?.name }),
        );
        const after = { run: await store.getRun(run.id), rows: await f.countRows(store) };
        const latest = await store.latestCheckpoint(run.id);
        const metrics = await store.getMetrics(run.id);
        // Small writes still fit: the run can be marked as failed, or deleted.
        const finished = await store.finishRun(run.id, { status: 'failed', error: 'storage full' });
        store.close();
        return { failure, before, after, latest: latest && { label: latest.label, params: Array.from(latest.params) }, metrics, finished };
      });
      expect(r.failure).toEqual({ name: 'StorageFullError', message: translated.message, cause: 'QuotaExceededError' });
      expect(r.after).toEqual(r.before);
      expect(r.latest).toEqual({ label: 'the warm start', params: Array(16).fill(2) });
      expect(r.metrics.map((m) => m.kind)).toEqual(['iteration']);
      expect(r.finished).toBe(true);
      expect(q.errors).toEqual([]);
    } finally {
      await q.close();
    }
  });
});

describe('run files', () => {
  test('export → import gives the same run as a new record, never overwriting', async () => {
    const r = await page.evaluate(async () => {
      const { persist, persistHelpers: f } = window;
      const store = await persist.LabStore.open('files-roundtrip');
      const config = f.selfImproveConfig({ trainSize: 16, valSize: 6, testSize: 6, seedSetSize: 8 });
      const run = await store.createRun({
        experiment: 'self-improve', preset: 'classroom', seed: 7, config, overrides: { trainSize: 16 },
        environment: { backend: 'cpu', description: 'CPU (reference)', adapter: 'no adapter' },
      });
      const records = [
        f.iteration(0, { accuracy: { train: 0.25, val: NaN, test: 0.5 } }),
        f.evaluation(5, { train: 0.1, val: 0.2, weightNorm: 3.5 }),
        f.iteration(1, { accuracy: { train: 0.5, val: 0.25, test: 0.5 }, passAtK: { train: 1, val: 0.5, test: 0.5 } }),
      ];
      await store.appendMetrics(run.id, records);
      await store.saveSamples(run.id, { iteration: 1 }, [{ ...f.attempt('12'), attempts: [{ text: 'ünïcödé "quoted"\nline', correct: false, reason: 'wrong' }] }]);
      await store.finishRun(run.id, { status: 'done', summary: { seconds: 1.5, iterations: [] } });
      const text = await store.exportRun(run.id);
      const first = (await store.importRun(text, 'exported.jsonl')).runId;
      const second = (await store.importRun(text, 'exported.jsonl')).runId;
      const original = await store.openRun(run.id);
      const imported = await store.openRun(first);
      const list = await store.listRuns();
      store.close();
      return { id: run.id, text, first, second, original, imported, list, puzzles: config.trainSize + config.valSize + config.testSize };
    });
    const lines = r.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({
      format: 'symbiosis-lab/run', version: 2, counts: { metrics: 3, samples: 1, dataset: r.puzzles },
      run: { experiment: 'self-improve', preset: 'classroom', seed: 7, status: 'done', summary: { seconds: 1.5 } },
    });
    expect(lines[1]).toHaveProperty('metrics');
    expect(lines[4]).toHaveProperty('samples');
    expect(lines[5]).toMatchObject({ dataset: 'puzzles.jsonl', row: { split: 'train' } });
    expect(new Set([r.id, r.first, r.second]).size, 'each import is a new run').toBe(3);
    // NaN travels as null in the file and comes back as NaN.
    expect(Number.isNaN((r.imported.records[0]!.accuracy as { val: number }).val)).toBe(true);
    expect(r.imported.records).toEqual(r.original.records);
    expect(r.imported.samples).toEqual(r.original.samples);
    expect(r.imported.run).toMatchObject({
      experiment: 'self-improve', preset: 'classroom', seed: 7, status: 'done', config: r.original.run.config,
      environment: r.original.run.environment, summary: { seconds: 1.5, iterations: [] }, importedFrom: 'exported.jsonl',
      lastCheckpoint: null,
    });
    expect(r.imported.run.overrides).toEqual({ trainSize: 16, valSize: 6, testSize: 6, seedSetSize: 8 });
    expect(r.list.find((x) => x.id === r.first)).toMatchObject({ status: 'done', resumable: false, importedFrom: 'exported.jsonl' });
  });

  test("the headless runner's run.jsonl imports with the same metrics as its metrics.jsonl", async () => {
    const out = mkdtempSync(join(tmpdir(), 'symbiosis-run-'));
    try {
      const overrides = Object.fromEntries(Object.entries({ ...tinyRun, stepsPerIteration: 4, evalEvery: 5 })
        .map(([k, value]) => [k, Array.isArray(value) ? value.join(',') : String(value)]));
      await runExperiment({ experiment: 'self-improve', preset: 'classroom', seed: 3, out, overrides });
      const text = readFileSync(join(out, 'run.jsonl'), 'utf8');
      const metricsJsonl = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
      const r = await page.evaluate(async (file) => {
        const store = await window.persist.LabStore.open('files-headless');
        const { runId } = await store.importRun(file, 'run.jsonl');
        const run = await store.openRun(runId);
        store.close();
        return run;
      }, text);
      expect(r.records).toEqual(metricsJsonl);
      expect(r.records.filter((x) => x.kind === 'iteration').map((x) => x.iteration)).toEqual([0, 1, 2]);
      expect(r.samples.map((s) => s.at)).toEqual([{ iteration: 1 }, { iteration: 2 }]);
      expect(r.run).toMatchObject({ experiment: 'self-improve', preset: 'classroom', seed: 3, status: 'done', environment: { backend: 'cpu' } });
      expect(r.run.summary).toMatchObject({ iterations: [{ iteration: 0 }, { iteration: 1 }, { iteration: 2 }] });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('malformed files: each fails with its message and writes nothing', async () => {
    const header = (run: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => JSON.stringify({
      format: 'symbiosis-lab/run', version: 2, counts: { metrics: 1, samples: 0, dataset: 0 },
      run: {
        experiment: 'self-improve', preset: null, seed: 1, config: '__CONFIG__', environment: { backend: 'cpu' },
        status: 'done', summary: null, ...run,
      },
      ...top,
    });
    const metric = JSON.stringify({ metrics: { kind: 'eval', step: 5, train: 0.5, val: null, weightNorm: 3 } });
    const cases: [string, string, RegExp][] = [
      ['empty', '', /the file is empty/],
      ['not JSON', 'hello, world\n', /line 1: not valid JSON \(the file may be truncated\)/],
      ['foreign JSON', '{"name":"my-model","weights":[1,2]}\n', /line 1: not a Symbiosis Lab run file/],
      ['metrics.jsonl instead of run.jsonl', `${metric}\n`, /line 1: not a Symbiosis Lab run file/],
      ['newer version', `${header({}, { version: 3 })}\n${metric}\n`, /line 1: version: 3 is newer than this page reads \(2\): reload the page/],
      ['version 1', `${header({}, { version: 1 })}\n${metric}\n`, /line 1: version: run files of version 1 were written before .* \(this page reads version 2\)/],
      ['older version', `${header({}, { version: 0 })}\n${metric}\n`, /line 1: version: 0 is not a version this page reads/],
      ['truncated inside a line', `${header()}\n${metric.slice(0, 30)}`, /line 2: not valid JSON \(the file may be truncated\)/],
      ['truncated at a line end', `${header({}, { counts: { metrics: 2, samples: 0, dataset: 0 } })}\n${metric}\n`, /counts\.metrics: the header announces 2 metrics lines but the file has 1/],
      ['unknown experiment', `${header({ experiment: 'telepathy' })}\n${metric}\n`, new RegExp(`line 1: run\\.experiment: unknown experiment 'telepathy' \\(this page has: ${Object.keys(EXPERIMENTS).join(', ')}\\)`)],
      ['bad config field', `${header({ config: '__BAD_CONFIG__' })}\n${metric}\n`, /line 1: run\.config\.nHeads: must divide dModel/],
      ['record without a kind', `${header()}\n{"metrics":{"iteration":1}}\n`, /line 2: metrics(\.kind)?: must be an iteration or eval record/],
      ['record of another lab', `${header()}\n{"metrics":{"kind":"generation","generation":1}}\n`, /line 2: metrics(\.kind)?: must be an iteration or eval record/],
      ['record with a wrong field', `${header()}\n{"metrics":{"kind":"eval","step":"five","train":0.5,"val":0.5,"weightNorm":3}}\n`, /line 2: metrics\.step: must be a number/],
      ['bad samples position', `${header({}, { counts: { metrics: 1, samples: 1, dataset: 0 } })}\n${metric}\n{"samples":{"at":{"iteration":-1},"rows":[]}}\n`, /line 3: samples\.at\.iteration: must be ≥ 0/],
      ['bad samples row', `${header({}, { counts: { metrics: 1, samples: 1, dataset: 0 } })}\n${metric}\n{"samples":{"at":{"iteration":1},"rows":[{"prompt":"12"}]}}\n`, /line 3: samples\.rows\[0\]\.\w+: /],
      ['unknown line', `${header()}\n${metric}\n{"weights":[1]}\n`, /line 3: expected an object with "metrics", "samples" or "dataset"/],
      ['bad seed', `${header({ seed: -1 })}\n${metric}\n`, /line 1: run\.seed: must be a non-negative integer, got -1/],
      ['bad status', `${header({ status: 'running' })}\n${metric}\n`, /line 1: run\.status: must be done, failed, cancelled or interrupted/],
      ['unknown header key', `${header({ colour: 'red' })}\n${metric}\n`, /line 1: run\.colour: unknown key/],
      ['blank line', `${header()}\n\n${metric}\n`, /line 2: is empty/],
    ];
    const good = `${header()}\n${metric}\n`;
    const results = await page.evaluate(async ({ all, good }) => {
      const { persist, persistHelpers } = window;
      const config = JSON.stringify(persistHelpers.selfImproveConfig());
      const badConfig = JSON.stringify({ ...persistHelpers.selfImproveConfig(), dModel: 16, nHeads: 3 });
      const store = await persist.LabStore.open('files-malformed');
      const before = await persistHelpers.countRows(store);
      const out: { name: string; message: string; after: Record<string, number> }[] = [];
      const fill = (raw: string) => raw.replaceAll('"__CONFIG__"', config).replaceAll('"__BAD_CONFIG__"', badConfig);
      for (const [name, raw] of all) {
        const text = fill(raw);
        const message = await store.importRun(text).then(({ runId }) => `imported ${runId}`, (e: Error) => `${e.name}: ${e.message}`);
        out.push({ name, message, after: await persistHelpers.countRows(store) });
      }
      // The same header with a valid body imports: the cases fail for their own reason only.
      const imported = await store.importRun(fill(good)).then(() => 'ok', (e: Error) => e.message);
      store.close();
      return { before, out, good: imported };
    }, { all: cases.map(([name, text]) => [name, text] as [string, string]), good });
    expect(results.before).toEqual({ runs: 0, metrics: 0, samples: 0, checkpoints: 0 });
    for (const [i, [name, , pattern]] of cases.entries()) {
      const got = results.out[i]!;
      console.log(`${name.padEnd(36)} ${got.message}`);
      expect(got.message, name).toMatch(/^RunFileError: run file/);
      expect(got.message, name).toMatch(pattern);
      expect(got.after, `${name}: nothing written`).toEqual(results.before);
    }
    expect(results.good).toBe('ok');
  });
});

describe('the lab worker through LabClient', () => {
  /** Wait for the client's active run to reach a status; returns the active run. */
  async function waitForStatus(status: string, timeout = 120_000) {
    await page.waitForFunction((s) => window.lab.active?.status === s || window.lab.active?.status === 'failed', status, { timeout, polling: 100 });
    const active = await page.evaluate(() => window.lab.active);
    expect(active?.error ?? null, 'the run reported an error').toBeNull();
    expect(active?.status).toBe(status);
    return active!;
  }

  const start = (seed: number) => page.evaluate(
    ({ seed, overrides }) => window.lab.start({ experiment: 'self-improve', preset: null, seed, overrides, backend: 'cpu' }),
    { seed, overrides: tinyRun },
  );

  test('a run interrupted by a reload after its first checkpoint is found as interrupted and resumed to the uninterrupted result', async () => {
    const runId = await start(5);
    // Reload in iteration 1 once some of its metric rows (eval points) are stored after checkpoint 0: resume must drop them.
    await poll(async (id) => {
      const store = await window.persist.LabStore.open();
      try {
        const ckpt = await store.latestCheckpoint(id);
        const metrics = await store.getMetrics(id);
        // An eval point of iteration 1 (past the 6 warm-start steps) is stored after the warm start's checkpoint.
        return ckpt?.label === 'the warm start' && metrics.some((m) => m.kind === 'eval' && (m.step as number) > 6);
      } finally {
        store.close();
      }
    }, runId, 60_000);
    await openPage(); // a reload: the page and its workers are gone

    // The dead worker's lock is released at once (the heartbeat alone would take 15 s).
    const found = await poll(async (id) => {
      await window.lab.refreshRuns();
      const item = window.lab.runs.find((x) => x.id === id);
      return item?.status === 'interrupted' ? item : null;
    }, runId, 20_000, 200);
    expect(found).toMatchObject({ status: 'interrupted', resumable: true, lastCheckpoint: 'the warm start' });

    await page.evaluate((id) => window.lab.resume(id), runId);
    const resumed = await waitForStatus('done');
    expect(resumed.log).toContain('resumed after the warm start');
    const stored = await page.evaluate(async (id) => {
      const store = await window.persist.LabStore.open();
      const run = await store.getRun(id);
      const metrics = await store.getMetrics(id);
      const checkpoints = await store.checkpointLabels(id);
      store.close();
      return { run, metrics, checkpoints };
    }, runId);
    expect(stored.run.status).toBe('done');
    expect(stored.checkpoints).toEqual(['iteration 1', 'iteration 2']);
    expect(stored.metrics).toEqual(resumed.records);
    expect(stored.metrics.filter((m) => m.kind === 'iteration').map((m) => m.iteration), 'each iteration once').toEqual([0, 1, 2]);
    expect(resumed.samples.map((s) => s.at)).toEqual([{ iteration: 1 }, { iteration: 2 }]);
    expect(resumed.progress).toMatchObject({ etaSeconds: 0 });
    expect(resumed.progress!.done).toBe(resumed.progress!.total);

    // The same seed without the interruption gives the same metric stream.
    await start(5);
    const straight = await waitForStatus('done');
    expect(withoutClock(resumed.records)).toEqual(withoutClock(straight.records));

    // The finished run's files: run.jsonl imports with the same metrics; the model decodes.
    const files = await page.evaluate(async (id) => {
      const text = await (await window.lab.exportRun(id)).text();
      const { runId: importedId } = await window.lab.importRun(new File([text], 'resumed.jsonl'));
      const imported = await window.lab.open(importedId);
      const model = new Uint8Array(await (await window.lab.exportModel(id)).arrayBuffer());
      return { importedRecords: imported.records, model: Array.from(model), listed: window.lab.runs.map((x) => x.id) };
    }, runId);
    expect(files.importedRecords).toEqual(stored.metrics);
    expect(files.listed).toContain(runId);
    const model = decodeCheckpoint(Uint8Array.from(files.model));
    expect(model.meta).toEqual({ experiment: 'self-improve', seed: '5', checkpoint: 'iteration 2' });
    expect(model.config).toMatchObject({ dModel: 16, nLayers: 1, nHeads: 2 });
    expect(errors).toEqual([]);
  });

  test('cancel stops the run at once and marks it cancelled; it stays resumable and can be deleted', async () => {
    const runId = await start(6);
    await page.waitForFunction(() => window.lab.active?.log.includes('saved after the warm start'), undefined, { timeout: 60_000, polling: 50 });
    await page.evaluate(() => window.lab.cancel());
    const after = await page.evaluate((id) => ({ active: window.lab.active, listed: window.lab.runs.find((x) => x.id === id) }), runId);
    expect(after.active?.status).toBe('cancelled');
    expect(after.listed).toMatchObject({ status: 'cancelled', resumable: true });
    // Nothing of the terminated worker's changes the status afterwards.
    await page.waitForTimeout(500);
    const later = await page.evaluate(async (id) => {
      await window.lab.refreshRuns();
      return window.lab.runs.find((x) => x.id === id)?.status;
    }, runId);
    expect(later).toBe('cancelled');
    await page.evaluate((id) => window.lab.remove(id), runId);
    const gone = await page.evaluate((id) => ({ listed: window.lab.runs.some((x) => x.id === id), perRun: window.lab.storage?.perRun[id] }), runId);
    expect(gone).toEqual({ listed: false, perRun: undefined });

    // Cancelled before the worker even answered: start() still settles with the id, and no run is left 'running'.
    const early = await page.evaluate(async (overrides) => {
      const started = window.lab.start({ experiment: 'self-improve', preset: null, seed: 7, overrides, backend: 'cpu' });
      await window.lab.cancel();
      const id = await started;
      await new Promise((resolve) => setTimeout(resolve, 500));
      await window.lab.refreshRuns();
      return { id, status: window.lab.runs.find((x) => x.id === id)?.status ?? 'never created' };
    }, tinyRun);
    expect(early.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(['never created', 'cancelled']).toContain(early.status);
  });

  test("'auto' times the run's own model on the CPU and on WebGPU, runs on the faster, and records both timings", async () => {
    await page.evaluate((overrides) => window.lab.start({ experiment: 'self-improve', preset: null, seed: 9, overrides, backend: 'auto' }),
      { ...tinyRun, stepsPerIteration: 4, evalEvery: 0, iterations: 1 });
    const done = await waitForStatus('done', 240_000);
    const r = await page.evaluate(async (id) => {
      const store = await window.persist.LabStore.open();
      const run = await store.getRun(id);
      store.close();
      return { environment: run.environment, measurements: await window.persistHelpers.listMeasurements() };
    }, done.runId);
    // Both backends were timed on this model; the record says which won and by how much.
    expect(r.environment.reason).toMatch(/^auto: measured: cpu [\d.]+ ms\/step; webgpu [\d.]+ ms\/step: (cpu|webgpu) is faster for this run/);
    expect(['cpu', 'webgpu']).toContain(r.environment.backend);
    expect(r.measurements.length).toBeGreaterThan(0);
    const m = r.measurements[0]!;
    expect(m.timings.map((t) => t.kind).sort()).toEqual(['cpu', 'webgpu']);
    expect(m.timings.every((t) => t.msPerStep !== null && t.msPerStep > 0)).toBe(true);
    expect(m.choice).toBe(r.environment.backend);
    expect(done.log.some((line) => line.startsWith('auto: '))).toBe(true);
  });

  test('bad settings and bad files surface in `error`', async () => {
    const r = await page.evaluate(async () => {
      const startError = await window.lab.start({ experiment: 'self-improve', preset: null, seed: 1, overrides: { nHeads: 3, dModel: 16 }, backend: 'cpu' })
        .then(() => null, (e: Error) => e.message);
      const afterStart = window.lab.error;
      // A cached dataset that is not there (deleted in another tab): named, and no run is created.
      const before = (await window.lab.refreshRuns(), window.lab.runs.length);
      const datasetError = await window.lab.start({
        experiment: 'symbiosis', preset: 'tiny', seed: 1, overrides: {}, backend: 'cpu', cachedDatasets: { dataset: 'gone' },
      }).then(() => null, (e: Error) => e.message);
      const runsAfter = (await window.lab.refreshRuns(), window.lab.runs.length);
      const importError = await window.lab.importRun(new File(['{"not":"ours"}\n'], 'weights.json')).then(() => null, (e: Error) => e.message);
      return { startError, afterStart, datasetError, created: runsAfter - before, importError, afterImport: window.lab.error };
    });
    expect(r.startError).toMatch(/nHeads: must divide dModel/);
    expect(r.afterStart).toBe(r.startError);
    expect(r.datasetError).toMatch(/dataset gone is not cached/);
    expect(r.created).toBe(0);
    expect(r.importError).toMatch(/could not import weights\.json: run file, line 1: not a Symbiosis Lab run file/);
    expect(r.afterImport).toBe(r.importError);
  });

  test('a run whose saves fail (storage full) stops as failed, its saved part intact', async () => {
    // Room for the run record and its metrics, not for a checkpoint of this model (2 × ~3.2 MB of parameters);
    // with less headroom, what the refused write left behind can crowd out even the small 'failed' mark.
    const q = await pageWithQuota(2_000_000);
    try {
      await q.page.evaluate((overrides) => window.lab.start({ experiment: 'self-improve', preset: null, seed: 1, overrides, backend: 'cpu' }),
        { ...tinyRun, dModel: 256, nHeads: 4, warmStartSteps: 2, stepsPerIteration: 2, evalEvery: 0 });
      await q.page.waitForFunction(() => window.lab.active?.status === 'failed', undefined, { timeout: 120_000, polling: 100 });
      const r = await q.page.evaluate(async () => {
        await window.lab.refreshRuns();
        const active = window.lab.active!;
        const store = await window.persist.LabStore.open();
        const metrics = await store.getMetrics(active.runId);
        const checkpoint = await store.latestCheckpoint(active.runId);
        store.close();
        return { active, error: window.lab.error, listed: window.lab.runs.find((x) => x.id === active.runId), metrics, checkpoint };
      });
      expect(r.active.error).toMatch(/saving the run failed, so it stopped: storage is full/);
      expect(r.error).toBe(r.active.error);
      expect(r.listed).toMatchObject({ status: 'failed', resumable: false });
      expect(r.listed?.error).toMatch(/storage is full/);
      expect(r.metrics.map((m) => m.kind), 'the metrics emitted before the failed checkpoint are kept').toEqual(['iteration']);
      expect(r.checkpoint).toBeNull();
    } finally {
      await q.close();
    }
  });
});
