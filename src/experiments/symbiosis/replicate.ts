/**
 * One replicate in progress: its splits, its models and the state a
 * checkpoint carries, and one method's generation — get the data (the
 * method's entry in methods.ts), the Student's verdict on it, training,
 * evaluation, the record and the browsed rows. The mechanics the methods'
 * data steps share (the static subset, writing with a Student, mining hard
 * examples, adapting or prompting the Generator) are here too. A replicate
 * is built by setup.ts.
 */
import { distinctN, selfBleu } from '../../core/metrics/diversity';
import { binomialCI95 } from '../../core/metrics/stats';
import { type Key, Rng } from '../../core/rng';
import type { StepPoint } from '../phases';
import { CheckpointError, type Resumed, streamKey } from '../session';
import type { SymbiosisConfig } from './config';
import { argmax, hardest, hardestPerClass, hardnessScores, labelShares } from './hard';
import { METHODS, type SymbiosisMethod, streamAt } from './methods';
import type { Example, SymbiosisSession, TextModel, Written } from './model';
import { cycler } from './model';
import { hardMessages, writePretrained } from './instruct';
import type { GenerationRecord, HardExamplesRecord, ReplicateState, SampleRow, SymbiosisPosition } from './records';
import { STREAM } from './streams';
import { words } from './text';
import { InLabGenerator, restoreCorpusGenerator } from './writer';

export type { Example } from './model';

/** What a method trains on at a generation, and what getting it cost. */
export interface GenerationData {
  data: Written[];
  /** Outputs written, and those dropped by reason (nothing written: 0, {}). */
  generated: number;
  droppedReasons: Record<string, number>;
  /** The hard examples the data was written around (Written.hard indexes them). */
  hard: Example[];
  /** Where the data came from, in words. */
  source: string;
}

/** The hard examples a generation mined, and their tokens (the Student's). */
export interface Mined {
  examples: Example[];
  tokens: number[][];
}

/** How a method picks its K hard examples: the K hardest (the original), or a per-class quota (hard.ts, hardestPerClass). */
export type HardQuota = 'ranked' | 'per-class';

/** A method's generation, kept so that a method whose generation it also is (sameAs) can report it without recomputing. */
interface Trained {
  params: Float32Array;
  steps: number;
  points: StepPoint[];
  record: GenerationRecord;
  rows: SampleRow[];
}

/** The units of work of a run (one per optimizer step or example written), and what its methods need built. */
export interface Plan {
  /** Nominal optimizer steps of one method's generation: E·n/b. */
  train: number;
  /** A replicate's setup: pretraining, the in-lab Generator, the static set. */
  setup: number;
  total: number;
  /** Whether a replicate needs an in-lab Generator ('tiny' or 'corpus') and writes a static set. */
  inLabGenerator: boolean;
  staticSet: boolean;
}

/** Distinct-2 and Self-BLEU (3-gram, words) of a set of examples; null where not computable (no data; one example for Self-BLEU). */
export function textMetrics(c: SymbiosisConfig, data: readonly Example[], key: Key): { distinct2: number | null; selfBleu: number | null } {
  const seqs = data.map((e) => words(e.text));
  const d2 = data.length > 0 ? distinctN(seqs, 2) : NaN;
  const sb = data.length > 1 ? selfBleu(seqs, { maxN: 3, maxHypotheses: c.selfBleuSamples, key }) : NaN;
  return { distinct2: Number.isFinite(d2) ? d2 : null, selfBleu: Number.isFinite(sb) ? sb : null };
}

/** `count` labels, balanced over K (each ⌊count/K⌋ or one more), in a seeded order. */
export function balancedLabels(count: number, K: number, key: Key): number[] {
  return new Rng(key).shuffle(Array.from({ length: count }, (_, i) => i % K));
}

export interface ReplicateParts {
  c: SymbiosisConfig;
  session: SymbiosisSession;
  plan: Plan;
  /** 0-based. */
  rep: number;
  /** The methods that run, in SYMBIOSIS_METHODS order. */
  methods: readonly SymbiosisMethod[];
  labelNames: readonly string[];
  pool: Example[];
  val: Example[];
  test: Example[];
  model: TextModel;
  /** The replicate's root key (streams.ts). */
  key: Key;
}

