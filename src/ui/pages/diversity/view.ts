/**
 * How the diversity page reads a run: its typed run, the settings the
 * experiment's report needs to group records (read with the field table's
 * own schemas), one colour per λ, and how a value, its interval and its
 * change against λ = 0 are written. Aggregation stays in
 * experiments/diversity/report.ts.
 */
import * as v from 'valibot';
import { fields } from '../../../experiments/diversity/config';
import type { DiversityRecord, EvalMetric, Interval, PromptRow } from '../../../experiments/diversity/records';
import type { SweepConfig } from '../../../experiments/diversity/report';
import { type Domain, NON_NEGATIVE, SHARE, clipInterval, differenceDomain, formatNumber, formatPercent } from '../../format';
import type { ActiveRun } from '../../lab-client.svelte';

export type DiversityRun = ActiveRun<DiversityRecord, PromptRow>;

const sweepSettings = v.object({
  replicates: fields.replicates.schema, lambdas: fields.lambdas.schema, evalSplits: fields.evalSplits.schema, diagnoseEvery: fields.diagnoseEvery.schema,
});

/** The run's replicates, λ values, splits and diagnosis interval; null when its stored settings are not this lab's. */
export function sweepConfigOf(run: DiversityRun): SweepConfig | null {
  const parsed = v.safeParse(sweepSettings, run.config);
  return parsed.success ? parsed.output : null;
}

const PALETTE = ['#64748b', '#2563eb', '#d97706', '#dc2626', '#7c3aed', '#059669', '#0891b2', '#be185d'];

/** One colour per λ, by its rank in the sweep (at most 8 λ values). */
export function lambdaColor(lambdas: readonly number[], lambda: number): string {
  const rank = [...lambdas].sort((a, b) => a - b).indexOf(lambda);
  return PALETTE[Math.max(0, rank) % PALETTE.length]!;
}

/** A model's name: "base model" for the model every λ starts from. */
export const modelName = (lambda: number | null) => (lambda === null ? 'base model' : `λ = ${lambda}`);

/** Shares of the evaluation samples: shown in percent, their changes in percentage points. */
const PERCENT: ReadonlySet<EvalMetric> = new Set(['quality', 'passAtK']);

/** A metric's label with the run's k ("pass@10"). */
export function metricLabel(m: EvalMetric, labels: Record<EvalMetric, string>, k: number | null): string {
  return m === 'passAtK' && k !== null ? `pass@${k}` : labels[m];
}

/** One value: "42.5%" or "0.731" (a true minus sign: "−0.069"); "—" when not computed. */
export function formatMetric(m: EvalMetric, x: number | null): string {
  return (PERCENT.has(m) ? formatPercent(x) : formatNumber(x, 3)).replace(/^-/, '−');
}

/** A mean and its 95% interval as two pieces of text ("42.5%", "[40.1%, 45.0%]"); the interval null with one replicate; "—" with no mean. */
export interface Shown {
  mean: string;
  interval: string | null;
}

function shown(x: Interval, f: (v: number) => string, unit = ''): Shown {
  if (x.mean === null) return { mean: '—', interval: null };
  return { mean: `${f(x.mean)}${unit}`, interval: x.low === null || x.high === null ? null : `[${f(x.low)}, ${f(x.high)}]` };
}

/**
 * The values each metric can take: shares of samples and the diversity
 * scores (Distinct-2, Self-BLEU, D) in [0, 1], embedding diversity
 * (1 − mean cosine) in [0, 2], answer counts from 0 up. Intervals are shown
 * clipped to these.
 */
export const METRIC_DOMAIN: Record<EvalMetric, Domain> = {
  quality: SHARE, passAtK: SHARE, distinct2: SHARE, selfBleu: SHARE, editDiversity: SHARE,
  embeddingDiversity: [0, 2], distinctCorrect: NON_NEGATIVE, novelCorrect: NON_NEGATIVE,
};

/** A metric over replicates: "42.5%" "[40.1%, 45.0%]", or "0.731" "[0.70, 0.76]" (the interval clipped to the metric's domain). */
export function showMetric(m: EvalMetric, x: Interval): Shown {
  return shown(clipInterval(x, METRIC_DOMAIN[m]), (v) => formatMetric(m, v));
}

const signed = (x: number, s: string) => (x > 0 ? `+${s}` : x < 0 ? `−${s.replace(/^-/, '')}` : s);

/** A change against λ = 0: "+3.2 pt" "[−1.0, +7.4]" (percentage points for shares of samples), or "−0.021" "[−0.05, +0.01]"; null when not computed. */
export function showChange(m: EvalMetric, change: Interval): Shown | null {
  if (change.mean === null) return null;
  const x = clipInterval(change, differenceDomain(METRIC_DOMAIN[m]));
  return PERCENT.has(m) ? shown(x, (d) => signed(d, (100 * d).toFixed(1)), ' pt') : shown(x, (d) => signed(d, formatNumber(d, 2)));
}

/** True when a change's interval excludes 0: a change these replicates can tell from noise. */
export const isClearChange = (x: Interval) => x.low !== null && x.high !== null && (x.low > 0 || x.high < 0);

/** A share of the loss or gradient in percent with its interval; "—" for none (the base model). */
export const showShare = (x: Interval | null | undefined): Shown => (x ? shown(clipInterval(x, SHARE), (v) => formatPercent(v)) : { mean: '—', interval: null });
