/**
 * The data samples of semantic segmentation (mmseg's `SegDataSample`): what
 * the loader hands a segmentor per image ({@link SegSample}, the loader's
 * sample with `gtSemSeg` from PackSegInputs) and what `predict` returns and
 * SegMetric reads ({@link SegDataSample}, with `pred_sem_seg` / `seg_logits`).
 */
import type { ImgMeta } from './img_meta.js';

/**
 * A label map: class index per pixel, row-major `height * width`, in any
 * array-like (SegMetric also takes it without its size; drawSemSeg needs the
 * size); {@link PixelData} is the form the segmentors produce.
 */
export interface LabelMap {
  data: ArrayLike<number>;
  height?: number;
  width?: number;
}

/** A label map: `height * width` values, row-major; 255 marks ignored pixels. */
export interface PixelData extends LabelMap {
  data: Uint8Array;
  height: number;
  width: number;
}

/** One image's meta information and label map, as collated by the loader. */
export interface SegSample {
  metainfo: ImgMeta;
  /** Label map (PackSegInputs); at the network input size in training, at the original size in testing. */
  gtSemSeg?: PixelData;
  [key: string]: unknown;
}

/**
 * What `EncoderDecoder.predict` returns per image and SegMetric reads. `M`
 * is the form of the label maps: the segmentors' {@link PixelData}, or any
 * {@link LabelMap} for the metric (see {@link SegMetricSample}).
 */
export interface SegDataSample<M extends LabelMap = PixelData> {
  metainfo: ImgMeta;
  /** Class index per pixel of the original image. */
  predSemSeg: M;
  /** Class scores (logits) `height * width * numClasses`, HWC, of the original image (with `testCfg.outputLogits`). */
  segLogits?: { data: Float32Array; height: number; width: number; channels: number };
  /** The sample's ground truth, passed through for the evaluator (SegMetric). */
  gtSemSeg?: M;
  [key: string]: unknown;
}

/** A {@link SegDataSample} as SegMetric reads it (mmseg's `pred_sem_seg` / `gt_sem_seg`, flat label maps): no `metainfo` needed. */
export type SegMetricSample = Required<Pick<SegDataSample<LabelMap>, 'predSemSeg' | 'gtSemSeg'>> &
  Partial<SegDataSample<LabelMap>>;
