/**
 * `npm run precompute [-- --only collapse,diversity] [--data DIR] [--threads N]`
 *
 * Runs each lab's classroom preset with the headless runner (CPU backend,
 * bin/run-experiment.ts) and writes what the app ships in `public/runs/`
 * (src/experiments/precomputed.ts describes the files): `<lab>.jsonl`, the
 * run in the run.jsonl format with its sample rows trimmed to SAMPLE_BUDGET
 * bytes, and `index.json`, with the preset, seed, config and data that
 * reproduce each. `--only` reruns some labs and keeps the others' entries.
 * `--data` is the labelled-dataset folder for symbiosis (default
 * ../shared/data/ag_news). `--threads` is the CPU engine's thread count
 * (default: its own); the numbers do not depend on it. Commit the files it
 * writes: they are data the app ships.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import {
  PRECOMPUTED_FORMAT, PRECOMPUTED_VERSION, type PrecomputedEntry, type PrecomputedIndex, precomputedIndex, trimSamples,
} from '../src/experiments/precomputed';
import { formatRunFile, parseRunFile } from '../src/experiments/run-file';
import { runExperiment } from './run-experiment';

/** The runs the app ships: one per lab, its classroom preset (or the nearest that runs offline in Node) on seed 1. A new lab is one more line. */
const RUNS: { experiment: string; preset: string; seed: number; overrides?: Record<string, string>; needsData?: boolean }[] = [
  { experiment: 'self-improve', preset: 'classroom', seed: 1 },
  { experiment: 'collapse', preset: 'classroom', seed: 1 },
  { experiment: 'diversity', preset: 'classroom', seed: 1 },
  { experiment: 'symbiosis', preset: 'classroom', seed: 1, needsData: true },
  // The classroom preset's coder is a pretrained model downloaded by the page; lab-gpt runs offline on the lab's GPT.
  { experiment: 'programs', preset: 'lab-gpt', seed: 1 },
];

/** Bytes of sample rows kept per file: enough for the sample browsers, small enough for a first visit. */
const SAMPLE_BUDGET = 32_000;
/** Paths are relative to the repository root (the script changes there first). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = 'public/runs';
const DEFAULT_DATA = '../shared/data/ag_news';

function parseArgs(argv: string[]): { only: string[] | null; data: string; threads: number | null } {
  let only: string[] | null = null;
  let data = join(ROOT, DEFAULT_DATA);
  let threads: number | null = null;
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: needs a value`);
    if (flag === '--only') {
      only = value.split(',');
      const unknown = only.filter((name) => !RUNS.some((r) => r.experiment === name));
      if (unknown.length > 0) throw new Error(`--only: unknown lab ${unknown.join(', ')} (labs: ${RUNS.map((r) => r.experiment).join(', ')})`);
    } else if (flag === '--data') data = value;
    else if (flag === '--threads') {
      threads = Number(value);
      if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads: expected an integer ≥ 1, got '${value}'`);
    } else throw new Error(`unknown flag '${flag}' (flags: --only lab,lab, --data DIR, --threads N)`);
  }
  return { only, data, threads };
}

/** A run id made from the file's bytes (UUID-shaped, like the page's own run ids). */
function idOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function readIndex(path: string): PrecomputedEntry[] {
  if (!existsSync(path)) return [];
  return v.parse(precomputedIndex, JSON.parse(readFileSync(path, 'utf8'))).runs;
}

async function precompute(run: (typeof RUNS)[number], data: string, threads: number | null): Promise<PrecomputedEntry> {
  if (run.needsData && !existsSync(join(data, 'test.jsonl'))) {
    throw new Error(`${run.experiment}: --data ${data} has no test.jsonl (a folder with train*.jsonl and test.jsonl, e.g. ${DEFAULT_DATA})`);
  }
  const overrides = run.overrides ?? {};
  const out = mkdtempSync(join(tmpdir(), `precompute-${run.experiment}-`));
  try {
    console.log(`\n== ${run.experiment}: preset ${run.preset}, seed ${run.seed}`);
    await runExperiment({
      experiment: run.experiment, preset: run.preset, seed: run.seed, out, overrides, data: run.needsData ? data : null,
      ...(threads === null ? {} : { cpu: { threads } }),
    });
    const full = parseRunFile(readFileSync(join(out, 'run.jsonl'), 'utf8'));
    const { seconds } = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { seconds: number };
    const trimmed = trimSamples(full, SAMPLE_BUDGET);
    const text = formatRunFile(trimmed.content);
    parseRunFile(text); // what the page will read must parse
    const file = `${run.experiment}.jsonl`;
    writeFileSync(join(OUT_DIR, file), text);
    const command = [
      `npm run lab -- run ${run.experiment} --preset ${run.preset} --seed ${run.seed}`,
      ...Object.entries(overrides).map(([k, val]) => `--set ${k}=${val}`),
      ...(run.needsData ? [`--data ${data}`] : []),
    ].join(' ');
    const entry: PrecomputedEntry = {
      experiment: run.experiment, file, id: idOf(text), preset: run.preset, seed: run.seed, overrides,
      config: full.run.config, data: run.needsData ? data : null, command, bytes: Buffer.byteLength(text),
      samples: { kept: trimmed.kept, of: trimmed.of }, seconds: Math.round(seconds * 10) / 10, environment: full.run.environment,
    };
    console.log(`wrote ${OUT_DIR}/${file}: ${entry.bytes} bytes, ${entry.samples.kept} of ${entry.samples.of} sample rows, ${entry.seconds} s`);
    return entry;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // --data as given is relative to where the command ran; from here on everything is relative to the root.
  const data = relative(ROOT, resolve(args.data)) || '.';
  const only = args.only;
  process.chdir(ROOT);
  mkdirSync(OUT_DIR, { recursive: true });
  const indexPath = join(OUT_DIR, 'index.json');
  const entries = new Map(readIndex(indexPath).map((e) => [e.experiment, e]));
  for (const run of RUNS) {
    if (only && !only.includes(run.experiment)) continue;
    entries.set(run.experiment, await precompute(run, data, args.threads));
  }
  const index: PrecomputedIndex = {
    format: PRECOMPUTED_FORMAT,
    version: PRECOMPUTED_VERSION,
    runs: RUNS.flatMap((r) => entries.get(r.experiment) ?? []),
  };
  writeFileSync(indexPath, JSON.stringify(index, null, 2) + '\n');
  console.log(`\nwrote ${indexPath}: ${index.runs.map((e) => `${e.file} ${(e.bytes / 1000).toFixed(1)} kB`).join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
