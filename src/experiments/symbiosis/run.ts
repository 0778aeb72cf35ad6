/**
 * Generative Data Symbiosis (docs/symbiosis.md): a Generator writes labelled
 * synthetic data, a Student is fine-tuned on it, the Student's hard examples
 * steer the Generator; beside it Real data, a Static synthetic set and
 * Recursive self-training, on the same splits, seeds and Student
 * initialisation.
 *
 *   per replicate: setup (setup.ts) → generations 1…T, each method in turn
 *     (its data: methods.ts; its training and evaluation: replicate.ts) → a checkpoint after each
 *   then: Table 1 with its sentences (table.ts) and the summary (report.ts)
 */
import { RunSession } from '../session';
import type { RunContext } from '../types';
import type { SymbiosisConfig } from './config';
import { DataError, type LabelledDataset } from '../../core/data/labelled';
import { DATASET_INPUT, parseDatasetInput } from './dataset';
import { GENERATOR_INPUT, classMismatch, decodeGeneratorFile, hasHash, textHash, withoutCorpus } from './generator';
import { SYMBIOSIS_METHODS } from './methods';
import type { SymbiosisSession } from './model';
import { STATE_VERSION, type TableRecord, position, record, state } from './records';
import { type SymbiosisSummary, buildSummary, describePosition } from './report';
import { type GivenGenerator, openReplicate, plan } from './setup';
import { summarize, table1 } from './table';

/** The Generator file the run was given (ctx.inputs.generator), checked against the dataset; null without one. */
function givenGenerator(c: SymbiosisConfig, ctx: RunContext, dataset: LabelledDataset): GivenGenerator | null {
  const { labelNames } = dataset;
  const input = ctx.inputs?.[GENERATOR_INPUT];
  if (!input) return null;
  if (c.generator !== 'corpus') throw new Error(`generator: a Generator file (${input.name}) was given, but generator is '${c.generator}': choose 'corpus' to use it`);
  const file = decodeGeneratorFile(input.bytes, input.name);
  const mismatch = classMismatch(file.labelNames, labelNames);
  if (mismatch) throw new Error(`generator: ${input.name}: ${mismatch}`);
  const ownRows = Object.values(dataset.splits).flat().filter((r) => hasHash(file.corpusHashes, textHash(r.text)));
  return { file, name: input.name, ownRows };
}

export async function run(c: SymbiosisConfig, ctx: RunContext): Promise<SymbiosisSummary> {
  if (c.generator === 'pretrained' && !ctx.generateText) {
    throw new Error("generator: 'pretrained' needs a pretrained instruct model, which this host cannot run (the browser lab can); choose generator 'corpus' or 'tiny'");
  }
  const input = parseDatasetInput(ctx.inputs?.[DATASET_INPUT]);
  if (c.generator === 'pretrained' && input.labelNames.some((n) => /^\d+$/.test(n.trim()))) {
    throw new DataError(input.name, null, 'labelNames', `the classes are called ${input.labelNames.join(', ')}: name them first, since the pretrained Generator is prompted with the class names`);
  }
  const given = givenGenerator(c, ctx, input);
  // With a given Generator, the Student's pool, validation and test come only from rows outside its corpus.
  const dataset = given ? withoutCorpus(input, given.file.corpusHashes).dataset : input;
  const methods = SYMBIOSIS_METHODS.filter((m) => c.methods.includes(m));
  const session: SymbiosisSession = new RunSession(ctx, {
    experiment: 'symbiosis', total: plan(c, methods, given !== null).total, record, position, describe: describePosition,
    state: { version: STATE_VERSION, schema: state },
  });

  let generatorModel: string | null = null;
  let generatorName = '';
  const first = session.resumed?.at.replicate ?? 0;
  for (let rep = first; rep < c.replicates; rep++) {
    const lab = await openReplicate(c, session, dataset, methods, rep, rep === first ? session.resumed : null, generatorModel, given);
    for (let g = lab.generation + 1; g <= c.generations; g++) await lab.runGeneration(g);
    ({ generatorModel } = lab.state);
    generatorName = lab.generatorName;
    lab.dispose();
  }

  const shape = { methods, labelNames: dataset.labelNames, replicates: c.replicates, generations: c.generations, testSize: c.testSize };
  const table = table1(session.records, shape);
  const tableRecord: TableRecord = { kind: 'table', table, summary: summarize(table) };
  session.emit(tableRecord);
  return buildSummary(session.records, tableRecord, {
    ...shape, dataset: dataset.name, sizes: { pool: c.poolSize, val: c.valSize, test: c.testSize }, generator: generatorName, seconds: session.elapsed(),
  });
}
