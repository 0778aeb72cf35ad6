/**
 * The built app (`vite build`, what `npm run build` makes) hosted the way a
 * static host would: a plain file server that sends no special headers (no
 * cross-origin isolation), with the app under a sub-path
 * (http://127.0.0.1:PORT/some/path/). In real headless Chromium:
 *   - every page (start, engine, each lab), each opened afresh by its link,
 *     loads with no failed same-origin request, no answer ≥ 400, nothing
 *     asked for outside /some/path/, and no console error; the precomputed
 *     runs show; onnxruntime-web's Wasm is served from some/path/ort/;
 *   - after that first visit the service worker has cached the app: with the
 *     server gone, the start page, the engine page and every lab page still
 *     open by their links, with their precomputed runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import ORT_WASM from '../../src/pretrained/ort-wasm.json' with { type: 'json' };
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './harness';

const PREFIX = '/some/path/';
const LABS = ['self-improve', 'collapse', 'diversity', 'symbiosis', 'programs'];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.jsonl': 'application/x-ndjson', '.wasm': 'application/wasm',
};

let outDir: string;
let server: Server;
let origin: string;
let browser: Browser;
/** Every path the server was asked for. */
const served: string[] = [];

/** A file server for outDir under PREFIX; 404 for anything else. */
function serve(req: IncomingMessage, res: ServerResponse): void {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  served.push(path);
  if (path === PREFIX.slice(0, -1)) {
    res.writeHead(301, { Location: PREFIX }).end();
    return;
  }
  const rel = path.startsWith(PREFIX) ? normalize(path.slice(PREFIX.length) || 'index.html') : null;
  const file = rel && !rel.startsWith('..') ? join(outDir, rel) : null;
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'lab-dist-'));
  // As `npm run build` builds: vitest sets NODE_ENV=test, with which Vite would make a development build
  // (import.meta.env.PROD false: no service worker registered).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: new URL('../../vite.config.ts', import.meta.url).pathname,
      build: { outDir, emptyOutDir: true },
      logLevel: 'error',
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** Wait until `route` shows what it should: the cards' charts, the device panel, or a lab's precomputed run. */
async function pageShown(page: Page, route: string): Promise<void> {
  if (route === '' || route === '#/') {
    for (const experiment of LABS) {
      const chart = page.locator(`[data-testid="lab-card"][data-lab="${experiment}"] figure.line-chart`);
      await chart.waitFor({ timeout: 60_000 });
      expect(Number(await chart.getAttribute('data-points')), `${experiment} card`).toBeGreaterThan(0);
    }
  } else if (route === '#/engine') {
    await page.getByTestId('webgpu-status').waitFor({ timeout: 60_000 });
  } else {
    await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('precomputed-note').waitFor({ timeout: 60_000 });
  }
}

const ROUTES = ['', '#/', '#/engine', ...LABS.map((l) => `#/lab/${l}`)];

test('the built app under a sub-path: every page loads with no failed request, then works offline', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const failures: string[] = [];
  const errors: string[] = [];
  const sameOrigin = (url: string) => url.startsWith(origin);
  context.on('requestfailed', (r) => {
    if (sameOrigin(r.url())) failures.push(`${r.url()}: ${r.failure()?.errorText ?? 'failed'}`);
  });
  context.on('response', (r) => {
    if (sameOrigin(r.url()) && r.status() >= 400) failures.push(`${r.url()}: HTTP ${r.status()}`);
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });

  for (const route of ROUTES) {
    await page.goto('about:blank'); // each route a fresh load, as a shared link opens it
    await page.goto(`${origin}${PREFIX}${route}`);
    await pageShown(page, route);
    await page.waitForLoadState('networkidle');
  }
  expect(failures).toEqual([]);
  expect(errors).toEqual([]);
  expect(served.filter((p) => !p.startsWith(PREFIX)), 'asked for outside the sub-path').toEqual([]);
  expect(served).toContain(`${PREFIX}runs/index.json`);
  // No COOP/COEP from this host: the page is not cross-origin isolated, and works all the same.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
  // onnxruntime-web's runtime is where the app looks for it (src/pretrained/env.ts: ortWasmBase).
  const ort = await page.evaluate(async (files) => Promise.all(files.map(async (f) => (await fetch(f, { method: 'HEAD' })).status)),
    [ORT_WASM.mjs, ORT_WASM.wasm].map((f) => `${origin}${PREFIX}${ORT_WASM.dir}${f}`));
  expect(ort).toEqual([200, 200]);

  // --- offline: the service worker took over on the first visit; now the host is gone --------
  const controlled = await page.evaluate(async () => {
    // Bounded: a service worker that never registers (a development build) must fail here, not time the test out.
    const ready = await Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 30_000))]);
    if (!ready) return 'no service worker registered';
    for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 100));
    return navigator.serviceWorker.controller?.scriptURL ?? null;
  });
  expect(controlled).toBe(`${origin}${PREFIX}sw.js`);
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const app = names.find((n) => n.startsWith('symbiosis-lab-app-'));
    return app ? (await (await caches.open(app)).keys()).map((r) => new URL(r.url).pathname) : [];
  });
  expect(cached).toContain(`${PREFIX}runs/collapse.jsonl`);
  expect(cached.some((p) => p.includes('/ort/')), 'the 27 MB ort Wasm is not precached').toBe(false);
  expect(cached.some((p) => p.includes('/generators/')), 'the ready Generator is not precached').toBe(false);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  served.length = 0;

  for (const route of ROUTES) {
    await page.goto('about:blank');
    await page.goto(`${origin}${PREFIX}${route}`);
    await pageShown(page, route);
  }
  expect(served, 'nothing reached the (closed) server').toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});
