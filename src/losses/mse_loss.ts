/** mmdet `MSELoss`: element-wise squared error with `lossWeight` and reductions. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Module } from '../nn/module.js';
import { MODELS } from '../registry.js';
import { weightReduceLoss, REDUCTIONS, type LossCallOptions, type Reduction } from './utils.js';

export interface MSELossOptions {
  reduction?: Reduction;
  lossWeight?: number;
}

/**
 * `lossWeight * reduce(weight * (pred - target)^2)`, reduced by `'mean'`
 * (default), `'sum'` or `'none'`, or summed and divided by `avgFactor`.
 *
 * @example
 * ```ts
 * new MSELoss({ reduction: 'sum', lossWeight: 2 }).forward(tf.tensor1d([1, 3]), tf.tensor1d([0, 1])).dataSync(); // => Float32Array [10]
 * ```
 */
export class MSELoss extends Module {
  static readonly configSchema = z
    .object({ reduction: z.enum(REDUCTIONS).optional(), lossWeight: z.number().optional() })
    .strict();
  readonly reduction: Reduction;
  readonly lossWeight: number;

  constructor(opts: MSELossOptions = {}) {
    super();
    this.reduction = opts.reduction ?? 'mean';
    this.lossWeight = opts.lossWeight ?? 1;
  }

  forward(pred: tf.Tensor, target: tf.Tensor, opts: LossCallOptions = {}): tf.Tensor {
    if (pred.shape.join() !== target.shape.join()) {
      throw new Error(
        `MSELoss: pred [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] must have the same shape.`,
      );
    }
    return tf.tidy(() => {
      const l = weightReduceLoss(tf.squaredDifference(pred, target), {
        weight: opts.weight,
        reduction: opts.reductionOverride ?? this.reduction,
        avgFactor: opts.avgFactor,
      });
      return tf.mul(l, this.lossWeight);
    });
  }
}

MODELS.register(MSELoss, { name: 'MSELoss' });
