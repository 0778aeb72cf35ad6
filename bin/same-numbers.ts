/**
 * Same numbers before and after a refactor: every lab's classroom preset on
 * seeds 1–3 through the headless runner, then a comparison of two such
 * folders that ignores only the wall-clock `seconds` fields.
 *
 *   npx tsx bin/same-numbers.ts run DIR [--labs self-improve,collapse] [--seeds 1,2,3] [--data DIR]
 *       writes DIR/<lab>-<seed>/{summary.json,metrics.jsonl,…} (symbiosis reads --data,
 *       default ../shared/data/ag_news; it is skipped when the folder is missing)
 *   npx tsx bin/same-numbers.ts compare BEFORE AFTER
 *       one line per run: summary.json identical (but seconds) or the first differing path;
 *       metrics.jsonl compared the same way, reported but not required;
 *       exit 1 when a summary differs or is missing.
 *
 * Each run is its own process (`tsx bin/lab.ts run …`), so the tree being
 * tested is the one the script is started in.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Each lab's classroom preset (symbiosis calls it `tiny`). */
const LABS: Record<string, { preset: string; needsData: boolean }> = {
  'self-improve': { preset: 'classroom', needsData: false },
  collapse: { preset: 'classroom', needsData: false },
  diversity: { preset: 'classroom', needsData: false },
  symbiosis: { preset: 'tiny', needsData: true },
};

function flag(argv: string[], name: string): string | null {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? null) : null;
}

function runAll(dir: string, argv: string[]): number {
  const labs = (flag(argv, '--labs') ?? Object.keys(LABS).join(',')).split(',');
  const seeds = (flag(argv, '--seeds') ?? '1,2,3').split(',').map(Number);
  const data = resolve(flag(argv, '--data') ?? '../shared/data/ag_news');
  let failed = 0;
  for (const lab of labs) {
    const spec = LABS[lab];
    if (!spec) throw new Error(`--labs: unknown lab '${lab}' (choose from ${Object.keys(LABS).join(', ')})`);
    if (spec.needsData && !existsSync(data)) {
      console.log(`${lab}: skipped (no data folder at ${data})`);
      continue;
    }
    for (const seed of seeds) {
      const out = join(dir, `${lab}-${seed}`);
      const args = ['tsx', 'bin/lab.ts', 'run', lab, '--preset', spec.preset, '--seed', String(seed), '--out', out];
      if (spec.needsData) args.push('--data', data);
      const started = performance.now();
      const r = spawnSync('npx', args, { stdio: ['ignore', 'ignore', 'inherit'] });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`${lab} seed ${seed}: ${r.status === 0 ? 'done' : `FAILED (exit ${r.status})`} in ${seconds} s`);
      if (r.status !== 0) failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

/** The first path where a and b differ, ignoring keys named `seconds`; null when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return `${path || '(root)'}: ${JSON.stringify(a)?.slice(0, 80)} ≠ ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  const ka = Object.keys(a).filter((k) => k !== 'seconds');
  const kb = Object.keys(b).filter((k) => k !== 'seconds');
  for (const k of new Set([...ka, ...kb])) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

function readJsonLines(file: string): unknown[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
}

function compare(before: string, after: string): number {
  let failed = 0;
  for (const lab of Object.keys(LABS)) {
    for (const seed of [1, 2, 3]) {
      const name = `${lab}-${seed}`;
      const a = join(before, name, 'summary.json');
      const b = join(after, name, 'summary.json');
      if (!existsSync(a) && !existsSync(b)) continue;
      if (!existsSync(a) || !existsSync(b)) {
        console.log(`${name}: MISSING in ${existsSync(a) ? after : before}`);
        failed++;
        continue;
      }
      const diff = firstDifference(JSON.parse(readFileSync(a, 'utf8')), JSON.parse(readFileSync(b, 'utf8')));
      const ma = join(before, name, 'metrics.jsonl');
      const mb = join(after, name, 'metrics.jsonl');
      const metrics = existsSync(ma) && existsSync(mb) ? firstDifference(readJsonLines(ma), readJsonLines(mb)) : 'not both present';
      console.log(`${name}: summary ${diff ? `DIFFERS at ${diff}` : 'identical (but seconds)'}; metrics.jsonl ${metrics ? `differs at ${metrics}` : 'identical (but seconds)'}`);
      if (diff) failed++;
    }
  }
  console.log(failed === 0 ? 'same numbers: every summary identical but seconds' : `same numbers: ${failed} run(s) differ`);
  return failed === 0 ? 0 : 1;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === 'run' && rest[0]) return runAll(rest[0], rest.slice(1));
  if (command === 'compare' && rest[0] && rest[1]) return compare(rest[0], rest[1]);
  console.error('usage: npx tsx bin/same-numbers.ts run DIR [--labs a,b] [--seeds 1,2,3] [--data DIR] | compare BEFORE AFTER');
  return 2;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
