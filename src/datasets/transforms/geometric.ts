/**
 * Geometric transforms (mmdetection's `Resize`, `RandomResize`, `RandomFlip`,
 * `RandomCrop`, `MinIoURandomCrop`, `Expand`, `Pad`). Each moves the boxes,
 * masks and label map with the pixels and records what it did in the meta
 * (`scaleFactor`, `flip`, `flipDirection`, `imgShape`, `padShape`).
 */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { DataSample, FlipDirection } from '../types.js';
import {
  cropPlane,
  ensureDecoded,
  flipPlane,
  mapMasks,
  materialize,
  placePlane,
  resizeImage,
  resizeNearest,
  resolveImage,
} from './pixels.js';

const pair = z.tuple([z.number(), z.number()]);

/** The generator of this sample, or the transform's own. */
export function sampleRng(results: DataSample, own: Rng): Rng {
  return results.rng ?? own;
}

/** Current `[h, w]` of the sample's pixels (decoded or queued). */
export function currentSize(results: DataSample): [number, number] {
  const p = results.pending;
  if (p && !results.img) return p.resizeTo ?? [p.height, p.width];
  if (results.img) return [results.img.height, results.img.width];
  throw new Error(
    `${results.imgPath}: no image in the sample; put LoadImageFromFile first in the pipeline`,
  );
}

/** Keep the instances where `keep[i]` (boxes, labels, ignore flags, masks). */
export function keepInstances(results: DataSample, keep: ArrayLike<boolean | number>): void {
  const idx: number[] = [];
  for (let i = 0; i < keep.length; i++) if (keep[i]) idx.push(i);
  if (results.gtBboxes) {
    const b = new Float32Array(idx.length * 4);
    idx.forEach((j, k) => b.set(results.gtBboxes!.subarray(j * 4, j * 4 + 4), k * 4));
    results.gtBboxes = b;
  }
  if (results.gtBboxesLabels)
    results.gtBboxesLabels = Int32Array.from(idx, (j) => results.gtBboxesLabels![j]!);
  if (results.gtIgnoreFlags)
    results.gtIgnoreFlags = Uint8Array.from(idx, (j) => results.gtIgnoreFlags![j]!);
  if (results.gtMasks)
    results.gtMasks = { ...results.gtMasks, masks: idx.map((j) => results.gtMasks!.masks[j]!) };
}

function clipBoxes(b: Float32Array, w: number, h: number): void {
  for (let i = 0; i < b.length; i += 4) {
    b[i] = Math.min(Math.max(b[i]!, 0), w);
    b[i + 1] = Math.min(Math.max(b[i + 1]!, 0), h);
    b[i + 2] = Math.min(Math.max(b[i + 2]!, 0), w);
    b[i + 3] = Math.min(Math.max(b[i + 3]!, 0), h);
  }
}

/** Boxes of the masks (`[x1, y1, x2, y2]`, exclusive right/bottom; zeros for an empty mask). */
export function masksToBoxes(m: {
  width: number;
  height: number;
  masks: Uint8Array[];
}): Float32Array {
  const out = new Float32Array(m.masks.length * 4);
  m.masks.forEach((mask, k) => {
    let x1 = m.width,
      y1 = m.height,
      x2 = 0,
      y2 = 0;
    for (let y = 0; y < m.height; y++) {
      const row = y * m.width;
      for (let x = 0; x < m.width; x++) {
        if (mask[row + x]) {
          if (x < x1) x1 = x;
          if (x + 1 > x2) x2 = x + 1;
          if (y < y1) y1 = y;
          y2 = y + 1;
        }
      }
    }
    if (x2 > x1) out.set([x1, y1, x2, y2], k * 4);
  });
  return out;
}

// ---------------------------------------------------------------------------
// Resize

/** Options of {@link Resize}. */
export interface ResizeOptions {
  /** Target `[w, h]` (or one number for both). With `keepRatio`, the long side fits `max(scale)` and the short side `min(scale)`. */
  scale?: number | [number, number];
  /** Resize by a factor instead of to a scale. */
  scaleFactor?: number | [number, number];
  keepRatio?: boolean;
  /** Clip boxes to the image after resizing. Default true. */
  clipObjectBorder?: boolean;
}

