/**
 * A small dependency-free SVG line plot for test results: panels stacked vertically that share
 * the x axis, one polyline per series, optional vertical markers (e.g. restarts). Non-finite
 * points are skipped.
 */
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface PlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly panels: readonly { readonly yLabel: string; readonly series: readonly PlotSeries[] }[];
  readonly markers?: readonly number[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

export function linePlotSvg(spec: PlotSpec): string {
  const width = 900;
  const panelH = 170;
  const left = 80;
  const right = 170;
  const top = 40;
  const gap = 40;
  const height = top + spec.panels.length * (panelH + gap) + 20;
  const all = spec.panels
    .flatMap((p) => p.series.flatMap((s) => s.points))
    .filter(([x]) => Number.isFinite(x));
  const x0 = Math.min(...all.map(([x]) => x));
  const x1 = Math.max(...all.map(([x]) => x), x0 + 1e-9);
  const sx = (x: number): number => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${esc(spec.title)}</text>`,
  ];
  spec.panels.forEach((panel, k) => {
    const py = top + k * (panelH + gap);
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const y0 = Math.min(0, ...ys);
    const y1 = Math.max(...ys, y0 + 1e-9) * 1.05;
    const sy = (y: number): number => py + panelH - ((y - y0) / (y1 - y0)) * panelH;
    out.push(
      `<rect x="${left}" y="${py}" width="${width - left - right}" height="${panelH}" fill="none" stroke="#888"/>`,
      `<text x="${left - 8}" y="${py + 10}" text-anchor="end">${fmt(y1)}</text>`,
      `<text x="${left - 8}" y="${py + panelH}" text-anchor="end">${fmt(y0)}</text>`,
      `<text x="14" y="${py + panelH / 2}" transform="rotate(-90 14 ${py + panelH / 2})" text-anchor="middle">${esc(panel.yLabel)}</text>`,
      `<text x="${left}" y="${py + panelH + 15}" text-anchor="middle">${fmt(x0)}</text>`,
      `<text x="${width - right}" y="${py + panelH + 15}" text-anchor="middle">${fmt(x1)} ${esc(spec.xLabel)}</text>`,
    );
    for (const m of spec.markers ?? []) {
      out.push(
        `<line x1="${sx(m)}" x2="${sx(m)}" y1="${py}" y2="${py + panelH}" stroke="#bbb" stroke-dasharray="3,3"/>`,
      );
    }
    panel.series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length] as string;
      const pts = s.points
        .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      out.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts.join(' ')}"/>`,
        `<text x="${width - right + 10}" y="${py + 15 + i * 15}" fill="${colour}">${esc(s.name)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
