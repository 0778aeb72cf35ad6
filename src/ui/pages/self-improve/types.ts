/** A self-improvement run as the page's components read it: typed records and attempt rows. */
import type { AttemptRow, SelfImproveRecord } from '../../../experiments/self-improve/records';
import type { ActiveRun } from '../../lab-client.svelte';

export type SelfImproveRun = ActiveRun<SelfImproveRecord, AttemptRow>;
