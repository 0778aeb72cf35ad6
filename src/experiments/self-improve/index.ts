/** The self-improvement lab: its spec (spec.ts) and its run (run.ts), for workers and the headless runner. */
import type { Experiment } from '../types';
import type { fields } from './config';
import type { AttemptRow, SelfImprovePosition, SelfImproveRecord } from './records';
import type { SelfImproveSummary } from './report';
import { run } from './run';
import { selfImproveSpec } from './spec';

export const selfImprove: Experiment<typeof fields, SelfImproveRecord, SelfImprovePosition, AttemptRow, SelfImproveSummary> = {
  ...selfImproveSpec,
  run,
};
