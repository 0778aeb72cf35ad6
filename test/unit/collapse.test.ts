/**
 * The collapse experiment on a tiny setting: every mode builds its data as
 * documented, every generation is measured (a metric that was not computed
 * is null with a reason, never 0), a resumed run ends exactly where the
 * uninterrupted one does, and an uploaded corpus is checked and used.
 */
import { describe, expect, test } from 'vitest';
import { CorpusError, parsePlainText } from '../../src/core/corpus/plain-text';
import { classroomGrammar } from '../../src/core/grammar/classroom';
import { Rng } from '../../src/core/rng';
import { collapse } from '../../src/experiments/collapse';
import { COLLAPSE_MODES, CORPUS_INPUT, type CollapseConfig } from '../../src/experiments/collapse/config';
import type { GenerationRecord } from '../../src/experiments/collapse/records';
import { resolveConfig } from '../../src/experiments/config';
import { runEmbedder } from '../../src/experiments/embedding';
import { type EmbedResult, RunCancelled, type RunCheckpoint, type RunContext, type RunInput } from '../../src/experiments/types';
import { runTiny as runExperiment } from '../support/run-tiny';

const tiny: Partial<CollapseConfig> = {
  realSize: 40, heldOutSize: 20, samplesPerGeneration: 30, generations: 2, dModel: 16, nLayers: 1, nHeads: 2,
  firstSteps: 12, stepsPerGeneration: 6, batchSize: 8, viewerPrompts: 2, embeddingSamples: 10, selfBleuSamples: 10,
  gaussianSeeds: 20, gaussianGenerations: 10,
};

/** Bag-of-words vectors: a real (if crude) sentence embedding, enough to exercise the plumbing. */
async function bagOfWords(texts: readonly string[]): Promise<EmbedResult> {
  const vocab = new Map<string, number>();
  const rows = texts.map((t) => t.split(' ').map((w) => vocab.get(w) ?? (vocab.set(w, vocab.size), vocab.size - 1)));
  return {
    ok: true, model: 'bag-of-words',
    vectors: rows.map((ids) => {
      const v = new Float32Array(vocab.size);
      for (const i of ids) v[i]! += 1;
      return v;
    }),
  };
}

/** The tiny setting on seed 3 with `overrides`; `abortAfter` cancels after that generation's checkpoint. */
async function runTiny(opts: {
  overrides?: Partial<CollapseConfig>; resume?: RunCheckpoint; abortAfter?: number; embed?: RunContext['embed']; inputs?: Record<string, RunInput>;
} = {}) {
  const config = resolveConfig(collapse, 'classroom', { ...tiny, ...opts.overrides });
  const run = await runExperiment(collapse, config, {
    seed: 3,
    resume: opts.resume,
    host: { embed: opts.embed, inputs: opts.inputs },
    stopAfter: (c) => opts.abortAfter !== undefined && c.at.generation === opts.abortAfter,
  });
  const rows = run.records.filter((r): r is GenerationRecord => r.kind === 'generation');
  return { ...run, rows, config };
}

