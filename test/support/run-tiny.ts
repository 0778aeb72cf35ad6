/**
 * Run an experiment in a unit test on the CPU backend, collecting what it
 * emits: every event, its metric records and sample sets read back through
 * the experiment's own schemas (a record or row that the schema does not
 * read back unchanged fails the test: the schemas must describe what runs
 * write), and its checkpoints. `stopAfter` cancels the run once a
 * checkpoint matches (the run then ends in RunCancelled, the error here).
 */
import * as v from 'valibot';
import { expect } from 'vitest';
import { CpuBackend } from '../../src/core/backends/cpu';
import type { ConfigOf, FieldTable } from '../../src/experiments/fields';
import type { Experiment, ExperimentEvent, MetricRecord, Position, RunCheckpoint, RunContext } from '../../src/experiments/types';

export interface TinyRunOptions {
  seed?: number;
  resume?: RunCheckpoint;
  /** Cancel the run after the first checkpoint for which this is true. */
  stopAfter?: (checkpoint: RunCheckpoint) => boolean;
  /** Host services for the run (embed, generateText, runProgram, inputs). */
  host?: Pick<RunContext, 'embed' | 'generateText' | 'runProgram' | 'inputs'>;
}

export interface TinyRun<R, P, Row, S> {
  /** What run() returned; null when it threw. */
  summary: S | null;
  /** What run() threw (RunCancelled after stopAfter); null when it returned. */
  error: unknown;
  events: ExperimentEvent[];
  records: R[];
  samples: { at: P; rows: Row[] }[];
  checkpoints: RunCheckpoint[];
}

/** What `schema` reads `value` as, checked to be `value` itself (NaN equals NaN). */
function readBack<T>(schema: v.GenericSchema<unknown, T>, value: unknown, what: string): T {
  const parsed = v.safeParse(schema, value);
  if (!parsed.success) throw new Error(`${what} does not match its schema: ${parsed.issues[0]!.message} at ${v.getDotPath(parsed.issues[0]!) ?? '(root)'}`);
  expect(parsed.output, what).toEqual(value);
  return parsed.output;
}

export async function runTiny<F extends FieldTable, R extends MetricRecord, P extends Position, Row, S>(
  exp: Experiment<F, R, P, Row, S>, config: ConfigOf<F>, opts: TinyRunOptions = {},
): Promise<TinyRun<R, P, Row, S>> {
  const events: ExperimentEvent[] = [];
  const controller = new AbortController();
  let summary: S | null = null;
  let error: unknown = null;
  try {
    summary = await exp.run(config, {
      seed: opts.seed ?? 1,
      createBackend: async (c) => new CpuBackend(c),
      now: () => 0,
      signal: controller.signal,
      resume: opts.resume,
      ...opts.host,
      emit: (e) => {
        events.push(e);
        if (e.type === 'checkpoint' && opts.stopAfter?.(e.checkpoint)) controller.abort();
      },
    });
  } catch (e) {
    error = e;
  }
  return {
    summary, error, events,
    records: events.flatMap((e) => (e.type === 'metrics' ? [readBack(exp.record, e.record, `${exp.name} record ${e.record.kind}`)] : [])),
    samples: events.flatMap((e) => (e.type === 'samples'
      ? [{ at: readBack(exp.position, e.at, 'sample position'), rows: e.rows.map((row) => readBack(exp.sampleRow, row, 'sample row')) }]
      : [])),
    checkpoints: events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : [])),
  };
}
