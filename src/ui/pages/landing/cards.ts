/**
 * The landing page's lab cards, as data: per lab, what it asks, and how its
 * precomputed run (public/runs, src/ui/precomputed.ts) becomes the card's
 * chart and key numbers — through the lab's own report functions, so a card
 * shows exactly what the lab page shows for that run. A new lab is one more
 * entry here (and one more run in bin/precompute.ts).
 */
import { type CollapseMode, COLLAPSE_MODES } from '../../../experiments/collapse/config';
import type { CollapseRecord } from '../../../experiments/collapse/records';
import { generationsByMode, reference } from '../../../experiments/collapse/report';
import type { DiversityRecord, PromptRow } from '../../../experiments/diversity/records';
import type { ProgramsRecord } from '../../../experiments/programs/records';
import { iterations as programIterations, splitSeries } from '../../../experiments/programs/report';
import { preferredSplit, sweepTable } from '../../../experiments/diversity/report';
import type { SelfImproveRecord } from '../../../experiments/self-improve/records';
import { iterations } from '../../../experiments/self-improve/report';
import type { SymbiosisRecord } from '../../../experiments/symbiosis/records';
import { SYMBIOSIS_METHODS, chanceOf, methodLabel, methodSeries } from '../../../experiments/symbiosis/report';
import type { Component } from 'svelte';
import type { Band, LineSeries, ReferenceLine } from '../../components/LineChart.svelte';
import { formatNumber, formatPercent, valueOrNull } from '../../format';
import type { ActiveRun } from '../../lab-client.svelte';
import { valuesAt } from '../../series';
import { MODE_COLORS } from '../collapse/view';
import { sweepConfigOf } from '../diversity/view';
import { METHOD_COLORS } from '../symbiosis/view';
import GaussianDemo from './GaussianDemo.svelte';

/** What LineChart draws on a card. */
export interface CardChart {
  title: string;
  x: number[];
  series: LineSeries[];
  bands?: Band[];
  xLabel: string;
  yLabel: string;
  yRange?: [number, number] | null;
  logY?: boolean;
  integerX?: boolean;
  reference?: ReferenceLine | null;
}

/** One key number of the run: "validation accuracy" "40.0% → 47.5%". */
export interface CardNumber {
  label: string;
  value: string;
}

export interface LabCard {
  /** The experiment's name: its route is #/lab/<experiment>, its precomputed run is listed under it. */
  experiment: string;
  title: string;
  /** What the lab does, in a sentence or two. */
  blurb: string;
  /** The question the chart answers, above it. */
  question: string;
  chart(run: ActiveRun): CardChart;
  numbers(run: ActiveRun): CardNumber[];
  /** Something more to show on the card, below the run (e.g. an instant demo). */
  extra?: Component;
}

/**
 * A run's records as its experiment's record type. Sound for the runs cards
 * get: parseRunFile checked every record against the experiment's schema.
 */
const recordsOf = <R>(run: ActiveRun): R[] => run.records as R[];
const typed = <R, Row>(run: ActiveRun): ActiveRun<R, Row> => run as ActiveRun<R, Row>;

const arrow = (a: string, b: string) => `${a} → ${b}`;

const selfImprove: LabCard = {
  experiment: 'self-improve',
  title: 'Self-improvement on puzzles',
  blurb: 'A tiny model attempts puzzles a program can check, keeps the answers that are right, trains on them, and tries again.',
  question: 'Does training on its own verified answers make it better?',
  chart(run) {
    const points = iterations(recordsOf<SelfImproveRecord>(run));
    const split = (s: 'train' | 'val' | 'test', label: string, color: string): LineSeries => ({
      label, color, values: points.map((p) => valueOrNull(p.accuracy[s])),
    });
    return {
      title: 'Accuracy on the puzzles, per iteration', x: points.map((p) => p.iteration), xLabel: 'iteration', yLabel: 'accuracy', yRange: [0, 1], integerX: true,
      series: [split('train', 'train', '#2563eb'), split('val', 'validation', '#dc2626'), split('test', 'test', '#059669')],
    };
  },
  numbers(run) {
    const points = iterations(recordsOf<SelfImproveRecord>(run));
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last) return [];
    return [
      { label: `validation accuracy, iteration ${first.iteration} → ${last.iteration}`, value: arrow(formatPercent(first.accuracy.val), formatPercent(last.accuracy.val)) },
      { label: `test accuracy, iteration ${first.iteration} → ${last.iteration}`, value: arrow(formatPercent(first.accuracy.test), formatPercent(last.accuracy.test)) },
    ];
  },
};

