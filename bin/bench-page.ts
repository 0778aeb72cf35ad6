/**
 * Opening and closing the benchmark pages (bench/pages/*.html) in the
 * harness's Chromium: shared by `npm run bench -- train|generate|labs`.
 */
import type { Page } from 'playwright-core';

/**
 * Load a bench page and wait until its script is ready. One retry: when
 * Vite (re-)optimizes dependencies — on the first run, or because another
 * dev server shares node_modules/.vite — a page can be left with stale
 * module URLs (the harness runs Vite without HMR, so no reload reaches it).
 */
export async function openBenchPage(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      await page.waitForFunction(() => window.benchReady === true, undefined, { timeout: 60_000 });
      return;
    } catch (e) {
      if (attempt >= 2) {
        throw new Error(`the bench page did not become ready: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
  }
}

/** Close a page whatever state it is in (crashed or killed pages are already gone). */
export async function closeQuietly(page: Page): Promise<void> {
  try {
    await page.close({ runBeforeUnload: false });
  } catch {
    // already gone: nothing to release
  }
}