/**
 * Output `[w, h]` for an input `w x h` (mmcv's `rescale_size` with
 * keep-ratio; sizes rounded as `int(x * s + 0.5)`).
 *
 * @example
 * ```ts
 * targetSize(500, 375, [1333, 800], true); // [1067, 800]
 * ```
 */
export function targetSize(
  w: number,
  h: number,
  scale: [number, number],
  keepRatio: boolean,
): [number, number] {
  if (!keepRatio) return [scale[0], scale[1]];
  const long = Math.max(scale[0], scale[1]),
    short = Math.min(scale[0], scale[1]);
  const s = Math.min(long / Math.max(w, h), short / Math.min(w, h));
  return [Math.floor(w * s + 0.5), Math.floor(h * s + 0.5)];
}

/**
 * Resize the image and scale boxes, masks and label map by the same factor,
 * recorded in `scaleFactor` (the product over every resize, so a box in
 * network pixels maps back with `box / scaleFactor`). When the image is still
 * encoded, the resize runs inside sharp's decode.
 *
 * @example
 * ```ts
 * new Resize({ scale: [1333, 800], keepRatio: true }); // a 500x375 image -> 1067x800, scaleFactor [2.134, 2.1333]
 * ```
 */
export class Resize {
  static readonly configSchema = z
    .object({
      scale: z.union([z.number(), pair]).optional(),
      scaleFactor: z.union([z.number(), pair]).optional(),
      keepRatio: z.boolean().optional(),
      clipObjectBorder: z.boolean().optional(),
    })
    .strict();
  readonly scale?: [number, number];
  readonly factor?: [number, number];
  readonly keepRatio: boolean;
  readonly clipObjectBorder: boolean;

  constructor(opts: ResizeOptions = {}) {
    if (opts.scale === undefined && opts.scaleFactor === undefined)
      throw new Error('Resize: give `scale` or `scaleFactor`');
    if (opts.scale !== undefined && opts.scaleFactor !== undefined)
      throw new Error('Resize: give only one of `scale` and `scaleFactor`');
    this.scale = typeof opts.scale === 'number' ? [opts.scale, opts.scale] : opts.scale;
    this.factor =
      typeof opts.scaleFactor === 'number'
        ? [opts.scaleFactor, opts.scaleFactor]
        : opts.scaleFactor;
    this.keepRatio = opts.keepRatio ?? false;
    this.clipObjectBorder = opts.clipObjectBorder ?? true;
  }

  /** Output `[w, h]` for an input of `w x h`. */
  outputSize(w: number, h: number): [number, number] {
    if (this.scale) return targetSize(w, h, this.scale, this.keepRatio);
    const f = this.factor!;
    if (this.keepRatio)
      return targetSize(w, h, [Math.floor(w * f[0] + 0.5), Math.floor(h * f[1] + 0.5)], true);
    return [Math.floor(w * f[0] + 0.5), Math.floor(h * f[1] + 0.5)];
  }

  transform(results: DataSample): DataSample | Promise<DataSample> {
    const [h, w] = currentSize(results);
    return resizeTo(results, ...this.outputSize(w, h), this.clipObjectBorder);
  }
}

/** Resize a sample to `newW x newH`, annotations included. */
export function resizeTo(
  results: DataSample,
  newW: number,
  newH: number,
  clip = true,
): DataSample | Promise<DataSample> {
  const [h, w] = currentSize(results);
  const sx = newW / w,
    sy = newH / h;
  const finish = (): DataSample => {
    const b = results.gtBboxes;
    if (b) {
      for (let i = 0; i < b.length; i += 4) {
        b[i] = b[i]! * sx;
        b[i + 1] = b[i + 1]! * sy;
        b[i + 2] = b[i + 2]! * sx;
        b[i + 3] = b[i + 3]! * sy;
      }
      if (clip) clipBoxes(b, newW, newH);
    }
    if (results.gtMasks) {
      const m = results.gtMasks;
      results.gtMasks = mapMasks(m, newW, newH, (x) =>
        resizeNearest(x, m.width, m.height, newW, newH),
      );
    }
    if (results.gtSegMap) results.gtSegMap = resizeNearest(results.gtSegMap, w, h, newW, newH);
    const f = results.scaleFactor ?? [1, 1];
    results.scaleFactor = [f[0] * sx, f[1] * sy];
    results.imgShape = [newH, newW];
    return results;
  };
  if (newW === w && newH === h) return finish();
  if (results.pending && !results.img) {
    // Resize and flips commute; sharp resizes, then flips.
    results.pending.resizeTo = [newH, newW];
    return finish();
  }
  return (async () => {
    const img = await ensureDecoded(results);
    results.img = await resizeImage(img, newW, newH);
    return finish();
  })();
}

