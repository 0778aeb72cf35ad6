/**
 * The symbiosis lab's corpus Generator (docs/symbiosis.md, "A Generator that
 * knows its subject") on the generated letters dataset: it learns from rows
 * the Student never sees, its quality is measured, a run's Generator becomes
 * a file that reads back bit for bit, a second run given that file uses it
 * (nothing trained) and draws its splits outside the file's corpus, and bad
 * files, class mismatches and too small a corpus are refused naming the
 * field. Also the naive-Bayes baseline the page draws as a line.
 */
import { describe, expect, test } from 'vitest';
import type { LabelledDataset } from '../../src/core/data/labelled';
import { fitNaiveBayes, naiveBayesAccuracy, predictNaiveBayes } from '../../src/core/metrics/naive-bayes';
import { keyFromSeed } from '../../src/core/rng';
import { resolveConfig } from '../../src/experiments/config';
import { symbiosis } from '../../src/experiments/symbiosis';
import type { SymbiosisConfig } from '../../src/experiments/symbiosis/config';
import { DATASET_INPUT } from '../../src/experiments/symbiosis/dataset';
import {
  GENERATOR_INPUT, classMismatch, corpusHashes, decodeGeneratorFile, encodeGeneratorFile, generatorCorpus, generatorFromRun,
  hasHash, hashesFromBase64, hashesToBase64, textHash, withoutCorpus,
} from '../../src/experiments/symbiosis/generator';
import type { SymbiosisRecord } from '../../src/experiments/symbiosis/records';
import { normalise } from '../../src/experiments/symbiosis/text';
import type { RunCheckpoint, RunInput } from '../../src/experiments/types';
import { LABEL_NAMES, asInput, makeDataset } from '../support/letters';
import { runTiny as runExperiment } from '../support/run-tiny';

// 600 train rows: the Student's pool and validation take 180, the Generator learns from the other 420.
const dataset = makeDataset(600, 100);

const small: Partial<SymbiosisConfig> = {
  methods: ['real', 'static', 'symbiosis-balanced'], generator: 'corpus',
  poolSize: 150, valSize: 30, testSize: 60, generations: 1, syntheticPerGeneration: 36, staticSetSize: 60, epochsPerGeneration: 2,
  batchSize: 8, hardExamples: 6, vocabSize: 300, maxTextTokens: 16, dModel: 16, nLayers: 1, nHeads: 2, pretrainSteps: 10,
  generatorVocabSize: 300, generatorMaxTokens: 16, generatorDModel: 16, generatorLayers: 1, generatorHeads: 2, generatorBatchSize: 16,
  generatorSteps: 60, generatorLearningRate: 1e-2, generatorAdaptSteps: 4, seedSetSize: 30, staticPrefixTokens: 3, promptPrefixTokens: 2, selfBleuSamples: 10, sampleRowsPerGeneration: 5,
};

async function run(opts: { overrides?: Partial<SymbiosisConfig>; inputs?: Record<string, RunInput> } = {}) {
  const config = resolveConfig(symbiosis, 'classroom', { ...small, ...opts.overrides });
  const out = await runExperiment(symbiosis, config, { seed: 3, host: { inputs: { [DATASET_INPUT]: asInput(dataset), ...opts.inputs } } });
  const of = <K extends SymbiosisRecord['kind']>(kind: K) => out.records.filter((r): r is Extract<SymbiosisRecord, { kind: K }> => r.kind === kind);
  return { ...out, of, config };
}

let trainedRun: ReturnType<typeof run> | null = null;
const trained = () => (trainedRun ??= run());

/** The Generator file of a finished run: from its last checkpoint and records, as the lab's "Keep this Generator" makes it. */
function fileOf(checkpoints: readonly RunCheckpoint[], records: readonly unknown[]) {
  const last = checkpoints.at(-1)!;
  return generatorFromRun({ ...last, experiment: 'symbiosis' }, records);
}

