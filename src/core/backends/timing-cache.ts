/**
 * Where "auto" keeps its backend measurements between runs: the Cache API
 * (the lab worker writes it; the device panel reads the same cache from the
 * page), one entry per device, model shape and batch. Where there is none
 * (Node, a browser that refuses), runs just measure again.
 */
import type { BackendMeasurement, MeasureCache } from './measure';

export const TIMING_CACHE = 'symbiosis-lab-backend-timings-v1';
/** Cache API keys are URLs: the measurement's key goes in the query of this made-up one. */
const urlOf = (key: string) => `https://symbiosis-lab.invalid/timings?key=${encodeURIComponent(key)}`;

const cacheStorage = (): CacheStorage | null => (globalThis as { caches?: CacheStorage }).caches ?? null;

export const timingCache: MeasureCache = {
  async get(key) {
    try {
      const hit = await (await cacheStorage()?.open(TIMING_CACHE))?.match(urlOf(key));
      return hit ? ((await hit.json()) as BackendMeasurement) : undefined;
    } catch {
      return undefined;
    }
  },
  async set(key, value) {
    try {
      await (await cacheStorage()?.open(TIMING_CACHE))?.put(urlOf(key), new Response(JSON.stringify(value), { headers: { 'Content-Type': 'application/json' } }));
    } catch {
      // Not kept: the next run measures again.
    }
  },
};

/** Every measurement kept, newest first (for the device panel). */
export async function listMeasurements(): Promise<BackendMeasurement[]> {
  try {
    const cache = await cacheStorage()?.open(TIMING_CACHE);
    if (!cache) return [];
    const all = await Promise.all((await cache.keys()).map(async (req) => (await (await cache.match(req))?.json()) as BackendMeasurement));
    return all.filter(Boolean).sort((a, b) => b.measuredAt.localeCompare(a.measuredAt));
  } catch {
    return [];
  }
}
