/**
 * Headless sandbox commands (bin/lab.ts dispatches them):
 *
 *   sandbox FILE [--input JSON]   run one JavaScript file in the sandbox (src/sandbox,
 *                                 QuickJS in a worker_thread) and print one JSON line
 *                                 {"outcome", "value"?, "message"?, "printed"?, "ms"};
 *                                 with --input the file must define solve(input).
 *                                 Exit 0 whatever the program did, 1 if the sandbox failed.
 *   sandbox-check                 the hostile-program table (src/sandbox/hostile.ts), one
 *                                 line per case, then "sandbox: N cases, N contained";
 *                                 exit 1 if any case escaped.
 */
import { readFileSync } from 'node:fs';
import { formatHostileVerdict, runHostileCases } from '../src/sandbox/hostile';
import { nodeSandbox } from '../src/sandbox/node';
import type { Json } from '../src/sandbox/types';

export async function sandboxFile(args: string[]): Promise<number> {
  let file: string | undefined;
  let input: Json | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--input') {
      const text = args[++i];
      if (text === undefined) throw new Error('--input: give a JSON value, e.g. --input \'"2+3*4"\'');
      try {
        input = JSON.parse(text) as Json;
      } catch (e) {
        throw new Error(`--input: not JSON (${e instanceof Error ? e.message : String(e)}): ${text}`, { cause: e });
      }
    } else if (a.startsWith('--')) {
      throw new Error(`sandbox: unknown option ${a} (usage: sandbox FILE [--input JSON])`);
    } else if (file === undefined) {
      file = a;
    } else {
      throw new Error(`sandbox: one file only, got ${file} and ${a}`);
    }
  }
  if (file === undefined) throw new Error('sandbox: give a JavaScript file (usage: sandbox FILE [--input JSON])');
  const source = readFileSync(file, 'utf8');
  const sandbox = nodeSandbox();
  try {
    const r = await sandbox.run(source, input);
    const line: Record<string, Json> = { outcome: r.outcome };
    if (r.value !== undefined) line.value = r.value;
    if (r.message !== undefined) line.message = r.message;
    if (r.printed !== '') line.printed = r.printed;
    line.ms = Math.round(r.ms * 10) / 10;
    console.log(JSON.stringify(line));
    return 0;
  } finally {
    sandbox.close();
  }
}

export async function sandboxCheck(args: string[]): Promise<number> {
  if (args.length > 0) throw new Error(`sandbox-check takes no arguments, got: ${args.join(' ')}`);
  const sandbox = nodeSandbox();
  try {
    const verdicts = await runHostileCases((source, input, limits) => sandbox.run(source, input, limits), undefined, (v) => console.log(formatHostileVerdict(v)));
    const contained = verdicts.filter((v) => v.contained).length;
    console.log(`sandbox: ${verdicts.length} cases, ${contained} contained`);
    return contained === verdicts.length ? 0 : 1;
  } finally {
    sandbox.close();
  }
}
