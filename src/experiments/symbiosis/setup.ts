/**
 * Building a replicate (docs/symbiosis.md, "One replicate"): draw pool /
 * validation / test, train the BPE on the pool texts, pretrain the Student
 * as a plain LM on them, make the in-lab Generator (train the corpus one on
 * its own corpus, take a loaded one, or teach the tiny one a seed set),
 * write the static set and measure the Generator on it, fit the naive-Bayes
 * baseline, and evaluate generation 0 — the pretrained Student every method
 * starts from. A replicate resumed from a checkpoint redraws its splits and
 * takes the rest from the checkpoint. Also the run's plan: its units of
 * work, for progress.
 */
import { type ExperimentSplits, type LabelledDataset, type LabelledRow, makeLabelledSplits, stratifiedSample } from '../../core/data/labelled';
import { naiveBayesAccuracy } from '../../core/metrics/naive-bayes';
import { binomialCI95 } from '../../core/metrics/stats';
import type { GptConfig } from '../../core/gpt/config';
import { initParams } from '../../core/gpt/init';
import type { Key } from '../../core/rng';
import { tokenizerFromJSON, trainBpe } from '../../core/tokenizer';
import { type Resumed, streamKey } from '../session';
import type { SymbiosisConfig } from './config';
import { labelShares } from './hard';
import { METHODS, type SymbiosisMethod } from './methods';
import { type Example, type SymbiosisSession, TextModel, type WriteOutput, cycler } from './model';
import { classMessages, writePretrained } from './instruct';
import { type GeneratorFile, generatorCorpus } from './generator';
import { measureGenerator } from './quality';
import type { ReplicateState, SetupRecord, StaticSetRecord, SymbiosisPosition } from './records';
import { type Plan, Replicate, balancedLabels, textMetrics } from './replicate';
import { STREAM, replicateKey } from './streams';
import { normalise } from './text';
import { InLabGenerator, loadCorpusGenerator, trainCorpusGenerator } from './writer';

/**
 * Units of work: one per optimizer step (nominal: E·n/b per method and
 * generation) and per example written. `loaded`: the run was given its
 * Generator (nothing to train).
 */
export function plan(c: SymbiosisConfig, methods: readonly SymbiosisMethod[], loaded = false): Plan {
  const train = Math.ceil((c.epochsPerGeneration * c.syntheticPerGeneration) / c.batchSize);
  const staticSet = methods.some((m) => METHODS[m].usesStaticSet);
  const inLabGenerator = c.generator !== 'pretrained' && (staticSet || methods.some((m) => METHODS[m].adaptsGenerator));
  const setup = c.pretrainSteps + (inLabGenerator && !loaded ? c.generatorSteps : 0) + (staticSet ? c.staticSetSize : 0);
  let perReplicate = setup;
  for (let g = 1; g <= c.generations; g++) for (const m of methods) perReplicate += train + METHODS[m].extraWork(c, g);
  return { train, setup, total: c.replicates * perReplicate, inLabGenerator, staticSet };
}

/** Fewest rows a corpus Generator learns from (per class, times the classes). */
export const MIN_CORPUS_ROWS_PER_CLASS = 10;

const clean = (rows: readonly LabelledRow[]): Example[] => rows.map((r) => ({ text: normalise(r.text), label: r.label }));

/** The run's Generator when it was given one (a file, generator 'corpus'): shared by every replicate, each on a backend of its own. */
export interface GivenGenerator {
  file: GeneratorFile;
  /** Its input's name (a file name). */
  name: string;
  /** The dataset's rows of its corpus (they open its static examples). */
  ownRows: LabelledRow[];
}

/**
 * Replicate `rep`, ready for generation 1 (or, resumed, for the generation
 * after its checkpoint). `dataset`: without a given Generator's corpus
 * (generator.ts, withoutCorpus). `generatorModel`: the pretrained
 * Generator's name as an earlier replicate learnt it (null: not yet known).
 */
