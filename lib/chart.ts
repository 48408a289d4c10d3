/**
 * An SVG line chart (accuracy against wall time for one or more runs), written as a PNG and as a
 * self-contained HTML page (no scripts, no network). Used by run reports and benchmark summaries.
 * The SVG is built by hand so the chart needs no browser; resvg rasterises it.
 */
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

export interface Series {
  readonly label: string;
  readonly points: readonly { x: number; y: number }[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly yMin?: number;
  readonly yMax?: number;
  readonly horizontalLines?: readonly { y: number; label: string }[];
  /** Lines of text under the chart (figures worth reading next to the curve). */
  readonly notes?: readonly string[];
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const NOTE_LINE_HEIGHT = 18;

export function lineChartSvg(options: LineChart): string {
  const width = 860;
  const plotHeight = 480;
  const notes = options.notes ?? [];
  const height = plotHeight + (notes.length > 0 ? notes.length * NOTE_LINE_HEIGHT + 12 : 0);
  const m = { left: 70, right: 30, top: 50, bottom: 60 };
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = options.series.flatMap((s) => s.points.map((p) => p.y));
  const xMax = Math.max(1e-9, ...xs);
  const yMin = options.yMin ?? Math.min(0, ...ys);
  const yMax = options.yMax ?? Math.max(1, ...ys);
  const sx = (x: number) => m.left + (x / xMax) * (width - m.left - m.right);
  const sy = (y: number) =>
    plotHeight - m.bottom - ((y - yMin) / (yMax - yMin || 1)) * (plotHeight - m.top - m.bottom);
  const ticks = (lo: number, hi: number, n: number) =>
    Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
  const parts: string[] = [];
  for (const t of ticks(0, xMax, 8)) {
    parts.push(
      `<line x1="${sx(t)}" y1="${plotHeight - m.bottom}" x2="${sx(t)}" y2="${m.top}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${sx(t)}" y="${plotHeight - m.bottom + 18}" text-anchor="middle" font-size="12">${t.toFixed(xMax < 10 ? 1 : 0)}</text>`,
    );
  }
  for (const t of ticks(yMin, yMax, 10)) {
    parts.push(`<line x1="${m.left}" y1="${sy(t)}" x2="${width - m.right}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(
      `<text x="${m.left - 8}" y="${sy(t) + 4}" text-anchor="end" font-size="12">${t.toFixed(2)}</text>`,
    );
  }
  for (const line of options.horizontalLines ?? []) {
    parts.push(
      `<line x1="${m.left}" y1="${sy(line.y)}" x2="${width - m.right}" y2="${sy(line.y)}" stroke="#999" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${width - m.right - 4}" y="${sy(line.y) - 6}" text-anchor="end" font-size="12" fill="#666">${escape(line.label)}</text>`,
    );
  }
  options.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const path = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    parts.push(
      `<rect x="${m.left + 10}" y="${m.top + 8 + i * 18}" width="12" height="12" fill="${colour}"/>`,
    );
    parts.push(
      `<text x="${m.left + 28}" y="${m.top + 18 + i * 18}" font-size="12">${escape(s.label)}</text>`,
    );
  });
  parts.push(
    `<line x1="${m.left}" y1="${plotHeight - m.bottom}" x2="${width - m.right}" y2="${plotHeight - m.bottom}" stroke="#333"/>`,
  );
  parts.push(
    `<line x1="${m.left}" y1="${plotHeight - m.bottom}" x2="${m.left}" y2="${m.top}" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${(m.left + width - m.right) / 2}" y="${plotHeight - 15}" text-anchor="middle" font-size="13">${escape(options.xLabel)}</text>`,
  );
  parts.push(
    `<text x="18" y="${(m.top + plotHeight - m.bottom) / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${(m.top + plotHeight - m.bottom) / 2})">${escape(options.yLabel)}</text>`,
  );
  parts.push(
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${escape(options.title)}</text>`,
  );
  notes.forEach((note, i) => {
    parts.push(
      `<text x="${m.left}" y="${plotHeight + 6 + (i + 1) * NOTE_LINE_HEIGHT}" font-size="12" fill="#333">${escape(note)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}"><rect width="${width}" height="${height}" fill="#fff"/>${parts.join('')}</svg>`;
}

export function lineChartHtml(options: LineChart): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(options.title)}</title></head><body>
${lineChartSvg(options)}
</body></html>
`;
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, {
    background: '#fff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
}

/** Writes `<base>.png` and `<base>.html`; returns both paths. */
export function writeLineChart(base: string, options: LineChart): { png: string; html: string } {
  const svg = lineChartSvg(options);
  const png = `${base}.png`;
  const html = `${base}.html`;
  writeFileSync(png, svgToPng(svg));
  writeFileSync(html, lineChartHtml(options));
  return { png, html };
}
