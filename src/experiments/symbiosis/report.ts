/**
 * Reading a symbiosis run: the summary run() returns (summary.json), the
 * headless runner's table row, and what the page shows — each method's
 * generations aggregated over replicates with the same intervals as Table 1,
 * the loss curves, Table 1 once written, the hard examples and the browsed
 * rows. Pure functions over typed records (records.ts): the page imports
 * these and never re-parses or re-aggregates a record.
 */
import * as v from 'valibot';
import { meanCI95 } from '../../core/metrics/stats';
import { real } from '../schemas';
import type { Position } from '../types';
import { METHODS, SYMBIOSIS_METHODS, type SymbiosisMethod } from './methods';
import type {
  GenerationRecord, GeneratorRecord, HardExamplesRecord, SampleRow, SetupRecord, SymbiosisRecord, Table1, TableRecord,
} from './records';
import { type Difference, type TableShape, accuracyInterval, differences } from './table';

// The page's words for the methods, from their entries (methods.ts holds only types of the run: nothing of it reaches the page).
export { SYMBIOSIS_METHODS, type SymbiosisMethod } from './methods';

/** A method's name in tables and sentences ("Real") and in the page's legends and menus ("Real Data (upper bound)"). */
export const methodTitle = (m: SymbiosisMethod) => METHODS[m].title;
export const methodLabel = (m: SymbiosisMethod) => METHODS[m].label;
/** Whether a method is the lab's extension of the original (the page marks it). */
export const isExtension = (m: SymbiosisMethod) => METHODS[m].extension;

export const HELPED_DEFINITION =
  "helped = the drop in the Student's loss −log p(label | text) on a synthetic example across the generation's training " +
  '(before − after, nats); it shows what the Student learned from that example, not whether the example raised test accuracy';

/** Per method: test accuracy per generation (0…T; fraction, mean over replicates), its interval, validation accuracy, and each replicate's test accuracy. */
export interface MethodSummary {
  accuracy: number[];
  low: number[];
  high: number[];
  valAccuracy: number[];
  byReplicate: number[][];
}

export interface SymbiosisSummary {
  seconds: number;
  dataset: { name: string; labelNames: string[]; pool: number; val: number; test: number };
  generator: string;
  chance: number;
  methods: Partial<Record<SymbiosisMethod, MethodSummary>>;
  table: Table1;
  summary: string[];
  helped: string;
  /** Naive Bayes on the Student's tokens of Real's rows (setup records): test accuracy, mean over replicates and each; null: not computed. */
  naiveBayes: { accuracy: number; byReplicate: number[] } | null;
  /** Symbiosis − Static and Symbiosis-balanced − Static, final test accuracy, paired by replicate (table.ts, differences). */
  differences: Difference[];
  /** The Generator's quality per replicate (generator records, without their example texts). */
  generatorQuality: Omit<GeneratorRecord, 'examples'>[];
}

const generations = (records: readonly SymbiosisRecord[]) => records.filter((r): r is GenerationRecord => r.kind === 'generation');

/** What run() returns: the dataset, the Generator, per method its accuracy per generation, Table 1 and its sentences. */
export function buildSummary(
  records: readonly SymbiosisRecord[], table: TableRecord, s: TableShape & { dataset: string; sizes: { pool: number; val: number; test: number }; generator: string; seconds: number },
): SymbiosisSummary {
  const gens = generations(records);
  const methods: SymbiosisSummary['methods'] = {};
  for (const m of s.methods) {
    const byReplicate = Array.from({ length: s.replicates }, (_, rep) =>
      gens.filter((r) => r.method === m && r.replicate === rep).sort((a, b) => a.generation - b.generation).map((r) => r.testAccuracy));
    const summary: MethodSummary = { accuracy: [], low: [], high: [], valAccuracy: [], byReplicate };
    for (let g = 0; g <= s.generations; g++) {
      const at = gens.filter((r) => r.method === m && r.generation === g);
      const iv = accuracyInterval(at);
      summary.accuracy.push(iv.mean);
      summary.low.push(iv.low);
      summary.high.push(iv.high);
      summary.valAccuracy.push(at.reduce((sum, r) => sum + r.valAccuracy, 0) / at.length);
    }
    methods[m] = summary;
  }
  const nb = records.flatMap((r) => (r.kind === 'setup' && r.naiveBayes ? [r.naiveBayes.accuracy] : []));
  return {
    seconds: s.seconds,
    dataset: { name: s.dataset, labelNames: [...s.labelNames], ...s.sizes },
    generator: s.generator,
    chance: 1 / s.labelNames.length,
    methods,
    table: table.table,
    summary: table.summary,
    helped: HELPED_DEFINITION,
    naiveBayes: nb.length > 0 ? { accuracy: nb.reduce((a, b) => a + b, 0) / nb.length, byReplicate: nb } : null,
    differences: differences(table.table),
    generatorQuality: generatorRecords(records).map(({ examples: _examples, ...q }) => q),
  };
}

const fmt = (x: number | null, digits = 3) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(digits));

