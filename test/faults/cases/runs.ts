/**
 * Faults inside a live run: its worker terminated mid-step, mid-sampling
 * and in the middle of a checkpoint write; the page reloaded during a
 * checkpoint write; the WebGPU device destroyed mid-step.
 */
import {
  type Case, type Reference, type RunSpec, faultPoint, TINY, addBystander, check, checkBystander, checkIdentical, checkIntact, pick, readRun,
  resumeToEnd, startRun, waitForStatus, waitListed, withTab,
} from '../suite';
import type { Trigger } from '../probe/probe';

const CPU: RunSpec = { overrides: TINY, seed: 11, backend: 'cpu' };

function terminated(at: Trigger, what: string): Case {
  return {
    name: `lab worker terminated ${what}`,
    async run({ lab, ledger, rng, references }) {
      const ref = await references.get(CPU);
      const point = at === 'checkpoint-write' ? { n: pick(rng, 2, ref.checkpointLabels.length) } : faultPoint(rng, ref, at);
      const n = point.n;
      await ledger.fault(`lab worker terminated ${what} (${at} ${n}${at === 'checkpoint-write' ? '' : ' or the first after a checkpoint'})`, (losses) => withTab(lab, async (tab) => {
        const bystander = await addBystander(tab, ref.file);
        await tab.arm({ at, action: 'hold', ...point });
        const runId = await startRun(tab, CPU);
        const injected = await tab.injected();
        await tab.terminateRunner();
        // The page notices on its own: the worker's run lock is released, and no 'finished' came.
        await waitForStatus(tab.page, runId, ['interrupted'], 30_000);
        const reported = await tab.page.evaluate(() => window.lab.active?.error ?? '');
        check(/stopped without finishing/.test(reported), `the run was not reported with its cause: '${reported}'`);
        await waitListed(tab.page, runId, 'interrupted');
        const after = await readRun(tab.page, runId);
        const intact = checkIntact(after, ref, losses);
        if (at === 'checkpoint-write') {
          // The checkpoint being written when the worker died is not there at all: all or nothing.
          check(after.checkpoint?.label === ref.checkpointLabels[n - 2], `after a write cut in checkpoint ${n}, the last kept is '${after.checkpoint?.label}'`);
        }
        await checkBystander(tab.page, bystander, losses);
        checkIdentical(await resumeToEnd(tab, runId), ref);
        await checkBystander(tab.page, bystander, losses);
        check(tab.errors.length === 0, `page errors: ${tab.errors.join('; ')}`);
        return `held in ${injected.detail} (${at} ${injected.n}), terminated; reported "${reported.split(';')[0]}"; ${intact}; resumed → identical`;
      }));
    },
  };
}

const reloadDuringCheckpoint: Case = {
  name: 'page reloaded during a checkpoint write',
  async run({ lab, ledger, rng, references }) {
    const ref = await references.get(CPU);
    const n = pick(rng, 2, ref.checkpointLabels.length);
    await ledger.fault(`page reloaded during checkpoint write ${n}`, (losses) => withTab(lab, async (tab) => {
      const bystander = await addBystander(tab, ref.file);
      await tab.arm({ at: 'checkpoint-write', n, action: 'hold' });
      const runId = await startRun(tab, CPU);
      await tab.injected();
      await tab.page.reload();
      await tab.page.waitForFunction(() => window.persistReady === true);
      const item = await waitListed(tab.page, runId, 'interrupted');
      check(item.resumable, 'the reloaded run is not offered to resume');
      const after = await readRun(tab.page, runId);
      const intact = checkIntact(after, ref, losses);
      check(after.checkpoint?.label === ref.checkpointLabels[n - 2], `after a reload in checkpoint write ${n}, the last kept is '${after.checkpoint?.label}'`);
      await checkBystander(tab.page, bystander, losses);
      checkIdentical(await resumeToEnd(tab, runId), ref);
      return `checkpoint ${n} (${ref.checkpointLabels[n - 1]}) not written at all; listed interrupted; ${intact}; resumed → identical`;
    }));
  },
};

const GPU: RunSpec = { overrides: { ...TINY, iterations: 2 }, seed: 12, backend: 'webgpu' };

/**
 * The reference for a run that lost its GPU after `label`: the same run on
 * WebGPU, stopped right after that checkpoint (its next checkpoint write is
 * held and the worker terminated), then continued on the CPU.
 */
async function switchedReference(lab: Parameters<Case['run']>[0]['lab'], checkpointIndex: number): Promise<Reference['run']> {
  return withTab(lab, async (tab) => {
    await tab.arm({ at: 'checkpoint-write', n: checkpointIndex + 2, action: 'hold' });
    const runId = await startRun(tab, GPU);
    await tab.injected(300_000);
    await tab.terminateRunner();
    await waitForStatus(tab.page, runId, ['interrupted'], 30_000);
    return resumeToEnd(tab, runId, 'cpu');
  });
}

const deviceLost: Case = {
  name: 'WebGPU device lost mid-step',
  async run({ lab, ledger, rng, references }) {
    const ref = await references.get(GPU);
    const point = faultPoint(rng, ref, 'train-step');
    await ledger.fault(`WebGPU device destroyed mid-step (train step ${point.n} or the first after a checkpoint)`, (losses) => withTab(lab, async (tab, context) => {
      await tab.arm({ at: 'train-step', action: 'destroy-device', ...point });
      const runId = await startRun(tab, GPU);
      await tab.injected(300_000);
      await waitForStatus(tab.page, runId, ['failed'], 120_000);
      const { error, cause } = await tab.page.evaluate(() => ({ error: window.lab.active?.error ?? '', cause: window.lab.active?.cause ?? null }));
      check(cause === 'device-lost' && /GPU device was lost/.test(error), `the run did not report the lost device: cause ${cause}, '${error}'`);
      const item = await waitListed(tab.page, runId, 'failed');
      check(item.resumable && item.cause === 'device-lost', 'the history does not offer to continue the run');
      const after = await readRun(tab.page, runId);
      const intact = checkIntact(after, ref, losses);
      const at = ref.checkpointLabels.indexOf(after.checkpoint!.label);

      // The offer, in the lab page itself: "Continue on the CPU" on the failed run.
      const app = await context.newPage();
      await app.goto(`${lab.url}/#/lab/self-improve`);
      await app.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
      await app.locator(`[data-run-id="${runId}"] button`, { hasText: /^View/ }).click();
      const button = app.getByRole('button', { name: 'Continue on the CPU' });
      await button.waitFor({ timeout: 30_000 });
      await button.click();
      await app.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') === 'done', undefined, { timeout: 300_000 });
      const continued = await readRun(tab.page, runId);
      const reference = await switchedReference(lab, at);
      checkIdentical(continued, { ...ref, run: reference });
      return `reported "${error.split(':')[0]}"; ${intact}; "Continue on the CPU" → identical to a run switched to the CPU at ${after.checkpoint!.label}`;
    }));
  },
};

export const RUN_CASES: Case[] = [
  terminated('train-step', 'mid-step'),
  terminated('decode', 'mid-sampling'),
  terminated('checkpoint-write', 'mid-checkpoint-write'),
  reloadDuringCheckpoint,
  deviceLost,
];
