/** Every experiment, by the name used in URLs, the CLI and stored runs. */
import { collapse } from './collapse';
import { diversity } from './diversity';
import { selfImprove } from './self-improve';
import { symbiosis } from './symbiosis';
import type { Experiment } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own config type
export const EXPERIMENTS: Record<string, Experiment<any, any>> = {
  [selfImprove.name]: selfImprove,
  [collapse.name]: collapse,
  [diversity.name]: diversity,
  [symbiosis.name]: symbiosis,
};

export function experimentByName(name: string): Experiment<Record<string, unknown>, unknown> {
  const e = EXPERIMENTS[name];
  if (!e) throw new Error(`experiment: unknown '${name}' (choose from ${Object.keys(EXPERIMENTS).join(', ')})`);
  return e;
}
