/**
 * Faults in the browser's storage: the quota running out in the middle of a
 * run import (nothing of it is kept, the runs before are whole, the next
 * import that fits goes through), and one damaged record in each IndexedDB
 * store the lab reads (a record format from another version, a list cut
 * short, a field of the wrong type: which one is drawn from the case's seed).
 * After each damage the run history still lists every run, the damaged one
 * is named with its store, place and field, and every other record reads
 * back as before; then the record is put back as it was.
 */
import type { Page } from 'playwright-core';
import type { Rng } from '../../../src/core/rng';
import {
  type Case, type Losses, type RunSpec, TINY, addBystander, check, checkBystander, exportRunFile, lose, pick, readRun, waitForStatus,
  withTab,
} from '../suite';

const CPU: RunSpec = { overrides: TINY, seed: 11, backend: 'cpu' };

/** A run file of the reference run with `sets` extra sample sets of `rowBytes` characters each (it grows past a small quota). */
function heavyRunFile(file: string, sets: number, rowBytes: number): string {
  const lines = file.trimEnd().split('\n');
  const header = JSON.parse(lines[0]!) as { counts: { metrics: number; samples: number } };
  let x = 12345;
  // Characters that do not compress well, so the size on disk is about the text's.
  const noise = () => Array.from({ length: rowBytes }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return String.fromCharCode(33 + ((x >> 16) % 90));
  }).join('');
  const row = { split: 'train', family: 'reverse', difficulty: 1, answer: 'x', attempts: [{ text: 'y', correct: false, reason: 'wrong' }] };
  const extra = Array.from({ length: sets }, () => JSON.stringify({ samples: { at: { iteration: 1 }, rows: [{ ...row, prompt: noise() }] } }));
  header.counts.samples += sets;
  const m = header.counts.metrics;
  return [JSON.stringify(header), ...lines.slice(1, 1 + m), ...extra, ...lines.slice(1 + m)].join('\n') + '\n';
}

const QUOTA_BYTES = 1_000_000;

const quotaAtImport: Case = {
  name: 'storage quota exhausted at import',
  async run({ lab, ledger, references }) {
    const ref = await references.get(CPU);
    await ledger.fault(`storage quota (${QUOTA_BYTES / 1e6} MB) exhausted by a run import`, (losses) => withTab(lab, async (tab) => {
      const bystander = await addBystander(tab, ref.file);
      const runsBefore = await tab.page.evaluate(async () => (await window.lab.refreshRuns(), window.lab.runs.map((r) => r.id)));
      const heavy = heavyRunFile(ref.file, 1500, 1000);
      const said = await tab.page.evaluate((t) => window.lab.importRun(new File([t], 'heavy.jsonl')).then(() => 'imported', (e: Error) => e.message), heavy);
      check(said !== 'imported', `a ${(heavy.length / 1e6).toFixed(1)} MB import went into a ${QUOTA_BYTES / 1e6} MB quota`);
      check(/storage is full/.test(said), `the refused import said '${said}'`);
      const counts = await tab.page.evaluate(async () => {
        const store = await window.persist.LabStore.open();
        try {
          return await window.persistHelpers.countRows(store);
        } finally {
          store.close();
        }
      });
      const runsAfter = await tab.page.evaluate(async () => (await window.lab.refreshRuns(), window.lab.runs.map((r) => r.id)));
      check(JSON.stringify(runsAfter) === JSON.stringify(runsBefore), `runs before ${runsBefore.length}, after the refused import ${runsAfter.length}`);
      check(counts.samples === ref.run.samples.length, `${counts.samples} sample sets stored, the bystander has ${ref.run.samples.length}: part of the refused import was kept`);
      await checkBystander(tab.page, bystander, losses);
      // The database still takes what fits.
      const next = await tab.page.evaluate((t) => window.lab.importRun(new File([t], 'again.jsonl')).then(() => 'imported', (e: Error) => e.message), ref.file);
      check(next === 'imported', `an import that fits, after the refusal, said '${next}'`);
      return `${(heavy.length / 1e6).toFixed(1)} MB refused: "${said.replace(/^could not import [^:]*: /, '').split('.')[0]}"; nothing of it kept (${counts.metrics} metric rows, ${counts.samples} sample sets: the bystander's); the next import that fits went through`;
    }, QUOTA_BYTES));
  },
};