describe('collapse run', () => {
  test('every mode, every generation: data built as documented, metrics measured, summary in the documented shape', async () => {
    const { summary: result, events, rows, config, samples, checkpoints } = await runTiny({ embed: bagOfWords });
    const summary = result!;
    expect(Object.keys(summary.modes)).toEqual([...COLLAPSE_MODES]);
    for (const m of COLLAPSE_MODES) {
      const series = summary.modes[m]!;
      expect(series.map((g) => g.generation)).toEqual([0, 1, 2]);
      for (const g of series) {
        expect(g.perplexity).toBeGreaterThan(1);
        // Validity is a count of the N samples: k / N exactly.
        const valid = g.validity! * config.samplesPerGeneration;
        expect(Math.abs(valid - Math.round(valid))).toBeLessThan(1e-9);
        expect(g.validity).toBeLessThanOrEqual(1);
        expect(g.distinct2).toBeGreaterThan(0);
        expect(Number.isFinite(g.tailMass)).toBe(true);
        expect(g.embeddingDiversity).toBeGreaterThan(0);
        expect(g.embeddingNote).toBe('bag-of-words, 10 samples');
      }
      // Generation 0 is one model shared by all modes.
      expect(series[0]).toEqual({ ...summary.modes.replace![0], mode: m });
    }
    const at = (m: string, g: number) => rows.find((r) => r.mode === m && r.generation === g)!;
    const N = config.samplesPerGeneration;
    expect(at('replace', 2)).toMatchObject({ dataSize: N, realShare: 0 });
    expect(at('accumulate', 1)).toMatchObject({ dataSize: config.realSize + N });
    expect(at('accumulate', 2)).toMatchObject({ dataSize: config.realSize + 2 * N });
    expect(at('accumulate', 2).realShare).toBeCloseTo(config.realSize / (config.realSize + 2 * N), 12);
    expect(at('real-mix', 2)).toMatchObject({ dataSize: N });
    expect(at('real-mix', 2).realShare).toBeCloseTo(Math.round(config.realMixFraction * N) / N, 12);
    expect(at('accumulate-subsample', 2)).toMatchObject({ dataSize: config.realSize });
    expect(summary.reference).toMatchObject({ kind: 'reference', note: null });
    expect(summary.reference.truePerplexity).toBeGreaterThan(1);
    expect(summary.gaussian.variance).toHaveLength(11);
    expect(summary.gaussian.theory[3]).toBeCloseTo((1 - 1 / 20) ** 4, 12);
    // A histogram and viewer rows for every mode and generation; progress reaches 100%.
    const hist = events.filter((e) => e.type === 'metrics' && e.record.kind === 'histogram');
    expect(hist).toHaveLength(COLLAPSE_MODES.length * 3);
    const viewer = samples.flatMap((s) => s.rows);
    expect(viewer.filter((r) => r.kind === 'viewer' && r.mode === 'replace')).toHaveLength(2 * 3);
    // Each sample set belongs to one generation of one mode, and says so.
    expect(samples.every((s) => s.rows.every((r) => r.mode === s.at.mode && r.generation === s.at.generation))).toBe(true);
    expect(checkpoints.map((c) => c.label)).toEqual(['generation 0', 'generation 1', 'generation 2']);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
  });

  test('embedding diversity is null with the reason when no model is available, never 0', async () => {
    const none = await runTiny({ overrides: { modes: ['replace'], generations: 1 } });
    expect(none.rows.every((r) => r.embeddingDiversity === null && r.embeddingNote === 'not computed: this host has no embedding model')).toBe(true);
    const offline = await runTiny({ overrides: { modes: ['replace'], generations: 1 }, embed: async () => ({ ok: false, reason: 'offline' }) });
    expect(offline.rows.every((r) => r.embeddingDiversity === null && r.embeddingNote === 'not computed: offline')).toBe(true);
  });

  test('a run resumed from a checkpoint ends exactly where the uninterrupted run does', async () => {
    const full = await runTiny({ overrides: { modes: ['replace', 'accumulate'] } });
    const stopped = await runTiny({ overrides: { modes: ['replace', 'accumulate'] }, abortAfter: 1 });
    expect(stopped.error).toBeInstanceOf(RunCancelled);
    const ckpt = stopped.checkpoints.find((c) => c.at.generation === 1)!;
    const resumed = await runTiny({ overrides: { modes: ['replace', 'accumulate'] }, resume: ckpt });
    expect(resumed.summary).toEqual(full.summary);
    expect([...ckpt.records, ...resumed.records]).toEqual(full.records);
  });

  test('an uploaded corpus is checked, split and used; validity is not computed, with the reason', async () => {
    const missing = await runTiny({ overrides: { corpus: 'upload' } });
    expect(missing.error).toBeInstanceOf(CorpusError);
    expect((missing.error as Error).message).toMatch(/corpus: 'upload' needs a \.txt file/);
    const g = classroomGrammar();
    const rng = Rng.fromSeed(9);
    const text = Array.from({ length: 120 }, () => {
      const s = g.sample(rng).join(' ');
      return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
    }).join(' ');
    const bytes = new TextEncoder().encode(text);
    const { summary: result, rows } = await runTiny({
      overrides: { corpus: 'upload', modes: ['replace'], generations: 1 }, inputs: { [CORPUS_INPUT]: { name: 'story.txt', bytes } },
    });
    const summary = result!;
    expect(summary.corpus).toBe('story.txt');
    expect(summary.reference).toMatchObject({ truePerplexity: null, trueLogLik: null, note: 'an uploaded text has no known grammar' });
    expect(rows.every((r) => r.validity === null && r.trueLogLik === null && r.perplexity > 1)).toBe(true);
  });

  test('bad settings name the field', () => {
    expect(() => resolveConfig(collapse, null, { modes: ['replace', 'replace'] })).toThrow(/modes: lists a mode twice/);
    expect(() => resolveConfig(collapse, null, { modes: ['recycle'] })).toThrow(/modes\.0: must be one of replace/);
    expect(() => resolveConfig(collapse, null, { nHeads: 3 })).toThrow(/nHeads: must divide dModel \(32\)/);
    expect(() => resolveConfig(collapse, null, { topP: 0 })).toThrow(/topP: must be a number from 0.01 to 1/);
  });
});

