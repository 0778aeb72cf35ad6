/**
 * Tiny but real pretrained-model folders for transformers.js, made from a
 * seed, so the loading, generation and embedding code runs for real (in Node
 * on onnxruntime-node, in Chromium on onnxruntime-web) with nothing
 * downloaded. Each is the layout `from_pretrained` reads with remote loading
 * off: config.json, tokenizer.json, tokenizer_config.json,
 * (LM) generation_config.json, and onnx/model*.onnx.
 *
 *   tinyLmFiles(opts)        a `qwen2` causal LM: byte-level BPE, learned
 *                            positions, L attention layers with a KV cache
 *                            (past_key_values.* in, present.* out), a tanh MLP;
 *   tinyEmbedderFiles(opts)  a `bert` encoder: token + type + position
 *                            embeddings, a tanh MLP, last_hidden_state out;
 *   writeModelFiles(dir, files)  writes either to disk.
 *
 * The ONNX protobuf is encoded with protobufjs from ONNX_PROTO, a hand-written
 * subset of onnx.proto3 (same field numbers), opset 17.
 *
 * Symbols: B batch, T new tokens, P past tokens, S = P + T, C hidden size,
 * H heads, D head size (C = H·D), F MLP width, V vocabulary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { Rng } from '../../src/core/rng';

// --- ONNX protobuf ------------------------------------------------------------

const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  int32 type = 20;
}
message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated int64 int64_data = 7;
  string name = 8;
  bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const ModelProto = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values. */
const FLOAT = 1;
const INT64 = 7;
const BOOL = 9;
/** AttributeProto.AttributeType values. */
const ATTR_INT = 2;
const ATTR_INTS = 7;

