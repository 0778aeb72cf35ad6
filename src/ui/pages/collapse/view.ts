/** How the collapse page draws a run: its typed run, one colour per mode, and the per-generation numbers its charts plot. */
import type { CollapseMode } from '../../../experiments/collapse/config';
import type { CollapseRecord, GenerationRecord, ViewerRow } from '../../../experiments/collapse/records';
import type { ActiveRun } from '../../lab-client.svelte';

export type CollapseRun = ActiveRun<CollapseRecord, ViewerRow>;

/** One colour per mode, on every chart of the page. */
export const MODE_COLORS: Record<CollapseMode, string> = {
  replace: '#dc2626', accumulate: '#2563eb', 'real-mix': '#059669', 'accumulate-subsample': '#d97706',
};

/** The per-generation numbers the charts draw (fields of a generation record). */
export type GenerationMetric = {
  [K in keyof GenerationRecord]: GenerationRecord[K] extends number | null ? K : never;
}[keyof GenerationRecord];
