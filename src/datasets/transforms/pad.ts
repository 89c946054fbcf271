/** mmdetection's `Pad`; records `padShape` in the meta. */
import { z } from 'zod';
import type { DataSample } from '../types.js';
import { mapMasks, placePlane } from './planes.js';
import { ensureDecoded } from './decode.js';
import { materialize } from './color_map.js';
import { pairSchema } from './sample_utils.js';
import { padOutputSize } from './geometry.js';
import { TRANSFORMS } from '../../registry.js';

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
 * new Pad({ sizeDivisor: 32 }).paddedSize(1067, 800); // => [1088, 800] (a 1067x800 image is padded to 1088x800)
 * ```
 */
export class Pad {
  static readonly configSchema = z
    .object({
      size: pairSchema.optional(),
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
    return padOutputSize(w, h, this.opts);
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

TRANSFORMS.register(Pad, { name: 'Pad' });
