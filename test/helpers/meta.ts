/** Image meta and samples for tests that build them by hand. */
import type { ImgMeta } from '../../src/structures/index.js';
import type { DetSample } from '../../src/structures/index.js';

/**
 * The meta of an unscaled, unflipped, unpadded `h x w` image (imgId 0, no
 * path); `extra` overrides or adds fields (`imgId`, `batchInputShape`, a
 * rescale's `oriShape` and `scaleFactor`, ...).
 */
export function imgMeta(h: number, w = h, extra: Partial<ImgMeta> = {}): ImgMeta {
  return {
    imgId: 0,
    imgPath: '',
    oriShape: [h, w],
    imgShape: [h, w],
    scaleFactor: [1, 1],
    flip: false,
    flipDirection: null,
    padShape: [h, w],
    ...extra,
  };
}

/** A `size x size` detection sample (imgId 1) with gt boxes `[x1, y1, x2, y2]` and labels. */
export function detSample(boxes: number[][], labels: number[], size: number): DetSample {
  return {
    metainfo: imgMeta(size, size, { imgId: 1 }),
    gtInstances: { bboxes: Float32Array.from(boxes.flat()), labels: Int32Array.from(labels) },
  };
}
