/**
 * The pretrained models the labs offer, as data (ids and descriptions): the
 * experiments validate a chosen id against it, the UI lists it, and
 * src/pretrained loads it. Nothing here loads anything.
 */

/** Instruct models for the symbiosis lab's pretrained Generator (ONNX exports laid out for transformers.js, with q4 and q4f16 weights). */
export const GENERATOR_MODELS = [
  { id: 'onnx-community/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5 0.5B Instruct', note: 'the default; q4f16 483 MB, q4 786 MB' },
  { id: 'onnx-community/Qwen2-0.5B-Instruct-ONNX', label: 'Qwen2 0.5B Instruct', note: "the write-up's generator (Qwen/Qwen2-0.5B-Instruct)" },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2 360M Instruct', note: 'smallest; q4f16 299 MB, q4 417 MB' },
] as const;

export const GENERATOR_MODEL_IDS: readonly string[] = GENERATOR_MODELS.map((m) => m.id);

export const DEFAULT_GENERATOR_MODEL: string = GENERATOR_MODELS[0].id;

/**
 * Code models for the programs lab's pretrained coder (ONNX exports laid out
 * for transformers.js; sizes of the Hub's onnx/ files). The 1.5B is the size
 * of the self-improvement write-up's coder (docs/write-ups.md).
 */
export const CODER_MODELS = [
  { id: 'onnx-community/Qwen2.5-Coder-0.5B-Instruct', label: 'Qwen2.5 Coder 0.5B Instruct', note: 'the default; q4f16 555 MB, q4 862 MB' },
  { id: 'onnx-community/Qwen2.5-Coder-1.5B-Instruct', label: 'Qwen2.5 Coder 1.5B Instruct', note: "the write-up's size; q4f16 1.34 GB, q4 1.92 GB" },
] as const;

export const CODER_MODEL_IDS: readonly string[] = CODER_MODELS.map((m) => m.id);

export const DEFAULT_CODER_MODEL: string = CODER_MODELS[0].id;
