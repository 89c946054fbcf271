/**
 * Sigmoid focal loss (Lin et al. 2017, "Focal Loss for Dense Object
 * Detection"), as torchvision `ops.sigmoid_focal_loss` and mmdet `FocalLoss`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Module } from '../nn/module.js';
import { MODELS } from '../registry.js';
import { bceWithLogits, labelsArray, labelsToOneHot, weightReduceLoss, REDUCTIONS, type LossCallOptions, type Reduction } from './utils.js';

/**
 * Element-wise focal loss of logits `pred` against float targets of the same
 * shape (torchvision `sigmoid_focal_loss`): `alpha_t * (1 - p_t)^gamma *
 * BCE(pred, target)`; `alpha < 0` disables the alpha weighting.
 *
 * @example
 * ```ts
 * sigmoidFocalLoss(tf.tensor1d([0]), tf.tensor1d([1]), { reduction: 'none' }).dataSync();
 * // [0.0433217]  = 0.25 * 0.5^2 * ln 2
 * ```
 */
export function sigmoidFocalLoss(
  pred: tf.Tensor,
  target: tf.Tensor,
  opts: { alpha?: number; gamma?: number; reduction?: Reduction } = {},
): tf.Tensor {
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  return tf.tidy(() => {
    const p = tf.sigmoid(pred);
    const ce = bceWithLogits(pred, target);
    // 1 - p_t = p (1 - t) + (1 - p) t
    const oneMinusPt = tf.add(tf.mul(p, tf.sub(1, target)), tf.mul(tf.sub(1, p), target));
    const mod = gamma === 2 ? tf.square(oneMinusPt) : gamma === 0 ? tf.onesLike(oneMinusPt) : tf.pow(oneMinusPt, gamma);
    let loss = tf.mul(ce, mod);
    if (alpha >= 0) loss = tf.mul(loss, tf.add(tf.mul(target, alpha), tf.mul(tf.sub(1, target), 1 - alpha)));
    const r = opts.reduction ?? 'none';
    return r === 'mean' ? tf.mean(loss) : r === 'sum' ? tf.sum(loss) : loss;
  });
}

export interface FocalLossOptions {
  useSigmoid?: boolean;
  gamma?: number;
  alpha?: number;
  reduction?: Reduction;
  lossWeight?: number;
}

/**
 * mmdet `FocalLoss`: `pred` [N, C] logits; `target` either labels [N] in
 * `[0, C]` (C = background, an all-zero one-hot row) or float targets [N, C].
 *
 * @example
 * ```ts
 * const loss = new FocalLoss({ gamma: 2, alpha: 0.25 });
 * loss.forward(tf.zeros([2, 3]), new Int32Array([1, 3]), { avgFactor: 1 }); // scalar
 * ```
 */
export class FocalLoss extends Module {
  static readonly configSchema = z
    .object({
      useSigmoid: z.literal(true).optional(),
      gamma: z.number().nonnegative().optional(),
      alpha: z.number().optional(),
      reduction: z.enum(REDUCTIONS).optional(),
      lossWeight: z.number().optional(),
    })
    .strict();
  readonly gamma: number;
  readonly alpha: number;
  readonly reduction: Reduction;
  readonly lossWeight: number;
  readonly useSigmoid = true;

  constructor(opts: FocalLossOptions = {}) {
    super();
    if (opts.useSigmoid === false) throw new Error('FocalLoss: only the sigmoid form is implemented (useSigmoid: true)');
    this.gamma = opts.gamma ?? 2;
    this.alpha = opts.alpha ?? 0.25;
    this.reduction = opts.reduction ?? 'mean';
    this.lossWeight = opts.lossWeight ?? 1;
  }

  forward(pred: tf.Tensor2D, target: tf.Tensor | Int32Array, opts: LossCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const t =
        target instanceof tf.Tensor && target.rank === 2 ? tf.cast(target, 'float32') : labelsToOneHot(labelsArray(target), pred.shape[1]);
      const loss = sigmoidFocalLoss(pred, t, { alpha: this.alpha, gamma: this.gamma });
      const r = weightReduceLoss(loss, { weight: opts.weight, reduction: opts.reductionOverride ?? this.reduction, avgFactor: opts.avgFactor });
      return tf.mul(r, this.lossWeight);
    });
  }
}

MODELS.register(FocalLoss, { name: 'FocalLoss' });
