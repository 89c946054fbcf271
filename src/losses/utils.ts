/**
 * Shared reduction of element-wise losses (mmdet `weight_reduce_loss`):
 * multiply by an optional weight, then reduce by `'mean' | 'sum' | 'none'`,
 * or, with `avgFactor`, sum and divide by it (the number of positives, say)
 * instead of the element count.
 */
import * as tf from '@tensorflow/tfjs-core';

export type Reduction = 'none' | 'mean' | 'sum';

/** Options every loss `forward` accepts after `(pred, target)`. */
export interface LossCallOptions {
  /** Element-wise weight, broadcastable to the loss (a per-row [N] weight is broadcast over columns). */
  weight?: tf.Tensor;
  /** Divide the summed loss by this instead of the element count (mean reduction only). */
  avgFactor?: number;
  reductionOverride?: Reduction;
}

/** torch.finfo(torch.float32).eps, the guard mmdet adds to `avgFactor`. */
export const FLOAT32_EPS = 1.1920928955078125e-7;

/** Broadcast a per-row weight [N] against a loss [N, C]. */
function alignWeight(loss: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  if (weight.rank === 1 && loss.rank === 2 && weight.shape[0] === loss.shape[0])
    return tf.reshape(weight, [-1, 1]);
  return weight;
}

/**
 * @example
 * ```ts
 * weightReduceLoss(tf.tensor1d([1, 2, 3]), { avgFactor: 2 }).dataSync(); // => Float32Array [3] (6 / 2)
 * ```
 */
export function weightReduceLoss(
  loss: tf.Tensor,
  opts: { weight?: tf.Tensor; reduction?: Reduction; avgFactor?: number } = {},
): tf.Tensor {
  const reduction = opts.reduction ?? 'mean';
  let l = opts.weight ? tf.mul(loss, alignWeight(loss, opts.weight)) : loss;
  if (opts.avgFactor === undefined) {
    if (reduction === 'mean') l = l.size ? tf.mean(l) : tf.scalar(0);
    else if (reduction === 'sum') l = tf.sum(l);
    return l;
  }
  if (reduction === 'mean') return tf.div(tf.sum(l), opts.avgFactor + FLOAT32_EPS);
  if (reduction === 'none') return l;
  throw new Error(`avgFactor can not be used with reduction '${reduction}'`);
}

/** Schema fragments shared by the loss configs. */
export const REDUCTIONS = ['none', 'mean', 'sum'] as const;

/** Numerically stable `BCEWithLogits(x, t)` element-wise: `max(x, 0) - x t + log(1 + exp(-|x|))`. */
export function bceWithLogits(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

/** One-hot [N, C] of labels [N] in `[0, C]`, where `C` (background) gives an all-zero row. */
export function labelsToOneHot(labels: Int32Array, numClasses: number): tf.Tensor2D {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= 0 && l < numClasses) out[i * numClasses + l] = 1;
  }
  return tf.tensor2d(out, [labels.length, numClasses]);
}

/** Labels given as a tensor or a typed array, as an Int32Array. */
export function labelsArray(target: tf.Tensor | Int32Array): Int32Array {
  return target instanceof Int32Array ? target : Int32Array.from(target.dataSync());
}
