/**
 * The programs lab (src/experiments/programs) on a tiny setting, its
 * programs run in the real Node sandbox (QuickJS in a worker_thread). A
 * test host stands in for the pretrained coder: for each problem it writes
 * a correct solver, the visible answer as a constant, a syntax error and an
 * infinite loop — or, when its prompt shows a worked example, copies it. The
 * records, verdicts, hidden-input shares, kept programs and few-shot prompts
 * must come out as those four programs dictate; a resumed run ends
 * bit-identical; a host without the sandbox or the model is refused naming
 * it; the lab's own GPT runs its warm start and STaR loop and reports its
 * (nonsense) programs without crashing. And the pretrained path end to end:
 * the headless runner, as a process, given a tiny local ONNX model
 * (test/support/tiny-onnx) with --model: its nonsense is run, judged and
 * reported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { FAMILY_NAMES, type FamilyName, SPLIT_NAMES, extractProgram, programInput } from '../../src/core/puzzles';
import { resolveConfig } from '../../src/experiments/config';
import { programs } from '../../src/experiments/programs';
import type { ProgramsConfig } from '../../src/experiments/programs/config';
import { MAX_BODY_LENGTH, SIGNATURE, sampleBodies } from '../../src/experiments/programs/grammar';
import { chooseExamples } from '../../src/experiments/programs/in-context';
import type { IterationRecord, KeptProgram, ProgramsRecord } from '../../src/experiments/programs/records';
import { directAnswers, filterRows, finalScores, iterations, summarize, tableRow } from '../../src/experiments/programs/report';
import { selfImprove } from '../../src/experiments/self-improve';
import { programSplits } from '../../src/experiments/programs/streams';
import { runSplits } from '../../src/experiments/self-improve/splits';
import { RunCancelled } from '../../src/experiments/types';
import type { ChatMessage, RunCheckpoint, RunContext } from '../../src/experiments/types';
import { keyFromSeed } from '../../src/core/rng';
import { nodeSandbox } from '../../src/sandbox/node';
import { CORRECT } from '../support/programs';
import { runTiny } from '../support/run-tiny';
import { tinyLmFiles, writeModelFiles } from '../support/tiny-onnx';

const sandbox = nodeSandbox();
afterAll(() => sandbox.close());
const runProgram: RunContext['runProgram'] = (source, input, limits) => sandbox.run(source, input, limits);

const SEED = 3;
const tiny: Partial<ProgramsConfig> = {
  families: ['arithmetic', 'rpn', 'brackets'], minDifficulty: 2, maxDifficulty: 3, trainSize: 3, valSize: 2, testSize: 2,
  hiddenInputs: 2, samplesPerProblem: 4, passK: 2, iterations: 1, fewShot: 2, timeoutMs: 500, temperature: 0.7,
};
const config = (o: Partial<ProgramsConfig> = {}) => resolveConfig(programs, 'classroom', { ...tiny, ...o }) as ProgramsConfig;

/** The puzzle a prompt is about: the input it names, looked up in the run's splits. */
function answerOf(c: ProgramsConfig, prompt: string): { family: FamilyName; answer: string } {
  const input = JSON.parse(/It will be run on solve\((".*?")\)/.exec(prompt)![1]!) as string;
  const s = programSplits(c, SEED);
  const p = SPLIT_NAMES.flatMap((x) => s[x]).find((q) => programInput(q) === input)!;
  return { family: p.family, answer: p.answer };
}

/** The four programs the host writes for a problem, in order. */
const FOUR = ['correct', 'constant', 'syntax error', 'infinite loop'] as const;

/**
 * The test coder: sample j of a problem is FOUR[j % 4]; a prompt with a
 * worked example gets that example's program back, every sample (a model
 * copying what worked). Records the chats it was given.
 */