/** Options of {@link RandomResize}. */
export interface RandomResizeOptions {
  /** `[w, h]` base scale with `ratioRange`, or two `[w, h]` scales bounding the sampled long and short edges. */
  scale: [number, number] | [[number, number], [number, number]];
  ratioRange?: [number, number];
  keepRatio?: boolean;
  clipObjectBorder?: boolean;
}

/**
 * Resize to a random scale (multi-scale training), mmdetection's
 * `RandomResize`: with two scales, each edge is drawn uniformly (integers,
 * inclusive) between them; with `ratioRange`, the base scale is multiplied
 * by a ratio drawn from the range.
 *
 * @example
 * ```ts
 * new RandomResize({ scale: [[1333, 640], [1333, 800]], keepRatio: true });
 * ```
 */
export class RandomResize {
  static readonly configSchema = z
    .object({
      scale: z.union([pair, z.tuple([pair, pair])]),
      ratioRange: pair.optional(),
      keepRatio: z.boolean().optional(),
      clipObjectBorder: z.boolean().optional(),
    })
    .strict();
  private readonly rng = new Rng(0);
  constructor(readonly opts: RandomResizeOptions) {}

  /** Draw a target scale `[w, h]`. */
  sampleScale(rng: Rng): [number, number] {
    const s = this.opts.scale;
    if (typeof s[0] === 'number') {
      const base = s as [number, number];
      const r = this.opts.ratioRange
        ? rng.uniform(this.opts.ratioRange[0], this.opts.ratioRange[1])
        : 1;
      return [Math.floor(base[0] * r), Math.floor(base[1] * r)];
    }
    const [a, b] = s as [[number, number], [number, number]];
    const e0 = rng.int(Math.min(a[0], b[0]), Math.max(a[0], b[0]) + 1);
    const e1 = rng.int(Math.min(a[1], b[1]), Math.max(a[1], b[1]) + 1);
    return [e0, e1];
  }

  transform(results: DataSample): DataSample | Promise<DataSample> {
    const scale = this.sampleScale(sampleRng(results, this.rng));
    const [h, w] = currentSize(results);
    const [nw, nh] = targetSize(w, h, scale, this.opts.keepRatio ?? true);
    return resizeTo(results, nw, nh, this.opts.clipObjectBorder ?? true);
  }
}

// ---------------------------------------------------------------------------
// Flip

/** Flip boxes `n*4` in an image `w x h` (mmdetection's convention: `x1' = w - x2`). */
export function flipBoxes(b: Float32Array, w: number, h: number, direction: FlipDirection): void {
  for (let i = 0; i < b.length; i += 4) {
    if (direction !== 'vertical') {
      const x1 = b[i]!;
      b[i] = w - b[i + 2]!;
      b[i + 2] = w - x1;
    }
    if (direction !== 'horizontal') {
      const y1 = b[i + 1]!;
      b[i + 1] = h - b[i + 3]!;
      b[i + 3] = h - y1;
    }
  }
}

/**
 * Flip with probability `prob` (mmdetection's `RandomFlip`). With a list of
 * directions and one `prob`, each direction gets `prob / n`; with a list of
 * probabilities, each its own.
 *
 * @example
 * ```ts
 * new RandomFlip({ prob: 0.5 });                                        // horizontal half the time
 * new RandomFlip({ prob: [0.3, 0.3], direction: ['horizontal', 'vertical'] });
 * ```
 */
export class RandomFlip {
  static readonly configSchema = z
    .object({
      prob: z.union([z.number().min(0).max(1), z.array(z.number().min(0).max(1))]).optional(),
      direction: z
        .union([
          z.enum(['horizontal', 'vertical', 'diagonal']),
          z.array(z.enum(['horizontal', 'vertical', 'diagonal'])),
        ])
        .optional(),
    })
    .strict();
  readonly directions: FlipDirection[];
  readonly probs: number[];
  private readonly rng = new Rng(0);

