/**
 * The symbiosis run's metric stream, read for the page: per method and
 * generation the test accuracy (mean over replicates, with the 95% interval:
 * Student t over replicates, or with one replicate the Wilson interval over
 * the test examples), the training loss and the data's diversity; Table 1 and
 * the written summary when the run has finished. Read defensively: a value
 * that was not computed is null, never 0.
 */
import { meanCI95 } from '../../../core/metrics/stats';
import { SYMBIOSIS_METHODS, type SampleRow, type SymbiosisMethod } from '../../../experiments/symbiosis';
import type { MetricRecord } from '../../../experiments/types';
import { valueOrNull } from '../../format';
import { unionX } from '../../series';

export const METHOD_LABELS: Record<SymbiosisMethod, string> = {
  real: 'Real Data (upper bound)',
  static: 'Static Synthetic',
  recursive: 'Recursive Collapse',
  symbiosis: 'Generative Symbiosis',
};

export const METHOD_COLORS: Record<SymbiosisMethod, string> = {
  real: '#059669', static: '#d97706', recursive: '#dc2626', symbiosis: '#2563eb',
};

function isMethod(x: unknown): x is SymbiosisMethod {
  return typeof x === 'string' && (SYMBIOSIS_METHODS as readonly string[]).includes(x);
}

export interface MethodGeneration {
  method: SymbiosisMethod;
  generation: number;
  replicates: number;
  accuracy: number | null;
  low: number | null;
  high: number | null;
  trainLoss: number | null;
  steps: number | null;
  distinct2: number | null;
  selfBleu: number | null;
  studentAgreement: number | null;
  /** The largest class's share of the Student's test predictions, and of the training data (mean over replicates): 1/K is balanced, 1 is one class. */
  topPredictedShare: number | null;
  topDataShare: number | null;
  dropped: number;
  source: string | null;
}

