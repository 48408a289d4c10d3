import { describe, expect, it } from 'vitest';
import { lineChartHtml, lineChartSvg, niceStep, svgToPng, wrapText } from './chart.js';

const chart = {
  title: 'A & B',
  xLabel: 'seconds',
  yLabel: 'accuracy',
  yMin: 0,
  yMax: 1,
  series: [
    {
      label: 'fedbuff <seed 1>',
      points: [
        { x: 0, y: 0.1 },
        { x: 10, y: 0.9 },
      ],
    },
    {
      label: 'fedavg',
      points: [
        { x: 0, y: 0.1 },
        { x: 20, y: 0.8 },
      ],
    },
  ],
  horizontalLines: [{ y: 0.9, label: '0.9' }],
  notes: ['first note', 'second note'],
};

/** PNG width and height from the IHDR chunk (bytes 16–23, big-endian). */
function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('line charts', () => {
  it('draws one path per series, scaled to the axes, with labels escaped', () => {
    const svg = lineChartSvg(chart);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('fedbuff &lt;seed 1&gt;');
    expect(svg).toContain('A &amp; B');
    expect(svg).not.toContain('<seed 1>');
    // x = 20 is the right edge of the plot (860 − 30); y = 0.8 is 80% up the 370-pixel plot.
    expect(svg).toContain('L830.0,124.0');
  });

  it('gives series that share a label one legend entry and one colour', () => {
    const svg = lineChartSvg({
      ...chart,
      series: [
        { label: 'fedbuff', points: [{ x: 0, y: 0.5 }] },
        { label: 'fedbuff', points: [{ x: 1, y: 0.6 }] },
        { label: 'fedavg', points: [{ x: 2, y: 0.7 }] },
      ],
    });
    expect(svg.match(/>fedbuff</g)).toHaveLength(1);
    expect(svg.match(/stroke="#1f77b4"/g)).toHaveLength(2);
    expect(svg.match(/stroke="#d62728"/g)).toHaveLength(1);
  });

  it('clips curves to the plot when the y range is narrower than the data', () => {
    const svg = lineChartSvg({ ...chart, yMin: 0.5 });
    expect(svg).toContain('<clipPath id="plot">');
    expect(svg.match(/clip-path="url\(#plot\)"/g)).toHaveLength(2);
  });

  it('chooses round tick steps and wraps long notes at word boundaries', () => {
    expect([niceStep(118, 8), niceStep(20, 8), niceStep(1, 10), niceStep(0.5, 10), niceStep(7, 8)]).toEqual([
      20, 5, 0.1, 0.05, 1,
    ]);
    const lines = wrapText('aa bb cc dd ee', 5);
    expect(lines).toEqual(['aa bb', 'cc dd', 'ee']);
    expect(wrapText('x'.repeat(12), 5)).toEqual(['x'.repeat(12)]);
  });

  it('puts the notes under the plot and grows the picture to fit them', () => {
    const svg = lineChartSvg(chart);
    expect(svg).toContain('height="528"');
    expect(svg).toContain('second note');
    expect(lineChartSvg({ ...chart, notes: [] })).toContain('height="480"');
  });

  it('rasterises to a PNG of the same size', () => {
    const png = svgToPng(lineChartSvg(chart));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(pngSize(png)).toEqual({ width: 860, height: 528 });
  });

  it('wraps the same SVG in a page with the title', () => {
    const html = lineChartHtml(chart);
    expect(html).toContain('<title>A &amp; B</title>');
    expect(html).toContain(lineChartSvg(chart));
  });
});
