/**
 * ImageClassifier (mmpretrain's): backbone -> optional neck -> classification
 * head, so that a backbone can be trained and checked on its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { Module } from '../nn/index.js';
import { initWeights } from '../backbones/init_weights.js';
import { initSchema, moduleOrConfig } from '../backbones/utils.js';

export const imageClassifierSchema = z
  .object({
    backbone: moduleOrConfig,
    neck: moduleOrConfig.optional(),
    head: moduleOrConfig,
    /** Applied to the whole classifier after its parts are built (e.g. `Pretrained` on a converted torchvision file). */
    init: initSchema,
  })
  .strict();

type Part = Module | { type: string };

const built = (p: Part, path: string): Module =>
  p instanceof Module ? p : MODELS.build<Module>(p, { path });

interface ClsHead extends Module {
  forward(feats: tf.Tensor | tf.Tensor[]): tf.Tensor2D;
  loss(feats: tf.Tensor | tf.Tensor[], labels: tf.Tensor1D | number[]): tf.Scalar;
}

/**
 * Image classifier: `forward(x)` gives logits `[N, numClasses]`, `loss(x, labels)`
 * the softmax cross-entropy, `predict(x)` softmax scores and labels.
 *
 * @example
 * ```ts
 * const clf = MODELS.build<ImageClassifier>({
 *   type: 'ImageClassifier',
 *   backbone: { type: 'ResNet', depth: 18, outIndices: [3] },
 *   head: { type: 'LinearClsHead', numClasses: 1000, inChannels: 512 },
 * });
 * clf.forward(tf.zeros([1, 224, 224, 3])).shape; // => [1, 1000]
 * ```
 */
export class ImageClassifier extends Module {
  readonly backbone: Module;
  readonly neck?: Module;
  readonly head: ClsHead;

  constructor(options: z.input<typeof imageClassifierSchema>) {
    super();
    const o = imageClassifierSchema.parse(options);
    this.backbone = this.addModule('backbone', built(o.backbone, 'model.backbone'));
    if (o.neck) this.neck = this.addModule('neck', built(o.neck, 'model.neck'));
    this.head = this.addModule('head', built(o.head, 'model.head') as ClsHead);
    initWeights(this, o.init);
  }

  /** Backbone (and neck) features. */
  extractFeat(x: tf.Tensor4D): tf.Tensor[] {
    const f = this.backbone.forward(x) as tf.Tensor | tf.Tensor[];
    const feats = Array.isArray(f) ? f : [f];
    if (!this.neck) return feats;
    const n = this.neck.forward(feats) as tf.Tensor | tf.Tensor[];
    return Array.isArray(n) ? n : [n];
  }

  forward(x: tf.Tensor4D): tf.Tensor2D {
    return this.head.forward(this.extractFeat(x));
  }

  loss(x: tf.Tensor4D, labels: tf.Tensor1D | number[]): tf.Scalar {
    return this.head.loss(this.extractFeat(x), labels);
  }

  /** Softmax scores and the arg-max label per image. */
  predict(x: tf.Tensor4D): { scores: tf.Tensor2D; labels: tf.Tensor1D } {
    return tf.tidy(() => {
      const scores = tf.softmax(this.forward(x)) as tf.Tensor2D;
      return { scores, labels: tf.argMax(scores, 1) as tf.Tensor1D };
    });
  }
}

MODELS.register(ImageClassifier, {
  name: 'ImageClassifier',
  schema: imageClassifierSchema,
  unbuilt: ['backbone', 'neck', 'head'],
});
