/**
 * Checkpoints (safetensors): bit-exact round trips, the framing as the format
 * specifies it, one error per kind of malformed file, and PyTorch interop:
 * test/reference/load_checkpoint.py loads the file into the reference torch
 * GPT and its logits must match the CPU backend's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { OptimizerState } from '../../src/core/backend';
import { CpuBackend } from '../../src/core/backends/cpu';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../src/core/checkpoint';
import { type GptConfig, paramLayout } from '../../src/core/gpt/config';
import { Rng } from '../../src/core/rng';
import { CharTokenizer, alphabetFromCorpus, trainBpe } from '../../src/core/tokenizer/index';

const config: GptConfig = { vocabSize: 40, contextLength: 8, dModel: 16, nLayers: 2, nHeads: 4 };
const layout = paramLayout(config);

function randomFloats(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

function randomOptimizer(rng: Rng): OptimizerState {
  const v = randomFloats(rng, layout.total);
  return { step: 1234, m: randomFloats(rng, layout.total), v: v.map(Math.abs) };
}

const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

// ---------------------------------------------------------------------------
// A minimal safetensors reader/writer for building malformed files.

interface RawTensor { name: string; dtype: string; shape: number[]; data: Uint8Array }

function readRaw(bytes: Uint8Array): { tensors: RawTensor[]; metadata: Record<string, string> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const { __metadata__: metadata, ...rest } = header;
  const tensors = Object.entries(rest as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>)
    .map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape, data: bytes.slice(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) }));
  return { tensors, metadata };
}

type HeaderEntry = { dtype: string; shape: number[]; data_offsets: number[] };

/** Lay tensors out contiguously; `edit` may then change the entries and metadata before the bytes are written. */
function writeRaw(
  tensors: RawTensor[], metadata: Record<string, string> | undefined,
  edit: (entries: Record<string, HeaderEntry>, metadata: Record<string, unknown>) => void = () => {},
): Uint8Array {
  const entries: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const t of tensors) {
    entries[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const meta: Record<string, unknown> = { ...metadata };
  edit(entries, meta);
  const header = metadata ? { ...entries, __metadata__: meta } : entries;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const t of tensors) {
    out.set(t.data, p);
    p += t.data.length;
  }
  return out;
}

function expectCheckpointError(bytes: Uint8Array, message: RegExp): void {
  expect(() => decodeCheckpoint(bytes)).toThrow(CheckpointError);
  expect(() => decodeCheckpoint(bytes)).toThrow(message);
}

// ---------------------------------------------------------------------------

describe('round trip', () => {
  test('params, optimizer, tokenizer and meta come back bit-exact', () => {
    const rng = Rng.fromSeed(1);
    const params = randomFloats(rng, layout.total);
    // Special values must survive too: the data is copied as bytes, never re-parsed.
    params.set([0, -0, Infinity, -Infinity, NaN, 1e-45, -3.4028234663852886e38], 0);
    const optimizer = randomOptimizer(rng);
    const tokenizer = new CharTokenizer(alphabetFromCorpus('hello wörld 😀, the quick brown fox'));
    const meta = { run: 'abc-123', note: 'ünïcode ✓', generation: '3' };
    const bytes = encodeCheckpoint({ config, params, tokenizer, optimizer, meta });
    const back = decodeCheckpoint(bytes);
    expect(back.config).toEqual(config);
    expect(bitsOf(back.params)).toEqual(bitsOf(params));
    expect(back.optimizer!.step).toBe(1234);
    expect(bitsOf(back.optimizer!.m)).toEqual(bitsOf(optimizer.m));
    expect(bitsOf(back.optimizer!.v)).toEqual(bitsOf(optimizer.v));
    expect(back.tokenizer!.toJSON()).toEqual(tokenizer.toJSON());
    expect(back.meta).toEqual(meta);
  });

  test('a BPE tokenizer round-trips; optional parts stay absent when not written', () => {
    const tokenizer = trainBpe('the cat sat on the mat; the cat ate the rat', { vocabSize: 270 });
    const cfg = { ...config, vocabSize: tokenizer.vocabSize };
    const params = randomFloats(Rng.fromSeed(2), paramLayout(cfg).total);
    const back = decodeCheckpoint(encodeCheckpoint({ config: cfg, params, tokenizer }));
    expect(back.tokenizer!.toJSON()).toEqual(tokenizer.toJSON());
    expect(back.tokenizer!.encode('the cat')).toEqual(tokenizer.encode('the cat'));
    const bare = decodeCheckpoint(encodeCheckpoint({ config, params: randomFloats(Rng.fromSeed(3), layout.total) }));
    expect(bare.tokenizer).toBeUndefined();
    expect(bare.optimizer).toBeUndefined();
    expect(bare.meta).toEqual({});
  });

  test('decoded buffers are fresh copies (a later change to the file bytes does not reach them)', () => {
    const params = randomFloats(Rng.fromSeed(4), layout.total);
    const bytes = encodeCheckpoint({ config, params });
    const back = decodeCheckpoint(bytes);
    bytes.fill(0, bytes.length - 64);
    expect(bitsOf(back.params)).toEqual(bitsOf(params));
  });

  test('decodes from a Uint8Array at an odd offset of a larger buffer', () => {
    const params = randomFloats(Rng.fromSeed(5), layout.total);
    const bytes = encodeCheckpoint({ config, params });
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(bitsOf(decodeCheckpoint(big.subarray(3)).params)).toEqual(bitsOf(params));
  });
});