/** Each method's generations in order, aggregated over the replicates that reached them. */
export function methodSeries(records: readonly MetricRecord[]): Map<SymbiosisMethod, MethodGeneration[]> {
  const groups = new Map<string, MetricRecord[]>();
  for (const r of records) {
    if (r.kind !== 'generation' || !isMethod(r.method) || typeof r.generation !== 'number') continue;
    const key = `${r.method}/${r.generation}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = new Map<SymbiosisMethod, MethodGeneration[]>();
  for (const rows of groups.values()) {
    const first = rows[0]!;
    const method = first.method as SymbiosisMethod;
    const accs = rows.map((r) => valueOrNull(r.testAccuracy)).filter((x): x is number => x !== null);
    const mean = (f: string) => {
      const xs = rows.map((r) => valueOrNull(r[f])).filter((x): x is number => x !== null);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    };
    let low: number | null = null;
    let high: number | null = null;
    if (accs.length >= 2) {
      const ci = meanCI95(accs);
      low = Number.isFinite(ci.low) ? ci.low : null;
      high = Number.isFinite(ci.high) ? ci.high : null;
    } else if (rows.length === 1) {
      low = valueOrNull(first.testLow);
      high = valueOrNull(first.testHigh);
    }
    const meanOfTop = (f: string) => {
      const xs = rows.flatMap((r) => {
        const shares = r[f];
        return Array.isArray(shares) && shares.length > 0 && shares.every((x) => typeof x === 'number') ? [Math.max(...(shares as number[]))] : [];
      });
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    };
    const list = out.get(method) ?? [];
    list.push({
      method, generation: first.generation as number, replicates: rows.length,
      accuracy: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null, low, high,
      trainLoss: mean('trainLoss'), steps: mean('steps'), distinct2: mean('distinct2'), selfBleu: mean('selfBleu'),
      studentAgreement: mean('studentAgreement'), topPredictedShare: meanOfTop('predictedShares'), topDataShare: meanOfTop('labelShares'),
      dropped: rows.reduce((n, r) => n + (valueOrNull(r.dropped) ?? 0), 0),
      source: typeof first.source === 'string' ? first.source : null,
    });
    out.set(method, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.generation - b.generation);
  return out;
}

/**
 * The Student's training loss step by step, every method on one step axis
 * (each method counts its own steps across generations): per method, the
 * mean over the replicates that read the loss at that step; null where none
 * did. Pairs that are not [finite step, finite loss] are skipped.
 */
export function lossCurves(records: readonly MetricRecord[]): { steps: number[]; byMethod: Map<SymbiosisMethod, (number | null)[]> } {
  const sums = new Map<SymbiosisMethod, Map<number, { total: number; count: number }>>();
  for (const r of records) {
    if (r.kind !== 'generation' || !isMethod(r.method) || !Array.isArray(r.lossCurve)) continue;
    // Recursive's generation 1 is Static's, reported twice (sharedBy): its curve counts once for each method, as its accuracy does.
    const at = sums.get(r.method) ?? new Map<number, { total: number; count: number }>();
    for (const point of r.lossCurve as unknown[]) {
      if (!Array.isArray(point)) continue;
      const step = valueOrNull(point[0]);
      const loss = valueOrNull(point[1]);
      if (step === null || loss === null) continue;
      const cell = at.get(step) ?? { total: 0, count: 0 };
      cell.total += loss;
      cell.count++;
      at.set(step, cell);
    }
    sums.set(r.method, at);
  }
  const steps = unionX(...[...sums.values()].map((at) => [...at.keys()]));
  const byMethod = new Map<SymbiosisMethod, (number | null)[]>();
  for (const [method, at] of sums) {
    if (at.size === 0) continue;
    byMethod.set(method, steps.map((step) => {
      const cell = at.get(step);
      return cell ? cell.total / cell.count : null;
    }));
  }
  return { steps, byMethod };
}

export interface TableView {
  chance: number | null;
  interval: 'replicates' | 'wilson' | null;
  replicates: number | null;
  testSize: number | null;
  generations: number | null;
  rows: { method: SymbiosisMethod; initial: Interval; final: Interval; change: Interval }[];
  summary: string[];
}

export interface Interval {
  mean: number | null;
  low: number | null;
  high: number | null;
}

function intervalOf(x: unknown): Interval {
  const o = (x ?? {}) as Record<string, unknown>;
  return { mean: valueOrNull(o.mean), low: valueOrNull(o.low), high: valueOrNull(o.high) };
}

/** Table 1 and the summary, once the run wrote them. */
export function tableOf(records: readonly MetricRecord[]): TableView | null {
  const r = records.find((x) => x.kind === 'table');
  if (!r || !r.table || typeof r.table !== 'object') return null;
  const t = r.table as Record<string, unknown>;
  const rows = Array.isArray(t.rows) ? t.rows : [];
  return {
    chance: valueOrNull(t.chance),
    interval: t.interval === 'replicates' || t.interval === 'wilson' ? t.interval : null,
    replicates: valueOrNull(t.replicates),
    testSize: valueOrNull(t.testSize),
    generations: valueOrNull(t.generations),
    rows: rows.flatMap((row: Record<string, unknown>) => (isMethod(row.method)
      ? [{ method: row.method, initial: intervalOf(row.initial), final: intervalOf(row.final), change: intervalOf(row.change) }]
      : [])),
    summary: Array.isArray(r.summary) ? r.summary.map(String) : [],
  };
}

/** The chance level 1/K from the run's setup (before the table exists). */
export function chanceOf(records: readonly MetricRecord[]): number | null {
  const setup = records.find((x) => x.kind === 'setup');
  return setup && Array.isArray(setup.labelNames) && setup.labelNames.length > 0 ? 1 / setup.labelNames.length : null;
}

export interface HardExamples {
  replicate: number;
  generation: number;
  selector: string;
  minedOn: string;
  misclassified: number | null;
  examples: { text: string; label: string; predicted: string; score: number }[];
}

export function hardExamples(records: readonly MetricRecord[]): HardExamples[] {
  return records.flatMap((r) => (r.kind === 'hard-examples' && Array.isArray(r.examples) && typeof r.generation === 'number'
    ? [{
        replicate: valueOrNull(r.replicate) ?? 0, generation: r.generation, selector: String(r.selector ?? ''), minedOn: String(r.minedOn ?? ''),
        misclassified: valueOrNull(r.misclassified),
        examples: (r.examples as Record<string, unknown>[]).map((e) => ({
          text: String(e.text ?? ''), label: String(e.label ?? ''), predicted: String(e.predicted ?? ''), score: valueOrNull(e.score) ?? NaN,
        })),
      }]
    : []));
}

/** The experiment's SampleRow; `helped` is null where a stored record lacks it. */
export type SyntheticRow = Omit<SampleRow, 'helped'> & { helped: number | null };

export function syntheticRows(samples: readonly { iteration: number; rows: unknown[] }[]): SyntheticRow[] {
  return samples.flatMap((s) => s.rows.flatMap((raw) => {
    const r = raw as Record<string, unknown>;
    if (!isMethod(r.method) || typeof r.generation !== 'number' || typeof r.text !== 'string') return [];
    const p = r.prompt as Record<string, unknown> | null;
    return [{
      replicate: valueOrNull(r.replicate) ?? 0, generation: r.generation, method: r.method, text: r.text, label: String(r.label ?? ''),
      prompt: p && typeof p.text === 'string' ? { text: p.text, label: String(p.label ?? '') } : null,
      predicted: String(r.predicted ?? ''), correct: r.correct === true, helped: valueOrNull(r.helped),
    }];
  }));
}
