/**
 * Saved symbiosis Generators in IndexedDB (the `generators` store, db.ts
 * step 5): a corpus Generator trained by a run, imported from a file, or the
 * lab's ready one, kept as its safetensors file with what the list shows.
 * Validating a file is the caller's (the lab worker reads it with the
 * experiment's decodeGeneratorFile before saving). A record in another
 * format is listed with the reason and refuses to load.
 */
import { type GeneratorRecord, type LabDb, checkFormat, storageError } from './db';

/** Bump when GeneratorRecord changes shape: older records then ask to be deleted and imported again. */
export const GENERATOR_FORMAT_VERSION = 1;

/** One row of the saved-Generators list (everything but the bytes). */
export interface GeneratorListItem extends Omit<GeneratorRecord, 'bytes' | 'formatVersion'> {
  /** Size of the file in bytes. */
  size: number;
  /** Why it cannot be used (a foreign format); null when it can. */
  error: string | null;
}

/** What saving a Generator needs besides its id and time. */
export type NewGenerator = Omit<GeneratorRecord, 'id' | 'formatVersion' | 'createdAt'>;

function check(r: { formatVersion?: unknown }, what: string): void {
  checkFormat(r, what, {
    expected: GENERATOR_FORMAT_VERSION,
    newer: (got) => `was saved by a newer version of Symbiosis Lab (format ${got}, this page reads ${GENERATOR_FORMAT_VERSION}): reload the page to update`,
    older: (got) => `was saved in format ${got}, which this version (format ${GENERATOR_FORMAT_VERSION}) does not read: delete it and import its file again`,
  });
}

function toItem(r: GeneratorRecord): GeneratorListItem {
  const { bytes, formatVersion: _v, ...rest } = r;
  let error: string | null = null;
  try {
    check(r, `Generator ${r.id}`);
  } catch (e) {
    error = (e as Error).message;
  }
  return { ...rest, size: bytes?.byteLength ?? 0, error };
}

export class GeneratorStore {
  constructor(readonly db: LabDb) {}

  /** Save a Generator under a new id; returns its list row. */
  async put(g: NewGenerator): Promise<GeneratorListItem> {
    const record: GeneratorRecord = { ...g, id: crypto.randomUUID(), formatVersion: GENERATOR_FORMAT_VERSION, createdAt: Date.now() };
    try {
      await this.db.put('generators', record);
    } catch (e) {
      throw storageError(e);
    }
    return toItem(record);
  }

  /** Every saved Generator, newest first. */
  async list(): Promise<GeneratorListItem[]> {
    return (await this.db.getAllFromIndex('generators', 'by-created')).reverse().map(toItem);
  }

  /** A saved Generator with its file; throws when missing or in a foreign format. */
  async get(id: string): Promise<GeneratorRecord> {
    const r = await this.db.get('generators', id);
    if (!r) throw new Error(`Generator ${id} is not saved here (was it deleted in another tab?)`);
    check(r, `Generator ${id}`);
    return r;
  }

  /** Delete a saved Generator; deleting one that is not there is not an error. */
  async delete(id: string): Promise<void> {
    await this.db.delete('generators', id);
  }
}
