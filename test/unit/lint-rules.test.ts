/** The import-direction lint (house style §2) really rejects a wrong arrow. */
import { ESLint } from 'eslint';
import { expect, test } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function messages(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

test.each([
  ['src/core/x.ts', "import { a } from '../ui/a';\nexport const b = a;\n"],
  ['src/core/x.ts', "import { a } from '../persist/db';\nexport const b = a;\n"],
  ['src/core/x.ts', "import { a } from 'idb';\nexport const b = a;\n"],
  ['src/experiments/x.ts', "import { a } from '../../workers/lab.worker';\nexport const b = a;\n"],
  ['src/data/x.ts', "import { a } from '../persist/db';\nexport const b = a;\n"],
  ['src/data/x.ts', "import { a } from '../ui/format';\nexport const b = a;\n"],
  ['src/data/x.ts', "import { a } from '../experiments/config';\nexport const b = a;\n"],
  ['src/data/x.ts', "import { api } from '../../workers/data.worker';\nexport const b = api;\n"],
  ['src/data/x.ts', "import { openDB } from 'idb';\nexport const b = openDB;\n"],
  ['src/ui/x.ts', "import { a } from '../persist/db';\nexport const b = a;\n"],
  ['src/ui/x.ts', "import { api } from '../../workers/lab.worker';\nexport const b = api;\n"],
  ['src/core/x.ts', "import { env } from '@huggingface/transformers';\nexport const b = env;\n"],
  ['src/core/x.ts', "import { loadEmbedder } from '../pretrained/embeddings';\nexport const b = loadEmbedder;\n"],
  ['src/experiments/x.ts', "import { loadEmbedder } from '../pretrained/embeddings';\nexport const b = loadEmbedder;\n"],
  ['src/experiments/x.ts', "import { AutoModel } from '@huggingface/transformers';\nexport const b = AutoModel;\n"],
  ['src/pretrained/x.ts', "import type { RunContext } from '../experiments/types';\nexport type B = RunContext;\n"],
  ['src/pretrained/x.ts', "import { a } from '../persist/db';\nexport const b = a;\n"],
  ['src/pretrained/x.ts', "import { api } from '../../workers/lab.worker';\nexport const b = api;\n"],
  ['src/pretrained/x.ts', "import * as Comlink from 'comlink';\nexport const b = Comlink;\n"],
])('%s: a forbidden import fails lint', async (file, code) => {
  const ids = await messages(code, file);
  expect(ids.some((id) => /no-restricted-imports/.test(id))).toBe(true);
});

test('Math.random in core fails lint; a worker type import from the UI passes', async () => {
  expect(await messages('export const r = Math.random();\n', 'src/core/x.ts')).toContain('no-restricted-properties');
  expect(await messages('export const r = Math.random();\n', 'src/data/x.ts')).toContain('no-restricted-properties');
  const dataOk = await messages("import { parseJsonl } from '../core/data/labelled';\nimport { parquetRead } from 'hyparquet';\nexport const b = [parseJsonl, parquetRead];\n", 'src/data/x.ts');
  expect(dataOk.filter((id) => /restricted/.test(id)), 'a data loader may import core and hyparquet').toEqual([]);
  const ok = await messages("import type { LabWorkerApi } from '../../workers/lab.worker';\nexport type A = LabWorkerApi;\n", 'src/ui/x.ts');
  expect(ok.filter((id) => /restricted/.test(id))).toEqual([]);
});

test('src/pretrained may import core and transformers.js, but not Math.random', async () => {
  const ok = await messages(
    "import { env } from '@huggingface/transformers';\nimport { Rng } from '../core/rng';\nexport const b = [env, Rng];\n",
    'src/pretrained/x.ts',
  );
  expect(ok.filter((id) => /restricted/.test(id))).toEqual([]);
  expect(await messages('export const r = Math.random();\n', 'src/pretrained/x.ts')).toContain('no-restricted-properties');
});
