/**
 * Lab benchmarks (not tests): run a preset on the CPU backend for several
 * seeds, and print the seconds per seed and what the lab's "done when"
 * criteria look at.
 *
 *   npm run bench -- self-improve [--seeds 1,2,3] [--preset classroom]
 *
 * self-improve: validation accuracy at iteration 0 and at the last
 * iteration, the gain in points, and the mean gain over seeds.
 */
import { CpuBackend } from '../src/core/backends/cpu';
import { resolveConfig } from '../src/experiments/config';
import { type SelfImproveSummary, selfImprove } from '../src/experiments/self-improve';

export async function benchSelfImprove(seeds: number[], preset: string): Promise<void> {
  const config = resolveConfig(selfImprove, preset, {});
  console.log(`self-improve, preset '${preset}', CPU backend, seeds ${seeds.join(', ')}`);
  console.log('seed   seconds   val@0   val@last   gain (points)   test@0   test@last');
  const gains: number[] = [];
  const times: number[] = [];
  for (const seed of seeds) {
    const t0 = performance.now();
    const s: SelfImproveSummary = await selfImprove.run(config, {
      seed, createBackend: async (c) => new CpuBackend(c), now: () => performance.now(), emit: () => {},
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
