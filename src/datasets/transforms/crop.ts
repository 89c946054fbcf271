/** Random crops: mmdetection's `RandomCrop` and SSD's `MinIoURandomCrop`. */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { DataSample } from '../types.js';
import { cropPlane, mapMasks } from './planes.js';
import { ensureDecoded } from './decode.js';
import {
  clipBoxesInPlace,
  currentSize,
  keepInstances,
  masksToBoxes,
  pairSchema,
  sampleRng,
} from './sample_utils.js';
import { TRANSFORMS } from '../../registry.js';

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
      b[i] = b[i] - x1;
      b[i + 1] = b[i + 1] - y1;
      b[i + 2] = b[i + 2] - x1;
      b[i + 3] = b[i + 3] - y1;
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
      cropSize: pairSchema,
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
      if (this.opts.bboxClipBorder ?? true) clipBoxesInPlace(b, cw, ch);
      const keep: boolean[] = [];
      for (let i = 0; i < b.length; i += 4)
        keep.push(
          b[i + 2] > b[i] &&
            b[i + 3] > b[i + 1] &&
            b[i] < cw &&
            b[i + 1] < ch &&
            b[i + 2] > 0 &&
            b[i + 3] > 0,
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
  const ix = Math.max(0, Math.min(p[2], b[i + 2]) - Math.max(p[0], b[i]));
  const iy = Math.max(0, Math.min(p[3], b[i + 3]) - Math.max(p[1], b[i + 1]));
  const inter = ix * iy;
  const ua = (p[2] - p[0]) * (p[3] - p[1]) + (b[i + 2] - b[i]) * (b[i + 3] - b[i + 1]) - inter;
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
          const cx = (boxes[k] + boxes[k + 2]) / 2,
            cy = (boxes[k + 1] + boxes[k + 3]) / 2;
          keep.push(cx > patch[0] && cy > patch[1] && cx < patch[2] && cy < patch[3]);
        }
        if (boxes.length && !keep.some(Boolean)) continue;
        if (boxes.length) keepInstances(results, keep);
        cropSample(results, patch[0], patch[1], patch[2], patch[3]);
        if (results.gtBboxes && this.bboxClipBorder)
          clipBoxesInPlace(results.gtBboxes, patch[2] - patch[0], patch[3] - patch[1]);
        return results;
      }
    }
    return results;
  }
}

TRANSFORMS.register(RandomCrop, { name: 'RandomCrop' });
TRANSFORMS.register(MinIoURandomCrop, { name: 'MinIoURandomCrop' });
