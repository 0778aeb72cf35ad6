/**
 * `npm run lab -- run <experiment> [--preset P] [--seed N] [--out DIR] [--set key=value …]`
 *
 * Runs an experiment module on the CPU backend in Node (createCpuBackend: the
 * WebAssembly engine with its threads; `--cpu ts` the TypeScript reference,
 * `--threads N` a thread count), prints a table row
 * per iteration, and writes to DIR:
 *   metrics.jsonl   the run's metric stream, one record per line
 *   samples.jsonl   the examples the run browsed (attempts, verdicts), each with its place in the run (`at`)
 *   <datasets>      the fixed data the run used (e.g. puzzles.jsonl)
 *   model.safetensors  the final model, with config and tokenizer in its metadata
 *   generator.safetensors  a symbiosis run's corpus Generator, when it trained one (the file the page's Keep exports)
 *   summary.json    {experiment, preset, seed, config, environment, seconds, …summary}
 *   run.jsonl       all of the above but the model in one file, the format the web page
 *                   exports and imports (src/experiments/run-file.ts describes it)
 *
 * `--embedding-model DIR` gives experiments sentence embeddings (RunContext.embed)
 * from a local transformers.js model folder, and `--model DIR` a text model
 * (RunContext.generateText, e.g. the programs lab's coder); Node never
 * downloads one. Model-written programs run in the sandbox (RunContext.runProgram:
 * src/sandbox/node.ts, QuickJS in a worker_thread), closed when the run ends.
 * `--input name=FILE` gives them a file (RunContext.inputs), e.g. the collapse
 * lab's uploaded corpus: `--set corpus=upload --input corpus=story.txt`.
 * `--data DIR` gives them a labelled dataset (the `dataset` input, JSON of a
 * LabelledDataset) from a folder with train*.jsonl and test.jsonl, e.g.
 * `run symbiosis --data ../shared/data/ag_news`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type CpuOptions, type CpuReport, createCpuBackend } from '../src/core/backends/index';
import { encodeCheckpoint } from '../src/core/checkpoint';
import { tokenizerFromJSON } from '../src/core/tokenizer';
import { coerceOverrides, parseSeed, resolveConfig } from '../src/experiments/config';
import { experimentByName } from '../src/experiments';
import { formatRunFile } from '../src/experiments/run-file';
import { DATASET_INPUT } from '../src/experiments/symbiosis/dataset';
import { encodeGeneratorFile, generatorFromRun } from '../src/experiments/symbiosis/generator';
import type { MetricRecord, Position, RunCheckpoint, RunContext, RunInput } from '../src/experiments/types';
import type { EmbedFunction } from '../src/pretrained/embeddings';
import type { Generator } from '../src/pretrained/generator';
import { nodeSandbox } from '../src/sandbox/node';
import { datasetInputFromFolder } from './data-folder';

export interface RunArgs {
  experiment: string;
  preset: string | null;
  seed: number;
  out: string | null;
  overrides: Record<string, string>;
  /** A local model folder for RunContext.embed (config.json, tokenizer.json, onnx/model.onnx). */
  embeddingModel?: string | null;
  /** A local instruct/code model folder for RunContext.generateText (config.json, tokenizer files, onnx/model_q4.onnx). */
  model?: string | null;
  /** Files for RunContext.inputs: name → path (`--input corpus=story.txt`). */
  inputs?: Record<string, string>;
  /** A labelled-dataset folder (train*.jsonl, test.jsonl), given as the `dataset` input. */
  data?: string | null;
  /** Its class names, label i first (`--label-names World,Sports,…`); else see folderLabelNames. */
  labelNames?: string[] | null;
  /** The CPU path: `--cpu wasm|ts`, `--threads N`. */
  cpu?: CpuOptions;
}

/** Parse `run` arguments; throws a message naming the flag. */
export function parseRunArgs(argv: string[]): RunArgs {
  const [experiment, ...rest] = argv;
  if (!experiment || experiment.startsWith('--')) throw new Error('run: name an experiment, e.g. `run self-improve --preset classroom`');
  const args: RunArgs = { experiment, preset: null, seed: 1, out: null, overrides: {} };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    const value = rest[i + 1];
    if (value === undefined) throw new Error(`${flag}: needs a value`);
    i++;
    switch (flag) {
      case '--preset': args.preset = value; break;
      case '--seed': args.seed = parseSeed(value); break;
      case '--out': args.out = value; break;
      case '--embedding-model': args.embeddingModel = value; break;
      case '--model': args.model = value; break;
      case '--data': args.data = value; break;
      case '--cpu':
        if (value !== 'wasm' && value !== 'ts') throw new Error(`--cpu: expected 'wasm' or 'ts', got '${value}'`);
        args.cpu = { ...args.cpu, engine: value };
        break;
      case '--threads': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) throw new Error(`--threads: expected an integer ≥ 1, got '${value}'`);
        args.cpu = { ...args.cpu, threads: n };
        break;
      }
      case '--label-names': {
        const names = value.split(',').map((n) => n.trim());
        if (names.length < 2 || names.some((n) => n === '')) throw new Error(`--label-names: expected two or more names separated by commas, got '${value}'`);
        args.labelNames = names;
        break;
      }
      case '--input': {
        const eq = value.indexOf('=');
        if (eq < 1) throw new Error(`--input: expected name=file, got '${value}'`);
        args.inputs = { ...args.inputs, [value.slice(0, eq)]: value.slice(eq + 1) };
        break;
      }
      case '--set': {
        const eq = value.indexOf('=');
        if (eq < 1) throw new Error(`--set: expected key=value, got '${value}'`);
        args.overrides[value.slice(0, eq)] = value.slice(eq + 1);
        break;
      }
      default: throw new Error(`unknown flag '${flag}' (flags: --preset, --seed, --out, --set key=value, --input name=file, --data DIR, --label-names a,b,…, --embedding-model DIR, --model DIR, --cpu wasm|ts, --threads N)`);
    }
  }
  return args;
}

