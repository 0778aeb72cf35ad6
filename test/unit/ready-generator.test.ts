/**
 * The ready AG News Generator the app ships (public/generators/, made by
 * `npm run make-generator`; docs/symbiosis.md "The ready AG News Generator"):
 * the file reads as a Generator of AG News's classes; its corpus is 2,400
 * rows of the shared AG News train sample, none of them a test row; and a
 * classroom run given it (shrunk) trains no Generator and writes a static
 * set a classifier learns AG News from (well above chance). That a run given
 * a Generator keeps the Student's splits off its corpus is tested in
 * symbiosis-generator.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { AG_NEWS_LABEL_NAMES } from '../../src/core/data/labelled';
import { resolveConfig } from '../../src/experiments/config';
import { symbiosis } from '../../src/experiments/symbiosis';
import { DATASET_INPUT } from '../../src/experiments/symbiosis/dataset';
import { GENERATOR_INPUT, decodeGeneratorFile, hasHash, textHash } from '../../src/experiments/symbiosis/generator';
import type { SymbiosisRecord } from '../../src/experiments/symbiosis/records';
import { GENERATOR, READY_GENERATOR_PATH } from '../../bin/make-generator';
import { datasetInputFromFolder } from '../../bin/data-folder';
import { runTiny } from '../support/run-tiny';

const fileUrl = new URL(`../../${READY_GENERATOR_PATH}`, import.meta.url);
const agNews = new URL('../../../shared/data/ag_news', import.meta.url).pathname;

describe('the ready AG News Generator', () => {
  const bytes = new Uint8Array(readFileSync(fileUrl));
  const file = decodeGeneratorFile(bytes, 'ag-news.safetensors');

  test('is a Generator of AG News\u2019s four classes, the shape and training make-generator gives it, in a few MB', () => {
    expect(file.dataset).toBe('ag_news');
    expect(file.labelNames).toEqual([...AG_NEWS_LABEL_NAMES]);
    expect(file.config).toMatchObject({ dModel: Number(GENERATOR.generatorDModel), nLayers: Number(GENERATOR.generatorLayers), nHeads: Number(GENERATOR.generatorHeads) });
    expect(file.steps).toBe(Number(GENERATOR.generatorSteps));
    expect(file.corpusRows).toBe(Number(GENERATOR.generatorCorpusSize));
    expect(file.corpusHashes.length).toBe(file.corpusRows);
    expect(bytes.length).toBeLessThan(5e6);
    expect(file.trainLoss).toBeGreaterThan(0);
    // Its quality as measured where it was made: naive Bayes on its samples well above chance (25%).
    expect((file.quality as { classifierAccuracy: number }).classifierAccuracy).toBeGreaterThan(0.4);
  });

  test.skipIf(!existsSync(agNews))('was made from the shared AG News sample: its corpus is train rows, none of them a test row', () => {
    const { dataset } = datasetInputFromFolder(agNews);
    const inCorpus = (rows: readonly { text: string }[]) => rows.filter((r) => hasHash(file.corpusHashes, textHash(r.text))).length;
    expect(inCorpus(dataset.splits.train!)).toBe(file.corpusRows);
    expect(inCorpus(dataset.splits.test!)).toBe(0);
  });

  test.skipIf(!existsSync(agNews))('a classroom run given it trains no Generator and its static set teaches AG News', async () => {
    const { input } = datasetInputFromFolder(agNews);
    const config = resolveConfig(symbiosis, 'classroom', {
      methods: ['real', 'static'], generations: 1, syntheticPerGeneration: 200, staticSetSize: 200, epochsPerGeneration: 2,
      poolSize: 600, valSize: 50, testSize: 400, pretrainSteps: 20, selfBleuSamples: 10, sampleRowsPerGeneration: 5,
    });
    const out = await runTiny(symbiosis, config, {
      seed: 1, host: { inputs: { [DATASET_INPUT]: input, [GENERATOR_INPUT]: { name: 'ag-news.safetensors', bytes } } },
    });
    if (out.error) throw out.error;
    const records = out.records as SymbiosisRecord[];
    const quality = records.find((r): r is Extract<SymbiosisRecord, { kind: 'generator' }> => r.kind === 'generator')!;
    expect(quality).toMatchObject({ origin: 'loaded', corpusRows: file.corpusRows, steps: file.steps });
    expect(out.events.some((e) => e.type === 'progress' && /generator/.test(e.phase) && !/adapt/.test(e.phase))).toBe(false);
    // A classifier on its 200 samples alone: far above chance (25%) on 400 real test rows.
    expect(quality.classifierAccuracy).toBeGreaterThan(0.4);
  }, 300_000);
});
