/**
 * The collapse lab as the page knows it: its settings, presets and the
 * schemas of what a run stores (no training loop: run.ts has that).
 */
import type { ExperimentSpec } from '../types';
import { config, fields, presets } from './config';
import { type CollapsePosition, type CollapseRecord, type ViewerRow, position, record, viewerRow } from './records';
import { tableRow } from './report';

export const collapseSpec = {
  name: 'collapse',
  title: 'Model collapse and diversity',
  description: 'Train on your own outputs, generation after generation: replace, accumulate or mix in real data, and watch the tails.',
  config,
  presets,
  record,
  position,
  sampleRow: viewerRow,
  describe: (at) => (at.mode === null ? `generation ${at.generation}` : `generation ${at.generation}, ${at.mode}`),
  tableRow,
} satisfies ExperimentSpec<typeof fields, CollapseRecord, CollapsePosition, ViewerRow>;
