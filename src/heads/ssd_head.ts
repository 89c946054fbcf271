/**
 * SSD head (Liu et al. 2016, mmdet `SSDHead`): per level a 3x3 conv to
 * `A * (C + 1)` softmax logits and one to `A * 4` deltas; hard negative mining
 * keeps the `negPosRatio` hardest negatives per positive; smooth L1 on the
 * positives. `useDepthwise` gives SSDLite's depthwise-separable convs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  ConvModule,
  Conv2d,
  Module,
  ModuleList,
  Sequential,
  type ActCfg,
  type NormCfg,
} from '../nn/index.js';
import { nextSeed } from '../nn/init.js';
import { MODELS } from '../registry.js';
import { softmaxCrossEntropy } from '../losses/cross_entropy_loss.js';
import { smoothL1 } from '../losses/smooth_l1_loss.js';
import { AnchorHead, type AnchorHeadOptions, type DenseTargets } from './anchor_head.js';
import { flattenLevels, featSizes } from './dense_utils.js';
import type { DetSample, LossDict } from '../structures/index.js';

export const ssdHeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    inChannels: z.array(z.number().int().positive()),
    stackedConvs: z.number().int().nonnegative().optional(),
    featChannels: z.number().int().positive().optional(),
    useDepthwise: z.boolean().optional(),
    convCfg: z.unknown().optional(),
    normCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    actCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    anchorGenerator: z.unknown(),
    bboxCoder: z.unknown().optional(),
    regDecodedBbox: z.boolean().optional(),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.looseObject({}).nullable().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type SSDHeadOptions = z.input<typeof ssdHeadSchema>;

function xavierUniform(conv: Conv2d): void {
  const [kh, kw, cin, cout] = conv.weight.shape as number[];
  const bound = Math.sqrt(6 / (kh * kw * (cin + cout)));
  conv.weight.assign(tf.randomUniform(conv.weight.shape, -bound, bound, 'float32', nextSeed()));
  conv.bias?.assign(tf.zerosLike(conv.bias));
}

/**
 * Parameters: `clsConvs.{l}` and `regConvs.{l}` (a Conv2d, or with
 * `useDepthwise` a Sequential of a depthwise ConvModule and a 1x1 Conv2d).
 *
 * @example
 * ```ts
 * const head = MODELS.build<SSDHead>({ type: 'SSDHead', numClasses: 5, inChannels: [16, 32],
 *   anchorGenerator: { type: 'SSDAnchorGenerator', strides: [8, 16], ratios: [[2], [2]], minSizes: [16, 32], maxSizes: [32, 64] } });
 * head.forward([tf.zeros([1, 8, 8, 16]), tf.zeros([1, 4, 4, 32])]).clsScores[0].shape; // => [1, 8, 8, 24]
 * ```
 */
export class SSDHead extends AnchorHead {
  static override readonly configSchema =
    ssdHeadSchema as unknown as typeof AnchorHead.configSchema;
  declare clsConvs: ModuleList<Module>;
  declare regConvs: ModuleList<Module>;

  constructor(opts: SSDHeadOptions) {
    super({
      ...opts,
      inChannels: opts.inChannels[0],
      bboxCoder: opts.bboxCoder ?? {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
        targetStds: [0.1, 0.1, 0.2, 0.2],
      },
      lossCls: { type: 'CrossEntropyLoss', useSigmoid: false, reduction: 'none' },
      lossBbox: { type: 'SmoothL1Loss', beta: 1, reduction: 'none' },
      _ssd: opts,
    } as unknown as AnchorHeadOptions);
  }