export class Replicate {
  readonly c: SymbiosisConfig;
  readonly session: SymbiosisSession;
  readonly rep: number;
  readonly methods: readonly SymbiosisMethod[];
  readonly names: readonly string[];
  readonly pool: Example[];
  readonly val: Example[];
  readonly test: Example[];
  readonly model: TextModel;
  readonly plan: Plan;
  readonly #key: Key;
  readonly testTokens: number[][];
  readonly valTokens: number[][];
  /** Where hard examples are mined: the validation set, or (mineOn 'pool') the end of the pool, unlabelled (the Real batches start at its beginning). */
  readonly mineSlice: Example[];
  readonly mineTokens: number[][];
  /** The pretrained Student (every method's generation 0), the in-lab Generator (null: none), each method's Student. */
  pretrained: Float32Array = new Float32Array(0);
  generator: InLabGenerator | null = null;
  readonly #students = new Map<SymbiosisMethod, Float32Array>();
  state: ReplicateState;
  /** The last generation completed. */
  generation = 0;

  constructor(p: ReplicateParts, generatorModel: string | null) {
    this.c = p.c;
    this.session = p.session;
    this.plan = p.plan;
    this.rep = p.rep;
    this.methods = p.methods;
    this.names = p.labelNames;
    this.pool = p.pool;
    this.val = p.val;
    this.test = p.test;
    this.model = p.model;
    this.#key = p.key;
    this.testTokens = this.test.map((r) => this.model.encode(r.text));
    this.valTokens = this.val.map((r) => this.model.encode(r.text));
    this.mineSlice = this.c.mineOn === 'pool' ? this.pool.slice(this.pool.length - this.c.valSize) : this.val;
    this.mineTokens = this.c.mineOn === 'pool' ? this.mineSlice.map((r) => this.model.encode(r.text)) : this.valTokens;
    this.state = { staticSet: [], helped: {}, steps: {}, generatorModel, trainedGenerator: null };
  }

  get K(): number {
    return this.names.length;
  }

  /** Method m's Student's parameters. */
  student(m: SymbiosisMethod): Float32Array {
    const params = this.#students.get(m);
    if (!params) throw new Error(`symbiosis: no Student for method ${m} in this replicate`);
    return params;
  }

  setStudent(m: SymbiosisMethod, params: Float32Array): void {
    this.#students.set(m, params);
  }

  /** The in-lab Generator (a replicate makes one when a method needs it: setup.ts, plan). */
  inLabGenerator(): InLabGenerator {
    if (!this.generator) throw new Error('symbiosis: this replicate has no in-lab Generator');
    return this.generator;
  }