function testHost(c: ProgramsConfig, chats: ChatMessage[][][]): RunContext['generateText'] {
  return async (requests, _options, onProgress) => {
    chats.push(requests.map((r) => r.messages));
    const texts = requests.map((r, i) => {
      const example = r.messages.find((m) => m.role === 'assistant');
      if (example) return example.content;
      const { family, answer } = answerOf(c, r.messages.at(-1)!.content);
      switch (FOUR[(i % c.samplesPerProblem) % 4]) {
        case 'correct': return `Here it is:\n\`\`\`js\n${CORRECT[family]}\n\`\`\``;
        case 'constant': return `function solve(input) { return ${family === 'brackets' ? answer : Number(answer)}; }`;
        case 'syntax error': return 'function solve(input) { return input +; }';
        case 'infinite loop': return 'function solve(input) { while (true) {} }';
      }
    });
    onProgress?.(requests.length, requests.length);
    return { ok: true, model: 'test-coder', texts };
  };
}

async function run(o: Partial<ProgramsConfig> = {}, extra: { resume?: RunCheckpoint; stopAfter?: (c: RunCheckpoint) => boolean } = {}) {
  const c = config(o);
  const chats: ChatMessage[][][] = [];
  const r = await runTiny(programs, c, { seed: SEED, ...extra, host: { runProgram, generateText: testHost(c, chats) } });
  return { ...r, chats, c };
}

/** A record without its one wall-clock field (the sandbox's own milliseconds). */
const timeless = (r: ProgramsRecord) => (r.kind === 'iteration' ? { ...r, sandboxMs: 0 } : r);

let fullRun: ReturnType<typeof run> | null = null;
const full = () => (fullRun ??= run());

