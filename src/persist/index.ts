/**
 * Persistence: runs, their metric streams, samples and checkpoints in
 * IndexedDB, and run files in and out. Only workers import this module
 * (house style §2); the UI reaches it through `workers/lab.worker.ts`.
 */
export {
  DB_NAME, DB_VERSION, DatabaseClosedError, RECORD_VERSION, StorageFullError, StoredFormatError, runRange, storageError,
  type RunEnvironment, type RunRecord, type StopCause, type StoredRunStatus,
} from './db';
export { HEARTBEAT_MS, STALE_AFTER_MS, RunBusyError, type RunStatus, displayStatus, runLockName, waitForRunEnd, withRunLock } from './liveness';
export { RUN_FILE_FORMAT, RUN_FILE_VERSION, RunFileError, formatRunFile, parseRunFile, type RunFileContent } from '../experiments/run-file';
export { RunWriter } from './run-writer';
export {
  KEEP_CHECKPOINTS, LabStore, type NewRun, type ResumePoint, type RunListItem, type RunOutcome, type SampleSet, type StorageUsage,
  type StoredCheckpoint, type StoredRun,
} from './store';
