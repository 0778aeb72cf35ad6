/**
 * The symbiosis lab page end to end in headless Chromium on the CPU: a
 * labelled JSONL file the test writes (three classes, each with its own
 * letters, so a tiny Student learns it in seconds) is uploaded through the
 * dataset picker; the tiny preset, made smaller by the share link, runs all
 * four methods from the page; Table 1 appears with every method, the chance
 * level and the written summary; the accuracy chart has every method and
 * the chance line; the training data can be browsed. Then the pretrained
 * Generator's path: a tiny causal LM the test writes (test/support/tiny-onnx)
 * is served at /tiny-models/lm, the run loads it through transformers.js in
 * the lab worker (onnxruntime-web's Wasm from the app), prompts it with the
 * class and hard-example templates, and ends with its Table 1.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Rng, keyFromSeed } from '../../src/core/rng';
import { tinyLmFiles } from '../support/tiny-onnx';
import { type Lab, openAdjust, startLab } from './harness';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
  mkdirSync('.scratch', { recursive: true });
});

afterAll(async () => {
  await lab?.close();
});

const LABEL_NAMES = ['sport', 'money', 'science'];
const CLASS_LETTERS = ['abcde', 'fghij', 'klmno'];

/** n JSONL rows: each class writes its words with its own letters, plus filler every class uses. */
function lettersJsonl(n: number): string {
  const rng = new Rng(keyFromSeed(12));
  return Array.from({ length: n }, (_, i) => {
    const label = i % 3;
    const words = Array.from({ length: 6 + rng.int(4) }, () => {
      const letters = rng.uniform() < 0.85 ? CLASS_LETTERS[label]! : 'pqrstu';
      return Array.from({ length: 3 + rng.int(3) }, () => letters[rng.int(letters.length)]).join('');
    });
    return JSON.stringify({ text: words.join(' '), label: LABEL_NAMES[label] });
  }).join('\n');
}

const small: Record<string, string> = {
  poolSize: '150', valSize: '30', testSize: '60', generations: '2', syntheticPerGeneration: '36', staticSetSize: '60',
  batchSize: '8', hardExamples: '6', vocabSize: '300', maxTextTokens: '16', dModel: '16', nLayers: '1', nHeads: '2', pretrainSteps: '10',
  seedSetSize: '60', generatorSteps: '80', generatorAdaptSteps: '4', promptPrefixTokens: '2', selfBleuSamples: '10', sampleRowsPerGeneration: '5',
};

