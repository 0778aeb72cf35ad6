/**
 * The corpus Generator (generator 'corpus', docs/symbiosis.md, "A Generator
 * that knows its subject"): a GPT with its own tokenizer that learns
 * class-conditional text from its own labelled corpus — the rows of the
 * dataset's train split that the Student never sees (not in its pool,
 * validation or test) — and its file: safetensors (core/checkpoint) with the
 * tokenizer, the class names and the fingerprint of its corpus in the
 * metadata. A run given a Generator file draws its pool, validation and test
 * only from rows outside that corpus, so the two stay disjoint however the
 * Generator was made. Pure: no backend here (setup.ts trains it).
 */
import * as v from 'valibot';
import { type LabelledDataset, type LabelledRow, stratifiedSample } from '../../core/data/labelled';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../core/checkpoint';
import { type GptConfig, validateGptConfig } from '../../core/gpt/config';
import type { Key } from '../../core/rng';
import { type Tokenizer, tokenizerFromJSON } from '../../core/tokenizer';
import { type GeneratorRecord, STATE_VERSION, type SetupRecord, position, record, state } from './records';
import { normalise } from './text';

/** `__metadata__.kind` of a Generator file (its `format` is the checkpoint's). */
export const GENERATOR_FILE_KIND = 'symbiosis-generator';
/** The run input a Generator file is given under (ctx.inputs). */
export const GENERATOR_INPUT = 'generator';

/** 32-bit FNV-1a over the UTF-16 code units of the normalised text: the fingerprint of a row (a collision only keeps a row out of a split). */
export function textHash(text: string): number {
  const s = normalise(text);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The sorted, distinct fingerprints of some texts. */
export function corpusHashes(texts: readonly string[]): Uint32Array {
  const sorted = Uint32Array.from(texts, textHash).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i]!;
  return sorted.slice(0, n);
}

/** Whether `hash` is in the sorted `hashes` (binary search). */
export function hasHash(hashes: Uint32Array, hash: number): boolean {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo < hashes.length && hashes[lo] === hash;
}

/** Fingerprints as base64 of their little-endian bytes (safetensors metadata holds strings), and back. */
export function hashesToBase64(hashes: Uint32Array): string {
  const bytes = new Uint8Array(hashes.length * 4);
  const view = new DataView(bytes.buffer);
  hashes.forEach((h, i) => view.setUint32(4 * i, h, true));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function hashesFromBase64(text: string): Uint32Array {
  const binary = atob(text);
  if (binary.length % 4 !== 0) throw new Error(`${binary.length} bytes is not a whole number of 4-byte fingerprints`);
  const view = new DataView(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)).buffer);
  const hashes = Uint32Array.from({ length: binary.length / 4 }, (_, i) => view.getUint32(4 * i, true));
  for (let i = 1; i < hashes.length; i++) if (hashes[i]! <= hashes[i - 1]!) throw new Error('the fingerprints are not sorted and distinct');
  return hashes;
}

/** The dataset without the rows whose fingerprint is in `hashes` (a loaded Generator's corpus), and how many were removed. */
export function withoutCorpus(dataset: LabelledDataset, hashes: Uint32Array): { dataset: LabelledDataset; removed: number } {
  let removed = 0;
  const splits: Record<string, LabelledRow[]> = {};
  for (const [name, rows] of Object.entries(dataset.splits)) {
    splits[name] = rows.filter((r) => {
      const inCorpus = hasHash(hashes, textHash(r.text));
      if (inCorpus) removed++;
      return !inCorpus;
    });
  }
  return { dataset: { ...dataset, splits }, removed };
}

/**
 * The Generator's own corpus: the rows of the split the Student's pool is
 * drawn from (train, else every split) whose text is in none of `used` (the
 * replicate's pool, validation and test); at most `max` of them (0: all),
 * class-balanced as far as the data allows. Throws naming generatorCorpusSize
 * when fewer than `min` rows are left.
 */
