/**
 * Drawing detections and ground truth onto images (boxes, labels with
 * scores, translucent instance masks), for `tools/browse_dataset.ts` and
 * `tools/infer.ts`. Masks and boxes are drawn in JavaScript on the RGB
 * pixels; label text is an SVG overlay composited by sharp.
 */
import sharp from 'sharp';
import type { ImageBuffer, PackedInputs } from '../datasets/types.js';
import type { BitmapMasks, ImgMeta } from '../structures/index.js';
import { writePixels } from '../datasets/transforms/color_map.js';
import { imageFromRaw } from '../datasets/transforms/decode.js';
import { writeFileAtomic } from '../utils/fs.js';

/** What to draw. Boxes are `[x1, y1, x2, y2]` in pixels of `image`. */
export interface Detections {
  /** `n*4` boxes (flat) or `[x1, y1, x2, y2][]`. */
  bboxes: ArrayLike<number> | readonly (readonly number[])[];
  labels: ArrayLike<number>;
  /** Scores; when given, boxes under `scoreThr` are skipped and the score is printed. */
  scores?: ArrayLike<number>;
  /** Instance masks of the image size: row-major 0/1 planes. */
  masks?: BitmapMasks | readonly Uint8Array[];
  classNames?: readonly string[];
  scoreThr?: number;
}

/** Options of {@link drawDetections}. */
export interface DrawOptions {
  /** Box line width in pixels. Default 2. */
  thickness?: number;
  /** Mask opacity. Default 0.45. */
  maskAlpha?: number;
  /** Font size of the labels. Default 11. */
  fontSize?: number;
  /** Draw label text. Default true. */
  text?: boolean;
  /**
   * Mask colours: `'instance'` (default; the class colour for the first
   * instance of a class, a jittered class colour for the next ones, as
   * mmdet's visualizer) or `'class'`.
   */
  maskColours?: 'instance' | 'class';
  /** Draw each mask's boundary pixels opaque. Default true. */
  maskOutline?: boolean;
}

/**
 * A distinct colour per class (golden-ratio hue walk), `[r, g, b]`.
 *
 * @example
 * ```ts
 * classColour(0); // => [242, 115, 61] (stable for a class index)
 * ```
 */
export function classColour(label: number): [number, number, number] {
  const h = ((label * 0.618033988749895 + 0.05) % 1) * 6;
  const s = 0.75,
    v = 0.95;
  const i = Math.floor(h),
    f = h - i;
  const p = v * (1 - s),
    q = v * (1 - s * f),
    t = v * (1 - s * (1 - f));
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/**
 * Colour of the `k`-th instance of class `label`: {@link classColour} for
 * `k = 0`, otherwise the class colour moved by a fixed pseudo-random offset
 * (mmdet's `jitter_color`: a unit vector minus 0.5, times 0.5 * 255), so
 * instances of one class stay alike but distinguishable.
 *
 * @example
 * ```ts
 * instanceColour(2, 0); // => [112, 242, 61] (classColour(2))
 * instanceColour(2, 1); // => [132, 254, 56] (a nearby colour)
 * ```
 */
export function instanceColour(label: number, k: number): [number, number, number] {
  const c = classColour(label);
  if (k === 0) return c;
  // deterministic "random" direction per (label, k)
  let h = (Math.imul(label + 1, 0x9e3779b1) ^ Math.imul(k, 0x85ebca6b)) >>> 0;
  const r = [0, 0, 0].map(() => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 12)) >>> 0;
    return (h % 10007) / 10007 + 1e-3;
  });
  const norm = Math.hypot(r[0], r[1], r[2]);
  return c.map((v, i) =>
    Math.max(0, Math.min(255, Math.round(v + (r[i] / norm - 0.5) * 0.5 * 255))),
  ) as [number, number, number];
}

/** Text safe inside SVG markup. */
export const escapeXml = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * A private RGB uint8 copy to draw on: files and encoded buffers are decoded
 * (auto-oriented), raw buffers clamped to 0..255. `caller` names the
 * function in the error for a non-RGB buffer.
 */
export async function toRgbImage(
  image: ImageBuffer | string | Buffer,
  caller = 'drawDetections',
): Promise<ImageBuffer> {
  if (typeof image === 'string' || Buffer.isBuffer(image)) {
    return imageFromRaw(
      await sharp(image)
        .autoOrient()
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true }),
    );
  }
  if (image.channels !== 3)
    throw new Error(`${caller}: expected an RGB image, got ${image.channels} channels`);
  if (image.data instanceof Uint8Array) return { ...image, data: Uint8Array.from(image.data) };
  return { ...image, data: Uint8Array.from(image.data, (v) => (v < 0 ? 0 : v > 255 ? 255 : v)) };
}