/** Generations 0…the last any line reaches: the x axis of a per-generation chart. */
function generationAxis(lines: Iterable<readonly { generation: number }[]>): number[] {
  const last = Math.max(0, ...[...lines].flat().map((p) => p.generation));
  return Array.from({ length: last + 1 }, (_, g) => g);
}

const collapse: LabCard = {
  experiment: 'collapse',
  title: 'Model collapse',
  blurb: 'Each generation of a small language model learns from text the previous one wrote. The real language is a grammar, so every sentence can be checked.',
  question: 'Learn only from the last model (replace), or keep everything (accumulate): which drifts away from the real language?',
  chart(run) {
    const records = recordsOf<CollapseRecord>(run);
    const byMode = generationsByMode(records);
    const modes = COLLAPSE_MODES.filter((m) => byMode.has(m));
    const x = generationAxis(byMode.values());
    const truth = reference(records)?.truePerplexity ?? null;
    return {
      title: 'Perplexity on real held-out sentences, per generation (log scale)', x, xLabel: 'generation', yLabel: 'perplexity', logY: true, integerX: true,
      series: modes.map((m) => {
        const list = byMode.get(m) ?? [];
        return { label: m, color: MODE_COLORS[m], values: valuesAt(x, list.map((p) => p.generation), list.map((p) => valueOrNull(p.perplexity))) };
      }),
      reference: valueOrNull(truth) === null ? null : { value: truth!, label: 'the grammar itself' },
    };
  },
  numbers(run) {
    const byMode = generationsByMode(recordsOf<CollapseRecord>(run));
    const shown: CollapseMode[] = ['replace', 'accumulate'];
    return shown.flatMap((m) => {
      const list = byMode.get(m);
      const first = list?.[0];
      const last = list?.at(-1);
      if (!first || !last) return [];
      return [{ label: `perplexity under ${m}, generation ${first.generation} → ${last.generation}`, value: arrow(formatNumber(first.perplexity, 3), formatNumber(last.perplexity, 3)) }];
    });
  },
  extra: GaussianDemo,
};

/** The diversity sweep's models on the split the lab page shows first, λ ascending (the base model apart). */
function diversitySweep(run: ActiveRun) {
  const c = sweepConfigOf(typed<DiversityRecord, PromptRow>(run));
  if (!c) return null;
  const models = sweepTable(recordsOf<DiversityRecord>(run), c);
  const split = preferredSplit(c.evalSplits);
  return { split, base: models.find((a) => a.lambda === null) ?? null, tuned: models.filter((a) => a.lambda !== null) };
}

const diversity: LabCard = {
  experiment: 'diversity',
  title: 'Diversity-aware fine-tuning',
  blurb: 'A model learns to write expressions equal to a number (many answers are right), with a bonus for varied answers weighted by λ.',
  question: 'Does a larger λ buy more varied answers, and what does it cost in correct ones?',
  chart(run) {
    const s = diversitySweep(run);
    const tuned = s?.tuned ?? [];
    const at = tuned.map((a) => a.splits[s!.split]?.metrics.distinct2 ?? null);
    const base = s?.base?.splits[s.split]?.metrics.distinct2.mean ?? null;
    return {
      title: 'Distinct-2 of the answers (mean, 95% band), against λ', x: tuned.map((a) => a.lambda!), xLabel: 'λ (weight of diversity)', yLabel: 'Distinct-2',
      series: [{ label: 'mean over replicates', color: '#2563eb', values: at.map((x) => x?.mean ?? null) }],
      bands: at.some((x) => (x?.low ?? null) !== null)
        ? [{ label: '95% interval', color: '#2563eb', low: at.map((x) => x?.low ?? null), high: at.map((x) => x?.high ?? null) }]
        : [],
      reference: base === null ? null : { value: base, label: 'base model' },
    };
  },
  numbers(run) {
    const s = diversitySweep(run);
    const first = s?.tuned[0];
    const last = s?.tuned.at(-1);
    if (!s || !first || !last || first === last) return [];
    const metric = (a: typeof first, m: 'distinct2' | 'quality') => a.splits[s.split]?.metrics[m].mean ?? null;
    return [
      { label: `Distinct-2, λ = ${first.lambda} → ${last.lambda}`, value: arrow(formatNumber(metric(first, 'distinct2'), 3), formatNumber(metric(last, 'distinct2'), 3)) },
      { label: `correct answers, λ = ${first.lambda} → ${last.lambda}`, value: arrow(formatPercent(metric(first, 'quality')), formatPercent(metric(last, 'quality'))) },
    ];
  },
};

