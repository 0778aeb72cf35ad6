/** The programs lab: its spec (spec.ts) and its run (run.ts), for workers and the headless runner. */
import type { Experiment } from '../types';
import type { fields } from './config';
import type { AttemptRow, ProgramsPosition, ProgramsRecord } from './records';
import type { ProgramsSummary } from './report';
import { run } from './run';
import { programsSpec } from './spec';

export const programs: Experiment<typeof fields, ProgramsRecord, ProgramsPosition, AttemptRow, ProgramsSummary> = {
  ...programsSpec,
  run,
};
