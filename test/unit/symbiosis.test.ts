/**
 * The symbiosis experiment on a tiny generated dataset (three classes, each
 * written with its own letters, so a tiny model can learn it in seconds):
 * all four methods run and emit the documented records, Real learns, the
 * hard-example selectors and the summary behave on hand-made cases, a
 * resumed run ends bit-identical, bad inputs name the field, and the
 * pretrained-generator path runs against a test host.
 */
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { meanCI95 } from '../../src/core/metrics/stats';
import { DEFAULT_GENERATOR_MODEL } from '../../src/core/models';
import { Rng, keyFromSeed } from '../../src/core/rng';
import { resolveConfig } from '../../src/experiments/config';
import { CheckpointError } from '../../src/experiments/session';
import { symbiosis } from '../../src/experiments/symbiosis';
import type { SymbiosisConfig } from '../../src/experiments/symbiosis/config';
import { DATASET_INPUT, parseDatasetInput } from '../../src/experiments/symbiosis/dataset';
import { hardestPerClass, hardnessScores, selectHard } from '../../src/experiments/symbiosis/hard';
import { METHODS, SYMBIOSIS_METHODS } from '../../src/experiments/symbiosis/methods';
import {
  type GenerationRecord, type SymbiosisRecord, type Table1, type Table1Row, type TableRecord, type TopClass, record as recordSchema,
} from '../../src/experiments/symbiosis/records';
import { lossCurves, methodSeries, tableView } from '../../src/experiments/symbiosis/report';
import { STREAM } from '../../src/experiments/symbiosis/streams';
import { accuracyInterval, isCollapsedOntoOneClass, summarize } from '../../src/experiments/symbiosis/table';
import { cleanGeneratedText } from '../../src/experiments/symbiosis/text';
import { RunCancelled, type RunCheckpoint, type RunContext, type RunInput } from '../../src/experiments/types';
import { LABEL_NAMES, asInput, makeDataset, sentence } from '../support/letters';
import { runTiny as runExperiment } from '../support/run-tiny';

// --- the generated dataset (test/support/letters.ts) -------------------------------

const datasetInput = asInput(makeDataset());

const tiny: Partial<SymbiosisConfig> = {
  poolSize: 150, valSize: 30, testSize: 60, generations: 2, syntheticPerGeneration: 36, staticSetSize: 60, epochsPerGeneration: 2,
  batchSize: 8, hardExamples: 6, vocabSize: 300, maxTextTokens: 16, dModel: 16, nLayers: 1, nHeads: 2, pretrainSteps: 10,
  seedSetSize: 30, generatorSteps: 40, generatorLearningRate: 1e-2, generatorAdaptSteps: 4, promptPrefixTokens: 2, selfBleuSamples: 10, sampleRowsPerGeneration: 5,
};

async function runTiny(opts: {
  overrides?: Partial<SymbiosisConfig>; resume?: RunCheckpoint; stopAfterGeneration?: number; inputs?: Record<string, RunInput>;
  generateText?: RunContext['generateText'];
} = {}) {
  // The tiny Generator (the lab's first, on a seed set of the pool) and all five methods; the corpus Generator: symbiosis-generator.test.ts.
  const config = resolveConfig(symbiosis, 'tiny', { methods: [...SYMBIOSIS_METHODS], ...tiny, ...opts.overrides });
  const run = await runExperiment(symbiosis, config, {
    seed: 5, resume: opts.resume, stopAfter: (c) => c.at.generation === opts.stopAfterGeneration,
    host: { inputs: opts.inputs ?? { [DATASET_INPUT]: datasetInput }, generateText: opts.generateText },
  });
  const of = <K extends SymbiosisRecord['kind']>(kind: K) => run.records.filter((r): r is Extract<SymbiosisRecord, { kind: K }> => r.kind === kind);
  // What run() returned, or the error it ended with.
  const result = run.summary ?? (run.error instanceof Error ? run.error : new Error(String(run.error)));
  return { ...run, result, of, config };
}

// One uninterrupted run of all five methods, shared by the shape test and the resume test.
let fullRun: ReturnType<typeof runTiny> | null = null;
const full = () => (fullRun ??= runTiny());