export async function openReplicate(
  c: SymbiosisConfig, session: SymbiosisSession, dataset: LabelledDataset, methods: readonly SymbiosisMethod[], rep: number,
  resumed: Resumed<SymbiosisPosition, ReplicateState> | null, generatorModel: string | null, given: GivenGenerator | null,
): Promise<Replicate> {
  const key = replicateKey(session.runKey, rep);
  const splits = makeLabelledSplits(dataset, { pool: c.poolSize, val: c.valSize, test: c.testSize }, streamKey(key, STREAM.splits));
  const pool = clean(splits.pool);
  const saved = resumed ? session.ctx.resume?.tokenizer : undefined;
  const tok = saved ? tokenizerFromJSON(saved) : trainBpe(pool.map((r) => r.text), { vocabSize: c.vocabSize });
  // BOS · label · SEP · text · EOS is the longest row.
  const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength: c.maxTextTokens + 4, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const model = new TextModel(c, session, tok, gpt, await session.ctx.createBackend(gpt), dataset.labelNames.length);
  const p = plan(c, methods, given !== null);
  const lab = new Replicate({
    c, session, plan: p, rep, methods, labelNames: dataset.labelNames,
    pool, val: clean(splits.val), test: clean(splits.test), model, key,
  }, generatorModel);
  const loaded = given && p.inLabGenerator ? await loadCorpusGenerator(c, session, given.file, given.ownRows) : null;
  if (resumed) {
    await lab.restore(resumed, loaded);
    // Its own rows open the anchor examples of later generations: drawn again, as they were.
    if (lab.generator) lab.generator.ownRows = ownRowsOf(lab, dataset, splits, given);
  } else {
    await setUp(lab, dataset, splits, loaded);
  }
  return lab;
}

/** The static set's examples from the pretrained Generator, one class prompt per label; the Generator's name is kept in the state. */
async function writeStaticPretrained(lab: Replicate, labels: readonly number[], key: Key, phase: string): Promise<WriteOutput> {
  const requests = labels.map((label) => ({ messages: classMessages(lab.c, lab.names, label), label, hard: null }));
  const out = await writePretrained(lab.session, lab.c, requests, key, phase);
  lab.state.generatorModel = out.model;
  return out;
}

/** The in-lab Generator's own rows (writer.ts): a given one's corpus rows, the corpus Generator's corpus, or the tiny one's seed set. */
function ownRowsOf(lab: Replicate, dataset: LabelledDataset, splits: ExperimentSplits, given: GivenGenerator | null): Example[] {
  const { c } = lab;
  if (given) return given.ownRows;
  if (c.generator === 'corpus') {
    return generatorCorpus(
      dataset, [splits.pool, splits.val, splits.test], c.generatorCorpusSize, MIN_CORPUS_ROWS_PER_CLASS * lab.K, lab.key(STREAM.corpus),
    );
  }
  return clean(stratifiedSample(splits.pool, c.seedSetSize, lab.key(STREAM.seedSet), 'seedSetSize'));
}

/** The in-lab Generator of a new replicate: the tiny one (on a seed set of the pool), a loaded one, or a corpus one trained now. */
async function makeGenerator(
  lab: Replicate, pretrained: Float32Array, dataset: LabelledDataset, splits: ExperimentSplits, loaded: InLabGenerator | null,
): Promise<InLabGenerator> {
  const { c, session, model } = lab;
  if (loaded) return loaded;
  const phase = lab.phase('generator');
  if (c.generator === 'corpus') {
    const corpus = ownRowsOf(lab, dataset, splits, null);
    return trainCorpusGenerator(c, session, corpus, lab.K, { init: lab.key(STREAM.generatorInit), order: lab.key(STREAM.generatorTrain) }, phase);
  }
  // The tiny Generator: the pretrained LM, taught class-conditional text on a labelled seed set from the pool.
  const seedSet = ownRowsOf(lab, dataset, splits, null);
  const seedTokens = seedSet.map((r) => model.encode(r.text));
  const nextSeed = cycler(seedSet.length, 2 * c.batchSize, lab.key(STREAM.generator));
  const trained = await model.train(
    pretrained, c.generatorSteps, () => model.writeBatch(nextSeed().map((i) => ({ tokens: seedTokens[i]!, label: seedSet[i]!.label }))),
    c.generatorLearningRate, phase, 0,
  );
  session.progress(phase, c.generatorSteps);
  return new InLabGenerator(model, trained.params, 'tiny', seedSet.length, c.generatorSteps, trained.loss, undefined, seedSet);
}

