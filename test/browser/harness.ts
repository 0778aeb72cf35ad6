/**
 * Shared plumbing for tests in real headless Chromium.
 *
 * `startLab()` serves the project with Vite's dev server on 127.0.0.1 (a free
 * port), launches Debian's Chromium through playwright-core with WebGPU
 * enabled (a SwiftShader adapter when there is no GPU), and returns a page.
 * Test pages live in `test/browser/pages/` and are served at
 * `/test/browser/pages/<name>.html`; they may import anything under `src/`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll } from 'vitest';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags: WebGPU on any adapter, and no background traffic (this machine has no network). */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Lab {
  server: ViteDevServer;
  browser: Browser;
  /** Base URL of the dev server, e.g. http://127.0.0.1:5173 */
  url: string;
  /** A fresh page; console errors are collected into `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function startLab(): Promise<Lab> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with 'apt-get install -y chromium' (or set CHROMIUM_PATH)`);
  }
  const server = await createServer({
    configFile: new URL('../../vite.config.ts', import.meta.url).pathname,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    logLevel: 'error',
    clearScreen: false,
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite dev server has no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  return {
    server,
    browser,
    url,
    async newPage() {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      return { page, errors };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Start the lab (Vite + Chromium) before this file's tests and close it after
 * them; `.scratch/` exists for screenshots. Returns a getter for the lab.
 */
export function useLab(): () => Lab {
  let lab: Lab | null = null;
  beforeAll(async () => {
    lab = await startLab();
    mkdirSync('.scratch', { recursive: true });
  });
  afterAll(async () => {
    await lab?.close();
  });
  return () => {
    if (!lab) throw new Error('useLab: the lab is not started (call it at the top level of a test file)');
    return lab;
  };
}

/** A new page of `lab` at the given size, opened on `hash` once a lab page's Setup heading shows. */
export async function openLabPage(
  lab: Lab, hash: string, size = { width: 1280, height: 900 },
): Promise<{ page: Page; errors: string[] }> {
  const opened = await lab.newPage();
  await opened.page.setViewportSize(size);
  await opened.page.goto(`${lab.url}/${hash}`);
  await opened.page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
  return opened;
}

/** Unfold a lab page's settings (Adjust: the seed, the backend and the field table's inputs). */
export async function openAdjust(page: Page): Promise<void> {
  await page.locator('[data-testid="adjust"]').evaluate((d) => {
    (d as HTMLDetailsElement).open = true;
  });
}

/** Wait until the run panel shows the viewed run with `status` ('running', 'done', 'interrupted', …). */
export async function waitForRunStatus(page: Page, status: string, timeout: number): Promise<void> {
  await page.waitForFunction(
    (s) => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') === s,
    status,
    { timeout },
  );
}