function boxAt(b: Detections['bboxes'], i: number): [number, number, number, number] {
  const row = (b as readonly (readonly number[])[])[i];
  if (Array.isArray(row)) return row as unknown as [number, number, number, number];
  const f = b as ArrayLike<number>;
  return [f[i * 4], f[i * 4 + 1], f[i * 4 + 2], f[i * 4 + 3]];
}

/**
 * Draw detections on an image (an RGB pixel buffer, a file path or an
 * encoded buffer) and return the RGB pixels; write them with
 * {@link writeImage}.
 *
 * @example
 * ```ts
 * const img = await drawDetections('demo.jpg', { bboxes: [[10, 10, 50, 60]], labels: [0], scores: [0.9], classNames: ['cat'], scoreThr: 0.3 });
 * await writeImage(img, 'out.png');
 * ```
 */
export async function drawDetections(
  image: ImageBuffer | string | Buffer,
  dets: Detections,
  options: DrawOptions = {},
): Promise<ImageBuffer> {
  const img = await toRgbImage(image);
  const { width: W, height: H } = img;
  const px = img.data as Uint8Array;
  const n = dets.labels.length;
  const thr = dets.scoreThr ?? 0;
  const keep = Array.from({ length: n }, (_, i) => !dets.scores || dets.scores[i] >= thr);
  const alpha = options.maskAlpha ?? 0.45;
  const maskList = dets.masks ? ('masks' in dets.masks ? dets.masks.masks : dets.masks) : undefined;
  if (maskList) {
    if (maskList.length !== n)
      throw new Error(`drawDetections: ${n} detections but ${maskList.length} masks`);
    const seen = new Map<number, number>();
    maskList.forEach((m, i) => {
      if (!keep[i]) return;
      if (m.length !== W * H)
        throw new Error(`drawDetections: mask ${i} has ${m.length} pixels, image has ${W * H}`);
      const label = dets.labels[i];
      const k = seen.get(label) ?? 0;
      seen.set(label, k + 1);
      const c = options.maskColours === 'class' ? classColour(label) : instanceColour(label, k);
      const outline = options.maskOutline ?? true;
      for (let p = 0; p < m.length; p++) {
        if (!m[p]) continue;
        const o = p * 3;
        const x = p % W,
          y = (p - x) / W;
        if (
          outline &&
          (x === 0 ||
            y === 0 ||
            x === W - 1 ||
            y === H - 1 ||
            !m[p - 1] ||
            !m[p + 1] ||
            !m[p - W] ||
            !m[p + W])
        ) {
          px.set(c, o);
          continue;
        }
        px[o] = px[o] * (1 - alpha) + c[0] * alpha + 0.5;
        px[o + 1] = px[o + 1] * (1 - alpha) + c[1] * alpha + 0.5;
        px[o + 2] = px[o + 2] * (1 - alpha) + c[2] * alpha + 0.5;
      }
    });
  }
  const th = options.thickness ?? 2;
  const labels: string[] = [];
  const fs = options.fontSize ?? 11;
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    const [x1, y1, x2, y2] = boxAt(dets.bboxes, i).map((v) => Math.round(v)) as [
      number,
      number,
      number,
      number,
    ];
    const c = classColour(dets.labels[i]);
    const put = (x: number, y: number): void => {
      if (x < 0 || y < 0 || x >= W || y >= H) return;
      px.set(c, (y * W + x) * 3);
    };
    for (let t = 0; t < th; t++) {
      for (let x = x1; x < x2; x++) {
        put(x, y1 + t);
        put(x, y2 - 1 - t);
      }
      for (let y = y1; y < y2; y++) {
        put(x1 + t, y);
        put(x2 - 1 - t, y);
      }
    }
    if (options.text ?? true) {
      const name = dets.classNames?.[dets.labels[i]] ?? String(dets.labels[i]);
      const txt = dets.scores ? `${name} ${dets.scores[i].toFixed(2)}` : name;
      const tw = Math.ceil(txt.length * fs * 0.6) + 4;
      const ty = Math.max(0, y1 - fs - 3);
      labels.push(
        `<rect x="${Math.max(0, x1)}" y="${ty}" width="${tw}" height="${fs + 3}" fill="rgb(${c.join(',')})"/>` +
          `<text x="${Math.max(0, x1) + 2}" y="${ty + fs}" font-family="DejaVu Sans, sans-serif" font-size="${fs}" fill="black">${escapeXml(txt)}</text>`,
      );
    }
  }
  if (!labels.length) return img;
  return compositeSvg(px, W, H, labels);
}

