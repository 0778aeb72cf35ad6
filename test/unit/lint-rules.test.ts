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
  ['src/ui/x.ts', "import { a } from '../persist/db';\nexport const b = a;\n"],
  ['src/ui/x.ts', "import { api } from '../../workers/lab.worker';\nexport const b = api;\n"],
])('%s: a forbidden import fails lint', async (file, code) => {
  const ids = await messages(code, file);
  expect(ids.some((id) => /no-restricted-imports/.test(id))).toBe(true);
});

test('Math.random in core fails lint; a worker type import from the UI passes', async () => {
  expect(await messages('export const r = Math.random();\n', 'src/core/x.ts')).toContain('no-restricted-properties');
  const ok = await messages("import type { LabWorkerApi } from '../../workers/lab.worker';\nexport type A = LabWorkerApi;\n", 'src/ui/x.ts');
  expect(ok.filter((id) => /restricted/.test(id))).toEqual([]);
});
