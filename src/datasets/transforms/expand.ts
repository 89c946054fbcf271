/** SSD's zoom-out, mmdetection's `Expand`. */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { DataSample } from '../types.js';
import { mapMasks, placePlane } from './planes.js';
import { resolveImage } from './decode.js';
import { pairSchema, sampleRng } from './sample_utils.js';
import { TRANSFORMS } from '../../registry.js';

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
      ratioRange: pairSchema.optional(),
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
    this.mean = opts.toRgb === false ? [mean[2], mean[1], mean[0]] : mean;
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
        b[i] = b[i] + left;
        b[i + 1] = b[i + 1] + top;
        b[i + 2] = b[i + 2] + left;
        b[i + 3] = b[i + 3] + top;
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

TRANSFORMS.register(Expand, { name: 'Expand' });
