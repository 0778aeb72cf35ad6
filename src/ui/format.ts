/** Number formatting shared by the lab pages. A value that was not computed is "—", never 0. */

/** True for a number that was computed (not NaN, ±Infinity, null or missing). */
export function isValue(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** The number, or null when it was not computed (NaN/null from a JSONL file, a missing key). */
export function valueOrNull(x: unknown): number | null {
  return isValue(x) ? x : null;
}

/** "42.5%" for 0.425; "—" when not computed. */
export function formatPercent(x: unknown, digits = 1): string {
  return isValue(x) ? `${(100 * x).toFixed(digits)}%` : '—';
}

/** A plain number to `digits` significant digits; "—" when not computed. */
export function formatNumber(x: unknown, digits = 4): string {
  return isValue(x) ? Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 8 }) : '—';
}

/** "45 s", "3 min 20 s", "1 h 5 min". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 60) return `${Math.max(1, Math.ceil(s))} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** "1.2 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** "2024-05-01 14:03" in the visitor's time zone. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Save a Blob as a download named `fileName`. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * "mean [low, high]" with each number written by `f` (and `unit` after the
 * mean); just the mean where a bound is missing (one replicate); "—" with no
 * mean. For a value and its 95% interval in a table.
 */
export function formatInterval(x: { mean: number | null; low: number | null; high: number | null }, f: (v: number) => string, unit = ''): string {
  if (x.mean === null) return '—';
  return x.low === null || x.high === null ? `${f(x.mean)}${unit}` : `${f(x.mean)}${unit} [${f(x.low)}, ${f(x.high)}]`;
}


/** The values a metric can take: [0, 1] for a share, [0, Infinity] for a count or a size. */
export type Domain = readonly [number, number];

export const SHARE: Domain = [0, 1];
export const NON_NEGATIVE: Domain = [0, Infinity];

/**
 * An interval clipped to what its metric can be: a t-interval over a few
 * replicates of a count near 0 reaches below 0, of a share near 1 above 1;
 * the part outside is impossible, so it is not shown. Bounds that are
 * missing stay missing.
 */
export function clipInterval<T extends { low: number | null; high: number | null }>(x: T, domain: Domain | null): T {
  if (!domain) return x;
  const clip = (v: number | null) => (v === null ? null : Math.min(domain[1], Math.max(domain[0], v)));
  return { ...x, low: clip(x.low), high: clip(x.high) };
}

/** The domain of a difference of two values of `domain` (a change of a share lies in [−1, 1]). */
export function differenceDomain(domain: Domain | null): Domain | null {
  return domain ? [domain[0] - domain[1], domain[1] - domain[0]] : null;
}