const IR_VERSION = 8;
const OPSET = 17;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: readonly Dim[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** A graph under construction: nodes in topological order, initializers, and fresh names. */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  readonly inputs: object[] = [];
  readonly outputs: object[] = [];
  #next = 0;

  input(name: string, elemType: number, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float tensor stored as little-endian raw bytes. */
  floats(name: string, dims: readonly number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${name}: ${data.length} values for dims ${dims}`);
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: raw });
    return name;
  }

  /** An int64 constant (dims [] for a scalar). */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = `const_${this.#next++}`;
    this.initializers.push({ name, dims, data_type: INT64, int64_data: values });
    return name;
  }

  floatScalar(value: number): string {
    return this.floats(`const_${this.#next++}`, [], new Float32Array([value]));
  }

  /** One node; integer attributes become INT, arrays INTS. Returns its output (named `out`, or fresh). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, number | readonly number[]> = {}, out?: string): string {
    const output = out ?? `${opType.toLowerCase()}_${this.#next++}`;
    const attribute = Object.entries(attrs).map(([name, value]) =>
      typeof value === 'number' ? { name, type: ATTR_INT, i: value } : { name, type: ATTR_INTS, ints: value },
    );
    this.nodes.push({ op_type: opType, name: `${opType}_${this.#next++}`, input: inputs, output: [output], attribute });
    return output;
  }

  encode(name: string): Uint8Array {
    const model = {
      ir_version: IR_VERSION,
      producer_name: 'symbiosis-lab test/support/tiny-onnx',
      opset_import: [{ domain: '', version: OPSET }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    const err = ModelProto.verify(model);
    if (err) throw new Error(`tiny-onnx: invalid ModelProto: ${err}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }
}

/** n values ~ N(0, std²) from the stream. */
function normal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

// --- byte-level BPE tokenizer (GPT-2 / Qwen style) ---------------------------

/** GPT-2's byte → printable character map: printable Latin-1 bytes stand for themselves, the rest move to U+0100…. */
function byteToUnicode(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + shifted++));
  return out;
}

/** A few merges so the BPE model really merges; the results are ids 256…. ('Ġ' is the space byte.) */
const LM_MERGES: [string, string][] = [
  ['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a'], ['e', 'r'], ['o', 'n'], ['Ġ', 's'],
];
const LM_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** ChatML, as Qwen2 uses it (without Qwen's default system prompt and tool branches). */
const CHATML_TEMPLATE =
  "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

// --- the causal LM -------------------------------------------------------------

export interface TinyLmOptions {
  seed?: number;
  /** Attention layers. */
  layers?: number;
  /** Hidden size C (= heads · headSize). */
  hidden?: number;
  heads?: number;
  /**
   * From this position on, the `<|im_end|>` logit grows by `eosSlope` per
   * position (and is pushed down before it), so every row ends, at a length
   * that depends on its prompt; null: no such term (rows run to maxNewTokens).
   */
  eosFrom?: number | null;
  eosSlope?: number;
  /** Added to the space byte's logit: > 0 makes the output fall into words (a text a lab can use). Default 0. */
  spaceBias?: number;
  /** Positions (the context length, in tokens). Default 256; the programs lab's prompts are about 900 byte-level tokens. */
  maxPositions?: number;
}

export interface TinyLm {
  files: Record<string, Uint8Array | string>;
  vocabSize: number;
  /** `<|im_end|>`: the end of an assistant turn, the stop token. */
  eosId: number;
  /** `<|endoftext|>`: the pad token (and a second stop token). */
  padId: number;
  layers: number;
  heads: number;
  headSize: number;
}

/**
 * A `qwen2`-type causal LM (what `onnx-community/Qwen2.5-0.5B-Instruct`
 * exports) small enough for a unit test. Graph, per call:
 *   x = wte[input_ids] + wpe[position_ids]                         (B,T,C)
 *   per layer l: q,k,v = x·Wq, x·Wk, x·Wv → (B,H,T,D);
 *     K = concat(past.l.key, k), V = concat(past.l.value, v)       (B,H,S,D) → present.l.*
 *     A = softmax(q·Kᵀ/√D, masked where key j > query's position P+t or attention_mask[j] = 0)
 *     x += (A·V → (B,T,C))·Wo;  x += tanh(x·W1)·W2
 *   logits = x·Wlm + bias + eos term                               (B,T,V)
 * The bias keeps the output readable (−30 on bytes outside printable ASCII
 * and on the specials but `<|im_end|>`). `model_q4.onnx` is the same float
 * graph under the name transformers.js loads for dtype 'q4' (the tiny model
 * has nothing worth quantizing); the dtype choice and file naming are what
 * is exercised.
 */
export function tinyLmFiles(opts: TinyLmOptions = {}): TinyLm {
  const seed = opts.seed ?? 1;
  const L = opts.layers ?? 2;
  const C = opts.hidden ?? 16;
  const H = opts.heads ?? 2;
  if (C % H !== 0) throw new Error(`hidden (${C}) must be a multiple of heads (${H})`);
  const D = C / H;
  const F = 2 * C;
  const maxPositions = opts.maxPositions ?? 256;
  const eosFrom = opts.eosFrom === undefined ? 40 : opts.eosFrom;
  const eosSlope = opts.eosSlope ?? 0.5;

  // Vocabulary: 256 byte symbols, the merges, then the three specials.
  const bytes = byteToUnicode();
  const vocab: Record<string, number> = {};
  bytes.forEach((ch, id) => (vocab[ch] = id));
  for (const [a, b] of LM_MERGES) vocab[a + b] = Object.keys(vocab).length;
  const firstSpecial = Object.keys(vocab).length;
  const V = firstSpecial + LM_SPECIALS.length;
  const [padId, , eosId] = LM_SPECIALS.map((_, i) => firstSpecial + i) as [number, number, number];

  const rng = Rng.fromSeed(seed);
  const g = new GraphBuilder();
  const inputIds = g.input('input_ids', INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', INT64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', INT64, ['batch_size', 'sequence_length']);
  const past: [string, string][] = [];
  for (let l = 0; l < L; l++) {
    past.push([
      g.input(`past_key_values.${l}.key`, FLOAT, ['batch_size', H, 'past_sequence_length', D]),
      g.input(`past_key_values.${l}.value`, FLOAT, ['batch_size', H, 'past_sequence_length', D]),
    ]);
  }

  // The mask (B,1,T,S): key j is visible to query t iff j ≤ P + t and attention_mask[b, j] = 1.
  const one = g.ints([1], []);
  const S = g.op('Gather', [g.op('Shape', [attentionMask]), one]);
  const T = g.op('Gather', [g.op('Shape', [inputIds]), one]);
  const keyIndex = g.op('Range', [g.ints([0], []), S, one]); // (S)
  const queryIndex = g.op('Range', [g.op('Sub', [S, T]), S, one]); // (T): P … S−1
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [keyIndex, g.ints([0])]), // (1,S)
    g.op('Unsqueeze', [queryIndex, g.ints([1])]), // (T,1)
  ]); // (T,S)
  const keep = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: BOOL }), g.ints([1, 2])]); // (B,1,1,S)
  const visible = g.op('And', [causal, keep]); // (B,1,T,S)
  const masked = g.floatScalar(-1e9); // finite, so a row with nothing visible (a pad query) stays finite
  const scale = g.floatScalar(1 / Math.sqrt(D));
  const headShape = g.ints([0, 0, H, D]); // (B,T,C) → (B,T,H,D); 0 copies the input's dim
  const mergeShape = g.ints([0, 0, C]);

  const wte = g.floats('wte', [V, C], normal(rng, V * C, 1));
  const wpe = g.floats('wpe', [maxPositions, C], normal(rng, maxPositions * C, 0.5));
  let x = g.op('Add', [g.op('Gather', [wte, inputIds]), g.op('Gather', [wpe, positionIds])]);
  const split = (t: string) => g.op('Transpose', [g.op('Reshape', [t, headShape])], { perm: [0, 2, 1, 3] }); // (B,H,T,D)
  for (let l = 0; l < L; l++) {
    const w = (name: string, rows: number, cols: number) => g.floats(`layers.${l}.${name}`, [rows, cols], normal(rng, rows * cols, 1 / Math.sqrt(rows)));
    const q = split(g.op('MatMul', [x, w('wq', C, C)]));
    const k = split(g.op('MatMul', [x, w('wk', C, C)]));
    const v = split(g.op('MatMul', [x, w('wv', C, C)]));
    const K = g.op('Concat', [past[l]![0], k], { axis: 2 }, `present.${l}.key`);
    const Vv = g.op('Concat', [past[l]![1], v], { axis: 2 }, `present.${l}.value`);
    g.output(K, FLOAT, ['batch_size', H, 'total_sequence_length', D]);
    g.output(Vv, FLOAT, ['batch_size', H, 'total_sequence_length', D]);
    const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [K], { perm: [0, 1, 3, 2] })]), scale]); // (B,H,T,S)
    const att = g.op('Softmax', [g.op('Where', [visible, scores, masked])], { axis: -1 });
    const y = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [att, Vv])], { perm: [0, 2, 1, 3] }), mergeShape]); // (B,T,C)
    x = g.op('Add', [x, g.op('MatMul', [y, w('wo', C, C)])]);
    x = g.op('Add', [x, g.op('MatMul', [g.op('Tanh', [g.op('MatMul', [x, w('w1', C, F)])]), w('w2', F, C)])]);
  }

  const bias = new Float32Array(V);
  for (let id = 0; id < V; id++) {
    const printable = id < 256 ? id >= 0x20 && id <= 0x7e : id < firstSpecial;
    bias[id] = printable || id === eosId ? 0 : -30;
  }
  bias[0x20]! += opts.spaceBias ?? 0;
  let logits = g.op('Add', [g.op('MatMul', [x, g.floats('lm_head', [C, V], normal(rng, C * V, 3 / Math.sqrt(C)))]), g.floats('lm_bias', [V], bias)]);
  if (eosFrom !== null) {
    // eos logit += eosSlope · (position − eosFrom): (B,T,1) · onehot(V)
    const position = g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: FLOAT }), g.ints([2])]);
    const ramp = g.op('Mul', [g.op('Sub', [position, g.floatScalar(eosFrom)]), g.floatScalar(eosSlope)]);
    const onehot = new Float32Array(V);
    onehot[eosId] = 1;
    logits = g.op('Add', [logits, g.op('Mul', [ramp, g.floats('eos_onehot', [V], onehot)])]);
  }
  logits = g.op('Identity', [logits], {}, 'logits');
  g.output(logits, FLOAT, ['batch_size', 'sequence_length', V]);
  const onnx = g.encode('tiny-qwen2');

  const config = {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: V,
    hidden_size: C,
    intermediate_size: F,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: H,
    head_dim: D,
    max_position_embeddings: maxPositions,
    bos_token_id: padId,
    eos_token_id: eosId,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
  };
  // Sampling defaults like Qwen2.5-Instruct's: generate() must override them with its own options.
  const generationConfig = {
    bos_token_id: padId,
    pad_token_id: padId,
    eos_token_id: [eosId, padId],
    do_sample: true,
    temperature: 0.7,
    top_p: 0.8,
    top_k: 20,
    repetition_penalty: 1.05,
  };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: LM_SPECIALS.map((t, i) => addedToken(firstSpecial + i, t)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: { ...vocab, ...Object.fromEntries(LM_SPECIALS.map((t, i) => [t, firstSpecial + i])) },
      merges: LM_MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'Qwen2Tokenizer',
    bos_token: null,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
    unk_token: null,
    model_max_length: maxPositions,
    clean_up_tokenization_spaces: false,
    chat_template: CHATML_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(LM_SPECIALS.map((t, i) => [String(firstSpecial + i), addedToken(firstSpecial + i, t)])),
  };
  return {
    files: {
      'config.json': JSON.stringify(config, null, 2),
      'generation_config.json': JSON.stringify(generationConfig, null, 2),
      'tokenizer.json': JSON.stringify(tokenizer),
      'tokenizer_config.json': JSON.stringify(tokenizerConfig, null, 2),
      'onnx/model.onnx': onnx,
      'onnx/model_q4.onnx': onnx,
    },
    vocabSize: V,
    eosId,
    padId,
    layers: L,
    heads: H,
    headSize: D,
  };
}

