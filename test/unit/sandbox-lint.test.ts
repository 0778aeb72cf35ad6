/** The import-direction lint (house style §2) for the program sandbox: core stays free of it, it imports core only. */
import { ESLint } from 'eslint';
import { expect, test } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => m.ruleId ?? m.message).filter((id) => /restricted/.test(id));
}

test.each([
  ['src/core/x.ts', "import { nodeSandbox } from '../sandbox/node';\nexport const b = nodeSandbox;\n"],
  ['src/core/puzzles/x.ts', "import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';\nexport const b = newQuickJSWASMModuleFromVariant;\n"],
  ['src/core/x.ts', "import variant from '@jitl/quickjs-wasmfile-release-sync';\nexport const b = variant;\n"],
  ['src/sandbox/x.ts', "import type { RunContext } from '../experiments/types';\nexport type B = RunContext;\n"],
  ['src/sandbox/x.ts', "import { a } from '../persist/db';\nexport const b = a;\n"],
  ['src/sandbox/x.ts', "import { api } from '../../workers/lab.worker';\nexport const b = api;\n"],
  ['src/sandbox/x.ts', "import { loadEmbedder } from '../pretrained/embeddings';\nexport const b = loadEmbedder;\n"],
  ['src/sandbox/x.ts', "import { openDB } from 'idb';\nexport const b = openDB;\n"],
])('%s: a forbidden import fails lint', async (file, code) => {
  expect(await restricted(code, file)).toContain('no-restricted-imports');
});

test('the sandbox may import core, QuickJS and Comlink, but not Math.random', async () => {
  const ok = await restricted(
    "import * as Comlink from 'comlink';\nimport { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';\nimport type { ProgramRun } from '../core/puzzles/programs';\nexport type R = ProgramRun;\nexport const b = [Comlink, newQuickJSWASMModuleFromVariant];\n",
    'src/sandbox/x.ts',
  );
  expect(ok).toEqual([]);
  expect(await restricted('export const r = Math.random();\n', 'src/sandbox/x.ts')).toContain('no-restricted-properties');
  expect(await restricted("import type { ProgramRunner } from './programs';\nexport type R = ProgramRunner;\n", 'src/core/puzzles/x.ts')).toEqual([]);
});
