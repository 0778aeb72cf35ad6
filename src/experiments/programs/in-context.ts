/**
 * The pretrained coder: a code model through RunContext.generateText (the
 * lab worker's transformers.js, or the headless runner's local folder). It
 * cannot be fine-tuned here, so the loop closes in its prompt: programs it
 * wrote that passed (and generalised) are shown as worked examples, its
 * family's first (docs/programs.md, "The in-context loop").
 */
import { type Puzzle, extractProgram, programPrompt } from '../../core/puzzles';
import { type Key, Rng } from '../../core/rng';
import type { RunSession } from '../session';
import type { ChatMessage } from '../types';
import type { ProgramsConfig } from './config';
import type { KeptProgram, LoopState, ProgramsPosition, ProgramsRecord } from './records';

export type ProgramsSession = RunSession<ProgramsRecord, ProgramsPosition, LoopState>;

const SYSTEM_PROMPT = 'You are a careful JavaScript programmer. Answer with one JavaScript code block that defines function solve(input), and nothing else.';

/** A program as the model is shown it in an example answer. */
const asAnswer = (program: string) => `\`\`\`javascript\n${program}\n\`\`\``;

/**
 * Up to `n` kept programs to show before `p`: its family's first, then the
 * others, newest first, one per puzzle, never `p`'s own (a train puzzle is
 * not shown its own solution).
 */
export function chooseExamples(kept: readonly KeptProgram[], p: Pick<Puzzle, 'family' | 'prompt'>, n: number): KeptProgram[] {
  if (n === 0) return [];
  const newest = [...kept].reverse();
  const seen = new Set([p.prompt]);
  const out: KeptProgram[] = [];
  for (const k of [...newest.filter((e) => e.family === p.family), ...newest.filter((e) => e.family !== p.family)]) {
    if (out.length === n) break;
    if (seen.has(k.prompt)) continue;
    seen.add(k.prompt);
    out.push(k);
  }
  return out;
}

/** The chat for one puzzle: the instructions, a worked example per kept program, then the puzzle. */
export function programMessages(p: Pick<Puzzle, 'family' | 'prompt'>, examples: readonly KeptProgram[]): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];
  for (const e of examples) {
    messages.push({ role: 'user', content: programPrompt(e) }, { role: 'assistant', content: asAnswer(e.program) });
  }
  messages.push({ role: 'user', content: programPrompt(p) });
  return messages;
}

/** What the coder wrote for a list of puzzles: n programs each, the examples each prompt showed, and the model's name. */
export interface Written {
  programs: string[][];
  examples: number[];
  coder: string;
}

/** n programs per puzzle from the pretrained model, prompted with up to fewShot kept programs each. */
export async function writePretrained(
  session: ProgramsSession, c: ProgramsConfig, puzzles: readonly Puzzle[], kept: readonly KeptProgram[], key: Key, phase: string,
): Promise<Written> {
  const n = c.samplesPerProblem;
  const shown = puzzles.map((p) => chooseExamples(kept, p, c.fewShot));
  const requests = puzzles.flatMap((p, i) => Array.from({ length: n }, () => ({ messages: programMessages(p, shown[i]!) })));
  let reported = 0;
  const report = (done: number) => {
    if (done <= reported) return;
    session.progress(phase, done - reported);
    reported = done;
  };
  const result = await session.ctx.generateText!(
    requests,
    { maxNewTokens: c.maxNewTokens, temperature: c.temperature, topP: c.topP, seed: new Rng(key).uint32(), model: c.pretrainedModel },
    report,
  );
  session.checkCancel();
  if (!result.ok) throw new Error(`coder: the pretrained model could not write (${result.reason})`);
  if (result.texts.length !== requests.length) throw new Error(`coder: asked for ${requests.length} programs, the pretrained model returned ${result.texts.length}`);
  report(requests.length);
  return {
    programs: puzzles.map((_, i) => result.texts.slice(i * n, (i + 1) * n).map(extractProgram)),
    examples: shown.map((e) => e.length),
    coder: `${result.model} (pretrained, in-context)`,
  };
}
