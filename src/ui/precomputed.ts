/**
 * The precomputed runs the app ships in `public/runs/`
 * (src/experiments/precomputed.ts), fetched relative to the page (so a
 * build hosted under any path finds them) and parsed with parseRunFile,
 * which checks every record against its experiment. Each file is fetched
 * once per page load; the landing page and the lab pages share the result.
 * These runs are shown, never stored: importing one into the visitor's
 * history is their choice (PrecomputedNote).
 */
import { type PrecomputedEntry, type PrecomputedIndex, precomputedIndex } from '../experiments/precomputed';
import { parseRunFile } from '../experiments/run-file';
import { describeIssue } from '../experiments/schemas';
import * as v from 'valibot';
import { fetchAppFile } from './app-files';
import type { ActiveRun } from './lab-client.svelte';

/** A precomputed run: what the index says of it, the run as a page shows it, and the file's text (for an import). */
export interface PrecomputedRun {
  entry: PrecomputedEntry;
  run: ActiveRun;
  text: string;
}

/** `runs/<file>` as text. */
async function fetchText(file: string): Promise<string> {
  return (await fetchAppFile(`runs/${file}`)).text();
}

let index: Promise<PrecomputedIndex> | null = null;
const runs = new Map<string, Promise<PrecomputedRun | null>>();

/** The index of precomputed runs (fetched once; a failure is retried on the next call). */
export function loadPrecomputedIndex(): Promise<PrecomputedIndex> {
  index ??= fetchText('index.json').then((text) => {
    const parsed = v.safeParse(precomputedIndex, JSON.parse(text));
    if (!parsed.success) {
      const { field, problem } = describeIssue(parsed.issues[0]!);
      throw new Error(`runs/index.json${field ? `, ${field}` : ''}: ${problem}`);
    }
    return parsed.output;
  });
  index.catch(() => (index = null));
  return index;
}

/** The precomputed run of `experiment`, or null when the app ships none. Rejects with a message naming the file. */
export function loadPrecomputedRun(experiment: string): Promise<PrecomputedRun | null> {
  let p = runs.get(experiment);
  if (!p) {
    p = loadPrecomputedIndex().then(async (idx) => {
      const entry = idx.runs.find((e) => e.experiment === experiment);
      if (!entry) return null;
      const text = await fetchText(entry.file);
      let content;
      try {
        content = parseRunFile(text);
      } catch (e) {
        throw new Error(`runs/${entry.file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      if (content.run.experiment !== experiment) throw new Error(`runs/${entry.file} holds a run of ${content.run.experiment}, not ${experiment}`);
      const run: ActiveRun = {
        runId: entry.id, experiment, config: content.run.config, seed: content.run.seed, preset: content.run.preset,
        status: 'done', progress: null, records: content.metrics, samples: content.samples, log: [], error: null, cause: null, problems: [],
      };
      return { entry, run, text };
    });
    runs.set(experiment, p);
    p.catch(() => runs.delete(experiment));
  }
  return p;
}