describe('the pretrained coder path with a test host', () => {
  test('iteration 0: every problem gets the four programs, judged as they are written', async () => {
    const { records, samples, error, c } = await full();
    expect(error).toBeNull();
    const its = iterations(records);
    expect(its.map((r) => r.iteration)).toEqual([0, 1]);
    const first = its[0]!;
    expect(first.coder).toBe('test-coder (pretrained, in-context)');
    for (const split of SPLIT_NAMES) {
      const s = first.scores[split];
      const problems = c[`${split}Size`];
      expect(s.problems).toBe(problems);
      expect(s.programs).toBe(problems * 4);
      // The solver and the constant pass the visible puzzle; the syntax error errs; the loop times out.
      expect(s.verdicts).toEqual({ passed: 2 * problems, wrong: 0, type: 0, error: problems, timeout: problems, memory: 0, output: 0 });
      expect(s.passAt1).toBeCloseTo(0.5, 12);
      // pass@2 from n = 4 with c = 2: 1 − C(2,2)/C(4,2) = 5/6.
      expect(s.passAtK).toBeCloseTo(5 / 6, 12);
      // Only the solver generalises: the hidden inputs catch the constant.
      expect(s.generalAt1).toBeCloseTo(0.25, 12);
      expect(s.generalAtK).toBeCloseTo(1 / 2, 12);
      expect(s.generalShare).toBeCloseTo(0.5, 12);
      expect(s.hiddenShare).toBeLessThan(0.5);
      expect(s.hiddenShare).toBeGreaterThanOrEqual(0.25);
    }
    for (const family of ['arithmetic', 'rpn', 'brackets']) {
      const train = first.passByFamily.train[family];
      if (train !== undefined) {
        expect(train).toBeCloseTo(0.5, 12);
        expect(first.generalByFamily.train[family]).toBeCloseTo(0.25, 12);
      }
    }
    expect(first.sandboxMs).toBeGreaterThan(0);
    // Iteration 0's attempts: the four programs with their outputs and verdicts.
    const rows = samples.find((s) => s.at.iteration === 0)!.rows;
    expect(rows).toHaveLength(c.trainSize + c.valSize + c.testSize);
    for (const row of rows) {
      const [solver, constant, syntax, loop] = row.attempts;
      expect(row.examples).toBe(0);
      expect(solver).toMatchObject({ verdict: 'passed', outcome: 'value', generalises: true, hiddenPassed: 2, hidden: 2, hiddenFailure: null, message: null });
      expect(solver!.program).toBe(extractProgram(`\`\`\`js\n${CORRECT[row.family]}\n\`\`\``));
      expect(JSON.parse(solver!.output)).toEqual(row.family === 'brackets' ? row.answer === 'true' : Number(row.answer));
      expect(constant).toMatchObject({ verdict: 'passed', generalises: false });
      expect(constant!.hiddenPassed).toBeLessThan(2);
      expect(constant!.hiddenFailure!.got).toBe(row.family === 'brackets' ? row.answer : String(Number(row.answer)));
      expect(constant!.hiddenFailure!.expected).not.toBe(row.answer);
      expect(syntax).toMatchObject({ verdict: 'error', outcome: 'error', generalises: false, hiddenPassed: 0 });
      expect(syntax!.message).toMatch(/^SyntaxError/);
      expect(loop).toMatchObject({ verdict: 'timeout', outcome: 'timeout', generalises: false, hiddenPassed: 0 });
      expect(loop!.output).toMatch(/interrupted after 500 ms/);
    }
    expect(filterRows(rows, 'generalised')).toHaveLength(rows.length);
    expect(filterRows(rows, 'failed')).toHaveLength(0);
  });

  test('the loop closes in context: the solvers that generalised become worked examples, the constants never do', async () => {
    const { records, chats, c, samples, checkpoints } = await full();
    const [first, second] = iterations(records) as [IterationRecord, IterationRecord];
    // One solver per train problem generalised and was kept; the constants passed the visible puzzle only and were not.
    expect(first).toMatchObject({ kept: c.trainSize, keptTotal: c.trainSize, fewShot: 2 });
    const kept = (checkpoints[0]!.state as { kept: KeptProgram[] }).kept;
    expect(kept.every((k) => k.generalises && Object.values(CORRECT).includes(k.program))).toBe(true);
    // Iteration 0's prompts show nothing; iteration 1's show the kept solvers chooseExamples picks.
    expect(chats).toHaveLength(2 * SPLIT_NAMES.length);
    for (const chat of chats.slice(0, 3).flat()) expect(chat.filter((m) => m.role === 'assistant')).toHaveLength(0);
    const rows = samples.find((s) => s.at.iteration === 1)!.rows;
    const secondChats = chats.slice(3).flat();
    let copied = 0;
    for (const row of rows) {
      const expected = chooseExamples(kept, row, c.fewShot);
      expect(row.examples).toBe(expected.length);
      const chat = secondChats.find((m) => m.at(-1)!.content.includes(`solve(${JSON.stringify(row.input)})`))!;
      expect(chat.filter((m) => m.role === 'assistant').map((m) => extractProgram(m.content))).toEqual(expected.map((e) => e.program));
      // The host copies the first example: a solver of the problem's own family passes and generalises, every sample.
      if (expected[0]?.family === row.family) {
        copied++;
        expect(row.attempts.every((a) => a.generalises), `${row.split} ${row.prompt}`).toBe(true);
      }
    }
    expect(copied).toBeGreaterThan(0);
    // Where a problem's family had a kept solver, the loop moved it to pass@1 = 1.
    for (const split of SPLIT_NAMES) {
      const ofSplit = rows.filter((r) => r.split === split);
      const solved = ofSplit.filter((r) => chooseExamples(kept, r, c.fewShot)[0]?.family === r.family).length;
      expect(second.scores[split].generalAt1, split).toBeGreaterThanOrEqual(solved / ofSplit.length - 1e-12);
    }
    // Nothing new is kept when the same solvers come back.
    expect(second.kept).toBe(0);
    expect(second.keptTotal).toBe(c.trainSize);
  });

  test('the evaluation-only loop (fewShot 0, as the write-up preset): the same prompts every iteration, so the same scores — the flat line', async () => {
    // A longer time limit than the other runs here: a solver timed out on a busy machine would break the equality.
    const flat = await run({ fewShot: 0, timeoutMs: 400 });
    const [a, b] = iterations(flat.records) as [IterationRecord, IterationRecord];
    expect(flat.chats).toHaveLength(2 * SPLIT_NAMES.length);
    for (const chat of flat.chats.flat()) expect(chat.filter((m) => m.role === 'assistant')).toHaveLength(0);
    expect(flat.chats.slice(3)).toEqual(flat.chats.slice(0, 3));
    // Programs generalised and were kept, and still nothing fed back.
    expect(a.keptTotal).toBeGreaterThan(0);
    expect(b.scores).toEqual(a.scores);
    // It starts where the loop that moves starts (the same puzzles and first prompts); that one's iteration 1 differs.
    const { records } = await full();
    const [loop0, loop1] = iterations(records) as [IterationRecord, IterationRecord];
    expect(a.scores).toEqual(loop0.scores);
    expect(loop1.scores).not.toEqual(loop0.scores);
  });

  test("keep 'passes' lets the memorised constants into the examples; 'generalises' keeps them out", async () => {
    const passes = await run({ keep: 'passes', iterations: 0 });
    const it0 = iterations(passes.records)[0]!;
    // Per train problem: the solver and the constant.
    expect(it0.kept).toBe(2 * passes.c.trainSize);
    const { checkpoints } = passes;
    const kept = (checkpoints.at(-1)!.state as { kept: KeptProgram[] }).kept;
    expect(kept.filter((k) => !k.generalises)).toHaveLength(passes.c.trainSize);
    expect(kept.filter((k) => !k.generalises).every((k) => /return (true|false|-?\d+);/.test(k.program))).toBe(true);
  });

  test('examples: the family first, newest first, one per puzzle, never the puzzle itself', () => {
    const k = (family: FamilyName, prompt: string, iteration: number): KeptProgram => ({
      family, difficulty: 2, prompt, input: prompt, program: `/* ${prompt} */`, iteration, generalises: true,
    });
    const kept = [k('rpn', 'a', 0), k('arithmetic', 'b', 0), k('rpn', 'c', 1), k('rpn', 'c', 2), k('brackets', 'd', 2)];
    expect(chooseExamples(kept, { family: 'rpn', prompt: 'c' }, 3).map((e) => e.prompt)).toEqual(['a', 'd', 'b']);
    expect(chooseExamples(kept, { family: 'rpn', prompt: 'z' }, 2).map((e) => [e.prompt, e.iteration])).toEqual([['c', 2], ['a', 0]]);
    expect(chooseExamples(kept, { family: 'sort', prompt: 'z' }, 0)).toEqual([]);
  });

  test('same seed, same run; a run cancelled after a checkpoint and resumed ends bit-identical', async () => {
    const whole = await full();
    const cut = await run({}, { stopAfter: (c) => c.at.iteration === 0 });
    expect(cut.error).toBeInstanceOf(RunCancelled);
    const ckpt = cut.checkpoints.at(-1)!;
    // The pretrained coder is used as it is: the checkpoint holds the kept programs and no weights.
    expect(ckpt).toMatchObject({ at: { iteration: 0 }, modelConfig: null, tokenizer: null, label: 'iteration 0 (before any feedback)' });
    expect(ckpt.params).toHaveLength(0);
    expect(cut.records.map(timeless)).toEqual(whole.records.slice(0, cut.records.length).map(timeless));
    const resumed = await run({}, { resume: ckpt });
    expect(resumed.error).toBeNull();
    expect(resumed.summary).toEqual(whole.summary);
    expect([...(ckpt.records as ProgramsRecord[]), ...resumed.records].map(timeless))
      .toEqual(whole.records.map(timeless));
    expect(resumed.samples).toEqual(whole.samples.filter((s) => s.at.iteration > 0));
    expect(resumed.checkpoints.at(-1)!.state).toEqual(whole.checkpoints.at(-1)!.state);
    expect(resumed.checkpoints.at(-1)!.progress).toEqual(whole.checkpoints.at(-1)!.progress);
    // The resumed session's prompts are the uninterrupted run's second iteration's.
    expect(resumed.chats).toEqual(whole.chats.slice(3));
  });

  test('summary, table row and headline come from the records', async () => {
    const { records, summary } = await full();
    expect(summary).toEqual(summarize(records, 0));
    expect(summary!.coder).toBe('test-coder (pretrained, in-context)');
    const row = tableRow(iterations(records)[0]!)!;
    expect(row).toMatchObject({ iter: 0, 'val pass@1': '50.0%', 'val general@1': '25.0%', generalise: '50.0%', kept: 3 });
    expect(finalScores(summary)).toMatchObject({ iteration: 1 });
    expect(finalScores({ nothing: true })).toBeNull();
  });
});

