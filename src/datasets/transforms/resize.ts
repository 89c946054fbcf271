/**
 * mmdetection's `Resize` and `RandomResize`: boxes, masks and label map move
 * with the pixels; the factor is recorded in `scaleFactor`.
 */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { DataSample } from '../types.js';
import { mapMasks, resizeNearest } from './planes.js';
import { ensureDecoded, resizeImage } from './decode.js';
import { clipBoxesInPlace, currentSize, pairSchema, sampleRng } from './sample_utils.js';
import { TRANSFORMS } from '../../registry.js';
import { resizeOutputSize, targetSize } from './geometry.js';

export { targetSize };

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
 * Resize the image and scale boxes, masks and label map by the same factor,
 * recorded in `scaleFactor` (the product over every resize, so a box in
 * network pixels maps back with `box / scaleFactor`). When the image is still
 * encoded, the resize runs inside sharp's decode.
 *
 * @example
 * ```ts
 * const resize = new Resize({ scale: [1333, 800], keepRatio: true });
 * resize.outputSize(500, 375); // => [1067, 800] (a 500x375 image; scaleFactor [1067 / 500, 800 / 375] = [2.134, 2.1333])
 * ```
 */
export class Resize {
  static readonly configSchema = z
    .object({
      scale: z.union([z.number(), pairSchema]).optional(),
      scaleFactor: z.union([z.number(), pairSchema]).optional(),
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
    return resizeOutputSize(w, h, {
      scale: this.scale,
      scaleFactor: this.factor,
      keepRatio: this.keepRatio,
    });
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
        b[i] = b[i] * sx;
        b[i + 1] = b[i + 1] * sy;
        b[i + 2] = b[i + 2] * sx;
        b[i + 3] = b[i + 3] * sy;
      }
      if (clip) clipBoxesInPlace(b, newW, newH);
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
      scale: z.union([pairSchema, z.tuple([pairSchema, pairSchema])]),
      ratioRange: pairSchema.optional(),
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

TRANSFORMS.register(Resize, { name: 'Resize' });
TRANSFORMS.register(RandomResize, { name: 'RandomResize' });