  constructor(
    opts: { prob?: number | number[]; direction?: FlipDirection | FlipDirection[] } = {},
  ) {
    this.directions = Array.isArray(opts.direction)
      ? opts.direction
      : [opts.direction ?? 'horizontal'];
    const p = opts.prob ?? 0.5;
    this.probs = Array.isArray(p) ? p : this.directions.map(() => p / this.directions.length);
    if (this.probs.length !== this.directions.length)
      throw new Error('RandomFlip: `prob` and `direction` lists differ in length');
    if (this.probs.reduce((a, b) => a + b, 0) > 1 + 1e-9)
      throw new Error('RandomFlip: probabilities add up to more than 1');
  }

  transform(results: DataSample): DataSample | Promise<DataSample> {
    const u = sampleRng(results, this.rng).next();
    let acc = 0;
    let dir: FlipDirection | null = null;
    for (let i = 0; i < this.directions.length; i++) {
      acc += this.probs[i]!;
      if (u < acc) {
        dir = this.directions[i]!;
        break;
      }
    }
    results.flip = dir !== null;
    results.flipDirection = dir;
    if (!dir) return results;
    return flipSample(results, dir);
  }
}

/** Flip a sample's pixels, boxes, masks and label map. */
export function flipSample(results: DataSample, dir: FlipDirection): DataSample {
  const [h, w] = currentSize(results);
  if (results.pending && !results.img) {
    if (dir !== 'vertical') results.pending.flipH = !results.pending.flipH;
    if (dir !== 'horizontal') results.pending.flipV = !results.pending.flipV;
  } else {
    const img = results.img!;
    results.img = { ...img, data: flipPlane(img.data, img.width, img.height, img.channels, dir) };
  }
  if (results.gtBboxes) flipBoxes(results.gtBboxes, w, h, dir);
  if (results.gtMasks)
    results.gtMasks = mapMasks(results.gtMasks, w, h, (m) => flipPlane(m, w, h, 1, dir));
  if (results.gtSegMap) results.gtSegMap = flipPlane(results.gtSegMap, w, h, 1, dir);
  return results;
}

// ---------------------------------------------------------------------------
// Crops

/** Crop a decoded sample to the integer window `[x1, y1, x2, y2)`; boxes are translated (not filtered). */
function cropSample(results: DataSample, x1: number, y1: number, x2: number, y2: number): void {
  const img = results.img!;
  results.img = {
    ...img,
    data: cropPlane(img.data, img.width, img.channels, x1, y1, x2, y2),
    width: x2 - x1,
    height: y2 - y1,
  };
  const b = results.gtBboxes;
  if (b)
    for (let i = 0; i < b.length; i += 4) {
      b[i] = b[i]! - x1;
      b[i + 1] = b[i + 1]! - y1;
      b[i + 2] = b[i + 2]! - x1;
      b[i + 3] = b[i + 3]! - y1;
    }
  if (results.gtMasks) {
    const m = results.gtMasks;
    results.gtMasks = mapMasks(m, x2 - x1, y2 - y1, (x) =>
      cropPlane(x, m.width, 1, x1, y1, x2, y2),
    );
  }
  if (results.gtSegMap)
    results.gtSegMap = cropPlane(results.gtSegMap, img.width, 1, x1, y1, x2, y2);
  results.imgShape = [y2 - y1, x2 - x1];
}

/** Options of {@link RandomCrop}. */
export interface RandomCropOptions {
  /** `[w, h]`: pixels (`absolute`), a `[min, max]` pixel range (`absolute_range`), or fractions (`relative`, `relative_range`). */
  cropSize: [number, number];
  cropType?: 'absolute' | 'absolute_range' | 'relative' | 'relative_range';
  /** Keep a crop that contains no box. Default false (the sample is re-drawn). */
  allowNegativeCrop?: boolean;
  /** Recompute boxes from the cropped masks. */
  recomputeBbox?: boolean;
  bboxClipBorder?: boolean;
}

/**
 * Random crop (mmdetection's `RandomCrop`): the window is drawn uniformly;
 * boxes are translated and clipped to it, and those left with no area are
 * dropped. Returns null (the data set draws another image) when no box is
 * left, unless `allowNegativeCrop`.
 */