test('symbiosis lab: upload a dataset, run the four methods from the page, read Table 1', async () => {
  const { page, errors } = await lab.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${lab.url}/#/lab/symbiosis?preset=tiny&seed=1&${new URLSearchParams(small).toString()}`);
  await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true); // no dataset yet

  await page.getByLabel('Upload a CSV or JSONL file').check();
  await page.locator('#dataset-file').setInputFiles({ name: 'letters.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(lettersJsonl(300)) });
  await page.getByTestId('dataset-chosen').waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('dataset-chosen').textContent()).toContain('3 classes');

  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForFunction(
    () => ['done', 'failed'].includes(document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? ''),
    undefined,
    { timeout: 400_000 },
  ).catch(async (e: unknown) => {
    await page.screenshot({ path: '.scratch/symbiosis-stuck.png', fullPage: true });
    throw e;
  });
  const status = await page.getByTestId('run-status').getAttribute('data-status');
  expect(status, (await page.locator('.run-panel').textContent()) ?? '').toBe('done');

  const table = page.getByTestId('table1');
  await table.waitFor();
  for (const method of ['real', 'static', 'recursive', 'symbiosis']) {
    expect(await table.locator(`tr[data-method="${method}"] td`).nth(2).textContent(), method).toMatch(/\d+\.\d%/);
  }
  expect(await table.locator('tr.chance').textContent()).toContain('33.3%');
  expect(await page.getByTestId('summary').locator('li').count()).toBeGreaterThan(0);
  const accuracy = page.locator('[data-chart="accuracy"] figure.line-chart');
  expect(await accuracy.getAttribute('data-points')).toBe('3'); // generations 0, 1, 2
  const label = (await accuracy.getAttribute('aria-label')) ?? '';
  for (const name of ['Real Data', 'Static Synthetic', 'Recursive Collapse', 'Generative Symbiosis', 'chance']) expect(label).toContain(name);
  // The loss step by step: every 10 steps of each method's Student, not one point per generation.
  const loss = page.locator('[data-chart="loss"] figure.line-chart');
  expect(Number(await loss.getAttribute('data-points'))).toBeGreaterThan(3);
  for (const name of ['Real Data', 'Static Synthetic', 'Recursive Collapse', 'Generative Symbiosis']) expect((await loss.getAttribute('aria-label')) ?? '').toContain(name);
  // Class balance: the Student's favourite class on the test set, and the data's largest class, against the balanced line.
  for (const chart of ['top-predicted', 'top-data']) {
    const figure = page.locator(`[data-chart="${chart}"] figure.line-chart`);
    expect(await figure.getAttribute('data-points'), chart).toBe('3');
    expect((await figure.getAttribute('aria-label')) ?? '', chart).toContain('balanced');
  }
  expect(await page.locator('[data-testid="synthetic-browser"] tbody tr').count()).toBeGreaterThan(0);
  expect(await page.getByTestId('generator-in-use').textContent()).toContain('tiny');
  await page.screenshot({ path: '.scratch/symbiosis-done.png', fullPage: true });

  // --- the pretrained Generator: a tiny local instruct model, loaded by transformers.js in the lab worker ---------
  // It ends rows only at the token budget (eosFrom null: the templates are long) and writes words (spaceBias).
  const lm = tinyLmFiles({ seed: 4, spaceBias: 12, eosFrom: null }).files;
  await page.context().route(`${lab.url}/tiny-models/lm/**`, async (route) => {
    const file = new URL(route.request().url()).pathname.replace('/tiny-models/lm/', '');
    const body = lm[file];
    if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
    await route.fulfill({ status: 200, body: typeof body === 'string' ? body : Buffer.from(body), contentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
  });
  // Short templates: the tiny model's context is 256 byte-level tokens.
  const pretrained = {
    ...small, generator: 'pretrained', pretrainedModel: '/tiny-models/lm', pretrainedMaxNewTokens: '24', generations: '1', fewShotExamples: '0',
    classPrompt: 'News: {label}.', hardPrompt: 'Hard for a student ({label}): {text}',
  };
  await page.goto(`${lab.url}/#/lab/symbiosis?preset=tiny&seed=2&${new URLSearchParams(pretrained).toString()}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Setup' }).waitFor();
  expect(await page.locator('#generator').inputValue()).toBe('pretrained');
  expect(await page.locator('#pretrainedModel').inputValue()).toBe('/tiny-models/lm');
  await page.locator('li[data-dataset-id]').first().getByRole('button', { name: 'Use' }).click();
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.locator('.run-panel .which', { hasText: 'seed 2' }).waitFor({ timeout: 60_000 });
  await page.waitForFunction(
    () => ['done', 'failed'].includes(document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? ''),
    undefined,
    { timeout: 400_000 },
  );
  expect(await page.getByTestId('run-status').getAttribute('data-status'), (await page.locator('.run-panel').textContent()) ?? '').toBe('done');
  expect(await page.getByTestId('generator-in-use').textContent()).toContain('/tiny-models/lm (pretrained, prompt curriculum)');
  expect(await page.getByTestId('table1').locator('tr[data-method="symbiosis"]').textContent()).toMatch(/\d+\.\d%/);
  await page.screenshot({ path: '.scratch/symbiosis-pretrained.png', fullPage: true });
  expect(errors).toEqual([]);
}, 900_000);
