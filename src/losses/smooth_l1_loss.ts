/** mmdet `SmoothL1Loss` and `L1Loss` on aligned [N, 4] regressions. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Module } from '../nn/module.js';
import { MODELS } from '../registry.js';
import { weightReduceLoss, REDUCTIONS, type LossCallOptions, type Reduction } from './utils.js';

/**
 * Element-wise smooth L1 (Huber with slope 1): `0.5 d^2 / beta` for
 * `|d| < beta`, else `|d| - 0.5 beta`; plain L1 when `beta` is 0.
 *
 * @example
 * ```ts
 * smoothL1(tf.tensor1d([0.5, 2]), tf.tensor1d([0, 0]), 1).dataSync(); // => Float32Array [0.125, 1.5]
 * ```
 */
export function smoothL1(pred: tf.Tensor, target: tf.Tensor, beta = 1): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(pred, target));
    if (beta <= 0) return d;
    // 0.5 m^2 / beta + (d - m) with m = min(d, beta): the two branches without a
    // comparison op on the gradient path (tfjs has no gradient for Less).
    const m = tf.minimum(d, beta);
    return tf.add(tf.div(tf.mul(tf.square(m), 0.5), beta), tf.sub(d, m));
  });
}

const schema = z
  .object({
    beta: z.number().nonnegative().optional(),
    reduction: z.enum(REDUCTIONS).optional(),
    lossWeight: z.number().optional(),
  })
  .strict();

export class SmoothL1Loss extends Module {
  static readonly configSchema = schema;
  readonly beta: number;
  readonly reduction: Reduction;
  readonly lossWeight: number;
  constructor(opts: { beta?: number; reduction?: Reduction; lossWeight?: number } = {}) {
    super();
    this.beta = opts.beta ?? 1;
    this.reduction = opts.reduction ?? 'mean';
    this.lossWeight = opts.lossWeight ?? 1;
  }
  forward(pred: tf.Tensor, target: tf.Tensor, opts: LossCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      if (pred.size === 0) return tf.mul(tf.sum(pred), 0);
      const l = weightReduceLoss(smoothL1(pred, target, this.beta), {
        weight: opts.weight,
        reduction: opts.reductionOverride ?? this.reduction,
        avgFactor: opts.avgFactor,
      });
      return tf.mul(l, this.lossWeight);
    });
  }
}

export class L1Loss extends Module {
  static readonly configSchema = schema.omit({ beta: true });
  readonly reduction: Reduction;
  readonly lossWeight: number;
  constructor(opts: { reduction?: Reduction; lossWeight?: number } = {}) {
    super();
    this.reduction = opts.reduction ?? 'mean';
    this.lossWeight = opts.lossWeight ?? 1;
  }
  forward(pred: tf.Tensor, target: tf.Tensor, opts: LossCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      if (pred.size === 0) return tf.mul(tf.sum(pred), 0);
      const l = weightReduceLoss(tf.abs(tf.sub(pred, target)), {
        weight: opts.weight,
        reduction: opts.reductionOverride ?? this.reduction,
        avgFactor: opts.avgFactor,
      });
      return tf.mul(l, this.lossWeight);
    });
  }
}

MODELS.register(SmoothL1Loss, { name: 'SmoothL1Loss' });
MODELS.register(L1Loss, { name: 'L1Loss' });
