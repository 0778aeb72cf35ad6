/**
 * The symbiosis experiment on a tiny generated dataset (three classes, each
 * written with its own letters, so a tiny model can learn it in seconds):
 * all four methods run and emit the documented records, Real learns, the
 * hard-example selectors and the summary behave on hand-made cases, a
 * resumed run ends bit-identical, bad inputs name the field, and the
 * pretrained-generator path runs against a test host.
 */
import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../../src/core/backends/cpu';
import type { LabelledDataset } from '../../src/core/data/labelled';
import { DEFAULT_GENERATOR_MODEL } from '../../src/core/models';
import { Rng, keyFromSeed } from '../../src/core/rng';
import { resolveConfig } from '../../src/experiments/config';
import {
  DATASET_INPUT, type GenerationRecord, type HardExamplesRecord, type SampleRow, type StaticSetRecord, SYMBIOSIS_METHODS, type SymbiosisConfig,
  type SymbiosisSummary, type Table1, type Table1Row, type TopClass, cleanGeneratedText, hardnessScores, isCollapsedOntoOneClass, parseDatasetInput, selectHard,
  summarize, symbiosis,
} from '../../src/experiments/symbiosis';
import type { ExperimentEvent, MetricRecord, RunCheckpoint, RunContext, RunInput } from '../../src/experiments/types';
import { lossCurves } from '../../src/ui/pages/symbiosis/metrics';

// --- a generated dataset ---------------------------------------------------------

const LABEL_NAMES = ['sport', 'money', 'science'];
/** Each class writes its words with its own letters; 'pqrstu' is filler every class uses. */
const CLASS_LETTERS = ['abcde', 'fghij', 'klmno'];

function sentence(rng: Rng, label: number): string {
  const words = Array.from({ length: 6 + rng.int(4) }, () => {
    const letters = rng.uniform() < 0.85 ? CLASS_LETTERS[label]! : 'pqrstu';
    return Array.from({ length: 3 + rng.int(3) }, () => letters[rng.int(letters.length)]).join('');
  });
  return words.join(' ');
}

function makeDataset(train = 300, testRows = 100): LabelledDataset {
  const rng = new Rng(keyFromSeed(11));
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ text: sentence(rng, i % 3), label: i % 3 }));
  return { name: 'letters', source: { kind: 'file', fileName: 'letters.json' }, labelNames: LABEL_NAMES, splits: { train: rows(train), test: rows(testRows) } };
}

const asInput = (json: unknown, name = 'letters.json'): RunInput => ({ name, bytes: new TextEncoder().encode(JSON.stringify(json)) });
const datasetInput = asInput(makeDataset());

const tiny: Partial<SymbiosisConfig> = {
  poolSize: 150, valSize: 30, testSize: 60, generations: 2, syntheticPerGeneration: 36, staticSetSize: 60, epochsPerGeneration: 2,
  batchSize: 8, hardExamples: 6, vocabSize: 300, maxTextTokens: 16, dModel: 16, nLayers: 1, nHeads: 2, pretrainSteps: 10,
  seedSetSize: 30, generatorSteps: 40, generatorLearningRate: 1e-2, generatorAdaptSteps: 4, promptPrefixTokens: 2, selfBleuSamples: 10, sampleRowsPerGeneration: 5,
};

async function runTiny(opts: {
  overrides?: Partial<SymbiosisConfig>; resume?: RunCheckpoint; abortAfter?: number; inputs?: Record<string, RunInput>;
  generateText?: RunContext['generateText'];
} = {}) {
  const config = resolveConfig(symbiosis, 'tiny', { ...tiny, ...opts.overrides });
  const events: ExperimentEvent[] = [];
  const controller = new AbortController();
  const result = await symbiosis.run(config, {
    seed: 5,
    createBackend: async (c) => new CpuBackend(c),
    now: () => 0,
    signal: controller.signal,
    resume: opts.resume,
    inputs: opts.inputs ?? { [DATASET_INPUT]: datasetInput },
    generateText: opts.generateText,
    emit: (e) => {
      events.push(e);
      if (e.type === 'checkpoint' && e.checkpoint.iteration === opts.abortAfter) controller.abort();
    },
  }).catch((err: unknown) => err);
  const records = events.flatMap((e) => (e.type === 'metrics' ? [e.record] : []));
  const of = <R extends MetricRecord>(kind: string) => records.filter((r) => r.kind === kind) as R[];
  return { result, events, records, of, config };
}

