/**
 * The diversity lab as the page knows it: its settings, presets and the
 * schemas of what a run stores (no training loop: run.ts has that).
 */
import type { ExperimentSpec } from '../types';
import { config, fields, presets } from './config';
import { type DiversityPosition, type DiversityRecord, type PromptRow, describePosition, position, promptRow, record } from './records';
import { tableRow } from './report';
import { runTargets } from './targets';

export const diversitySpec = {
  name: 'diversity',
  title: 'Diversity-aware fine-tuning',
  description: 'quality_loss − λ·diversity, λ side by side: how much of the signal diversity carries, and what it does to quality and pass@k.',
  config,
  presets,
  record,
  position,
  sampleRow: promptRow,
  describe: describePosition,
  datasets: (c, seed) => {
    const s = runTargets(c, seed);
    return {
      'targets.jsonl': [...s.train, ...s.val, ...s.test].map((t) => ({
        split: t.split, target: t.target, prompt: t.prompt, seeds: t.seeds, flatSolutions: t.flatSolutions,
      })),
    };
  },
  tableRow,
} satisfies ExperimentSpec<typeof fields, DiversityRecord, DiversityPosition, PromptRow>;
