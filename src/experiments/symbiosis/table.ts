/**
 * Table 1 and what it supports: per method the initial (generation 0) and
 * final test accuracy and their change, as the mean with its 95% interval
 * over replicates (one replicate: its Wilson interval); the sentences that
 * state only what those intervals support; and the check of the write-up's
 * claims (docs/write-ups.md). Pure: the run and the page both use these.
 */
import { meanCI95 } from '../../core/metrics/stats';
import { argmax } from './hard';
import { METHODS, type SymbiosisMethod } from './methods';
import type { AccuracyInterval, GenerationRecord, SetupRecord, SymbiosisRecord, Table1, Table1Row, TopClass } from './records';

/**
 * The mean test accuracy of some Students (one per replicate) with its 95%
 * interval: Student t over the replicates; a single Student: the Wilson
 * interval of its own test accuracy (it covers test-set sampling only).
 */
export function accuracyInterval(rows: readonly GenerationRecord[]): AccuracyInterval {
  if (rows.length === 1) return { mean: rows[0]!.testAccuracy, low: rows[0]!.testLow, high: rows[0]!.testHigh };
  const ci = meanCI95(rows.map((r) => r.testAccuracy));
  return { mean: ci.mean, low: ci.low, high: ci.high };
}

/**
 * A Student has collapsed onto one class when it gives that class at least
 * half of the room between its true share and all of the test set (K = 4,
 * balanced: ≥ 62.5% of the predictions; K = 2: ≥ 75%).
 */
export const isCollapsedOntoOneClass = (t: TopClass) => t.predicted >= t.inTest + (1 - t.inTest) / 2;

/** What Table 1 is built over: the methods that ran, the dataset's classes, and the run's size. */
export interface TableShape {
  methods: readonly SymbiosisMethod[];
  labelNames: readonly string[];
  replicates: number;
  generations: number;
  testSize: number;
}

/** Table 1 from a finished run's generation and setup records. */
export function table1(records: readonly SymbiosisRecord[], s: TableShape): Table1 {
  const gens = records.filter((r) => r.kind === 'generation');
  const setups = records.filter((r): r is SetupRecord => r.kind === 'setup');
  const topClass = (r: GenerationRecord): TopClass | null => {
    const testShares = setups.find((x) => x.replicate === r.replicate)?.testLabelShares;
    if (!testShares) return null;
    const k = argmax(r.predictedShares);
    return { label: s.labelNames[k]!, predicted: r.predictedShares[k]!, inTest: testShares[k]!, inData: r.labelShares === null ? null : r.labelShares[k]! };
  };
  const rows = s.methods.map((m): Table1Row => {
    const at = (g: number) => gens.filter((r) => r.method === m && r.generation === g).sort((a, b) => a.replicate - b.replicate);
    const initial = at(0);
    const final = at(s.generations);
    const change = meanCI95(final.map((r, i) => r.testAccuracy - initial[i]!.testAccuracy));
    return {
      method: m, initial: accuracyInterval(initial), final: accuracyInterval(final),
      change: { mean: change.mean, low: change.low, high: change.high }, finals: final.map((r) => r.testAccuracy),
      finalTopClass: final.map(topClass),
    };
  });
  return {
    numClasses: s.labelNames.length, labelNames: [...s.labelNames], chance: 1 / s.labelNames.length, replicates: s.replicates,
    testSize: s.testSize, generations: s.generations, interval: s.replicates > 1 ? 'replicates' : 'wilson', rows,
  };
}

/** A write-up claim, as data the table can check. */
export type Claim =
  | { text: string; kind: 'beats'; better: SymbiosisMethod; worse: SymbiosisMethod[] }
  | { text: string; kind: 'improves'; method: SymbiosisMethod }
  | { text: string; kind: 'above-chance'; method: SymbiosisMethod };

/** What the write-up's prose claims (its own table reports Real 84.0, Static 41.0, Recursive 26.8, Symbiosis 25.0%; docs/write-ups.md). */
export const WRITE_UP_CLAIMS: Claim[] = [
  { text: 'Symbiosis improves on Static', kind: 'beats', better: 'symbiosis', worse: ['static'] },
  { text: 'Symbiosis beats Recursive', kind: 'beats', better: 'symbiosis', worse: ['recursive'] },
  { text: 'Real is the upper bound', kind: 'beats', better: 'real', worse: ['static', 'recursive', 'symbiosis'] },
  { text: 'Symbiosis improves the Student across generations', kind: 'improves', method: 'symbiosis' },
];

