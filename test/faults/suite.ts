/**
 * The fault suite's plumbing: what a case is, the ledger it reports into
 * (faults injected, survived, runs and records lost), the small runs the
 * cases inject faults into, reference runs to compare a resumed run with,
 * and what a page can say about a stored run.
 *
 * A fault "survives" when every check after it passes: the run's records
 * and checkpoints are intact up to its last checkpoint, it is reported
 * interrupted (or failed) with its cause, resuming it ends bit-identical to
 * an uninterrupted run (metric records and samples without their wall-clock
 * seconds, the summary, and the final model's bytes), and every other run
 * and record in the browser is still readable. docs/faults.md lists the cases.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { Rng, foldIn, keyFromSeed } from '../../src/core/rng';
import type { SelfImproveConfig } from '../../src/experiments/self-improve/config';
import type { Lab } from '../browser/harness';
import type { Trigger } from './probe/probe';
import { type Tab, hookedContext, openTab } from './tab';

/** One injected fault's result, printed as one line. */
export interface FaultResult {
  name: string;
  survived: boolean;
  runsLost: number;
  recordsLost: number;
  /** What happened, in a few words (the cause reported, what was checked). */
  detail: string;
  seconds: number;
}

/** Collects the results of a case's faults. */
export class Ledger {
  readonly results: FaultResult[] = [];
  constructor(readonly print: (r: FaultResult) => void) {}

  /**
   * Inject one fault: `body` does it and its checks, calling `lost` for what
   * is gone and throwing on a failed check; its return value is the detail.
   */
  async fault(name: string, body: (lost: Losses) => Promise<string>): Promise<void> {
    const t0 = performance.now();
    const losses: Losses = { runs: 0, records: 0, why: [] };
    let survived = true;
    let detail: string;
    try {
      detail = await body(losses);
    } catch (e) {
      survived = false;
      detail = `FAILED: ${e instanceof Error ? e.message : String(e)}`.replace(/\s+/g, ' ');
    }
    if (losses.runs > 0 || losses.records > 0) {
      survived = false;
      detail = `${detail}; LOST: ${losses.why.join('; ')}`;
    }
    const result = { name, survived, runsLost: losses.runs, recordsLost: losses.records, detail, seconds: (performance.now() - t0) / 1000 };
    this.results.push(result);
    this.print(result);
  }
}

export interface Losses {
  runs: number;
  records: number;
  why: string[];
}

export function lose(losses: Losses, what: { runs?: number; records?: number }, why: string): void {
  losses.runs += what.runs ?? 0;
  losses.records += what.records ?? 0;
  losses.why.push(why);
}

/** A failed check: the fault did not survive. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

export interface CaseContext {
  lab: Lab;
  ledger: Ledger;
  /** This case's seeded random stream (FAULTS_SEED, folded with the case's index). */
  rng: Rng;
  references: References;
  /** Extra servers a case group starts (a datasets service, model files). */
  extras: Record<string, unknown>;
}

export interface Case {
  name: string;
  run(ctx: CaseContext): Promise<void>;
}

export function caseRng(seed: number, index: number): Rng {
  return new Rng(foldIn(keyFromSeed(seed), index));
}

/** A uniform integer in [lo, hi]. */
export function pick(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.uniform() * (hi - lo + 1));
}

/**
 * A seeded fault point for events of kind `at`: from the n-th on, once a
 * checkpoint is saved (FaultPlan.afterCommitted), n drawn from the first
 * three quarters of the reference run's events, so the run still has work
 * to redo.
 */
export function faultPoint(rng: Rng, ref: Reference, at: Trigger): { n: number; afterCommitted: number } {
  const total = ref.ticks.at(-1)![at];
  return { n: pick(rng, 1, Math.max(1, Math.floor((3 * total) / 4))), afterCommitted: 1 };
}

// --- the runs faults go into --------------------------------------------------------

