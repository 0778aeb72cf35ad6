/**
 * A probabilistic regular grammar over word classes: the "real" language of
 * the collapse lab, whose true probability of any sentence is known exactly.
 *
 * The grammar is a finite automaton. Each state has arcs labelled by a word
 * class (with a probability and a next state) and a probability of ending
 * the sentence there; each class emits its words with Zipfian probabilities
 * p(word of rank r) ∝ r^(−s). Every word belongs to exactly one class and no
 * state has two arcs of one class, so a word sequence has at most one path:
 *
 *   P(w_1 … w_n) = Π_i arc(q_{i−1}, class(w_i)) · emit(w_i) · end(q_n)
 *
 * and "grammatical" means that path exists and may end where it ends.
 * Sentences are capped at `maxWords`; the distribution is the automaton's,
 * conditioned on length ≤ maxWords (rejection sampling), so log-probabilities
 * subtract log Z with Z = P(length ≤ maxWords), computed exactly by a
 * forward pass over lengths.
 */
import type { Rng } from '../rng';

export interface WordClass {
  name: string;
  /** The words, most frequent first. */
  words: readonly string[];
  /** Zipf exponent s of p(rank r) ∝ r^(−s) within the class (0: uniform). */
  zipf: number;
  /** A reader's description ("a singular noun"), used in parse errors. */
  description: string;
}

export interface Arc {
  cls: string;
  p: number;
  to: string;
}

export interface GrammarState {
  arcs: readonly Arc[];
  /** Probability of ending the sentence in this state; arcs and end sum to 1. */
  end: number;
}

export interface GrammarSpec {
  name: string;
  start: string;
  states: Readonly<Record<string, GrammarState>>;
  classes: readonly WordClass[];
  /** Longest sentence, in words. */
  maxWords: number;
}

export type Parse =
  | { valid: true; logProb: number }
  | { valid: false; reason: string; at: number };

const PROB_TOLERANCE = 1e-9;

export class Grammar {
  /** Every word, class by class in spec order, each class most frequent first. */
  readonly vocabulary: readonly string[];
  /** log Z: the log-probability that an untruncated sentence has ≤ maxWords words. */
  readonly logZ: number;
  private readonly classByWord = new Map<string, WordClass>();
  private readonly logEmit = new Map<string, number>();
  private readonly emitCdf = new Map<string, Float64Array>();
  private readonly classByName: ReadonlyMap<string, WordClass>;

  /** Validates the spec; throws an Error naming the state, class or word at fault. */
  constructor(readonly spec: GrammarSpec) {
    const classes = new Map(spec.classes.map((c) => [c.name, c]));
    this.classByName = classes;
    if (classes.size !== spec.classes.length) throw new Error(`grammar ${spec.name}: two classes share a name`);
    if (!Number.isInteger(spec.maxWords) || spec.maxWords < 1) throw new Error(`grammar ${spec.name}: maxWords must be a positive integer`);
    const vocabulary: string[] = [];
    for (const c of spec.classes) {
      if (c.words.length === 0) throw new Error(`grammar ${spec.name}: class ${c.name} has no words`);
      const weights = c.words.map((_, r) => (r + 1) ** -c.zipf);
      const total = weights.reduce((a, b) => a + b, 0);
      const cdf = new Float64Array(c.words.length);
      let acc = 0;
      c.words.forEach((w, r) => {
        if (this.classByWord.has(w)) throw new Error(`grammar ${spec.name}: word "${w}" is in classes ${this.classByWord.get(w)!.name} and ${c.name}`);
        this.classByWord.set(w, c);
        this.logEmit.set(w, Math.log(weights[r]! / total));
        acc += weights[r]! / total;
        cdf[r] = acc;
        vocabulary.push(w);
      });
      cdf[cdf.length - 1] = 1;
      this.emitCdf.set(c.name, cdf);
    }
    this.vocabulary = vocabulary;
    if (!spec.states[spec.start]) throw new Error(`grammar ${spec.name}: start state ${spec.start} does not exist`);
    for (const [name, st] of Object.entries(spec.states)) {
      const seen = new Set<string>();
      let total = st.end;
      for (const a of st.arcs) {
        if (!classes.has(a.cls)) throw new Error(`grammar ${spec.name}: state ${name} has an arc of unknown class ${a.cls}`);
        if (!spec.states[a.to]) throw new Error(`grammar ${spec.name}: state ${name} has an arc to unknown state ${a.to}`);
        if (seen.has(a.cls)) throw new Error(`grammar ${spec.name}: state ${name} has two arcs of class ${a.cls} (the grammar must be deterministic)`);
        if (!(a.p > 0)) throw new Error(`grammar ${spec.name}: state ${name}, arc ${a.cls}: probability must be > 0`);
        seen.add(a.cls);
        total += a.p;
      }
      if (Math.abs(total - 1) > PROB_TOLERANCE) throw new Error(`grammar ${spec.name}: state ${name}: probabilities sum to ${total}, not 1`);
    }
    this.logZ = Math.log(this.lengthMass());
  }

