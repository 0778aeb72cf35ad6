/**
 * The built app under its Content-Security-Policy (vite.config.ts,
 * CONTENT_SECURITY_POLICY; docs/hosting.md): `vite build` into a temporary
 * folder, served by a small static server with the policy and the
 * cross-origin isolation headers, in real headless Chromium. The front
 * page's demo trains on the CPU (the Wasm engine: runtime-compiled modules,
 * a blob: worker pool) and on WebGPU, every lab page loads its chunk, and
 * the browser reports no violation of the policy anywhere (documents and
 * workers: violations are console errors and `securitypolicyviolation` events).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CONTENT_SECURITY_POLICY, ISOLATION_HEADERS } from '../../vite.config';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './harness';

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
};

let outDir: string;
let server: Server;
let url: string;
let browser: Browser;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'lab-csp-'));
  await build({ configFile: new URL('../../vite.config.ts', import.meta.url).pathname, build: { outDir, emptyOutDir: true }, logLevel: 'error' });
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(outDir, path === '/' ? 'index.html' : path);
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const body = readFileSync(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...ISOLATION_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

test('the built app runs under its Content-Security-Policy: Wasm engine and its worker pool, WebGPU, every lab page', async () => {
  const context = await browser.newContext();
  // No network but this server: a Hub request fails as offline instead of leaving the machine.
  await context.route((u) => u.origin !== url, (route) => route.abort('internetdisconnected'));
  const violations: string[] = [];
  const errors: string[] = [];
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') (/Content.Security.Policy|CSP violation/i.test(m.text()) ? violations : errors).push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${url}/#/engine`); // the device panel and the demo are on the Engine page (#/ is the start page)
  await page.getByRole('heading', { name: 'Engine demo' }).waitFor();
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

  // The policy the page got is the one documented.
  const sent = await page.evaluate(async () => (await fetch('/')).headers.get('content-security-policy'));
  expect(sent).toBe(CONTENT_SECURITY_POLICY);

  const webgpu = ((await page.getByTestId('webgpu-status').textContent({ timeout: 30_000 })) ?? '').startsWith('WebGPU available');
  const train = async (backend: 'CPU' | 'WebGPU') => {
    await page.getByLabel(backend, { exact: true }).check();
    for (const [id, value] of Object.entries({ contextLength: 16, dModel: 16, nLayers: 1, nHeads: 2, batchSize: 4, steps: 4 })) {
      await page.locator(`#${id}`).fill(String(value));
    }
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => /Finished|failed/.test(document.querySelector('[data-testid="run-status"]')?.textContent ?? '')
      || document.querySelector('.run [role="alert"]') !== null, undefined, { timeout: 300_000 });
    expect(await page.locator('.run [role="alert"]').allTextContents()).toEqual([]);
    return { status: (await page.getByTestId('run-status').textContent()) ?? '', backend: (await page.getByTestId('backend-in-use').textContent()) ?? '' };
  };
  const cpu = await train('CPU');
  expect(cpu.status).toContain('Finished 4 steps on CPU');
  // The Wasm engine compiled its modules (wasm-unsafe-eval), on a pool of blob: workers where the page is isolated.
  expect(cpu.backend).toMatch(/WebAssembly/);
  console.log(`CPU under the CSP: ${cpu.backend.trim()}`);
  if (webgpu) {
    const gpu = await train('WebGPU');
    expect(gpu.status).toContain('Finished 4 steps on WebGPU');
    console.log(`WebGPU under the CSP: ${gpu.backend.trim()}`);
  }

  for (const name of ['Self-improvement', 'Collapse', 'Diversity', 'Symbiosis', 'Programs']) {
    await page.getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 60_000 });
  }
  expect(violations).toEqual([]);
  expect(errors.filter((e) => !/internetdisconnected|Failed to load resource|ERR_INTERNET_DISCONNECTED/i.test(e))).toEqual([]);
  await context.close();
});
