/**
 * The client of `workers/analytic.worker.ts`: the collapse page's instant
 * demos. One worker, started on first use; a newer request supersedes an
 * older one still running (its answer is dropped), and a bad setting comes
 * back as `error`, naming the field.
 */
import * as Comlink from 'comlink';
import type { GaussianCollapseConfig, RegressionCollapseConfig, ZipfCollapseConfig } from '../core/collapse/analytic';
import type { AnalyticWorkerApi, GaussianView, RegressionView, ZipfView } from '../../workers/analytic.worker';

export type { GaussianView, RegressionView, ZipfView };

export type AnalyticDemo =
  | { kind: 'gaussian'; overrides: Partial<GaussianCollapseConfig> }
  | { kind: 'zipf'; overrides: Partial<ZipfCollapseConfig> }
  | { kind: 'regression'; overrides: Partial<RegressionCollapseConfig> };

export type AnalyticResult =
  | { kind: 'gaussian'; view: GaussianView }
  | { kind: 'zipf'; view: ZipfView }
  | { kind: 'regression'; view: RegressionView };

export class AnalyticClient {
  result = $state.raw<AnalyticResult | null>(null);
  error = $state<string | null>(null);
  busy = $state(false);
  #worker: Worker | null = null;
  #remote: Comlink.Remote<AnalyticWorkerApi> | null = null;
  #request = 0;

  #api(): Comlink.Remote<AnalyticWorkerApi> {
    if (!this.#remote) {
      // This URL is not state: it only tells Vite where the worker's entry is.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      this.#worker = new Worker(new URL('../../workers/analytic.worker.ts', import.meta.url), { type: 'module' });
      this.#remote = Comlink.wrap<AnalyticWorkerApi>(this.#worker);
    }
    return this.#remote;
  }

  /** Stop the worker (the page is going away); a later compute() starts a new one. */
  dispose(): void {
    this.#request++; // a pending answer is dropped
    this.#remote?.[Comlink.releaseProxy]();
    this.#worker?.terminate();
    this.#worker = null;
    this.#remote = null;
    this.busy = false;
  }

  /** Compute a demo (both modes) for a seed; the latest request wins. */
  async compute(seed: number, demo: AnalyticDemo): Promise<void> {
    const request = ++this.#request;
    this.busy = true;
    try {
      const api = this.#api();
      let result: AnalyticResult;
      switch (demo.kind) {
        case 'gaussian': result = { kind: 'gaussian', view: await api.gaussian(seed, demo.overrides) }; break;
        case 'zipf': result = { kind: 'zipf', view: await api.zipf(seed, demo.overrides) }; break;
        case 'regression': result = { kind: 'regression', view: await api.regression(seed, demo.overrides) }; break;
        default: throw new Error(demo satisfies never);
      }
      if (request !== this.#request) return;
      this.result = result;
      this.error = null;
    } catch (e) {
      if (request !== this.#request) return;
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (request === this.#request) this.busy = false;
    }
  }
}
