/** The collapse lab: its spec (spec.ts) and its run (run.ts), for workers and the headless runner. */
import type { Experiment } from '../types';
import type { fields } from './config';
import type { CollapsePosition, CollapseRecord, ViewerRow } from './records';
import type { CollapseSummary } from './report';
import { run } from './run';
import { collapseSpec } from './spec';

export const collapse: Experiment<typeof fields, CollapseRecord, CollapsePosition, ViewerRow, CollapseSummary> = { ...collapseSpec, run };
