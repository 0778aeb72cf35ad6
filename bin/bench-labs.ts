/**
 * Lab benchmarks (not tests): run a preset on the CPU backend for several
 * seeds, and print the seconds per seed and what the lab's "done when"
 * criteria look at.
 *
 *   npm run bench -- self-improve [--seeds 1,2,3] [--preset classroom]
 *   npm run bench -- collapse [--seeds 1,2,3] [--preset classroom]
 *   npm run bench -- symbiosis [--seeds 1,2,3] [--preset tiny] [--data ../shared/data/ag_news]
 *
 * self-improve: validation accuracy at iteration 0 and at the last
 * iteration, the gain in points, and the mean gain over seeds.
 *
 * collapse: per seed and mode, perplexity on real text, Distinct-2 and tail
 * mass at generation 0 and at the last generation, as the change in percent;
 * the lab's criteria (replace: perplexity up, Distinct-2 and tail mass down;
 * accumulate: each within 10% of generation 0) marked yes/no; and whether
 * the Gaussian ML variance (mean over seeds) stays inside its 10–90% band
 * around the theory curve.
 *
 * symbiosis: per seed, the seconds for all methods and each method's test
 * accuracy at generation 0 and at the last generation; then per method the
 * mean final accuracy with its 95% t-interval over the seeds, and whether
 * Real Data ends at least 25 points above chance on every seed.
 */
import { createCpuBackend } from '../src/core/backends/index';
import { resolveConfig } from '../src/experiments/config';
import { meanCI95 } from '../src/core/metrics/stats';
import { collapse } from '../src/experiments/collapse';
import { symbiosis } from '../src/experiments/symbiosis';
import { DATASET_INPUT } from '../src/experiments/symbiosis/dataset';
import { datasetInputFromFolder } from './data-folder';
import { selfImprove } from '../src/experiments/self-improve';

