/**
 * Figures and tables out of the page: a chart as SVG (vector, drawn from the
 * uPlot instance's scales, ticks and data: title, axis titles, grid, bands,
 * lines, reference line and legend) or as PNG (that SVG rasterised at twice
 * the size), and a table as CSV (RFC 4180: comma-separated, quoted where a
 * cell holds a comma, quote or line break). Used by ExportMenu.
 */
import type uPlot from 'uplot';

/** What a chart shows besides its data: the words and styles the SVG needs. */
export interface ChartMeta {
  title: string;
  xLabel: string;
  yLabel: string;
  /** uPlot series 1…n drawn as lines, in order (their colour and dash). */
  lines: { index: number; label: string; color: string; dash: number[] | null }[];
  /** A dashed horizontal line: its series index and label. */
  reference: { index: number; label: string } | null;
  /** Shaded regions: the series indices of their high and low edges. */
  bands: { high: number; low: number; label: string; color: string; legend: boolean }[];
}

const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface AxisInternals {
  _splits?: number[] | null;
  _values?: (string | number | null)[] | null;
}

/** The chart as an SVG document. */
export function chartSvg(u: uPlot, meta: ChartMeta): string {
  const W = u.width;
  const top = 44; // title and y-axis title above the plot
  const legendItems = [
    ...meta.lines.map((l) => ({ label: l.label, color: l.color, dash: l.dash, band: false })),
    ...(meta.reference ? [{ label: meta.reference.label, color: '#64748b', dash: [6, 4], band: false }] : []),
    ...meta.bands.filter((b) => b.legend).map((b) => ({ label: b.label, color: b.color, dash: null, band: true })),
  ];
  // Legend rows: items laid left to right, wrapped at the chart's width (about 7 px per character).
  const rows: { x: number; item: (typeof legendItems)[number] }[][] = [[]];
  let cursor = 12;
  for (const item of legendItems) {
    const w = 28 + 7 * item.label.length + 16;
    if (cursor + w > W && rows.at(-1)!.length > 0) {
      rows.push([]);
      cursor = 12;
    }
    rows.at(-1)!.push({ x: cursor, item });
    cursor += w;
  }
  const legendH = legendItems.length > 0 ? rows.length * 20 + 8 : 0;
  const H = top + u.height + legendH;
  const ratio = typeof devicePixelRatio === 'number' && devicePixelRatio > 0 ? devicePixelRatio : 1;
  const plot = { left: u.bbox.left / ratio, top: u.bbox.top / ratio, width: u.bbox.width / ratio, height: u.bbox.height / ratio };
  const X = (v: number) => plot.left + u.valToPos(v, 'x');
  const Y = (v: number) => top + plot.top + u.valToPos(v, 'y');
  const xs = u.data[0] as ArrayLike<number>;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${esc(FONT)}">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="18" font-size="14" font-weight="600" fill="#0f172a">${esc(meta.title)}</text>`);
  if (meta.yLabel) out.push(`<text x="12" y="38" font-size="12" fill="#334155">${esc(meta.yLabel)}</text>`);
  out.push(`<clipPath id="plot"><rect x="${plot.left}" y="${top + plot.top}" width="${plot.width}" height="${plot.height}"/></clipPath>`);

  // Grid and tick labels from the axes uPlot drew.
  const [xAxis, yAxis] = u.axes as (uPlot.Axis & AxisInternals)[];
  const xSplits = xAxis?._splits ?? [];
  const ySplits = yAxis?._splits ?? [];
  ySplits.forEach((v, i) => {
    const y = Y(v);
    if (!Number.isFinite(y)) return;
    out.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y}" y2="${y}" stroke="#e2e8f0"/>`);
    const label = yAxis?._values?.[i];
    if (label !== null && label !== undefined && label !== '') {
      out.push(`<text x="${plot.left - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="#475569">${esc(String(label))}</text>`);
    }
  });
  xSplits.forEach((v, i) => {
    const x = X(v);
    if (!Number.isFinite(x)) return;
    out.push(`<line x1="${x}" x2="${x}" y1="${top + plot.top}" y2="${top + plot.top + plot.height}" stroke="#e2e8f0"/>`);
    const label = xAxis?._values?.[i];
    if (label !== null && label !== undefined && label !== '') {
      out.push(`<text x="${x}" y="${top + plot.top + plot.height + 16}" font-size="11" text-anchor="middle" fill="#475569">${esc(String(label))}</text>`);
    }
  });
  if (meta.xLabel) {
    out.push(`<text x="${plot.left + plot.width / 2}" y="${top + u.height - 6}" font-size="12" text-anchor="middle" fill="#334155">${esc(meta.xLabel)}</text>`);
  }

  const points = (index: number) => {
    const ys = u.data[index] as ArrayLike<number | null | undefined>;
    const pts: [number, number][] = [];
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i];
      if (y === null || y === undefined || !Number.isFinite(y)) continue;
      const px = X(xs[i]!);
      const py = Y(y);
      if (Number.isFinite(px) && Number.isFinite(py)) pts.push([px, py]);
    }
    return pts;
  };
  const path = (pts: [number, number][]) => pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(2)},${y.toFixed(2)}`).join('');

  out.push('<g clip-path="url(#plot)">');
  for (const b of meta.bands) {
    const high = points(b.high);
    const low = points(b.low).reverse();
    if (high.length > 0 && low.length > 0) out.push(`<path d="${path([...high, ...low])}Z" fill="${b.color}" fill-opacity="0.15" stroke="none"/>`);
  }
  if (meta.reference) {
    out.push(`<path d="${path(points(meta.reference.index))}" fill="none" stroke="#64748b" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  for (const l of meta.lines) {
    const pts = points(l.index);
    if (pts.length === 0) continue;
    out.push(`<path d="${path(pts)}" fill="none" stroke="${l.color}" stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash.join(' ')}"` : ''}/>`);
    if (pts.length < 60) for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="2.5" fill="#ffffff" stroke="${l.color}"/>`);
  }
  out.push('</g>');
  out.push(`<rect x="${plot.left}" y="${top + plot.top}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#cbd5e1"/>`);

  rows.forEach((row, r) => {
    const y = top + u.height + 14 + r * 20;
    for (const { x, item } of row) {
      if (item.band) out.push(`<rect x="${x}" y="${y - 6}" width="22" height="10" fill="${item.color}" fill-opacity="0.25"/>`);
      else out.push(`<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${item.color}" stroke-width="2"${item.dash ? ` stroke-dasharray="${item.dash.join(' ')}"` : ''}/>`);
      out.push(`<text x="${x + 28}" y="${y + 4}" font-size="12" fill="#0f172a">${esc(item.label)}</text>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

/** An SVG document rasterised to a PNG at `scale` × its size. */
export async function svgToPng(svg: string, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(img.naturalWidth * scale);
    canvas.height = Math.round(img.naturalHeight * scale);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser gives no 2D canvas to draw the PNG on');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be encoded'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** One CSV cell (RFC 4180). */
function cell(x: string): string {
  return /[",\r\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x;
}

/** Rows of cells as CSV text, CRLF line ends. */
export function toCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/**
 * A rendered table's cells, row by row (the header rows first): each cell's
 * `data-csv` where it has one (e.g. the plain number behind "53.2% [48.8,
 * 57.5]"), else its text with runs of white space made one space. A cell
 * spanning columns is repeated, so every row has the header's width.
 */
export function tableRows(table: HTMLTableElement): string[][] {
  return [...table.rows].map((tr) =>
    [...tr.cells].flatMap((td) => {
      const text = td.dataset.csv ?? (td.textContent ?? '').replace(/\s+/g, ' ').trim();
      return Array.from({ length: td.colSpan || 1 }, () => text);
    }),
  );
}

/** A file-name part from a title: "Test accuracy per generation" → "test-accuracy-per-generation". */
export function slug(title: string): string {
  return title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'chart';
}

/** A rendered table as a CSV file (tableRows). */
export function tableCsv(table: HTMLTableElement | null | undefined): Blob {
  if (!table) throw new Error('the table is not shown');
  return new Blob([toCsv(tableRows(table))], { type: 'text/csv' });
}
