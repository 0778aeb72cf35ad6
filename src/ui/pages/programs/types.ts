/** A programs run as the page's components read it: typed records and attempt rows. */
import type { AttemptRow, ProgramsRecord } from '../../../experiments/programs/records';
import type { ActiveRun } from '../../lab-client.svelte';

export type ProgramsRun = ActiveRun<ProgramsRecord, AttemptRow>;
