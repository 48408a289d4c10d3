/**
 * An SVG line chart (accuracy against wall time for one or more runs), written as a PNG and as a
 * self-contained HTML page (no scripts, no network). Used by run reports and benchmark summaries.
 * The SVG is built by hand so the chart needs no browser; resvg rasterises it.
 */
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

export interface Series {
  /** Series that share a label share one legend entry (e.g. one strategy over several seeds). */
  readonly label: string;
  readonly points: readonly { x: number; y: number }[];
  /** Defaults to one colour per distinct label. */
  readonly colour?: string;
  /** Drawn dashed (e.g. a baseline beside its solid counterpart). */
  readonly dashed?: boolean;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly yMin?: number;
  readonly yMax?: number;
  readonly horizontalLines?: readonly { y: number; label: string }[];
  /** Marks an x (an event: a fault appearing, a broker lost). */
  readonly verticalLines?: readonly { x: number; label: string }[];
  /** Lines of text under the chart (figures worth reading next to the curve), wrapped to fit. */
  readonly notes?: readonly string[];
  /** Where the legend sits: bottom right (default, where rising curves leave room) or top left. */
  readonly legend?: 'bottom-right' | 'top-left';
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const WIDTH = 860;
const PLOT_HEIGHT = 480;
const MARGIN = { left: 70, right: 30, top: 50, bottom: 60 };
const NOTE_LINE_HEIGHT = 18;
/** About what fits across the picture at 12 px. */
const NOTE_CHARACTERS = 118;

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** A round step (1, 2 or 5 × 10ᵏ) giving at most `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9));
  return step ?? 10 * power;
}

export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function lineChartSvg(options: LineChart): string {
  const m = MARGIN;
  const notes = (options.notes ?? []).flatMap((n) => wrapText(n, NOTE_CHARACTERS));
  const height = PLOT_HEIGHT + (notes.length > 0 ? notes.length * NOTE_LINE_HEIGHT + 12 : 0);
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = options.series.flatMap((s) => s.points.map((p) => p.y));
  const xStep = niceStep(Math.max(1e-9, ...xs), 8);
  const xMax = Math.ceil(Math.max(1e-9, ...xs) / xStep - 1e-9) * xStep;
  const yMin = options.yMin ?? Math.min(0, ...ys);
  const yMax = options.yMax ?? Math.max(1, ...ys);
  const bottom = PLOT_HEIGHT - m.bottom;
  const right = WIDTH - m.right;
  const sx = (x: number) => m.left + (x / xMax) * (right - m.left);
  const sy = (y: number) => bottom - ((y - yMin) / (yMax - yMin || 1)) * (bottom - m.top);
  const decimals = (step: number) => Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const parts: string[] = [];

  for (let x = 0; x <= xMax + xStep / 2; x += xStep) {
    parts.push(`<line x1="${sx(x)}" y1="${bottom}" x2="${sx(x)}" y2="${m.top}" stroke="#eee"/>`);
    parts.push(
      `<text x="${sx(x)}" y="${bottom + 18}" text-anchor="middle" font-size="12">${x.toFixed(decimals(xStep))}</text>`,
    );
  }
  const yStep = niceStep(yMax - yMin || 1, 10);
  for (let y = Math.ceil(yMin / yStep - 1e-9) * yStep; y <= yMax + yStep / 2; y += yStep) {
    parts.push(`<line x1="${m.left}" y1="${sy(y)}" x2="${right}" y2="${sy(y)}" stroke="#eee"/>`);
    parts.push(
      `<text x="${m.left - 8}" y="${sy(y) + 4}" text-anchor="end" font-size="12">${y.toFixed(Math.max(2, decimals(yStep)))}</text>`,
    );
  }
  for (const line of options.horizontalLines ?? []) {
    parts.push(
      `<line x1="${m.left}" y1="${sy(line.y)}" x2="${right}" y2="${sy(line.y)}" stroke="#999" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${right - 4}" y="${sy(line.y) - 6}" text-anchor="end" font-size="12" fill="#666">${escape(line.label)}</text>`,
    );
  }

  for (const line of options.verticalLines ?? []) {
    parts.push(
      `<line x1="${sx(line.x)}" y1="${bottom}" x2="${sx(line.x)}" y2="${m.top}" stroke="#999" stroke-dasharray="2 3"/>`,
    );
    parts.push(
      `<text x="${sx(line.x) + 4}" y="${m.top + 14}" font-size="12" fill="#666">${escape(line.label)}</text>`,
    );
  }

  const labels = [...new Set(options.series.map((s) => s.label))];
  const colourOf = (s: Series) => s.colour ?? (COLOURS[labels.indexOf(s.label) % COLOURS.length] as string);
  // Curves are clipped to the plot, so a y range narrower than the data stays readable.
  parts.push(
    `<clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${right - m.left}" height="${bottom - m.top}"/></clipPath>`,
  );
  for (const s of options.series) {
    const path = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${colourOf(s)}" stroke-width="1.5" stroke-opacity="0.85"${s.dashed ? ' stroke-dasharray="6 3"' : ''} clip-path="url(#plot)"/>`,
    );
  }
  const legendWidth = 12 + 8 + 7 * Math.max(...labels.map((l) => l.length), 0) + 16;
  const topLeft = options.legend === 'top-left';
  const legendTop = topLeft ? m.top + 16 : bottom - 12 - labels.length * 18;
  const legendLeft = topLeft ? m.left + 10 : right - legendWidth;
  if (labels.length > 0)
    parts.push(
      `<rect x="${legendLeft - 10}" y="${legendTop - 6}" width="${legendWidth}" height="${labels.length * 18 + 8}" fill="#fff" fill-opacity="0.9" stroke="#ccc"/>`,
    );
  labels.forEach((label, i) => {
    const series = options.series.find((s) => s.label === label) as Series;
    const colour = colourOf(series);
    const x = legendLeft;
    parts.push(
      series.dashed
        ? `<line x1="${x}" y1="${legendTop + i * 18 + 6}" x2="${x + 12}" y2="${legendTop + i * 18 + 6}" stroke="${colour}" stroke-width="2" stroke-dasharray="4 2"/>`
        : `<rect x="${x}" y="${legendTop + i * 18}" width="12" height="12" fill="${colour}"/>`,
    );
    parts.push(`<text x="${x + 20}" y="${legendTop + 10 + i * 18}" font-size="12">${escape(label)}</text>`);
  });

  parts.push(`<line x1="${m.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${m.left}" y1="${bottom}" x2="${m.left}" y2="${m.top}" stroke="#333"/>`);
  parts.push(
    `<text x="${(m.left + right) / 2}" y="${PLOT_HEIGHT - 15}" text-anchor="middle" font-size="13">${escape(options.xLabel)}</text>`,
  );
  const middle = (m.top + bottom) / 2;
  parts.push(
    `<text x="18" y="${middle}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${middle})">${escape(options.yLabel)}</text>`,
  );
  parts.push(
    `<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${escape(options.title)}</text>`,
  );
  notes.forEach((note, i) => {
    parts.push(
      `<text x="${m.left}" y="${PLOT_HEIGHT + 6 + (i + 1) * NOTE_LINE_HEIGHT}" font-size="12" fill="#333">${escape(note)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}"><rect width="${WIDTH}" height="${height}" fill="#fff"/>${parts.join('')}</svg>`;
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
