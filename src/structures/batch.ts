/**
 * Collated batches: what the loader yields and the models' `loss` /
 * `predict` take.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DetSample, PackedDataSample } from './det_data_sample.js';
import type { SegSample } from './seg_data_sample.js';

/**
 * One collated batch: NHWC float32 inputs `[n, H, W, 3]` (normalised, each
 * image at the top-left, padded) and one sample per image. `S` is the type
 * of the samples: the loader's packed samples by default; a detector reads
 * them as {@link DetSample}s ({@link DetBatch}), a segmentor as
 * {@link SegSample}s ({@link SegBatch}).
 */
export interface Batch<S = PackedDataSample> {
  /** NHWC float32 `[n, H, W, 3]`, each image at the top-left, padded with `padValue`. */
  inputs: tf.Tensor4D;
  dataSamples: S[];
  /** Data set indices of the images (set by the DataLoader; a batch made by hand may leave them out). */
  indices?: number[];
}

/** A {@link Batch} as a detector takes it. */
export type DetBatch = Batch<DetSample>;

/** A {@link Batch} as a segmentor takes it (the loader's batch with `gtSemSeg` from PackSegInputs). */
export type SegBatch = Batch<SegSample>;

/** A batch as the engine sees it: opaque except `inputs` (disposed after the step) and `dataSamples`. */
export interface EngineBatch {
  inputs?: tf.Tensor;
  dataSamples?: unknown[];
  [key: string]: unknown;
}

/** A batch before the tensor is made. */
export interface RawBatch {
  data: Float32Array;
  shape: [number, number, number, number];
  dataSamples: PackedDataSample[];
  indices: number[];
}
