/**
 * The pretrained Generator (an instruct model through ctx.generateText, in
 * the browser): the chat prompts it is given and its writing. It cannot be
 * fine-tuned here, so its adaptation to the hard examples is a prompt
 * curriculum (docs/symbiosis.md, "Adapting the Generator").
 */
import { type Key, Rng } from '../../core/rng';
import type { ChatMessage } from '../types';
import type { SymbiosisConfig } from './config';
import type { Example, SymbiosisSession, WriteOutput, Written } from './model';
import { cleanGeneratedText } from './text';

const SYSTEM_PROMPT = 'You write short, clear training examples for a text classifier. Answer with the example text only.';

/** One chat request, the label its output gets, and the hard example it is written around. */
export interface PretrainedRequest {
  messages: ChatMessage[];
  label: number;
  hard: number | null;
}

/** `t` with each {name} replaced by fields[name] (unknown names stay). */
function fillTemplate(t: string, fields: Record<string, string>): string {
  return t.replace(/\{(\w+)\}/g, (m, name: string) => fields[name] ?? m);
}

/** The class-conditional request: write an example of class `label`. */
export function classMessages(c: SymbiosisConfig, names: readonly string[], label: number): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: fillTemplate(c.classPrompt, { label: names[label]! }) },
  ];
}

/** The Symbiosis request around a hard example, after few-shot turns with the examples that helped (those of its label first). */
export function hardMessages(c: SymbiosisConfig, names: readonly string[], hard: Example, shots: readonly Example[]): ChatMessage[] {
  const ordered = [...shots.filter((s) => s.label === hard.label), ...shots.filter((s) => s.label !== hard.label)];
  const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];
  for (const s of ordered) {
    messages.push({ role: 'user', content: fillTemplate(c.classPrompt, { label: names[s.label]! }) }, { role: 'assistant', content: s.text });
  }
  messages.push({ role: 'user', content: fillTemplate(c.hardPrompt, { text: hard.text, label: names[hard.label]! }) });
  return messages;
}

/** Write with the pretrained model; outputs are cleaned, unusable ones counted and dropped. Also returns the model's name in words. */
export async function writePretrained(
  session: SymbiosisSession, c: SymbiosisConfig, requests: readonly PretrainedRequest[], key: Key, phase: string,
): Promise<WriteOutput & { model: string }> {
  let reported = 0;
  const result = await session.ctx.generateText!(
    requests.map((r) => ({ messages: r.messages })),
    { maxNewTokens: c.pretrainedMaxNewTokens, temperature: c.temperature, topP: c.topP, seed: new Rng(key).uint32(), model: c.pretrainedModel },
    (done) => {
      if (done <= reported) return;
      session.progress(phase, done - reported);
      reported = done;
    },
  );
  session.checkCancel();
  if (!result.ok) throw new Error(`generator: the pretrained model could not write (${result.reason})`);
  if (result.texts.length !== requests.length) {
    throw new Error(`generator: asked for ${requests.length} texts, the pretrained model returned ${result.texts.length}`);
  }
  session.progress(phase, requests.length - reported);
  const written: Written[] = [];
  const dropped: Record<string, number> = {};
  result.texts.forEach((raw, i) => {
    const r = cleanGeneratedText(raw);
    if ('dropped' in r) dropped[r.dropped] = (dropped[r.dropped] ?? 0) + 1;
    else written.push({ text: r.text, label: requests[i]!.label, hard: requests[i]!.hard });
  });
  return { written, dropped, generated: requests.length, model: `${result.model} (pretrained, prompt curriculum)` };
}
