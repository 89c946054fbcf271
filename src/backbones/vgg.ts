/**
 * VGG (Simonyan & Zisserman, 2015) as mmcv's/torchvision's: `features.i` are
 * the layers in torchvision's order (conv, [bn], relu, ..., maxpool), so
 * torchvision weights load with the same indices; and SSDVGG, the VGG-16 of
 * SSD (Liu et al. 2016) with ceil-mode pools, a 3x3/1 pool5 and the dilated
 * fc6/fc7 convolutions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import {
  Activation,
  adaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Linear,
  MaxPool2d,
  Module,
  Sequential,
} from '../nn/index.js';
import { initWeights } from './init_weights.js';
import {
  checkInput,
  freezeChildren,
  indexList,
  initSchema,
  normCfgSchema,
  setNormEval,
} from './utils.js';

const STAGE_BLOCKS: Record<number, number[]> = {
  11: [1, 1, 2, 2, 2],
  13: [2, 2, 2, 2, 2],
  16: [2, 2, 3, 3, 3],
  19: [2, 2, 4, 4, 4],
};

export const vggSchema = z
  .object({
    depth: z.literal([11, 13, 16, 19]),
    /** BatchNorm after every conv (torchvision's `vggXX_bn`); `null` for none. */
    normCfg: normCfgSchema.nullable().default(null),
    /** > 0 adds torchvision's classifier (7x7 adaptive pool, fc 4096-4096-numClasses); its logits come last in the outputs. */
    numClasses: z.number().int().default(-1),
    numStages: z.number().int().min(1).max(5).default(5),
    dilations: z.array(z.number().int().positive()).optional(),
    outIndices: indexList.default([0, 1, 2, 3, 4]),
    frozenStages: z.number().int().min(-1).default(-1),
    normEval: z.boolean().default(false),
    ceilMode: z.boolean().default(false),
    withLastPool: z.boolean().default(true),
    dropout: z.number().min(0).max(1).default(0.5),
    init: initSchema,
  })
  .strict();

export type VGGOptions = z.input<typeof vggSchema>;

/**
 * VGG backbone. The outputs are the ends of the stages in `outIndices` (each
 * stage ends with its max pool: strides 2, 4, 8, 16, 32), then the logits
 * when `numClasses > 0`.
 *
 * @example
 * ```ts
 * const vgg = MODELS.build<VGG>({ type: 'VGG', depth: 16, outIndices: [4] });
 * vgg.forward(tf.zeros([1, 64, 64, 3]))[0].shape; // => [1, 2, 2, 512]
 * ```
 */
export class VGG extends Module {
  readonly opts: z.output<typeof vggSchema>;
  readonly features: Sequential;
  readonly classifier?: Sequential;
  /** Index in `features` of the last layer of each stage. */
  readonly stageEnds: number[] = [];
  /** Stage index of every layer of `features`. */
  protected readonly layerStage: number[] = [];

  constructor(options: VGGOptions, extraLayers: (inChannels: number) => Module[] = () => []) {
    super();
    const o = (this.opts = vggSchema.parse(options));
    const layers: Module[] = [];
    let inCh = 3;
    const blocks = STAGE_BLOCKS[o.depth];
    for (let s = 0; s < o.numStages; s++) {
      const out = 64 * 2 ** Math.min(s, 3);
      const d = o.dilations?.[s] ?? 1;
      for (let b = 0; b < blocks[s]; b++) {
        layers.push(
          new Conv2d({
            inChannels: inCh,
            outChannels: out,
            kernelSize: 3,
            padding: d,
            dilation: d,
          }),
        );
        if (o.normCfg)
          layers.push(
            new BatchNorm2d(out, {
              eps: o.normCfg.eps,
              momentum: o.normCfg.momentum,
            }),
          );
        layers.push(new Activation('ReLU'));
        inCh = out;
      }
      if (s < o.numStages - 1 || o.withLastPool)
        layers.push(new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: o.ceilMode }));
      this.stageEnds.push(layers.length - 1);
      while (this.layerStage.length < layers.length) this.layerStage.push(s);
    }
    const extra = extraLayers(inCh);
    layers.push(...extra);
    while (this.layerStage.length < layers.length) this.layerStage.push(o.numStages);
    this.features = this.addModule('features', new Sequential(...layers));
    if (o.numClasses > 0) {
      this.classifier = this.addModule(
        'classifier',
        new Sequential(
          new Linear(512 * 7 * 7, 4096),
          new Activation('ReLU'),
          new Dropout(o.dropout),
          new Linear(4096, 4096),
          new Activation('ReLU'),
          new Dropout(o.dropout),
          new Linear(4096, o.numClasses),
        ),
      );
    }
    initWeights(
      this,
      o.init ?? [
        { type: 'Kaiming', layer: 'Conv2d' },
        { type: 'Normal', layer: 'Linear', std: 0.01 },
      ],
    );
    this.train(true);
  }

  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this;
    if (this.opts.frozenStages >= 0) {
      const last = this.stageEnds[Math.min(this.opts.frozenStages, this.stageEnds.length - 1)];
      for (let i = 0; i <= last; i++) freezeChildren(this.features, [String(i)]);
    }
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  /** Stage outputs for `outIndices` (and the logits when there is a classifier). */
  forward(x: tf.Tensor4D): tf.Tensor[] {
    checkInput(this.constructor.name, x, 3);
    const outs: tf.Tensor[] = [];
    let y = x;
    this.features.layers.forEach((layer, i) => {
      y = layer.forward(y) as tf.Tensor4D;
      if (this.stageEnds.includes(i) && this.opts.outIndices.includes(this.stageEnds.indexOf(i)))
        outs.push(y);
    });
    if (this.classifier) {
      // torch flattens NCHW, so the 7x7 map goes channel-major; the converter
      // reorders fc6's rows to our HWC order instead of transposing here.
      const pooled = adaptiveAvgPool2d(y, [7, 7]);
      outs.push(this.classifier.forward(tf.reshape(pooled, [pooled.shape[0], -1])));
    }
    return outs;
  }
}

