/**
 * Reading a collapse run: each mode's generations in order, the reference
 * row, the histograms and the viewer's rows, the summary run() returns,
 * the headless runner's table row and the run history's headline. Pure:
 * the page imports these and never re-parses a record.
 */
import * as v from 'valibot';
import { gaussianCollapse } from '../../core/collapse/analytic';
import type { Key } from '../../core/rng';
import { real } from '../schemas';
import type { Position } from '../types';
import type { CollapseConfig, CollapseMode } from './config';
import type { CollapseRecord, GenerationRecord, HistogramRecord, ReferenceRecord, ViewerRow } from './records';

/** Each mode's generation records in generation order (generation 0 is in every mode's list). */
export function generationsByMode(records: readonly CollapseRecord[]): Map<CollapseMode, GenerationRecord[]> {
  const out = new Map<CollapseMode, GenerationRecord[]>();
  for (const r of records) if (r.kind === 'generation') out.set(r.mode, [...(out.get(r.mode) ?? []), r]);
  for (const list of out.values()) list.sort((a, b) => a.generation - b.generation);
  return out;
}

export function reference(records: readonly CollapseRecord[]): ReferenceRecord | null {
  return records.find((r): r is ReferenceRecord => r.kind === 'reference') ?? null;
}

/** One mode's likelihood histograms in generation order. */
export function histograms(records: readonly CollapseRecord[], mode: CollapseMode): HistogramRecord[] {
  return records.filter((r): r is HistogramRecord => r.kind === 'histogram' && r.mode === mode).sort((a, b) => a.generation - b.generation);
}

/** Every viewer and sample row of a run's sample sets, in the order they were written. */
export function viewerRows(sets: readonly { at: Position; rows: readonly ViewerRow[] }[]): ViewerRow[] {
  return sets.flatMap((s) => s.rows);
}

export interface CollapseSummary {
  seconds: number;
  corpus: string;
  reference: ReferenceRecord;
  /** Per mode, generation 0 … G. */
  modes: Partial<Record<CollapseMode, GenerationRecord[]>>;
  gaussian: {
    n: number;
    seeds: number;
    estimator: 'ml';
    /** Mean fitted variance over seeds per generation (σ0² = 1), and the 10–90% band. */
    variance: number[];
    low: number[];
    high: number[];
    /** E[σ²_t] = σ0²((n−1)/n)^(t+1) (generation 0 is already one fit). */
    theory: number[];
  };
}

/** The run's summary: the reference, each mode's generations, and the analytic Gaussian demo drawn with `gaussianKey`. */
export function summarize(c: CollapseConfig, records: readonly CollapseRecord[], seconds: number, gaussianKey: Key): CollapseSummary {
  const byMode = generationsByMode(records);
  const modes: CollapseSummary['modes'] = {};
  for (const m of c.modes) modes[m] = byMode.get(m) ?? [];
  const gauss = gaussianCollapse(gaussianKey, {
    samplesPerGeneration: c.gaussianN, generations: c.gaussianGenerations, seeds: c.gaussianSeeds, estimator: 'ml', mode: 'replace',
  });
  const ref = reference(records);
  if (!ref) throw new Error('collapse: the run has no reference record');
  return {
    seconds,
    corpus: ref.corpus,
    reference: ref,
    modes,
    gaussian: {
      n: c.gaussianN, seeds: c.gaussianSeeds, estimator: 'ml',
      variance: gauss.varianceBand.mean, low: gauss.varianceBand.low, high: gauss.varianceBand.high, theory: gauss.theory!,
    },
  };
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

/** The headless runner's row for a generation record (a shared generation-0 row prints once). */
export function tableRow(r: CollapseRecord): Record<string, string | number> | null {
  if (r.kind !== 'generation' || r.mode !== r.sharedBy[0]) return null;
  return {
    gen: r.generation, mode: r.sharedBy.length > 1 ? 'all' : r.mode, ppl: fmt(r.perplexity, 2), valid: fmt(r.validity), 'distinct-2': fmt(r.distinct2),
    'self-bleu': fmt(r.selfBleu), entropy: fmt(r.entropy, 2), tail: fmt(r.tailMass), data: r.dataSize, seconds: r.seconds.toFixed(1),
  };
}

const perplexities = v.object({
  modes: v.record(v.string(), v.array(v.object({ generation: v.number(), perplexity: real }))),
});

/** Perplexity on real text at generation 0 and at the last generation, under replace (else the first mode), from a stored summary. */
export function perplexityHeadline(summary: unknown): { first: number; last: number; generation: number; mode: string } | null {
  const s = v.safeParse(perplexities, summary);
  if (!s.success) return null;
  const mode = s.output.modes.replace ? 'replace' : Object.keys(s.output.modes)[0];
  const series = mode === undefined ? undefined : s.output.modes[mode];
  if (!mode || !series || series.length === 0) return null;
  return { first: series[0]!.perplexity, last: series.at(-1)!.perplexity, generation: series.at(-1)!.generation, mode };
}
