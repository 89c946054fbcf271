/** Helpers of the geometric transforms: the sample's generator and size, keeping or clipping its instances. */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { DataSample } from '../types.js';

/** Schema of a `[number, number]` option. */
export const pairSchema = z.tuple([z.number(), z.number()]);

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
    results.gtBboxesLabels = Int32Array.from(idx, (j) => results.gtBboxesLabels![j]);
  if (results.gtIgnoreFlags)
    results.gtIgnoreFlags = Uint8Array.from(idx, (j) => results.gtIgnoreFlags![j]);
  if (results.gtMasks)
    results.gtMasks = { ...results.gtMasks, masks: idx.map((j) => results.gtMasks!.masks[j]) };
}

/** Clip boxes `n*4` in place to an image `w x h`. */
export function clipBoxesInPlace(b: Float32Array, w: number, h: number): void {
  for (let i = 0; i < b.length; i += 4) {
    b[i] = Math.min(Math.max(b[i], 0), w);
    b[i + 1] = Math.min(Math.max(b[i + 1], 0), h);
    b[i + 2] = Math.min(Math.max(b[i + 2], 0), w);
    b[i + 3] = Math.min(Math.max(b[i + 3], 0), h);
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