/**
 * A self-improve run of a few seconds on the CPU: 20 warm-start steps and
 * three iterations of 20 steps, so 4 checkpoints (the warm start, iterations
 * 1–3), 80 training steps and a few hundred sampling calls.
 */
export const TINY: Partial<SelfImproveConfig> = {
  families: ['reverse'], minDifficulty: 1, maxDifficulty: 1, trainSize: 16, valSize: 6, testSize: 6, seedSetSize: 8,
  dModel: 16, nLayers: 1, nHeads: 2, warmStartSteps: 20, iterations: 3, samplesPerProblem: 2, stepsPerIteration: 20,
  batchSize: 4, passSamples: 2, passK: 2, evalEvery: 0,
};

export interface RunSpec {
  overrides: Partial<SelfImproveConfig>;
  seed: number;
  backend: 'cpu' | 'webgpu';
}

/** A run as stored, with what a comparison needs. */
export interface StoredRunView {
  status: string;
  records: Record<string, unknown>[];
  samples: { at: unknown; rows: unknown[] }[];
  summary: unknown;
  /** The latest checkpoint's label, its metric count, and the labels of the checkpoints kept. */
  checkpoint: { label: string; metricCount: number } | null;
  checkpoints: string[];
  /** The final model (safetensors bytes, base64), when the run has a checkpoint. */
  model: string | null;
  problems: string[];
}

/** Read a run straight from IndexedDB in a page of the persistence page (window.persist). */
export async function readRun(page: Page, runId: string): Promise<StoredRunView> {
  return page.evaluate(async (id) => {
    const store = await window.persist.LabStore.open();
    try {
      const opened = await store.openRun(id);
      const latest = await store.latestCheckpoint(id);
      const rows = await store.db.getAll('runCheckpoints', window.persist.runRange(id));
      const last = rows.at(-1);
      let model: string | null = null;
      if (latest) {
        const { bytes } = await store.exportModel(id);
        let text = '';
        for (const b of bytes) text += String.fromCharCode(b);
        model = btoa(text);
      }
      return {
        status: opened.status, records: opened.records as unknown as Record<string, unknown>[], samples: opened.samples, summary: opened.run.summary,
        checkpoint: last ? { label: last.label, metricCount: last.metricCount } : null, checkpoints: rows.map((r) => r.label), model,
        problems: opened.problems,
      };
    } finally {
      store.close();
    }
  }, runId);
}

/** A value without its wall-clock fields ("seconds", "ms"), which differ between runs. */
export function withoutClock<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutClock) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'seconds' && k !== 'ms').map(([k, x]) => [k, withoutClock(x)])) as T;
  }
  return value;
}

const same = (a: unknown, b: unknown) => JSON.stringify(withoutClock(a)) === JSON.stringify(withoutClock(b));

/** Check a finished run against the uninterrupted reference: the same records, samples, summary and model bytes. */
export function checkIdentical(got: StoredRunView, ref: Reference): void {
  check(got.status === 'done', `the resumed run ended '${got.status}', not 'done'`);
  check(got.records.length === ref.run.records.length, `${got.records.length} metric records, the uninterrupted run has ${ref.run.records.length}`);
  const firstDiff = got.records.findIndex((r, i) => !same(r, ref.run.records[i]));
  check(firstDiff < 0, `metric record ${firstDiff + 1} differs from the uninterrupted run's`);
  check(same(got.samples, ref.run.samples), 'its sample sets differ from the uninterrupted run\'s');
  check(same(got.summary, ref.run.summary), 'its summary differs from the uninterrupted run\'s');
  check(got.model !== null && got.model === ref.run.model, 'its final model\'s bytes differ from the uninterrupted run\'s');
}

/**
 * What survived a fault, against the reference: the kept checkpoints in
 * order, and the stored records before the latest one equal to the
 * reference's first records. Counts lost records into `losses`.
 */
