/**
 * `npm run bench -- labs [options]`: the seconds of each lab's classroom run,
 * start to summary, on each backend, measured in this one process and one
 * Chromium (a benchmark, not a test):
 *
 *   cpu      the default CPU path: the WebAssembly engine with its thread pool (Node has shared memory);
 *   cpu-1    the same engine on one thread;
 *   cpu-ts   the TypeScript reference backend (the CPU path the labs took before the Wasm engine);
 *   webgpu   our WebGPU backend, the experiment run in a headless Chromium page (bench/pages/labs.ts).
 *
 * Labs and presets: each lab's 'classroom' (symbiosis on --data, AG News by
 * default; --preset lab=P,… picks others, e.g. symbiosis=tiny, the lab's
 * first classroom setting). Each run's summary (less
 * its seconds) is hashed, so the table also says whether one thread and the
 * pool gave the same run (they must: the engine's sums do not depend on the
 * thread count).
 *
 * Options:
 *   --labs self-improve,...   labs (default: all four)
 *   --only cpu,cpu-ts,...     engines (default: all)
 *   --seed N                  the run's seed (default 1)
 *   --preset lab=P,...        another preset for a lab (default: classroom for each)
 *   --data DIR                the symbiosis dataset folder (default ../shared/data/ag_news)
 *   --budget S                wall-clock cap per run, seconds (default 900): a run over it is "not measured"
 *   --json / --out FILE       JSON lines on stdout / appended to FILE
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createCpuBackend, type CpuOptions } from '../src/core/backends/index';
import { resolveConfig } from '../src/experiments/config';
import { experimentByName } from '../src/experiments/index';
import { DATASET_INPUT } from '../src/experiments/symbiosis/dataset';
import type { RunInput } from '../src/experiments/types';
import type { LabPageRequest } from '../bench/pages/labs';
import { type Lab, startLab } from '../test/browser/harness';
import { closeQuietly, openBenchPage } from './bench-page';
import { datasetInputFromFolder } from './data-folder';

const LAB_ENGINES = ['cpu', 'cpu-1', 'cpu-ts', 'webgpu'] as const;
type LabEngine = (typeof LAB_ENGINES)[number];
const LAB_PRESETS: Record<string, string> = { 'self-improve': 'classroom', collapse: 'classroom', diversity: 'classroom', symbiosis: 'classroom' };
const CPU_OPTIONS: Record<Exclude<LabEngine, 'webgpu'>, CpuOptions> = { 'cpu': {}, 'cpu-1': { threads: 1 }, 'cpu-ts': { engine: 'ts' } };

interface LabMeasurement {
  bench: 'labs';
  lab: string;
  preset: string;
  seed: number;
  engine: LabEngine;
  status: 'measured' | 'not-measured' | 'failed';
  seconds?: number;
  /** sha256 of the summary without its `seconds` fields: equal hashes = the same run. */
  summaryHash?: string;
  backend?: string;
  reason?: string;
  host: { node: string; cpus: number; loadavg1: number };
  timestamp: string;
}

