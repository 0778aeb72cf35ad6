/**
 * Saved symbiosis Generators, for the lab worker's API (docs/symbiosis.md,
 * "Keeping a Generator"): list them, import a file (checked with the
 * experiment's reader before anything is saved), keep the corpus Generator
 * a run trained (from its latest checkpoint), export and delete one, and
 * read one as a run's `generator` input.
 */
import * as Comlink from 'comlink';
import type { RunInput } from '../../src/experiments/types';
import { type GeneratorFile, decodeGeneratorFile, encodeGeneratorFile, generatorFromRun } from '../../src/experiments/symbiosis/generator';
import type { LabStore } from '../../src/persist';
import type { GeneratorRecord } from '../../src/persist/db';
import { type GeneratorListItem, GeneratorStore } from '../../src/persist/generators';

/** Where an imported file came from: a file the person chose, or the lab's ready one at a URL of the app. */
export type GeneratorSource = { kind: 'file' } | { kind: 'ready'; url: string };

function describe(file: GeneratorFile): Pick<GeneratorRecord, 'dataset' | 'labelNames' | 'parameters' | 'corpusRows' | 'steps' | 'quality'> {
  return {
    dataset: file.dataset, labelNames: file.labelNames, parameters: file.params.length, corpusRows: file.corpusRows, steps: file.steps,
    quality: file.quality,
  };
}

/** The bytes as their own ArrayBuffer (IndexedDB stores the whole buffer of a view). */
const ownBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

/** A saved Generator's file as a run input. */
export async function savedGeneratorInput(store: LabStore, id: string): Promise<RunInput> {
  const g = await new GeneratorStore(store.db).get(id);
  return { name: g.name, bytes: new Uint8Array(g.bytes) };
}

/** The Generator methods of the lab worker's API, over the store `open` gives. */
export function generatorApi(open: () => Promise<LabStore>) {
  const generators = async () => new GeneratorStore((await open()).db);
  return {
    /** The saved Generators, newest first. */
    async generators(): Promise<GeneratorListItem[]> {
      return (await generators()).list();
    },

    /** Check a Generator file (safetensors from the symbiosis lab) and save it; rejects naming the field at fault, saving nothing. */
    async importGenerator(file: Blob | Uint8Array, fileName: string, source: GeneratorSource = { kind: 'file' }): Promise<GeneratorListItem> {
      const bytes = file instanceof Uint8Array ? file : new Uint8Array(await file.arrayBuffer());
      const decoded = decodeGeneratorFile(bytes, fileName);
      return (await generators()).put({
        name: fileName, origin: source.kind === 'ready' ? { kind: 'ready', url: source.url } : { kind: 'file', fileName },
        ...describe(decoded), bytes: ownBuffer(bytes),
      });
    },

    /** Save the corpus Generator a symbiosis run trained, from its latest checkpoint; rejects saying why when it has none. */
    async keepGenerator(runId: string): Promise<GeneratorListItem> {
      const store = await open();
      const checkpoint = await store.latestCheckpoint(runId);
      if (!checkpoint) throw new Error('this run has no checkpoint: its Generator was not saved with it');
      const { run, records } = await store.openRun(runId);
      const file = generatorFromRun(checkpoint, records);
      const bytes = encodeGeneratorFile(file);
      const day = new Date(run.createdAt).toISOString().slice(0, 10);
      return (await generators()).put({
        name: `${file.dataset}, seed ${run.seed}, ${day}`, origin: { kind: 'run', runId }, ...describe(file), bytes: ownBuffer(bytes),
      });
    },

    /** A saved Generator's file, moved (not copied) to the caller. */
    async exportGenerator(id: string): Promise<{ bytes: Uint8Array; fileName: string }> {
      const g = await (await generators()).get(id);
      const base = g.name.replace(/\.safetensors$/, '').replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '');
      const out = { bytes: new Uint8Array(g.bytes), fileName: `${base || 'generator'}.safetensors` };
      return Comlink.transfer(out, [out.bytes.buffer]);
    },

    async deleteGenerator(id: string): Promise<void> {
      await (await generators()).delete(id);
    },
  };
}
