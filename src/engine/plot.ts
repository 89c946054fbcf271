/**
 * Curves of a run's `vis_data/scalars.json` as an SVG (one panel per key),
 * for tools/analyze_logs.ts.
 */

/** One curve: a name and its points. */
export interface Series {
  name: string;
  points: [number, number][];
}

/** Reads a JSON-lines scalar log; bad lines are errors naming the line. */
export function readScalars(text: string, file = 'log'): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as Record<string, number>);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`, { cause: e });
    }
  });
  return out;
}

/**
 * The points of `key` in a scalar log: training keys against `iter`, metric
 * keys against `step` (the epoch, or the iteration of iteration-based runs).
 * `key` matches a full name or the part after a `/` (`bbox_mAP` matches `coco/bbox_mAP`).
 */
export function seriesOf(
  records: Record<string, number>[],
  key: string,
): { name: string; points: [number, number][] } | undefined {
  const names = new Set(records.flatMap((r) => Object.keys(r)));
  const name = names.has(key) ? key : [...names].find((n) => n.split('/').pop() === key);
  if (!name) return undefined;
  const points: [number, number][] = [];
  for (const r of records) {
    const y = r[name];
    if (typeof y !== 'number') continue;
    const x = 'loss' in r || 'lr' in r ? r.iter : (r.step ?? r.epoch);
    if (typeof x === 'number') points.push([x, y]);
  }
  return { name, points };
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const COLOURS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
];

const fmt = (v: number): string =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));

/**
 * An SVG with one panel per key; each panel holds that key's curve from every log.
 *
 * @example
 * ```ts
 * const svg = plotPanels([{ title: 'loss', xLabel: 'iter', series: [{ name: 'run1', points: [[1, 2], [2, 1]] }] }]);
 * ```
 */
export function plotPanels(
  panels: { title: string; xLabel: string; series: Series[] }[],
  options: { width?: number; panelHeight?: number; title?: string } = {},
): string {
  const W = options.width ?? 800;
  const H = options.panelHeight ?? 300;
  const top = options.title ? 30 : 0;
  const m = { l: 70, r: 20, t: 30, b: 45 };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${top + H * panels.length}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  if (options.title)
    parts.push(
      `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(options.title)}</text>`,
    );
  panels.forEach((p, pi) => {
    const y0 = top + pi * H;
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;
    const all = p.series
      .flatMap((s) => s.points)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    let [xlo, xhi] = all.length
      ? [Math.min(...all.map((q) => q[0])), Math.max(...all.map((q) => q[0]))]
      : [0, 1];
    let [ylo, yhi] = all.length
      ? [Math.min(...all.map((q) => q[1])), Math.max(...all.map((q) => q[1]))]
      : [0, 1];
    if (xhi === xlo) [xlo, xhi] = [xlo - 1, xhi + 1];
    if (yhi === ylo) [ylo, yhi] = [ylo - Math.abs(ylo || 1) * 0.1, yhi + Math.abs(yhi || 1) * 0.1];
    const pad = (yhi - ylo) * 0.05;
    ylo -= pad;
    yhi += pad;
    const sx = (x: number) => m.l + ((x - xlo) / (xhi - xlo)) * pw;
    const sy = (y: number) => y0 + m.t + ph - ((y - ylo) / (yhi - ylo)) * ph;
    parts.push(
      `<text x="${m.l + pw / 2}" y="${y0 + 18}" text-anchor="middle" font-size="14">${esc(p.title)}</text>`,
    );
    parts.push(
      `<rect x="${m.l}" y="${y0 + m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    );
    for (const t of niceTicks(xlo, xhi)) {
      parts.push(
        `<line x1="${sx(t)}" y1="${y0 + m.t + ph}" x2="${sx(t)}" y2="${y0 + m.t + ph + 5}" stroke="#333"/>`,
      );
      parts.push(
        `<text x="${sx(t)}" y="${y0 + m.t + ph + 18}" text-anchor="middle">${fmt(t)}</text>`,
      );
    }
    for (const t of niceTicks(ylo, yhi)) {
      parts.push(
        `<line x1="${m.l - 5}" y1="${sy(t)}" x2="${m.l + pw}" y2="${sy(t)}" stroke="#ddd"/>`,
      );
      parts.push(`<text x="${m.l - 8}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
    }
    parts.push(
      `<text x="${m.l + pw / 2}" y="${y0 + H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`,
    );
    p.series.forEach((s, si) => {
      const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const c = COLOURS[si % COLOURS.length];
      if (pts.length > 1)
        parts.push(
          `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
        );
      for (const [x, y] of pts.length <= 50 ? pts : [])
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${c}"/>`,
        );
      parts.push(
        `<line x1="${m.l + pw - 150}" y1="${y0 + m.t + 14 + si * 16}" x2="${m.l + pw - 130}" y2="${y0 + m.t + 14 + si * 16}" stroke="${c}" stroke-width="2"/>`,
      );
      parts.push(
        `<text x="${m.l + pw - 125}" y="${y0 + m.t + 18 + si * 16}">${esc(s.name)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}
