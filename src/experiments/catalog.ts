/**
 * Every experiment's spec (settings, presets, record schemas), by the name
 * used in URLs, the CLI and stored runs — without the training loops, so
 * the page can import it (the runs are in index.ts, for workers and the
 * headless runner).
 */
import { collapseSpec } from './collapse/spec';
import { diversitySpec } from './diversity/spec';
import { programsSpec } from './programs/spec';
import { selfImproveSpec } from './self-improve/spec';
import { symbiosisSpec } from './symbiosis/spec';
import type { ExperimentSpec } from './types';

/** Any experiment's spec, typed loosely (each spec is fully typed in its own module). */
export type AnySpec = ExperimentSpec;

export const SPECS: Readonly<Record<string, AnySpec>> = {
  [selfImproveSpec.name]: selfImproveSpec,
  [collapseSpec.name]: collapseSpec,
  [diversitySpec.name]: diversitySpec,
  [symbiosisSpec.name]: symbiosisSpec,
  [programsSpec.name]: programsSpec,
};

export function specByName(name: string): AnySpec {
  const e = SPECS[name];
  if (!e) throw new Error(`experiment: unknown '${name}' (choose from ${Object.keys(SPECS).join(', ')})`);
  return e;
}
