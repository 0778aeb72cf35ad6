/**
 * The one place that configures transformers.js's global `env`: where model
 * files come from (a local folder or URL path, and/or the Hugging Face Hub),
 * the browser's Cache API for downloaded files, and onnxruntime-web's Wasm
 * files, served by the app itself (ort-wasm.json), never by a CDN.
 *
 * `env` is global to the JS realm (one worker, or the Node process): each
 * loader calls `configureTransformers` just before it loads, and loads in one
 * realm happen one after another.
 *
 * Also here: what loading reports (LoadProgress), ModelLoadError, and
 * CancelledError, shared by the generator and the embedder.
 */
import { AutoTokenizer, env, type PreTrainedTokenizer, type ProgressInfo } from '@huggingface/transformers';
// onnxruntime-web's Wasm runtime files, which vite.config.ts serves under `dir`: the "asyncify"
// build, the one the onnxruntime-web bundle inside transformers.js's web build runs.
import ORT_WASM from './ort-wasm.json' with { type: 'json' };
import { messageOf, nextTask } from '../core/tasks';

/** True in Node (the headless runner, unit tests): onnxruntime-node and the file system; else a browser or worker. */
export const IS_NODE = typeof process !== 'undefined' && process.release?.name === 'node';

/** Where a model's files come from. */
export interface ModelSource {
  /**
   * Download files not found locally from the Hugging Face Hub (in the
   * browser, kept in the Cache API for the next visit). Default: true in the
   * browser, false in Node (the headless runner never downloads).
   */
  allowRemote?: boolean;
  /**
   * A folder (Node) or URL path served by the app (browser, e.g. '/models/')
   * that holds model folders named by their Hub id. A model given as a path
   * ('/abs/dir', './dir', '/models/tiny') is read from there directly.
   */
  localModelPath?: string;
  /** Browser only: where the app serves onnxruntime-web's Wasm files; default `${BASE_URL}ort/` on this origin. */
  wasmBaseUrl?: string;
}

/** A model given as a path (not a Hub id like 'Xenova/all-MiniLM-L6-v2'). */
export function isLocalPath(model: string): boolean {
  return model.startsWith('/') || model.startsWith('./') || model.startsWith('../') || /^[A-Za-z]:[\\/]/.test(model);
}

function defaultWasmBaseUrl(): string {
  const base = import.meta.env?.BASE_URL ?? '/';
  return new URL(`${base}${ORT_WASM.dir}`, globalThis.location.origin).href;
}

/** Set transformers.js's `env` for loading `model` from `source`. */
export function configureTransformers(model: string, source: ModelSource): void {
  env.allowRemoteModels = source.allowRemote ?? !IS_NODE;
  // In the browser a local lookup is an HTTP request to the app; make it only where local files are expected.
  env.allowLocalModels = IS_NODE || source.localModelPath !== undefined || isLocalPath(model);
  if (source.localModelPath !== undefined) env.localModelPath = source.localModelPath;
  if (!IS_NODE) {
    env.useBrowserCache = 'caches' in globalThis;
    const base = source.wasmBaseUrl ?? defaultWasmBaseUrl();
    const wasm = env.backends.onnx.wasm;
    if (!wasm) throw new Error('transformers.js has no onnxruntime-web Wasm backend in this environment');
    // Read once, at the first session: later changes have no effect.
    wasm.wasmPaths = { mjs: new URL(ORT_WASM.mjs, base).href, wasm: new URL(ORT_WASM.wasm, base).href };
  }
}

/** Download progress of one file of a model (bytes). */
export interface LoadProgress {
  model: string;
  /** Path inside the model folder, e.g. 'onnx/model_q4f16.onnx'. */
  file: string;
  status: 'start' | 'progress' | 'done';
  loaded: number;
  total: number;
}

/** transformers.js progress callbacks → LoadProgress events (per file: start, progress…, done). */
export function progressReporter(model: string, onProgress: ((p: LoadProgress) => void) | undefined): ((info: ProgressInfo) => void) | undefined {
  if (!onProgress) return undefined;
  const last = new Map<string, { loaded: number; total: number }>();
  return (info) => {
    switch (info.status) {
      case 'initiate':
        last.set(info.file, { loaded: 0, total: 0 });
        onProgress({ model, file: info.file, status: 'start', loaded: 0, total: 0 });
        break;
      case 'progress':
        last.set(info.file, { loaded: info.loaded, total: info.total });
        onProgress({ model, file: info.file, status: 'progress', loaded: info.loaded, total: info.total });
        break;
      case 'done': {
        const bytes = last.get(info.file) ?? { loaded: 0, total: 0 };
        onProgress({ model, file: info.file, status: 'done', ...bytes });
        break;
      }
      default:
        break; // 'download', 'progress_total', 'ready': nothing a per-file view needs
    }
  };
}

/**
 * The model's tokenizer. transformers.js fails on a folder without
 * tokenizer_config.json with "Cannot read properties of undefined", so the
 * error says which files it needed.
 */
export async function loadTokenizer(model: string, progress_callback: ((info: ProgressInfo) => void) | undefined): Promise<PreTrainedTokenizer> {
  try {
    return await AutoTokenizer.from_pretrained(model, { progress_callback });
  } catch (e) {
    throw new Error(`its tokenizer (tokenizer.json, tokenizer_config.json) could not be read: ${messageOf(e)}`, { cause: e });
  }
}

export { nextTask };

/** A model that could not be loaded: which one, and the underlying error's message. */
export class ModelLoadError extends Error {
  constructor(readonly model: string, cause: unknown) {
    super(`could not load model '${model}': ${messageOf(cause)}`, { cause });
    this.name = 'ModelLoadError';
  }
}

/** Work stopped because its AbortSignal fired (or the worker's `cancel` was called). */
export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what} cancelled`);
    this.name = 'CancelledError';
  }
}