export class RandomCrop {
  static readonly configSchema = z
    .object({
      cropSize: pair,
      cropType: z.enum(['absolute', 'absolute_range', 'relative', 'relative_range']).optional(),
      allowNegativeCrop: z.boolean().optional(),
      recomputeBbox: z.boolean().optional(),
      bboxClipBorder: z.boolean().optional(),
    })
    .strict();
  private readonly rng = new Rng(0);
  constructor(readonly opts: RandomCropOptions) {
    const t = opts.cropType ?? 'absolute';
    if (
      t.startsWith('relative') &&
      (opts.cropSize[0] <= 0 ||
        opts.cropSize[0] > 1 ||
        opts.cropSize[1] <= 0 ||
        opts.cropSize[1] > 1)
    ) {
      throw new Error(
        `RandomCrop: relative cropSize must be in (0, 1], got [${opts.cropSize.join(', ')}]`,
      );
    }
  }

  /** Crop `[h, w]` for an image `[h, w]`. */
  cropSizeFor(h: number, w: number, rng: Rng): [number, number] {
    const [a, b] = this.opts.cropSize;
    switch (this.opts.cropType ?? 'absolute') {
      case 'absolute':
        return [Math.min(b, h), Math.min(a, w)];
      case 'absolute_range':
        return [
          rng.int(Math.min(a, h), Math.min(b, h) + 1),
          rng.int(Math.min(a, w), Math.min(b, w) + 1),
        ];
      case 'relative':
        return [Math.floor(h * b + 0.5), Math.floor(w * a + 0.5)];
      case 'relative_range': {
        const ch = a + rng.next() * (1 - a),
          cw = b + rng.next() * (1 - b);
        return [Math.floor(h * ch + 0.5), Math.floor(w * cw + 0.5)];
      }
    }
  }

  async transform(results: DataSample): Promise<DataSample | null> {
    const rng = sampleRng(results, this.rng);
    await ensureDecoded(results);
    const [h, w] = currentSize(results);
    const [ch, cw] = this.cropSizeFor(h, w, rng);
    const oy = rng.int(0, Math.max(h - ch, 0) + 1),
      ox = rng.int(0, Math.max(w - cw, 0) + 1);
    cropSample(results, ox, oy, ox + cw, oy + ch);
    const b = results.gtBboxes;
    if (b) {
      if (this.opts.bboxClipBorder ?? true) clipBoxes(b, cw, ch);
      const keep: boolean[] = [];
      for (let i = 0; i < b.length; i += 4)
        keep.push(
          b[i + 2]! > b[i]! &&
            b[i + 3]! > b[i + 1]! &&
            b[i]! < cw &&
            b[i + 1]! < ch &&
            b[i + 2]! > 0 &&
            b[i + 3]! > 0,
        );
      if (!keep.some(Boolean) && !this.opts.allowNegativeCrop) return null;
      keepInstances(results, keep);
      if (this.opts.recomputeBbox && results.gtMasks)
        results.gtBboxes = masksToBoxes(results.gtMasks);
    }
    return results;
  }
}

function iouOne(p: readonly number[], b: Float32Array, i: number): number {
  const ix = Math.max(0, Math.min(p[2]!, b[i + 2]!) - Math.max(p[0]!, b[i]!));
  const iy = Math.max(0, Math.min(p[3]!, b[i + 3]!) - Math.max(p[1]!, b[i + 1]!));
  const inter = ix * iy;
  const ua =
    (p[2]! - p[0]!) * (p[3]! - p[1]!) + (b[i + 2]! - b[i]!) * (b[i + 3]! - b[i + 1]!) - inter;
  return ua > 0 ? inter / ua : 0;
}

/**
 * SSD's random crop (mmdetection's `MinIoURandomCrop`): pick a mode from
 * `{no crop, minIous..., 0}`; draw up to 50 windows of aspect 1/2..2 and at
 * least `minCropSize` of each side whose IoU with every box is at least the
 * mode; keep the boxes whose centre lies strictly inside the window, clipped
 * to it.
 */
export class MinIoURandomCrop {
  static readonly configSchema = z
    .object({
      minIous: z.array(z.number()).optional(),
      minCropSize: z.number().optional(),
      bboxClipBorder: z.boolean().optional(),
    })
    .strict();
  readonly minIous: number[];
  readonly minCropSize: number;
  readonly bboxClipBorder: boolean;
  private readonly rng = new Rng(0);

