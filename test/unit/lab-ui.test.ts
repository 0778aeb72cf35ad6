/**
 * The lab pages' pure parts: lesson links (lesson.ts), a config's problems
 * named by label and every unknown key reported (experiments/fields.ts), the
 * memory and work bounds on model sizes, intervals clipped to a metric's
 * range (format.ts) and CSV export (export.ts).
 */
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/core/schema';
import { resolveConfig } from '../../src/experiments/config';
import { trainedModels as collapseModels } from '../../src/experiments/collapse/config';
import { collapseSpec } from '../../src/experiments/collapse/spec';
import { MEMORY_BUDGET, memoryProblems } from '../../src/experiments/fields';
import { selfImproveSpec } from '../../src/experiments/self-improve/spec';
import { slug, toCsv } from '../../src/ui/export';
import { NON_NEGATIVE, SHARE, clipInterval, differenceDomain } from '../../src/ui/format';
import { MAX_QUESTION, takeLesson, withLesson } from '../../src/ui/lesson';

function problems(f: () => unknown): { field: string; message: string }[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('no ConfigError');
}

describe('lesson links', () => {
  const settings = Object.keys(collapseSpec.config.fields);

  test('backend, hidden controls and settings, and the question are read and taken out of the query', () => {
    const q = new URLSearchParams('preset=classroom&seed=3&backend=cpu&hide=adjust,temperature,adjust&question=%20Will%20it%20rise%3F%20&topP=0.9');
    const { lesson, backend, problems: p } = takeLesson(q, settings);
    expect(p).toEqual([]);
    expect(backend).toBe('cpu');
    expect(lesson).toEqual({ question: 'Will it rise?', hide: ['adjust', 'temperature'] });
    expect(q.toString()).toBe('preset=classroom&seed=3&topP=0.9'); // the settings stay for the share link
  });

  test('every bad part is a problem naming its key; the good parts still apply', () => {
    const long = 'x'.repeat(MAX_QUESTION + 5);
    const q = new URLSearchParams({ backend: 'tpu', hide: 'seed,bogus,colour', question: long });
    const { lesson, backend, problems: p } = takeLesson(q, settings);
    expect(backend).toBe('auto');
    expect(lesson.hide).toEqual(['seed']);
    expect(lesson.question).toHaveLength(MAX_QUESTION);
    expect(p.map((x) => `${x.field}:${x.given}`)).toEqual(['backend:tpu', 'hide:bogus', 'hide:colour', `question:${long.slice(0, 40)}…`]);
    expect(p[1]!.message).toMatch(/'bogus' is neither a control .* nor a setting of this lab/);
  });

  test('a lesson appended to a share link reads back the same', () => {
    const hash = withLesson('#/lab/collapse?preset=classroom&seed=3', { question: 'Rise or fall?', hide: ['presets', 'seed'] }, 'cpu');
    const q = new URLSearchParams(hash.split('?')[1]);
    const back = takeLesson(q, settings);
    expect(back.lesson).toEqual({ question: 'Rise or fall?', hide: ['presets', 'seed'] });
    expect(back.backend).toBe('cpu');
    expect(withLesson('#/lab/collapse', { question: null, hide: [] }, 'auto')).toBe('#/lab/collapse');
  });
});

describe('config problems', () => {
  test('every unknown key is reported, not only the first', () => {
    const p = problems(() => resolveConfig(selfImproveSpec, 'classroom', { colour: 'blue', size: 2, iterations: 'lots' } as never));
    expect(p.map((x) => x.field).sort()).toEqual(['colour', 'iterations', 'size']);
    expect(p.find((x) => x.field === 'size')!.message).toBe('unknown key');
  });

  test('a rule names the other field by its key for the CLI and by its label in the form', () => {
    expect(problems(() => resolveConfig(selfImproveSpec, 'classroom', { nHeads: 3 })))
      .toEqual([{ field: 'nHeads', message: 'must divide dModel (64)' }]);
    expect(problems(() => resolveConfig(selfImproveSpec, 'classroom', { nHeads: 3 }, 'label')))
      .toEqual([{ field: 'nHeads', message: 'must divide Width (64)' }]);
  });
});

describe('model sizes bounded by memory and work, before anything is allocated', () => {
  test('the presets fit', () => {
    for (const preset of Object.keys(collapseSpec.presets)) expect(() => resolveConfig(collapseSpec, preset, {})).not.toThrow();
  });

  test('too many parameters are refused on the width, naming the limit; too big a batch on the batch', () => {
    const wide = problems(() => resolveConfig(collapseSpec, 'classroom', { dModel: 1024, nLayers: 12, nHeads: 8 }, 'label'));
    expect(wide).toHaveLength(1);
    expect(wide[0]!.field).toBe('dModel');
    expect(wide[0]!.message).toMatch(/^too large: the model would have 15\d\.\d million parameters, 2\.\d GiB .*; the limit is 2\.0 GiB: lower Width or Layers$/);
    const batch = problems(() => resolveConfig(collapseSpec, 'classroom', { dModel: 1024, nLayers: 8, nHeads: 8, batchSize: 256 }));
    expect(batch.map((x) => x.field)).toEqual(['batchSize']);
    expect(batch[0]!.message).toMatch(/a step over 256 sequences needs about [\d.]+ GiB of activations.*lower batchSize or dModel$/);
  });

  test('a lower budget (a device that reports less memory) refuses what the lab allows, and says where', () => {
    const c = resolveConfig(collapseSpec, 'classroom', { dModel: 512, nLayers: 4, nHeads: 8 });
    const models = collapseModels(c);
    expect(memoryProblems(models, (k) => k)).toEqual([]);
    const small = memoryProblems(models, (k) => k, 2 ** 24, ' on this device');
    expect(small).toHaveLength(1);
    expect(small[0]!.message).toMatch(/the limit on this device is 16 MiB/);
    expect(MEMORY_BUDGET).toBe(2 ** 31);
  });
});

describe('figures', () => {
  test('intervals are clipped to what the metric can be; missing bounds stay missing', () => {
    expect(clipInterval({ mean: 0.97, low: 0.9, high: 1.04 }, SHARE)).toEqual({ mean: 0.97, low: 0.9, high: 1 });
    expect(clipInterval({ mean: 1, low: -2.5, high: 4.5 }, NON_NEGATIVE)).toEqual({ mean: 1, low: 0, high: 4.5 });
    expect(clipInterval({ mean: 1, low: null, high: null }, SHARE)).toEqual({ mean: 1, low: null, high: null });
    expect(clipInterval({ mean: -3, low: -5, high: -1 }, null)).toEqual({ mean: -3, low: -5, high: -1 });
    expect(differenceDomain(SHARE)).toEqual([-1, 1]);
  });

  test('CSV quotes cells with commas, quotes and line breaks (RFC 4180)', () => {
    expect(toCsv([['method', 'accuracy'], ['real, 3 seeds', '53.2% [48.8, 57.5]'], ['say "hi"', 'a\nb']]))
      .toBe('method,accuracy\r\n"real, 3 seeds","53.2% [48.8, 57.5]"\r\n"say ""hi""","a\nb"\r\n');
    expect(slug('Test accuracy per generation (λ = 2)')).toBe('test-accuracy-per-generation-2');
    expect(slug('λ')).toBe('chart');
  });
});
