/**
 * The programs lab as the page knows it: its settings, presets and the
 * schemas of what a run stores (no loop: run.ts has that).
 */
import { SPLIT_NAMES, programInput } from '../../core/puzzles';
import type { ExperimentSpec } from '../types';
import { config, fields, presets } from './config';
import { type AttemptRow, type ProgramsPosition, type ProgramsRecord, attemptRow, position, record } from './records';
import { describePosition, tableRow } from './report';
import { programSplits } from './streams';

export const programsSpec = {
  name: 'programs',
  title: 'Programs for puzzles',
  description: 'A model writes a program for each puzzle, a sandbox runs it on the puzzle and on hidden inputs, and what generalised feeds the next iteration.',
  config,
  presets,
  record,
  position,
  sampleRow: attemptRow,
  describe: describePosition,
  datasets: (c, seed) => {
    const s = programSplits(c, seed);
    return {
      'puzzles.jsonl': SPLIT_NAMES.flatMap((split) => s[split].map((p) => ({
        split, family: p.family, difficulty: p.difficulty, prompt: p.prompt, input: programInput(p), answer: p.answer,
      }))),
    };
  },
  tableRow,
} satisfies ExperimentSpec<typeof fields, ProgramsRecord, ProgramsPosition, AttemptRow>;
