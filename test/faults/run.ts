/**
 * `npm run faults`: the fault-injection suite in real headless Chromium
 * (docs/faults.md). Each case runs something small, injects ONE fault at a
 * seeded point (FAULTS_SEED, default 1), and checks that nothing was lost.
 * Prints one line per injected fault and
 *   faults: N injected, N survived, L runs lost, R records lost
 * and exits non-zero when a fault was not survived or anything was lost.
 * FAULTS_ONLY=a,b runs the cases whose names contain one of the
 * comma-separated substrings.
 */
import { startLab } from '../browser/harness';
import { DATA_CASES } from './cases/data';
import { MODEL_CASES } from './cases/model';
import { RUN_CASES } from './cases/runs';
import { SOAK_CASES } from './cases/soak';
import { STORAGE_CASES } from './cases/storage';
import { TAB_CASES } from './cases/tabs';
import { type Case, type FaultResult, Ledger, References, caseRng } from './suite';

const CASES: Case[] = [...RUN_CASES, ...TAB_CASES, ...STORAGE_CASES, ...DATA_CASES, ...MODEL_CASES, ...SOAK_CASES];

const seed = Number(process.env.FAULTS_SEED ?? 1);
const only = (process.env.FAULTS_ONLY ?? '').split(',').filter((x) => x !== '');

function line(r: FaultResult): void {
  const mark = r.survived ? 'ok  ' : 'LOST';
  console.log(`${mark} ${r.name} — ${r.detail} (${r.seconds.toFixed(1)} s)`);
}

const t0 = performance.now();
console.log(`faults: seed ${seed}${only.length ? `, cases matching '${only.join("' or '")}'` : ''}`);
const lab = await startLab({
  // Cross-origin isolation lets the soak case measure memory (performance.measureUserAgentSpecificMemory).
  headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' },
  args: ['--enable-blink-features=ForceEagerMeasureMemory'],
});
const ledger = new Ledger(line);
const references = new References(lab);
try {
  for (const [i, c] of CASES.entries()) {
    if (only.length && !only.some((o) => c.name.includes(o))) continue;
    const before = ledger.results.length;
    try {
      await c.run({ lab, ledger, rng: caseRng(seed, i), references, extras: {} });
    } catch (e) {
      // A case that broke before injecting counts as a fault not survived.
      await ledger.fault(c.name, () => Promise.reject(e));
    }
    if (ledger.results.length === before) await ledger.fault(c.name, () => Promise.reject(new Error('the case injected nothing')));
  }
} finally {
  await lab.close();
}

const r = ledger.results;
const survived = r.filter((x) => x.survived).length;
const runsLost = r.reduce((a, x) => a + x.runsLost, 0);
const recordsLost = r.reduce((a, x) => a + x.recordsLost, 0);
console.log(`faults: ${r.length} injected, ${survived} survived, ${runsLost} runs lost, ${recordsLost} records lost (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
process.exit(survived === r.length && runsLost === 0 && recordsLost === 0 ? 0 : 1);