const title = (m: SymbiosisMethod) => METHODS[m].title;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} points`;
const hasInterval = (a: AccuracyInterval) => Number.isFinite(a.low) && Number.isFinite(a.high);
const bounds = (a: AccuracyInterval) => (hasInterval(a) ? ` [${pct(a.low)}, ${pct(a.high)}]` : ' [interval not computable]');

/** 'above': a's interval lies wholly above b's; 'below': wholly below; 'overlap'; 'unknown': an interval is missing. */
function separation(a: AccuracyInterval, b: AccuracyInterval): 'above' | 'below' | 'overlap' | 'unknown' {
  if (!hasInterval(a) || !hasInterval(b)) return 'unknown';
  if (a.low > b.high) return 'above';
  if (a.high < b.low) return 'below';
  return 'overlap';
}

/**
 * Table 1 in sentences that state only what the intervals support: each
 * method's final accuracy with its interval; a flag where the interval
 * includes chance; a comparison of two methods only where their intervals do
 * not overlap (otherwise "within noise"); and each claim checked —
 * supported (intervals separate the claimed way), contradicted (separate the
 * other way), or not shown (they overlap, or a method did not run).
 */
export function summarize(table: Table1, claims: readonly Claim[] = WRITE_UP_CLAIMS): string[] {
  const lines: string[] = [];
  const how = table.interval === 'replicates'
    ? `95% intervals are t-intervals of the mean over ${table.replicates} replicates (${table.testSize} test examples each)`
    : `one replicate: 95% intervals are Wilson intervals of its test accuracy (n = ${table.testSize}); they cover test-set sampling only, not seed-to-seed variation, so run more replicates before concluding`;
  lines.push(`Test accuracy after generation 0 (initial) and ${table.generations} (final); ${table.numClasses} classes, chance ${pct(table.chance)}; ${how}.`);
  const byMethod = new Map(table.rows.map((r) => [r.method, r]));
  for (const r of table.rows) {
    const chanceFlag = hasInterval(r.final) && r.final.low <= table.chance && table.chance <= r.final.high
      ? ` Its interval includes chance (${pct(table.chance)}): not distinguishable from guessing.`
      : hasInterval(r.final) && r.final.high < table.chance ? ` It is below chance (${pct(table.chance)}).` : '';
    lines.push(`${title(r.method)}: final ${pct(r.final.mean)}${bounds(r.final)} (initial ${pct(r.initial.mean)}, change ${points(r.change.mean)}).${chanceFlag}`);
    const collapsed = r.finalTopClass.flatMap((t, rep) => (t !== null && isCollapsedOntoOneClass(t) ? [{ t, rep }] : []));
    if (collapsed.length > 0) {
      const { t, rep } = collapsed.reduce((a, b) => (b.t.predicted > a.t.predicted ? b : a));
      const where = table.replicates > 1 ? ` in ${collapsed.length} of ${table.replicates} replicates (at most: replicate ${rep + 1})` : '';
      const data = t.inData === null ? '' : ` Its last generation's training data was ${pct(t.inData)} ${t.label}.`;
      lines.push(`${title(r.method)}'s final Student has collapsed onto one class${where}: it labels ${pct(t.predicted)} of the test set ${t.label}, whose true share is ${pct(t.inTest)}.${data}`);
    }
  }
  for (let i = 0; i < table.rows.length; i++) {
    for (let j = i + 1; j < table.rows.length; j++) {
      const a = table.rows[i]!;
      const b = table.rows[j]!;
      const s = separation(a.final, b.final);
      const [hi, lo] = a.final.mean >= b.final.mean ? [a, b] : [b, a];
      if (s === 'above' || s === 'below') {
        lines.push(`${title(hi.method)} > ${title(lo.method)}: ${pct(hi.final.mean)} vs ${pct(lo.final.mean)}, the intervals do not overlap.`);
      } else {
        const why = s === 'unknown' ? 'no interval to compare' : 'the intervals overlap';
        lines.push(`${title(a.method)} vs ${title(b.method)}: the difference (${Math.abs(100 * (a.final.mean - b.final.mean)).toFixed(1)} points) is within noise (${why}).`);
      }
    }
  }
  for (const d of differences(table)) lines.push(differenceSentence(d, table.replicates));
  for (const claim of claims) lines.push(`Write-up claim "${claim.text}": ${checkClaim(claim, byMethod, table.chance)}.`);
  return lines;
}