/** Prints rows as they come: the header with the first row, fixed column widths. */
function tablePrinter(): (row: Record<string, string | number>) => void {
  let cols: string[] | null = null;
  let widths: number[] = [];
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  return (row) => {
    if (!cols) {
      cols = Object.keys(row);
      widths = cols.map((c) => Math.max(c.length, 8));
      console.log(line(cols));
    }
    console.log(line(cols.map((c) => String(row[c] ?? ''))));
  };
}

/**
 * RunContext.embed for the headless runner: the model in `dir`, loaded on
 * first use (transformers.js is imported only then); without a folder, every
 * call resolves {ok: false} saying how to give one. A folder without
 * config.json is refused at once, before the run starts.
 */
export function headlessEmbed(dir: string | null | undefined): NonNullable<RunContext['embed']> {
  if (!dir) {
    return async () => ({
      ok: false,
      reason: 'no embedding model: the headless runner cannot download one; pass --embedding-model DIR (a local transformers.js model folder)',
    });
  }
  const folder = resolve(dir);
  if (!existsSync(join(folder, 'config.json'))) {
    throw new Error(`--embedding-model: ${folder} has no config.json (expected a transformers.js model folder: config.json, tokenizer.json, onnx/model.onnx)`);
  }
  let embed: Promise<EmbedFunction> | null = null;
  return async (texts, onProgress) => {
    embed ??= import('../src/pretrained/embeddings').then((m) => m.embedOnDemand({ model: folder, allowRemote: false }));
    return (await embed)(texts, onProgress);
  };
}

/**
 * RunContext.generateText for the headless runner: the model in `dir`
 * (whatever model id the experiment names: the folder stands in for it, and
 * the result's `model` says which ran), loaded on first use on the CPU
 * (onnxruntime-node, 4-bit weights); without a folder, undefined: an
 * experiment that needs one then says so. A folder without config.json is
 * refused at once.
 */
export function headlessGenerateText(dir: string | null | undefined): { generateText: RunContext['generateText']; close(): Promise<void> } {
  if (!dir) return { generateText: undefined, close: async () => undefined };
  const folder = resolve(dir);
  if (!existsSync(join(folder, 'config.json'))) {
    throw new Error(`--model: ${folder} has no config.json (expected a transformers.js model folder: config.json, tokenizer.json, onnx/model_q4.onnx)`);
  }
  let generator: Promise<Generator> | null = null;
  const load = () => (generator ??= import('../src/pretrained/generator').then((m) => m.loadGenerator({ model: folder, allowRemote: false })));
  let announced = false;
  return {
    generateText: async (requests, options, onProgress) => {
      if (!announced && options.model !== undefined) console.error(`  --model: ${folder} stands in for ${options.model}`);
      announced = true;
      let g: Generator;
      try {
        g = await load();
      } catch (e) {
        return { ok: false, reason: e instanceof Error ? e.message : String(e) };
      }
      let started = 0;
      const result = await g.generate(requests.map((r) => r.messages), {
        maxNewTokens: options.maxNewTokens, temperature: options.temperature, topP: options.topP, seed: options.seed,
      }, {
        onToken: (prompt) => {
          if (prompt + 1 > started) {
            started = prompt + 1;
            onProgress?.(prompt, requests.length);
          }
        },
      });
      onProgress?.(requests.length, requests.length);
      return { ok: true, model: basename(folder), texts: result.generations.map((x) => x.text) };
    },
    close: async () => {
      if (generator) await (await generator.catch(() => null))?.dispose();
    },
  };
}

