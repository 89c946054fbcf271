/**
 * The data a segmentor exchanges with the loader and the evaluator: a
 * collated batch in (the loader's batch with `gtSemSeg` from PackSegInputs),
 * one {@link SegDataSample} per image out (mmseg's `SegDataSample` with
 * `pred_sem_seg` / `seg_logits`).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ImgMeta } from '../datasets/types.js';

/** A label map: `height * width` values, row-major; 255 marks ignored pixels. */
export interface PixelData {
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

/** A collated batch: NHWC float32 inputs (normalised, each image at the top-left, padded) and one sample per image. */
export interface SegBatch {
  inputs: tf.Tensor4D;
  dataSamples: SegSample[];
}

/** What `EncoderDecoder.predict` returns per image. */
export interface SegDataSample {
  metainfo: ImgMeta;
  /** Class index per pixel of the original image. */
  predSemSeg: PixelData;
  /** Class scores (logits) `height * width * numClasses`, HWC, of the original image (with `testCfg.outputLogits`). */
  segLogits?: { data: Float32Array; height: number; width: number; channels: number };
  /** The sample's ground truth, passed through for the evaluator (SegMetric). */
  gtSemSeg?: PixelData;
}

/** Losses by name (`decode.loss_ce`, `aux.loss_ce`, `decode.acc_seg`, ...); keys containing 'loss' are summed by the engine. */
export type SegLossDict = Record<string, tf.Scalar>;
