/**
 * Reading a diversity run: its records by kind, the aggregation over
 * replicates (mean and 95% CI per model and split, the change against λ = 0
 * paired by replicate, the diagnostics), the summary run() returns, the
 * headless runner's table row, and what the page charts (shares per step,
 * the sweep table, the viewer's prompts, the notes on what is missing).
 * Pure, over typed records: the page imports these and works on a run in
 * progress too (a model not yet evaluated has n = 0 and null means).
 */
import * as v from 'valibot';
import { meanCI95 } from '../../core/metrics/stats';
import { TARGET_FAILURES } from '../../core/puzzles/targets';
import type { SplitName } from '../../core/puzzles/splits';
import { realOrNull } from '../schemas';
import type { Position } from '../types';
import type { DiversityConfig, Objective } from './config';
import {
  type AggregateRecord, DIAGNOSTIC_METRICS, type DiagnosticMetric, type DiagnosticRecord, type DiversityRecord,
  EVAL_METRICS, type EvalMetric, type EvaluationRecord, type Interval, type LambdaAggregate, type PromptRow, type SplitAggregate,
  type ValidityTally,
} from './records';

/** What the aggregation reads of a run's config. */
export type SweepConfig = Pick<DiversityConfig, 'replicates' | 'lambdas' | 'evalSplits' | 'diagnoseEvery'>;

export interface DiversitySummary {
  seconds: number;
  objective: Objective;
  evalSplits: SplitName[];
  /** The base model (before any λ), over replicates. */
  base: LambdaAggregate;
  /** Per λ, keyed by String(λ): "0", "0.3", "1", "2". */
  lambdas: Record<string, LambdaAggregate>;
  definitions: Record<string, string>;
}

export const DEFINITIONS: Record<string, string> = {
  diversity: 'D(Y) = mean over unordered pairs of Levenshtein(a, b) / max(|a|, |b|), on the characters of the answers',
  additiveAdvantage: 'A_i = c_i − mean c, c_i = D(Y) − D(Y without y_i); weight λ·A_i/P per completion token',
  polychromicScore: 'f(S) = (share of S that verifies) · D(S) over all k-subsets; A_i = mean f of sets containing i − mean f; weight λ·(k/(n−k))·A_i/P',
  lossShare: '|λ·J̄| / (|L_q| + |λ·J̄|), J̄ = mean over the P prompts of D (or of mean f)',
  gradShare: 'λ‖g_J‖ / (‖g_q‖ + λ‖g_J‖), gradients before clipping',
  halvesAgreement: 'cosine between the surrogate gradients of two disjoint halves of the P prompts (≈ 0: mostly sampling noise)',
  evaluation: 'm samples per prompt; quality = pass@1 (c/m), pass@k unbiased; Distinct-2 (char bigrams), Self-BLEU (char 3-grams, method1), D and embedding diversity within each prompt, averaged over prompts; all samples, correct or not',
  novelCorrect: 'distinct correct answers per prompt that are not in its seed set (on held-out targets: all distinct correct answers)',
  change: 'λ minus λ = 0, paired by replicate; 95% CI over replicates (Student t)',
};

/** The page's names of the evaluation metrics. */
export const EVAL_LABELS: Record<EvalMetric, string> = {
  quality: 'quality (pass@1)',
  passAtK: 'pass@k',
  distinct2: 'Distinct-2',
  selfBleu: 'Self-BLEU',
  editDiversity: 'edit diversity D',
  embeddingDiversity: 'embedding diversity',
  distinctCorrect: 'distinct correct answers',
  novelCorrect: 'novel correct answers',
};

export function evaluations(records: readonly DiversityRecord[]): EvaluationRecord[] {
  return records.filter((r): r is EvaluationRecord => r.kind === 'evaluation');
}

export function diagnostics(records: readonly DiversityRecord[]): DiagnosticRecord[] {
  return records.filter((r): r is DiagnosticRecord => r.kind === 'diagnostic');
}

/** The summary's key of a λ. */
export const lambdaKey = (lambda: number) => String(lambda);

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

/** Mean and 95% CI of the finite values (Student t; bounds null with fewer than two). */
export function interval(values: readonly (number | null)[]): Interval {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x));
  const ci = meanCI95(xs);
  return { mean: finiteOrNull(ci.mean), low: finiteOrNull(ci.low), high: finiteOrNull(ci.high), n: ci.n };
}

export function emptyTally(): ValidityTally {
  return { correct: 0, empty: 0, 'too long': 0, unparsable: 0, 'too short': 0, wrong: 0 };
}

function sumTallies(ts: readonly ValidityTally[]): ValidityTally {
  const out = emptyTally();
  for (const t of ts) for (const k of ['correct', ...TARGET_FAILURES] as const) out[k] += t[k];
  return out;
}

