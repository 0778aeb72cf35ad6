/** The diversity lab: its spec (spec.ts) and its run (run.ts), for workers and the headless runner. */
import type { Experiment } from '../types';
import type { fields } from './config';
import type { DiversityPosition, DiversityRecord, PromptRow } from './records';
import type { DiversitySummary } from './report';
import { run } from './run';
import { diversitySpec } from './spec';

export const diversity: Experiment<typeof fields, DiversityRecord, DiversityPosition, PromptRow, DiversitySummary> = {
  ...diversitySpec,
  run,
};
