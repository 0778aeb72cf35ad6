/**
 * The analytic collapse demos (core/collapse/analytic.ts) off the page's
 * thread: a Zipf run of many seeds takes about a second, which would freeze
 * the sliders. Each call runs both modes (replace and accumulate) on the same
 * key and returns only what the charts draw (bands over seeds, theory), not
 * the per-seed arrays.
 */
import * as Comlink from 'comlink';
import {
  type CollapseMode, type GaussianCollapseConfig, type RegressionCollapseConfig, type SeedBand, type ZipfCollapseConfig,
  gaussianCollapse, regressionCollapse, zipfCollapse,
} from '../src/core/collapse/analytic';
import { keyFromSeed } from '../src/core/rng';

const MODES: readonly CollapseMode[] = ['replace', 'accumulate'];

export interface GaussianView {
  replace: SeedBand;
  accumulate: SeedBand;
  /** E[σ̂²_t] for the chosen estimator under replace. */
  theory: number[];
  truth: number;
}

export interface ZipfView {
  support: Record<CollapseMode, SeedBand>;
  tailMass: Record<CollapseMode, SeedBand>;
  truth: { support: number; tailMass: number };
}

export interface RegressionView {
  replace: SeedBand;
  accumulate: SeedBand;
  theory: number[];
}

const api = {
  gaussian(seed: number, overrides: Partial<GaussianCollapseConfig>): GaussianView {
    const [replace, accumulate] = MODES.map((mode) => gaussianCollapse(keyFromSeed(seed), { ...overrides, mode }));
    return { replace: replace!.varianceBand, accumulate: accumulate!.varianceBand, theory: replace!.theory!, truth: replace!.truth.variance };
  },
  zipf(seed: number, overrides: Partial<ZipfCollapseConfig>): ZipfView {
    const [replace, accumulate] = MODES.map((mode) => zipfCollapse(keyFromSeed(seed), { ...overrides, mode }));
    return {
      support: { replace: replace!.supportBand, accumulate: accumulate!.supportBand },
      tailMass: { replace: replace!.tailMassBand, accumulate: accumulate!.tailMassBand },
      truth: { support: replace!.truth.support, tailMass: replace!.truth.tailMass },
    };
  },
  regression(seed: number, overrides: Partial<RegressionCollapseConfig>): RegressionView {
    const [replace, accumulate] = MODES.map((mode) => regressionCollapse(keyFromSeed(seed), { ...overrides, mode }));
    return { replace: replace!.testErrorBand, accumulate: accumulate!.testErrorBand, theory: replace!.theory! };
  },
};

export type AnalyticWorkerApi = typeof api;

Comlink.expose(api);
