/**
 * The lab's methods, one entry each: its title (Table 1, the summary's
 * sentences), its label on the page, its part in the random streams, and
 * how it gets its data each generation (docs/symbiosis.md has the table in
 * words). Every method then trains its own Student on that data the same
 * way (replicate.ts). Adding a method: append its name to SYMBIOSIS_METHODS
 * (the order the methods run in) and its entry to METHODS, with a stream
 * number no other method has.
 */
import type { SymbiosisConfig } from './config';
import type { Example } from './model';
import type { GenerationData, Replicate } from './replicate';

export const SYMBIOSIS_METHODS = ['real', 'static', 'recursive', 'symbiosis', 'symbiosis-balanced'] as const;
export type SymbiosisMethod = (typeof SYMBIOSIS_METHODS)[number];

export interface MethodSpec {
  /** The method's name in tables and sentences ("Real"). */
  title: string;
  /** Its name in the page's legends and menus ("Real Data (upper bound)"). */
  label: string;
  /** Its part in the streams it draws from (training order, writing, Self-BLEU). Fixed forever: changing one changes results. */
  stream: number;
  /** It draws from the static set, so a replicate writes one up front. */
  usesStaticSet: boolean;
  /** It adapts its own copy of the Generator each generation, so a replicate needs an in-lab Generator (generator 'tiny' or 'corpus'). */
  adaptsGenerator: boolean;
  /** The lab's extension of the original (docs/symbiosis.md), not a method the write-up ran. */
  extension: boolean;
  /** It measures "helped" on all of its data and keeps the top few as the pretrained Generator's few-shot examples. */
  keepsHelped: boolean;
  /** Units of work at generation g besides training (examples written, Generator steps): the run's progress plan. */
  extraWork(c: SymbiosisConfig, g: number): number;
  /**
   * Where generation g is exactly another method's (same data, order and
   * Student): that method, and the source this one reports. When both run,
   * it is computed once and reported for both; alone, this method computes
   * it with that method's streams, so it reaches the same result.
   */
  sameAs?(g: number): { method: SymbiosisMethod; source: string } | null;
  /** The examples it trains on at generation g ≥ 1, and what writing them cost. */
  data(lab: Replicate, g: number): Promise<GenerationData>;
}

/** Data nobody wrote. */
const taken = (data: Example[], source: string): GenerationData => ({
  data: data.map((e) => ({ ...e, hard: null })), generated: 0, droppedReasons: {}, hard: [], source,
});

export const METHODS: Record<SymbiosisMethod, MethodSpec> = {
  real: {
    title: 'Real', label: 'Real Data (upper bound)', stream: 0, usesStaticSet: false, adaptsGenerator: false, keepsHelped: false, extension: false,
    extraWork: () => 0,
    // A fresh batch of n real rows: consecutive slices of the shuffled pool, wrapping around only when it runs out.
    async data(lab, g) {
      const n = lab.c.syntheticPerGeneration;
      const { pool } = lab;
      const batch = Array.from({ length: n }, (_, i) => pool[((g - 1) * n + i) % pool.length]!);
      return taken(batch, g * n <= pool.length ? `a fresh real batch (pool rows ${(g - 1) * n}…${g * n - 1})` : 'a real batch (the pool ran out: rows repeat)');
    },
  },
  static: {
    title: 'Static', label: 'Static Synthetic', stream: 1, usesStaticSet: true, adaptsGenerator: false, keepsHelped: false, extension: false,
    extraWork: () => 0,
    data: async (lab, g) => taken(lab.staticSubset(g), 'a random subset of the static set'),
  },
  recursive: {
    title: 'Recursive', label: 'Recursive Collapse', stream: 2, usesStaticSet: true, adaptsGenerator: false, keepsHelped: false, extension: false,
    extraWork: (c, g) => (g >= 2 ? c.syntheticPerGeneration : 0),
    // The generation-0 Student never saw a label, so it cannot write labelled text: generation 1 is Static's.
    sameAs: (g) => (g === 1 ? { method: 'static', source: "Static's generation 1 (the gen-0 Student cannot write labelled text)" } : null),
    async data(lab, g) {
      if (g === 1) return taken(lab.staticSubset(g), "the Generator's static subset (generation 1: the gen-0 Student cannot write labelled text)");
      return { ...(await lab.writeWithOwnStudent('recursive', g)), hard: [], source: `written by the generation-${g - 1} Recursive Student` };
    },
  },
  symbiosis: {
    title: 'Symbiosis', label: 'Generative Symbiosis', stream: 3, usesStaticSet: false, adaptsGenerator: true, keepsHelped: true, extension: false,
    extraWork: (c) => c.syntheticPerGeneration + (c.generator === 'pretrained' ? 0 : c.generatorAdaptSteps),
    // Mine K hard examples with this method's Student, adapt the Generator to them, write n examples around them.
    async data(lab, g) {
      const hard = await lab.mineHard('symbiosis', g, 'ranked');
      return lab.c.generator === 'pretrained' ? lab.promptWithHard('symbiosis', g, hard) : lab.adaptAndWrite('symbiosis', g, hard);
    },
  },
  'symbiosis-balanced': {
    title: 'Symbiosis-balanced', label: 'Symbiosis, class-balanced (the lab\u2019s extension)', stream: 4,
    usesStaticSet: false, adaptsGenerator: true, keepsHelped: true, extension: true,
    extraWork: (c) => c.syntheticPerGeneration + (c.generator === 'pretrained' ? 0 : c.generatorAdaptSteps),
    // As Symbiosis, but the K hard examples are a per-class quota (K/classes of each, the hardest of each class), and with an in-lab
    // Generator an anchorShare of the data is opened by the Generator's own rows of every class (docs/symbiosis.md, "Symbiosis-balanced").
    async data(lab, g) {
      const hard = await lab.mineHard('symbiosis-balanced', g, 'per-class');
      return lab.c.generator === 'pretrained'
        ? lab.promptWithHard('symbiosis-balanced', g, hard)
        : lab.adaptAndWrite('symbiosis-balanced', g, hard, lab.c.anchorShare);
    },
  },
};

/** The stream method m draws from at generation g: its own, or that of the method whose generation it is (sameAs). */
export function streamAt(m: SymbiosisMethod, g: number): number {
  return METHODS[METHODS[m].sameAs?.(g)?.method ?? m].stream;
}
