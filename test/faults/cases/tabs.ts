/**
 * Faults between tabs: a second tab opening a running run (it watches, it
 * does not run it twice), two tabs pressing Resume at once (one wins), and
 * a newer version of the lab upgrading the database while an old tab holds
 * it open — one that steps aside mid-run, and one that does not.
 */
import { type Case, type RunSpec, TINY, addBystander, check, checkBystander, checkIdentical, checkIntact, faultPoint, readRun, resumeToEnd, startRun, waitForStatus, waitListed, withTab } from '../suite';
import { openTab } from '../tab';

/** Iterations of 60 steps (a probe's 'slow' stretches them further where a case needs time). */
const LONG: RunSpec = { overrides: { ...TINY, stepsPerIteration: 60 }, seed: 13, backend: 'cpu' };

const secondTabWatches: Case = {
  name: 'a second tab opens a running run',
  async run({ lab, ledger, references }) {
    const ref = await references.get(LONG);
    await ledger.fault('a second tab opens the lab while a run runs', (losses) => withTab(lab, async (tab, context) => {
      // Each training step 100 ms longer: the run lasts long enough for the second tab to open and watch it.
      await tab.arm({ at: 'train-step', n: 1, action: 'slow', ms: 100 });
      const runId = await startRun(tab, LONG);
      await tab.page.waitForFunction(() => window.lab.active?.log.some((l) => l.startsWith('saved after')), undefined, { timeout: 60_000 });
      const second = await context.newPage();
      await second.goto(`${lab.url}/#/lab/self-improve`);
      const status = () => second.locator('[data-testid="run-status"]').getAttribute('data-status');
      await second.waitForFunction((id) => document.querySelector('.run-panel .which')?.textContent?.includes(id.slice(0, 8)), runId, { timeout: 60_000 });
      check((await status()) === 'running', `the second tab shows the run as '${await status()}'`);
      const text = (await second.getByTestId('run-status').textContent()) ?? '';
      check(/Running in another tab or window: watched here/.test(text), `the second tab says '${text.trim()}'`);
      check((await second.getByRole('button', { name: /^Resume/ }).count()) === 0, 'the second tab offers to resume a running run');

      // A third tab asks to resume it anyway: refused, and it watches instead.
      const third = await openTab(lab, context);
      const refused = await third.page.evaluate((id) => window.lab.resume(id).then(() => 'resumed', (e: Error) => e.message), runId);
      check(/running in another tab/.test(refused), `resuming a running run elsewhere gave '${refused}'`);
      const watched = await third.page.evaluate(() => window.lab.active?.status);
      check(watched === 'running', `the refused tab shows the run as '${watched}'`);

      await waitForStatus(tab.page, runId, ['done'], 120_000);
      // The second tab follows it to the end without a reload.
      await second.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') === 'done', undefined, { timeout: 30_000 });
      await third.page.waitForFunction(() => window.lab.active?.status === 'done', undefined, { timeout: 30_000 });
      const runners = await second.evaluate(() => window.faults.spawned.filter((s) => s.name === 'lab-runner').length);
      check(runners === 0, `the watching tab started ${runners} runner(s)`);
      const stored = await readRun(tab.page, runId);
      checkIntact(stored, ref, losses);
      checkIdentical(stored, ref);
      return 'watched as "running in another tab" (no runner started there), a resume from a third tab refused and turned into watching, both follow it to "done"; ran once → identical';
    }));
  },
};

const twoResumes: Case = {
  name: 'two tabs press Resume at once',
  async run({ lab, ledger, rng, references }) {
    const ref = await references.get(LONG);
    const point = faultPoint(rng, ref, 'train-step');
    await ledger.fault(`two tabs press Resume at once (after a stop at train step ${point.n} or the first after a checkpoint)`, (losses) => withTab(lab, async (a, context) => {
      await a.arm({ at: 'train-step', action: 'hold', ...point });
      const runId = await startRun(a, LONG);
      await a.injected();
      await a.terminateRunner();
      await waitForStatus(a.page, runId, ['interrupted'], 30_000);
      const b = await openTab(lab, context);
      await waitListed(b.page, runId, 'interrupted');
      const press = (page: typeof a.page) => page.evaluate((id) => window.lab.resume(id).then(() => 'won', (e: Error) => e.message), runId);
      const [ra, rb] = await Promise.all([press(a.page), press(b.page)]);
      const won = [ra, rb].filter((x) => x === 'won').length;
      check(won === 1, `${won} tabs resumed the run (${ra} | ${rb})`);
      const loser = ra === 'won' ? b : a;
      const winner = ra === 'won' ? a : b;
      check(/running in another tab/.test(ra === 'won' ? rb : ra), `the other tab was told '${ra === 'won' ? rb : ra}'`);
      await waitForStatus(winner.page, runId, ['done'], 120_000);
      await loser.page.waitForFunction(() => window.lab.active?.status === 'done', undefined, { timeout: 30_000 });
      const stored = await readRun(a.page, runId);
      checkIntact(stored, ref, losses);
      checkIdentical(stored, ref);
      return `tab ${ra === 'won' ? 'A' : 'B'} won, the other was told "${(ra === 'won' ? rb : ra).split(':')[0]}" and watched it to "done"; ran once → identical`;
    }));
  },
};