/** The pairs whose final difference the summary always reports, whatever its sign: each Symbiosis method against Static. */
export const REPORTED_DIFFERENCES: readonly (readonly [SymbiosisMethod, SymbiosisMethod])[] = [['symbiosis', 'static'], ['symbiosis-balanced', 'static']];

/** A − B in final test accuracy, paired by replicate (same splits, seed and Student initialisation). */
export interface Difference {
  a: SymbiosisMethod;
  b: SymbiosisMethod;
  /** Mean of the per-replicate differences (fraction) and its 95% t-interval (NaN with one replicate). */
  mean: number;
  low: number;
  high: number;
  byReplicate: number[];
}

/** The paired difference a − b of two equally long lists of per-replicate values: mean and 95% t-interval. */
export function pairedDifference(a: readonly number[], b: readonly number[]): { mean: number; low: number; high: number; byReplicate: number[] } {
  if (a.length !== b.length) throw new Error(`pairedDifference: ${a.length} values against ${b.length}`);
  const byReplicate = a.map((x, i) => x - b[i]!);
  const ci = meanCI95(byReplicate);
  return { mean: ci.mean, low: ci.low, high: ci.high, byReplicate };
}

/** REPORTED_DIFFERENCES for the methods Table 1 has. */
export function differences(table: Table1): Difference[] {
  const byMethod = new Map(table.rows.map((r) => [r.method, r]));
  return REPORTED_DIFFERENCES.flatMap(([a, b]) => {
    const [ra, rb] = [byMethod.get(a), byMethod.get(b)];
    return ra && rb ? [{ a, b, ...pairedDifference(ra.finals, rb.finals) }] : [];
  });
}

/** A difference in words, with its interval (or why there is none). */
function differenceSentence(d: Difference, replicates: number): string {
  const head = `${title(d.a)} − ${title(d.b)} (final, paired by replicate): ${points(d.mean)}`;
  if (!Number.isFinite(d.low) || !Number.isFinite(d.high)) return `${head} (one replicate: no interval; run several replicates or seeds).`;
  const iv = `[${points(d.low)}, ${points(d.high)}] over ${replicates} replicates`;
  const verdict = d.low > 0 ? `${title(d.a)} is higher` : d.high < 0 ? `${title(d.a)} is lower` : 'the interval includes 0: no difference shown';
  return `${head} ${iv}; ${verdict}.`;
}

/** A claim's verdict on Table 1's rows, in words. */
export function checkClaim(claim: Claim, rows: ReadonlyMap<SymbiosisMethod, Table1Row>, chance: number): string {
  switch (claim.kind) {
    case 'beats': {
      const missing = [claim.better, ...claim.worse].filter((m) => !rows.has(m));
      if (missing.length > 0) return `not checked (${missing.map(title).join(', ')} did not run)`;
      const a = rows.get(claim.better)!;
      const verdicts = claim.worse.map((m) => ({ m, s: separation(a.final, rows.get(m)!.final) }));
      const against = verdicts.filter((x) => x.s === 'below');
      if (against.length > 0) {
        return `CONTRADICTED: ${against.map((x) => title(x.m)).join(', ')} ${against.length > 1 ? 'are' : 'is'} higher than ${title(claim.better)} and the intervals do not overlap`;
      }
      const open = verdicts.filter((x) => x.s !== 'above');
      if (open.length > 0) return `not shown: ${title(claim.better)} vs ${open.map((x) => title(x.m)).join(', ')} is within noise`;
      return 'supported: the intervals do not overlap';
    }
    case 'improves': {
      const r = rows.get(claim.method);
      if (!r) return `not checked (${title(claim.method)} did not run)`;
      const s = separation(r.final, r.initial);
      if (s === 'below') return `CONTRADICTED: ${title(claim.method)} ends below where it started (${pct(r.final.mean)} < ${pct(r.initial.mean)}), intervals apart`;
      if (s === 'above') return `supported: ${pct(r.initial.mean)} → ${pct(r.final.mean)}, intervals apart`;
      return `not shown: ${pct(r.initial.mean)} → ${pct(r.final.mean)} is within noise`;
    }
    case 'above-chance': {
      const r = rows.get(claim.method);
      if (!r) return `not checked (${title(claim.method)} did not run)`;
      if (!hasInterval(r.final)) return 'not shown: no interval';
      if (r.final.high < chance) return `CONTRADICTED: below chance (${pct(r.final.mean)})`;
      if (r.final.low > chance) return 'supported';
      return `not shown: the interval includes chance (${pct(chance)})`;
    }
    default:
      return claim satisfies never;
  }
}