describe('the file follows the safetensors format', () => {
  const rng = Rng.fromSeed(6);
  const params = randomFloats(rng, layout.total);
  const bytes = encodeCheckpoint({ config, params, optimizer: randomOptimizer(rng), meta: { a: 'b' } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));

  test('u64 LE header length, JSON header padded with spaces to 8-byte alignment, data to the end', () => {
    expect((8 + n) % 8).toBe(0);
    expect(bytes[8]).toBe(0x7b); // '{'
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const ends = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, e]) => (e as { data_offsets: number[] }).data_offsets[1]!);
    expect(Math.max(...ends)).toBe(bytes.length - 8 - n);
  });

  test('every view under its nanoGPT name, F32, (out, in) shapes; moments and metadata', () => {
    for (const view of layout.views) {
      expect(header[view.name]).toMatchObject({ dtype: 'F32', shape: view.shape });
      expect(header[`optimizer.m.${view.name}`]).toMatchObject({ dtype: 'F32', shape: view.shape });
      expect(header[`optimizer.v.${view.name}`]).toMatchObject({ dtype: 'F32', shape: view.shape });
    }
    expect(header['transformer.h.1.mlp.c_fc.weight'].shape).toEqual([64, 16]); // (4C, C)
    expect(header['transformer.h.0.attn.c_attn.weight'].shape).toEqual([48, 16]); // (3C, C)
    expect(header.__metadata__).toMatchObject({
      format: 'symbiosis-lab/checkpoint', version: '1', 'optimizer.step': '1234', a: 'b', config: JSON.stringify(config),
    });
    // The first tensor's bytes are the first view's floats, little-endian.
    const wte = header['transformer.wte.weight'];
    const dv = new DataView(bytes.buffer, 8 + n + wte.data_offsets[0]);
    expect(dv.getFloat32(4, true)).toBe(params[1]);
  });
});

