/**
 * Drawing semantic segmentation maps (a palette colour per class blended
 * over the image, as mmseg's `SegLocalVisualizer`) and whole predictions
 * (label map, instance masks and boxes) for `tools/infer.ts`.
 */
import type { ImageBuffer } from '../datasets/types.js';
import type { LabelMap } from '../structures/index.js';
import { vocPalette } from '../datasets/png.js';
import {
  compositeSvg,
  drawDetections,
  escapeXml,
  toRgbImage,
  type Detections,
  type DrawOptions,
} from './draw.js';

/** Options of {@link drawSemSeg}. */
export interface SemSegDrawOptions {
  /** Colours by class: `[r, g, b][]` or flat `r, g, b, ...`. Default the VOC palette. */
  palette?: readonly (readonly number[])[] | ArrayLike<number>;
  /** Opacity of the class colours. Default 0.5. */
  alpha?: number;
  /** Pixels with this value are left as they are. Default 255. */
  ignoreIndex?: number;
  /** Class names: with them a legend of the classes present is drawn at the top left. */
  classNames?: readonly string[];
  /** Font size of the legend. Default 11. */
  fontSize?: number;
}

const paletteRows = (p: SemSegDrawOptions['palette']): number[][] => {
  if (!p) {
    const v = vocPalette();
    return Array.from({ length: 256 }, (_, i) => [v[3 * i], v[3 * i + 1], v[3 * i + 2]]);
  }
  if (Array.isArray(p) && (p.length === 0 || Array.isArray(p[0])))
    return (p as number[][]).map((c) => [...c]);
  const flat = p as ArrayLike<number>;
  if (flat.length % 3)
    throw new Error(`drawSemSeg: a flat palette needs r, g, b triples, got ${flat.length} values`);
  return Array.from({ length: flat.length / 3 }, (_, i) => [
    flat[3 * i],
    flat[3 * i + 1],
    flat[3 * i + 2],
  ]);
};

/**
 * Blend a label map over an image: every pixel of class `c` (other than
 * `ignoreIndex`, and with a palette entry) becomes
 * `pixel * (1 - alpha) + palette[c] * alpha`, as mmseg's visualizer. With
 * `classNames`, a legend (colour swatch and name of each class present) is
 * drawn at the top left. The map must have the image's size.
 *
 * @example
 * ```ts
 * const img = { data: new Uint8Array(2 * 1 * 3), width: 2, height: 1, channels: 3 };
 * (await drawSemSeg(img, { data: [0, 1], height: 1, width: 2 }, { alpha: 1 })).data; // => Uint8Array [0, 0, 0, 128, 0, 0] (VOC palette)
 * ```
 */
export async function drawSemSeg(
  image: ImageBuffer | string | Buffer,
  seg: Required<LabelMap>,
  options: SemSegDrawOptions = {},
): Promise<ImageBuffer> {
  const img = await toRgbImage(image, 'drawSemSeg');
  const { width: W, height: H } = img;
  if (seg.width !== W || seg.height !== H || seg.data.length !== W * H) {
    throw new Error(
      `drawSemSeg: the label map is ${seg.height}x${seg.width} (${seg.data.length} values), the image ${H}x${W}`,
    );
  }
  const palette = paletteRows(options.palette);
  const a = options.alpha ?? 0.5;
  const ignore = options.ignoreIndex ?? 255;
  const px = img.data as Uint8Array;
  const present = new Set<number>();
  for (let k = 0; k < seg.data.length; k++) {
    const v = seg.data[k];
    const c = palette[v];
    if (v === ignore || !c) continue;
    present.add(v);
    for (let ch = 0; ch < 3; ch++) px[3 * k + ch] = px[3 * k + ch] * (1 - a) + c[ch] * a + 0.5;
  }
  const names = options.classNames;
  if (!names || present.size === 0) return img;
  const fs = options.fontSize ?? 11;
  const rows = [...present].sort((x, y) => x - y);
  const svgRows = rows.map((v, i) => {
    const y = 2 + i * (fs + 4);
    const c = palette[v];
    const name = escapeXml(names[v] ?? String(v));
    return (
      `<rect x="2" y="${y}" width="${fs}" height="${fs}" fill="rgb(${c.join(',')})" stroke="white" stroke-width="1"/>` +
      `<rect x="${fs + 4}" y="${y}" width="${Math.ceil(name.length * fs * 0.6) + 4}" height="${fs + 2}" fill="black" fill-opacity="0.6"/>` +
      `<text x="${fs + 6}" y="${y + fs - 1}" font-family="DejaVu Sans, sans-serif" font-size="${fs}" fill="white">${name}</text>`
    );
  });
  return compositeSvg(px, W, H, svgRows);
}

/** A model's prediction for one image: detections (boxes, optional masks) and/or a label map. */
export interface Prediction {
  predInstances?: Pick<Detections, 'bboxes' | 'labels' | 'scores' | 'masks'>;
  predSemSeg?: Required<LabelMap>;
}

/** Options of {@link drawPrediction}. */
export interface PredictionDrawOptions extends DrawOptions {
  classNames?: readonly string[];
  /** Detections under this score are not drawn. Default 0.3. */
  scoreThr?: number;
  /** Label-map palette, opacity and ignore value (see {@link drawSemSeg}). */
  palette?: SemSegDrawOptions['palette'];
  segAlpha?: number;
  ignoreIndex?: number;
}

/**
 * Draw a prediction on its image: the label map first (palette overlay and
 * legend), then the instances (translucent masks in instance colours, boxes,
 * labels with scores). Either part may be absent.
 *
 * @example
 * ```ts
 * const img = await drawPrediction('a.jpg', pred, { classNames: ['circle', 'square'], scoreThr: 0.3 });
 * await writeImage(img, 'a_pred.png');
 * ```
 */
export async function drawPrediction(
  image: ImageBuffer | string | Buffer,
  pred: Prediction,
  options: PredictionDrawOptions = {},
): Promise<ImageBuffer> {
  let img = await toRgbImage(image, 'drawPrediction');
  if (pred.predSemSeg) {
    img = await drawSemSeg(img, pred.predSemSeg, {
      palette: options.palette,
      alpha: options.segAlpha,
      ignoreIndex: options.ignoreIndex,
      classNames: options.classNames,
      fontSize: options.fontSize,
    });
  }
  const p = pred.predInstances;
  if (p && p.labels.length > 0) {
    img = await drawDetections(
      img,
      { ...p, classNames: options.classNames, scoreThr: options.scoreThr ?? 0.3 },
      options,
    );
  }
  return img;
}