const intervals = <K extends string>(keys: readonly K[], valuesOf: (k: K) => (number | null)[]) =>
  Object.fromEntries(keys.map((k) => [k, interval(valuesOf(k))])) as Record<K, Interval>;

/** One model's evaluations on one split, one per replicate 0…R−1 (null where that replicate has none yet). */
function byReplicate(evals: readonly EvaluationRecord[], c: SweepConfig, lambda: number | null, split: SplitName): (EvaluationRecord | null)[] {
  const model = lambda === null ? 'base' : 'fine-tuned';
  const rows = evals.filter((x) => x.lambda === lambda && x.split === split && x.model === model);
  return [...Array(c.replicates).keys()].map((r) => rows.find((x) => x.replicate === r) ?? null);
}

function splitAggregate(evals: readonly EvaluationRecord[], c: SweepConfig, lambda: number | null, split: SplitName): SplitAggregate {
  const rows = byReplicate(evals, c, lambda, split);
  const zero = lambda !== null && c.lambdas.includes(0) ? byReplicate(evals, c, 0, split) : null;
  const metricOf = (x: EvaluationRecord | null, m: EvalMetric) => (x ? x[m] : null);
  return {
    metrics: intervals(EVAL_METRICS, (m) => rows.map((x) => metricOf(x, m))),
    change: zero
      ? intervals(EVAL_METRICS, (m) => rows.map((x, r) => {
        const a = metricOf(x, m);
        const b = metricOf(zero[r] ?? null, m);
        return a === null || b === null ? null : a - b;
      }))
      : null,
    validity: sumTallies(rows.flatMap((x) => (x ? [x.validity] : []))),
  };
}

/**
 * One model (lambda null: the base) over the replicates, on every evaluated
 * split: mean and CI of each metric, the change against λ = 0 paired by
 * replicate, the diagnostics (per replicate the mean of its finite values,
 * then over replicates), and notes on what is missing.
 */
export function aggregate(records: readonly DiversityRecord[], c: SweepConfig, lambda: number | null): LambdaAggregate {
  const evals = evaluations(records);
  const notes: string[] = [];
  if (c.replicates < 2) notes.push('one replicate: no confidence intervals');
  if (lambda !== null && !c.lambdas.includes(0)) notes.push('λ = 0 is not in the sweep: no changes against it');
  if (lambda !== null && c.diagnoseEvery === 0) notes.push('diagnoseEvery is 0: no loss or gradient shares');
  const embeddingNote = evals.find((x) => x.lambda === lambda && x.embeddingDiversity === null)?.notes.embeddingDiversity;
  if (embeddingNote) notes.push(`embedding diversity ${embeddingNote}`);
  const diag = [...Array(c.replicates).keys()].map((r) => diagnostics(records).filter((d) => d.lambda === lambda && d.replicate === r));
  return {
    lambda,
    replicates: new Set(evals.filter((x) => x.lambda === lambda).map((x) => x.replicate)).size,
    splits: Object.fromEntries(c.evalSplits.map((split) => [split, splitAggregate(evals, c, lambda, split)])),
    diagnostics: lambda === null ? null : intervals(DIAGNOSTIC_METRICS, (m: DiagnosticMetric) => diag.map((ds) => {
      const xs = ds.map((d) => d[m]).filter((x): x is number => x !== null && Number.isFinite(x));
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    })),
    notes,
  };
}

/** The base model and every λ of the sweep (in the config's order), over replicates. */
export function sweep(records: readonly DiversityRecord[], c: SweepConfig): { base: LambdaAggregate; lambdas: Record<string, LambdaAggregate> } {
  const lambdas: Record<string, LambdaAggregate> = {};
  for (const lambda of c.lambdas) lambdas[lambdaKey(lambda)] = aggregate(records, c, lambda);
  return { base: aggregate(records, c, null), lambdas };
}

/** A model's aggregate as one record per evaluated split (the run emits them once the sweep is done). */
export function aggregateRecords(a: LambdaAggregate, c: SweepConfig): AggregateRecord[] {
  const { lambda, replicates, diagnostics: diag, notes } = a;
  return c.evalSplits.map((split) => ({
    kind: 'aggregate', model: lambda === null ? 'base' : 'fine-tuned', lambda, split, replicates, ...a.splits[split]!, diagnostics: diag, notes,
  }));
}

/** What run() returns (summary.json without the runner's own fields). */
export function summarize(records: readonly DiversityRecord[], c: SweepConfig & Pick<DiversityConfig, 'objective'>, seconds: number): DiversitySummary {
  const { base, lambdas } = sweep(records, c);
  return { seconds, objective: c.objective, evalSplits: c.evalSplits, base, lambdas, definitions: DEFINITIONS };
}

// --- for the page ------------------------------------------------------------------------