  constructor(opts: { minIous?: number[]; minCropSize?: number; bboxClipBorder?: boolean } = {}) {
    this.minIous = opts.minIous ?? [0.1, 0.3, 0.5, 0.7, 0.9];
    this.minCropSize = opts.minCropSize ?? 0.3;
    this.bboxClipBorder = opts.bboxClipBorder ?? true;
  }

  async transform(results: DataSample): Promise<DataSample> {
    const rng = sampleRng(results, this.rng);
    await ensureDecoded(results);
    const [h, w] = currentSize(results);
    const boxes = results.gtBboxes ?? new Float32Array(0);
    const modes = [1, ...this.minIous, 0];
    for (let round = 0; round < 50; round++) {
      const mode = rng.choice(modes);
      if (mode === 1) return results;
      for (let i = 0; i < 50; i++) {
        const nw = rng.uniform(this.minCropSize * w, w),
          nh = rng.uniform(this.minCropSize * h, h);
        if (nh / nw < 0.5 || nh / nw > 2) continue;
        const left = rng.uniform(0, w - nw),
          top = rng.uniform(0, h - nh);
        const patch = [
          Math.floor(left),
          Math.floor(top),
          Math.floor(left + nw),
          Math.floor(top + nh),
        ];
        if (patch[2] === patch[0] || patch[3] === patch[1]) continue;
        let ok = true;
        for (let k = 0; k < boxes.length; k += 4)
          if (iouOne(patch, boxes, k) < mode) {
            ok = false;
            break;
          }
        if (!ok) continue;
        const keep: boolean[] = [];
        for (let k = 0; k < boxes.length; k += 4) {
          const cx = (boxes[k]! + boxes[k + 2]!) / 2,
            cy = (boxes[k + 1]! + boxes[k + 3]!) / 2;
          keep.push(cx > patch[0]! && cy > patch[1]! && cx < patch[2]! && cy < patch[3]!);
        }
        if (boxes.length && !keep.some(Boolean)) continue;
        if (boxes.length) keepInstances(results, keep);
        cropSample(results, patch[0]!, patch[1]!, patch[2]!, patch[3]!);
        if (results.gtBboxes && this.bboxClipBorder)
          clipBoxes(results.gtBboxes, patch[2]! - patch[0]!, patch[3]! - patch[1]!);
        return results;
      }
    }
    return results;
  }
}

/**
 * SSD's zoom-out (mmdetection's `Expand`): with probability `prob`, place the
 * image at a random position in a canvas `ratio` times larger (ratio drawn
 * from `ratioRange`) filled with `mean`; masks are padded with 0 and the
 * label map with `segIgnoreLabel`.
 */
export class Expand {
  static readonly configSchema = z
    .object({
      mean: z.array(z.number()).optional(),
      toRgb: z.boolean().optional(),
      ratioRange: pair.optional(),
      prob: z.number().optional(),
      segIgnoreLabel: z.number().optional(),
    })
    .strict();
  readonly mean: number[];
  readonly ratioRange: [number, number];
  readonly prob: number;
  readonly segIgnoreLabel: number;
  private readonly rng = new Rng(0);

  constructor(
    opts: {
      mean?: number[];
      toRgb?: boolean;
      ratioRange?: [number, number];
      prob?: number;
      segIgnoreLabel?: number;
    } = {},
  ) {
    // Pixels are RGB here; mmdetection's `to_rgb` says its mean was given in RGB too, so only `toRgb: false` (BGR mean) needs a swap.
    const mean = opts.mean ?? [0, 0, 0];
    this.mean = opts.toRgb === false ? [mean[2]!, mean[1]!, mean[0]!] : mean;
    this.ratioRange = opts.ratioRange ?? [1, 4];
    this.prob = opts.prob ?? 0.5;
    this.segIgnoreLabel = opts.segIgnoreLabel ?? 255;
  }

