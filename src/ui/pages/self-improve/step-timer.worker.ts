/**
 * Times a few training steps of a run's model off the page's thread
 * (core/backends/measure: each backend here, cached per device and shape),
 * so the page can say how long a long run would take before it starts.
 */
import * as Comlink from 'comlink';
import { measureBackends } from '../../../core/backends/measure';
import { timingCache } from '../../../core/backends/timing-cache';
import type { GptConfig } from '../../../core/gpt/config';

const api = {
  /** Median ms per training step at batch (B, T) on the CPU and, where present, WebGPU. */
  measure: (config: GptConfig, B: number, T: number) =>
    measureBackends(config, { B, T }, { cache: timingCache, steps: 2, budgetMs: 30_000 }),
};

export type StepTimerApi = typeof api;

Comlink.expose(api);
