/**
 * The Generator's quality (docs/symbiosis.md, "Measuring the Generator"),
 * on the static set it wrote before any adaptation, beside the same
 * measures on as many real rows:
 *   - what a classifier learns from its samples alone: naive Bayes
 *     (core/metrics/naive-bayes) on the Student's tokens, tested on the
 *     test set;
 *   - how varied they are: Distinct-2 of their words;
 *   - how well it knows each class's real text: per class, the perplexity
 *     exp(Σ NLL / Σ tokens) of real test texts of that class under the
 *     Generator prompted with the class (its own tokens, text and EOS).
 * A pretrained Generator only writes here (nothing scores text with it), so
 * its perplexity is not computed, and says why.
 */
import { distinctN } from '../../core/metrics/diversity';
import { naiveBayesAccuracy } from '../../core/metrics/naive-bayes';
import { binomialCI95 } from '../../core/metrics/stats';
import type { Example } from './model';
import type { GeneratorRecord } from './records';
import type { Replicate } from './replicate';
import { words } from './text';

/** Samples per class the record shows. */
const EXAMPLES_PER_CLASS = 2;

/** Distinct-2 of some texts' words; null for none. */
const distinct2 = (rows: readonly Example[]): number | null => (rows.length === 0 ? null : distinctN(rows.map((r) => words(r.text)), 2));

/** The generator record of a replicate whose Generator wrote `samples` (the static set). */
export async function measureGenerator(lab: Replicate, samples: readonly Example[]): Promise<GeneratorRecord> {
  const { c, model, names } = lab;
  const gen = lab.generator;
  const enc = (r: Example) => ({ tokens: model.encode(r.text), label: r.label });
  const test = lab.test.map(enc);
  const nb = (rows: readonly Example[]) => (rows.length === 0 ? null : naiveBayesAccuracy(rows.map(enc), test, lab.K, model.tok.vocabSize));
  const accuracy = nb(samples);
  const ci = accuracy === null ? null : binomialCI95(Math.round(accuracy * test.length), test.length);
  const real = lab.pool.slice(0, Math.min(samples.length, lab.pool.length));

  let perplexity: (number | null)[] = names.map(() => null);
  let perplexityNote: string | null = 'a pretrained Generator only writes here: nothing scores real text with it';
  if (gen) {
    await gen.model.backend.setParams(gen.base);
    const losses = await gen.model.writeLoss(lab.test.map((r) => ({ tokens: gen.model.encode(r.text), label: r.label })));
    perplexity = names.map((_, k) => {
      const mine = losses.filter((_, i) => lab.test[i]!.label === k);
      const tokens = mine.reduce((s, x) => s + x.tokens, 0);
      return tokens === 0 ? null : Math.exp(mine.reduce((s, x) => s + x.nll, 0) / tokens);
    });
    perplexityNote = perplexity.some((x) => x === null) ? 'a class with no test text has no perplexity' : null;
  }

  return {
    kind: 'generator', replicate: lab.rep, generator: c.generator, name: lab.generatorName,
    origin: gen === null ? 'pretrained' : gen.origin === 'loaded' ? 'loaded' : 'trained',
    corpusRows: gen?.corpusRows ?? null, parameters: gen?.model.backend.layout.total ?? null, steps: gen?.origin === 'loaded' ? gen.steps : (gen?.steps ?? null),
    trainLoss: gen?.trainLoss ?? null, samples: samples.length,
    classifierAccuracy: accuracy, classifierLow: ci?.low ?? null, classifierHigh: ci?.high ?? null, realAccuracy: nb(real),
    distinct2: distinct2(samples), realDistinct2: distinct2(real), perplexity, perplexityNote,
    examples: names.flatMap((name, k) => samples.filter((r) => r.label === k).slice(0, EXAMPLES_PER_CLASS).map((r) => ({ label: name, text: r.text }))),
  };
}
