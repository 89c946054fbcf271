/**
 * mmdet `CrossEntropyLoss`: softmax cross-entropy over labels (class weights,
 * ignore index) or, with `useSigmoid`, binary cross-entropy with logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Module } from '../nn/module.js';
import { MODELS } from '../registry.js';
import {
  bceWithLogits,
  labelsArray,
  labelsToOneHot,
  weightReduceLoss,
  REDUCTIONS,
  type LossCallOptions,
  type Reduction,
} from './utils.js';

export interface CrossEntropyLossOptions {
  useSigmoid?: boolean;
  reduction?: Reduction;
  /** Per-class weight [C] (softmax: indexed by the target class; sigmoid: per column). */
  classWeight?: number[];
  /** Labels equal to this contribute nothing (softmax form; default -100 as torch). */
  ignoreIndex?: number;
  /** Average over the non-ignored elements only (mmdet `avg_non_ignore`). */
  avgNonIgnore?: boolean;
  lossWeight?: number;
}

/**
 * Softmax cross-entropy of logits [N, C] against labels [N], element-wise [N].
 * Ignored labels (and out-of-range ones) give 0.
 *
 * @example
 * ```ts
 * softmaxCrossEntropy(tf.tensor2d([[0, 0]]), new Int32Array([1])).dataSync(); // => Float32Array [0.6931472]
 * ```
 */
export function softmaxCrossEntropy(
  pred: tf.Tensor2D,
  labels: Int32Array,
  ignoreIndex = -100,
  classWeight?: number[],
): tf.Tensor1D {
  const c = pred.shape[1];
  const w = new Float32Array(labels.length);
  const safe = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === ignoreIndex || l < 0 || l >= c) continue;
    safe[i] = l;
    w[i] = classWeight ? classWeight[l] : 1;
  }
  return tf.tidy(() => {
    const logp = tf.logSoftmax(pred);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(safe, 'int32'), c)), 1);
    return tf.mul(tf.neg(picked), tf.tensor1d(w)) as tf.Tensor1D;
  });
}

export class CrossEntropyLoss extends Module {
  static readonly configSchema = z
    .object({
      useSigmoid: z.boolean().optional(),
      useMask: z.literal(false).optional(),
      reduction: z.enum(REDUCTIONS).optional(),
      classWeight: z.array(z.number()).nullable().optional(),
      ignoreIndex: z.number().int().nullable().optional(),
      avgNonIgnore: z.boolean().optional(),
      lossWeight: z.number().optional(),
    })
    .strict();
  readonly useSigmoid: boolean;
  readonly reduction: Reduction;
  readonly classWeight?: number[];
  readonly ignoreIndex: number;
  readonly avgNonIgnore: boolean;
  readonly lossWeight: number;

  constructor(
    opts: CrossEntropyLossOptions & {
      classWeight?: number[] | null;
      ignoreIndex?: number | null;
    } = {},
  ) {
    super();
    this.useSigmoid = opts.useSigmoid ?? false;
    this.reduction = opts.reduction ?? 'mean';
    this.classWeight = opts.classWeight ?? undefined;
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.avgNonIgnore = opts.avgNonIgnore ?? false;
    this.lossWeight = opts.lossWeight ?? 1;
  }

  /**
   * Softmax: `pred` [N, C], `target` labels [N]. Sigmoid: `pred` [N, C] with
   * labels [N] (expanded to one-hot, label C = all zero) or float targets of
   * `pred`'s shape; `pred` [N] takes float targets [N].
   */
  forward(pred: tf.Tensor, target: tf.Tensor | Int32Array, opts: LossCallOptions = {}): tf.Tensor {
    const reduction = opts.reductionOverride ?? this.reduction;
    return tf.tidy(() => {
      let loss: tf.Tensor;
      let avgFactor = opts.avgFactor;
      if (this.useSigmoid) {
        const t =
          target instanceof tf.Tensor && target.shape.length === pred.shape.length
            ? tf.cast(target, 'float32')
            : labelsToOneHot(labelsArray(target), pred.shape[1]!);
        loss = bceWithLogits(pred, t);
        if (this.classWeight) loss = tf.mul(loss, tf.tensor1d(this.classWeight));
      } else {
        const labels = labelsArray(target);
        loss = softmaxCrossEntropy(pred as tf.Tensor2D, labels, this.ignoreIndex, this.classWeight);
        if (this.avgNonIgnore && avgFactor === undefined && reduction === 'mean') {
          avgFactor = labels.reduce((s, l) => s + (l !== this.ignoreIndex ? 1 : 0), 0);
        }
      }
      return tf.mul(
        weightReduceLoss(loss, { weight: opts.weight, reduction, avgFactor }),
        this.lossWeight,
      );
    });
  }
}

MODELS.register(CrossEntropyLoss, { name: 'CrossEntropyLoss' });