  /** The replicate's stream `tag`, then `parts` (streams.ts). */
  key(tag: number, ...parts: number[]): Key {
    return streamKey(this.#key, tag, ...parts);
  }

  /** A phase's name for progress and step events ("symbiosis (replicate 2)" when there are several). */
  phase(what: string): string {
    return this.c.replicates > 1 ? `${what} (replicate ${this.rep + 1})` : what;
  }

  /** The Generator in words: the pretrained model once it has written, else what the config asks for. */
  get generatorName(): string {
    if (this.state.generatorModel) return this.state.generatorModel;
    // Only the Symbiosis methods fine-tune it; a run of Static alone uses it as trained.
    const adapted = this.methods.some((m) => METHODS[m].adaptsGenerator) ? '; fine-tuned on the hard examples' : '';
    switch (this.c.generator) {
      case 'tiny':
        return `tiny in-lab GPT${adapted ? ' (fine-tuned on the hard examples)' : ''}`;
      case 'corpus': {
        const g = this.generator;
        const how = g?.origin === 'loaded' ? 'loaded from a file' : 'trained here';
        return `corpus GPT ${g ? `(${g.model.backend.layout.total.toLocaleString('en-US')} parameters, ${how} on ${g.corpusRows.toLocaleString('en-US')} rows the Student never sees${adapted})` : '(its own corpus)'}`;
      }
      case 'pretrained':
        return 'pretrained instruct model (prompt curriculum)';
      default:
        return this.c.generator satisfies never;
    }
  }

  /**
   * Continue from a checkpoint taken after generation `at.generation` of this
   * replicate. `loaded`: the Generator the run was given (a file), else null.
   */
  async restore(r: Resumed<SymbiosisPosition, ReplicateState>, loaded: InLabGenerator | null): Promise<void> {
    const saved = (name: string) => {
      const params = r.extraParams[name];
      if (!params) throw new CheckpointError(`this checkpoint lacks the parameters '${name}': it cannot continue`);
      return params;
    };
    this.state = r.state;
    this.generation = r.at.generation;
    this.pretrained = saved('pretrained');
    const base = r.extraParams.generator;
    if (this.c.generator === 'tiny' && base) {
      this.generator = new InLabGenerator(this.model, base, 'tiny', this.c.seedSetSize, this.c.generatorSteps, null);
    } else if (this.c.generator === 'corpus' && this.plan.inLabGenerator) {
      this.generator = loaded ?? (r.state.trainedGenerator
        ? await restoreCorpusGenerator(this.c, this.session, r.state.trainedGenerator, saved('generator'), this.K)
        : null);
      if (!this.generator) throw new CheckpointError("this checkpoint holds no Generator and the run was given none: it cannot continue");
    }
    for (const m of this.methods) {
      const adapted = r.extraParams[`generator:${m}`];
      if (adapted) this.generator?.setAdapted(m, adapted);
    }
    for (const m of this.methods) this.setStudent(m, saved(`student:${m}`));
  }

  /** Everything needed to continue after generation g (all methods). */
  checkpoint(g: number): void {
    this.generation = g;
    const extra: Record<string, Float32Array> = { pretrained: this.pretrained };
    if (this.generator) {
      // A loaded Generator is read from the run's input again; the others travel with the checkpoint.
      if (this.generator.origin !== 'loaded') extra.generator = this.generator.base;
      for (const [m, params] of this.generator.adaptedCopies()) extra[`generator:${m}`] = params;
    }
    this.state.trainedGenerator = this.generator?.toState() ?? null;
    for (const m of this.methods) extra[`student:${m}`] = this.student(m);
    const { gpt, tok } = this.model;
    this.session.checkpoint(
      { replicate: this.rep, generation: g, method: null },
      { config: gpt, tokenizer: tok.toJSON(), params: this.student(this.methods[0]!), extra },
      this.state,
    );
  }

  /** Test accuracy with its Wilson interval, validation accuracy and the test predictions' class shares, for the parameters on the backend. */
  async evaluate(): Promise<Pick<GenerationRecord, 'testAccuracy' | 'testLow' | 'testHigh' | 'testN' | 'valAccuracy' | 'predictedShares'>> {
    const testPost = await this.model.posteriors(this.testTokens);
    const valPost = await this.model.posteriors(this.valTokens);
    const correct = (post: readonly Float64Array[], rows: readonly Example[]) => post.filter((p, i) => argmax(p) === rows[i]!.label).length;
    const ci = binomialCI95(correct(testPost, this.test), this.test.length);
    return {
      testAccuracy: ci.p, testLow: ci.low, testHigh: ci.high, testN: this.test.length,
      valAccuracy: correct(valPost, this.val) / this.val.length, predictedShares: labelShares(testPost.map(argmax), this.K)!,
    };
  }

  /** The methods whose generation g is this method's (itself first). */
  sharedBy(m: SymbiosisMethod, g: number): SymbiosisMethod[] {
    return [m, ...this.methods.filter((o) => o !== m && METHODS[o].sameAs?.(g)?.method === m)];
  }

  /** Generation g of every method, in turn; then the checkpoint. */
  async runGeneration(g: number): Promise<void> {
    const done = new Map<SymbiosisMethod, Trained>();
    for (const m of this.methods) {
      this.session.checkCancel();
      const same = METHODS[m].sameAs?.(g);
      const theirs = same ? done.get(same.method) : undefined;
      if (same && theirs) this.report(m, g, theirs, same.source);
      else done.set(m, await this.train(m, g, await METHODS[m].data(this, g)));
    }
    this.checkpoint(g);
  }

  /** Report another method's generation g as this method's own (the two are the same: methods.ts, sameAs). */
  report(m: SymbiosisMethod, g: number, theirs: Trained, source: string): void {
    const phase = this.phase(m);
    this.setStudent(m, theirs.params);
    this.state.steps[m] = theirs.steps;
    for (const e of theirs.points) this.session.ctx.emit({ type: 'step', phase, ...e });
    this.session.progress(phase, this.plan.train);
    this.session.emit({ ...theirs.record, method: m, source });
    this.session.samples({ replicate: this.rep, generation: g, method: m }, theirs.rows.map((r) => ({ ...r, method: m })));
  }

  /** The Student's verdict on its data, E passes over it, its loss on it again ("helped"), evaluation; the record and the browsed rows. */
  async train(m: SymbiosisMethod, g: number, got: GenerationData): Promise<Trained> {
    const { c, model, session } = this;
    session.checkCancel();
    const phase = this.phase(m);
    const { data } = got;
    const tokens = data.map((e) => model.encode(e.text));
    const labels = data.map((e) => e.label);
    await model.backend.setParams(this.student(m));
    const before = data.length > 0 ? await model.posteriors(tokens) : [];
    const from = c.continueAcrossGenerations ? this.student(m) : this.pretrained;
    const steps = Math.ceil((c.epochsPerGeneration * data.length) / c.batchSize);
    // Exactly E passes: E shuffles laid end to end, cut into batches.
    const stream = streamAt(m, g);
    const rng = new Rng(this.key(STREAM.train, g, stream));
    const order: number[] = [];
    for (let e = 0; e < c.epochsPerGeneration; e++) order.push(...rng.shuffle([...data.keys()]));
    // The write direction joins `writeEpochs` of the E passes, spread evenly (every example gets it in each of them).
    const writes = (j: number) => {
      const e = Math.floor(j / data.length);
      return Math.floor(((e + 1) * c.writeEpochs) / c.epochsPerGeneration) > Math.floor((e * c.writeEpochs) / c.epochsPerGeneration);
    };
    const batchAt = (s: number) => order.slice(s * c.batchSize, (s + 1) * c.batchSize)
      .map((i, j) => ({ tokens: tokens[i]!, label: labels[i]!, write: writes(s * c.batchSize + j) }));
    const stepOffset = this.state.steps[m] ?? 0;
    const t = await model.train(from, steps, (s) => model.studentBatch(batchAt(s)), c.learningRate, phase, stepOffset);
    session.progress(phase, this.plan.train);
    this.setStudent(m, t.params);
    this.state.steps[m] = stepOffset + steps;
    // "Helped" is measured on every example where the method keeps the best (the few-shot ranking), elsewhere only on the rows browsed.
    const measured = METHODS[m].keepsHelped ? data.length : Math.min(data.length, c.sampleRowsPerGeneration);
    const after = measured > 0 ? await model.posteriors(tokens.slice(0, measured)) : [];
    const helped = after.map((p, i) => Math.log(Math.max(p[labels[i]!]!, 1e-300)) - Math.log(Math.max(before[i]![labels[i]!]!, 1e-300)));
    if (METHODS[m].keepsHelped) {
      const ranked = [...helped.keys()].sort((a, b) => helped[b]! - helped[a]! || a - b);
      this.state.helped[m] = ranked.slice(0, c.fewShotExamples).map((i) => ({ text: data[i]!.text, label: data[i]!.label }));
    }

    const dropped = Object.values(got.droppedReasons).reduce((a, b) => a + b, 0);
    const record: GenerationRecord = {
      kind: 'generation', replicate: this.rep, method: m, generation: g, sharedBy: this.sharedBy(m, g),
      ...(await this.evaluate()), trainLoss: t.loss, lossCurve: t.points.map((e) => [e.step, e.loss]),
      dataSize: data.length, labelShares: labelShares(labels, this.K),
      studentAgreement: data.length > 0 ? before.filter((p, i) => argmax(p) === labels[i]).length / data.length : null,
      ...textMetrics(c, data, this.key(STREAM.bleu, g, stream)), generated: got.generated, dropped, droppedReasons: got.droppedReasons,
      source: got.source, steps, seconds: session.elapsed(),
    };
    session.emit(record);
    const { names } = this;
    const rows: SampleRow[] = data.slice(0, c.sampleRowsPerGeneration).map((e, i) => ({
      replicate: this.rep, generation: g, method: m, text: e.text, label: names[e.label]!,
      prompt: e.hard === null ? null : { text: got.hard[e.hard]!.text, label: names[got.hard[e.hard]!.label]! },
      predicted: names[argmax(before[i]!)]!, correct: argmax(before[i]!) === e.label, helped: helped[i]!,
    }));
    session.samples({ replicate: this.rep, generation: g, method: m }, rows);
    return { params: t.params, steps: this.state.steps[m]!, points: t.points, record, rows };
  }

  // --- what the methods' data steps call ---------------------------------------------

  /** Generation g's random n-subset of the static set. */
  staticSubset(g: number): Example[] {
    const { staticSet } = this.state;
    return new Rng(this.key(STREAM.subset, g)).shuffle([...staticSet.keys()]).slice(0, this.c.syntheticPerGeneration).map((i) => staticSet[i]!);
  }

  /** n examples written by method m's own Student (prompt BOS · label · SEP), balanced over the labels. */
  async writeWithOwnStudent(m: SymbiosisMethod, g: number): Promise<Omit<GenerationData, 'hard' | 'source'>> {
    const { stream } = METHODS[m];
    const labels = balancedLabels(this.c.syntheticPerGeneration, this.K, this.key(STREAM.write, g, stream, 0));
    const out = await this.model.write(
      this.student(m), labels.map((label) => ({ label, prefix: [], hard: null })), this.key(STREAM.write, g, stream, 1), this.phase(m),
    );
    return { data: out.written, generated: out.generated, droppedReasons: out.dropped };
  }

  /**
   * K hard examples for method m's Student where the config mines (recorded
   * as a hard-examples record), with the labels the Generator is given:
   * the K hardest ('ranked', the original) or a per-class quota ('per-class').
   */
  async mineHard(m: SymbiosisMethod, g: number, quota: HardQuota): Promise<Mined> {
    const { c, mineSlice, names } = this;
    await this.model.backend.setParams(this.student(m));
    const post = await this.model.posteriors(this.mineTokens);
    const labels = c.mineOn === 'validation' ? mineSlice.map((r) => r.label) : null;
    const scores = hardnessScores(post, labels, c.hardSelector);
    const k = Math.min(c.hardExamples, mineSlice.length);
    // The Generator is told the label: the true one on validation, the Student's own on the unlabelled pool.
    const given = labels ?? post.map(argmax);
    const picked = quota === 'ranked' ? hardest(scores, k) : hardestPerClass(scores, given, this.K, k);
    const examples = picked.map((i) => ({ text: mineSlice[i]!.text, label: given[i]! }));
    this.session.emit({
      kind: 'hard-examples', replicate: this.rep, method: m, quota, generation: g, selector: c.hardSelector, minedOn: c.mineOn, count: picked.length,
      labelShares: labelShares(examples.map((h) => h.label), this.K)!,
      misclassified: labels ? picked.filter((i) => argmax(post[i]!) !== labels[i]).length / picked.length : null,
      meanScore: picked.reduce((s, i) => s + scores[i]!, 0) / picked.length,
      examples: picked.slice(0, 10).map((i, j) => ({
        text: examples[j]!.text, label: names[examples[j]!.label]!, predicted: names[argmax(post[i]!)]!, score: scores[i]!,
      })),
    } satisfies HardExamplesRecord);
    return { examples, tokens: picked.map((i) => this.mineTokens[i]!) };
  }

  /** Which hard example each of `n` requests is written around: each gets ⌊n/K⌋ or one more, in turn. */
  #jobs(mined: Mined, n = this.c.syntheticPerGeneration): number[] {
    return Array.from({ length: n }, (_, i) => i % mined.examples.length);
  }

