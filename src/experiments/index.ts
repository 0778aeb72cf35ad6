/** Every experiment with its run, by the name used in URLs, the CLI and stored runs (workers and the headless runner). */
import { collapse } from './collapse';
import { diversity } from './diversity';
import { programs } from './programs';
import { selfImprove } from './self-improve';
import { symbiosis } from './symbiosis';
import type { Experiment } from './types';

/** Any experiment, typed loosely (each is fully typed in its own module). */
export type AnyExperiment = Experiment;

export const EXPERIMENTS: Readonly<Record<string, AnyExperiment>> = {
  [selfImprove.name]: selfImprove,
  [collapse.name]: collapse,
  [diversity.name]: diversity,
  [symbiosis.name]: symbiosis,
  [programs.name]: programs,
};

export function experimentByName(name: string): AnyExperiment {
  const e = EXPERIMENTS[name];
  if (!e) throw new Error(`experiment: unknown '${name}' (choose from ${Object.keys(EXPERIMENTS).join(', ')})`);
  return e;
}
