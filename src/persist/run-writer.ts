/**
 * Saving a live run as its events arrive.
 *
 * An experiment emits events synchronously and keeps going; the writes they
 * cause are asynchronous. RunWriter puts them on one queue so they land in
 * emission order, batches metric records into one transaction per burst,
 * and copies each checkpoint when it is emitted (the experiment goes on
 * mutating its state after emit returns).
 *
 * Order is what makes resuming exact: the metric rows emitted before a
 * checkpoint are committed before it, the checkpoint stores how many there
 * were, and rows written after it are dropped when the run resumes from it.
 *
 * The first failed write (storage full, the run deleted elsewhere) is
 * reported once through `onFailure`; later writes are skipped, since a run
 * whose saves fail must stop rather than go on unsaved.
 */
import type { ExperimentEvent, MetricRecord, RunCheckpoint } from '../experiments/types';
import type { RunEnvironment } from './db';
import type { LabStore } from './store';

export class RunWriter {
  #queue: Promise<void> = Promise.resolve();
  /** The metric batch that the queued append will write; null once that append has started. */
  #batch: MetricRecord[] | null = null;
  #heartbeatQueued = false;
  #failure: unknown = null;
  /** Writes queued and not yet done. */
  #pending = 0;

  constructor(
    readonly store: LabStore,
    readonly runId: string,
    readonly onFailure: (error: unknown) => void,
  ) {}

  /** The first write that failed, or null. */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * Save what `event` carries (metrics, samples, checkpoints; other events
   * are not stored). For a checkpoint, returns a promise that resolves once
   * it is committed; otherwise null.
   */
  record(event: ExperimentEvent): Promise<void> | null {
    switch (event.type) {
      case 'metrics':
        this.#appendMetric(event.record);
        return null;
      case 'samples': {
        const rows = structuredClone(event.rows);
        this.#enqueue(() => this.store.saveSamples(this.runId, event.at, rows));
        return null;
      }
      case 'checkpoint': {
        // Later metrics start a new batch, queued after the checkpoint.
        this.#batch = null;
        const copy: RunCheckpoint = structuredClone(event.checkpoint);
        return this.#enqueue(() => this.store.saveCheckpoint(this.runId, copy));
      }
      case 'progress':
      case 'step':
      case 'log':
        return null;
      default:
        return event satisfies never;
    }
  }

  /** Refresh the run's heartbeat (skipped while one is already waiting in the queue). */
  heartbeat(): void {
    if (this.#heartbeatQueued) return;
    this.#heartbeatQueued = true;
    this.#enqueue(() => {
      this.#heartbeatQueued = false;
      return this.store.heartbeat(this.runId);
    });
  }

  setEnvironment(environment: RunEnvironment): void {
    this.#enqueue(() => this.store.setEnvironment(this.runId, environment));
  }

  /** Whether a write is queued or under way (the run host then yields so that IndexedDB can answer). */
  get writing(): boolean {
    return this.#pending > 0;
  }

  /** Wait for every queued write; rejects with the first failure, if any. */
  async flush(): Promise<void> {
    await this.#queue;
    if (this.#failure !== null) throw this.#failure;
  }

  #appendMetric(record: MetricRecord): void {
    if (this.#batch === null) {
      const batch: MetricRecord[] = [];
      this.#batch = batch;
      this.#enqueue(() => {
        // From here on, new records go to a new batch: this one is being written.
        if (this.#batch === batch) this.#batch = null;
        return this.store.appendMetrics(this.runId, batch);
      });
    }
    this.#batch.push(structuredClone(record));
  }

  #enqueue(write: () => Promise<void>): Promise<void> {
    this.#pending++;
    const done = this.#queue.then(async () => {
      try {
        if (this.#failure !== null) return;
        await write();
      } catch (e) {
        this.#failure = e;
        this.onFailure(e);
      } finally {
        this.#pending--;
      }
    });
    this.#queue = done;
    return done;
  }
}
