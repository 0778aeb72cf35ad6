/**
 * The headless runner: `npm run lab -- <command>`.
 *
 *   check   CPU-backend parity with the committed PyTorch fixtures; one line
 *           per check with its largest difference; exit 1 on any failure.
 *
 * Later labs add `run <experiment> --preset <name> --seed <n> --out <dir>`.
 */
import { formatCheck, runParityChecks } from './parity';

const USAGE = `usage: npm run lab -- <command>

commands:
  check    compare the CPU backend with the PyTorch fixtures (test/reference/fixtures)
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
