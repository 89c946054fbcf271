/** The meta information packed with every image (mmdet's `metainfo`). */

export type FlipDirection = 'horizontal' | 'vertical' | 'diagonal';

/** Meta information packed with every image. */
export interface ImgMeta {
  imgId: string | number;
  imgPath: string;
  oriShape: [number, number];
  imgShape: [number, number];
  scaleFactor: [number, number];
  flip: boolean;
  flipDirection: FlipDirection | null;
  padShape: [number, number];
  /** Pad's `sizeDivisor`, if any. */
  padSizeDivisor?: number;
  /** Normalize's settings, if it ran. */
  imgNormCfg?: { mean: number[]; std: number[]; toRgb: boolean };
  /** `[h, w]` of the batch tensor; set by the loader's collate. */
  batchInputShape?: [number, number];
}
