/**
 * The data a detector and its heads exchange with the loader and the
 * evaluator: a collated batch in, `DetDataSample`s with `predInstances` out.
 * Field names follow the datasets' PackDetInputs / collate.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { GtInstances, ImgMeta } from '../datasets/types.js';

export type { GtInstances, ImgMeta };

/** One image's targets and meta information, as collated by the loader. */
export interface DetSample {
  metainfo: ImgMeta;
  gtInstances: GtInstances;
  ignoredInstances?: GtInstances;
}

/** A collated batch: NHWC float32 inputs (normalised, padded) and one sample per image. */
export interface DetBatch {
  inputs: tf.Tensor4D;
  dataSamples: DetSample[];
}

/** Detections of one image, in original-image pixels when rescaled. */
export interface InstanceData {
  /** `n*4` `[x1, y1, x2, y2]`. */
  bboxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  /**
   * Instance masks (Mask R-CNN), one per box: row-major `h*w` 0/1 planes
   * of the same image as the boxes (the original image when rescaled).
   */
  masks?: Uint8Array[];
}

/** What `predict` returns per image. */
export interface DetDataSample {
  metainfo: ImgMeta;
  predInstances: InstanceData;
}

/** Losses by name (mmdet's `loss_cls`, `loss_bbox`, ...); keys containing 'loss' are summed by the engine. */
export type LossDict = Record<string, tf.Scalar | tf.Scalar[]>;

/** `trainCfg` of a dense head. */
export interface DenseTrainCfg {
  assigner?: Record<string, unknown>;
  sampler?: Record<string, unknown>;
  /** Anchors further outside the image than this are not trained (`< 0`: keep all valid anchors). */
  allowedBorder?: number;
  /** Weight of positive samples in the classification loss (`<= 0`: 1). */
  posWeight?: number;
  /** SSD: negatives per positive kept by hard negative mining. */
  negPosRatio?: number;
  smoothl1Beta?: number;
  debug?: boolean;
  [key: string]: unknown;
}

/** `testCfg` of a dense head (mmdet names in camelCase). */
export interface DenseTestCfg {
  nmsPre?: number;
  minBboxSize?: number;
  scoreThr?: number;
  nms?: { type?: string; iouThreshold: number; classAgnostic?: boolean };
  maxPerImg?: number;
  [key: string]: unknown;
}
