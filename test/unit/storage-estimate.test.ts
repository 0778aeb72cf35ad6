/**
 * The storage warning before a run (src/ui/storage-estimate.ts): the
 * estimate follows the model's shape, and the warning appears exactly when
 * the estimate exceeds what the browser still allows, saying both sizes.
 */
import { expect, test } from 'vitest';
import { countParams } from '../../src/core/gpt/config';
import { estimateRunBytes, storageWarning } from '../../src/ui/storage-estimate';

test('the estimate is two checkpoints of two float32 models of the config\'s shape, plus a megabyte of records', () => {
  const params = countParams({ vocabSize: 512, contextLength: 256, dModel: 128, nLayers: 4, nHeads: 1 });
  expect(estimateRunBytes({ dModel: 128, nLayers: 4 })).toBe(2 * 2 * 4 * params + (1 << 20));
  expect(estimateRunBytes({ dModel: 256, nLayers: 4 })).toBeGreaterThan(estimateRunBytes({ dModel: 128, nLayers: 4 }));
  expect(estimateRunBytes({ dModel: 128, nLayers: 8 })).toBeGreaterThan(estimateRunBytes({ dModel: 128, nLayers: 4 }));
  // Fields that are not a model's shape fall back to the defaults rather than to nothing.
  expect(estimateRunBytes({ dModel: 'x', nLayers: -1 })).toBe(estimateRunBytes({}));
});

test('a warning exactly when the run would not fit, naming both sizes; none when the browser says nothing', () => {
  const config = { dModel: 64, nLayers: 2 };
  const need = estimateRunBytes(config);
  expect(storageWarning(config, { usedBytes: 0, quotaBytes: need, perRun: {} } as never)).toBeNull();
  const warning = storageWarning(config, { usedBytes: 1, quotaBytes: need, perRun: {} } as never);
  expect(warning).toMatch(/may need about .* of browser storage, and only .* is free/);
  expect(storageWarning(config, { usedBytes: 10 * need, quotaBytes: null, perRun: {} } as never)).toBeNull();
  expect(storageWarning(null, { usedBytes: 10 * need, quotaBytes: need, perRun: {} } as never)).toBeNull();
});
