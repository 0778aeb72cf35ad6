/**
 * The symbiosis lab as the page knows it: its settings, presets and the
 * schemas of what a run stores (no training loop: run.ts has that).
 */
import type { ExperimentSpec } from '../types';
import { config, fields, presets } from './config';
import { type SampleRow, type SymbiosisPosition, type SymbiosisRecord, position, record, sampleRow } from './records';
import { describePosition, tableRow } from './report';

export const symbiosisSpec = {
  name: 'symbiosis',
  title: 'Generative data symbiosis',
  description: "A Generator writes labelled data, a Student learns from it, the Student's hard examples steer the Generator — beside real data, a static synthetic set and recursive self-training, with intervals and a chance line.",
  config,
  presets,
  record,
  position,
  sampleRow,
  describe: describePosition,
  tableRow,
} satisfies ExperimentSpec<typeof fields, SymbiosisRecord, SymbiosisPosition, SampleRow>;
