/**
 * Pieces of the record schemas every experiment uses. A run's records live
 * in memory and IndexedDB with NaN intact, and in run.jsonl with NaN written
 * as null (JSON has no NaN): `real` reads either back as a number, so a value
 * that was not computed stays NaN (shown as missing), and a field whose
 * "not computed" is null stays null (`realOrNull`).
 */
import * as v from 'valibot';

/** A number, NaN included (JSON null becomes NaN). */
export const real = v.union([
  v.custom<number>((x) => typeof x === 'number', 'must be a number'),
  v.pipe(v.null(), v.transform((): number => NaN)),
], 'must be a number');

/** A number (NaN included), or null where the value was not computed. */
export const realOrNull = v.nullable(v.custom<number>((x) => typeof x === 'number', 'must be a number or null'));

/** A whole number ≥ 0. */
export const count = v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0, 'must be ≥ 0'));

/** Text. */
export const str = v.string('must be text');

/** A record of numbers by string key ("3" → 0.5). */
export const realRecord = v.record(v.string(), real);

/** A valibot issue as the field it is about (a dotted path, null for the whole value) and the problem in words. */
export function describeIssue(issue: v.BaseIssue<unknown>): { field: string | null; problem: string } {
  const field = v.getDotPath(issue);
  // Object schemas report a missing key with the key as `expected` ('"kind"') and an extra one (strict) as 'never'.
  const objectIssue = issue.type === 'strict_object' || issue.type === 'loose_object' || issue.type === 'object_with_rest' || issue.type === 'object';
  const problem = objectIssue && issue.expected === 'never' ? 'unknown key'
    : objectIssue && issue.input === undefined && issue.expected?.startsWith('"') ? 'is missing'
      : issue.message;
  return { field, problem };
}