export function checkIntact(got: StoredRunView, ref: Reference, losses: Losses, expectCheckpoint = true): string {
  check(got.problems.length === 0, `the stored run has damaged records: ${got.problems.join('; ')}`);
  if (!got.checkpoint) {
    check(!expectCheckpoint, 'no checkpoint was kept');
    return 'no checkpoint yet';
  }
  const index = ref.checkpointLabels.indexOf(got.checkpoint.label);
  check(index >= 0, `the kept checkpoint '${got.checkpoint.label}' is not one the run takes`);
  const expectedLabels = ref.checkpointLabels.slice(Math.max(0, index - 1), index + 1);
  check(same(got.checkpoints, expectedLabels), `checkpoints kept: ${got.checkpoints.join(', ')}; expected ${expectedLabels.join(', ')}`);
  const before = got.checkpoint.metricCount;
  const stored = got.records.slice(0, before);
  let missing = Math.max(0, before - stored.length);
  missing += stored.filter((r, i) => !same(r, ref.run.records[i])).length;
  if (missing > 0) lose(losses, { records: missing }, `${missing} of the ${before} records before '${got.checkpoint.label}' are missing or changed`);
  return `${got.checkpoints.length} checkpoint${got.checkpoints.length === 1 ? '' : 's'} intact (last: ${got.checkpoint.label}), ${before} records before it intact`;
}

// --- reference runs --------------------------------------------------------------------

export interface Reference {
  run: StoredRunView;
  /** Its run.jsonl, as the page exports it (imported as a bystander run). */
  file: string;
  /** The labels of every checkpoint the run takes, in order. */
  checkpointLabels: string[];
  /** Probe counts (training steps, sampling calls, checkpoint rows) at each checkpoint write. */
  ticks: Record<Trigger, number>[];
}

/** Uninterrupted runs, made once each in a fresh context and kept for every case that needs them. */
export class References {
  readonly #made = new Map<string, Promise<Reference>>();
  constructor(readonly lab: Lab) {}

  get(spec: RunSpec): Promise<Reference> {
    const key = JSON.stringify(spec);
    let made = this.#made.get(key);
    if (!made) {
      made = this.#make(spec);
      this.#made.set(key, made);
    }
    return made;
  }

  async #make(spec: RunSpec): Promise<Reference> {
    const context = await hookedContext(this.lab);
    try {
      const tab = await openTab(this.lab, context);
      const runId = await startRun(tab, spec);
      const status = await waitForStatus(tab.page, runId, ['done', 'failed'], 300_000);
      check(status === 'done', `the reference run ended ${status}: ${await tab.page.evaluate(() => window.lab.active?.error ?? '')}`);
      const run = await readRun(tab.page, runId);
      const messages = await tab.page.evaluate(() => window.faults.messages);
      const ticks = messages.flatMap((m) => (m.type === 'tick' ? [m.counts] : []));
      // A backend class the probe does not patch would count nothing, and every planned fault would wait forever.
      check(ticks.length > 0 && ticks.at(-1)!['train-step'] > 0, `the probe counted ${ticks.at(-1)?.['train-step'] ?? 0} training steps in the reference run (is its backend patched in probe.ts?)`);
      const checkpointLabels = await tab.page.evaluate(() => (window.lab.active?.log ?? []).filter((l) => l.startsWith('saved after ')).map((l) => l.slice('saved after '.length)));
      return { run, file: await exportRunFile(tab.page, runId), checkpointLabels, ticks };
    } finally {
      await context.close();
    }
  }
}

// --- driving a tab's LabClient ------------------------------------------------------------

/** Start a run in the tab's LabClient; resolves with its id once it is stored and running. */
export function startRun(tab: Tab, spec: RunSpec): Promise<string> {
  return tab.page.evaluate(
    (s) => window.lab.start({ experiment: 'self-improve', preset: null, seed: s.seed, overrides: s.overrides, backend: s.backend }),
    spec,
  );
}

