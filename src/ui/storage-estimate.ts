/**
 * Roughly how much browser storage a run will take, to warn before starting
 * one that would not fit (docs/security.md, "storage"). What a run keeps:
 * its last KEPT_CHECKPOINTS checkpoints, each the parameters of up to two
 * models (a lab's second model: the self-improve base copy, the symbiosis
 * Generator) as float32, plus metric records and sample sets, which for the
 * presets stay under a megabyte. The vocabulary and context length are not
 * config fields (they follow from the data), so generous values stand in.
 */
import { countParams } from '../core/gpt/config';
import type { StorageUsage } from '../../workers/lab.worker';
import { formatBytes } from './format';

/** Checkpoints a run keeps (src/persist's KEEP_CHECKPOINTS; the UI may not import persist). */
const KEPT_CHECKPOINTS = 2;
/** Models a checkpoint may hold. */
const MODELS_PER_CHECKPOINT = 2;
/** Stand-ins for the vocabulary and context, which the config does not fix. */
const VOCAB = 512;
const CONTEXT = 256;
/** Metric records, sample sets and the run record. */
const RECORDS_BYTES = 1 << 20;

const intOr = (x: unknown, fallback: number) => (typeof x === 'number' && Number.isSafeInteger(x) && x > 0 ? x : fallback);

/** An upper-end estimate of a run's stored bytes from its config's model shape (dModel, nLayers). */
export function estimateRunBytes(config: Record<string, unknown>): number {
  const dModel = intOr(config.dModel, 64);
  const nLayers = intOr(config.nLayers, 2);
  const params = countParams({ vocabSize: VOCAB, contextLength: CONTEXT, dModel, nLayers, nHeads: 1 });
  return KEPT_CHECKPOINTS * MODELS_PER_CHECKPOINT * 4 * params + RECORDS_BYTES;
}

/** A warning when a run of `config` would likely not fit in what the browser still allows; null when it fits or nothing is known. */
export function storageWarning(config: Record<string, unknown> | null, storage: StorageUsage | null): string | null {
  if (config === null || storage === null || storage.quotaBytes === null) return null;
  const need = estimateRunBytes(config);
  const free = Math.max(0, storage.quotaBytes - storage.usedBytes);
  if (need <= free) return null;
  return `This run may need about ${formatBytes(need)} of browser storage, and only ${formatBytes(free)} is free: ` +
    'delete runs you no longer need (Run history) first, or it may stop when a save is refused (what it saved before is kept).';
}