export function generatorCorpus(
  dataset: LabelledDataset, used: readonly (readonly LabelledRow[])[], max: number, min: number, key: Key,
): LabelledRow[] {
  const taken = new Set(used.flatMap((rows) => rows.map((r) => normalise(r.text))));
  const from = 'train' in dataset.splits ? ['train'] : Object.keys(dataset.splits);
  const seen = new Set<string>();
  const rows: LabelledRow[] = [];
  for (const s of from) {
    for (const r of dataset.splits[s]!) {
      const text = normalise(r.text);
      if (taken.has(text) || seen.has(text)) continue;
      seen.add(text);
      rows.push({ text, label: r.label });
    }
  }
  if (rows.length < min) {
    throw new Error(
      `generatorCorpusSize: only ${rows.length} rows of split ${from.join(' + ')} are left for the Generator's own corpus after the Student's pool, ` +
      `validation and test (it needs at least ${min}): load more rows, shrink the pool, or choose generator 'tiny'`,
    );
  }
  return max > 0 && rows.length > max ? stratifiedSample(rows, max, key, 'generatorCorpusSize') : rows;
}

/** What a Generator file holds besides its parameters. */
export interface GeneratorInfo {
  /** The dataset it learnt from, and its class names (label i is labelNames[i]). */
  dataset: string;
  labelNames: string[];
  /** Text tokens it writes at most (its rows are BOS · label · SEP · text · EOS). */
  maxTokens: number;
  /** Rows of its corpus, and their fingerprints (sorted, distinct). */
  corpusRows: number;
  corpusHashes: Uint32Array;
  /** Optimizer steps it was trained for, and its final training loss (nats per token; null: not read). */
  steps: number;
  trainLoss: number | null;
  /** Its quality as measured where it was made (a GeneratorQualityRecord as JSON); null: not measured. */
  quality: unknown;
}

export interface GeneratorFile extends GeneratorInfo {
  config: GptConfig;
  params: Float32Array;
  tokenizer: Tokenizer;
}

/** A Generator as safetensors bytes. */
export function encodeGeneratorFile(g: GeneratorFile): Uint8Array {
  return encodeCheckpoint({
    config: g.config, params: g.params, tokenizer: g.tokenizer,
    meta: {
      kind: GENERATOR_FILE_KIND, dataset: g.dataset, labelNames: JSON.stringify(g.labelNames), maxTokens: String(g.maxTokens),
      corpusRows: String(g.corpusRows), corpusHashes: hashesToBase64(g.corpusHashes), steps: String(g.steps),
      trainLoss: g.trainLoss === null ? 'null' : String(g.trainLoss), quality: JSON.stringify(g.quality ?? null),
    },
  });
}

/** Read a Generator file; throws a CheckpointError naming the file and the field at fault (nothing is half-read). */
export function decodeGeneratorFile(bytes: Uint8Array, fileName: string): GeneratorFile {
  const fail = (what: string): never => {
    throw new CheckpointError(`${fileName}: ${what}`);
  };
  let ckpt: ReturnType<typeof decodeCheckpoint>;
  try {
    ckpt = decodeCheckpoint(bytes);
  } catch (e) {
    return fail(e instanceof Error ? e.message.replace(/^checkpoint: /, '') : String(e));
  }
  const m = ckpt.meta;
  if (m.kind !== GENERATOR_FILE_KIND) {
    fail(`not a Generator file (__metadata__.kind is ${m.kind === undefined ? 'missing' : `'${m.kind}'`}, expected '${GENERATOR_FILE_KIND}'): export one from the symbiosis lab`);
  }
  if (!ckpt.tokenizer) fail('__metadata__.tokenizer is missing: a Generator carries its own tokenizer');
  const json = (key: string): unknown => {
    if (m[key] === undefined) return fail(`__metadata__.${key} is missing`);
    try {
      return JSON.parse(m[key]);
    } catch {
      return fail(`__metadata__.${key} is not valid JSON`);
    }
  };
  const whole = (key: string, least: number): number => {
    const n = Number(m[key]);
    if (m[key] === undefined || !/^\d+$/.test(m[key]) || n < least) fail(`__metadata__.${key} must be a whole number ≥ ${least}, got ${m[key] ?? '(missing)'}`);
    return n;
  };
  const labelNames = json('labelNames');
  if (!Array.isArray(labelNames) || labelNames.length < 2 || !labelNames.every((x) => typeof x === 'string' && x.trim() !== '')) {
    fail('__metadata__.labelNames must be a list of at least 2 class names');
  }
  const maxTokens = whole('maxTokens', 1);
  if (maxTokens + 4 > ckpt.config.contextLength) fail(`__metadata__.maxTokens ${maxTokens} does not fit the model's context (${ckpt.config.contextLength} − 4)`);
  let hashes: Uint32Array;
  try {
    hashes = hashesFromBase64(m.corpusHashes ?? fail('__metadata__.corpusHashes is missing'));
  } catch (e) {
    return fail(`__metadata__.corpusHashes: ${(e as Error).message}`);
  }
  const trainLoss = json('trainLoss');
  if (trainLoss !== null && typeof trainLoss !== 'number') fail('__metadata__.trainLoss must be a number or null');
  return {
    config: ckpt.config, params: ckpt.params, tokenizer: ckpt.tokenizer!, dataset: m.dataset ?? fail('__metadata__.dataset is missing'),
    labelNames: labelNames as string[], maxTokens, corpusRows: whole('corpusRows', 0), corpusHashes: hashes, steps: whole('steps', 0),
    trainLoss: trainLoss as number | null, quality: m.quality === undefined ? null : json('quality'),
  };
}