describe('encode refuses bad input', () => {
  const params = new Float32Array(layout.total);
  test.each([
    ['params of the wrong length', { config, params: new Float32Array(3) }, /params has 3 floats but the config needs/],
    ['an invalid config', { config: { ...config, nHeads: 5 }, params }, /nHeads: must divide dModel/],
    ['a reserved meta key', { config, params, meta: { format: 'x' } }, /meta key 'format' is reserved/],
    ['a tokenizer larger than the vocabulary', { config, params, tokenizer: trainBpe('abc', { vocabSize: 300 }) }, /do not fit the model's vocabSize 40/],
    ['moments of the wrong length', { config, params, optimizer: { step: 1, m: new Float32Array(2), v: new Float32Array(2) } }, /optimizer moments must have/],
  ])('%s', (_, input, message) => {
    expect(() => encodeCheckpoint(input as Parameters<typeof encodeCheckpoint>[0])).toThrow(message);
  });
});

describe('decode: each malformed file gets its own error, and nothing is loaded', () => {
  const rng = Rng.fromSeed(7);
  const good = encodeCheckpoint({
    config, params: randomFloats(rng, layout.total), optimizer: randomOptimizer(rng),
    tokenizer: new CharTokenizer(alphabetFromCorpus('abcdefghij klmnopqrstuvwxyz.,')),
  });
  const raw = readRaw(good);
  const without = (name: string) => raw.tensors.filter((t) => t.name !== name);
  const withMeta = (patch: Record<string, string | undefined>) => {
    const metadata = { ...raw.metadata, ...patch };
    for (const k of Object.keys(patch)) if (patch[k] === undefined) delete metadata[k];
    return writeRaw(raw.tensors, metadata as Record<string, string>);
  };

  test('the reader helper itself round-trips the good file', () => {
    expect(bitsOf(decodeCheckpoint(writeRaw(raw.tensors, raw.metadata)).params)).toEqual(bitsOf(decodeCheckpoint(good).params));
  });

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['empty', () => new Uint8Array(0), /not a safetensors file: 0 bytes is shorter than the 8-byte header length/],
    ['a PNG', () => Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13), /not a safetensors file: the first 8 bytes give a header length/],
    ['JSON text', () => new TextEncoder().encode('{"format": "symbiosis-lab/checkpoint"}'), /not a safetensors file: the first 8 bytes/],
    ['a header that is not JSON', () => {
      const b = good.slice();
      b[9] = 0x21; // '!' inside the JSON
      return b;
    }, /not a safetensors file: the header is not UTF-8 JSON/],
    ['a header that is a JSON array', () => {
      const json = new TextEncoder().encode('[1, 2, 3]');
      const b = new Uint8Array(8 + json.length);
      new DataView(b.buffer).setBigUint64(0, BigInt(json.length), true);
      b.set(json, 8);
      return b;
    }, /header does not start with '\{'/],
    ['truncated in the header', () => good.slice(0, 100), /file is truncated: the header needs \d+ bytes after the first 8, but only 92 are there/],
    ['truncated in the data', () => good.slice(0, good.length - 4), /file is truncated: tensor optimizer\.v\.transformer\.ln_f\.bias ends at data byte/],
    ['trailing bytes', () => {
      const b = new Uint8Array(good.length + 4);
      b.set(good);
      return b;
    }, /4 bytes after the last tensor belong to no tensor/],
    ['a foreign safetensors file (no metadata)', () => writeRaw(raw.tensors, undefined),
      /a safetensors file without Symbiosis Lab metadata/],
    ['another program\'s format tag', () => withMeta({ format: 'pt' }), /__metadata__\.format is 'pt', not 'symbiosis-lab\/checkpoint'/],
    ['a newer version', () => withMeta({ version: '2' }), /format version 2 is not supported \(this build reads 1\): it was written by a newer Symbiosis Lab; reload the page/],
    ['an older version', () => withMeta({ version: '0' }), /format version 0 is not supported .*older Symbiosis Lab/],
    ['no version', () => withMeta({ version: undefined }), /format version \(missing\) is not supported/],
    ['no config', () => withMeta({ config: undefined }), /__metadata__\.config \(the model config\) is missing/],
    ['config not JSON', () => withMeta({ config: '{vocab' }), /__metadata__\.config is not valid JSON/],
    ['an invalid config', () => withMeta({ config: JSON.stringify({ ...config, nHeads: 3 }) }), /__metadata__\.config: model config: nHeads: must divide dModel \(16\), got 3/],
    ['an invalid tokenizer', () => withMeta({ tokenizer: JSON.stringify({ format: 'symbiosis-lab/tokenizer', version: 9, kind: 'char', alphabet: 'ab' }) }),
      /__metadata__\.tokenizer: tokenizer: version: unsupported tokenizer version 9/],
    ['a missing tensor', () => writeRaw(without('transformer.h.1.attn.c_proj.bias'), raw.metadata), /missing tensor transformer\.h\.1\.attn\.c_proj\.bias$/],
    ['a missing optimizer moment', () => writeRaw(without('optimizer.v.transformer.wpe.weight'), raw.metadata), /missing tensor optimizer\.v\.transformer\.wpe\.weight$/],
    ['a shape mismatch', () => writeRaw(raw.tensors, raw.metadata, (h) => {
      h['transformer.h.0.mlp.c_fc.weight']!.shape = [16, 64]; // transposed: (in, out) as a Conv1D would store it
    }), /shape mismatch for transformer\.h\.0\.mlp\.c_fc\.weight: the file has \(16, 64\), the config expects \(64, 16\)/],
    ['a dtype other than F32', () => writeRaw(raw.tensors.map((t) => (t.name === 'transformer.wpe.weight' ? { ...t, dtype: 'F16', shape: [8, 32] } : t)), raw.metadata),
      /tensor transformer\.wpe\.weight has dtype F16; Symbiosis Lab checkpoints are F32/],
    ['offsets that do not match the shape', () => writeRaw(raw.tensors, raw.metadata, (h) => {
      h['transformer.ln_f.weight']!.shape = [15];
    }), /tensor transformer\.ln_f\.weight: data_offsets span 64 bytes but an F32 tensor of shape \(15\) needs 60/],
    ['overlapping offsets', () => writeRaw(raw.tensors, raw.metadata, (h) => {
      const [a0, a1] = h['transformer.h.0.ln_1.weight']!.data_offsets as [number, number];
      h['transformer.h.0.ln_1.bias']!.data_offsets = [a0 + 4, a1 + 4];
    }), /tensors transformer\.h\.0\.ln_1\.weight \[\d+, \d+\) and transformer\.h\.0\.ln_1\.bias \[\d+, \d+\) overlap/],
    ['inverted offsets', () => writeRaw(raw.tensors, raw.metadata, (h) => {
      h['transformer.ln_f.bias']!.data_offsets.reverse();
    }), /tensor transformer\.ln_f\.bias: data_offsets must be \[begin, end\] with 0 ≤ begin ≤ end/],
    ['an unexpected tensor', () => writeRaw([...raw.tensors, { name: 'lm_head.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }], raw.metadata),
      /unexpected tensor lm_head\.weight \(not part of this config's layout\)/],
    ['a bad optimizer step', () => withMeta({ 'optimizer.step': '12.5' }), /__metadata__\.optimizer\.step must be a non-negative integer string, got 12\.5/],
    ['non-string metadata', () => writeRaw(raw.tensors, raw.metadata, (_, m) => {
      m.version = 1;
    }), /__metadata__ must be an object of string values/],
  ];
  for (const [what, make, message] of cases) {
    test(what, () => expectCheckpointError(make(), message));
  }
});

// ---------------------------------------------------------------------------
// PyTorch interop. Debian's python3-torch, never the pyenv python3 on PATH.

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../reference/load_checkpoint.py', import.meta.url));
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const hasTorch = torchCheck.status === 0;
if (!hasTorch) {
  console.warn(`SKIPPING the PyTorch interop test: ${PYTHON} cannot import torch (apt-get install python3-torch). ${torchCheck.error?.message ?? torchCheck.stderr}`);
}

describe.skipIf(!hasTorch)('PyTorch interop', () => {
  test('load_checkpoint.py loads the file into the torch reference GPT; its logits match the CPU backend within 1e-4', async () => {
    const text = 'the lab writes safetensors; torch reads them.';
    const tokenizer = new CharTokenizer(alphabetFromCorpus(text));
    const cfg: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 12, dModel: 16, nLayers: 2, nHeads: 4 };
    const lay = paramLayout(cfg);
    // Every parameter random and non-trivial (biases too, LayerNorm weights around 1),
    // so a tensor loaded under the wrong name changes the logits.
    const rng = Rng.fromSeed(8);
    const params = randomFloats(rng, lay.total, 0.3);
    for (const view of lay.views) {
      if (/ln_[12f]?\.weight$/.test(view.name)) for (let i = view.offset; i < view.offset + view.size; i++) params[i] = params[i]! + 1;
    }
    const optimizer = { step: 7, m: randomFloats(rng, lay.total), v: randomFloats(rng, lay.total).map(Math.abs) };
    const B = 2;
    const T = 10;
    const ids = tokenizer.encode(text);
    const rows = [ids.slice(0, T), ids.slice(ids.length - T)];

    const backend = new CpuBackend(cfg);
    await backend.setParams(params);
    const ours = await backend.forwardLogits(Int32Array.from(rows.flat()), B, T); // (B,T,V)

    const dir = mkdtempSync(join(tmpdir(), 'symbiosis-ckpt-'));
    try {
      const path = join(dir, 'model.safetensors');
      writeFileSync(path, encodeCheckpoint({ config: cfg, params, tokenizer, optimizer, meta: { test: 'interop' } }));
      const stdout = execFileSync(PYTHON, [SCRIPT, path, JSON.stringify(rows)], { encoding: 'utf8', timeout: 120_000 });
      const result = JSON.parse(stdout) as { reader: string; config: GptConfig; shape: number[]; logits: number[] };
      expect(result.config).toEqual(cfg);
      expect(result.shape).toEqual([B, T, cfg.vocabSize]);
      let maxDiff = 0;
      for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - result.logits[i]!));
      const maxAbs = Math.max(...result.logits.map(Math.abs));
      console.log(`PyTorch interop (${result.reader} reader): max |logit diff| = ${maxDiff.toExponential(2)} over ${ours.length} logits (max |logit| ${maxAbs.toFixed(2)})`);
      expect(maxAbs).toBeGreaterThan(0.5); // not a degenerate all-zero model
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