/** The headless runner's row for a generation record (a row shared by several methods prints once). */
export function tableRow(r: SymbiosisRecord): Record<string, string | number> | null {
  if (r.kind !== 'generation' || r.method !== r.sharedBy[0]) return null;
  return {
    rep: r.replicate + 1, gen: r.generation, method: r.generation === 0 ? 'all' : r.sharedBy.join('+'),
    test: `${(100 * r.testAccuracy).toFixed(1)}%`, ci95: `${(100 * r.testLow).toFixed(1)}–${(100 * r.testHigh).toFixed(1)}`,
    val: `${(100 * r.valAccuracy).toFixed(1)}%`, loss: fmt(r.trainLoss), data: r.dataSize, dropped: r.dropped,
    'distinct-2': fmt(r.distinct2), 'self-bleu': fmt(r.selfBleu), seconds: r.seconds.toFixed(1),
  };
}

/** A position in the lab's words: "replicate 1, generation 2" (checkpoints), "replicate 1, generation 2, Static" (sample sets). */
export function describePosition(at: { replicate: number; generation: number; method: SymbiosisMethod | null }): string {
  return `replicate ${at.replicate + 1}, generation ${at.generation}${at.method === null ? '' : `, ${methodTitle(at.method)}`}`;
}

// --- what the page shows ---------------------------------------------------------------

/** A number that was computed, else null (NaN: not computable). */
const known = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);
const meanOf = (xs: readonly (number | null)[]): number | null => {
  const ok = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
};

/** One method at one generation, over the replicates that reached it; null: not computed. */
export interface MethodGeneration {
  method: SymbiosisMethod;
  generation: number;
  replicates: number;
  /** Mean test accuracy and its 95% interval (accuracyInterval, as Table 1). */
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
  source: string;
}

/** One method's Students at one generation (one per replicate that reached it), aggregated. */
function aggregate(rows: readonly GenerationRecord[]): MethodGeneration {
  const first = rows[0]!;
  const iv = accuracyInterval(rows);
  return {
    method: first.method, generation: first.generation, replicates: rows.length,
    accuracy: known(iv.mean), low: known(iv.low), high: known(iv.high),
    trainLoss: meanOf(rows.map((r) => r.trainLoss)), steps: meanOf(rows.map((r) => r.steps)),
    distinct2: meanOf(rows.map((r) => r.distinct2)), selfBleu: meanOf(rows.map((r) => r.selfBleu)),
    studentAgreement: meanOf(rows.map((r) => r.studentAgreement)),
    topPredictedShare: meanOf(rows.map((r) => (r.predictedShares.length ? Math.max(...r.predictedShares) : null))),
    topDataShare: meanOf(rows.map((r) => (r.labelShares?.length ? Math.max(...r.labelShares) : null))),
    dropped: rows.reduce((n, r) => n + r.dropped, 0),
    source: first.source,
  };
}

/** Each method's generations in order, aggregated over the replicates that reached them. */
export function methodSeries(records: readonly SymbiosisRecord[]): Map<SymbiosisMethod, MethodGeneration[]> {
  const gens = generations(records);
  const out = new Map<SymbiosisMethod, MethodGeneration[]>();
  for (const m of SYMBIOSIS_METHODS) {
    const mine = gens.filter((r) => r.method === m);
    const reached = [...new Set(mine.map((r) => r.generation))].sort((a, b) => a - b);
    if (reached.length > 0) out.set(m, reached.map((g) => aggregate(mine.filter((r) => r.generation === g))));
  }
  return out;
}

/**
 * The Student's training loss step by step, every method on one step axis
 * (each method counts its own steps across generations): per method, the
 * mean over the replicates that read the loss at that step; null where none
 * did. Points whose loss is not a number are skipped.
 */
