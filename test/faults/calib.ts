import { startLab } from '../browser/harness';
import { References, TINY, withTab } from './suite';
const lab = await startLab();
const refs = new References(lab);
const ref = await refs.get({ overrides: TINY, seed: 11, backend: 'cpu' });
function heavy(file: string, sets: number, rowBytes: number): string {
  const lines = file.trimEnd().split('\n');
  const header = JSON.parse(lines[0]!);
  let x = 12345;
  const noise = () => Array.from({ length: rowBytes }, () => { x = (x * 1103515245 + 12345) % 2147483648; return String.fromCharCode(33 + (x >> 16) % 90); }).join('');
  const row = { split: 'train', family: 'reverse', difficulty: 1, answer: 'x', attempts: [{ text: 'y', correct: false, reason: 'wrong' }] };
  const extra = Array.from({ length: sets }, () => JSON.stringify({ samples: { at: { iteration: 1 }, rows: [{ ...row, prompt: noise() }] } }));
  header.counts.samples += sets;
  const m = header.counts.metrics;
  return [JSON.stringify(header), ...lines.slice(1, 1 + m), ...extra, ...lines.slice(1 + m)].join('\n') + '\n';
}
for (const [sets, bytes] of [[1, 1_500_000], [1500, 1000]]) {
  await withTab(lab, async (tab) => {
    const est = () => tab.page.evaluate(async () => (await navigator.storage.estimate()).usage);
    const text = heavy(ref.file, sets, bytes);
    const r = await tab.page.evaluate((t) => window.lab.importRun(new File([t], 'heavy.jsonl')).then(() => 'ok', (e: Error) => e.message), text);
    console.log(sets, bytes, text.length, r.slice(0, 120), await est());
  }, 1_000_000);
}
await lab.close();