  async transform(results: DataSample): Promise<DataSample> {
    const rng = sampleRng(results, this.rng);
    if (rng.next() > this.prob) return results;
    const img = await resolveImage(results);
    const { width: w, height: h } = img;
    const ratio = rng.uniform(this.ratioRange[0], this.ratioRange[1]);
    const W = Math.floor(w * ratio),
      H = Math.floor(h * ratio);
    const left = Math.floor(rng.uniform(0, W - w)),
      top = Math.floor(rng.uniform(0, H - h));
    results.img = {
      ...img,
      data: placePlane(img.data, w, h, img.channels, W, H, left, top, this.mean),
      width: W,
      height: H,
    };
    const b = results.gtBboxes;
    if (b)
      for (let i = 0; i < b.length; i += 4) {
        b[i] = b[i]! + left;
        b[i + 1] = b[i + 1]! + top;
        b[i + 2] = b[i + 2]! + left;
        b[i + 3] = b[i + 3]! + top;
      }
    if (results.gtMasks)
      results.gtMasks = mapMasks(results.gtMasks, W, H, (m) =>
        placePlane(m, w, h, 1, W, H, left, top, 0),
      );
    if (results.gtSegMap)
      results.gtSegMap = placePlane(
        results.gtSegMap,
        w,
        h,
        1,
        W,
        H,
        left,
        top,
        this.segIgnoreLabel,
      );
    results.imgShape = [H, W];
    return results;
  }
}

// ---------------------------------------------------------------------------
// Pad

/** Options of {@link Pad}. */
export interface PadOptions {
  /** Fixed output `[w, h]`. */
  size?: [number, number];
  /** Pad each side up to a multiple of this. */
  sizeDivisor?: number;
  padToSquare?: boolean;
  /** Image fill (after Normalize: in normalised units) and label-map fill; default `{img: 0, seg: 255}`. */
  padVal?: number | { img?: number | number[]; seg?: number; masks?: number };
}

/**
 * Pad bottom and right (mmdetection's `Pad`) to `size`, a multiple of
 * `sizeDivisor`, or a square. A pending colour map (PhotoMetricDistortion,
 * Normalize) is applied in the same pass. Sets `padShape`.
 *
 * @example
 * ```ts
 * new Pad({ sizeDivisor: 32 }); // 1067x800 -> 1088x800
 * ```
 */
export class Pad {
  static readonly configSchema = z
    .object({
      size: pair.optional(),
      sizeDivisor: z.number().int().positive().optional(),
      padToSquare: z.boolean().optional(),
      padVal: z
        .union([
          z.number(),
          z
            .object({
              img: z.union([z.number(), z.array(z.number())]).optional(),
              seg: z.number().optional(),
              masks: z.number().optional(),
            })
            .strict(),
        ])
        .optional(),
    })
    .strict();
  readonly imgVal: number | number[];
  readonly segVal: number;

  constructor(readonly opts: PadOptions = {}) {
    if (!opts.size && !opts.sizeDivisor && !opts.padToSquare)
      throw new Error('Pad: give `size`, `sizeDivisor` or `padToSquare`');
    const pv = opts.padVal;
    this.imgVal = typeof pv === 'number' ? pv : (pv?.img ?? 0);
    this.segVal = typeof pv === 'number' ? 255 : (pv?.seg ?? 255);
  }

  /** Padded `[w, h]` of an image `w x h`. */
  paddedSize(w: number, h: number): [number, number] {
    let W = w,
      H = h;
    if (this.opts.padToSquare) W = H = Math.max(w, h);
    if (this.opts.size) [W, H] = [Math.max(this.opts.size[0], W), Math.max(this.opts.size[1], H)];
    const d = this.opts.sizeDivisor;
    if (d) [W, H] = [Math.ceil(W / d) * d, Math.ceil(H / d) * d];
    return [W, H];
  }

  async transform(results: DataSample): Promise<DataSample> {
    const img = await ensureDecoded(results, true);
    const [W, H] = this.paddedSize(img.width, img.height);
    if (results.deferPixels) {
      // The loader's collate does colour pass + padding in one go, straight into the batch.
      const v = this.imgVal;
      results.padVal = typeof v === 'number' ? [v, v, v] : v;
    } else {
      results.img = materialize(results, W, H, this.imgVal);
    }
    if (results.gtMasks) {
      const m = results.gtMasks;
      results.gtMasks = mapMasks(m, W, H, (x) =>
        placePlane(x, m.width, m.height, 1, W, H, 0, 0, 0),
      );
    }
    if (results.gtSegMap)
      results.gtSegMap = placePlane(
        results.gtSegMap,
        img.width,
        img.height,
        1,
        W,
        H,
        0,
        0,
        this.segVal,
      );
    results.padShape = [H, W];
    results.padSizeDivisor = this.opts.sizeDivisor;
    return results;
  }
}
