/**
 * A pretrained model's download cut at 50%: a tiny but real model
 * (test/support/tiny-onnx.ts, made here from a seed) is served by a local
 * HTTP server; the page asks for it at /tiny-models/lm/ (a Playwright route
 * hands those requests to the server, and refuses every other origin). Its
 * ONNX file's body stops half-way and the connection drops. The load must
 * fail naming the model, leave no cache entry for the cut file (or only a
 * whole one), and the next load, with the server well again, must give the
 * same greedy answers as a load that was never cut, from a cache entry of
 * the file's full size.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { tinyLmFiles } from '../../support/tiny-onnx';
import { type Case, type CaseContext, check } from '../suite';

const ONNX = 'onnx/model_q4.onnx';
const PROMPTS = [[{ role: 'user', content: 'Write the news.' }], [{ role: 'user', content: 'science' }]];

interface ModelServer {
  url: string;
  /** Cut the next `times` requests for `file` at half their body. */
  cut(file: string, times: number): void;
  requests: { file: string; cut: boolean }[];
  close(): Promise<void>;
}

async function startModelServer(files: Record<string, Uint8Array | string>): Promise<ModelServer> {
  const cuts = new Map<string, number>();
  const requests: ModelServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const file = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/tiny-models\/lm\//, '');
    const body = files[file];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    const cut = (cuts.get(file) ?? 0) > 0;
    requests.push({ file, cut });
    res.writeHead(200, { 'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'Content-Length': String(bytes.length) });
    if (!cut) {
      res.end(bytes);
      return;
    }
    cuts.set(file, cuts.get(file)! - 1);
    res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: (file, times) => void cuts.set(file, times),
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A context whose /tiny-models/ requests go to the model server, and nothing else leaves the machine. */
async function modelContext(ctx: CaseContext, server: ModelServer): Promise<{ context: BrowserContext; page: Page }> {
  const origin = new URL(ctx.lab.url).origin;
  const context = await ctx.lab.browser.newContext();
  await context.route((u) => u.origin !== origin, (route) => route.abort('internetdisconnected'));
  await context.route(`${origin}/tiny-models/**`, (route) => route.continue({ url: `${server.url}${new URL(route.request().url()).pathname}` }));
  const page = await context.newPage();
  await page.goto(`${ctx.lab.url}/test/browser/pages/pretrained.html`);
  await page.waitForFunction(() => window.pretrainedReady === true);
  return { context, page };
}

/** Load the model in a fresh generator worker and answer the prompts greedily; or the load's error. */
async function loadAndAnswer(page: Page): Promise<{ answers: string | null; error: string | null }> {
  return page.evaluate(async (prompts) => {
    const { worker, api } = window.pretrained.startWorker();
    try {
      await api.load({ model: '/tiny-models/lm', device: 'wasm' });
      const r = await api.generate(prompts as never, { maxNewTokens: 12, temperature: 0 });
      return { answers: JSON.stringify(r.generations.map((g) => g.tokens)), error: null };
    } catch (e) {
      return { answers: null, error: (e as Error).message };
    } finally {
      worker.terminate();
    }
  }, PROMPTS);
}

/** Sizes of the cache entries (Cache API, every cache) whose URL ends with `file`. */
async function cachedSizes(page: Page, file: string): Promise<number[]> {
  return page.evaluate(async (f) => {
    const sizes: number[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        if (request.url.endsWith(f)) sizes.push((await (await cache.match(request))!.arrayBuffer()).byteLength);
      }
    }
    return sizes;
  }, file);
}

const modelCut: Case = {
  name: 'a pretrained model download cut at 50%',
  async run(ctx) {
    const model = tinyLmFiles({ seed: 1 });
    const fullSize = (model.files[ONNX] as Uint8Array).byteLength;
    const server = await startModelServer(model.files);
    try {
      // The answers of a load that was never cut.
      const clean = await (async () => {
        const { context, page } = await modelContext(ctx, server);
        try {
          const r = await loadAndAnswer(page);
          check(r.answers !== null, `the clean load failed: ${r.error}`);
          return r.answers;
        } finally {
          await context.close();
        }
      })();
      await ctx.ledger.fault(`a pretrained model's ${ONNX} (${fullSize} bytes) cut at 50%, then loaded again`, async () => {
        const { context, page } = await modelContext(ctx, server);
        try {
          server.cut(ONNX, 1);
          const cut = await loadAndAnswer(page);
          check(server.requests.some((r) => r.cut), 'no download was cut');
          const afterCut = await cachedSizes(page, ONNX);
          check(afterCut.every((n) => n === fullSize), `after the cut the cache holds ${ONNX} with ${afterCut.join(', ')} bytes (whole: ${fullSize})`);
          let first: string;
          if (cut.answers === null) {
            check(/tiny-models\/lm/.test(cut.error ?? ''), `the failed load does not name the model: '${cut.error}'`);
            first = `the load failed: "${(cut.error ?? '').slice(0, 120)}"`;
          } else {
            check(cut.answers === clean, 'a load over a cut download gave other answers');
            first = 'the load went on (retried)';
          }
          const again = await loadAndAnswer(page);
          check(again.answers === clean, `the next load gave ${again.error ?? 'other answers than a clean load'}`);
          const sizes = await cachedSizes(page, ONNX);
          check(sizes.length > 0 && sizes.every((n) => n === fullSize), `the cache holds ${ONNX} with ${sizes.join(', ') || 'no'} bytes (whole: ${fullSize})`);
          return `${first}; no partial cache entry (${afterCut.length ? 'a whole one' : 'none'}); loaded again → the same greedy answers, cached whole (${fullSize} bytes)`;
        } finally {
          await context.close();
        }
      });
    } finally {
      await server.close();
    }
  },
};

export const MODEL_CASES: Case[] = [modelCut];