// --- damaged records ----------------------------------------------------------------------

type StoreName = 'runs' | 'metrics' | 'runSamples' | 'runCheckpoints' | 'runInputs' | 'datasets' | 'datasetRows';

interface Damage {
  /** 'format' | 'truncated' | 'type', in words. */
  what: string;
  /** Change the record (a structured clone of it, in the page); returns it. Written as a function body over `r`. */
  body: string;
}

/** Every store's records carry formatVersion: one from another version is the first damage of each. */
const OTHER_FORMAT: Damage = { what: 'a record format from another version (formatVersion 99)', body: 'r.formatVersion = 99' };

/** Three damages a store's record can take; the case draws one. */
const DAMAGES: Record<StoreName, Damage[]> = {
  runs: [
    OTHER_FORMAT,
    { what: 'storedBytes.checkpoints cut to a list', body: 'r.storedBytes.checkpoints = [1]' },
    { what: 'seed of the wrong type (text)', body: 'r.seed = "seven"' },
  ],
  metrics: [
    OTHER_FORMAT,
    { what: 'its record cut short (only its kind left)', body: 'r.record = { kind: r.record.kind }' },
    { what: 'seq of the wrong type (text)', body: 'r.seq = "2"' },
  ],
  runSamples: [
    OTHER_FORMAT,
    { what: 'a row cut short (its prompt and answer gone)', body: 'r.rows[0] = { split: r.rows[0].split }' },
    { what: 'rows of the wrong type (text)', body: 'r.rows = "[{"' },
  ],
  runCheckpoints: [
    OTHER_FORMAT,
    { what: 'its parameters cut to half their bytes', body: 'r.params = r.params.slice(0, r.params.byteLength / 2)' },
    { what: 'label of the wrong type (a number)', body: 'r.label = 5' },
  ],
  runInputs: [
    OTHER_FORMAT,
    { what: "a file's bytes cut to a list of numbers", body: 'r.inputs.notes.bytes = [1, 2]' },
    { what: 'inputs of the wrong type (text)', body: 'r.inputs = "notes"' },
  ],
  datasets: [
    OTHER_FORMAT,
    { what: 'labelNames cut to one name, not a list', body: 'r.labelNames = r.labelNames[0]' },
    { what: 'splitSizes of the wrong type (text)', body: 'r.splitSizes = { train: "many" }' },
  ],
  datasetRows: [
    OTHER_FORMAT,
    { what: 'its first split cut to half its rows', body: 'const k = Object.keys(r.splits)[0]; r.splits[k] = r.splits[k].slice(0, r.splits[k].length >> 1)' },
    { what: 'a label of the wrong type (text)', body: 'r.splits[Object.keys(r.splits)[0]][0].label = "x"' },
  ],
};

/** Read, damage (with `body`) and later restore one record, by store and key, in the page. */
async function damageRecord(page: Page, store: StoreName, key: unknown, body: string): Promise<() => Promise<void>> {
  await page.evaluate(async ({ store, key, body }) => {
    const s = await window.persist.LabStore.open();
    try {
      const db = s.db as unknown as { get(n: string, k: unknown): Promise<unknown>; put(n: string, v: unknown): Promise<unknown> };
      const original = await db.get(store, key);
      if (original === undefined) throw new Error(`no record ${JSON.stringify(key)} in ${store}`);
      (window as unknown as { original: unknown }).original = original;
      const r = structuredClone(original) as Record<string, unknown>;
      // The damage, from the table above (test code, given as text to run in the page).
      new Function('r', body)(r);
      await db.put(store, r);
    } finally {
      s.close();
    }
  }, { store, key, body });
  return () => page.evaluate(async (store) => {
    const s = await window.persist.LabStore.open();
    try {
      await (s.db as unknown as { put(n: string, v: unknown): Promise<unknown> }).put(store, (window as unknown as { original: unknown }).original);
    } finally {
      s.close();
    }
  }, store);
}