describe('what a host must provide', () => {
  test('without the sandbox, or the model, or with a failing model, the run stops at once naming what is missing', async () => {
    const c = config();
    const noSandbox = await runTiny(programs, c, { host: { generateText: testHost(c, []) } });
    expect(String(noSandbox.error)).toMatch(/^Error: runProgram: the programs lab runs model-written programs in a sandbox/);
    expect(noSandbox.events).toEqual([]);
    const noModel = await runTiny(programs, c, { host: { runProgram } });
    expect(String(noModel.error)).toMatch(/coder: 'pretrained' needs a pretrained code model.*--model DIR/);
    const tooMany = await runTiny(programs, config({ families: ['brackets'], minDifficulty: 2, maxDifficulty: 2, trainSize: 1, valSize: 1, testSize: 1, hiddenInputs: 64 }), { host: { runProgram, generateText: testHost(c, []) } });
    expect(String(tooMany.error)).toMatch(/^Error: hiddenInputs: the brackets puzzles of difficulty 2 allow only \d+ hidden ones/);
    const failing = await runTiny(programs, c, { host: { runProgram, generateText: async () => ({ ok: false, reason: 'no WebGPU adapter' }) } });
    expect(String(failing.error)).toMatch(/coder: the pretrained model could not write \(no WebGPU adapter\)/);
  });

  test('settings: bad values name the field; the presets are the write-up and its in-context twin', () => {
    expect(() => resolveConfig(programs, 'classroom', { passK: 9 })).toThrow(/passK: must be ≤ samplesPerProblem \(2\)/);
    expect(() => resolveConfig(programs, 'classroom', { pretrainedModel: 'gpt-4' })).toThrow(/pretrainedModel: must be one of onnx-community\/Qwen2.5-Coder-0.5B-Instruct/);
    expect(() => resolveConfig(programs, 'classroom', { coder: 'python' })).toThrow(/coder: must be one of pretrained, gpt/);
    const writeUp = resolveConfig(programs, 'write-up', {});
    const inContext = resolveConfig(programs, 'in-context', {});
    expect(writeUp).toMatchObject({
      families: ['arithmetic', 'rpn', 'brackets'], minDifficulty: 3, maxDifficulty: 7, trainSize: 30, valSize: 9, testSize: 9,
      iterations: 15, fewShot: 0, temperature: 0, samplesPerProblem: 1, pretrainedModel: 'onnx-community/Qwen2.5-Coder-0.5B-Instruct',
    });
    // The two differ only in the feedback.
    expect({ ...inContext, fewShot: 0 }).toEqual(writeUp);
    expect(inContext.fewShot).toBe(3);
    // The lab's GPT likewise: its evaluation-only twin has no fine-tuning steps, and nothing else differs.
    const labGpt = resolveConfig(programs, 'lab-gpt', {});
    expect(labGpt.stepsPerIteration).toBeGreaterThan(0);
    expect(resolveConfig(programs, 'lab-gpt-evaluation', {})).toEqual({ ...labGpt, stepsPerIteration: 0 });
  });

  test('the puzzles are the self-improvement lab\u2019s for the same seed and settings', () => {
    const c = config();
    expect(programSplits(c, 7)).toEqual(runSplits(c, 7));
    const exported = programs.datasets!(c, 7)['puzzles.jsonl'] as { input: string; prompt: string }[];
    expect(exported).toHaveLength(c.trainSize + c.valSize + c.testSize);
    for (const p of exported) expect(p.prompt).toContain(p.input);
  });

  test("the direct-answer mode beside: a self-improvement run of the same seed and puzzle settings answers this run's puzzles", async () => {
    const { c, samples } = await full();
    const direct = await runTiny(selfImprove, resolveConfig(selfImprove, 'write-up-replica', {
      families: c.families, minDifficulty: c.minDifficulty, maxDifficulty: c.maxDifficulty, trainSize: c.trainSize, valSize: c.valSize, testSize: c.testSize,
      seedSetSize: c.trainSize, iterations: 1, warmStartSteps: 2, stepsPerIteration: 2, dModel: 16, nLayers: 1, nHeads: 2, samplesPerProblem: 2,
    }), { seed: SEED });
    expect(direct.error).toBeNull();
    const stored = { experiment: 'self-improve', samples: direct.samples.map((s) => ({ at: s.at as Record<string, unknown>, rows: s.rows })) };
    // The self-improvement lab stores its sampled attempts on the train problems (it evaluates the others greedily, unstored).
    const programRows = samples.filter((s) => s.at.iteration === 1).flatMap((s) => s.rows).filter((r) => r.split === 'train');
    expect(programRows).toHaveLength(c.trainSize);
    const at1 = directAnswers(stored, 1)!;
    expect(at1.iteration).toBe(1);
    // Every programs problem the self-improvement run stored is answered by prompt, with that run's own verdicts.
    const directRows = direct.samples.filter((s) => s.at.iteration === 1).flatMap((s) => s.rows as { prompt: string; attempts: { text: string; correct: boolean }[] }[]);
    let matched = 0;
    for (const row of programRows) {
      const d = directRows.find((r) => r.prompt === row.prompt);
      if (!d) continue;
      matched++;
      expect(at1.byPrompt.get(row.prompt)).toEqual(d.attempts.map((a) => ({ text: a.text, correct: a.correct })));
    }
    expect(matched).toBe(c.trainSize);
    expect(directRows.every((r) => r.attempts.length === 2)).toBe(true);
    // An iteration it did not store falls back to its last; another lab's run, or one with no rows, gives nothing.
    expect(directAnswers(stored, 7)!.iteration).toBe(1);
    expect(directAnswers({ ...stored, experiment: 'programs' }, 1)).toBeNull();
    expect(directAnswers({ ...stored, samples: [] }, 1)).toBeNull();
  });
});