export async function runExperiment(args: RunArgs): Promise<unknown> {
  const exp = experimentByName(args.experiment);
  const config = resolveConfig(exp, args.preset, coerceOverrides(exp.config.fields, args.overrides));
  const embed = headlessEmbed(args.embeddingModel);
  const text = headlessGenerateText(args.model);
  const inputs: Record<string, RunInput> = {};
  for (const [name, path] of Object.entries(args.inputs ?? {})) {
    if (!existsSync(path)) throw new Error(`--input ${name}: ${path} does not exist`);
    inputs[name] = { name: basename(path), bytes: new Uint8Array(readFileSync(path)) };
  }
  if (args.data) {
    const { input, dataset, namesFrom } = datasetInputFromFolder(args.data, args.labelNames ?? null);
    console.log(`data: ${dataset.name}, classes ${dataset.labelNames.join(', ')} (names: ${namesFrom})`);
    inputs[DATASET_INPUT] = input;
  }
  if (args.out) mkdirSync(args.out, { recursive: true });
  const records: MetricRecord[] = [];
  const samples: unknown[] = [];
  const sampleEvents: { at: Position; rows: unknown[] }[] = [];
  const printRow = tablePrinter();
  let last: RunCheckpoint | null = null;
  let lastPrinted = 0;
  const started = performance.now();
  const sandbox = nodeSandbox(); // its worker starts at the first program, so other experiments pay nothing
  let cpu: CpuReport | null = null;
  const summary = await exp.run(config, {
    seed: args.seed,
    createBackend: async (c) => {
      const created = await createCpuBackend(c, args.cpu);
      if (!cpu) console.error(`  CPU: ${created.cpu.reason}`);
      cpu ??= created.cpu;
      return created.backend;
    },
    now: () => performance.now(),
    embed,
    ...(text.generateText ? { generateText: text.generateText } : {}),
    runProgram: (source, input, limits) => sandbox.run(source, input, limits),
    inputs,
    emit: (e) => {
      switch (e.type) {
        case 'metrics': {
          records.push(e.record);
          const row = exp.tableRow?.(e.record);
          if (row) printRow(row);
          break;
        }
        case 'samples':
          for (const row of e.rows) samples.push({ at: e.at, ...(row as object) });
          sampleEvents.push({ at: e.at, rows: e.rows });
          break;
        case 'checkpoint':
          last = e.checkpoint;
          break;
        case 'progress': {
          const now = performance.now();
          if (now - lastPrinted > 5000) {
            lastPrinted = now;
            console.error(`  ${e.phase}: ${Math.round((100 * e.done) / e.total)}%`);
          }
          break;
        }
        case 'log':
          console.error(`  ${e.message}`);
          break;
        case 'step':
          break;
        default:
          e satisfies never;
      }
    },
  }).finally(async () => {
    sandbox.close();
    await text.close();
  });
  const seconds = (performance.now() - started) / 1000;
  if (args.out) {
    const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
    writeFileSync(join(args.out, 'metrics.jsonl'), jsonl(records));
    writeFileSync(join(args.out, 'samples.jsonl'), jsonl(samples));
    const datasets = exp.datasets?.(config, args.seed) ?? {};
    for (const [file, rows] of Object.entries(datasets)) writeFileSync(join(args.out, file), jsonl(rows));
    const ckpt = last as RunCheckpoint | null;
    // A run that trains no model of its own (a pretrained coder, used as it is) has no weights to write.
    const trained = ckpt?.modelConfig && ckpt.tokenizer ? { config: ckpt.modelConfig, tokenizer: ckpt.tokenizer } : null;
    if (ckpt && trained) {
      writeFileSync(join(args.out, 'model.safetensors'), encodeCheckpoint({
        config: trained.config, params: ckpt.params, tokenizer: tokenizerFromJSON(trained.tokenizer),
        meta: { experiment: exp.name, seed: String(args.seed), checkpoint: ckpt.label },
      }));
    }
    // A symbiosis run that trained a corpus Generator also writes it, as the page's Keep exports it (docs/symbiosis.md).
    const generatorFile = ckpt?.extraParams.generator ? encodeGeneratorFile(generatorFromRun(ckpt, records)) : null;
    if (generatorFile) writeFileSync(join(args.out, 'generator.safetensors'), generatorFile);
    const environment = {
      backend: 'cpu' as const, runtime: `node ${process.version}`, platform: `${process.platform}-${process.arch}`,
      ...(cpu ? { description: `CPU (${(cpu as CpuReport).engine === 'wasm' ? 'WebAssembly' : 'TypeScript'})`, reason: (cpu as CpuReport).reason } : {}),
    };
    writeFileSync(join(args.out, 'summary.json'), JSON.stringify({
      experiment: exp.name, preset: args.preset, seed: args.seed, config, environment, ...(summary as object), seconds,
    }, null, 2) + '\n');
    writeFileSync(join(args.out, 'run.jsonl'), formatRunFile({
      run: { experiment: exp.name, preset: args.preset, seed: args.seed, config, environment, status: 'done', summary },
      metrics: records, samples: sampleEvents, datasets,
    }));
    console.log(`wrote ${args.out}/{metrics.jsonl,samples.jsonl,summary.json,run.jsonl${trained ? ',model.safetensors' : ''}${generatorFile ? ',generator.safetensors' : ''}${Object.keys(datasets).map((f) => ',' + f).join('')}}`);
  }
  return summary;
}
