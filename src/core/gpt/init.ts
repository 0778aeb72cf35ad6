/**
 * Parameter initialisation as nanoGPT/GPT-2: matrices and embeddings
 * ~ N(0, 0.02²), the residual projections (attn.c_proj, mlp.c_proj) scaled by
 * 1/sqrt(2L) so the residual stream's variance does not grow with depth,
 * biases 0, LayerNorm weights 1.
 */
import { type Key, Rng } from '../rng';
import { type GptConfig, paramLayout } from './config';

/** Fresh parameters for `config`, deterministic in `key`. */
export function initParams(config: GptConfig, key: Key): Float32Array {
  const layout = paramLayout(config);
  const params = new Float32Array(layout.total);
  const rng = new Rng(key);
  const projStd = 0.02 / Math.sqrt(2 * config.nLayers);
  for (const view of layout.views) {
    const isLayerNormWeight = /ln_[12f]?\.weight$|ln_f\.weight$/.test(view.name);
    if (isLayerNormWeight) {
      params.fill(1, view.offset, view.offset + view.size);
    } else if (view.shape.length >= 2) {
      const std = view.name.endsWith('c_proj.weight') ? projStd : 0.02;
      for (let i = view.offset; i < view.offset + view.size; i++) params[i] = rng.normal() * std;
    } // biases stay 0
  }
  return params;
}
