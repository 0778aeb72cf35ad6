/** The symbiosis lab: its spec (spec.ts) and its run (run.ts), for workers and the headless runner. */
import type { Experiment } from '../types';
import type { fields } from './config';
import type { SampleRow, SymbiosisPosition, SymbiosisRecord } from './records';
import type { SymbiosisSummary } from './report';
import { run } from './run';
import { symbiosisSpec } from './spec';

export const symbiosis: Experiment<typeof fields, SymbiosisRecord, SymbiosisPosition, SampleRow, SymbiosisSummary> = {
  ...symbiosisSpec,
  run,
};
