/**
 * The symbiosis page's data and Generator panels in headless Chromium: a
 * training file, a test file and a labels.txt uploaded together become one
 * dataset with train and test splits and the file's class names; a class is
 * renamed in the page; a small corpus-Generator run shows the Generator's
 * quality (classifier on its samples, Distinct-2, perplexity per class); its
 * Generator is kept, listed in the picker with its quality, exported as a
 * .safetensors file and imported back; a file that is not a Generator is
 * refused naming what is wrong; the lab's ready AG News Generator is added
 * from the app's files and refused for a dataset of other classes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Rng, keyFromSeed } from '../../src/core/rng';
import { type Lab, openAdjust, startLab, waitForRunStatus } from './harness';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
});

afterAll(async () => {
  await lab?.close();
});

const CLASS_LETTERS = ['abcde', 'fghij', 'klmno'];

/** n JSONL rows with integer labels (names come from labels.txt): each class writes with its own letters. */
function lettersJsonl(n: number, seed: number): string {
  const rng = new Rng(keyFromSeed(seed));
  return Array.from({ length: n }, (_, i) => {
    const label = i % 3;
    const words = Array.from({ length: 6 + rng.int(4) }, () => {
      const letters = rng.uniform() < 0.85 ? CLASS_LETTERS[label]! : 'pqrstu';
      return Array.from({ length: 3 + rng.int(3) }, () => letters[rng.int(letters.length)]).join('');
    });
    return JSON.stringify({ text: words.join(' '), label });
  }).join('\n');
}

const small: Record<string, string> = {
  methods: 'real,static,symbiosis-balanced', generator: 'corpus', poolSize: '150', valSize: '30', testSize: '60', generations: '1',
  syntheticPerGeneration: '36', staticSetSize: '60', batchSize: '8', hardExamples: '6', vocabSize: '300', maxTextTokens: '16', dModel: '16',
  nLayers: '1', nHeads: '2', pretrainSteps: '10', seedSetSize: '30', generatorVocabSize: '300', generatorMaxTokens: '16', generatorDModel: '16',
  generatorLayers: '1', generatorHeads: '2', generatorSteps: '60', generatorAdaptSteps: '4', promptPrefixTokens: '2', staticPrefixTokens: '2',
  selfBleuSamples: '10', sampleRowsPerGeneration: '5',
};

test('symbiosis data and Generator: upload train + test + names, rename a class, keep, export and import the Generator', async () => {
  const { page, errors } = await lab.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${lab.url}/#/lab/symbiosis?preset=classroom&seed=1&${new URLSearchParams(small).toString()}`);
  await page.getByRole('heading', { name: 'Setup' }).waitFor({ timeout: 120_000 });

  // Three files chosen together: the test split by its name, the class names from labels.txt.
  await page.getByLabel('Upload a CSV or JSONL file').check();
  await page.locator('#dataset-file').setInputFiles([
    { name: 'letters-train.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(lettersJsonl(600, 21)) },
    { name: 'letters-test.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(lettersJsonl(90, 22)) },
    { name: 'labels.txt', mimeType: 'text/plain', buffer: Buffer.from('sport\nmoney\nscience\n') },
  ]);
  const chosen = page.getByTestId('dataset-chosen');
  await chosen.waitFor({ timeout: 30_000 });
  expect(await chosen.textContent()).toMatch(/3 classes \(sport, money, science\),\s+600 train, 90 test rows/);

  // Rename a class: a name used twice is refused before saving; a new name is saved with the dataset.
  const names = page.getByTestId('class-names');
  await names.locator('summary').click();
  await page.locator('#class-name-2').fill('Money');
  expect(await names.getByRole('status').textContent()).toContain('classes 1 and 2 are both called "Money"');
  expect(await names.getByRole('button', { name: 'Save names' }).isDisabled()).toBe(true);
  await page.locator('#class-name-2').fill('science & tech');
  await names.getByRole('button', { name: 'Save names' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-chosen"]')?.textContent?.includes('science & tech'));

  // A small run that trains its corpus Generator.
  await openAdjust(page);
  await page.getByLabel('CPU', { exact: true }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitForRunStatus(page, 'running', 60_000); // the page opened on the precomputed run, which is 'done' already
  await page.waitForFunction(
    () => ['done', 'failed'].includes(document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? ''),
    undefined,
    { timeout: 400_000 },
  );
  expect(await page.getByTestId('run-status').getAttribute('data-status'), (await page.locator('.run-panel').textContent()) ?? '').toBe('done');

  // The Generator panel: its quality, measured on the static set.
  const panel = page.getByTestId('generator-quality');
  expect(await page.getByTestId('generator-name').textContent()).toMatch(/corpus GPT/);
  expect(await panel.textContent()).toMatch(/learnt from 420 labelled rows in 60 steps/);
  expect(await panel.locator('tr[data-metric="distinct2"]').textContent()).toMatch(/word pairs\)\s*[01](\.\d+)?\s*[01](\.\d+)?$/);
  const perplexity = await page.getByTestId('perplexity').locator('li').allTextContents();
  expect(perplexity).toHaveLength(3);
  for (const p of perplexity) expect(p).toMatch(/ \d+(\.\d)?$/);
  expect(perplexity.join(' ')).toContain('science & tech');
  // The accuracy chart carries the naive-Bayes line.
  expect((await page.locator('[data-chart="accuracy"] figure.line-chart').getAttribute('aria-label')) ?? '').toContain('naive Bayes');

  // Keep it: the picker lists it with its classes and quality; export gives a .safetensors file.
  await page.getByTestId('keep-generator').click();
  const saved = page.locator('[data-testid="generator-picker"] [data-generator-id]');
  await saved.first().waitFor({ timeout: 30_000 });
  expect(await saved.first().textContent()).toMatch(/sport, money, science & tech · [\d,]+ parameters · 420 rows/);
  expect(await saved.first().textContent()).toMatch(/naive Bayes on its samples \d+\.\d%/);
  const [download] = await Promise.all([page.waitForEvent('download'), saved.first().getByRole('button', { name: 'Export' }).click()]);
  const file = await download.path();
  const bytes = readFileSync(file!);
  expect(bytes.length).toBeGreaterThan(1000);

  // Import it back (a second entry), and a file that is not a Generator is refused saying why.
  await page.getByTestId('import-generator').setInputFiles({ name: 'mine.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="generator-picker"] [data-generator-id]').length === 2);
  await page.getByTestId('import-generator').setInputFiles({ name: 'junk.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from([1, 2, 3]) });
  await page.getByTestId('generator-error').waitFor();
  expect(await page.getByTestId('generator-error').textContent()).toContain('junk.safetensors');

  // The lab's ready AG News Generator (public/generators/): added from the app's own files, listed with its
  // classes, and not choosable for this dataset, whose classes differ.
  await page.getByTestId('add-ready-generator').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="generator-picker"] [data-generator-id]').length === 3);
  const ready = saved.filter({ hasText: 'The ready AG News Generator' });
  expect(await ready.textContent()).toMatch(/World, Sports, Business, Sci\/Tech · [\d,]+ parameters · 2,400 rows/);
  expect(await ready.textContent()).toContain('Not for this dataset');
  expect(await ready.getByRole('radio').isDisabled()).toBe(true);
  expect(await page.getByTestId('add-ready-generator').count(), 'added once: the button goes').toBe(0);
  expect(errors).toEqual([]);
}, 900_000);
