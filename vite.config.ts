import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin, transformWithOxc } from 'vite';
import ORT_WASM from './src/pretrained/ort-wasm.json' with { type: 'json' };

/**
 * Cross-origin isolation, so that SharedArrayBuffer exists and the CPU
 * engine can run its kernels on a worker pool (src/core/backends/wasm/pool.ts).
 * `credentialless` rather than `require-corp`: cross-origin loads without
 * CORP headers (the Hugging Face Hub's files) still work, sent without
 * credentials. The built app needs the same two headers from its host:
 * docs/hosting.md.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'credentialless',
};

/**
 * The Content-Security-Policy for the built app (docs/hosting.md, "Content
 * Security Policy"; checked by test/browser/csp.test.ts against the built
 * app): scripts only from the site itself, plus 'wasm-unsafe-eval' so that
 * WebAssembly may compile (the CPU engine emits its modules at run time;
 * onnxruntime-web and QuickJS are Wasm too) without allowing eval of
 * JavaScript; workers from the site and from blob: URLs (the CPU engine's
 * thread pool starts its workers from a Blob); fetches to the site and the
 * Hugging Face Hub (models, the datasets service, their file hosts). WebGPU
 * needs no directive. 'unsafe-inline' styles: Svelte writes style
 * attributes into the markup it renders.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * onnxruntime-web's Wasm runtime (src/pretrained/ort-wasm.json: the
 * "asyncify" build, which the onnxruntime-web bundle in transformers.js's web
 * build uses), served by the app under /ort/ (dev) and emitted there
 * (build), so transformers.js never fetches it from a CDN
 * (src/pretrained/env.ts points it here). A worker bundle that contains
 * onnxruntime-web already emits the .wasm (it is referenced with
 * `new URL(…, import.meta.url)`); ortAssetName puts that copy at the same
 * place, and only what is missing is emitted here.
 */
function ortWasm(): Plugin {
  const resolve = createRequire(import.meta.url).resolve;
  const files = [ORT_WASM.mjs, ORT_WASM.wasm].map((name) => ({ name, path: resolve(`onnxruntime-web/${name}`) }));
  const types: Record<string, string> = { wasm: 'application/wasm', mjs: 'text/javascript' };
  let base = '/';
  return {
    name: 'ort-wasm',
    configResolved(config) {
      base = config.base;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url?.split('?')[0] ?? '';
        const file = files.find((f) => url === `${base}${ORT_WASM.dir}${f.name}`);
        if (!file) return next();
        res.setHeader('Content-Type', types[file.name.split('.').pop()!]!);
        for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v); // Vite adds them in its own middlewares only
        res.end(readFileSync(file.path));
      });
    },
    generateBundle(_options, bundle) {
      for (const f of files) {
        const fileName = `${ORT_WASM.dir}${f.name}`;
        if (!(fileName in bundle)) this.emitFile({ type: 'asset', fileName, source: readFileSync(f.path) });
      }
    },
  };
}

const SERVICE_WORKER_FILE = 'sw.js';
/** A static host's own settings, which it reads and does not serve (docs/hosting.md): never precached (one 404 fails the install). */
const HOST_FILES = ['_headers', '_redirects'];

/** Every file under `dir`, as paths relative to it with forward slashes. */
function filesUnder(dir: string): string[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split(sep).join('/'));
}

/**
 * Builds src/sw/service-worker.ts into `sw.js` beside index.html (`npm run
 * build` only): its types stripped, and BUILD filled in with the files to
 * cache on install — every file of the bundle and of public/, relative to
 * the app's folder, except those under `skip` (onnxruntime-web's 27 MB Wasm,
 * which transformers.js caches itself when a model is first loaded; the ready
 * Generator, cached when first fetched) and the
 * host's settings files (HOST_FILES) — and a
 * version: a hash of all their bytes, so any change makes a new sw.js, which
 * the browser installs in place of the old one.
 */
function serviceWorker(options: { skip: string[] }): Plugin {
  let publicDir = '';
  const source = new URL('./src/sw/service-worker.ts', import.meta.url);
  return {
    name: 'service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    async generateBundle(_options, bundle) {
      // A worker's own bundle (vite builds each worker separately) gets no service worker.
      if (!Object.keys(bundle).includes('index.html')) return;
      const contents = new Map<string, string | Uint8Array>();
      for (const [name, item] of Object.entries(bundle)) contents.set(name, item.type === 'chunk' ? item.code : item.source);
      for (const f of filesUnder(publicDir)) contents.set(f, readFileSync(join(publicDir, f)));
      const files = [...contents.keys()]
        .filter((f) => f !== 'index.html' && !HOST_FILES.includes(f) && !options.skip.some((s) => f.startsWith(s)))
        .sort();
      const hash = createHash('sha256');
      for (const f of [...contents.keys()].sort()) hash.update(f).update('\0').update(contents.get(f)!).update('\0');
      const build = { version: hash.digest('hex').slice(0, 16), files };
      const { code } = await transformWithOxc(readFileSync(source, 'utf8'), relative(process.cwd(), source.pathname), { lang: 'ts' });
      const script = code.replace(/^export \{\};?\s*$/m, '').replace('__SW_BUILD__', JSON.stringify(build));
      if (script.includes('__SW_BUILD__') || /^\s*(import|export)\b/m.test(script)) {
        throw new Error(`service worker: ${SERVICE_WORKER_FILE} must be a classic script with BUILD filled in; check src/sw/service-worker.ts`);
      }
      this.emitFile({ type: 'asset', fileName: SERVICE_WORKER_FILE, source: script });
    },
  };
}

/** Assets keep Vite's hashed names, but onnxruntime-web's runtime goes where ortWasm() serves it. */
function ortAssetName(asset: { names: string[] }): string {
  const name = asset.names[0] ?? '';
  return name === ORT_WASM.mjs || name === ORT_WASM.wasm ? `${ORT_WASM.dir}[name][extname]` : 'assets/[name]-[hash][extname]';
}

export default defineConfig({
  // Not precached: the 27 MB ort Wasm (transformers.js caches it) and the 1.7 MB ready Generator (few visitors add it; the
  // service worker caches it when it is first fetched).
  plugins: [svelte(), ortWasm(), serviceWorker({ skip: [ORT_WASM.dir, 'generators/'] })],
  worker: { format: 'es', rolldownOptions: { output: { assetFileNames: ortAssetName } } },
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { headers: { ...ISOLATION_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY } },
  // Relative: the built app works from any folder of any static host (README: Publishing).
  base: './',
  build: { target: 'es2022' },
});
