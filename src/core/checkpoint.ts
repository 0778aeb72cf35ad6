/**
 * Checkpoints as safetensors files (https://github.com/huggingface/safetensors):
 *
 *   [0, 8)          N, the header length in bytes (uint64, little-endian)
 *   [8, 8+N)        UTF-8 JSON header, padded with spaces so 8+N is a multiple of 8:
 *                   { "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 *                     ..., "__metadata__": {"<key>": "<string>"} }
 *   [8+N, end)      the tensors' raw little-endian bytes; offsets are relative to 8+N,
 *                   and the tensors tile the data section with no gaps or overlaps.
 *
 * What a Symbiosis Lab checkpoint holds:
 *   - every parameter view under its nanoGPT state_dict name, with its shape
 *     (matrices (out, in)), in `paramLayout` order — so `safetensors.torch.load_file`
 *     + nanoGPT's GPT.load_state_dict(strict=False) take it as it is;
 *   - optionally the AdamW moments as `optimizer.m.<name>` / `optimizer.v.<name>`;
 *   - metadata: `format` = 'symbiosis-lab/checkpoint', `version`, `config` (the
 *     GptConfig as JSON), `tokenizer` (its JSON, optional), `optimizer.step`
 *     (with the moments), plus the caller's own string keys.
 *
 * Library choice: the framing is written here rather than taken from npm. The
 * registry has no maintained safetensors package that writes files: `safetensors`
 * (0.0.1, one release, untyped) is a reader tied to IndexedDB and `window`;
 * `@jax-js/loaders` has a typed reader only, brings protobuf and sentencepiece
 * along, and checks neither offsets nor sizes; `@huggingface/hub` parses the
 * headers of files on the Hub. The format is ~100 lines, and the checks a
 * loader of untrusted files needs (truncation, overlaps, sizes vs shapes) are
 * the part those readers leave out.
 *
 * Decoding validates the whole file before returning anything and copies the
 * tensors into fresh buffers, so a malformed file is never half-loaded.
 */
import type { OptimizerState } from './backend';
import { type GptConfig, type ParamView, paramLayout, validateGptConfig } from './gpt/config';
import { ConfigError } from './schema';
import { type Tokenizer, tokenizerFromJSON } from './tokenizer/index';

/** The `__metadata__.format` tag of a Symbiosis Lab checkpoint. */
export const CHECKPOINT_FORMAT = 'symbiosis-lab/checkpoint';
/** Bumped when the layout or metadata change incompatibly; readers accept only this one. */
export const CHECKPOINT_VERSION = 1;

/** Metadata keys the checkpoint itself uses; callers' `meta` may not reuse them. */
const RESERVED_META = new Set(['format', 'version', 'config', 'tokenizer', 'optimizer.step']);
/** The safetensors reference implementation refuses headers above 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
const OPT_M = 'optimizer.m.';
const OPT_V = 'optimizer.v.';

/** A model with what is needed to resume or reuse it. */
export interface Checkpoint {
  config: GptConfig;
  /** All parameters, layout.total floats in `paramLayout(config)` order. */
  params: Float32Array;
  tokenizer?: Tokenizer;
  optimizer?: OptimizerState;
  /** The caller's own metadata (string → string). */
  meta?: Record<string, string>;
}

