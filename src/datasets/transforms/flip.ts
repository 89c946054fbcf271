/** mmdetection's `RandomFlip`; records `flip` and `flipDirection` in the meta. */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { FlipDirection } from '../../structures/index.js';
import type { DataSample } from '../types.js';
import { flipPlane, mapMasks } from './planes.js';
import { currentSize, sampleRng } from './sample_utils.js';
import { TRANSFORMS } from '../../registry.js';

/** Flip boxes `n*4` in an image `w x h` (mmdetection's convention: `x1' = w - x2`). */
export function flipBoxes(b: Float32Array, w: number, h: number, direction: FlipDirection): void {
  for (let i = 0; i < b.length; i += 4) {
    if (direction !== 'vertical') {
      const x1 = b[i];
      b[i] = w - b[i + 2];
      b[i + 2] = w - x1;
    }
    if (direction !== 'horizontal') {
      const y1 = b[i + 1];
      b[i + 1] = h - b[i + 3];
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
      acc += this.probs[i];
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

TRANSFORMS.register(RandomFlip, { name: 'RandomFlip' });