interface Scene {
  /** A run made here (checkpoints, an input file). */
  made: string;
  /** Two imported runs. */
  imported: [string, string];
  /** Two uploaded datasets. */
  datasets: [string, string];
}

/** What the page's history and dataset list say, and what every run and dataset reads back as. */
async function snapshot(page: Page, data: Page, scene: Scene) {
  const history = await page.evaluate(async () => {
    await window.lab.refreshRuns();
    return window.lab.runs.map((r) => ({ id: r.id, damaged: r.damaged, error: r.error }));
  });
  const runs = await page.evaluate(async (ids) => {
    const store = await window.persist.LabStore.open();
    try {
      const out: Record<string, { records: number; samples: number; problems: string[]; checkpoint: string | null; inputs: string; error: string | null }> = {};
      for (const id of ids) {
        const opened = await store.openRun(id).catch((e: Error) => e);
        const checkpoint = await store.latestCheckpoint(id).then((c) => c?.label ?? null, (e: Error) => `ERROR ${e.message}`);
        const inputs = await store.getRunInputs(id).then((x) => Object.keys(x).join(','), (e: Error) => `ERROR ${e.message}`);
        out[id] = opened instanceof Error
          ? { records: 0, samples: 0, problems: [], checkpoint, inputs, error: opened.message }
          : { records: opened.records.length, samples: opened.samples.length, problems: opened.problems, checkpoint, inputs, error: null };
      }
      return out;
    } finally {
      store.close();
    }
  }, [scene.made, ...scene.imported]);
  const datasets = await data.evaluate(async (ids) => {
    await window.data.refresh();
    const listed = window.data.datasets.map((d) => ({ id: d.id, error: (d as { error?: string | null }).error ?? null }));
    const rows: Record<string, string> = {};
    for (const id of ids) rows[id] = await window.data.get(id).then((d) => JSON.stringify(d.splits), (e: Error) => `ERROR ${e.message}`);
    window.data.error = null;
    return { listed, rows };
  }, scene.datasets);
  return { history, runs, datasets };
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** Everything in `now` but `broken` reads as in `before`; count what does not into `losses`. */
function compareOthers(before: Snapshot, now: Snapshot, broken: { run?: string; dataset?: string }, losses: Losses): void {
  for (const b of before.history) {
    const n = now.history.find((x) => x.id === b.id);
    if (!n) lose(losses, { runs: 1 }, `run ${b.id.slice(0, 8)} is no longer listed`);
  }
  for (const [id, b] of Object.entries(before.runs)) {
    if (id === broken.run) continue;
    const n = now.runs[id]!;
    if (n.error) lose(losses, { runs: 1 }, `run ${id.slice(0, 8)} cannot be opened: ${n.error}`);
    else if (n.records < b.records || n.samples < b.samples) lose(losses, { records: b.records - n.records + b.samples - n.samples }, `run ${id.slice(0, 8)} lost records`);
  }
  for (const [id, rows] of Object.entries(before.datasets.rows)) {
    if (id === broken.dataset) continue;
    if (now.datasets.rows[id] !== rows) lose(losses, { records: 1 }, `dataset ${id} reads back differently: ${now.datasets.rows[id]!.slice(0, 120)}`);
  }
}

const CSV = (tag: string) => `text,label\n${Array.from({ length: 24 }, (_, i) => `${tag} report ${i} on ${['sport', 'money', 'chips'][i % 3]},${i % 3}`).join('\n')}\n`;

function damagedRecords(): Case {
  return {
    name: 'a damaged record in each IndexedDB store',
    async run({ lab, ledger, rng, references }) {
      const ref = await references.get(CPU);
      await withTab(lab, async (tab, context) => {
        // The scene: a run made here (with an input file kept for it), two imported runs, two uploaded datasets.
        const made = await tab.page.evaluate((s) => window.lab.start({
          experiment: 'self-improve', preset: null, seed: s.seed, overrides: s.overrides, backend: s.backend,
          inputs: { notes: { name: 'notes.txt', bytes: new TextEncoder().encode('kept with the run') } },
        }), CPU);
        check((await waitForStatus(tab.page, made, ['done', 'failed'], 300_000)) === 'done', 'the run made for the scene did not finish');
        const imported: [string, string] = [(await addBystander(tab, ref.file)).runId, (await addBystander(tab, await exportRunFile(tab.page, made))).runId];
        const data = await context.newPage();
        await data.goto(`${lab.url}/test/browser/pages/data.html`);
        await data.waitForFunction(() => window.dataReady === true);
        const datasets = await data.evaluate(async (csv) => [
          await window.data.importFile(new File([csv[0]!], 'first.csv')),
          await window.data.importFile(new File([csv[1]!], 'second.csv')),
        ], [CSV('first'), CSV('second')]) as [string, string];
        const scene: Scene = { made, imported, datasets };
        const before = await snapshot(tab.page, data, scene);
        check(Object.values(before.runs).every((r) => r.error === null && r.problems.length === 0), 'the scene has damage before any was made');
        const madeRun = await readRun(tab.page, made);

        const target = (store: StoreName, r: Rng): { key: unknown; run?: string; dataset?: string; where: string } => {
          switch (store) {
            case 'runs': return { key: imported[0], run: imported[0], where: `run ${imported[0].slice(0, 8)}` };
            case 'metrics': {
              const seq = pick(r, 0, before.runs[imported[1]]!.records - 1);
              return { key: [imported[1], seq], run: imported[1], where: `metric record ${seq + 1}` };
            }
            case 'runSamples': {
              const seq = pick(r, 0, before.runs[imported[1]]!.samples - 1);
              return { key: [imported[1], seq], run: imported[1], where: `sample set ${seq + 1}` };
            }
            case 'runCheckpoints': return { key: [made, madeRun.checkpoints.length], run: made, where: `checkpoint ${madeRun.checkpoints.length + 1}` };
            case 'runInputs': return { key: made, run: made, where: `the input files of run ${made.slice(0, 8)}` };
            case 'datasets': return { key: datasets[0], dataset: datasets[0], where: `dataset ${datasets[0]}` };
            case 'datasetRows': return { key: datasets[1], dataset: datasets[1], where: `the rows of dataset ${datasets[1]}` };
          }
        };
        // The checkpoints kept: the run's last two, numbered by their seq (the key's second part).
        const checkpointSeqs = await tab.page.evaluate(async (id) => {
          const store = await window.persist.LabStore.open();
          try {
            return (await store.db.getAllKeys('runCheckpoints', window.persist.runRange(id))).map((k) => k[1]);
          } finally {
            store.close();
          }
        }, made);

        for (const store of Object.keys(DAMAGES) as StoreName[]) {
          const damage = DAMAGES[store][pick(rng, 0, 2)]!;
          const t = target(store, rng);
          if (store === 'runCheckpoints') {
            t.key = [made, checkpointSeqs.at(-1)];
            t.where = `checkpoint ${checkpointSeqs.at(-1)! + 1}`;
          }
          await ledger.fault(`damaged ${store} record (${damage.what})`, async (losses) => {
            const restore = await damageRecord(tab.page, store, t.key, damage.body);
            try {
              const now = await snapshot(tab.page, data, scene);
              compareOthers(before, now, t, losses);
              check(now.history.length === before.history.length, `the history lists ${now.history.length} runs, ${before.history.length} before`);
              let named: string;
              switch (store) {
                case 'runs': {
                  const item = now.history.find((x) => x.id === imported[0])!;
                  check(item.damaged && /damaged|format/.test(item.error ?? ''), `the damaged run is listed as '${item.error}'`);
                  named = item.error!;
                  break;
                }
                case 'metrics':
                case 'runSamples': {
                  const r = now.runs[imported[1]]!;
                  const kind = store === 'metrics' ? 'records' : 'samples';
                  check(r.error === null, `the run with a damaged ${store} row cannot be opened: ${r.error}`);
                  check(r.problems.length === 1 && r.problems[0]!.includes(t.where), `its problems: ${JSON.stringify(r.problems)}`);
                  check(r[kind] === before.runs[imported[1]]![kind] - 1, `${r[kind]} ${kind} read, ${before.runs[imported[1]]![kind]} before: not only the damaged one was left out`);
                  named = r.problems[0]!;
                  break;
                }
                case 'runCheckpoints': {
                  const r = now.runs[made]!;
                  // The newest sound checkpoint is the one before; the run and its records are whole.
                  check(r.checkpoint === madeRun.checkpoints.at(-2), `the latest sound checkpoint is '${r.checkpoint}', expected '${madeRun.checkpoints.at(-2)}'`);
                  check(r.error === null && r.problems.length === 0, `the run reads back with ${r.error ?? r.problems.join('; ')}`);
                  // What resuming it would say: the damaged checkpoint is named and skipped. Resuming rewrites the
                  // run (it drops what came after the checkpoint it goes back to), so the run's rows are copied first and put back.
                  named = await tab.page.evaluate(async (id) => {
                    const s = await window.persist.LabStore.open();
                    const db = s.db as unknown as {
                      getAll(n: string, r: IDBKeyRange): Promise<unknown[]>; get(n: string, k: string): Promise<Record<string, unknown>>;
                      put(n: string, v: unknown): Promise<unknown>; delete(n: string, r: IDBKeyRange | string): Promise<unknown>;
                    };
                    const range = window.persist.runRange(id);
                    const stores = ['metrics', 'runSamples', 'runCheckpoints'];
                    const copy = { run: await db.get('runs', id), rows: await Promise.all(stores.map((n) => db.getAll(n, range))) };
                    try {
                      await db.put('runs', { ...copy.run, status: 'cancelled' });
                      return await s.prepareResume(id).then((p) => p.skipped.join('; ') || 'nothing skipped', (e: Error) => `ERROR ${e.message}`);
                    } finally {
                      await db.put('runs', copy.run);
                      for (const [i, n] of stores.entries()) {
                        await db.delete(n, range);
                        for (const row of copy.rows[i]!) await db.put(n, row);
                      }
                      s.close();
                    }
                  }, made);
                  check(named.includes(t.where), `resuming names '${named}', not ${t.where}`);
                  break;
                }
                case 'runInputs': {
                  const r = now.runs[made]!;
                  check(r.inputs.startsWith('ERROR') && r.inputs.includes('input files'), `the run's input files read as '${r.inputs}'`);
                  check(r.error === null && r.records === before.runs[made]!.records, 'the run itself is not whole');
                  named = r.inputs.slice('ERROR '.length);
                  break;
                }
                case 'datasets':
                case 'datasetRows': {
                  const id = t.dataset!;
                  const got = now.datasets.rows[id]!;
                  const listed = now.datasets.listed.find((d) => d.id === id);
                  check(now.datasets.listed.length === before.datasets.listed.length, `the datasets list has ${now.datasets.listed.length}, ${before.datasets.listed.length} before`);
                  check(listed !== undefined, 'the damaged dataset is not listed (it cannot be deleted)');
                  check(got.startsWith('ERROR') && got.includes(id), `the damaged dataset reads as '${got.slice(0, 160)}'`);
                  named = store === 'datasets' ? (listed!.error ?? got.slice(6)) : got.slice(6);
                  break;
                }
              }
              return `${t.where}: history lists all ${now.history.length} runs and ${now.datasets.listed.length} datasets; named: "${named.replace(/^could not read the dataset: /, '').slice(0, 170)}"`;
            } finally {
              await restore();
            }
          });
        }
        // Put back, everything reads as before.
        const after = await snapshot(tab.page, data, scene);
        check(JSON.stringify(after.runs) === JSON.stringify(before.runs), 'after the records were put back, the runs read differently');
      });
    },
  };
}

export const STORAGE_CASES: Case[] = [quotaAtImport, damagedRecords()];
