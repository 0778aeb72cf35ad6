/**
 * A browser tab for the fault suite: the persistence test page (src/persist
 * on `window.persist`, a LabClient on `window.lab`) or the app itself, with
 * the spawn hook installed before any page script: every lab worker the page
 * starts is the probe worker (probe/probe.worker.ts), the next runner gets
 * the armed fault plan, and the page keeps the Worker objects so the suite
 * can terminate one, as the browser does when it kills a worker.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { Lab } from '../browser/harness';
import type { FaultPlan, ProbeMessage } from './probe/probe';

declare global {
  interface Window {
    faults: {
      /** Every worker this page started, in order, by the name it was given. */
      spawned: { name: string; worker: Worker }[];
      /** The plan the next lab runner gets (then cleared). */
      plan: FaultPlan | null;
      /** Lab runners started so far (the n-th reports as 'lab-runner#n'). */
      runners: number;
      /** What the probes posted. */
      messages: ProbeMessage[];
      terminate(name: string): number;
    };
  }
}

export interface Tab {
  page: Page;
  errors: string[];
  context: BrowserContext;
  /** The plan the next run (or resume) started in this tab gets. */
  arm(plan: FaultPlan): Promise<void>;
  /** Wait until a probe in this tab (or any tab of the origin) reports the injected fault. */
  injected(timeout?: number): Promise<Extract<ProbeMessage, { type: 'injected' }>>;
  /** Terminate this tab's lab runner workers (the browser killing them); how many there were. */
  terminateRunner(): Promise<number>;
  close(): Promise<void>;
}

const SPAWN_HOOK = new URL('./pages/spawn-hook.js', import.meta.url).pathname;

/** A context with the spawn hook on every page (one origin's storage per context). */
export async function hookedContext(lab: Lab, quotaBytes?: number): Promise<BrowserContext> {
  const context = await lab.browser.newContext();
  await context.addInitScript({ path: SPAWN_HOOK });
  if (quotaBytes !== undefined) {
    // Chromium applies a quota override only before the origin's first IndexedDB use in the context, and
    // only while the DevTools session that set it lives: its page stays open (blank) until the context closes.
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(lab.url).origin, quotaSize: quotaBytes });
  }
  return context;
}

/** Set (or lift) the origin's quota in a context, through the DevTools protocol. */
export async function setQuota(lab: Lab, page: Page, quotaBytes: number | null): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(lab.url).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', quotaBytes === null ? { origin } : { origin, quotaSize: quotaBytes });
  await cdp.detach();
}

/** Open the persistence page (or `path`) in `context` and wait until it is ready. */
export async function openTab(lab: Lab, context: BrowserContext, path = '/test/browser/pages/persist.html'): Promise<Tab> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${lab.url}${path}`);
  if (path.includes('persist.html')) await page.waitForFunction(() => window.persistReady === true);
  return {
    page,
    errors,
    context,
    async arm(plan) {
      await page.evaluate((p) => {
        window.faults.plan = p;
      }, plan);
    },
    async injected(timeout = 120_000) {
      const handle = await page.waitForFunction(
        () => window.faults.messages.find((m) => m.type === 'injected') ?? null, undefined, { timeout, polling: 20 },
      );
      return (await handle.jsonValue()) as Extract<ProbeMessage, { type: 'injected' }>;
    },
    terminateRunner: () => page.evaluate(() => window.faults.terminate('lab-runner')),
    close: () => page.close(),
  };
}