describe("the lab's own GPT", () => {
  test('the warm-start grammar: bounded programs, and some of them solve arithmetic, reversing, sorting and brackets', async () => {
    const bodies = sampleBodies(3000, keyFromSeed(1));
    expect(Math.max(...bodies.map((b) => b.length))).toBeLessThanOrEqual(MAX_BODY_LENGTH);
    const solves = (body: string) => new Set(bodies).has(body);
    expect(solves('return eval(s)}')).toBe(true);
    expect(solves('return s.split("").reverse().join("")}')).toBe(true);
    expect(solves('return s.split("").sort().join("")}')).toBe(true);
    const brackets = 'while(s!=(s=s.replace(/\\(\\)|\\[\\]|\\{\\}/g,"")));return s==""}';
    expect(solves(brackets)).toBe(true);
    for (const [family, body, input, expected] of [
      ['arithmetic', 'return eval(s)}', '2+3*(4-1)', 11], ['reverse', 'return s.split("").reverse().join("")}', '0310', '0130'],
      ['sort', 'return s.split("").sort().join("")}', '3010', '0013'], ['brackets', brackets, '([]{()})', true], ['brackets', brackets, '([)]', false],
    ] as const) {
      const r = await sandbox.run(SIGNATURE + body, input);
      expect(r, family).toMatchObject({ outcome: 'value', value: expected });
    }
    expect(FAMILY_NAMES).toContain('rpn');
  });

  test('a tiny GPT runs its warm start and STaR loop; its programs are run, judged and reported; resume is bit-identical', async () => {
    const c = config({
      coder: 'gpt', families: ['arithmetic', 'reverse'], dModel: 16, nLayers: 1, nHeads: 2, warmStartPrograms: 40, warmStartSteps: 3,
      stepsPerIteration: 2, batchSize: 4, samplesPerProblem: 2, passK: 2, iterations: 1, temperature: 1, topP: 1, timeoutMs: 200,
    });
    const host = { runProgram };
    const whole = await runTiny(programs, c, { seed: 2, host });
    expect(whole.error).toBeNull();
    const warm = whole.records.find((r) => r.kind === 'warm-start')!;
    expect(warm).toMatchObject({ kind: 'warm-start', programs: 40, steps: 3 });
    const its = iterations(whole.records);
    expect(its.map((r) => r.iteration)).toEqual([0, 1]);
    for (const r of its) {
      expect(r.coder).toMatch(/^the lab's GPT \([\d,]+ parameters/);
      expect(r.fewShot).toBe(0);
      for (const split of SPLIT_NAMES) {
        const s = r.scores[split];
        expect(Object.values(s.verdicts).reduce((a, b) => a + b, 0)).toBe(s.programs);
        expect(s.programs).toBe(c[`${split}Size`] * 2);
      }
    }
    expect(its[1]!.step).toBe(3 + (its[0]!.keptTotal > 0 ? 2 : 0));
    for (const row of whole.samples.flatMap((s) => s.rows)) for (const a of row.attempts) expect(a.program.startsWith(SIGNATURE)).toBe(true);
    const ckpt0 = whole.checkpoints[0]!;
    expect(ckpt0.modelConfig).toMatchObject({ dModel: 16, nLayers: 1 });
    expect(ckpt0.params.length).toBeGreaterThan(0);
    const resumed = await runTiny(programs, c, { seed: 2, host, resume: ckpt0 });
    expect(resumed.error).toBeNull();
    expect(resumed.summary).toEqual(whole.summary);
    expect(resumed.records.map(timeless)).toEqual(whole.records.slice(-1).map(timeless));
    expect(resumed.checkpoints.at(-1)!.params).toEqual(whole.checkpoints.at(-1)!.params);
  });
});

describe('the headless runner with --model', () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-programs-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('a tiny local ONNX model through transformers.js: its programs are run in the sandbox, judged and reported; exit 0', () => {
    // Rows run to the token budget (eosFrom null); the program prompts are ~900 byte-level tokens, so 2,048 positions.
    const model = join(out, 'tiny-coder');
    writeModelFiles(model, tinyLmFiles({ seed: 5, eosFrom: null, maxPositions: 2048 }).files);
    const dir = join(out, 'run');
    const sets = { trainSize: 3, valSize: 2, testSize: 2, samplesPerProblem: 2, passK: 2, iterations: 1, maxNewTokens: 32, hiddenInputs: 2 };
    const args = ['tsx', 'bin/lab.ts', 'run', 'programs', '--preset', 'classroom', '--seed', '4', '--out', dir, '--model', model,
      ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
    const r = spawnSync('npx', args, { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`--model: ${model} stands in for onnx-community/Qwen2.5-Coder-0.5B-Instruct`);
    expect(r.stdout).toMatch(/iter\s+train pass@1/);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.coder).toBe('tiny-coder (pretrained, in-context)');
    expect(summary.iterations.map((i: { iteration: number }) => i.iteration)).toEqual([0, 1]);
    const records = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as IterationRecord);
    for (const rec of records) {
      for (const split of SPLIT_NAMES) {
        const s = rec.scores[split];
        expect(s.programs).toBe(sets[`${split}Size`] * 2);
        expect(Object.values(s.verdicts).reduce((a, b) => a + b, 0)).toBe(s.programs);
      }
    }
    // Every program the model wrote is in the attempts, with the sandbox's verdict and output.
    const rows = readFileSync(join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2 * 7);
    for (const row of rows) {
      expect(row.attempts).toHaveLength(2);
      for (const a of row.attempts) {
        expect(a.program.length).toBeGreaterThan(0);
        expect(['passed', 'wrong', 'type', 'error', 'timeout', 'memory', 'output']).toContain(a.verdict);
        if (a.verdict === 'error') expect(a.output).toMatch(/Error|solve/);
      }
    }
    // The pretrained model is used as it is: no weights to write.
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dir, 'run.jsonl'))).toBe(true);
  }, 300_000);

  test('without --model the pretrained coder stops at once, naming the flag', () => {
    const r = spawnSync('npx', ['tsx', 'bin/lab.ts', 'run', 'programs', '--preset', 'classroom'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/coder: 'pretrained' needs a pretrained code model.*--model DIR/);
  }, 150_000);
});
