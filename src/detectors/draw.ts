/**
 * Drawing detections and training curves as images (SVG rendered by sharp),
 * for the demo and tools/infer.ts.
 */
import sharp from 'sharp';
import type { InstanceData } from '../heads/types.js';

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990'];
const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The image file with its detections (score >= `scoreThr`) drawn as boxes
 * labelled `class score`; PNG or JPEG bytes by `format`.
 *
 * @example
 * ```ts
 * const png = await drawDetections('data/synthetic/JPEGImages/000001.jpg', pred.predInstances, ['circle', 'square'], { scoreThr: 0.3 });
 * ```
 */
export async function drawDetections(
  image: string | Buffer,
  det: InstanceData,
  classes: readonly string[],
  opts: { scoreThr?: number; scale?: number; format?: 'png' | 'jpeg'; gt?: { bboxes: Float32Array } } = {},
): Promise<Buffer> {
  const scale = opts.scale ?? 1;
  let img = sharp(image);
  const meta = await img.metadata();
  const w = Math.round((meta.width ?? 0) * scale);
  const h = Math.round((meta.height ?? 0) * scale);
  if (scale !== 1) img = sharp(await img.resize(w, h, { kernel: 'nearest' }).toBuffer());
  const parts: string[] = [];
  const font = Math.max(10, Math.round(11 * Math.max(1, scale / 2)));
  if (opts.gt) {
    const g = opts.gt.bboxes;
    for (let i = 0; i < g.length / 4; i++) {
      const [x1, y1, x2, y2] = [g[4 * i]! * scale, g[4 * i + 1]! * scale, g[4 * i + 2]! * scale, g[4 * i + 3]! * scale];
      parts.push(`<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="#ffffff" stroke-width="1" stroke-dasharray="3,3"/>`);
    }
  }
  for (let i = 0; i < det.scores.length; i++) {
    if (det.scores[i]! < (opts.scoreThr ?? 0.3)) continue;
    const [x1, y1, x2, y2] = [det.bboxes[4 * i]! * scale, det.bboxes[4 * i + 1]! * scale, det.bboxes[4 * i + 2]! * scale, det.bboxes[4 * i + 3]! * scale];
    const color = PALETTE[det.labels[i]! % PALETTE.length]!;
    const text = `${classes[det.labels[i]!] ?? det.labels[i]} ${det.scores[i]!.toFixed(2)}`;
    const ty = y1 > font + 2 ? y1 - 2 : y1 + font + 1;
    parts.push(`<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<rect x="${x1}" y="${ty - font}" width="${text.length * font * 0.6 + 4}" height="${font + 2}" fill="${color}"/>`);
    parts.push(`<text x="${x1 + 2}" y="${ty - 1}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${esc(text)}</text>`);
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${parts.join('')}</svg>`);
  const out = img.composite([{ input: svg, top: 0, left: 0 }]);
  return opts.format === 'jpeg' ? out.jpeg({ quality: 92 }).toBuffer() : out.png().toBuffer();
}

/** Tiles equally sized images into a grid of `cols` columns (PNG). */
export async function tileImages(images: Buffer[], cols: number): Promise<Buffer> {
  const metas = await Promise.all(images.map((b) => sharp(b).metadata()));
  const cw = Math.max(...metas.map((m) => m.width ?? 0));
  const ch = Math.max(...metas.map((m) => m.height ?? 0));
  const rows = Math.ceil(images.length / cols);
  return sharp({ create: { width: cw * cols, height: ch * rows, channels: 3, background: '#202020' } })
    .composite(images.map((input, i) => ({ input, left: (i % cols) * cw, top: Math.floor(i / cols) * ch })))
    .png()
    .toBuffer();
}

/** One line series of {@link plotCurves}. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
}

/**
 * Line charts, one panel per group of series (e.g. losses vs iteration, mAP
 * vs epoch), as a PNG.
 */
export async function plotCurves(panels: { title: string; xLabel: string; series: Series[] }[], size: [number, number] = [560, 360]): Promise<Buffer> {
  const [pw, ph] = size;
  const m = { l: 56, r: 16, t: 28, b: 40 };
  const parts: string[] = [];
  panels.forEach((p, k) => {
    const ox = k * pw;
    const all = p.series.flatMap((s) => s.y.filter(Number.isFinite));
    const xs = p.series.flatMap((s) => s.x);
    if (!all.length) return;
    const [y0, y1] = [Math.min(0, ...all), Math.max(...all) * 1.05 || 1];
    const [x0, x1] = [Math.min(...xs), Math.max(...xs) === Math.min(...xs) ? Math.min(...xs) + 1 : Math.max(...xs)];
    const X = (v: number): number => ox + m.l + ((v - x0) / (x1 - x0)) * (pw - m.l - m.r);
    const Y = (v: number): number => m.t + (1 - (v - y0) / (y1 - y0)) * (ph - m.t - m.b);
    parts.push(`<rect x="${ox}" y="0" width="${pw}" height="${ph}" fill="#ffffff"/>`);
    parts.push(`<text x="${ox + pw / 2}" y="18" text-anchor="middle" font-family="sans-serif" font-size="14">${esc(p.title)}</text>`);
    parts.push(`<line x1="${X(x0)}" y1="${Y(y0)}" x2="${X(x1)}" y2="${Y(y0)}" stroke="#000"/><line x1="${X(x0)}" y1="${Y(y0)}" x2="${X(x0)}" y2="${Y(y1)}" stroke="#000"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4;
      parts.push(`<text x="${ox + m.l - 4}" y="${Y(v) + 4}" text-anchor="end" font-family="sans-serif" font-size="10">${v.toPrecision(3)}</text>`);
      const u = x0 + ((x1 - x0) * i) / 4;
      parts.push(`<text x="${X(u)}" y="${ph - m.b + 14}" text-anchor="middle" font-family="sans-serif" font-size="10">${Math.round(u)}</text>`);
    }
    parts.push(`<text x="${ox + pw / 2}" y="${ph - 8}" text-anchor="middle" font-family="sans-serif" font-size="11">${esc(p.xLabel)}</text>`);
    p.series.forEach((s, j) => {
      const color = PALETTE[j % PALETTE.length]!;
      const pts = s.x.map((x, i) => `${X(x).toFixed(1)},${Y(s.y[i]!).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
      if (s.x.length === 1) parts.push(`<circle cx="${X(s.x[0]!)}" cy="${Y(s.y[0]!)}" r="3" fill="${color}"/>`);
      parts.push(`<text x="${ox + pw - m.r - 4}" y="${m.t + 14 + 14 * j}" text-anchor="end" font-family="sans-serif" font-size="11" fill="${color}">${esc(s.name)}</text>`);
    });
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${pw * panels.length}" height="${ph}">${parts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
