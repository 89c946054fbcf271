/** Image meta for tests that build samples by hand. */
import type { ImgMeta } from '../../src/datasets/types.js';

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