// --- the sentence encoder --------------------------------------------------------

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const BERT_WORDS = ['the', 'a', 'cat', 'dog', 'sat', 'on', 'mat', 'news', 'sports', 'world', 'business', 'science', 'and', 'is'];

export interface TinyEmbedderOptions {
  seed?: number;
  /** Output dimension (hidden size). */
  dims?: number;
}

export interface TinyEmbedder {
  files: Record<string, Uint8Array | string>;
  dims: number;
  vocabSize: number;
}

/**
 * A `bert`-type encoder (what `Xenova/all-MiniLM-L6-v2` is) reduced to
 *   e = wte[input_ids] + wtt[token_type_ids] + wpe[0…T−1]              (B,T,C)
 *   last_hidden_state = (e + tanh(e·W1 + b1)·W2) · attention_mask       (B,T,C)
 * Each position depends on its token, type and place, not on the padding
 * around it, so mean pooling over the mask gives the same vector for a text
 * whatever its batch. WordPiece vocabulary: specials, a few words, the
 * characters a–z 0–9 and punctuation, and their ## continuations, so any
 * lower-cased ASCII text tokenizes without [UNK].
 */
export function tinyEmbedderFiles(opts: TinyEmbedderOptions = {}): TinyEmbedder {
  const seed = opts.seed ?? 2;
  const C = opts.dims ?? 32;
  const F = 2 * C;
  const maxPositions = 128;
  const chars = [...'abcdefghijklmnopqrstuvwxyz0123456789', ...".,;:!?'\"-()"];
  const tokens = [...BERT_SPECIALS, ...BERT_WORDS, ...chars, ...chars.map((c) => `##${c}`)];
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const V = tokens.length;

  const rng = Rng.fromSeed(seed);
  const g = new GraphBuilder();
  const inputIds = g.input('input_ids', INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', INT64, ['batch_size', 'sequence_length']);
  const tokenTypes = g.input('token_type_ids', INT64, ['batch_size', 'sequence_length']);
  const one = g.ints([1], []);
  const T = g.op('Gather', [g.op('Shape', [inputIds]), one]);
  const positions = g.op('Range', [g.ints([0], []), T, one]); // (T)
  const e = g.op('Add', [
    g.op('Add', [g.op('Gather', [g.floats('wte', [V, C], normal(rng, V * C, 1)), inputIds]),
      g.op('Gather', [g.floats('wtt', [2, C], normal(rng, 2 * C, 0.2)), tokenTypes])]),
    g.op('Gather', [g.floats('wpe', [maxPositions, C], normal(rng, maxPositions * C, 0.3)), positions]),
  ]);
  const hidden = g.op('Tanh', [g.op('Add', [g.op('MatMul', [e, g.floats('w1', [C, F], normal(rng, C * F, 1 / Math.sqrt(C)))]),
    g.floats('b1', [F], normal(rng, F, 0.1))])]);
  const h = g.op('Add', [e, g.op('MatMul', [hidden, g.floats('w2', [F, C], normal(rng, F * C, 1 / Math.sqrt(F)))])]);
  const mask = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: FLOAT }), g.ints([2])]); // (B,T,1)
  g.op('Mul', [h, mask], {}, 'last_hidden_state');
  g.output('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', C]);
  const onnx = g.encode('tiny-bert');

  const special = (t: string) => ({ id: vocab[t]!, type_id: 0 });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIALS.map((t) => addedToken(vocab[t]!, t)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [special('[CLS]').id], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [special('[SEP]').id], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
    model_max_length: maxPositions,
    clean_up_tokenization_spaces: true,
  };
  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: V,
    hidden_size: C,
    intermediate_size: F,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: maxPositions,
    type_vocab_size: 2,
    pad_token_id: 0,
  };
  return {
    files: {
      'config.json': JSON.stringify(config, null, 2),
      'tokenizer.json': JSON.stringify(tokenizer),
      'tokenizer_config.json': JSON.stringify(tokenizerConfig, null, 2),
      'onnx/model.onnx': onnx,
    },
    dims: C,
    vocabSize: V,
  };
}

/** Write a model's files under `dir` (created as needed). */
export function writeModelFiles(dir: string, files: Record<string, Uint8Array | string>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