describe('plain-text corpus', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `The cat ${i % 7} sat on the mat, again!`).join('\n');

  test('sentences, words and a capped vocabulary with <unk>', () => {
    const text = "Hello there, world. It's “fine” — isn’t it? ok\n\nA short one.\n" + lines(20);
    const all = parsePlainText(enc(text), 'a.txt', { minSentences: 5, maxVocab: 1000, minCount: 1 });
    expect(all.sentences.slice(0, 3)).toEqual([['hello', 'there', 'world'], ["it's", 'fine', "isn't", 'it'], ['a', 'short', 'one']]);
    expect(all.droppedShort).toBe(1); // "ok"
    expect(all.unknownShare).toBe(0);
    const capped = parsePlainText(enc(text), 'a.txt', { minSentences: 5, maxVocab: 6, minCount: 2 });
    // The six most frequent recurring words ("the" ×2 per line first), then <unk>.
    expect(capped.vocabulary).toEqual(['the', 'cat', 'sat', 'on', 'mat', 'again', '<unk>']);
    expect(capped.sentences[0]).toEqual(['<unk>', '<unk>', '<unk>']);
    expect(capped.sentences[3]).toEqual(['the', 'cat', '<unk>', 'sat', 'on', 'the', 'mat', 'again']);
    expect(capped.unknownShare).toBeGreaterThan(0);
  });

  test('bad files get a message that says what to change', () => {
    expect(() => parsePlainText(new Uint8Array(0), 'e.txt')).toThrow(/e\.txt: the file is empty/);
    expect(() => parsePlainText(new Uint8Array([0x61, 0x62, 0xff, 0x63]), 'b.txt')).toThrow(/b\.txt: not UTF-8 text \(an invalid byte sequence at byte 2\)/);
    // An overlong form and a UTF-16 surrogate are invalid too, named at their lead byte.
    expect(() => parsePlainText(new Uint8Array([0x61, 0xe0, 0x80, 0x80, 0x62]), 'o.txt')).toThrow(/o\.txt: not UTF-8 text \(an invalid byte sequence at byte 1\)/);
    expect(() => parsePlainText(new Uint8Array([0x61, 0x61, 0xed, 0xa0, 0x80]), 's.txt')).toThrow(/s\.txt: not UTF-8 text \(an invalid byte sequence at byte 2\)/);
    expect(() => parsePlainText(new Uint8Array([0x61, 0, 0x62]), 'bin.txt')).toThrow(/not a text file \(a NUL byte at byte 1\)/);
    expect(() => parsePlainText(enc(lines(10)), 's.txt', { minSentences: 50 })).toThrow(/s\.txt: 10 usable sentences .* at least 50/);
    expect(() => parsePlainText(enc('x'.repeat(2000)), 'big.txt', { maxBytes: 1000 })).toThrow(/big\.txt: .* MiB is more than/);
    expect(() => parsePlainText(enc(lines(10)), 'x.txt')).toThrow(CorpusError);
  });
});

describe('runEmbedder', () => {
  const base = { seed: 1, createBackend: async () => { throw new Error('unused'); }, emit: () => {} } as unknown as RunContext;
  const vec = (x: number) => Float32Array.from([x, 1 - x]);

  test('vectors pass through; the first failure is remembered and the model is not asked again', async () => {
    let calls = 0;
    let fail = false;
    const embed = runEmbedder({
      ...base,
      embed: async (texts) => {
        calls++;
        return fail ? { ok: false, reason: 'the download failed' } : { ok: true, model: 'm', vectors: texts.map((_, i) => vec(i / 4)) };
      },
    });
    expect(await embed(['a', 'b'])).toEqual({ ok: true, model: 'm', vectors: [vec(0), vec(0.25)] });
    fail = true;
    expect(await embed(['c'])).toEqual({ ok: false, reason: 'the download failed' });
    fail = false;
    expect(await embed(['d'])).toEqual({ ok: false, reason: 'the download failed' });
    expect(calls).toBe(2);
  });

  test('no model on the host, a wrong count, a thrown error, and a cancelled run', async () => {
    expect(await runEmbedder(base)(['a'])).toEqual({ ok: false, reason: 'this host has no embedding model' });
    const short = runEmbedder({ ...base, embed: async () => ({ ok: true, model: 'm', vectors: [vec(1)] }) });
    expect(await short(['a', 'b'])).toEqual({ ok: false, reason: 'the embedding model returned 1 vectors for 2 texts' });
    const throws = runEmbedder({ ...base, embed: async () => { throw new Error('out of memory'); } });
    expect(await throws(['a'])).toEqual({ ok: false, reason: 'out of memory' });
    const controller = new AbortController();
    controller.abort();
    const cancelled = runEmbedder({ ...base, signal: controller.signal, embed: async () => { throw new Error('aborted'); } });
    await expect(cancelled(['a'])).rejects.toBeInstanceOf(RunCancelled);
  });
});

