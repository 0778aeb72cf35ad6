/**
 * What the lab worker tells the page: its options and events, as types the
 * UI may import (the UI never imports a worker's code).
 */
import type { BackendKind } from '../../src/core/backend';
import type { ExperimentEvent, MetricRecord, RunInput } from '../../src/experiments/types';
import type { RunEnvironment, SampleSet, StopCause } from '../../src/persist';

export type { MetricRecord, RunEnvironment, SampleSet, StopCause };
export type { GeneratorListItem } from '../../src/persist/generators';

/** 'auto': WebGPU on a hardware adapter, else the CPU (a software adapter is slower than the CPU for these models). */
export type BackendChoice = 'auto' | BackendKind;

export interface StartOptions {
  /** The new run's id (the client makes one, so it can cancel before the worker answers); default: a random UUID. */
  runId?: string;
  experiment: string;
  preset: string | null;
  seed: number;
  overrides: Record<string, unknown>;
  backend: BackendChoice;
  /** Files the run reads (RunContext.inputs): stored with the run, so a resume reads them too. */
  inputs?: Record<string, RunInput>;
  /**
   * Inputs to make from datasets cached in IndexedDB (input name → dataset
   * id), as the JSON the symbiosis lab's dataset input reads: read in the
   * worker, so a dataset's rows never pass through the page on their way to the run.
   */
  cachedDatasets?: Record<string, string>;
  /** Inputs to make from saved symbiosis Generators (input name → Generator id): their files, read in the worker. */
  savedGenerators?: Record<string, string>;
}

/** The run exists in the database and is about to (re)start. */
export interface RunStartedEvent {
  type: 'run';
  runId: string;
  experiment: string;
  preset: string | null;
  seed: number;
  config: Record<string, unknown>;
  environment: RunEnvironment;
  /** Where a resumed run continues from, in the lab's words ("generation 2"); null for a new run. */
  resumedFrom: string | null;
  /** What a resumed run had stored up to its checkpoint (empty for a new run). */
  records: MetricRecord[];
  samples: SampleSet[];
  /** Damaged newer checkpoints a resume skipped, named (empty when none). */
  skipped: string[];
}

/** A checkpoint is committed: closing the tab now loses nothing before it. */
export interface SavedEvent {
  type: 'saved';
  /** Where it was taken, in the lab's words. */
  label: string;
}

/** The run ended and its status is stored (or, if storing failed, `error` says so). */
export interface FinishedEvent {
  type: 'finished';
  runId: string;
  status: 'done' | 'failed';
  summary: unknown;
  error: string | null;
  /** Why a failed run stopped, where the page offers a way out (continue on the CPU after a lost GPU). */
  cause: StopCause | null;
}

/** A pretrained model's files arriving (transformers.js caches them: a second run loads from the cache). */
export interface DownloadEvent {
  type: 'download';
  model: string;
  file: string;
  loaded: number;
  total: number;
  done: boolean;
}

/** The text a pretrained model is writing right now (the latest prompt's output so far), for the page to show. */
export interface StreamEvent {
  type: 'stream';
  model: string;
  prompt: number;
  text: string;
}

export type LabEvent =
  | Exclude<ExperimentEvent, { type: 'checkpoint' }> | RunStartedEvent | SavedEvent | FinishedEvent | DownloadEvent | StreamEvent;

/** What a finished run reports to the worker call's caller. */
export interface RunResult {
  runId: string;
  status: 'done' | 'failed';
  summary: unknown;
  error: string | null;
  cause: StopCause | null;
}