/** RGB pixels `W x H` with SVG elements (text, swatches) composited over them by sharp. */
export async function compositeSvg(
  px: Uint8Array,
  W: number,
  H: number,
  elements: readonly string[],
): Promise<ImageBuffer> {
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${elements.join('')}</svg>`,
  );
  return imageFromRaw(
    await sharp(px, { raw: { width: W, height: H, channels: 3 } })
      .composite([{ input: svg, top: 0, left: 0 }])
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
}

/** Write RGB pixels as PNG or JPEG (by the file's extension), replacing `file` atomically. */
export async function writeImage(img: ImageBuffer, file: string): Promise<void> {
  const s = sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: img.channels as 3 },
  });
  // encoded in memory, then written atomically: never through a link already at `file`
  writeFileAtomic(
    file,
    await (/\.jpe?g$/i.test(file) ? s.jpeg({ quality: 92 }) : s.png()).toBuffer(),
  );
}

/**
 * The RGB uint8 pixels of packed inputs: undoes Normalize (using the meta's
 * `imgNormCfg`) and applies a deferred colour pass, so a pipeline's output
 * can be looked at.
 */
export function inputsToRgb(
  inputs: PackedInputs['inputs'],
  meta?: Pick<ImgMeta, 'imgNormCfg'>,
): ImageBuffer {
  let data: Float32Array | Uint8Array = inputs.data;
  if (inputs.deferred) {
    const d = inputs.deferred;
    const out = new Float32Array(inputs.height * inputs.width * 3);
    writePixels(d.src, d.colorMap, d.flipH, d.flipV, out, 0, inputs.width * 3);
    data = out;
  }
  const out = new Uint8Array(inputs.height * inputs.width * 3);
  const cfg = meta?.imgNormCfg;
  for (let i = 0; i < out.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      let v = data[i + c];
      if (cfg) v = v * cfg.std[c] + cfg.mean[c];
      out[i + (cfg && !cfg.toRgb ? 2 - c : c)] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
  return { data: out, width: inputs.width, height: inputs.height, channels: 3 };
}

/** Draw a packed sample's ground truth (ignored instances dashed grey is not drawn; they get label text `ignore`). */
export async function drawGroundTruth(
  sample: PackedInputs,
  classNames?: readonly string[],
  options: DrawOptions = {},
): Promise<ImageBuffer> {
  const meta = sample.dataSample.metainfo;
  const img = inputsToRgb(sample.inputs, meta);
  const sem = sample.dataSample.gtSemSeg;
  if (sem && sem.data.length === img.width * img.height) {
    // Semantic map: class colours blended in; background (0) and ignore (255) left as they are.
    const a = options.maskAlpha ?? 0.45;
    const px = img.data as Uint8Array;
    for (let k = 0; k < sem.data.length; k++) {
      const v = sem.data[k];
      if (v === 0 || v === 255) continue;
      const c = classColour(v - 1);
      for (let ch = 0; ch < 3; ch++) px[k * 3 + ch] = px[k * 3 + ch] * (1 - a) + c[ch] * a + 0.5;
    }
  }
  const gt = sample.dataSample.gtInstances;
  const ig = sample.dataSample.ignoredInstances;
  const names = [...(classNames ?? []), 'ignore'];
  const ignoreLabel = names.length - 1;
  const nGt = gt.labels.length,
    nIg = ig.labels.length;
  const bboxes = new Float32Array((nGt + nIg) * 4);
  bboxes.set(gt.bboxes, 0);
  bboxes.set(ig.bboxes, nGt * 4);
  const labels = Int32Array.from([...gt.labels, ...new Array<number>(nIg).fill(ignoreLabel)]);
  const masks = gt.masks ? [...gt.masks.masks, ...(ig.masks?.masks ?? [])] : undefined;
  return drawDetections(
    img,
    { bboxes, labels, masks: masks?.length === nGt + nIg ? masks : undefined, classNames: names },
    options,
  );
}
