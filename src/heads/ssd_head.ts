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
    const numPos = Math.max(t.numPos, 1);
    const lossCls = tf.div(
      hardNegativeSum(ce, labels, this.numClasses, n, t.posFlat, this.trainCfg.negPosRatio ?? 3),
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

/**
 * SSD's hard negative mining: the cross-entropy `ce` (`[B * n]`, anchors of
 * image `b` at `b * n ...`) summed over the positives `posFlat` and, in each
 * image, the `ratio * positives` negatives (`labels[i] === numClasses`) of
 * highest loss, ties to the lower index. The selection runs on the device
 * (`topk`, then the kept anchors' mask; the gradient is that mask), so nothing is read back;
 * how many negatives each image keeps comes from the host-side labels.
 *
 * @example
 * ```ts
 * // 2 images of 3 anchors; class 1 is the background
 * const ce = tf.tensor1d([5, 1, 3, 2, 4, 9]);
 * const labels = new Int32Array([0, 1, 1, 1, 1, 1]);
 * hardNegativeSum(ce, labels, 1, 3, new Int32Array([0]), 1).dataSync(); // => Float32Array [8] (5 + 3)
 * ```
 */
export function hardNegativeSum(
  ce: tf.Tensor1D,
  labels: Int32Array,
  numClasses: number,
  n: number,
  posFlat: Int32Array,
  ratio: number,
): tf.Scalar {
  const B = labels.length / n;
  const negMask = new Uint8Array(B * n);
  const counts = new Int32Array(B);
  const posPerImage = new Int32Array(B);
  const keptPos = new Float32Array(B * n);
  for (const f of posFlat) {
    posPerImage[Math.floor(f / n)]++;
    keptPos[f] = 1;
  }
  for (let i = 0; i < B * n; i++)
    if (labels[i] === numClasses) {
      negMask[i] = 1;
      counts[Math.floor(i / n)]++;
    }
  const take = Array.from(counts, (c, b) => Math.min(c, Math.floor(ratio * posPerImage[b])));
  const kMax = Math.max(0, ...take);
  // The 0/1 mask of the anchors summed: the positives, then each image's top `take[b]` negatives.
  const keptMask = (x: tf.Tensor): tf.Tensor => {
    const pos = tf.tensor1d(keptPos);
    if (kMax === 0) return pos;
    // ce >= 0, so -1 ranks every anchor that is not a negative last.
    const ranked = tf.where(
      tf.tensor2d(negMask, [B, n], 'bool'),
      tf.reshape(x, [B, n]),
      tf.fill([B, n], -1),
    );
    const { indices } = tf.topk(ranked, kMax);
    const offsets = tf.tensor2d(
      Int32Array.from({ length: B }, (_, b) => b * n),
      [B, 1],
      'int32',
    );
    const flat = tf.reshape(tf.add(indices, offsets), [-1, 1]);
    const weight = new Float32Array(B * kMax);
    take.forEach((k, b) => weight.fill(1, b * kMax, b * kMax + k));
    return tf.add(pos, tf.scatterND(flat, tf.tensor1d(weight), [B * n]));
  };
  // The selection is a constant of the gradient: d(sum)/d(ce) is the mask.
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const kept = tf.tidy(() => keptMask(x));
    save([kept]);
    return {
      value: tf.sum(tf.mul(x, kept)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(ce) as tf.Scalar;
}

MODELS.register(SSDHead, { name: 'SSDHead', schema: ssdHeadSchema });
