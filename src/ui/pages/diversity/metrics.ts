/**
 * The diversity run's metric stream, read for the page. Everything is
 * computed from the per-replicate rows as they arrive (so a run in progress
 * shows what it has), read defensively (an imported file may hold nulls or
 * another version's fields): a value that was not computed is null, never 0.
 */
import { meanCI95 } from '../../../core/metrics/stats';
import type { MetricRecord } from '../../../experiments/types';
import { valueOrNull } from '../../format';

export const EVAL_FIELDS = ['quality', 'passAtK', 'distinct2', 'selfBleu', 'editDiversity', 'embeddingDiversity', 'distinctCorrect', 'novelCorrect'] as const;
export type EvalField = (typeof EVAL_FIELDS)[number];

export const EVAL_LABELS: Record<EvalField, string> = {
  quality: 'quality (pass@1)',
  passAtK: 'pass@k',
  distinct2: 'Distinct-2',
  selfBleu: 'Self-BLEU',
  editDiversity: 'edit diversity D',
  embeddingDiversity: 'embedding diversity',
  distinctCorrect: 'distinct correct answers',
  novelCorrect: 'novel correct answers',
};

/** Mean and 95% CI over replicates (Student t); bounds null with fewer than two values. */
export interface Interval {
  mean: number | null;
  low: number | null;
  high: number | null;
  n: number;
}

function intervalOf(values: readonly (number | null)[]): Interval {
  const xs = values.filter((x): x is number => x !== null);
  const ci = meanCI95(xs);
  const f = (x: number) => (Number.isFinite(x) ? x : null);
  return { mean: f(ci.mean), low: f(ci.low), high: f(ci.high), n: ci.n };
}

export interface EvalRow {
  /** null: the base model every λ starts from. */
  lambda: number | null;
  replicate: number;
  split: string;
  k: number | null;
  values: Record<EvalField, number | null>;
  lossShare: number | null;
  gradShare: number | null;
  notes: Record<string, string>;
}

export function evalRows(records: readonly MetricRecord[]): EvalRow[] {
  return records.flatMap((r) => {
    if (r.kind !== 'evaluation' || typeof r.split !== 'string' || typeof r.replicate !== 'number') return [];
    const lambda = r.model === 'base' ? null : valueOrNull(r.lambda);
    if (r.model !== 'base' && lambda === null) return [];
    const notes = r.notes && typeof r.notes === 'object' ? Object.fromEntries(Object.entries(r.notes as Record<string, unknown>).map(([k, v]) => [k, String(v)])) : {};
    return [{
      lambda, replicate: r.replicate, split: r.split, k: valueOrNull(r.k),
      values: Object.fromEntries(EVAL_FIELDS.map((f) => [f, valueOrNull(r[f])])) as Record<EvalField, number | null>,
      lossShare: valueOrNull(r.lossShare), gradShare: valueOrNull(r.gradShare), notes,
    }];
  });
}

/** The λ values seen, ascending (the base model not included). */
export function lambdasOf(rows: readonly EvalRow[]): number[] {
  return [...new Set(rows.flatMap((r) => (r.lambda === null ? [] : [r.lambda])))].sort((a, b) => a - b);
}

export interface LambdaSummary {
  lambda: number | null;
  replicates: number;
  metrics: Record<EvalField, Interval>;
  /** This λ minus λ = 0, paired by replicate; null for λ = 0, the base model, or without λ = 0. */
  change: Record<EvalField, Interval> | null;
  lossShare: Interval;
  gradShare: Interval;
}

/** Per λ (and the base model) on one split: mean and CI over replicates, and the paired change against λ = 0. */
export function summarize(rows: readonly EvalRow[], split: string): LambdaSummary[] {
  const onSplit = rows.filter((r) => r.split === split);
  const zero = onSplit.filter((r) => r.lambda === 0);
  const keys: (number | null)[] = [null, ...lambdasOf(onSplit)];
  return keys.flatMap((lambda) => {
    const own = onSplit.filter((r) => r.lambda === lambda);
    if (own.length === 0) return [];
    const metrics = Object.fromEntries(EVAL_FIELDS.map((f) => [f, intervalOf(own.map((r) => r.values[f]))])) as Record<EvalField, Interval>;
    let change: Record<EvalField, Interval> | null = null;
    if (lambda !== null && lambda !== 0 && zero.length > 0) {
      change = Object.fromEntries(EVAL_FIELDS.map((f) => [f, intervalOf(own.map((r) => {
        const z = zero.find((x) => x.replicate === r.replicate)?.values[f] ?? null;
        const x = r.values[f];
        return x === null || z === null ? null : x - z;
      }))])) as Record<EvalField, Interval>;
    }
    return [{
      lambda, replicates: own.length, metrics, change,
      lossShare: intervalOf(own.map((r) => r.lossShare)), gradShare: intervalOf(own.map((r) => r.gradShare)),
    }];
  });
}

export interface DiagnosticPoint {
  lambda: number;
  step: number;
  /** Means over the replicates measured at this step. */
  lossShare: number | null;
  gradShare: number | null;
  diversityScore: number | null;
  qualityLoss: number | null;
}

/** The loss and gradient shares per λ and step, averaged over replicates. */
export function diagnosticSeries(records: readonly MetricRecord[]): Map<number, DiagnosticPoint[]> {
  const groups = new Map<string, { lambda: number; step: number; rows: MetricRecord[] }>();
  for (const r of records) {
    const lambda = valueOrNull(r.lambda);
    const step = valueOrNull(r.step);
    if (r.kind !== 'diagnostic' || lambda === null || step === null) continue;
    const key = `${lambda}/${step}`;
    const g = groups.get(key) ?? { lambda, step, rows: [] };
    g.rows.push(r);
    groups.set(key, g);
  }
  const out = new Map<number, DiagnosticPoint[]>();
  for (const g of groups.values()) {
    const mean = (f: string) => intervalOf(g.rows.map((r) => valueOrNull(r[f]))).mean;
    const list = out.get(g.lambda) ?? [];
    list.push({ lambda: g.lambda, step: g.step, lossShare: mean('lossShare'), gradShare: mean('gradShare'), diversityScore: mean('diversityScore'), qualityLoss: mean('qualityLoss') });
    out.set(g.lambda, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.step - b.step);
  return out;
}

/** One evaluation prompt with one model's samples, for the viewer. */
export interface ViewerPrompt {
  lambda: number | null;
  replicate: number;
  split: string;
  prompt: string;
  target: number | null;
  samples: { text: string; correct: boolean; reason: string | null }[];
}

export function viewerPrompts(samples: readonly { iteration: number; rows: unknown[] }[]): ViewerPrompt[] {
  return samples.flatMap((s) => s.rows.flatMap((raw) => {
    const r = raw as Record<string, unknown>;
    if (!Array.isArray(r.samples) || typeof r.prompt !== 'string') return [];
    return [{
      lambda: r.model === 'base' ? null : valueOrNull(r.lambda),
      replicate: typeof r.replicate === 'number' ? r.replicate : 0,
      split: String(r.split ?? ''),
      prompt: r.prompt,
      target: valueOrNull(r.target),
      samples: (r.samples as Record<string, unknown>[]).map((y) => ({
        text: String(y.text ?? ''), correct: y.correct === true, reason: typeof y.reason === 'string' ? y.reason : null,
      })),
    }];
  }));
}
