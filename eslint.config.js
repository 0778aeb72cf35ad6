// Lint: the recommended JS/TS/Svelte rules, plus the project's import
// direction (house style §2): ui → workers (types only) → experiments → core,
// with persistence reachable from workers only.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** No Math.random where results must be reproducible from a seed (house style §7). */
const noMathRandom = {
  object: 'Math',
  property: 'random',
  message: 'Math.random cannot be seeded: take a Key from core/rng and use Rng.',
};

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', '.scratch/', 'public/', '.vite/', 'test-results/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  svelte.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.browser, ...globals.node, ...globals.worker },
    },
    rules: {
      // `_`-prefixed names are deliberately unused (e.g. a required parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Import direction. The project's imports are relative paths, so each layer's
  // forbidden neighbours are matched on the specifier. (A resolver-based plugin
  // would also work, but eslint-plugin-import-x pulls native resolver builds
  // whose other-platform entries this registry lacks, which breaks `npm ci`.)
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(ui|experiments|persist|workers)(/|$)', message: 'core is pure: it imports only core (house style §1–2).' },
          { regex: '^(svelte|idb|comlink)(/|$)', message: 'core runs in Node, workers and the runner: no Svelte, idb or comlink (house style §1).' },
          { regex: '(^|/)pretrained(/|$)|^@huggingface/transformers(/|$)', message: 'core is pure: pretrained models (transformers.js) load in workers and the runner, through src/pretrained.' },
          { regex: '(^|/)sandbox(/|$)|^quickjs-emscripten|^@jitl/', message: 'core is pure: programs run in QuickJS (Wasm) through src/sandbox; core takes a ProgramRunner.' },
        ],
      }],
      'no-restricted-properties': ['error', noMathRandom],
    },
  },
  {
    files: ['src/experiments/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(ui|persist|workers)(/|$)', message: 'experiments import core only; workers call them and persist what they emit (house style §2).' },
          { regex: '^(svelte|idb|comlink)(/|$)', message: 'experiments run in Node too: no Svelte, idb or comlink.' },
          { regex: '(^|/)pretrained(/|$)|^@huggingface/transformers(/|$)', message: 'experiments get embeddings only through RunContext.embed: the host (worker, runner) loads the model.' },
        ],
      }],
    },
  },
  {
    // Dataset loaders (fetch, parquet) run in workers, Node tests and the runner: core only, like experiments.
    files: ['src/data/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(ui|experiments|persist|workers|pretrained)(/|$)', message: 'data loaders import core only; the data worker caches what they return (house style §2).' },
          { regex: '^(svelte|idb|comlink)(/|$)', message: 'data loaders run in Node too: no Svelte, idb or comlink.' },
        ],
      }],
      'no-restricted-properties': ['error', noMathRandom],
    },
  },
  {
    // Pretrained models (transformers.js): used by workers and the runner; run in Node too.
    files: ['src/pretrained/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(ui|experiments|persist|workers)(/|$)', message: 'pretrained imports core only; workers and the runner call it (house style §2).' },
          { regex: '^(svelte|idb|comlink)(/|$)', message: 'pretrained runs in Node too: no Svelte, idb or comlink.' },
        ],
      }],
      'no-restricted-properties': ['error', noMathRandom],
    },
  },
  {
    // The program sandbox (QuickJS in a worker): used by workers and the runner; runs in Node too.
    files: ['src/sandbox/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(ui|experiments|persist|workers|pretrained)(/|$)', message: 'the sandbox imports core only; workers and the runner start it (house style §2).' },
          { regex: '^(svelte|idb)(/|$)', message: 'the sandbox runs in Node too: no Svelte or idb.' },
        ],
      }],
      'no-restricted-properties': ['error', noMathRandom],
    },
  },
  {
    files: ['bin/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '(^|/)persist(/|$)', message: 'only workers touch persistence (house style §2).' }],
      }],
    },
  },
  {
    // The UI may import a worker's TYPE (for Comlink.Remote) but never its code:
    // workers are started with `new Worker(new URL(...))`.
    files: ['src/ui/**/*.ts', 'src/ui/**/*.svelte'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)persist(/|$)', message: 'only workers touch persistence (house style §2).' },
            {
              regex: '(^|/)workers/',
              allowTypeImports: true,
              message: 'the UI imports only a worker\'s type; start it with new Worker(new URL(...)) (house style §2, §8).',
            },
            {
              // Of the experiments, the page may import values only from the pure modules: an experiment's spec,
              // config, records, report (and small pure helpers), and the framework's catalog, config, fields, schemas.
              regex: '(^|/)experiments(/(?!(catalog|config|fields|schemas|types|run-file)$)[^/]+|/[^/]+/(index|run|setup|methods|loop))?$',
              allowTypeImports: true,
              message: 'the UI imports an experiment\'s types, spec, config, records and report, never its run (the training loops stay out of the page\'s bundle: house style §2, §5c).',
            },
          ],
        },
      ],
    },
  },
  {
    // Svelte components and rune modules are TypeScript.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: {
        extraFileExtensions: ['.svelte'],
        parser: tseslint.parser,
      },
    },
  },
);
