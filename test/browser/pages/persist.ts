/**
 * The persistence page: exposes src/persist on `window.persist` (the test
 * drives the store directly here; only tests may import it outside
 * workers), a LabClient on `window.lab` (which runs experiments in the real
 * lab worker), and small helpers, then sets `window.persistReady`.
 */
import * as persist from '../../../src/persist';
import { resolveConfig } from '../../../src/experiments/config';
import { type SelfImproveConfig, selfImprove } from '../../../src/experiments/self-improve';
import { LabClient } from '../../../src/ui/lab-client.svelte';

/** Rows in each store of a database (to check that a failed write wrote nothing). */
async function countRows(store: persist.LabStore): Promise<Record<string, number>> {
  const db = store.db;
  return {
    runs: await db.count('runs'),
    metrics: await db.count('metrics'),
    samples: await db.count('samples'),
    checkpoints: await db.count('checkpoints'),
  };
}

/** A complete self-improve config (import validates configs against the experiment's schema). */
function selfImproveConfig(overrides: Partial<SelfImproveConfig> = {}): SelfImproveConfig {
  return resolveConfig(selfImprove, null, overrides);
}

const helpers = { countRows, selfImproveConfig };

declare global {
  interface Window {
    persist: typeof persist;
    persistHelpers: typeof helpers;
    lab: LabClient;
    persistReady: boolean;
  }
}

window.persist = persist;
window.persistHelpers = helpers;
window.lab = new LabClient();
window.persistReady = true;
