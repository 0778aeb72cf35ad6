/**
 * Sentence embeddings for one run, through ctx.embed, shared by the collapse
 * and diversity experiments. A model that could not be had once (no model on
 * this host, a failed download, an error) is not asked for again: every later
 * call gives the same reason, so a run's "not computed" notes agree and a
 * missing model costs one try, not one per evaluation.
 */
import { type EmbedResult, RunCancelled, type RunContext } from './types';

/** ctx.embed, remembering the first failure (see the file comment); a cancelled run throws RunCancelled. */
export function runEmbedder(ctx: RunContext): (texts: readonly string[]) => Promise<EmbedResult> {
  let failure: string | null = ctx.embed ? null : 'this host has no embedding model';
  return async (texts) => {
    if (failure !== null) return { ok: false, reason: failure };
    try {
      const r = await ctx.embed!(texts);
      if (!r.ok) failure = r.reason;
      else if (r.vectors.length !== texts.length) failure = `the embedding model returned ${r.vectors.length} vectors for ${texts.length} texts`;
      else return r;
    } catch (e) {
      if (ctx.signal?.aborted) throw new RunCancelled();
      failure = e instanceof Error ? e.message : String(e);
    }
    return { ok: false, reason: failure };
  };
}