/** Raised for a file that cannot be loaded; nothing from it has been used. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}

// The tensors are copied as raw bytes into Float32Arrays, which use the
// host's byte order; every browser and Node platform is little-endian.
const hostIsLittleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

const shapeText = (shape: readonly number[]): string => `(${shape.join(', ')})`;

/** Serialize a model (and optionally tokenizer, optimizer moments, metadata) as safetensors bytes. */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  if (!hostIsLittleEndian) throw new CheckpointError('this platform is big-endian; safetensors data is little-endian');
  const config = validateGptConfig(checkpoint.config);
  const { params, tokenizer, optimizer, meta = {} } = checkpoint;
  const layout = paramLayout(config);
  if (params.length !== layout.total) {
    throw new CheckpointError(`params has ${params.length} floats but the config needs ${layout.total}`);
  }
  if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
    throw new CheckpointError(`the tokenizer's ${tokenizer.vocabSize} ids do not fit the model's vocabSize ${config.vocabSize}`);
  }
  if (optimizer) {
    if (optimizer.m.length !== layout.total || optimizer.v.length !== layout.total) {
      throw new CheckpointError(`optimizer moments must have ${layout.total} floats (m has ${optimizer.m.length}, v has ${optimizer.v.length})`);
    }
    if (!Number.isSafeInteger(optimizer.step) || optimizer.step < 0) {
      throw new CheckpointError(`optimizer.step must be a non-negative integer, got ${optimizer.step}`);
    }
  }
  for (const [key, value] of Object.entries(meta)) {
    if (RESERVED_META.has(key)) throw new CheckpointError(`meta key '${key}' is reserved for the checkpoint itself`);
    if (typeof value !== 'string') throw new CheckpointError(`meta '${key}' must be a string (safetensors metadata is string → string)`);
  }

  // Tensors in order: params, then m, then v; each (buffer, view) pair is one tensor.
  const tensors: { name: string; source: Float32Array; view: ParamView }[] = [];
  for (const view of layout.views) tensors.push({ name: view.name, source: params, view });
  if (optimizer) {
    for (const view of layout.views) tensors.push({ name: OPT_M + view.name, source: optimizer.m, view });
    for (const view of layout.views) tensors.push({ name: OPT_V + view.name, source: optimizer.v, view });
  }

  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    config: JSON.stringify(config),
  };
  if (tokenizer) metadata.tokenizer = JSON.stringify(tokenizer.toJSON());
  if (optimizer) metadata['optimizer.step'] = String(optimizer.step);
  Object.assign(metadata, meta);

  const header: Record<string, unknown> = {};
  let dataBytes = 0;
  for (const t of tensors) {
    const begin = dataBytes;
    dataBytes += t.view.size * 4;
    header[t.name] = { dtype: 'F32', shape: t.view.shape, data_offsets: [begin, dataBytes] };
  }
  header.__metadata__ = metadata;

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 8) * 8; // pad so the data starts 8-aligned
  const out = new Uint8Array(8 + headerBytes + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let offset = 8 + headerBytes;
  for (const t of tensors) {
    const floats = t.source.subarray(t.view.offset, t.view.offset + t.view.size);
    out.set(new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength), offset);
    offset += floats.byteLength;
  }
  return out;
}

/** One validated entry of the header. */
interface TensorEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

const isNonNegInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Parse and check the safetensors framing: the header's tensors (offsets relative to the data section) and metadata. */
function readSafetensors(bytes: Uint8Array): { tensors: Map<string, TensorEntry>; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) {
    throw new CheckpointError(`not a safetensors file: ${bytes.length} bytes is shorter than the 8-byte header length`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength < 2n || headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(`not a safetensors file: the first 8 bytes give a header length of ${headerLength} bytes`);
  }
  const n = Number(headerLength);
  if (bytes[8] !== 0x7b) throw new CheckpointError("not a safetensors file: the header does not start with '{'");
  if (8 + n > bytes.length) {
    throw new CheckpointError(`file is truncated: the header needs ${n} bytes after the first 8, but only ${bytes.length - 8} are there`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new CheckpointError(`not a safetensors file: the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError('not a safetensors file: the header is not a JSON object');
  }

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)
        || !Object.values(value).every((x) => typeof x === 'string')) {
        throw new CheckpointError('__metadata__ must be an object of string values');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof entry !== 'object' || entry === null) throw new CheckpointError(`tensor ${name}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string') throw new CheckpointError(`tensor ${name}: dtype is missing`);
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new CheckpointError(`tensor ${name}: shape must be an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
      throw new CheckpointError(`tensor ${name}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end`);
    }
    if (dtype !== 'F32') {
      throw new CheckpointError(`tensor ${name} has dtype ${dtype}; Symbiosis Lab checkpoints are F32 (convert with tensor.float())`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * 4;
    if (end - begin !== expected) {
      throw new CheckpointError(`tensor ${name}: data_offsets span ${end - begin} bytes but an F32 tensor of shape ${shapeText(shape as number[])} needs ${expected}`);
    }
    if (end > dataLength) {
      throw new CheckpointError(`file is truncated: tensor ${name} ends at data byte ${end} but the data section holds ${dataLength}`);
    }
    tensors.set(name, { name, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data section: sorted by offset, each starts where the last ended.
  const sorted = [...tensors.values()].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  let previous: TensorEntry | null = null;
  for (const t of sorted) {
    if (t.begin < cursor && previous) {
      throw new CheckpointError(`tensors ${previous.name} [${previous.begin}, ${previous.end}) and ${t.name} [${t.begin}, ${t.end}) overlap`);
    }
    if (t.begin > cursor) throw new CheckpointError(`data bytes [${cursor}, ${t.begin}) belong to no tensor (a gap before ${t.name})`);
    cursor = t.end;
    previous = t;
  }
  if (cursor !== dataLength) {
    throw new CheckpointError(`${dataLength - cursor} bytes after the last tensor belong to no tensor`);
  }
  return { tensors, metadata, dataStart };
}

/** Parse safetensors bytes written by `encodeCheckpoint`; throws a CheckpointError (nothing half-loaded) on any problem. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint & { meta: Record<string, string> } {
  if (!hostIsLittleEndian) throw new CheckpointError('this platform is big-endian; safetensors data is little-endian');
  const { tensors, metadata, dataStart } = readSafetensors(bytes);

  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(metadata.format === undefined
      ? `a safetensors file without Symbiosis Lab metadata (no __metadata__.format = '${CHECKPOINT_FORMAT}'); was it exported by another program?`
      : `__metadata__.format is '${metadata.format}', not '${CHECKPOINT_FORMAT}'`);
  }
  if (metadata.version !== String(CHECKPOINT_VERSION)) {
    const got = Number(metadata.version);
    const hint = Number.isInteger(got) && got > CHECKPOINT_VERSION
      ? 'it was written by a newer Symbiosis Lab; reload the page to update'
      : 'it was written by an older Symbiosis Lab, whose checkpoints this build no longer reads';
    throw new CheckpointError(`format version ${metadata.version ?? '(missing)'} is not supported (this build reads ${CHECKPOINT_VERSION}): ${hint}`);
  }

  const parseJsonMeta = (key: string): unknown => {
    const text = metadata[key]!;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new CheckpointError(`__metadata__.${key} is not valid JSON (${(e as Error).message})`);
    }
  };
  const rethrow = (key: string, e: unknown): never => {
    if (e instanceof ConfigError) throw new CheckpointError(`__metadata__.${key}: ${e.message}`);
    throw e;
  };
  if (metadata.config === undefined) throw new CheckpointError('__metadata__.config (the model config) is missing');
  let config: GptConfig;
  try {
    config = validateGptConfig(parseJsonMeta('config'));
  } catch (e) {
    return rethrow('config', e);
  }
  let tokenizer: Tokenizer | undefined;
  if (metadata.tokenizer !== undefined) {
    try {
      tokenizer = tokenizerFromJSON(parseJsonMeta('tokenizer'));
    } catch (e) {
      return rethrow('tokenizer', e);
    }
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(`the tokenizer's ${tokenizer.vocabSize} ids do not fit the model's vocabSize ${config.vocabSize}`);
    }
  }

  const layout = paramLayout(config);
  const hasOptimizer = metadata['optimizer.step'] !== undefined
    || [...tensors.keys()].some((name) => name.startsWith(OPT_M) || name.startsWith(OPT_V));
  // Every tensor the config calls for, name → the view whose shape it must have.
  const expected = new Map<string, ParamView>();
  for (const view of layout.views) {
    expected.set(view.name, view);
    if (hasOptimizer) {
      expected.set(OPT_M + view.name, view);
      expected.set(OPT_V + view.name, view);
    }
  }
  for (const [name, view] of expected) {
    const t = tensors.get(name);
    if (t === undefined) throw new CheckpointError(`missing tensor ${name}`);
    if (t.shape.length !== view.shape.length || t.shape.some((d, i) => d !== view.shape[i])) {
      throw new CheckpointError(`shape mismatch for ${name}: the file has ${shapeText(t.shape)}, the config expects ${shapeText(view.shape)}`);
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new CheckpointError(`unexpected tensor ${name} (not part of this config's layout)`);
  }
  let step = 0;
  if (hasOptimizer) {
    const text = metadata['optimizer.step'];
    step = Number(text);
    if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(step)) {
      throw new CheckpointError(`__metadata__.optimizer.step must be a non-negative integer string, got ${text ?? '(missing)'}`);
    }
  }

  // Everything is valid: copy the bytes into fresh buffers.
  const fill = (target: Float32Array, prefix: string): void => {
    const targetBytes = new Uint8Array(target.buffer);
    for (const view of layout.views) {
      const t = tensors.get(prefix + view.name)!;
      targetBytes.set(bytes.subarray(dataStart + t.begin, dataStart + t.end), view.offset * 4);
    }
  };
  const params = new Float32Array(layout.total);
  fill(params, '');
  let optimizer: OptimizerState | undefined;
  if (hasOptimizer) {
    optimizer = { step, m: new Float32Array(layout.total), v: new Float32Array(layout.total) };
    fill(optimizer.m, OPT_M);
    fill(optimizer.v, OPT_V);
  }
  const meta: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) if (!RESERVED_META.has(key)) meta[key] = value;

  const result: Checkpoint & { meta: Record<string, string> } = { config, params, meta };
  if (tokenizer) result.tokenizer = tokenizer;
  if (optimizer) result.optimizer = optimizer;
  return result;
}
