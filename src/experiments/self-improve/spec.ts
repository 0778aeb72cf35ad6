/**
 * The self-improvement lab as the page knows it: its settings, presets and
 * the schemas of what a run stores (no training loop: run.ts has that).
 */
import { SPLIT_NAMES } from '../../core/puzzles';
import type { ExperimentSpec } from '../types';
import { config, fields, presets } from './config';
import { type AttemptRow, type SelfImprovePosition, type SelfImproveRecord, attemptRow, position, record } from './records';
import { tableRow } from './report';
import { labSplits } from './splits';

export const selfImproveSpec = {
  name: 'self-improve',
  title: 'Self-improvement on procedural puzzles',
  description: 'Attempt, verify, fine-tune on what was right, repeat — and watch for grokking.',
  config,
  presets,
  record,
  position,
  sampleRow: attemptRow,
  describe: (at) => (at.iteration === 0 ? 'the warm start' : `iteration ${at.iteration}`),
  datasets: (c, seed) => {
    const s = labSplits(c, seed);
    return {
      'puzzles.jsonl': SPLIT_NAMES.flatMap((split) => s[split].map((p) => ({
        split, family: p.family, difficulty: p.difficulty, prompt: p.prompt, answer: p.answer,
      }))),
    };
  },
  tableRow,
} satisfies ExperimentSpec<typeof fields, SelfImproveRecord, SelfImprovePosition, AttemptRow>;