/** Why a Generator cannot write for a dataset with these classes (its classes must be the same, in the same order), else null. */
export function classMismatch(generator: readonly string[], dataset: readonly string[]): string | null {
  const same = generator.length === dataset.length && generator.every((n, i) => n.trim().toLowerCase() === dataset[i]!.trim().toLowerCase());
  return same ? null : `it writes the classes ${generator.join(', ')}, but the dataset has ${dataset.join(', ')}: choose a Generator made for this dataset`;
}

/**
 * The corpus Generator a run trained, as a Generator file, from the run's
 * latest checkpoint (its parameters are extra 'generator', its tokenizer and
 * shape in the state) and its records (the dataset's classes, the quality
 * measured for that replicate). Throws, saying why, when the run has none.
 */
export function generatorFromRun(
  checkpoint: { at: unknown; extraParams: Record<string, Float32Array>; state: unknown; stateVersion: number; experiment: string },
  records: readonly unknown[],
): GeneratorFile {
  if (checkpoint.experiment !== 'symbiosis') throw new Error(`this run is a ${checkpoint.experiment} run: only symbiosis runs train a Generator`);
  if (checkpoint.stateVersion !== STATE_VERSION) throw new Error('this run was saved by another version of the symbiosis lab: its Generator cannot be read');
  const parsed = v.safeParse(state, checkpoint.state);
  if (!parsed.success) throw new Error('this run\'s checkpoint cannot be read: its Generator cannot be kept');
  const trained = parsed.output.trainedGenerator;
  const params = checkpoint.extraParams.generator;
  if (!trained || !params) throw new Error('this run did not train a corpus Generator (it used a saved one, the tiny one or a pretrained model)');
  const at = v.safeParse(position, checkpoint.at);
  const rep = at.success ? at.output.replicate : 0;
  const typed = records.flatMap((r) => {
    const x = v.safeParse(record, r);
    return x.success ? [x.output] : [];
  });
  const setup = typed.find((r): r is SetupRecord => r.kind === 'setup' && r.replicate === rep);
  if (!setup) throw new Error("this run's setup record is missing: the Generator's classes are not known");
  const quality = typed.find((r): r is GeneratorRecord => r.kind === 'generator' && r.replicate === rep);
  const { examples: _examples, ...measured } = quality ?? { examples: [] };
  const tokenizer = tokenizerFromJSON(trained.tokenizer);
  return {
    config: validateGptConfig(trained.config), params, tokenizer, dataset: setup.dataset, labelNames: [...setup.labelNames],
    maxTokens: trained.maxTokens, corpusRows: trained.corpusRows, corpusHashes: hashesFromBase64(trained.corpusHashes),
    steps: trained.steps, trainLoss: trained.trainLoss, quality: quality ? measured : null,
  };
}
