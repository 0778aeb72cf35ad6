/**
 * The front page in real headless Chromium: the device panel, a short demo
 * run on each backend (tiny sizes: SwiftShader is slow), the weights
 * download, cancelling, and a config field that fails validation. Leaves
 * screenshots in .scratch/app.png and .scratch/app-invalid.png.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { decodeCheckpoint } from '../../src/core/checkpoint';
import { countParams } from '../../src/core/gpt/config';
import { useLab } from './harness';

const lab = useLab();

/** A model small enough for a few steps on SwiftShader. */
const tinyModel = { contextLength: 16, dModel: 16, nLayers: 1, nHeads: 2 };
const tiny = { ...tinyModel, batchSize: 4 };

async function setFields(page: Page, values: Record<string, number>): Promise<void> {
  for (const [id, value] of Object.entries(values)) await page.locator(`#${id}`).fill(String(value));
}

/** Train with the given backend radio and wait for the run to finish; returns the status and progress texts. */
async function train(page: Page, backend: 'Auto' | 'CPU' | 'WebGPU', steps: number, timeout: number) {
  await page.getByLabel(backend, { exact: true }).check();
  await setFields(page, { ...tiny, steps });
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  // The live view: the progress text appears while (or once) steps arrive.
  await page.getByTestId('progress-text').waitFor({ timeout });
  await page.waitForFunction(
    () => {
      const status = document.querySelector('[data-testid="run-status"]')?.textContent ?? '';
      return /Finished|failed/.test(status) || document.querySelector('[role="alert"]') !== null;
    },
    undefined,
    { timeout },
  );
  const problem = await page.locator('.run [role="alert"]').allTextContents();
  expect(problem, 'the run reported a problem').toEqual([]);
  const status = (await page.getByTestId('run-status').textContent()) ?? '';
  return {
    status,
    finalLoss: Number(/final loss\s+([\d.]+)/.exec(status)?.[1]),
    progress: (await page.getByTestId('progress-text').textContent()) ?? '',
    progressValue: await page.locator('#train-progress').evaluate((el) => (el as HTMLProgressElement).value),
    points: Number(await page.locator('figure.line-chart').getAttribute('data-points')),
    backendInUse: (await page.getByTestId('backend-in-use').textContent()) ?? '',
  };
}

test('front page: device panel, demo runs on each backend, download, cancel, field validation', async () => {
  const { page, errors } = await lab().newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${lab().url}/`);

  await page.getByRole('heading', { name: 'Symbiosis Lab' }).waitFor();
  expect(await page.getByRole('link', { name: 'Engine' }).getAttribute('aria-current')).toBe('page');
  for (const name of ['Self-improvement', 'Collapse', 'Diversity', 'Symbiosis']) {
    expect(await page.getByRole('link', { name }).getAttribute('href'), name).toMatch(/^#\/lab\//);
  }

  // The device panel: a WebGPU adapter (SwiftShader here), or a stated reason for the CPU fallback.
  const status = page.getByTestId('webgpu-status');
  await status.waitFor({ timeout: 30_000 });
  const statusText = (await status.textContent()) ?? '';
  const webgpu = statusText.startsWith('WebGPU available');
  let softwareAdapter = false;
  if (webgpu) {
    const panel = page.locator('section[aria-labelledby="device-title"]');
    const panelText = (await panel.textContent()) ?? '';
    expect(panelText).toContain('maxStorageBufferBindingSize');
    expect(panelText).toMatch(/shader-f16\s*(yes|no)/);
    expect(panelText).toMatch(/Software \(fallback\) adapter\s*(yes|no)/);
    softwareAdapter = /Software \(fallback\) adapter\s*yes/.test(panelText);
  } else {
    expect(statusText).toMatch(/^No WebGPU: \S/);
  }
  console.log(`device panel: ${statusText}`);

  // CPU: a loss point per step, progress at 100%.
  const steps = 10;
  const cpu = await train(page, 'CPU', steps, 120_000);
  expect(cpu.status).toContain(`Finished ${steps} steps on CPU`);
  expect(cpu.progressValue).toBe(100);
  expect(cpu.progress).toContain(`${steps} / ${steps} steps`);
  expect(cpu.progress).toContain('100%');
  expect(cpu.points).toBe(steps);
  expect(cpu.backendInUse).toMatch(/^\s*CPU/);
  expect(cpu.finalLoss).toBeLessThan(Math.log(37)); // below a uniform guess over the 37 ids
  expect(await page.locator('figure.line-chart canvas').count()).toBeGreaterThan(0);
  console.log(`cpu run: ${cpu.status.trim()} | ${cpu.progress.trim()}`);

  // Download weights: a checkpoint of the model just trained.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download weights' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`engine-demo-seed1-${steps}steps.safetensors`);
  const checkpoint = decodeCheckpoint(new Uint8Array(readFileSync(await download.path())));
  expect(checkpoint.config).toEqual({ vocabSize: 37, ...tinyModel });
  expect(checkpoint.params.length).toBe(countParams(checkpoint.config));
  expect(checkpoint.meta.experiment).toBe('engine-demo');

  // Auto: the CPU on a software adapter (SwiftShader here) or without WebGPU, saying why; else WebGPU.
  const auto = await train(page, 'Auto', steps, 300_000);
  expect(auto.progressValue).toBe(100);
  if (softwareAdapter) expect(auto.backendInUse).toMatch(/^\s*CPU: .*slower than the CPU/);
  else expect(auto.backendInUse).toMatch(webgpu ? /^\s*WebGPU/ : /^\s*CPU: .*CPU fallback/);
  console.log(`auto run: ${auto.backendInUse.trim()}`);

  // Cancel: a long run stops at once and the page is ready for the next one.
  await page.locator('#steps').fill('100000');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForFunction(() => Number(/^\s*(\d+)/.exec(document.querySelector('[data-testid="progress-text"]')?.textContent ?? '')?.[1]) > 0);
  await page.getByRole('button', { name: 'Cancel' }).click();
  expect(await page.getByTestId('run-status').textContent()).toContain('Cancelled');
  expect(await page.getByRole('button', { name: 'Train', exact: true }).isEnabled()).toBe(true);
  expect(await page.getByRole('button', { name: 'Download weights' }).isDisabled()).toBe(true);

  // WebGPU, in a fresh worker: the loss is read every 5 steps, so 2 points. Same seed, same
  // model, same batches as the CPU run: the final losses agree to float rounding.
  if (webgpu) {
    const gpu = await train(page, 'WebGPU', steps, 300_000);
    expect(gpu.status).toContain(`Finished ${steps} steps on WebGPU`);
    expect(gpu.progressValue).toBe(100);
    expect(gpu.points).toBe(2);
    expect(gpu.backendInUse).toMatch(/^\s*WebGPU/);
    expect(Math.abs(gpu.finalLoss - cpu.finalLoss)).toBeLessThan(2e-3);
    console.log(`webgpu run: ${gpu.status.trim()} | ${gpu.progress.trim()}`);
  }

  mkdirSync('.scratch', { recursive: true });
  await page.screenshot({ path: '.scratch/app.png', fullPage: true });

  // An invalid field: the message names it, and Train is disabled.
  await setFields(page, { dModel: 16, nHeads: 5 });
  const message = page.locator('#nHeads-error');
  await message.waitFor();
  expect(await message.textContent()).toContain('nHeads: must divide dModel (16), got 5');
  expect(await page.getByRole('button', { name: 'Train', exact: true }).isDisabled()).toBe(true);
  await page.screenshot({ path: '.scratch/app-invalid.png', fullPage: true });

  expect(errors).toEqual([]);
});