export async function benchSelfImprove(seeds: number[], preset: string): Promise<void> {
  const config = resolveConfig(selfImprove, preset, {});
  console.log(`self-improve, preset '${preset}', CPU backend, seeds ${seeds.join(', ')}`);
  console.log('seed   seconds   val@0   val@last   gain (points)   test@0   test@last');
  const gains: number[] = [];
  const times: number[] = [];
  for (const seed of seeds) {
    const t0 = performance.now();
    const s = await selfImprove.run(config, {
      seed, createBackend: async (c) => (await createCpuBackend(c)).backend, now: () => performance.now(), emit: () => {},
    });
    const seconds = (performance.now() - t0) / 1000;
    const first = s.iterations[0]!.accuracy;
    const last = s.iterations[s.iterations.length - 1]!.accuracy;
    const gain = 100 * (last.val - first.val);
    gains.push(gain);
    times.push(seconds);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
    console.log(`${String(seed).padStart(4)}  ${seconds.toFixed(1).padStart(8)}  ${pct(first.val)}  ${pct(last.val).padStart(9)}  ${gain.toFixed(1).padStart(14)}  ${pct(first.test)}  ${pct(last.test).padStart(9)}`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`mean gain ${mean(gains).toFixed(1)} points; seconds per seed: mean ${mean(times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}`);
}

export async function benchCollapse(seeds: number[], preset: string): Promise<void> {
  const config = resolveConfig(collapse, preset, {});
  console.log(`collapse, preset '${preset}', CPU backend, seeds ${seeds.join(', ')}; change from generation 0 to ${config.generations}`);
  console.log(`seed  seconds  mode                   ${'perplexity'.padEnd(30)}${'distinct-2'.padEnd(30)}${'tail mass'.padEnd(30)}criteria`);
  const times: number[] = [];
  const pct = (a: number, b: number) => `${b >= a ? '+' : ''}${(100 * (b / a - 1)).toFixed(1)}%`;
  const cell = (a: number, b: number) => `${a.toFixed(3)} → ${b.toFixed(3)} (${pct(a, b)})`.padEnd(30);
  for (const seed of seeds) {
    const t0 = performance.now();
    const s = await collapse.run(config, {
      seed, createBackend: async (c) => (await createCpuBackend(c)).backend, now: () => performance.now(), emit: () => {},
    });
    const seconds = (performance.now() - t0) / 1000;
    times.push(seconds);
    for (const [mode, series] of Object.entries(s.modes)) {
      const first = series![0]!;
      const last = series![series!.length - 1]!;
      const within = (a: number, b: number) => Math.abs(b / a - 1) <= 0.1;
      const verdict = mode === 'replace'
        ? `ppl up ${last.perplexity > first.perplexity ? 'yes' : 'NO'}, d2 down ${last.distinct2 < first.distinct2 ? 'yes' : 'NO'}, tail down ${last.tailMass < first.tailMass ? 'yes' : 'NO'}`
        : mode === 'accumulate'
          ? `within 10%: ppl ${within(first.perplexity, last.perplexity) ? 'yes' : 'NO'}, d2 ${within(first.distinct2, last.distinct2) ? 'yes' : 'NO'}, tail ${within(first.tailMass, last.tailMass) ? 'yes' : 'NO'}`
          : '';
      console.log(`${String(seed).padStart(4)}  ${seconds.toFixed(1).padStart(7)}  ${mode.padEnd(21)}  ${cell(first.perplexity, last.perplexity)}${cell(first.distinct2, last.distinct2)}${cell(first.tailMass, last.tailMass)}${verdict}`);
    }
    const g = s.gaussian;
    const inside = g.theory.filter((t, i) => t >= g.low[i]! && t <= g.high[i]!).length;
    const at = [0, 10, 25, g.theory.length - 1].filter((t, i, a) => t < g.theory.length && a.indexOf(t) === i);
    console.log(`      gaussian (n ${g.n}, ${g.seeds} seeds, ML): theory inside the 10–90% band at ${inside}/${g.theory.length} generations; `
      + `mean over seeds / theory: ${at.map((t) => `t=${t} ${g.variance[t]!.toFixed(3)}/${g.theory[t]!.toFixed(3)}`).join(', ')}`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`seconds per seed: mean ${mean(times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}`);
}

export async function benchSymbiosis(seeds: number[], preset: string, dataDir: string): Promise<void> {
  const config = resolveConfig(symbiosis, preset, {});
  const { input } = datasetInputFromFolder(dataDir);
  const methods = config.methods;
  console.log(`symbiosis, preset '${preset}', data ${dataDir}, CPU backend, seeds ${seeds.join(', ')}; test accuracy, generation 0 → ${config.generations}`);
  console.log(`seed  seconds  ${methods.map((m) => m.padEnd(16)).join('')}`);
  const finals: Record<string, number[]> = Object.fromEntries(methods.map((m) => [m, []]));
  const times: number[] = [];
  let chance = NaN;
  for (const seed of seeds) {
    const t0 = performance.now();
    const s = await symbiosis.run(config, {
      seed, createBackend: async (c) => (await createCpuBackend(c)).backend, now: () => performance.now(), emit: () => {}, inputs: { [DATASET_INPUT]: input },
    });
    const seconds = (performance.now() - t0) / 1000;
    times.push(seconds);
    chance = s.chance;
    const pct = (x: number) => `${(100 * x).toFixed(1)}`;
    const cells = methods.map((m) => {
      const acc = s.methods[m]!.accuracy;
      finals[m]!.push(acc[acc.length - 1]!);
      return `${pct(acc[0]!)} → ${pct(acc[acc.length - 1]!)}`.padEnd(16);
    });
    console.log(`${String(seed).padStart(4)}  ${seconds.toFixed(1).padStart(7)}  ${cells.join('')}`);
    // Which final Students answer (almost) one class for everything, as the summary words it.
    for (const line of s.summary.filter((l) => l.includes('collapsed onto one class'))) console.log(`      ${line}`);
  }
  // A t-interval needs two seeds or more; with one it is not computed, and says so.
  const interval = (ci: { low: number; high: number; n: number }) =>
    ci.n >= 2 && Number.isFinite(ci.low) ? `[${(100 * ci.low).toFixed(1)}, ${(100 * ci.high).toFixed(1)}]` : '(no interval: one seed)';
  for (const m of methods) {
    const ci = meanCI95(finals[m]!);
    console.log(`${m.padEnd(10)} final ${(100 * ci.mean).toFixed(1)}% ${interval(ci)} over ${ci.n} seed${ci.n === 1 ? '' : 's'} (chance ${(100 * chance).toFixed(1)}%)`);
  }
  // The paired differences the summary reports, over seeds (whatever their sign).
  for (const m of ['symbiosis', 'symbiosis-balanced'].filter((x) => finals[x] && finals.static)) {
    const ci = meanCI95(finals[m]!.map((x, i) => x - finals.static![i]!));
    console.log(`${m} − static: ${(100 * ci.mean).toFixed(1)} points ${interval(ci)} over ${ci.n} seed${ci.n === 1 ? '' : 's'}`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const goal = (name: string, xs: number[] | undefined, floor: number) =>
    `${name} mean ≥ ${(100 * floor).toFixed(1)}%: ${xs ? `${mean(xs) >= floor ? 'yes' : 'NO'} (${(100 * mean(xs)).toFixed(1)}%)` : 'not run'}`;
  console.log(`${goal('Real', finals.real, 0.7)}; ${goal('Static', finals.static, chance + 0.1)}; seconds per seed: mean ${mean(times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}`);
}
