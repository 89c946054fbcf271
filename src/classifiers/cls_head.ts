/**
 * Classification heads (mmpretrain's `LinearClsHead`, `StackedLinearClsHead`):
 * global average pool of the last feature map, then linear layer(s).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { activate, Dropout, Linear, Module, ModuleList, type ActCfg } from '../nn/index.js';
import { actCfgSchema } from '../backbones/utils.js';

/** Softmax cross-entropy averaged over the batch (optionally label-smoothed). */
export function labelSmoothingCrossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D | number[],
  labelSmoothing = 0,
): tf.Scalar {
  return tf.tidy(() => {
    const n = logits.shape[1];
    const lab = Array.isArray(labels) ? tf.tensor1d(labels, 'int32') : tf.cast(labels, 'int32');
    let target: tf.Tensor = tf.oneHot(lab, n);
    if (labelSmoothing > 0) target = tf.add(tf.mul(target, 1 - labelSmoothing), labelSmoothing / n);
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logp), 1))) as tf.Scalar;
  });
}

const pooled = (feats: tf.Tensor | tf.Tensor[]): tf.Tensor2D => {
  const last = Array.isArray(feats) ? feats[feats.length - 1] : feats;
  return (last.rank === 4 ? tf.mean(last, [1, 2]) : last) as tf.Tensor2D;
};

export const linearClsHeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    inChannels: z.number().int().positive(),
    dropout: z.number().min(0).max(1).default(0),
    labelSmoothing: z.number().min(0).max(1).default(0),
  })
  .strict();

/**
 * Global average pool + `fc` (`[inChannels, numClasses]`). Takes the
 * backbone's list of maps and uses the last one (or an already pooled `[N, C]`).
 *
 * @example
 * ```ts
 * const head = new LinearClsHead({ numClasses: 10, inChannels: 512 });
 * head.forward([tf.zeros([2, 7, 7, 512])]).shape; // => [2, 10]
 * ```
 */
export class LinearClsHead extends Module {
  readonly opts: z.output<typeof linearClsHeadSchema>;
  readonly fc: Linear;
  readonly drop: Dropout;
  constructor(options: z.input<typeof linearClsHeadSchema>) {
    super();
    this.opts = linearClsHeadSchema.parse(options);
    this.drop = new Dropout(this.opts.dropout);
    this.fc = this.addModule('fc', new Linear(this.opts.inChannels, this.opts.numClasses));
  }
  /** Logits `[N, numClasses]`. */
  forward(feats: tf.Tensor | tf.Tensor[]): tf.Tensor2D {
    this.drop.training = this.training;
    return this.fc.forward(this.drop.forward(pooled(feats))) as tf.Tensor2D;
  }
  loss(feats: tf.Tensor | tf.Tensor[], labels: tf.Tensor1D | number[]): tf.Scalar {
    return labelSmoothingCrossEntropy(this.forward(feats), labels, this.opts.labelSmoothing);
  }
}

export const stackedLinearClsHeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    inChannels: z.number().int().positive(),
    midChannels: z.array(z.number().int().positive()).min(1),
    actCfg: actCfgSchema.default({ type: 'ReLU' }),
    dropout: z.number().min(0).max(1).default(0),
    labelSmoothing: z.number().min(0).max(1).default(0),
  })
  .strict();

/** A linear layer with an optional activation and dropout after it (`fc`), as mmpretrain's `LinearBlock`. */
export class LinearBlock extends Module {
  readonly fc: Linear;
  constructor(
    inF: number,
    outF: number,
    readonly act: ActCfg | null,
    readonly drop: Dropout,
  ) {
    super();
    this.fc = this.addModule('fc', new Linear(inF, outF));
  }
  forward(x: tf.Tensor): tf.Tensor {
    let y = this.fc.forward(x);
    if (this.act) y = activate(this.act.type, y, this.act.negativeSlope);
    this.drop.training = this.training;
    return this.act ? this.drop.forward(y) : y;
  }
}

/**
 * Pool + linear blocks `layers.0..k` (MobileNetV3's classifier:
 * `midChannels: [1280]`, `actCfg: {type: 'HSwish'}`, `dropout: 0.2`).
 *
 * @example
 * ```ts
 * const head = new StackedLinearClsHead({ numClasses: 1000, inChannels: 960, midChannels: [1280], actCfg: { type: 'HSwish' } });
 * head.forward([tf.zeros([1, 7, 7, 960])]).shape; // => [1, 1000]
 * ```
 */
export class StackedLinearClsHead extends Module {
  readonly opts: z.output<typeof stackedLinearClsHeadSchema>;
  readonly layers: ModuleList<LinearBlock>;
  constructor(options: z.input<typeof stackedLinearClsHeadSchema>) {
    super();
    const o = (this.opts = stackedLinearClsHeadSchema.parse(options));
    const dims = [o.inChannels, ...o.midChannels, o.numClasses];
    const blocks: LinearBlock[] = [];
    for (let i = 0; i + 1 < dims.length; i++) {
      const last = i + 2 === dims.length;
      blocks.push(
        new LinearBlock(dims[i], dims[i + 1], last ? null : o.actCfg, new Dropout(o.dropout)),
      );
    }
    this.layers = this.addModule('layers', new ModuleList(blocks));
  }
  forward(feats: tf.Tensor | tf.Tensor[]): tf.Tensor2D {
    let y: tf.Tensor = pooled(feats);
    for (const l of this.layers) y = l.forward(y);
    return y as tf.Tensor2D;
  }
  loss(feats: tf.Tensor | tf.Tensor[], labels: tf.Tensor1D | number[]): tf.Scalar {
    return labelSmoothingCrossEntropy(this.forward(feats), labels, this.opts.labelSmoothing);
  }
}

MODELS.register(LinearClsHead, { name: 'LinearClsHead', schema: linearClsHeadSchema });
MODELS.register(StackedLinearClsHead, {
  name: 'StackedLinearClsHead',
  schema: stackedLinearClsHeadSchema,
});
