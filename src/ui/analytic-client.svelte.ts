/**
 * The client of `workers/analytic.worker.ts`: the collapse page's instant
 * demos. One worker, started on first use; a newer request supersedes an
 * older one still running (its answer is dropped), and a bad setting comes
 * back as `error`, naming the field.
 */
import { messageOf } from '../core/tasks';
import type { GaussianCollapseConfig, RegressionCollapseConfig, ZipfCollapseConfig } from '../core/collapse/analytic';
import type { AnalyticWorkerApi, GaussianView, RegressionView, ZipfView } from '../../workers/analytic.worker';
import { WorkerBridge } from './worker-bridge';

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
  readonly #bridge = new WorkerBridge<AnalyticWorkerApi>(
    // This URL is not state: it only tells Vite where the worker's entry is.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    () => new Worker(new URL('../../workers/analytic.worker.ts', import.meta.url), { type: 'module', name: 'analytic' }),
    (message) => {
      this.error = `the demo worker crashed: ${message}`;
      this.busy = false;
    },
  );
  #request = 0;

  /** Stop the worker (the page is going away); a later compute() starts a new one. */
  dispose(): void {
    this.#request++; // a pending answer is dropped
    this.#bridge.terminate();
    this.busy = false;
  }

  /** Compute a demo (both modes) for a seed; the latest request wins. */
  async compute(seed: number, demo: AnalyticDemo): Promise<void> {
    const request = ++this.#request;
    this.busy = true;
    try {
      const result = await this.#bridge.call(async (api): Promise<AnalyticResult> => {
        switch (demo.kind) {
          case 'gaussian': return { kind: 'gaussian', view: await api.gaussian(seed, demo.overrides) };
          case 'zipf': return { kind: 'zipf', view: await api.zipf(seed, demo.overrides) };
          case 'regression': return { kind: 'regression', view: await api.regression(seed, demo.overrides) };
          default: throw new Error(demo satisfies never);
        }
      });
      if (request !== this.#request) return;
      this.result = result;
      this.error = null;
    } catch (e) {
      if (request !== this.#request) return;
      this.error = messageOf(e);
    } finally {
      if (request === this.#request) this.busy = false;
    }
  }
}
