/**
 * A grouped bar chart as a standalone SVG string, for benchmark results under
 * bench/results/ (no dependency: a few rectangles and labels).
 */

/** One group of bars (one trace at one size). */
export interface BarGroup {
  label: string;
  /** One value per series, in series order. */
  values: number[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#7f7f7f', '#2ca02c'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Renders `groups` with one bar per series; values are shown as given (e.g. miss ratios). */
export function barChartSvg(title: string, yLabel: string, series: string[], groups: BarGroup[]): string {
  const barW = 14;
  const gap = 18;
  const groupW = series.length * barW + gap;
  const left = 60;
  const top = 40;
  const plotH = 260;
  const width = left + groups.length * groupW + 20;
  const height = top + plotH + 150;
  const max = Math.max(...groups.flatMap((g) => g.values), 1e-9);
  const yMax = Math.ceil(max * 10) / 10;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">${esc(title)}</text>`,
    `<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  for (let t = 0; t <= 5; t++) {
    const v = (yMax * t) / 5;
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  groups.forEach((g, i) => {
    const x0 = left + i * groupW + gap / 2;
    g.values.forEach((v, j) => {
      parts.push(`<rect x="${x0 + j * barW}" y="${y(v)}" width="${barW - 2}" height="${top + plotH - y(v)}" fill="${COLORS[j % COLORS.length]}"><title>${esc(`${g.label} ${series[j]}: ${v.toFixed(4)}`)}</title></rect>`);
    });
    const cx = x0 + (series.length * barW) / 2;
    parts.push(`<text transform="translate(${cx} ${top + plotH + 10}) rotate(50)" text-anchor="start">${esc(g.label)}</text>`);
  });
  series.forEach((s, j) => {
    const lx = left + j * 150;
    parts.push(`<rect x="${lx}" y="${height - 20}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${height - 10}">${esc(s)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
