/**
 * mmengine's `parse_losses` and the finiteness check of a training step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossDict } from '../structures/index.js';

/**
 * Reduces each entry to a scalar (the mean of a tensor, the sum of a list's
 * means) and sums every entry whose key contains `loss` into the total.
 * Other entries (e.g. `acc`) are only logged.
 *
 * @example
 * ```ts
 * const { total, terms } = parseLosses({ loss_cls: tf.scalar(1), loss_bbox: [tf.scalar(0.5), tf.scalar(0.25)], acc: tf.scalar(90) });
 * total.dataSync(); // => Float32Array [1.75]
 * terms.map(([k]) => k); // => ['loss_cls', 'loss_bbox', 'acc']
 * ```
 */
export function parseLosses(losses: LossDict<tf.Tensor | tf.Tensor[]>): {
  total: tf.Scalar;
  terms: [string, tf.Scalar][];
} {
  if (typeof (losses as unknown as { then?: unknown }).then === 'function') {
    throw new Error(
      'model.loss() returned a Promise; it must be synchronous (the gradient tape records one synchronous call)',
    );
  }
  const terms: [string, tf.Scalar][] = [];
  for (const [k, v] of Object.entries(losses)) {
    if (Array.isArray(v))
      terms.push([k, v.length ? (tf.addN(v.map((x) => tf.mean(x))) as tf.Scalar) : tf.scalar(0)]);
    else terms.push([k, tf.mean(v) as tf.Scalar]);
  }
  const lossTerms = terms.filter(([k]) => k.includes('loss')).map(([, t]) => t);
  if (lossTerms.length === 0)
    throw new Error(
      `model.loss() returned no term whose key contains 'loss' (keys: ${Object.keys(losses).join(', ') || 'none'})`,
    );
  return { total: tf.addN(lossTerms) as tf.Scalar, terms };
}

/** A loss term that is NaN or infinite; training stops before applying that step's update. */
export class NonFiniteLossError extends Error {
  constructor(
    /** 1-based number of the iteration (as logged). */
    readonly iteration: number,
    /** `[term, value]` of each bad term. */
    readonly terms: [string, number][],
  ) {
    super(
      `iteration ${iteration}: ${terms.map(([k, v]) => (k === 'loss' ? `the total loss is ${v}` : `loss term '${k}' is ${v}`)).join('; ')}`,
    );
    this.name = 'NonFiniteLossError';
  }
}
