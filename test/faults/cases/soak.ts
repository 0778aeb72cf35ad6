/**
 * An afternoon of classroom use in one tab: SOAK_RUNS (default 30) small
 * runs one after another through the same LabClient, on WebGPU when the
 * browser has an adapter (else the CPU). After the first and after the last
 * run, with garbage collected first: the page's JS heap (DevTools
 * Runtime.getHeapUsage), the page and its workers together
 * (performance.measureUserAgentSpecificMemory, where the page is
 * cross-origin isolated), and the GPU buffer bytes of the run's worker at
 * its peak and still alive when its device was destroyed at the end (the
 * probe counts createBuffer minus destroy; each run has its own worker). A leak shows as the last run's figures more than 10% above the
 * first's. Each run must end 'done' with the same summary as the first
 * (same seed): a run that went wrong late in the afternoon is lost.
 */
import type { CDPSession, Page } from 'playwright-core';
import { type Case, type RunSpec, TINY, check, lose, readRun, startRun, waitForStatus, withTab, withoutClock } from '../suite';

const RUNS = Number(process.env.SOAK_RUNS ?? 30);
/** A leak: the last run's figure more than this fraction above the first's. */
const TOLERANCE = 0.1;

interface Memory {
  /** The page's JS heap after a collection, bytes. */
  heap: number;
  /** The page and its workers (measureUserAgentSpecificMemory), bytes; null where the browser does not say. */
  all: number | null;
  /** GPU buffer bytes still alive when the run's device was destroyed (buffers never destroyed), and at the run's peak; null on the CPU. */
  gpuLive: number | null;
  gpuPeak: number | null;
}

async function measure(page: Page, cdp: CDPSession, runIndex: number): Promise<Memory> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  const all = await page.evaluate(async () => {
    const p = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
    if (!crossOriginIsolated || !p.measureUserAgentSpecificMemory) return null;
    return (await p.measureUserAgentSpecificMemory()).bytes;
  });
  // The probe of each runner reports its GPU bytes at every checkpoint write; the last report of run `runIndex` is its end.
  const gpu = await page.evaluate((i) => {
    const reports = window.faults.messages.filter((m) => m.type === 'gpu-bytes' && m.worker === `lab-runner#${i}`);
    const last = reports.at(-1) as { peak: number; liveAtDestroy: number | null } | undefined;
    return last ? { live: last.liveAtDestroy, peak: last.peak } : null;
  }, runIndex);
  return { heap: usedSize, all, gpuLive: gpu?.live ?? null, gpuPeak: gpu?.peak ?? null };
}

const mb = (x: number | null) => (x === null ? 'not measured' : `${(x / 1e6).toFixed(2)} MB`);

const soak: Case = {
  name: `soak: ${RUNS} runs in one tab`,
  async run({ lab, ledger }) {
    await ledger.fault(`soak: ${RUNS} consecutive runs in one tab, memory after the first and the last`, (losses) => withTab(lab, async (tab) => {
      const webgpu = await tab.page.evaluate(async () => (await navigator.gpu?.requestAdapter()) != null);
      const spec: RunSpec = {
        overrides: { ...TINY, warmStartSteps: 10, iterations: 1, stepsPerIteration: 10 }, seed: 21, backend: webgpu ? 'webgpu' : 'cpu',
      };
      const cdp = await tab.context.newCDPSession(tab.page);
      const figures: Memory[] = [];
      let firstSummary: string | null = null;
      const t0 = Date.now();
      for (let i = 1; i <= RUNS; i++) {
        const runId = await startRun(tab, spec);
        const status = await waitForStatus(tab.page, runId, ['done', 'failed'], 300_000);
        if (status !== 'done') {
          lose(losses, { runs: 1 }, `run ${i} ended ${status}: ${await tab.page.evaluate(() => window.lab.active?.error ?? '')}`);
          continue;
        }
        const summary = JSON.stringify(withoutClock((await readRun(tab.page, runId)).summary));
        firstSummary ??= summary;
        if (summary !== firstSummary) lose(losses, { runs: 1 }, `run ${i} (same seed) ended with another summary than run 1`);
        if (i === 1 || i === RUNS) figures.push(await measure(tab.page, cdp, i));
      }
      check(figures.length === 2, 'the first or the last run did not finish');
      const [first, last] = figures as [Memory, Memory];
      // From 0 bytes any growth is a leak (a fraction of 0 is not defined).
      const grew = (a: number | null, b: number | null) => (a === null || b === null ? null : a === 0 ? (b === 0 ? 0 : Infinity) : (b - a) / a);
      const rows: [string, number | null, number | null][] = [
        ['page JS heap', first.heap, last.heap],
        ['page + workers', first.all, last.all],
        ['GPU buffers never destroyed before the device', first.gpuLive, last.gpuLive],
        ['GPU buffers at the run\'s peak', first.gpuPeak, last.gpuPeak],
      ];
      const text = rows.map(([what, a, b]) => {
        const g = grew(a, b);
        return `${what} ${mb(a)} → ${mb(b)}${g === null ? '' : ` (${g >= 0 ? '+' : ''}${(100 * g).toFixed(1)}%)`}`;
      });
      for (const [what, a, b] of rows) {
        const g = grew(a, b);
        check(g === null || g <= TOLERANCE, `${what} grew by more than ${100 * TOLERANCE}%: ${text.join('; ')}`);
      }
      return `${RUNS} runs on ${spec.backend} in ${((Date.now() - t0) / 1000).toFixed(0)} s, all 'done' with run 1's summary; after run 1 → after run ${RUNS}: ${text.join('; ')}`;
    }));
  },
};

export const SOAK_CASES: Case[] = [soak];