describe('the corpus Generator', () => {
  test('learns from train rows outside the Student\u2019s pool, validation and test, and its quality is measured', async () => {
    const { summary, error, of, config } = await trained();
    if (error) throw error;
    const [setup] = of('setup');
    const [quality] = of('generator');
    // Its corpus: the 600 train rows less the pool and validation (test comes from the test split).
    expect(quality).toMatchObject({ generator: 'corpus', origin: 'trained', corpusRows: 600 - config.poolSize - config.valSize, steps: config.generatorSteps });
    expect(setup!.generatorLoss).toBe(quality!.trainLoss);
    expect(setup!.generator).toMatch(/corpus/i);
    // Per class perplexity on real test text: finite, above 1, below the vocabulary (it learnt something).
    expect(quality!.perplexity).toHaveLength(3);
    for (const p of quality!.perplexity) {
      expect(p).toBeGreaterThan(1);
      expect(p).toBeLessThan(300);
    }
    expect(quality!.perplexityNote).toBeNull();
    // A classifier on its samples alone: on this easy data, well above chance (1/3).
    expect(quality!.classifierAccuracy).toBeGreaterThan(0.6);
    expect(quality!.distinct2).toBeGreaterThan(0);
    expect(quality!.realDistinct2).toBeGreaterThan(0);
    expect(summary!.generatorQuality).toHaveLength(1);
  });

  test('a run\u2019s Generator is a file that reads back bit for bit; a run given it trains none and stays off its corpus', async () => {
    const first = await trained();
    if (first.error) throw first.error;
    const file = fileOf(first.checkpoints, first.records);
    expect(file.labelNames).toEqual(LABEL_NAMES);
    expect(file.corpusHashes.length).toBe(file.corpusRows);
    const bytes = encodeGeneratorFile(file);
    const back = decodeGeneratorFile(bytes, 'letters-generator.safetensors');
    expect(back.params).toEqual(file.params);
    expect(back.config).toEqual(file.config);
    expect(back.tokenizer.toJSON()).toEqual(file.tokenizer.toJSON());
    expect([...back.corpusHashes]).toEqual([...file.corpusHashes]);
    expect(back).toMatchObject({ dataset: 'letters', labelNames: LABEL_NAMES, maxTokens: 16, corpusRows: file.corpusRows, steps: 60, trainLoss: file.trainLoss });
    expect(back.quality).toMatchObject({ kind: 'generator', origin: 'trained' });

    const second = await run({ inputs: { [GENERATOR_INPUT]: { name: 'letters-generator.safetensors', bytes } } });
    if (second.error) throw second.error;
    const [quality] = second.of('generator');
    expect(quality).toMatchObject({ origin: 'loaded', corpusRows: file.corpusRows, steps: 60 });
    expect(second.of('setup')[0]!.generatorLoss).toBeNull();
    // Nothing trained: the plan has no Generator steps, and progress still ends at its total.
    const progress = second.events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
    const firstTotal = first.events.flatMap((e) => (e.type === 'progress' ? [e] : [])).at(-1)!.total;
    expect(firstTotal - progress.at(-1)!.total).toBe(small.generatorSteps);
    // The loaded Generator travels with the run's inputs, not in its checkpoints; its adapted copy does.
    expect(second.checkpoints[0]!.extraParams.generator).toBeUndefined();
    expect(second.checkpoints[1]!.extraParams['generator:symbiosis-balanced']).toHaveLength(file.params.length);
  });

  test('each static example opens with the first tokens of one of the Generator\u2019s own rows of its class', async () => {
    const first = await trained();
    const file = fileOf(first.checkpoints, first.records);
    const tok = file.tokenizer;
    const used = new Set(first.samples.flatMap((s) => s.rows).filter((r) => r.method === 'real').map((r) => r.text));
    // The corpus: the train rows the Student never sees (the pool and validation are the other 180).
    const openings = (k: number) => new Set(dataset.splits.train!.filter((r) => r.label === k && !used.has(normalise(r.text)))
      .map((r) => normalise(tok.decode(tok.encode(normalise(r.text)).slice(0, small.staticPrefixTokens)))));
    const statics = first.samples.filter((s) => s.at.method === 'static').flatMap((s) => s.rows);
    expect(statics.length).toBeGreaterThan(0);
    for (const r of statics) {
      const k = LABEL_NAMES.indexOf(r.label);
      expect([...openings(k)].some((o) => r.text.startsWith(o)), r.text).toBe(true);
    }
  });

  test('withoutCorpus removes exactly the corpus rows; fingerprints survive base64', () => {
    const corpus = generatorCorpus(dataset, [dataset.splits.train!.slice(0, 100)], 0, 10, keyFromSeed(1));
    expect(corpus.length).toBe(500);
    const hashes = corpusHashes(corpus.map((r) => r.text));
    expect([...hashesFromBase64(hashesToBase64(hashes))]).toEqual([...hashes]);
    for (const r of corpus.slice(0, 20)) expect(hasHash(hashes, textHash(r.text))).toBe(true);
    const { dataset: rest, removed } = withoutCorpus(dataset, hashes);
    expect(removed).toBe(500);
    expect(rest.splits.train!.map((r) => normalise(r.text))).toEqual(dataset.splits.train!.slice(0, 100).map((r) => normalise(r.text)));
    expect(rest.splits.test).toHaveLength(100);
    // Capped and class-balanced.
    const capped = generatorCorpus(dataset, [], 90, 10, keyFromSeed(1));
    expect([0, 1, 2].map((k) => capped.filter((r) => r.label === k).length)).toEqual([30, 30, 30]);
  });

  test('bad Generator files, other classes, a Generator given to another Generator kind, and too small a corpus are refused naming the field', async () => {
    const first = await trained();
    const file = fileOf(first.checkpoints, first.records);
    const bytes = encodeGeneratorFile(file);
    expect(() => decodeGeneratorFile(new Uint8Array([1, 2, 3]), 'junk.safetensors')).toThrow(/junk\.safetensors: not a/);
    const noNames = encodeGeneratorFile({ ...file, labelNames: ['only'] });
    expect(() => decodeGeneratorFile(noNames, 'g.safetensors')).toThrow(/__metadata__\.labelNames must be a list of at least 2 class names/);
    expect(classMismatch(LABEL_NAMES, ['World', 'Sports', 'Business'])).toMatch(/writes the classes sport, money, science, but the dataset has World, Sports, Business/);
    expect(classMismatch(['Sport', 'money', 'science'], LABEL_NAMES)).toBeNull();

    const other: LabelledDataset = { ...dataset, labelNames: ['a', 'b', 'c'] };
    const mismatch = await run({ inputs: { [DATASET_INPUT]: asInput(other), [GENERATOR_INPUT]: { name: 'g.safetensors', bytes } } });
    expect((mismatch.error as Error).message).toMatch(/^generator: g\.safetensors: it writes the classes sport, money, science/);
    const wrongKind = await run({ overrides: { generator: 'tiny' }, inputs: { [GENERATOR_INPUT]: { name: 'g.safetensors', bytes } } });
    expect((wrongKind.error as Error).message).toMatch(/generator: a Generator file \(g\.safetensors\) was given, but generator is 'tiny'/);
    // Given the file, only the 180 train rows outside its corpus are left for the pool and validation.
    const offCorpus = await run({ overrides: { poolSize: 151 }, inputs: { [GENERATOR_INPUT]: { name: 'g.safetensors', bytes } } });
    expect((offCorpus.error as Error).message).toMatch(/pool: asks for 151 rows but split "train" has only 150 left/);
    // 200 train rows: the pool and validation leave 20 for the Generator, fewer than 10 per class.
    const few = await run({ inputs: { [DATASET_INPUT]: asInput(makeDataset(200, 100)) } });
    expect((few.error as Error).message).toMatch(/^generatorCorpusSize: only 20 rows of split train are left/);
  });
});

