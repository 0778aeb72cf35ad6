/**
 * Building a replicate (docs/symbiosis.md, "One replicate"): draw pool /
 * validation / test, train the BPE on the pool texts, pretrain the Student
 * as a plain LM on them, teach the tiny Generator class-conditional text on
 * a labelled seed set, write the static set, and evaluate generation 0 —
 * the pretrained Student every method starts from. A replicate resumed from
 * a checkpoint redraws its splits and takes the rest from the checkpoint.
 * Also the run's plan: its units of work, for progress.
 */
import { type LabelledDataset, type LabelledRow, makeLabelledSplits, stratifiedSample } from '../../core/data/labelled';
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
import type { ReplicateState, StaticSetRecord, SymbiosisPosition } from './records';
import { type Plan, Replicate, balancedLabels, textMetrics } from './replicate';
import { STREAM, replicateKey } from './streams';
import { normalise } from './text';

/** Units of work: one per optimizer step (nominal: E·n/b per method and generation) and per example written. */
export function plan(c: SymbiosisConfig, methods: readonly SymbiosisMethod[]): Plan {
  const train = Math.ceil((c.epochsPerGeneration * c.syntheticPerGeneration) / c.batchSize);
  const staticSet = methods.some((m) => METHODS[m].usesStaticSet);
  const tinyGenerator = c.generator === 'tiny' && (staticSet || methods.some((m) => METHODS[m].adaptsGenerator));
  const setup = c.pretrainSteps + (tinyGenerator ? c.generatorSteps : 0) + (staticSet ? c.staticSetSize : 0);
  let perReplicate = setup;
  for (let g = 1; g <= c.generations; g++) for (const m of methods) perReplicate += train + METHODS[m].extraWork(c, g);
  return { train, setup, total: c.replicates * perReplicate, tinyGenerator, staticSet };
}

const clean = (rows: readonly LabelledRow[]): Example[] => rows.map((r) => ({ text: normalise(r.text), label: r.label }));

/**
 * Replicate `rep`, ready for generation 1 (or, resumed, for the generation
 * after its checkpoint). `generatorModel`: the pretrained Generator's name
 * as an earlier replicate learnt it (null: not yet known).
 */
export async function openReplicate(
  c: SymbiosisConfig, session: SymbiosisSession, dataset: LabelledDataset, methods: readonly SymbiosisMethod[], rep: number,
  resumed: Resumed<SymbiosisPosition, ReplicateState> | null, generatorModel: string | null,
): Promise<Replicate> {
  const key = replicateKey(session.runKey, rep);
  const splits = makeLabelledSplits(dataset, { pool: c.poolSize, val: c.valSize, test: c.testSize }, streamKey(key, STREAM.splits));
  const pool = clean(splits.pool);
  const saved = resumed ? session.ctx.resume?.tokenizer : undefined;
  const tok = saved ? tokenizerFromJSON(saved) : trainBpe(pool.map((r) => r.text), { vocabSize: c.vocabSize });
  // BOS · label · SEP · text · EOS is the longest row.
  const gpt: GptConfig = { vocabSize: tok.vocabSize, contextLength: c.maxTextTokens + 4, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads };
  const model = new TextModel(c, session, tok, gpt, await session.ctx.createBackend(gpt), dataset.labelNames.length);
  const lab = new Replicate({
    c, session, plan: plan(c, methods), rep, methods, labelNames: dataset.labelNames,
    pool, val: clean(splits.val), test: clean(splits.test), model, key,
  }, generatorModel);
  if (resumed) lab.restore(resumed);
  else await setUp(lab, dataset.name, splits.pool);
  return lab;
}

/** The static set's examples from the pretrained Generator, one class prompt per label; the Generator's name is kept in the state. */
async function writeStaticPretrained(lab: Replicate, labels: readonly number[], key: Key, phase: string): Promise<WriteOutput> {
  const requests = labels.map((label) => ({ messages: classMessages(lab.c, lab.names, label), label, hard: null }));
  const out = await writePretrained(lab.session, lab.c, requests, key, phase);
  lab.state.generatorModel = out.model;
  return out;
}

/** Pretraining, the tiny Generator, the static set, the setup record and generation 0; then the first checkpoint. */
async function setUp(lab: Replicate, datasetName: string, poolRows: readonly LabelledRow[]): Promise<void> {
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

  // The tiny Generator: the pretrained LM, taught class-conditional text on a labelled seed set from the pool.
  let generatorLoss: number | null = null;
  if (p.tinyGenerator) {
    const seedSet = clean(stratifiedSample(poolRows, c.seedSetSize, lab.key(STREAM.seedSet), 'seedSetSize'));
    const seedTokens = seedSet.map((r) => model.encode(r.text));
    const nextSeed = cycler(seedSet.length, 2 * c.batchSize, lab.key(STREAM.generator));
    const phase = lab.phase('generator');
    const trained = await model.train(
      pre.params, c.generatorSteps, () => model.writeBatch(nextSeed().map((i) => ({ tokens: seedTokens[i]!, label: seedSet[i]!.label }))),
      c.generatorLearningRate, phase, 0,
    );
    session.progress(phase, c.generatorSteps);
    lab.generator = trained.params;
    generatorLoss = trained.loss;
  }

  // The static set: written once, before any adaptation, balanced over the labels.
  if (p.staticSet) {
    const labels = balancedLabels(c.staticSetSize, lab.K, lab.key(STREAM.staticSet, 0));
    const key = lab.key(STREAM.staticSet, 1);
    const phase = lab.phase('static set');
    const out = c.generator === 'tiny'
      ? await model.write(lab.tinyGenerator(), labels.map((label) => ({ label, prefix: [], hard: null })), key, phase)
      : await writeStaticPretrained(lab, labels, key, phase);
    lab.state.staticSet = out.written.map(({ text, label }) => ({ text, label }));
    if (lab.state.staticSet.length === 0) throw new Error('generator: every output of the static set was empty or unusable; nothing to train on');
    session.emit({
      kind: 'static-set', replicate: lab.rep, generated: out.generated, dropped: out.generated - out.written.length, droppedReasons: out.dropped,
      size: lab.state.staticSet.length, ...textMetrics(c, lab.state.staticSet, lab.key(STREAM.bleu, 0)),
    } satisfies StaticSetRecord);
  }
  session.emit({
    kind: 'setup', replicate: lab.rep, dataset: datasetName, labelNames: [...lab.names],
    sizes: { pool: c.poolSize, val: c.valSize, test: c.testSize, seedSet: p.tinyGenerator ? c.seedSetSize : 0 },
    testLabelShares: labelShares(lab.test.map((r) => r.label), lab.K)!, vocabSize: model.tok.vocabSize, contextLength: model.gpt.contextLength,
    parameters: model.backend.layout.total, pretrainLoss: pre.loss, generatorLoss, generator: lab.generatorName,
  });

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