  /** P(length ≤ maxWords) of the untruncated automaton (forward pass over state distributions). */
  private lengthMass(): number {
    let dist = new Map<string, number>([[this.spec.start, 1]]);
    let ended = 0;
    for (let n = 0; n <= this.spec.maxWords; n++) {
      const next = new Map<string, number>();
      for (const [name, mass] of dist) {
        const st = this.spec.states[name]!;
        ended += mass * st.end;
        if (n === this.spec.maxWords) continue;
        for (const a of st.arcs) next.set(a.to, (next.get(a.to) ?? 0) + mass * a.p);
      }
      dist = next;
    }
    return ended;
  }

  /** The class of a vocabulary word, or undefined. */
  classOf(word: string): WordClass | undefined {
    return this.classByWord.get(word);
  }

  /** A sentence (words) drawn from the truncated distribution. */
  sample(rng: Rng): string[] {
    for (;;) {
      const words: string[] = [];
      let state = this.spec.states[this.spec.start]!;
      for (;;) {
        let u = rng.uniform();
        if (u < state.end) break;
        u -= state.end;
        let arc = state.arcs[state.arcs.length - 1]!;
        for (const a of state.arcs) {
          if (u < a.p) {
            arc = a;
            break;
          }
          u -= a.p;
        }
        const cdf = this.emitCdf.get(arc.cls)!;
        const v = rng.uniform();
        let r = 0;
        while (r < cdf.length - 1 && v >= cdf[r]!) r++;
        words.push(this.classByName.get(arc.cls)!.words[r]!);
        if (words.length > this.spec.maxWords) break;
        state = this.spec.states[arc.to]!;
      }
      if (words.length <= this.spec.maxWords) return words;
    }
  }

  /** The sentence's path: its exact log-probability (natural log) if grammatical, else where and why not. */
  parse(words: readonly string[]): Parse {
    if (words.length > this.spec.maxWords) return { valid: false, reason: `longer than ${this.spec.maxWords} words`, at: this.spec.maxWords };
    let name = this.spec.start;
    let logProb = 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const cls = this.classByWord.get(w);
      if (!cls) return { valid: false, reason: `"${w}" is not a word of the grammar`, at: i };
      const arc = this.spec.states[name]!.arcs.find((a) => a.cls === cls.name);
      if (!arc) {
        const prev = i === 0 ? 'at the start' : `after "${words[i - 1]}"`;
        return { valid: false, reason: `"${w}" (${cls.description}) cannot come ${prev}`, at: i };
      }
      logProb += Math.log(arc.p) + this.logEmit.get(w)!;
      name = arc.to;
    }
    const end = this.spec.states[name]!.end;
    if (end === 0) return { valid: false, reason: words.length === 0 ? 'empty sentence' : `cannot end after "${words[words.length - 1]}"`, at: words.length };
    return { valid: true, logProb: logProb + Math.log(end) - this.logZ };
  }
}
