/**
 * One run of an experiment on the CPU backend for the unit tests, with every
 * event kept. Every metric record, sample set and checkpoint position is
 * checked against the experiment's own schemas (a run that emits something
 * its spec does not describe fails here, naming the field), and the run can
 * be cancelled after a chosen checkpoint to test resuming.
 */
import * as v from 'valibot';
import { CpuBackend } from '../../src/core/backends/cpu';
import type { ConfigOf, FieldTable } from '../../src/experiments/fields';
import { describeIssue } from '../../src/experiments/schemas';
import type { Experiment, ExperimentEvent, MetricRecord, Position, RunCheckpoint, RunContext, RunInput } from '../../src/experiments/types';

export interface TinyRunOptions {
  seed?: number;
  resume?: RunCheckpoint;
  /** Cancel the run after the first checkpoint this accepts. */
  stopAfter?: (checkpoint: RunCheckpoint) => boolean;
  inputs?: Record<string, RunInput>;
  generateText?: RunContext['generateText'];
  embed?: RunContext['embed'];
}

export interface TinyRun<R, P, Row, S> {
  /** The summary, or the error the run ended with (RunCancelled when stopped). */
  result: S | Error;
  events: ExperimentEvent[];
  records: R[];
  samples: { at: P; rows: Row[] }[];
  checkpoints: RunCheckpoint[];
}

/** `value` checked by `schema`; what the check found, with `what` and the field, as an error. */
function checked<T>(schema: v.GenericSchema<unknown, T>, value: unknown, what: string): T {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  const { field, problem } = describeIssue(r.issues[0]);
  throw new Error(`${what} does not match its schema: ${field ?? '(value)'}: ${problem}: ${JSON.stringify(value).slice(0, 200)}`);
}

export async function runTiny<F extends FieldTable, R extends MetricRecord, P extends Position, Row, S>(
  exp: Experiment<F, R, P, Row, S>, config: ConfigOf<F>, opts: TinyRunOptions = {},
): Promise<TinyRun<R, P, Row, S>> {
  const events: ExperimentEvent[] = [];
  const controller = new AbortController();
  const result = await exp.run(config, {
    seed: opts.seed ?? 1,
    createBackend: async (c) => new CpuBackend(c),
    now: () => 0,
    signal: controller.signal,
    resume: opts.resume,
    inputs: opts.inputs,
    generateText: opts.generateText,
    embed: opts.embed,
    emit: (e) => {
      events.push(e);
      if (e.type === 'checkpoint' && opts.stopAfter?.(e.checkpoint)) controller.abort();
    },
  }).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  const records = events.flatMap((e) => (e.type === 'metrics' ? [checked(exp.record, e.record, `${exp.name} record '${e.record.kind}'`)] : []));
  const samples = events.flatMap((e) => (e.type === 'samples'
    ? [{ at: checked(exp.position, e.at, `${exp.name} sample position`), rows: e.rows.map((r) => checked(exp.sampleRow, r, `${exp.name} sample row`)) }]
    : []));
  const checkpoints = events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : []));
  for (const c of checkpoints) checked(exp.position, c.at, `${exp.name} checkpoint position`);
  return { result, events, records, samples, checkpoints };
}
