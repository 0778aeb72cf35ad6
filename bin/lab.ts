/**
 * The headless runner: `npm run lab -- <command>`.
 *
 *   check   CPU-backend parity with the committed PyTorch fixtures; one line
 *           per check with its largest difference; exit 1 on any failure.
 *
 *   run     run an experiment on the CPU backend and write its files
 *           (`run self-improve --preset classroom --seed 1 --out DIR`).
 *
 *   sandbox, sandbox-check   run JavaScript in the program sandbox (bin/sandbox.ts).
 */
import { EXPERIMENTS } from '../src/experiments';
import { formatCheck, runParityChecks } from './parity';
import { parseRunArgs, runExperiment } from './run-experiment';
import { sandboxCheck, sandboxFile } from './sandbox';

/** Each experiment with its presets, read from the modules (so the list cannot go stale). */
const EXPERIMENT_LIST = Object.entries(EXPERIMENTS)
  .map(([name, e]) => `${name} (presets: ${Object.keys(e.presets ?? {}).join(', ')})`)
  .join('\n                        ');

const USAGE = `usage: npm run lab -- <command>

commands:
  check    compare the CPU backend with the PyTorch fixtures (test/reference/fixtures)
  run <experiment> [--preset NAME] [--seed N] [--out DIR] [--set key=value ...]
           run an experiment on the CPU backend; writes metrics.jsonl, summary.json, ... to DIR
           experiments: ${EXPERIMENT_LIST}
           --input name=FILE: a file the experiment reads (collapse: --set corpus=upload --input corpus=story.txt)
           --embedding-model DIR: a local transformers.js model folder for sentence embeddings
           --model DIR: a local transformers.js text model folder (programs: the pretrained coder, e.g. --preset write-up --model DIR)
           --data DIR: a labelled dataset folder, train*.jsonl + test.jsonl (symbiosis: --data ../shared/data/ag_news);
                       class names from --label-names a,b,…, else DIR/labels.txt (one a line), else AG News's for a folder named ag_news
  sandbox FILE [--input JSON]
           run a JavaScript file in the program sandbox (QuickJS in a worker); prints one JSON line
           {"outcome": "value"|"error"|"timeout"|"memory"|"output", "value"?, "message"?, "printed"?, "ms"};
           with --input the file must define solve(input); exits 0 whatever the program did
  sandbox-check
           run the hostile-program table through the sandbox; one line per case, then a count
  help     show this message`;

async function check(): Promise<number> {
  const lines = await runParityChecks();
  for (const l of lines) console.log(formatCheck(l));
  const failed = lines.filter((l) => !l.ok).length;
  console.log(failed === 0 ? `all ${lines.length} checks passed` : `${failed} of ${lines.length} checks FAILED`);
  return failed === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check':
      if (rest.length > 0) throw new Error(`check takes no arguments, got: ${rest.join(' ')}`);
      return check();
    case 'run':
      await runExperiment(parseRunArgs(rest));
      return 0;
    case 'sandbox':
      return sandboxFile(rest);
    case 'sandbox-check':
      return sandboxCheck(rest);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