// One uninterrupted run of all four methods, shared by the shape test and the resume test.
let fullRun: ReturnType<typeof runTiny> | null = null;
const full = () => (fullRun ??= runTiny());

describe('symbiosis run', () => {
  test('all four methods run end to end and emit the documented records, samples and summary', async () => {
    const { result, events, of, config } = await full();
    if (result instanceof Error) throw result;
    const summary = result as SymbiosisSummary;
    expect(Object.keys(summary.methods)).toEqual([...SYMBIOSIS_METHODS]);
    for (const m of SYMBIOSIS_METHODS) {
      const acc = summary.methods[m]!.accuracy;
      expect(acc).toHaveLength(config.generations + 1);
      for (const a of acc) expect(a).toBeGreaterThanOrEqual(0);
    }
    // Generation 0 is the one pretrained Student, shared by every method.
    expect(new Set(SYMBIOSIS_METHODS.map((m) => summary.methods[m]!.accuracy[0])).size).toBe(1);
    const staticSet = of<StaticSetRecord>('static-set')[0]!;
    expect(staticSet.size).toBe(staticSet.generated - staticSet.dropped);
    expect(staticSet.size).toBeGreaterThan(0);
    const gens = of<GenerationRecord>('generation');
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
      expect(r.selfBleu).toBeGreaterThanOrEqual(0);
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
    const hard = of<HardExamplesRecord>('hard-examples');
    expect(hard.map((h) => h.generation)).toEqual([1, 2]);
    expect(hard[0]).toMatchObject({ count: config.hardExamples, selector: 'loss', minedOn: 'validation' });
    expect(of('static-set')).toHaveLength(1);
    expect(of('setup')).toHaveLength(1);
    const table = of<MetricRecord & { table: Table1; summary: string[] }>('table');
    expect(table).toHaveLength(1);
    // Every Student's test predictions by class; Table 1 names each final Student's most-predicted class with its shares.
    const testShares = of<MetricRecord & { testLabelShares: number[] }>('setup')[0]!.testLabelShares;
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
    const rows = events.flatMap((e) => (e.type === 'samples' ? e.rows : [])) as SampleRow[];
    expect(rows).toHaveLength(gens.reduce((n, r) => n + (r.generation > 0 ? Math.min(config.sampleRowsPerGeneration, r.dataSize) : 0), 0));
    expect(rows.filter((r) => r.method === 'real')).toHaveLength(config.generations * config.sampleRowsPerGeneration);
    for (const r of rows) {
      expect(LABEL_NAMES).toContain(r.label);
      expect(r.correct).toBe(r.predicted === r.label);
      expect(Number.isFinite(r.helped)).toBe(true);
      expect(r.prompt === null).toBe(r.method !== 'symbiosis');
    }
    // Checkpoints after every generation; progress ends at its total; step events carry losses.
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => (e.type === 'checkpoint' ? e.checkpoint.iteration : -1))).toEqual([0, 1, 2]);
    const progress = events.filter((e) => e.type === 'progress');
    const last = progress[progress.length - 1]!;
    if (last.type === 'progress') expect(last.done).toBe(last.total);
    expect(events.some((e) => e.type === 'step' && e.phase === 'symbiosis' && Number.isFinite(e.loss))).toBe(true);
  });

  test('Real learns: well above chance on the easy generated data', async () => {
    const { result } = await runTiny({
      overrides: {
        methods: ['real'], generations: 2, syntheticPerGeneration: 60, epochsPerGeneration: 4, dModel: 32, pretrainSteps: 30, learningRate: 1e-2,
      },
    });
    if (result instanceof Error) throw result;
    const s = result as SymbiosisSummary;
    const real = s.table.rows[0]!;
    expect(real.final.mean).toBeGreaterThan(0.6);
    expect(real.final.low).toBeGreaterThan(1 / 3);
    expect(s.summary.some((l) => l.startsWith('Real: final') && !l.includes('includes chance'))).toBe(true);
  });

  test("Recursive run alone reaches the same generation 1 as beside Static (the shared generation is not a shortcut)", async () => {
    const alone = await runTiny({ overrides: { methods: ['recursive'], generations: 1 } });
    const both = await full();
    const first = (records: MetricRecord[]) => records.find((r) => r.kind === 'generation' && r.method === 'recursive' && r.generation === 1) as GenerationRecord;
    const [a, b] = [first(alone.records), first(both.records)];
    expect(a.testAccuracy).toBe(b.testAccuracy);
    expect(a.trainLoss).toBe(b.trainLoss);
    expect(a.sharedBy).toEqual(['recursive']);
  });

  test('hard examples can be mined on an unlabelled pool slice, with another selector', async () => {
    const { of, result } = await runTiny({ overrides: { methods: ['symbiosis'], generations: 1, mineOn: 'pool', hardSelector: 'entropy' } });
    if (result instanceof Error) throw result;
    const [hard] = of<HardExamplesRecord>('hard-examples');
    expect(hard).toMatchObject({ minedOn: 'pool', selector: 'entropy', misclassified: null, count: 6 });
    // The Generator is given the Student's own labels: with no labels, the "predicted" label is the one used.
    for (const e of hard!.examples) expect(e.label).toBe(e.predicted);
  });

  test('a run resumed from a checkpoint ends bit-identical to the uninterrupted run', async () => {
    const uninterrupted = await full();
    const stopped = await runTiny({ abortAfter: 1 });
    expect(stopped.result).toBeInstanceOf(Error);
    const ckpt = stopped.events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : [])).find((c) => c.iteration === 1)!;
    // The checkpoint is what a host stores: JSON state, typed arrays.
    const stored: RunCheckpoint = { ...ckpt, state: JSON.parse(JSON.stringify(ckpt.state)), records: JSON.parse(JSON.stringify(ckpt.records)) };
    const resumed = await runTiny({ resume: stored });
    expect(resumed.result).toEqual(uninterrupted.result);
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
    expect((result as SymbiosisSummary).generator).toBe('test-host (pretrained, prompt curriculum)');
    const staticSet = of<MetricRecord & { generated: number; dropped: number; size: number }>('static-set')[0]!;
    expect(staticSet).toMatchObject({ generated: config.staticSetSize, dropped: config.staticSetSize / 5, size: config.staticSetSize * 4 / 5 });
    const sym = of<GenerationRecord>('generation').filter((r) => r.method === 'symbiosis' && r.generation > 0);
    for (const r of sym) {
      const empty = Math.ceil(config.syntheticPerGeneration / 5);
      expect(r).toMatchObject({ generated: config.syntheticPerGeneration, dropped: empty, droppedReasons: { empty }, dataSize: config.syntheticPerGeneration - empty });
    }
    // Calls: the static set, then one per Symbiosis generation (Recursive writes with its own Student).
    expect(calls).toHaveLength(1 + config.generations);
    expect(new Set(models)).toEqual(new Set([DEFAULT_GENERATOR_MODEL]));
    const [gen1, gen2] = [calls[1]!, calls[2]!];
    const hard = of<HardExamplesRecord>('hard-examples');
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

describe('the page\'s loss curves', () => {
  test('every method on one step axis; replicates averaged where both read a step; bad points skipped', () => {
    const gen = (method: string, replicate: number, lossCurve: unknown) => ({ kind: 'generation', method, replicate, generation: 1, lossCurve });
    const { steps, byMethod } = lossCurves([
      gen('real', 0, [[10, 2], [20, 1.5]]), gen('real', 1, [[10, 3], [20, 'NaN'], [30, 1]]),
      gen('symbiosis', 0, [[15, 2.5], null, [Number.NaN, 1]]), gen('static', 0, 'not a curve'), { kind: 'setup', lossCurve: [[5, 1]] },
    ]);
    expect(steps).toEqual([10, 15, 20, 30]);
    expect(byMethod.get('real')).toEqual([2.5, null, 1.5, 1]);
    expect(byMethod.get('symbiosis')).toEqual([null, 2.5, null, null]);
    expect(byMethod.has('static')).toBe(false);
  });
});