/** The summary as JSON with every `seconds` key dropped (the only field that may differ between two runs of one seed). */
function summaryHash(summary: unknown): string {
  const text = JSON.stringify(summary, (key, value: unknown) => (key === 'seconds' ? undefined : value));
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

async function runOnCpu(lab: string, preset: string, seed: number, engine: Exclude<LabEngine, 'webgpu'>, inputs: Record<string, RunInput>, budgetMs: number) {
  const experiment = experimentByName(lab);
  const config = resolveConfig(experiment, preset, {});
  let backend = '';
  const signal = AbortSignal.timeout(budgetMs);
  const t0 = performance.now();
  try {
    const summary = await experiment.run(config, {
      seed, now: () => performance.now(), emit: () => {}, signal, inputs,
      createBackend: async (c) => {
        const created = await createCpuBackend(c, CPU_OPTIONS[engine]);
        backend = created.backend.description;
        return created.backend;
      },
    });
    return { seconds: (performance.now() - t0) / 1000, summary, backend };
  } catch (e) {
    if (signal.aborted) throw new Error(`over the ${budgetMs / 1000} s budget`, { cause: e });
    throw e;
  }
}

let browser: Lab | null = null;

async function runInBrowser(req: LabPageRequest) {
  browser ??= await startLab();
  const { page, errors } = await browser.newPage();
  try {
    await openBenchPage(page, `${browser.url}/bench/pages/labs.html`);
    const reply = await page.evaluate((r) => window.benchLab!(r), req);
    if (!reply.ok) {
      const detail = errors.length ? ` [page errors: ${errors.slice(0, 3).join(' | ')}]` : '';
      throw new Error(reply.reason + detail);
    }
    return reply;
  } finally {
    await closeQuietly(page);
  }
}

export async function benchLabs(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      labs: { type: 'string' }, only: { type: 'string' }, seed: { type: 'string' }, data: { type: 'string' },
      budget: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' }, preset: { type: 'string' },
    },
  });
  const presets = { ...LAB_PRESETS };
  for (const pair of values.preset ? values.preset.split(',') : []) {
    const [lab, preset] = pair.split('=').map((s) => s.trim());
    if (!lab || !preset || !LAB_PRESETS[lab]) throw new Error(`--preset: expected lab=preset with a lab of ${Object.keys(LAB_PRESETS).join(', ')}, got '${pair}'`);
    if (!experimentByName(lab).presets[preset]) throw new Error(`--preset: ${lab} has no preset '${preset}' (presets: ${Object.keys(experimentByName(lab).presets).join(', ')})`);
    presets[lab] = preset;
  }
  const labs = values.labs ? values.labs.split(',').map((s) => s.trim()) : Object.keys(LAB_PRESETS);
  for (const l of labs) if (!LAB_PRESETS[l]) throw new Error(`--labs: unknown lab '${l}' (choose from ${Object.keys(LAB_PRESETS).join(', ')})`);
  const engines = (values.only ? values.only.split(',').map((s) => s.trim()) : [...LAB_ENGINES]) as LabEngine[];
  for (const e of engines) if (!LAB_ENGINES.includes(e)) throw new Error(`--only: unknown engine '${e}' (choose from ${LAB_ENGINES.join(', ')})`);
  const seed = Number(values.seed ?? '1');
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed: expected a non-negative integer, got '${values.seed}'`);
  const budgetS = Number(values.budget ?? '900');
  if (!(budgetS > 0)) throw new Error(`--budget: expected seconds > 0, got '${values.budget}'`);
  const dataDir = values.data ?? '../shared/data/ag_news';

  const results: LabMeasurement[] = [];
  try {
    for (const lab of labs) {
      const preset = presets[lab]!;
      const inputs: Record<string, RunInput> = lab === 'symbiosis' ? { [DATASET_INPUT]: datasetInputFromFolder(dataDir).input } : {};
      for (const engine of engines) {
        process.stderr.write(`[bench] ${lab} ${preset} seed ${seed} on ${engine} ... `);
        const m: LabMeasurement = {
          bench: 'labs', lab, preset, seed, engine, status: 'failed',
          host: { node: process.version, cpus: os.cpus().length, loadavg1: os.loadavg()[0]! }, timestamp: new Date().toISOString(),
        };
        try {
          const r = engine === 'webgpu'
            ? await runInBrowser({
              lab, preset, seed, budgetMs: budgetS * 1000,
              inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, { name: v.name, base64: Buffer.from(v.bytes).toString('base64') }])),
            })
            : await runOnCpu(lab, preset, seed, engine, inputs, budgetS * 1000);
          Object.assign(m, { status: 'measured', seconds: r.seconds, summaryHash: summaryHash(r.summary), backend: r.backend });
          process.stderr.write(`${r.seconds.toFixed(1)} s\n`);
        } catch (e) {
          const text = e instanceof Error ? e.message : String(e);
          m.status = /over the .* budget|fell back|navigator\.gpu is missing/.test(text) ? 'not-measured' : 'failed';
          m.reason = text.split('\n')[0]!;
          process.stderr.write(`${m.status}: ${m.reason}\n`);
        }
        results.push(m);
        if (values.json) process.stdout.write(JSON.stringify(m) + '\n');
        if (values.out) appendFileSync(values.out, JSON.stringify(m) + '\n');
      }
    }
  } finally {
    await browser?.close();
    browser = null;
  }
  if (!values.json) printLabTable(results, labs, engines, presets);
}

function printLabTable(results: LabMeasurement[], labs: string[], engines: LabEngine[], presets: Record<string, string>): void {
  const at = (lab: string, e: LabEngine) => results.find((r) => r.lab === lab && r.engine === e);
  const cell = (r: LabMeasurement | undefined) => (r?.status === 'measured' ? `${r.seconds!.toFixed(1)} s` : r ? r.status : '—');
  const ratio = (lab: string, slow: LabEngine, fast: LabEngine) => {
    const a = at(lab, slow);
    const b = at(lab, fast);
    return a?.seconds && b?.seconds ? `${(a.seconds / b.seconds).toFixed(2)}×` : 'n/a';
  };
  const lines = [
    '',
    `each lab's run, start to summary, seed ${results[0]?.seed ?? '?'}, load avg ${os.loadavg()[0]!.toFixed(1)} (${os.cpus().length} cores)`,
    `${'lab'.padEnd(22)}${engines.map((e) => e.padStart(13)).join('')}   cpu vs cpu-ts   cpu vs cpu-1   webgpu vs cpu   cpu = cpu-1 run`,
  ];
  for (const lab of labs) {
    const same = at(lab, 'cpu')?.summaryHash && at(lab, 'cpu-1')?.summaryHash
      ? (at(lab, 'cpu')!.summaryHash === at(lab, 'cpu-1')!.summaryHash ? 'same' : 'DIFFERENT') : 'n/a';
    lines.push(`${`${lab} (${presets[lab]})`.padEnd(22)}${engines.map((e) => cell(at(lab, e)).padStart(13)).join('')}`
      + `   ${ratio(lab, 'cpu-ts', 'cpu').padStart(13)}   ${ratio(lab, 'cpu-1', 'cpu').padStart(12)}   ${ratio(lab, 'cpu', 'webgpu').padStart(13)}   ${same}`);
  }
  lines.push('ratios: how many times faster the second engine finished (> 1 = faster).');
  for (const r of results) if (r.status !== 'measured') lines.push(`  ${r.lab} on ${r.engine}: ${r.status}: ${r.reason}`);
  for (const e of engines) {
    const r = results.find((x) => x.engine === e && x.backend);
    if (r) lines.push(`  ${e}: ${r.backend}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