/** Wait until the tab's LabClient shows run `runId` with one of `statuses`; returns the status. */
export async function waitForStatus(page: Page, runId: string, statuses: string[], timeout = 120_000): Promise<string> {
  const handle = await page.waitForFunction(
    ({ id, want }) => {
      const a = window.lab.active;
      return a?.runId === id && want.includes(a.status) ? a.status : null;
    },
    { id: runId, want: statuses },
    { timeout, polling: 50 },
  );
  return (await handle.jsonValue()) as string;
}

/** The run's row in the tab's run history, read again. */
export async function listed(page: Page, runId: string) {
  return page.evaluate(async (id) => {
    await window.lab.refreshRuns();
    return window.lab.runs.find((r) => r.id === id) ?? null;
  }, runId);
}

/** Poll the tab's history until the run shows `status` (the lock of a dead worker takes a moment to go). */
export async function waitListed(page: Page, runId: string, status: string, timeout = 30_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const item = await listed(page, runId);
    if (item?.status === status) return item;
    check(Date.now() < until, `the run history shows the run as '${item?.status ?? 'missing'}', not '${status}', after ${timeout / 1000} s`);
    await page.waitForTimeout(200);
  }
}

/** Resume a run in the tab's LabClient and wait for it to end; returns the stored run. */
export async function resumeToEnd(tab: Tab, runId: string, backend?: 'cpu' | 'webgpu'): Promise<StoredRunView> {
  await tab.page.evaluate(({ id, b }) => window.lab.resume(id, b ? { backend: b } : {}), { id: runId, b: backend });
  const status = await waitForStatus(tab.page, runId, ['done', 'failed', 'interrupted'], 300_000);
  check(status === 'done', `the resumed run ended ${status}: ${await tab.page.evaluate(() => window.lab.active?.error ?? '')}`);
  return readRun(tab.page, runId);
}

// --- bystanders ----------------------------------------------------------------------------

/**
 * Another run in the browser while a fault happens: imported from the
 * reference's file, it must come through every fault whole.
 */
export interface Bystander {
  runId: string;
  records: number;
  samples: number;
}

export async function addBystander(tab: Tab, runFile: string): Promise<Bystander> {
  return tab.page.evaluate(async (text) => {
    const { runId } = await window.lab.importRun(new File([text], 'bystander.jsonl'));
    const opened = await window.lab.open(runId);
    return { runId, records: opened.records.length, samples: opened.samples.length };
  }, runFile);
}

/** Count what a fault took from a bystander run. */
export async function checkBystander(page: Page, b: Bystander, losses: Losses): Promise<void> {
  const now = await page.evaluate(async (id) => {
    const store = await window.persist.LabStore.open();
    try {
      const opened = await store.openRun(id).catch(() => null);
      return opened ? { records: opened.records.length, samples: opened.samples.length, problems: opened.problems.length } : null;
    } finally {
      store.close();
    }
  }, b.runId);
  if (now === null) return lose(losses, { runs: 1, records: b.records }, 'the bystander run is gone');
  if (now.records < b.records) lose(losses, { records: b.records - now.records }, `the bystander run lost ${b.records - now.records} records`);
  if (now.samples < b.samples) lose(losses, { records: b.samples - now.samples }, `the bystander run lost ${b.samples - now.samples} sample sets`);
}

/** A run.jsonl of the reference run (exported from a page that has it). */
export async function exportRunFile(page: Page, runId: string): Promise<string> {
  return page.evaluate(async (id) => (await window.lab.exportRun(id)).text(), runId);
}

/** A fresh context and persistence tab, closed after `body`. */
export async function withTab<T>(lab: Lab, body: (tab: Tab, context: BrowserContext) => Promise<T>, quotaBytes?: number): Promise<T> {
  const context = await hookedContext(lab, quotaBytes);
  try {
    return await body(await openTab(lab, context), context);
  } finally {
    await context.close();
  }
}
