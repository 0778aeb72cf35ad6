/** How the symbiosis page draws a run: its typed run and one colour per method. */
import type { SampleRow, SymbiosisRecord } from '../../../experiments/symbiosis/records';
import type { SymbiosisMethod } from '../../../experiments/symbiosis/report';
import type { ActiveRun } from '../../lab-client.svelte';

export type SymbiosisRun = ActiveRun<SymbiosisRecord, SampleRow>;

/** One colour per method, on every chart and table of the page. */
export const METHOD_COLORS: Record<SymbiosisMethod, string> = {
  real: '#059669', static: '#d97706', recursive: '#dc2626', symbiosis: '#2563eb', 'symbiosis-balanced': '#7c3aed',
};