describe('naive Bayes', () => {
  test('matches a hand computation and labels by the log posterior', () => {
    // V = 3, two classes: class 0 saw tokens [0, 0, 1], class 1 saw [2]; α = 1.
    const nb = fitNaiveBayes([{ tokens: [0, 0, 1], label: 0 }, { tokens: [2], label: 1 }], 2, 3);
    expect(nb.logPrior[0]).toBeCloseTo(Math.log(0.5), 12);
    expect(Array.from(nb.logTheta.slice(0, 3), Math.exp)).toEqual([3 / 6, 2 / 6, 1 / 6].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(nb.logTheta.slice(3, 6), Math.exp)).toEqual([1 / 4, 1 / 4, 2 / 4].map((x) => expect.closeTo(x, 12)));
    // [0]: 3/6 vs 1/4 → 0; [2]: 1/6 vs 2/4 → 1; [1, 2]: 2/36 vs 2/16 → 1; [] ties → the first class.
    expect(predictNaiveBayes(nb, [[0], [2], [1, 2], []])).toEqual([0, 1, 1, 0]);
    expect(naiveBayesAccuracy([{ tokens: [0], label: 0 }, { tokens: [2], label: 1 }], [{ tokens: [0], label: 0 }, { tokens: [0], label: 1 }], 2, 3)).toBe(0.5);
    expect(() => fitNaiveBayes([{ tokens: [3], label: 0 }], 2, 3)).toThrow(/token 3 is outside 0…2/);
    expect(() => fitNaiveBayes([{ tokens: [0], label: 2 }], 2, 3)).toThrow(/label 2 is outside 0…1/);
  });
});
