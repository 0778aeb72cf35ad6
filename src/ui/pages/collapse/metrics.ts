/**
 * The collapse run's metric stream, read for plotting. Records come from
 * IndexedDB or an imported run.jsonl (NaN written as null, perhaps from
 * another version): every number is read defensively, and one that was not
 * computed is null — a gap in a chart, "—" in a table, never 0.
 */
import { COLLAPSE_MODES, type CollapseMode, type ViewerRow } from '../../../experiments/collapse';
import type { MetricRecord } from '../../../experiments/types';
import { valueOrNull } from '../../format';

/** One colour per mode, on every chart of the page. */
export const MODE_COLORS: Record<CollapseMode, string> = {
  replace: '#dc2626', accumulate: '#2563eb', 'real-mix': '#059669', 'accumulate-subsample': '#d97706',
};

/** The per-generation numbers the charts draw. */
export const GENERATION_METRICS = [
  'perplexity', 'validity', 'trueLogLik', 'distinct1', 'distinct2', 'selfBleu', 'entropy', 'tailMass', 'embeddingDiversity', 'meanLength',
  'dataSize', 'realShare', 'trainLoss', 'seconds',
] as const;
export type GenerationMetric = (typeof GENERATION_METRICS)[number];

export interface GenerationPoint {
  mode: CollapseMode;
  generation: number;
  values: Record<GenerationMetric, number | null>;
  embeddingNote: string | null;
}

export interface ReferencePoint {
  corpus: string;
  truePerplexity: number | null;
  trueLogLik: number | null;
  distinct1: number | null;
  distinct2: number | null;
  selfBleu: number | null;
  entropy: number | null;
  meanLength: number | null;
  note: string | null;
}

export interface HistogramPoint {
  mode: CollapseMode;
  generation: number;
  edges: number[];
  counts: number[];
}

function isMode(x: unknown): x is CollapseMode {
  return typeof x === 'string' && (COLLAPSE_MODES as readonly string[]).includes(x);
}

/** Each mode's generations in order (generation 0 included in every mode). */
export function generationPoints(records: readonly MetricRecord[]): Map<CollapseMode, GenerationPoint[]> {
  const out = new Map<CollapseMode, GenerationPoint[]>();
  for (const r of records) {
    if (r.kind !== 'generation' || !isMode(r.mode) || typeof r.generation !== 'number') continue;
    const values = Object.fromEntries(GENERATION_METRICS.map((k) => [k, valueOrNull(r[k])])) as Record<GenerationMetric, number | null>;
    const list = out.get(r.mode) ?? [];
    list.push({ mode: r.mode, generation: r.generation, values, embeddingNote: typeof r.embeddingNote === 'string' ? r.embeddingNote : null });
    out.set(r.mode, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.generation - b.generation);
  return out;
}

export function referencePoint(records: readonly MetricRecord[]): ReferencePoint | null {
  const r = records.find((x) => x.kind === 'reference');
  if (!r) return null;
  return {
    corpus: typeof r.corpus === 'string' ? r.corpus : 'real corpus',
    truePerplexity: valueOrNull(r.truePerplexity),
    trueLogLik: valueOrNull(r.trueLogLik),
    distinct1: valueOrNull(r.distinct1),
    distinct2: valueOrNull(r.distinct2),
    selfBleu: valueOrNull(r.selfBleu),
    entropy: valueOrNull(r.entropy),
    meanLength: valueOrNull(r.meanLength),
    note: typeof r.note === 'string' ? r.note : null,
  };
}

export function histogramPoints(records: readonly MetricRecord[], mode: CollapseMode): HistogramPoint[] {
  return records
    .filter((r) => r.kind === 'histogram' && r.mode === mode && typeof r.generation === 'number'
      && Array.isArray(r.edges) && Array.isArray(r.counts))
    .map((r) => ({ mode, generation: r.generation as number, edges: (r.edges as unknown[]).map(Number), counts: (r.counts as unknown[]).map(Number) }))
    .sort((a, b) => a.generation - b.generation);
}

/** A viewer or sample row as the experiment writes it, read defensively. */
export type SampleRow = ViewerRow;

export function sampleRows(samples: readonly { iteration: number; rows: unknown[] }[]): SampleRow[] {
  const out: SampleRow[] = [];
  for (const s of samples) {
    for (const raw of s.rows) {
      const r = raw as Record<string, unknown>;
      if ((r.kind !== 'viewer' && r.kind !== 'sample') || !isMode(r.mode) || typeof r.generation !== 'number') continue;
      out.push({
        kind: r.kind, mode: r.mode, generation: r.generation, prompt: String(r.prompt ?? ''), text: String(r.text ?? ''),
        valid: typeof r.valid === 'boolean' ? r.valid : null, reason: typeof r.reason === 'string' ? r.reason : null,
      });
    }
  }
  return out;
}