const upgradeMidRun: Case = {
  name: 'a newer version upgrades the database while an old tab runs',
  async run({ lab, ledger, references }) {
    const ref = await references.get(LONG);
    await ledger.fault('IndexedDB upgraded by a newer version in another tab, mid-run', (losses) => withTab(lab, async (old, context) => {
      const bystander = await addBystander(old, ref.file);
      await old.arm({ at: 'train-step', n: 1, action: 'slow', ms: 30 });
      const runId = await startRun(old, LONG);
      await old.page.waitForFunction(() => (window.lab.active?.log.filter((l) => l.startsWith('saved after')).length ?? 0) >= 2, undefined, { timeout: 60_000 });
      const newer = await openTab(lab, context, '/test/browser/pages/persist.html?newer-db');
      await newer.page.evaluate(() => window.lab.refreshRuns());
      await waitForStatus(old.page, runId, ['failed'], 60_000);
      const { error, cause } = await old.page.evaluate(() => ({ error: window.lab.active?.error ?? '', cause: window.lab.active?.cause }));
      check(cause === 'database-closed' && /newer version of Symbiosis Lab was opened in another tab/.test(error), `the old tab said: ${cause} '${error}'`);
      const version = await newer.page.evaluate(async () => (await indexedDB.databases()).find((d) => d.name === 'symbiosis-lab')?.version);
      await waitListed(newer.page, runId, 'interrupted');
      const intact = checkIntact(await readRun(newer.page, runId), ref, losses);
      await checkBystander(newer.page, bystander, losses);
      checkIdentical(await resumeToEnd(newer, runId), ref);
      const oldSees = await old.page.evaluate(async () => {
        await window.lab.refreshRuns();
        return window.lab.error ?? '';
      });
      check(/newer version of Symbiosis Lab.*reload the page/.test(oldSees), `the old tab, asked again, says '${oldSees}'`);
      return `database now version ${version}; the old tab stopped its run with "${error.split(':')[0]}"; ${intact}; resumed in the new tab → identical; the old tab now asks to reload`;
    }));
  },
};

const upgradeBlocked: Case = {
  name: 'an old tab that does not step aside blocks the upgrade',
  async run({ lab, ledger, references }) {
    const ref = await references.get(LONG);
    await ledger.fault('IndexedDB upgrade blocked by an old tab that keeps it open', (losses) => withTab(lab, async (tab, context) => {
      const bystander = await addBystander(tab, ref.file);
      // An old page that holds the database and ignores requests to close it.
      const holder = await context.newPage();
      await holder.goto(`${lab.url}/test/browser/pages/persist.html`);
      await holder.evaluate(() => new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('symbiosis-lab');
        open.onsuccess = () => {
          (window as unknown as { held: IDBDatabase }).held = open.result;
          resolve();
        };
        open.onerror = () => reject(open.error);
      }));
      const newer = await openTab(lab, context, '/test/browser/pages/persist.html?newer-db');
      const t0 = Date.now();
      const said = await newer.page.evaluate(async () => {
        await window.lab.refreshRuns();
        return window.lab.error ?? '';
      });
      const waited = (Date.now() - t0) / 1000;
      check(/another tab holds the saved runs open.*close or reload/.test(said), `the blocked tab said '${said}'`);
      await holder.evaluate(() => (window as unknown as { held: IDBDatabase }).held.close());
      const runs = await newer.page.evaluate(async () => {
        window.lab.error = null;
        await window.lab.refreshRuns();
        return { error: window.lab.error, ids: window.lab.runs.map((r) => r.id) };
      });
      check(runs.error === null && runs.ids.includes(bystander.runId), `after the old tab let go: ${runs.error ?? runs.ids.join(', ')}`);
      await checkBystander(newer.page, bystander, losses);
      return `told after ${waited.toFixed(1)} s: "${said.replace(/^.*?run history: /, '').split(':')[0]}"; once the old tab let go, the upgrade went through and every run is there`;
    }));
  },
};

export const TAB_CASES: Case[] = [secondTabWatches, twoResumes, upgradeMidRun, upgradeBlocked];