/** The sweep table: the base model, then each λ ascending, those evaluated so far. */
export function sweepTable(records: readonly DiversityRecord[], c: SweepConfig): LambdaAggregate[] {
  const { base, lambdas } = sweep(records, c);
  return [base, ...Object.values(lambdas).sort((a, b) => a.lambda! - b.lambda!)].filter((a) => a.replicates > 0);
}

/** The split the page shows first: the seen targets, where the objective acts (held-out targets stay near chance). */
export function preferredSplit(evalSplits: readonly SplitName[]): SplitName {
  return evalSplits.includes('train') ? 'train' : (evalSplits[0] ?? 'test');
}

/** Means over the replicates measured at one step of one λ. */
export interface DiagnosticPoint {
  lambda: number;
  step: number;
  lossShare: number | null;
  gradShare: number | null;
  diversityScore: number | null;
  qualityLoss: number | null;
}

/** The loss and gradient shares per λ (ascending) and step, averaged over replicates. */
export function diagnosticSeries(records: readonly DiversityRecord[]): Map<number, DiagnosticPoint[]> {
  const groups = new Map<string, DiagnosticRecord[]>();
  for (const d of diagnostics(records)) {
    const key = `${d.lambda}/${d.step}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const out = new Map<number, DiagnosticPoint[]>();
  for (const ds of groups.values()) {
    const { lambda, step } = ds[0]!;
    const mean = (f: 'lossShare' | 'gradShare' | 'diversityScore' | 'qualityLoss') => interval(ds.map((d) => d[f])).mean;
    out.set(lambda, [...(out.get(lambda) ?? []), {
      lambda, step, lossShare: mean('lossShare'), gradShare: mean('gradShare'), diversityScore: mean('diversityScore'), qualityLoss: mean('qualityLoss'),
    }]);
  }
  for (const list of out.values()) list.sort((a, b) => a.step - b.step);
  return new Map([...out].sort(([a], [b]) => a - b));
}

/**
 * Why values are missing, and which embedding model was used, each once, by the metric's label:
 * "embedding diversity not computed: …" (worded as aggregate()'s note, so a list of both reads it once),
 * "embedding diversity: <model>, 400 texts in batches of 64".
 */
export function evaluationNotes(records: readonly DiversityRecord[]): string[] {
  const label = (f: string) => {
    const m = EVAL_METRICS.find((x) => x === f);
    return m ? EVAL_LABELS[m] : f;
  };
  return [...new Set(evaluations(records).flatMap((r) => Object.entries(r.notes).map(([f, n]) => (n.startsWith('not computed') ? `${label(f)} ${n}` : `${label(f)}: ${n}`))))];
}

/** The viewer's prompts of every sample set, in run order. */
export function viewerPrompts(sets: readonly { at: Position; rows: readonly PromptRow[] }[]): PromptRow[] {
  return sets.flatMap((s) => s.rows);
}

const sharesOnly = v.object({
  lambdas: v.record(v.string(), v.object({ diagnostics: v.nullable(v.object({ gradShare: v.object({ mean: realOrNull }) })) })),
});

/** Each λ's mean gradient share from a stored summary (the run history's line), or null when it has none. */
export function gradientShares(summary: unknown): { lambda: string; gradShare: number | null }[] | null {
  const s = v.safeParse(sharesOnly, summary);
  if (!s.success) return null;
  return Object.entries(s.output.lambdas).map(([lambda, a]) => ({ lambda, gradShare: a.diagnostics?.gradShare.mean ?? null }));
}

const pct = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const fixed = (x: number | null, digits = 3) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(digits));

/** The headless runner's row: an evaluation (per replicate) or an aggregate (the mean over replicates). */
export function tableRow(r: DiversityRecord): Record<string, string | number> | null {
  if (r.kind === 'diagnostic') return null;
  const row = (value: (m: EvalMetric) => number | null, rep: string, shares: { loss: number | null; grad: number | null }, seconds: string) => ({
    'λ': r.lambda === null ? 'base' : String(r.lambda), rep, split: r.split, quality: pct(value('quality')), 'pass@k': pct(value('passAtK')),
    'distinct-2': fixed(value('distinct2')), 'self-bleu': fixed(value('selfBleu')), D: fixed(value('editDiversity')), novel: fixed(value('novelCorrect'), 2),
    'loss share': pct(shares.loss), 'grad share': pct(shares.grad), seconds,
  });
  if (r.kind === 'evaluation') return row((m) => r[m], String(r.replicate + 1), { loss: r.lossShare, grad: r.gradShare }, r.seconds.toFixed(1));
  return row((m) => r.metrics[m].mean, 'mean', { loss: r.diagnostics?.lossShare.mean ?? null, grad: r.diagnostics?.gradShare.mean ?? null }, '');
}
