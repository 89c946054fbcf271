/**
 * Loss dicts (mmengine's `parse_losses` input).
 */
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Losses by name (mmdet's `loss_cls`, `loss_bbox`, ...; mmseg's
 * `decode.loss_ce`, `decode.acc_seg`, ...); keys containing 'loss' are summed
 * by the engine. `T` is the type of an entry: by default a scalar or a list of
 * scalars (e.g. one per FPN level); the segmentors' are single scalars
 * (`LossDict<tf.Scalar>`); the engine takes any tensors
 * (`LossDict<tf.Tensor | tf.Tensor[]>`, reduced by their means).
 */
export type LossDict<T extends tf.Tensor | tf.Tensor[] = tf.Scalar | tf.Scalar[]> = Record<
  string,
  T
>;