const symbiosis: LabCard = {
  experiment: 'symbiosis',
  title: 'Generative Data Symbiosis',
  blurb: 'A Generator writes labelled news for a Student classifier and is steered by the Student\'s hard examples; beside it, real data, a static synthetic set, and a Student learning from its own output.',
  question: 'Which training data makes the best classifier, and is any of it better than chance?',
  chart(run) {
    const records = recordsOf<SymbiosisRecord>(run);
    const series = methodSeries(records);
    const methods = SYMBIOSIS_METHODS.filter((m) => series.has(m));
    const x = generationAxis(series.values());
    const chance = chanceOf(records);
    return {
      title: 'Test accuracy of the Student, per generation', x, xLabel: 'generation', yLabel: 'test accuracy', yRange: [0, 1], integerX: true,
      series: methods.map((m) => {
        const list = series.get(m) ?? [];
        return { label: methodLabel(m), color: METHOD_COLORS[m], values: valuesAt(x, list.map((p) => p.generation), list.map((p) => p.accuracy)) };
      }),
      reference: chance === null ? null : { value: chance, label: 'chance' },
    };
  },
  numbers(run) {
    const series = methodSeries(recordsOf<SymbiosisRecord>(run));
    return SYMBIOSIS_METHODS.flatMap((m) => {
      const last = series.get(m)?.at(-1);
      return last ? [{ label: `${methodLabel(m)}, generation ${last.generation}`, value: formatPercent(last.accuracy) }] : [];
    });
  },
};

const programs: LabCard = {
  experiment: 'programs',
  title: 'Programs for puzzles',
  blurb: 'A coder writes a program for each puzzle; a sandbox runs it on the puzzle and on hidden inputs, and the programs that generalised teach the next iteration.',
  question: 'Does a program that solves its puzzle also solve the inputs it never saw?',
  chart(run) {
    const points = programIterations(recordsOf<ProgramsRecord>(run));
    return {
      title: 'Validation pass@1 per iteration: on the puzzle, and on its hidden inputs too', x: points.map((p) => p.iteration),
      xLabel: 'iteration', yLabel: 'pass@1', yRange: [0, 1], integerX: true,
      series: [
        { label: 'on the puzzle', color: '#dc2626', values: splitSeries(points, 'val', 'passAt1') },
        { label: 'generalising', color: '#dc2626', dash: [2, 3], values: splitSeries(points, 'val', 'generalAt1') },
      ],
    };
  },
  numbers(run) {
    const points = programIterations(recordsOf<ProgramsRecord>(run));
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last) return [];
    const span = `iteration ${first.iteration} → ${last.iteration}`;
    return [
      { label: `validation pass@1, ${span}`, value: arrow(formatPercent(first.scores.val.passAt1), formatPercent(last.scores.val.passAt1)) },
      { label: `passing validation programs that also pass every hidden input, iteration ${last.iteration}`, value: formatPercent(last.scores.val.generalShare) },
    ];
  },
};

/** The cards in the order the landing page shows them. */
export const LAB_CARDS: readonly LabCard[] = [collapse, selfImprove, diversity, symbiosis, programs];