/** L2 normalisation over channels with a learned per-channel scale (ParseNet; SSD's conv4_3). */
export class L2Norm extends Module {
  readonly weight: tf.Variable;
  constructor(
    readonly numChannels: number,
    scale = 20,
    readonly eps = 1e-10,
  ) {
    super();
    this.weight = this.addParameter('weight', tf.fill([numChannels], scale));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const norm = tf.add(tf.sqrt(tf.sum(tf.square(x), 3, true)), this.eps);
    return tf.mul(tf.div(x, norm), this.weight);
  }
}

export const ssdVggSchema = z
  .object({
    depth: z.literal(16).default(16),
    withLastPool: z.literal(false).default(false),
    ceilMode: z.boolean().default(true),
    /** Outputs: `features` indices (22: relu of conv4_3, 34: relu of fc7), as mmdetection's `out_feature_indices`. */
    outFeatureIndices: z.array(z.number().int().nonnegative()).default([22, 34]),
    /** Accepted for mmdetection configs (`out_indices=(3, 4)`); the outputs are chosen by `outFeatureIndices`. */
    outIndices: indexList.optional(),
    /** Scale of an L2Norm on the first output; `null` leaves it to the neck ({@link SSDNeck}'s `l2NormScale`, mmdetection >= 2.18). */
    l2NormScale: z.number().positive().nullable().default(null),
    frozenStages: z.number().int().min(-1).default(-1),
    normEval: z.boolean().default(false),
    init: initSchema,
  })
  .strict();

export type SSDVGGOptions = z.input<typeof ssdVggSchema>;

/**
 * VGG-16 for SSD: ceil-mode pools (300 -> 38 at conv4_3), pool5 3x3 stride 1,
 * fc6 as a 3x3 conv of dilation 6 (1024 channels) and fc7 as a 1x1 conv.
 * `features.30` is pool5, `features.31`/`33` are fc6/fc7, as mmdetection's.
 *
 * @example
 * ```ts
 * const vgg = MODELS.build<SSDVGG>({ type: 'SSDVGG' });
 * vgg.forward(tf.zeros([1, 300, 300, 3])).map((t) => t.shape); // => [[1, 38, 38, 512], [1, 19, 19, 1024]]
 * ```
 */
export class SSDVGG extends VGG {
  readonly ssdOpts: z.output<typeof ssdVggSchema>;
  readonly l2Norm?: L2Norm;
  constructor(options: SSDVGGOptions = {}) {
    const o = ssdVggSchema.parse(options);
    super(
      {
        depth: o.depth,
        withLastPool: o.withLastPool,
        ceilMode: o.ceilMode,
        frozenStages: o.frozenStages,
        normEval: o.normEval,
        init: o.init ?? [{ type: 'Kaiming', layer: 'Conv2d' }],
      },
      (inCh) => [
        new MaxPool2d({ kernelSize: 3, stride: 1, padding: 1 }),
        new Conv2d({ inChannels: inCh, outChannels: 1024, kernelSize: 3, padding: 6, dilation: 6 }),
        new Activation('ReLU'),
        new Conv2d({ inChannels: 1024, outChannels: 1024, kernelSize: 1 }),
        new Activation('ReLU'),
      ],
    );
    this.ssdOpts = o;
    if (o.l2NormScale !== null)
      this.l2Norm = this.addModule('l2Norm', new L2Norm(512, o.l2NormScale));
  }

  override forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput('SSDVGG', x, 3);
    const outs: tf.Tensor4D[] = [];
    let y = x;
    this.features.layers.forEach((layer, i) => {
      y = layer.forward(y) as tf.Tensor4D;
      if (this.ssdOpts.outFeatureIndices.includes(i)) outs.push(y);
    });
    if (this.l2Norm && outs[0]) outs[0] = this.l2Norm.forward(outs[0]);
    return outs;
  }
}

MODELS.register(VGG, { name: 'VGG', schema: vggSchema });
MODELS.register(SSDVGG, { name: 'SSDVGG', schema: ssdVggSchema });
MODELS.register(L2Norm, { name: 'L2Norm' });
