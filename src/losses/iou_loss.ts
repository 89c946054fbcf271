/** GIoU loss (Rezatofighi et al. 2019), as torchvision `generalized_box_iou_loss` and mmdet `GIoULoss`. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Module } from '../nn/module.js';
import { MODELS } from '../registry.js';
import { weightReduceLoss, REDUCTIONS, type LossCallOptions, type Reduction } from './utils.js';

/**
 * Element-wise `1 - GIoU` of aligned boxes [N, 4] (`x1 < x2`, `y1 < y2`),
 * with torchvision's `eps` placement: `iou = inter / (union + eps)`,
 * `giou = iou - (area_c - union) / (area_c + eps)`.
 *
 * @example
 * ```ts
 * giouLoss(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[1, 1, 3, 3]])).dataSync(); // => Float32Array [1.0793651] (1 - (1/7 - 2/9))
 * ```
 */
export function giouLoss(pred: tf.Tensor2D, target: tf.Tensor2D, eps = 1e-7): tf.Tensor1D {
  return tf.tidy(() => {
    const [px1, py1, px2, py2] = tf.unstack(pred, 1);
    const [tx1, ty1, tx2, ty2] = tf.unstack(target, 1);
    const inter = tf.mul(
      tf.relu(tf.sub(tf.minimum(px2, tx2), tf.maximum(px1, tx1))),
      tf.relu(tf.sub(tf.minimum(py2, ty2), tf.maximum(py1, ty1))),
    );
    const union = tf.sub(
      tf.add(
        tf.mul(tf.sub(px2, px1), tf.sub(py2, py1)),
        tf.mul(tf.sub(tx2, tx1), tf.sub(ty2, ty1)),
      ),
      inter,
    );
    const iou = tf.div(inter, tf.add(union, eps));
    const areaC = tf.mul(
      tf.sub(tf.maximum(px2, tx2), tf.minimum(px1, tx1)),
      tf.sub(tf.maximum(py2, ty2), tf.minimum(py1, ty1)),
    );
    const giou = tf.sub(iou, tf.div(tf.sub(areaC, union), tf.add(areaC, eps)));
    return tf.sub(1, giou) as tf.Tensor1D;
  });
}

export class GIoULoss extends Module {
  static readonly configSchema = z
    .object({
      eps: z.number().positive().optional(),
      reduction: z.enum(REDUCTIONS).optional(),
      lossWeight: z.number().optional(),
    })
    .strict();
  readonly eps: number;
  readonly reduction: Reduction;
  readonly lossWeight: number;
  constructor(opts: { eps?: number; reduction?: Reduction; lossWeight?: number } = {}) {
    super();
    this.eps = opts.eps ?? 1e-6;
    this.reduction = opts.reduction ?? 'mean';
    this.lossWeight = opts.lossWeight ?? 1;
  }
  /** `pred`, `target` decoded boxes [N, 4]; `weight` per box [N] (or [N, 4], averaged as mmdet). */
  forward(pred: tf.Tensor2D, target: tf.Tensor2D, opts: LossCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      if (pred.shape[0] === 0) return tf.mul(tf.sum(pred), 0);
      const weight = opts.weight && opts.weight.rank > 1 ? tf.mean(opts.weight, -1) : opts.weight;
      const l = weightReduceLoss(giouLoss(pred, target, this.eps), {
        weight,
        reduction: opts.reductionOverride ?? this.reduction,
        avgFactor: opts.avgFactor,
      });
      return tf.mul(l, this.lossWeight);
    });
  }
}

MODELS.register(GIoULoss, { name: 'GIoULoss' });