  /**
   * Step D with the in-lab Generator: fine-tune method m's copy on the hard
   * examples with their labels (cumulative over generations), then write n
   * examples, each starting with a hard example's first tokens (the
   * Generator's own); an `anchorShare` of them instead opened by its own
   * rows, balanced over the labels (as the static set).
   */
  async adaptAndWrite(m: SymbiosisMethod, g: number, mined: Mined, anchorShare = 0): Promise<GenerationData> {
    const { c } = this;
    const gen = this.inLabGenerator();
    const { model } = gen;
    const hard = mined.examples;
    // The Generator reads with its own tokenizer (the tiny one shares the Student's: the same tokens).
    const tokens = gen.ownBackend ? hard.map((h) => model.encode(h.text)) : mined.tokens;
    // Symbiosis keeps the original's stream; a later adapting method adds its stream number.
    const adaptKey = m === 'symbiosis' ? this.key(STREAM.adapt, g) : this.key(STREAM.adapt, g, METHODS[m].stream);
    const nextHard = cycler(hard.length, Math.min(2 * c.batchSize, hard.length), adaptKey);
    const adaptRows = () => model.writeBatch(nextHard().map((i) => ({ tokens: tokens[i]!, label: hard[i]!.label })));
    const phase = this.phase('generator (adapting)');
    const adapted = await model.train(gen.params(m), c.generatorAdaptSteps, adaptRows, c.generatorLearningRate, phase, (g - 1) * c.generatorAdaptSteps);
    this.session.progress(phase, c.generatorAdaptSteps);
    gen.setAdapted(m, adapted.params);
    const anchors = Math.round(anchorShare * c.syntheticPerGeneration);
    const jobs = [
      ...this.#jobs(mined, c.syntheticPerGeneration - anchors).map((h) => ({ label: hard[h]!.label, prefix: tokens[h]!.slice(0, c.promptPrefixTokens), hard: h })),
      ...gen.openings(balancedLabels(anchors, this.K, this.key(STREAM.anchor, g, 0)), c.staticPrefixTokens, this.key(STREAM.anchor, g, 1)),
    ];
    const out = await model.write(adapted.params, jobs, this.key(STREAM.write, g, METHODS[m].stream, 1), this.phase(m));
    const anchored = anchors === 0 ? '' : `; ${anchors} of its ${jobs.length} examples opened by its own rows of every class`;
    return {
      data: out.written, generated: out.generated, droppedReasons: out.dropped, hard,
      source: `the ${c.generator} Generator fine-tuned on ${hard.length} hard examples (${c.hardSelector}, ${c.mineOn})${anchored}`,
    };
  }

  /** Step D with the pretrained Generator: a prompt per request around its hard example, after the examples that helped most last generation. */
  async promptWithHard(m: SymbiosisMethod, g: number, mined: Mined): Promise<GenerationData> {
    const { c, names } = this;
    const hard = mined.examples;
    const shots = (this.state.helped[m] ?? []).slice(0, c.fewShotExamples);
    const requests = this.#jobs(mined).map((h) => ({ messages: hardMessages(c, names, hard[h]!, shots), label: hard[h]!.label, hard: h }));
    const out = await writePretrained(this.session, c, requests, this.key(STREAM.write, g, METHODS[m].stream, 1), this.phase(m));
    this.state.generatorModel = out.model;
    return {
      data: out.written, generated: out.generated, droppedReasons: out.dropped, hard,
      source: `the pretrained Generator prompted with ${hard.length} hard examples and ${shots.length} examples that helped`,
    };
  }

  dispose(): void {
    this.model.backend.dispose();
    if (this.generator?.ownBackend) this.generator.model.backend.dispose();
  }
}