export function lossCurves(records: readonly SymbiosisRecord[]): { steps: number[]; byMethod: Map<SymbiosisMethod, (number | null)[]> } {
  const sums = new Map<SymbiosisMethod, Map<number, { total: number; count: number }>>();
  for (const r of generations(records)) {
    // A generation reported for two methods (sameAs) counts once for each, as its accuracy does.
    const at = sums.get(r.method) ?? new Map<number, { total: number; count: number }>();
    for (const [step, loss] of r.lossCurve) {
      if (!Number.isFinite(loss)) continue;
      const cell = at.get(step) ?? { total: 0, count: 0 };
      cell.total += loss;
      cell.count++;
      at.set(step, cell);
    }
    sums.set(r.method, at);
  }
  const steps = [...new Set([...sums.values()].flatMap((at) => [...at.keys()]))].sort((a, b) => a - b);
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

/** An interval as the page shows it: null where not computable (one replicate's change, a missing value). */
export interface Interval {
  mean: number | null;
  low: number | null;
  high: number | null;
}

/** Table 1 as the page shows it, and the sentences it supports. */
export interface TableView extends Omit<Table1, 'rows'> {
  rows: { method: SymbiosisMethod; initial: Interval; final: Interval; change: Interval }[];
  summary: string[];
}

const interval = (a: { mean: number; low: number; high: number }): Interval => ({ mean: known(a.mean), low: known(a.low), high: known(a.high) });

/** Table 1 and its sentences, once the run wrote them; null before. */
export function tableView(records: readonly SymbiosisRecord[]): TableView | null {
  const r = records.find((x): x is TableRecord => x.kind === 'table');
  if (!r) return null;
  const { rows, ...table } = r.table;
  return {
    ...table,
    rows: rows.map((row) => ({ method: row.method, initial: interval(row.initial), final: interval(row.final), change: interval(row.change) })),
    summary: r.summary,
  };
}

/** The run's setup (of its first replicate): the dataset's classes, the sizes, the Generator in use. */
export function setupOf(records: readonly SymbiosisRecord[]): SetupRecord | null {
  return records.find((r): r is SetupRecord => r.kind === 'setup') ?? null;
}

/** The chance level 1/K, from the run's setup (before Table 1 exists). */
export function chanceOf(records: readonly SymbiosisRecord[]): number | null {
  const setup = setupOf(records);
  return setup && setup.labelNames.length > 0 ? 1 / setup.labelNames.length : null;
}

/** The Generator records, one per replicate, in order. */
export function generatorRecords(records: readonly SymbiosisRecord[]): GeneratorRecord[] {
  return records.filter((r): r is GeneratorRecord => r.kind === 'generator');
}

/** The Generator's quality as the page shows it: over the replicates measured, means of what was computed (null: not computed). */
export interface GeneratorQualityView {
  name: string;
  generator: GeneratorRecord['generator'];
  origin: GeneratorRecord['origin'];
  replicates: number;
  corpusRows: number | null;
  parameters: number | null;
  steps: number | null;
  trainLoss: number | null;
  samples: number;
  classifierAccuracy: number | null;
  /** The first replicate's Wilson interval when there is one replicate; else the t-interval over replicates (null: not computable). */
  classifierLow: number | null;
  classifierHigh: number | null;
  realAccuracy: number | null;
  distinct2: number | null;
  realDistinct2: number | null;
  /** Per class: its name and mean perplexity. */
  perplexity: { label: string; value: number | null }[];
  perplexityNote: string | null;
  examples: GeneratorRecord['examples'];
}

/** The quality panel's numbers from the run's generator records; null before the first is written. */
export function generatorQuality(records: readonly SymbiosisRecord[]): GeneratorQualityView | null {
  const rs = generatorRecords(records);
  const first = rs[0];
  if (!first) return null;
  const setup = setupOf(records);
  const avg = (pick: (r: GeneratorRecord) => number | null) => meanOf(rs.map(pick));
  const accuracies = rs.map((r) => r.classifierAccuracy).filter((x): x is number => x !== null);
  const ci = accuracies.length > 1 ? meanCI95(accuracies) : null;
  return {
    name: first.name, generator: first.generator, origin: first.origin, replicates: rs.length, corpusRows: avg((r) => r.corpusRows),
    parameters: first.parameters, steps: first.steps, trainLoss: avg((r) => r.trainLoss), samples: first.samples,
    classifierAccuracy: avg((r) => r.classifierAccuracy),
    classifierLow: ci ? known(ci.low) : first.classifierLow, classifierHigh: ci ? known(ci.high) : first.classifierHigh,
    realAccuracy: avg((r) => r.realAccuracy), distinct2: avg((r) => r.distinct2), realDistinct2: avg((r) => r.realDistinct2),
    perplexity: first.perplexity.map((_, k) => ({ label: setup?.labelNames[k] ?? String(k), value: avg((r) => r.perplexity[k] ?? null) })),
    perplexityNote: first.perplexityNote, examples: first.examples,
  };
}

/** The naive-Bayes line: its test accuracy, mean over the replicates that computed it; null: none did. */
export function naiveBayesLine(records: readonly SymbiosisRecord[]): { accuracy: number; trainRows: number } | null {
  const nb = records.flatMap((r) => (r.kind === 'setup' && r.naiveBayes ? [r.naiveBayes] : []));
  const acc = meanOf(nb.map((x) => x.accuracy));
  return acc === null ? null : { accuracy: acc, trainRows: nb[0]!.trainRows };
}

/** The hard examples each Symbiosis generation mined, in order. */
export function hardExamples(records: readonly SymbiosisRecord[]): HardExamplesRecord[] {
  return records.filter((r): r is HardExamplesRecord => r.kind === 'hard-examples');
}

/** Every browsed row of the run's sample sets, in order. */
export function syntheticRows(samples: readonly { at: Position; rows: readonly SampleRow[] }[]): SampleRow[] {
  return samples.flatMap((s) => s.rows);
}

const finalOnly = v.object({
  methods: v.record(v.string(), v.object({ accuracy: v.array(real) })),
});

/** Each method's final test accuracy (mean over replicates) from a stored summary, in method order; null when it has none. */
export function finalAccuracies(summary: unknown): { method: SymbiosisMethod; label: string; accuracy: number }[] | null {
  const s = v.safeParse(finalOnly, summary);
  if (!s.success) return null;
  const out = SYMBIOSIS_METHODS.flatMap((m) => {
    const last = s.output.methods[m]?.accuracy.at(-1);
    return last === undefined ? [] : [{ method: m, label: methodLabel(m), accuracy: last }];
  });
  return out.length ? out : null;
}
