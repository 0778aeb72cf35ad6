/**
 * A lab worker with the fault probe installed first: the page's spawn hook
 * starts this instead of workers/lab.worker.ts. Static imports evaluate in
 * order, so every patch in probe.ts is in place before the lab worker's
 * code runs, and the worker's API is the real one.
 */
import './probe';
import '../../../workers/lab.worker';