/** Naive Bayes on the Student's tokens of the pool rows Real trains on over the run (its T·n batches), tested on the test set. */
function naiveBayesLine(lab: Replicate): NonNullable<SetupRecord['naiveBayes']> {
  const { c, model } = lab;
  const rows = lab.pool.slice(0, Math.min(lab.pool.length, c.generations * c.syntheticPerGeneration));
  const enc = (r: Example) => ({ tokens: model.encode(r.text), label: r.label });
  const acc = naiveBayesAccuracy(rows.map(enc), lab.test.map(enc), lab.K, model.tok.vocabSize);
  const ci = binomialCI95(Math.round(acc * lab.test.length), lab.test.length);
  return { accuracy: acc, low: ci.low, high: ci.high, trainRows: rows.length };
}

/** Pretraining, the in-lab Generator, the static set and its quality, the setup record and generation 0; then the first checkpoint. */
async function setUp(lab: Replicate, dataset: LabelledDataset, splits: ExperimentSplits, loaded: InLabGenerator | null): Promise<void> {
  const { c, session, model, plan: p } = lab;

  // Pretrain the Student as a plain LM on the pool texts.
  const poolTokens = lab.pool.map((r) => model.encode(r.text));
  const nextPretrain = cycler(poolTokens.length, 2 * c.batchSize, lab.key(STREAM.pretrain));
  const pretrainPhase = lab.phase('pretrain');
  const pre = await model.train(
    initParams(model.gpt, lab.key(STREAM.init)), c.pretrainSteps, () => model.lmBatch(nextPretrain().map((i) => poolTokens[i]!)),
    c.pretrainLearningRate, pretrainPhase, 0,
  );
  session.progress(pretrainPhase, c.pretrainSteps);
  lab.pretrained = pre.params;
  for (const m of lab.methods) lab.setStudent(m, pre.params);

  if (p.inLabGenerator) lab.generator = await makeGenerator(lab, pre.params, dataset, splits, loaded);

  // The static set: written once, before any adaptation, balanced over the labels.
  if (p.staticSet) {
    const labels = balancedLabels(c.staticSetSize, lab.K, lab.key(STREAM.staticSet, 0));
    const key = lab.key(STREAM.staticSet, 1);
    const phase = lab.phase('static set');
    const gen = lab.generator;
    const out = gen
      ? await gen.model.write(gen.base, gen.openings(labels, c.staticPrefixTokens, lab.key(STREAM.staticPrefix)), key, phase)
      : await writeStaticPretrained(lab, labels, key, phase);
    lab.state.staticSet = out.written.map(({ text, label }) => ({ text, label }));
    if (lab.state.staticSet.length === 0) throw new Error('generator: every output of the static set was empty or unusable; nothing to train on');
    session.emit({
      kind: 'static-set', replicate: lab.rep, generated: out.generated, dropped: out.generated - out.written.length, droppedReasons: out.dropped,
      size: lab.state.staticSet.length, ...textMetrics(c, lab.state.staticSet, lab.key(STREAM.bleu, 0)),
    } satisfies StaticSetRecord);
    session.emit(await measureGenerator(lab, lab.state.staticSet));
  }
  session.emit({
    kind: 'setup', replicate: lab.rep, dataset: dataset.name, labelNames: [...lab.names],
    sizes: { pool: c.poolSize, val: c.valSize, test: c.testSize, seedSet: p.inLabGenerator && c.generator === 'tiny' ? c.seedSetSize : 0 },
    testLabelShares: labelShares(lab.test.map((r) => r.label), lab.K)!, vocabSize: model.tok.vocabSize, contextLength: model.gpt.contextLength,
    parameters: model.backend.layout.total, pretrainLoss: pre.loss, generatorLoss: lab.generator?.origin === 'loaded' ? null : (lab.generator?.trainLoss ?? null),
    generator: lab.generatorName, naiveBayes: naiveBayesLine(lab),
  } satisfies SetupRecord);

  // Generation 0: the pretrained Student, before any labelled training, shared by every method.
  await model.backend.setParams(lab.pretrained);
  const evaluation = await lab.evaluate();
  for (const m of lab.methods) {
    session.emit({
      kind: 'generation', replicate: lab.rep, method: m, generation: 0, sharedBy: [...lab.methods],
      ...evaluation, trainLoss: null, lossCurve: [], dataSize: 0, labelShares: null, studentAgreement: null, distinct2: null, selfBleu: null,
      generated: 0, dropped: 0, droppedReasons: {}, source: 'the pretrained Student (no labelled training)', steps: 0, seconds: session.elapsed(),
    });
  }
  lab.checkpoint(0);
}
