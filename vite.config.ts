import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';
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

/** Assets keep Vite's hashed names, but onnxruntime-web's runtime goes where ortWasm() serves it. */
function ortAssetName(asset: { names: string[] }): string {
  const name = asset.names[0] ?? '';
  return name === ORT_WASM.mjs || name === ORT_WASM.wasm ? `${ORT_WASM.dir}[name][extname]` : 'assets/[name]-[hash][extname]';
}

export default defineConfig({
  plugins: [svelte(), ortWasm()],
  worker: { format: 'es', rolldownOptions: { output: { assetFileNames: ortAssetName } } },
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  build: { target: 'es2022' },
});