  protected override initLayers(o: AnchorHeadOptions): void {
    const opts = (o as unknown as { _ssd: SSDHeadOptions })._ssd;
    this.clsConvs = this.addModule('clsConvs', new ModuleList<Module>());
    this.regConvs = this.addModule('regConvs', new ModuleList<Module>());
    const normCfg = (opts.normCfg ?? null) as NormCfg | null;
    const actCfg = (opts.actCfg ?? { type: 'ReLU' }) as ActCfg;
    opts.inChannels.forEach((c, l) => {
      const a = this.priorGenerator.numBasePriors[l];
      for (const [list, out] of [
        [this.clsConvs, a * this.clsOutChannels],
        [this.regConvs, a * 4],
      ] as const) {
        let m: Module;
        if (opts.useDepthwise) {
          const dw = new ConvModule({
            inChannels: c,
            outChannels: c,
            kernelSize: 3,
            padding: 1,
            groups: c,
            normCfg,
            actCfg,
          });
          const pw = new Conv2d({ inChannels: c, outChannels: out, kernelSize: 1 });
          xavierUniform(pw);
          m = new Sequential(dw, pw);
        } else {
          const conv = new Conv2d({ inChannels: c, outChannels: out, kernelSize: 3, padding: 1 });
          xavierUniform(conv);
          m = conv;
        }
        list.push(m);
      }
    });
  }

  override forwardSingle(x: tf.Tensor4D, level = 0): [tf.Tensor4D, tf.Tensor4D] {
    return [
      this.clsConvs.at(level).forward(x) as tf.Tensor4D,
      this.regConvs.at(level).forward(x) as tf.Tensor4D,
    ];
  }

  /**
   * mmdet `SSDHead.loss_by_feat`: softmax cross-entropy on every positive and
   * the `negPosRatio * numPos` negatives of highest loss in each image, smooth
   * L1 on the positives; both divided by the number of positives.
   */
  override lossByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
  ): LossDict {
    const sizes = featSizes(clsScores);
    const { priors } = this.priorsFor(sizes);
    const t: DenseTargets = this.getTargets(priors, sizes, samples);
    const n = priors.length >> 2;
    const C1 = this.clsOutChannels;
    const cls = tf.reshape(flattenLevels(clsScores, C1), [-1, C1]) as tf.Tensor2D;
    const reg = tf.reshape(flattenLevels(bboxPreds, 4), [-1, 4]) as tf.Tensor2D;
    // Labels of the anchors trained on: positives and candidate negatives (label C); the rest ignored.
    const labels = Int32Array.from(t.labels, (l, i) => (t.labelWeights[i] > 0 ? l : -100));
    const ce = softmaxCrossEntropy(cls, labels);
    const ceHost = ce.dataSync();
    const ratio = this.trainCfg.negPosRatio ?? 3;
    const keep: number[] = [];
    const posPerImage = new Int32Array(samples.length);
    for (const f of t.posFlat) posPerImage[Math.floor(f / n)]++;
    for (let b = 0; b < samples.length; b++) {
      const negs: number[] = [];
      for (let i = b * n; i < (b + 1) * n; i++) {
        if (labels[i] === this.numClasses) negs.push(i);
        else if (labels[i] >= 0) keep.push(i);
      }
      const k = Math.min(negs.length, Math.floor(ratio * posPerImage[b]));
      negs.sort((p, q) => ceHost[q] - ceHost[p] || p - q);
      for (let j = 0; j < k; j++) keep.push(negs[j]);
    }
    const numPos = Math.max(t.numPos, 1);
    const lossCls = tf.div(
      tf.sum(tf.gather(ce, tf.tensor1d(Int32Array.from(keep), 'int32'))),
      numPos,
    ) as tf.Scalar;
    let lossBbox: tf.Scalar;
    if (t.numPos === 0) lossBbox = tf.mul(tf.sum(reg), 0) as tf.Scalar;
    else {
      const pred = tf.gather(reg, tf.tensor1d(t.posFlat, 'int32')) as tf.Tensor2D;
      const pri = tf.tensor2d(t.posPriors, [t.numPos, 4]);
      const gt = tf.tensor2d(t.posGt, [t.numPos, 4]);
      const target = this.regDecodedBbox ? gt : this.bboxCoder.encode(pri, gt);
      const p = this.regDecodedBbox ? this.bboxCoder.decode(pri, pred) : pred;
      lossBbox = tf.div(
        tf.sum(smoothL1(p, target, this.trainCfg.smoothl1Beta ?? 1)),
        numPos,
      ) as tf.Scalar;
    }
    return { loss_cls: lossCls, loss_bbox: lossBbox };
  }
}

MODELS.register(SSDHead, { name: 'SSDHead', schema: ssdHeadSchema });