describe('symbiosis run', () => {
  test('all five methods run end to end and emit the documented records, samples and summary', async () => {
    const { result: summary, events, of, config, samples, checkpoints } = await full();
    if (summary instanceof Error) throw summary;
    expect(Object.keys(summary.methods)).toEqual([...SYMBIOSIS_METHODS]);
    const gens = of('generation');
    // One replicate: each generation's accuracy in the summary is that generation's record, with its Wilson interval.
    for (const m of SYMBIOSIS_METHODS) {
      const mine = gens.filter((r) => r.method === m).sort((a, b) => a.generation - b.generation);
      expect(summary.methods[m]!.accuracy).toEqual(mine.map((r) => r.testAccuracy));
      expect(summary.methods[m]!.low).toEqual(mine.map((r) => r.testLow));
      expect(summary.methods[m]!.byReplicate).toEqual([mine.map((r) => r.testAccuracy)]);
      expect(mine.map((r) => r.generation)).toEqual([...Array(config.generations + 1).keys()]);
    }
    // Generation 0 is the one pretrained Student, shared by every method.
    expect(new Set(SYMBIOSIS_METHODS.map((m) => summary.methods[m]!.accuracy[0])).size).toBe(1);
    const staticSet = of('static-set')[0]!;
    expect(staticSet.size).toBe(staticSet.generated - staticSet.dropped);
    expect(staticSet.size).toBeGreaterThan(0);
    expect(gens).toHaveLength(SYMBIOSIS_METHODS.length * (config.generations + 1));
    for (const r of gens.filter((g) => g.generation > 0)) {
      expect(r.testLow).toBeLessThanOrEqual(r.testAccuracy);
      expect(r.testHigh).toBeGreaterThanOrEqual(r.testAccuracy);
      expect(r.testN).toBe(config.testSize);
      const drawn = r.method === 'real' ? config.syntheticPerGeneration : Math.min(config.syntheticPerGeneration, staticSet.size);
      expect(r.dataSize).toBe(r.method === 'real' || r.method === 'static' || (r.method === 'recursive' && r.generation === 1) ? drawn : r.generated - r.dropped);
      // A writer whose every output was unusable leaves nothing to train on: then no loss and no text metrics, never 0.
      if (r.dataSize === 0) {
        expect(r).toMatchObject({ trainLoss: null, distinct2: null, selfBleu: null, studentAgreement: null, labelShares: null, steps: 0 });
        continue;
      }
      expect(r.distinct2).toBeGreaterThan(0);
      expect(r.distinct2).toBeLessThanOrEqual(1);
      expect(r.selfBleu).toBeGreaterThanOrEqual(0);
      expect(r.selfBleu).toBeLessThanOrEqual(1);
      expect(r.labelShares!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(r.trainLoss).toBeGreaterThan(0);
      expect(r.steps).toBe(Math.ceil((config.epochsPerGeneration * r.dataSize) / config.batchSize));
      // The loss curve: read during this generation, on the method's step count, which runs on from the last generation.
      const steps = r.lossCurve.map(([step]) => step);
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.every((x, i) => i === 0 || x > steps[i - 1]!)).toBe(true);
      expect(r.lossCurve.every(([, loss]) => Number.isFinite(loss) && loss > 0)).toBe(true);
      const tail = r.lossCurve.slice(-3).map(([, loss]) => loss);
      expect(r.trainLoss).toBeCloseTo(tail.reduce((a, b) => a + b, 0) / tail.length, 12);
      const before = gens.filter((q) => q.method === r.method && q.generation < r.generation).reduce((n, q) => n + q.steps, 0);
      expect(steps[0]).toBeGreaterThan(before);
      expect(steps.at(-1)).toBeLessThanOrEqual(before + r.steps);
    }
    // Recursive's first generation is Static's (same data, order and Student, computed once); later ones train on its own writing.
    const at = (m: string, g: number) => gens.find((r) => r.method === m && r.generation === g)!;
    expect({ ...at('recursive', 1), method: 'static', source: '' }).toEqual({ ...at('static', 1), source: '' });
    expect(at('static', 1).sharedBy).toEqual(['static', 'recursive']);
    expect(at('recursive', 2).generated).toBe(config.syntheticPerGeneration);
    expect(at('symbiosis', 1).generated).toBe(config.syntheticPerGeneration);
    expect(at('symbiosis-balanced', 1).generated).toBe(config.syntheticPerGeneration);
    const hard = of('hard-examples');
    expect(hard.map((h) => [h.generation, h.method])).toEqual([[1, 'symbiosis'], [1, 'symbiosis-balanced'], [2, 'symbiosis'], [2, 'symbiosis-balanced']]);
    expect(hard[0]).toMatchObject({ count: config.hardExamples, selector: 'loss', minedOn: 'validation', quota: 'ranked' });
    // The per-class quota: 6 hard examples over 3 classes, 2 of each.
    for (const h of hard.filter((x) => x.method === 'symbiosis-balanced')) {
      expect(h.quota).toBe('per-class');
      expect(h.labelShares.map((x) => x * h.count)).toEqual([2, 2, 2]);
    }
    // Each Symbiosis method writes around its own hard examples with its own copy of the Generator.
    expect(at('symbiosis-balanced', 1).source).toMatch(/^the tiny Generator fine-tuned on 6 hard examples .*; 18 of its 36 examples opened by its own rows of every class$/);
    expect(at('symbiosis', 1).source).not.toMatch(/opened by its own rows/);
    // The Generator's quality, measured on the static set it wrote.
    const [quality] = of('generator');
    expect(quality).toMatchObject({ generator: 'tiny', origin: 'trained', corpusRows: config.seedSetSize, samples: staticSet.size, steps: config.generatorSteps });
    expect(quality!.perplexity).toHaveLength(3);
    for (const p of quality!.perplexity) expect(p).toBeGreaterThan(1);
    expect(quality!.classifierAccuracy).toBeGreaterThanOrEqual(0);
    expect(quality!.examples.map((e) => e.label)).toEqual(['sport', 'sport', 'money', 'money', 'science', 'science']);
    // The naive-Bayes line: on the real rows Real trains on (T·n of the pool), tested on the test set.
    expect(of('setup')[0]!.naiveBayes).toMatchObject({ trainRows: config.generations * config.syntheticPerGeneration });
    expect(summary.naiveBayes!.accuracy).toBe(of('setup')[0]!.naiveBayes!.accuracy);
    // The paired differences, whatever their sign; one replicate: no interval.
    expect(summary.differences.map((d) => `${d.a}-${d.b}`)).toEqual(['symbiosis-static', 'symbiosis-balanced-static']);
    const last = (m: string) => summary.methods[m as 'real']!.accuracy.at(-1)!;
    expect(summary.differences[1]!.mean).toBeCloseTo(last('symbiosis-balanced') - last('static'), 12);
    expect(summary.differences[0]!.low).toBeNaN();
    expect(summary.summary.some((l) => l.startsWith('Symbiosis-balanced − Static (final, paired by replicate): ') && l.includes('one replicate: no interval'))).toBe(true);
    expect(summary.generatorQuality).toHaveLength(1);
    expect(of('static-set')).toHaveLength(1);
    expect(of('setup')).toHaveLength(1);
    const table = of('table');
    expect(table).toHaveLength(1);
    // Every Student's test predictions by class; Table 1 names each final Student's most-predicted class with its shares.
    const testShares = of('setup')[0]!.testLabelShares;
    expect(testShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    for (const r of gens) expect(r.predictedShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    for (const row of table[0]!.table.rows) {
      const last = at(row.method, config.generations);
      const k = last.predictedShares.indexOf(Math.max(...last.predictedShares));
      expect(row.finalTopClass).toEqual([{ label: table[0]!.table.labelNames[k], predicted: last.predictedShares[k], inTest: testShares[k], inData: last.labelShares?.[k] ?? null }]);
    }
    expect(table[0]!.summary).toEqual(summary.summary);
    expect(summary.table.interval).toBe('wilson');
    expect(summary.summary[0]).toMatch(/3 classes, chance 33\.3%; one replicate: 95% intervals are Wilson intervals/);
    expect(summary.summary.some((l) => l.startsWith('Write-up claim "Real is the upper bound": '))).toBe(true);
    // Samples: every method's data, the Student's verdict and, for Symbiosis, the hard example it came from.
    const rows = samples.flatMap((s) => s.rows);
    // Each sample set is where its rows are from.
    for (const s of samples) for (const r of s.rows) expect(s.at).toEqual({ replicate: r.replicate, generation: r.generation, method: r.method });
    expect(rows).toHaveLength(gens.reduce((n, r) => n + (r.generation > 0 ? Math.min(config.sampleRowsPerGeneration, r.dataSize) : 0), 0));
    expect(rows.filter((r) => r.method === 'real')).toHaveLength(config.generations * config.sampleRowsPerGeneration);
    for (const r of rows) {
      expect(LABEL_NAMES).toContain(r.label);
      expect(r.correct).toBe(r.predicted === r.label);
      expect(Number.isFinite(r.helped)).toBe(true);
      // Symbiosis writes every example around a hard one; Symbiosis-balanced opens its anchor share with its own rows instead.
      if (r.method === 'symbiosis') expect(r.prompt).not.toBeNull();
      else if (r.method !== 'symbiosis-balanced') expect(r.prompt).toBeNull();
    }
    // Checkpoints after every generation; progress ends at its total; step events carry losses.
    expect(checkpoints.map((c) => c.at)).toEqual([0, 1, 2].map((generation) => ({ replicate: 0, generation, method: null })));
    expect(checkpoints.map((c) => c.label)).toEqual(['replicate 1, generation 0', 'replicate 1, generation 1', 'replicate 1, generation 2']);
    expect(Object.keys(checkpoints[0]!.extraParams).sort()).toEqual(['generator', 'pretrained', ...SYMBIOSIS_METHODS.map((m) => `student:${m}`)].sort());
    // Once adapted, each Symbiosis method's copy of the Generator travels too (the base stays as it wrote the static set).
    expect(Object.keys(checkpoints[1]!.extraParams).filter((k) => k.startsWith('generator')).sort()).toEqual(['generator', 'generator:symbiosis', 'generator:symbiosis-balanced']);
    expect(checkpoints[1]!.extraParams.generator).toEqual(checkpoints[0]!.extraParams.generator);
    expect(checkpoints[1]!.extraParams['generator:symbiosis']).not.toEqual(checkpoints[1]!.extraParams['generator:symbiosis-balanced']);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
    // The plan counts every unit the run does: progress reaches its total only at the end, never clamped before.
    expect(progress.findIndex((p) => p.done === p.total)).toBe(progress.length - 1);
    expect(events.some((e) => e.type === 'step' && e.phase === 'symbiosis' && Number.isFinite(e.loss))).toBe(true);
  });

  test('Real learns: well above chance on the easy generated data', async () => {
    const { result } = await runTiny({
      overrides: {
        methods: ['real'], generations: 2, syntheticPerGeneration: 60, epochsPerGeneration: 4, dModel: 32, pretrainSteps: 30, learningRate: 1e-2,
      },
    });
    if (result instanceof Error) throw result;
    const s = result;
    const real = s.table.rows[0]!;
    expect(real.final.mean).toBeGreaterThan(0.6);
    expect(real.final.low).toBeGreaterThan(1 / 3);
    expect(s.summary.some((l) => l.startsWith('Real: final') && !l.includes('includes chance'))).toBe(true);
  });

  test("Recursive run alone reaches the same generation 1 as beside Static (the shared generation is not a shortcut)", async () => {
    const alone = await runTiny({ overrides: { methods: ['recursive'], generations: 1 } });
    const both = await full();
    const first = (run: typeof alone) => run.of('generation').find((r) => r.method === 'recursive' && r.generation === 1)!;
    const [a, b] = [first(alone), first(both)];
    expect(a.testAccuracy).toBe(b.testAccuracy);
    expect(a.trainLoss).toBe(b.trainLoss);
    expect(a.sharedBy).toEqual(['recursive']);
  });

  test('hard examples can be mined on an unlabelled pool slice, with another selector', async () => {
    const { of, result } = await runTiny({ overrides: { methods: ['symbiosis'], generations: 1, mineOn: 'pool', hardSelector: 'entropy' } });
    if (result instanceof Error) throw result;
    const [hard] = of('hard-examples');
    expect(hard).toMatchObject({ minedOn: 'pool', selector: 'entropy', misclassified: null, count: 6 });
    // The Generator is given the Student's own labels: with no labels, the "predicted" label is the one used.
    for (const e of hard!.examples) expect(e.label).toBe(e.predicted);
  });

  test('a run resumed from a checkpoint ends bit-identical to the uninterrupted run', async () => {
    const uninterrupted = await full();
    const stopped = await runTiny({ stopAfterGeneration: 1 });
    expect(stopped.result).toBeInstanceOf(RunCancelled);
    const ckpt = stopped.checkpoints.at(-1)!;
    expect(ckpt.at).toEqual({ replicate: 0, generation: 1, method: null });
    // The checkpoint is what a host stores: JSON state and records (NaN written as null), typed arrays.
    const stored: RunCheckpoint = { ...ckpt, state: JSON.parse(JSON.stringify(ckpt.state)), records: JSON.parse(JSON.stringify(ckpt.records)) };
    const resumed = await runTiny({ resume: stored });
    expect(resumed.result).toEqual(uninterrupted.result);
    // Generation 2 again, record for record, and the same final Students.
    const generation2 = (run: typeof resumed) => run.of('generation').filter((r) => r.generation === 2);
    expect(generation2(resumed)).toEqual(generation2(uninterrupted));
    expect(resumed.checkpoints.at(-1)!.extraParams).toEqual(uninterrupted.checkpoints.at(-1)!.extraParams);
    expect(resumed.events[0]).toEqual({ type: 'log', message: 'resumed after replicate 1, generation 1' });
  });

  test('a checkpoint whose state is not what this version saves is refused, naming the field', async () => {
    const ckpt = (await full()).checkpoints[1]!;
    const stale = await runTiny({ resume: { ...ckpt, state: { ...(ckpt.state as object), steps: { real: 'many' } } } });
    expect(stale.result).toBeInstanceOf(CheckpointError);
    expect((stale.result as Error).message).toMatch(/state\.steps\.real: /);
    const older = await runTiny({ resume: { ...ckpt, stateVersion: 0 } });
    expect((older.result as Error).message).toMatch(/an earlier version of the symbiosis lab \(state version 0; this version reads 2\)/);
    const { 'student:symbiosis': _dropped, ...rest } = ckpt.extraParams;
    const missing = await runTiny({ resume: { ...ckpt, extraParams: rest } });
    expect((missing.result as Error).message).toMatch(/lacks the parameters 'student:symbiosis'/);
  });

  test('a bad or missing dataset names the field; bad settings name the field', async () => {
    const missing = await runTiny({ inputs: {} });
    expect((missing.result as Error).message).toMatch(/no dataset: choose one in the setup/);
    const good = makeDataset(10, 5);
    const bad = (patch: (d: Record<string, unknown>) => void) => {
      const d = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      patch(d);
      return () => parseDatasetInput(asInput(d, 'mine.json'));
    };
    expect(bad((d) => ((d.splits as { train: { label: unknown }[] }).train[3]!.label = 7))).toThrow(/mine\.json: splits\.train\[3\]\.label: must be a class id 0…2, got 7/);
    expect(bad((d) => ((d.splits as { test: { text: unknown }[] }).test[1]!.text = ''))).toThrow(/splits\.test\[1\]\.text: must be a non-empty string/);
    expect(bad((d) => (d.labelNames = ['only']))).toThrow(/labelNames: 1 class: a classifier needs at least 2/);
    expect(bad((d) => (d.labelNames = Array.from({ length: 40 }, (_, i) => `c${i}`)))).toThrow(/labelNames: 40 classes: .* there are 36/);
    expect(bad((d) => delete d.splits)).toThrow(/splits: must be an object/);
    expect(() => parseDatasetInput({ name: 'x.json', bytes: new Uint8Array([0x7b, 0xff]) })).toThrow(/x\.json: not a dataset/);
    expect(() => resolveConfig(symbiosis, 'tiny', { promptPrefixTokens: 30 })).toThrow(/promptPrefixTokens: must be less than maxTextTokens \(24\)/);
    expect(() => resolveConfig(symbiosis, 'tiny', { methods: ['real', 'real'] })).toThrow(/methods: lists a method twice/);
    expect(() => resolveConfig(symbiosis, 'tiny', { hardSelector: 'random' })).toThrow(/hardSelector: must be one of loss, entropy, margin/);
    expect(() => resolveConfig(symbiosis, 'tiny', { hardPrompt: 'no fields' })).toThrow(/hardPrompt: must contain \{text\} and \{label\}/);
    expect(() => resolveConfig(symbiosis, 'tiny', { writeEpochs: 5 })).toThrow(/writeEpochs: must be ≤ epochsPerGeneration \(4\)/);
    expect(() => resolveConfig(symbiosis, 'tiny', { writeEpochs: 0 })).toThrow(/writeEpochs: must be > 0 when Recursive runs/);
    expect(() => resolveConfig(symbiosis, 'tiny', { pretrainedModel: 'gpt-4' })).toThrow(/pretrainedModel: must be one of onnx-community/);
    expect(resolveConfig(symbiosis, 'write-up', {})).toMatchObject({ generator: 'pretrained', poolSize: 1000, batchSize: 8, hardExamples: 50 });
  });

  test("generator 'pretrained': fails at once without the capability; with a test host, the prompt curriculum runs and drops empty outputs", async () => {
    const none = await runTiny({ overrides: { generator: 'pretrained' } });
    expect((none.result as Error).message).toMatch(/generator: 'pretrained' needs a pretrained instruct model/);
    expect(none.events.filter((e) => e.type !== 'log')).toEqual([]);

    // A test host, not a model: every fifth output is empty; the others are written with the letters of the class the prompt names.
    const calls: { messages: { role: string; content: string }[] }[][] = [];
    const models: (string | undefined)[] = [];
    const testHost: RunContext['generateText'] = async (requests, options, onProgress) => {
      calls.push(requests);
      models.push(options.model);
      const rng = new Rng(keyFromSeed(options.seed));
      const texts = requests.map((r, i) => {
        if (i % 5 === 0) return '';
        const prompt = r.messages[r.messages.length - 1]!.content;
        const label = LABEL_NAMES.findIndex((name) => prompt.includes(`category ${name}`));
        return `Article: **${sentence(rng, label)}**`;
      });
      onProgress?.(requests.length, requests.length);
      return { ok: true, model: 'test-host', texts };
    };
    const { result, of, config } = await runTiny({ overrides: { generator: 'pretrained', fewShotExamples: 2 }, generateText: testHost });
    if (result instanceof Error) throw result;
    expect(result.generator).toBe('test-host (pretrained, prompt curriculum)');
    // Its quality panel: measured on its static set like any Generator; the perplexity is not computed, and says why.
    const [quality] = of('generator');
    expect(quality).toMatchObject({ generator: 'pretrained', origin: 'pretrained', corpusRows: null, parameters: null, samples: config.staticSetSize * 4 / 5 });
    expect(quality!.perplexity).toEqual([null, null, null]);
    expect(quality!.perplexityNote).toMatch(/only writes here/);
    expect(quality!.classifierAccuracy).toBeGreaterThan(0.5);
    // Classes called by bare ids are refused before anything runs: the pretrained Generator would be prompted "about 2".
    const ids = await runTiny({ overrides: { generator: 'pretrained' }, generateText: testHost, inputs: { [DATASET_INPUT]: asInput({ ...makeDataset(), labelNames: ['0', '1', '2'] }) } });
    expect((ids.result as Error).message).toMatch(/labelNames: the classes are called 0, 1, 2: name them first/);
    const staticSet = of('static-set')[0]!;
    expect(staticSet).toMatchObject({ generated: config.staticSetSize, dropped: config.staticSetSize / 5, size: config.staticSetSize * 4 / 5 });
    const sym = of('generation').filter((r) => r.method === 'symbiosis' && r.generation > 0);
    for (const r of sym) {
      const empty = Math.ceil(config.syntheticPerGeneration / 5);
      expect(r).toMatchObject({ generated: config.syntheticPerGeneration, dropped: empty, droppedReasons: { empty }, dataSize: config.syntheticPerGeneration - empty });
    }
    // Calls: the static set, then one per Symbiosis method and generation (Recursive writes with its own Student).
    expect(calls).toHaveLength(1 + 2 * config.generations);
    expect(new Set(models)).toEqual(new Set([DEFAULT_GENERATOR_MODEL]));
    const [gen1, gen2] = [calls[1]!, calls[3]!];
    // Symbiosis-balanced prompts with its own per-class hard examples: every class is named in its prompts, never a bare id.
    const balanced = calls[2]!.map((r) => r.messages.at(-1)!.content);
    for (const name of LABEL_NAMES) expect(balanced.some((p) => p.includes(`category ${name}`))).toBe(true);
    expect(balanced.some((p) => /category \d/.test(p))).toBe(false);
    const hard = of('hard-examples');
    expect(gen1[0]!.messages.at(-1)!.content).toContain(`"${hard[0]!.examples[0]!.text}"`);
    expect(gen1[0]!.messages.filter((m) => m.role === 'assistant')).toHaveLength(0);
    // Generation 2's prompts carry, as few-shot turns, the two examples that helped most in generation 1.
    expect(gen2[0]!.messages.filter((m) => m.role === 'assistant')).toHaveLength(2);
    const failing: RunContext['generateText'] = async () => ({ ok: false, reason: 'no WebGPU adapter' });
    const failed = await runTiny({ overrides: { generator: 'pretrained' }, generateText: failing });
    expect((failed.result as Error).message).toMatch(/pretrained model could not write \(no WebGPU adapter\)/);
  });
});

describe('hard examples', () => {
  // Posteriors over 3 classes, every true label 0.
  const posteriors = [
    [0.9, 0.05, 0.05], // a: easy
    [0.2, 0.7, 0.1], // b: wrong, fairly confident
    [0.34, 0.33, 0.33], // c: right but maximally unsure
    [0.05, 0.9, 0.05], // d: wrong and confident
  ];
  const labels = [0, 0, 0, 0];

  test('loss, entropy and margin each rank what they should', () => {
    expect(selectHard(posteriors, labels, 'loss', 4)).toEqual([3, 1, 2, 0]);
    expect(selectHard(posteriors, labels, 'entropy', 2)).toEqual([2, 1]);
    expect(selectHard(posteriors, labels, 'margin', 4)).toEqual([3, 1, 2, 0]);
    expect(hardnessScores(posteriors, labels, 'loss')[3]).toBeCloseTo(-Math.log(0.05), 12);
    expect(hardnessScores(posteriors, labels, 'margin')[1]).toBeCloseTo(-(0.2 - 0.7), 12);
  });

  test('the per-class quota (Symbiosis-balanced): each class its share of its hardest, the remainder to the classes hardest at the top', () => {
    // Scores of 9 examples over 3 classes; class 0 holds the 5 hardest, so a plain top-6 would be 5 of class 0.
    const scores = [9, 8, 7, 6, 5, 1, 0.5, 2, 0.1];
    const classes = [0, 0, 0, 0, 0, 1, 1, 2, 2];
    expect(hardestPerClass(scores, classes, 3, 6)).toEqual([0, 1, 7, 5, 6, 8]);
    // k = 4: ⌊4/3⌋ = 1 each, the extra one to class 0 (its hardest is the hardest).
    expect(hardestPerClass(scores, classes, 3, 4)).toEqual([0, 1, 7, 5]);
    // A class with too few examples gives the rest of its quota to the hardest left anywhere (class 2 has none).
    expect(hardestPerClass([3, 2, 1, 0.5], [0, 0, 0, 1], 3, 3)).toEqual([0, 1, 3]);
    expect(hardestPerClass(scores, classes, 3, 20)).toHaveLength(9);
  });

  test("unlabelled text is ranked against the Student's own labels", () => {
    // Own labels: a→0, b→1, c→0, d→1; c is the least sure, then b.
    expect(selectHard(posteriors, null, 'loss', 2)).toEqual([2, 1]);
    expect(selectHard(posteriors, null, 'margin', 2)).toEqual([2, 1]);
    expect(hardnessScores(posteriors, null, 'loss')[3]).toBeCloseTo(-Math.log(0.9), 12);
  });

  test('pretrained outputs are cleaned; empty and too-short ones are dropped', () => {
    expect(cleanGeneratedText('Sure, here is an article:\n**Article:** "Stocks rose  sharply today."\nCategory: Business')).toEqual({ text: 'Stocks rose sharply today.' });
    expect(cleanGeneratedText('  \n ')).toEqual({ dropped: 'empty' });
    expect(cleanGeneratedText('Business.')).toEqual({ dropped: 'too short' });
  });
});

describe('summary', () => {
  const balanced: TopClass = { label: 'World', predicted: 0.3, inTest: 0.25, inData: 0.25 };
  const row = (method: Table1Row['method'], final: [number, number, number], initial = 0.25, top: (TopClass | null)[] = [balanced]): Table1Row => ({
    method, initial: { mean: initial, low: initial - 0.03, high: initial + 0.03 }, final: { mean: final[0], low: final[1], high: final[2] },
    change: { mean: final[0] - initial, low: NaN, high: NaN }, finals: [final[0]], finalTopClass: top,
  });
  const table = (rows: Table1Row[], replicates = 3): Table1 => ({
    numClasses: 4, labelNames: ['World', 'Sports', 'Business', 'Sci/Tech'], chance: 0.25, replicates, testSize: 500, generations: 3, interval: replicates > 1 ? 'replicates' : 'wilson', rows,
  });

  test('flags chance, compares only separated intervals, and checks the write-up claims', () => {
    const lines = summarize(table([
      row('real', [0.84, 0.81, 0.87]), row('static', [0.41, 0.37, 0.45]), row('recursive', [0.268, 0.23, 0.31]), row('symbiosis', [0.25, 0.21, 0.29]),
    ]));
    expect(lines[0]).toMatch(/chance 25\.0%; 95% intervals are t-intervals of the mean over 3 replicates/);
    expect(lines).toContain('Real: final 84.0% [81.0%, 87.0%] (initial 25.0%, change +59.0 points).');
    expect(lines).toContain('Symbiosis: final 25.0% [21.0%, 29.0%] (initial 25.0%, change +0.0 points). Its interval includes chance (25.0%): not distinguishable from guessing.');
    expect(lines.find((l) => l.startsWith('Static:'))).not.toMatch(/chance/);
    expect(lines).toContain('Real > Static: 84.0% vs 41.0%, the intervals do not overlap.');
    expect(lines).toContain('Recursive vs Symbiosis: the difference (1.8 points) is within noise (the intervals overlap).');
    expect(lines).toContain('Write-up claim "Symbiosis improves on Static": CONTRADICTED: Static is higher than Symbiosis and the intervals do not overlap.');
    expect(lines).toContain('Write-up claim "Symbiosis beats Recursive": not shown: Symbiosis vs Recursive is within noise.');
    expect(lines).toContain('Write-up claim "Real is the upper bound": supported: the intervals do not overlap.');
    expect(lines).toContain('Write-up claim "Symbiosis improves the Student across generations": not shown: 25.0% → 25.0% is within noise.');
  });

  test('overlapping intervals are never ranked; one replicate says what its interval covers; missing methods are not checked', () => {
    const lines = summarize(table([row('real', [0.52, 0.47, 0.56]), row('symbiosis', [0.49, 0.45, 0.53], 0.25)], 1));
    expect(lines[0]).toMatch(/one replicate: 95% intervals are Wilson intervals .* cover test-set sampling only/);
    expect(lines).toContain('Real vs Symbiosis: the difference (3.0 points) is within noise (the intervals overlap).');
    expect(lines.some((l) => l.includes('>'))).toBe(false);
    expect(lines).toContain('Write-up claim "Symbiosis improves on Static": not checked (Static did not run).');
    expect(lines).toContain('Write-up claim "Real is the upper bound": not checked (Static, Recursive did not run).');
    expect(lines).toContain('Write-up claim "Symbiosis improves the Student across generations": supported: 25.0% → 49.0%, intervals apart.');
    const below = summarize(table([row('symbiosis', [0.1, 0.05, 0.15])]), [{ text: 'above chance', kind: 'above-chance', method: 'symbiosis' }]);
    expect(below).toContain('Symbiosis: final 10.0% [5.0%, 15.0%] (initial 25.0%, change −15.0 points). It is below chance (25.0%).');
    expect(below).toContain('Write-up claim "above chance": CONTRADICTED: below chance (10.0%).');
  });

  test('a Student collapsed onto one class is named, with the share of that class in the test set and in its last data', () => {
    const sports = (predicted: number, inData: number | null): TopClass => ({ label: 'Sports', predicted, inTest: 0.25, inData });
    const one = summarize(table([row('real', [0.52, 0.47, 0.56]), row('symbiosis', [0.25, 0.21, 0.29], 0.25, [sports(1, 1)])], 1));
    expect(one).toContain("Symbiosis's final Student has collapsed onto one class: it labels 100.0% of the test set Sports, whose true share is 25.0%. Its last generation's training data was 100.0% Sports.");
    expect(one.some((l) => l.startsWith("Real's final Student"))).toBe(false);
    const some = summarize(table([row('recursive', [0.27, 0.2, 0.33], 0.25, [sports(0.7, null), sports(0.4, 0.3), sports(0.9, 0.5)])]));
    expect(some).toContain("Recursive's final Student has collapsed onto one class in 2 of 3 replicates (at most: replicate 3): it labels 90.0% of the test set Sports, whose true share is 25.0%. Its last generation's training data was 50.0% Sports.");
    // A replicate whose records predate the shares (resumed across an update) is passed over, not guessed.
    const old = summarize(table([row('static', [0.25, 0.21, 0.29], 0.25, [null, sports(0.95, 0.9)])], 2));
    expect(old).toContain("Static's final Student has collapsed onto one class in 1 of 2 replicates (at most: replicate 2): it labels 95.0% of the test set Sports, whose true share is 25.0%. Its last generation's training data was 90.0% Sports.");
    // The threshold: half-way from the class's true share to all of the test set.
    expect(isCollapsedOntoOneClass(sports(0.625, null))).toBe(true);
    expect(isCollapsedOntoOneClass(sports(0.62, null))).toBe(false);
    expect(isCollapsedOntoOneClass({ label: 'pos', predicted: 0.74, inTest: 0.5, inData: null })).toBe(false);
  });
});

describe('what the page shows', () => {
  /** A generation record with the fields a test cares about; the rest as a finished generation has them. */
  const gen = (o: Partial<GenerationRecord> & Pick<GenerationRecord, 'method' | 'replicate' | 'generation'>): GenerationRecord => ({
    kind: 'generation', sharedBy: [o.method], testAccuracy: 0.5, testLow: 0.4, testHigh: 0.6, testN: 100, valAccuracy: 0.5,
    trainLoss: 1, lossCurve: [], dataSize: 10, labelShares: [0.5, 0.5], predictedShares: [0.5, 0.5], studentAgreement: 0.5,
    distinct2: 0.5, selfBleu: 0.5, generated: 0, dropped: 0, droppedReasons: {}, source: 'test', steps: 10, seconds: 1, ...o,
  });

  test('loss curves: every method on one step axis; replicates averaged where both read a step; NaN losses skipped', () => {
    const { steps, byMethod } = lossCurves([
      gen({ method: 'real', replicate: 0, generation: 1, lossCurve: [[10, 2], [20, 1.5]] }),
      gen({ method: 'real', replicate: 1, generation: 1, lossCurve: [[10, 3], [20, NaN], [30, 1]] }),
      gen({ method: 'symbiosis', replicate: 0, generation: 1, lossCurve: [[15, 2.5], [25, NaN]] }),
      gen({ method: 'static', replicate: 0, generation: 1, lossCurve: [] }),
    ]);
    expect(steps).toEqual([10, 15, 20, 30]);
    expect(byMethod.get('real')).toEqual([2.5, null, 1.5, 1]);
    expect(byMethod.get('symbiosis')).toEqual([null, 2.5, null, null]);
    expect(byMethod.has('static')).toBe(false);
  });

  test("method series: Table 1's intervals (t over replicates; one replicate: its Wilson interval), means of what was computed", () => {
    const series = methodSeries([
      gen({ method: 'real', replicate: 0, generation: 0, trainLoss: null, labelShares: null, predictedShares: [0.9, 0.1] }),
      gen({ method: 'real', replicate: 1, generation: 0, trainLoss: null, labelShares: null, testAccuracy: 0.7, predictedShares: [0.3, 0.7] }),
      gen({ method: 'real', replicate: 0, generation: 1, testAccuracy: 0.8, testLow: 0.7, testHigh: 0.88, trainLoss: 2, distinct2: NaN }),
    ]).get('real')!;
    expect(series.map((p) => [p.generation, p.replicates])).toEqual([[0, 2], [1, 1]]);
    const ci = meanCI95([0.5, 0.7]);
    expect(series[0]).toMatchObject({ accuracy: ci.mean, low: ci.low, high: ci.high, trainLoss: null, topDataShare: null });
    expect(series[0]!.topPredictedShare).toBeCloseTo(0.8, 12);
    expect(series[1]).toMatchObject({ accuracy: 0.8, low: 0.7, high: 0.88, trainLoss: 2, distinct2: null, topDataShare: 0.5 });
    expect(accuracyInterval([gen({ method: 'real', replicate: 0, generation: 1, testAccuracy: 0.8, testLow: 0.7, testHigh: 0.88 })]))
      .toEqual({ mean: 0.8, low: 0.7, high: 0.88 });
  });

  test('records read back from JSON keep NaN as not computed and null as null; a foreign record names its field', () => {
    const r = gen({ method: 'static', replicate: 0, generation: 2, distinct2: null, lossCurve: [[4, NaN]], valAccuracy: NaN });
    const back = v.parse(recordSchema, JSON.parse(JSON.stringify(r)));
    expect(back).toEqual(r);
    expect(v.safeParse(recordSchema, { ...r, method: 'oracle' }).issues?.[0]?.path?.map((p) => p.key)).toEqual(['method']);
    expect(v.safeParse(recordSchema, { kind: 'iteration' }).success).toBe(false);
  });

  test("Table 1 for the page: intervals that cannot be computed are null, the summary's sentences as written", async () => {
    const { records } = await full();
    const view = tableView(records)!;
    expect(view.interval).toBe('wilson');
    expect(view.rows.map((r) => r.method)).toEqual([...SYMBIOSIS_METHODS]);
    // One replicate: the change has no interval.
    expect(view.rows[0]!.change).toMatchObject({ low: null, high: null });
    expect(view.rows[0]!.final.low).not.toBeNull();
    const written = records.find((x): x is TableRecord => x.kind === 'table')!;
    expect(view.summary).toEqual(written.summary);
    expect(view.rows.map((r) => r.final.mean)).toEqual(written.table.rows.map((r) => r.final.mean));
    expect(tableView(records.filter((x) => x.kind !== 'table'))).toBeNull();
  });

  test('every method has its own stream, title and label; the streams the numbers depend on are fixed', () => {
    expect(new Set(SYMBIOSIS_METHODS.map((m) => METHODS[m].stream)).size).toBe(SYMBIOSIS_METHODS.length);
    expect(SYMBIOSIS_METHODS.map((m) => METHODS[m].stream)).toEqual([0, 1, 2, 3, 4]);
    expect(STREAM).toMatchObject({ replicate: 1, splits: 2, train: 100, subset: 200, write: 300, adapt: 400 });
    // Every tag distinct (a new stream must not reuse one).
    expect(new Set(Object.values(STREAM)).size).toBe(Object.keys(STREAM).length);
    expect(METHODS.real).toMatchObject({ title: 'Real', label: 'Real Data (upper bound)' });
    expect(SYMBIOSIS_METHODS.filter((m) => METHODS[m].extension)).toEqual(['symbiosis-balanced']);
    expect(METHODS['symbiosis-balanced'].label).toMatch(/the lab.s extension/);
  });
});
