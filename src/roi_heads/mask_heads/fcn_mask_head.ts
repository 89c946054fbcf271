/**
 * mmdet `FCNMaskHead` (He et al. 2017, "Mask R-CNN"): a small FCN over
 * RoI features that predicts one `28 x 28` mask per class; the mask targets
 * are the ground-truth masks cropped to the positive proposals with
 * RoIAlign, and the predictions are pasted back into the image and
 * binarised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { BitmapMasks } from '../../structures/index.js';
import { buildOr } from '../../heads/dense_utils.js';
import type { LossModule } from '../../heads/anchor_head.js';
import {
  Conv2d,
  ConvModule,
  ConvTranspose2d,
  Module,
  ModuleList,
  interpolate,
  type NormCfg,
} from '../../nn/index.js';
import { kaiming } from '../../nn/init.js';
import { MODELS, Registry } from '../../registry.js';
import '../../losses/index.js';
import { cropAndResizeMasks, pasteMask, pasteMaskTorchvision } from './mask_ops.js';

const upsampleSchema = z
  .object({
    type: z.enum(['deconv', 'nearest', 'bilinear']),
    scaleFactor: z.number().int().positive().optional(),
  })
  .strict();

export const fcnMaskHeadSchema = z
  .object({
    numConvs: z.number().int().nonnegative().optional(),
    roiFeatSize: z.number().int().positive().optional(),
    inChannels: z.number().int().positive().optional(),
    convKernelSize: z
      .number()
      .int()
      .positive()
      .refine((k) => k % 2 === 1, { message: 'convKernelSize must be odd' })
      .optional(),
    convOutChannels: z.number().int().positive().optional(),
    numClasses: z.number().int().positive(),
    classAgnostic: z.boolean().optional(),
    upsampleCfg: upsampleSchema.nullable().optional(),
    convCfg: z
      .looseObject({ type: z.literal('Conv2d') })
      .nullable()
      .optional(),
    normCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    predictorCfg: z
      .looseObject({ type: z.enum(['Conv', 'Conv2d']) })
      .nullable()
      .optional(),
    lossMask: z.looseObject({ type: z.string() }).optional(),
    /** The R-CNN train config; `maskSize` is read (default: the prediction size). */
    trainCfg: z
      .looseObject({ maskSize: z.number().int().positive().optional() })
      .nullable()
      .optional(),
    /** The R-CNN test config; `maskThrBinary` is read (default 0.5). */
    testCfg: z
      .looseObject({
        maskThrBinary: z.number().optional(),
        pasteMode: z.enum(['mmdet', 'torchvision']).optional(),
      })
      .nullable()
      .optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type FCNMaskHeadOptions = z.input<typeof fcnMaskHeadSchema>;

/** Settings of the R-CNN stage the mask head reads. */
export interface MaskTrainCfg {
  /** Side of the mask targets (mmdet `mask_size`). */
  maskSize?: number;
  [key: string]: unknown;
}
export interface MaskTestCfg {
  /** Threshold on the pasted probabilities (mmdet `mask_thr_binary`). Default 0.5. */
  maskThrBinary?: number;
  /**
   * How a mask is pasted at its box: mmdetection's `grid_sample` of the box
   * ({@link pasteMask}, the default) or torchvision's resize of the padded
   * mask to the expanded integer box ({@link pasteMaskTorchvision}).
   */
  pasteMode?: 'mmdet' | 'torchvision';
  [key: string]: unknown;
}

/**
 * mmdet `FCNMaskHead`: `numConvs` 3x3 ConvModules (`convOutChannels`,
 * ReLU), a 2x up-sampling (`deconv`: ConvTranspose2d kernel 2 stride 2 +
 * ReLU, or `nearest` / `bilinear` interpolation), and a 1x1 `convLogits`
 * with one channel per class (one when `classAgnostic`). Every conv is
 * initialised Kaiming-normal (fan-out, ReLU) with zero bias, as mmcv's
 * ConvModule and mmdet's `init_weights`. Children are named as mmdet's
 * (`convs.0.conv`, `upsample`, `convLogits`).
 *
 * `lossMask` is mmdet's `CrossEntropyLoss` with `useMask` (binary
 * cross-entropy with logits on the channel of each positive's label, mean
 * over all pixels), or any loss that takes `[n, S, S]` logits and targets.
 *
 * @example
 * ```ts
 * const head = MODELS.build<FCNMaskHead>({ type: 'FCNMaskHead', numClasses: 3, inChannels: 8, convOutChannels: 8 });
 * head.forward(tf.zeros([2, 14, 14, 8])).shape; // => [2, 28, 28, 3]
 * ```
 */
export class FCNMaskHead extends Module {
  static readonly configSchema = fcnMaskHeadSchema;
  static readonly unbuiltArgs = ['lossMask', 'trainCfg', 'testCfg', 'initCfg'] as const;
  readonly numClasses: number;
  readonly classAgnostic: boolean;
  readonly roiFeatSize: number;
  readonly inChannels: number;
  readonly convOutChannels: number;
  readonly upsampleMethod: 'deconv' | 'nearest' | 'bilinear' | null;
  readonly scaleFactor: number;
  readonly convs: ModuleList<ConvModule>;
  readonly upsample?: ConvTranspose2d;
  readonly convLogits: Conv2d;
  readonly lossMask: LossModule;
  /** Whether `lossMask` is mmdet's mask cross-entropy (sigmoid BCE on the label's channel). */
  private readonly maskCrossEntropy: boolean;
  /** R-CNN train / test settings; the RoI head may replace them. */
  trainCfg: MaskTrainCfg;
  testCfg: MaskTestCfg;

  constructor(opts: FCNMaskHeadOptions) {
    super();
    this.numClasses = opts.numClasses;
    this.classAgnostic = opts.classAgnostic ?? false;
    this.roiFeatSize = opts.roiFeatSize ?? 14;
    this.inChannels = opts.inChannels ?? 256;
    this.convOutChannels = opts.convOutChannels ?? 256;
    const k = opts.convKernelSize ?? 3;
    const numConvs = opts.numConvs ?? 4;
    const up =
      opts.upsampleCfg === undefined
        ? { type: 'deconv' as const, scaleFactor: 2 }
        : opts.upsampleCfg;
    this.upsampleMethod = up ? up.type : null;
    this.scaleFactor = up ? (up.scaleFactor ?? 2) : 1;
    this.trainCfg = opts.trainCfg ?? {};
    this.testCfg = opts.testCfg ?? {};

    this.convs = this.addModule('convs', new ModuleList<ConvModule>());
    for (let i = 0; i < numConvs; i++) {
      this.convs.push(
        new ConvModule({
          inChannels: i === 0 ? this.inChannels : this.convOutChannels,
          outChannels: this.convOutChannels,
          kernelSize: k,
          padding: (k - 1) / 2,
          normCfg: (opts.normCfg ?? null) as NormCfg | null,
        }),
      );
    }
    const upIn = numConvs > 0 ? this.convOutChannels : this.inChannels;
    if (this.upsampleMethod === 'deconv') {
      const s = this.scaleFactor;
      this.upsample = this.addModule(
        'upsample',
        new ConvTranspose2d({
          inChannels: upIn,
          outChannels: this.convOutChannels,
          kernelSize: s,
          stride: s,
        }),
      );
    }
    const logitsIn = this.upsampleMethod === 'deconv' ? this.convOutChannels : upIn;
    this.convLogits = this.addModule(
      'convLogits',
      new Conv2d({
        inChannels: logitsIn,
        outChannels: this.classAgnostic ? 1 : this.numClasses,
        kernelSize: 1,
      }),
    );

    // Where the user's config put this head (model.roiHead.maskHead), for errors.
    const at = Registry.buildPath(new.target) ?? 'maskHead';
    const lossCfg = (opts.lossMask ?? {
      type: 'CrossEntropyLoss',
      useMask: true,
      lossWeight: 1,
    }) as Record<string, unknown>;
    this.maskCrossEntropy = lossCfg.type === 'CrossEntropyLoss' && lossCfg.useMask === true;
    if (lossCfg.type === 'CrossEntropyLoss' && !this.maskCrossEntropy) {
      throw new Error(
        `${at}.lossMask: CrossEntropyLoss needs useMask: true (per-pixel sigmoid), got ${JSON.stringify(lossCfg)}`,
      );
    }
    // mmdet's mask_cross_entropy is the sigmoid form on the picked channel: build it as such.
    const { useMask: _useMask, ...rest } = lossCfg;
    this.lossMask = buildOr<LossModule>(
      MODELS,
      this.maskCrossEntropy ? { ...rest, useSigmoid: true } : lossCfg,
      `${at}.lossMask`,
    );
    this.initWeights();
  }

  private initWeights(): void {
    const convs: { weight: tf.Variable; bias?: tf.Variable }[] = [...this.convs].map((c) => c.conv);
    if (this.upsample) convs.push(this.upsample);
    convs.push(this.convLogits);
    for (const c of convs) {
      c.weight.assign(kaiming(c.weight.shape, { mode: 'fanOut', nonlinearity: 'relu' }));
      c.bias?.assign(tf.zerosLike(c.bias));
    }
  }

  /** Side of the predicted masks (`roiFeatSize * scaleFactor`). */
  get maskSize(): number {
    return this.roiFeatSize * this.scaleFactor;
  }

  /** RoI features `[n, roiFeatSize, roiFeatSize, inChannels]` -> mask logits `[n, S, S, numClasses or 1]`. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new Error(
        `FCNMaskHead: expected RoI features [n, h, w, ${this.inChannels}], got [${x.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      let h = x;
      for (const conv of this.convs) h = conv.forward(h);
      if (this.upsample) h = tf.relu(this.upsample.forward(h));
      else if (this.upsampleMethod === 'nearest' || this.upsampleMethod === 'bilinear')
        h = interpolate(h, {
          scaleFactor: this.scaleFactor,
          mode: this.upsampleMethod,
          alignCorners: false,
        });
      return this.convLogits.forward(h);
    });
  }

  /**
   * Mask targets of one image (mmdet `mask_target_single`): the gt mask
   * each positive proposal is assigned to, cropped to the proposal (clipped
   * to the mask size) and resized to `trainCfg.maskSize` (default the
   * prediction size) with RoIAlign (`aligned`), binarised at 0.5.
   *
   * @param posBboxes `n*4` positive proposals in network-input pixels.
   * @param posAssignedGtInds index of each positive's gt in `gtMasks`.
   * @param gtMasks the image's gt masks at network-input size.
   * @returns `[n, S, S]` float32 0/1.
   */
  getTargets(
    posBboxes: Float32Array,
    posAssignedGtInds: Int32Array,
    gtMasks: BitmapMasks,
  ): tf.Tensor3D {
    const s = this.trainCfg.maskSize ?? this.maskSize;
    const n = posAssignedGtInds.length;
    if (posBboxes.length !== 4 * n)
      throw new RangeError(
        `FCNMaskHead.getTargets: ${posBboxes.length / 4} boxes but ${n} assigned gt indices`,
      );
    if (n > 0 && !gtMasks)
      throw new Error(
        'FCNMaskHead.getTargets: the sample has no gt masks (LoadAnnotations needs withMask: true)',
      );
    return tf.tensor3d(cropAndResizeMasks(gtMasks, posBboxes, posAssignedGtInds, s), [n, s, s]);
  }

  /**
   * `loss_mask` (mmdet `FCNMaskHead.loss`): the logits of each positive's
   * label channel (channel 0 when `classAgnostic`) against its target.
   * With no positives the loss is 0 (still connected to `maskPreds`).
   *
   * @param maskPreds `[n, S, S, C]` logits.
   * @param targets `[n, S, S]` from {@link getTargets}.
   * @param posLabels `n` labels in `[0, numClasses)`.
   */
  loss(
    maskPreds: tf.Tensor4D,
    targets: tf.Tensor3D,
    posLabels: Int32Array,
  ): { loss_mask: tf.Scalar } {
    const [n, h, w, c] = maskPreds.shape;
    if (targets.shape[0] !== n || targets.shape[1] !== h || targets.shape[2] !== w) {
      throw new Error(
        `FCNMaskHead.loss: predictions [${maskPreds.shape.join(', ')}] and targets [${targets.shape.join(', ')}] differ`,
      );
    }
    if (posLabels.length !== n)
      throw new RangeError(`FCNMaskHead.loss: ${n} predictions but ${posLabels.length} labels`);
    return tf.tidy(() => {
      if (n === 0) return { loss_mask: tf.mul(tf.sum(maskPreds), 0) as tf.Scalar };
      const oneHot = new Float32Array(n * c);
      for (let i = 0; i < n; i++) {
        const l = this.classAgnostic ? 0 : posLabels[i];
        if (!(l >= 0 && l < c))
          throw new RangeError(
            `FCNMaskHead.loss: label ${l} of positive ${i} is outside [0, ${c})`,
          );
        oneHot[i * c + l] = 1;
      }
      const picked = tf.sum(tf.mul(maskPreds, tf.tensor4d(oneHot, [n, 1, 1, c])), 3) as tf.Tensor3D;
      return { loss_mask: this.lossMask.forward(picked, targets) as tf.Scalar };
    });
  }

  /**
   * Full-size binary masks of one image's detections (mmdet
   * `_predict_by_feat_single`): the sigmoid of each detection's label
   * channel pasted at its box (see {@link pasteMask}) and thresholded at
   * `testCfg.maskThrBinary` (`>=`, default 0.5).
   *
   * @param maskPreds `[n, S, S, C]` logits.
   * @param bboxes `n*4` detections in the pixels of `outShape`.
   * @param labels `n` labels.
   * @param outShape `[h, w]` of the output masks (the original image when rescaled).
   * @returns `n` row-major `h*w` 0/1 masks.
   */
  predictByFeat(
    maskPreds: tf.Tensor4D,
    bboxes: Float32Array,
    labels: Int32Array,
    outShape: [number, number],
  ): Uint8Array[] {
    const [n] = maskPreds.shape;
    if (bboxes.length !== 4 * n || labels.length !== n) {
      throw new RangeError(
        `FCNMaskHead.predictByFeat: ${n} masks, ${bboxes.length / 4} boxes, ${labels.length} labels`,
      );
    }
    return this.masksFromLogits(
      maskPreds.dataSync() as Float32Array,
      maskPreds.shape,
      bboxes,
      labels,
      outShape,
    );
  }

  /** {@link predictByFeat} on logits already read (`shape` `[n, S, S, C]`, NHWC). */
  masksFromLogits(
    logits: Float32Array,
    shape: [number, number, number, number],
    bboxes: Float32Array,
    labels: Int32Array,
    outShape: [number, number],
  ): Uint8Array[] {
    const [n, mh, mw, c] = shape;
    const [H, W] = outShape;
    const thr = this.testCfg.maskThrBinary ?? 0.5;
    const paste = this.testCfg.pasteMode === 'torchvision' ? pasteMaskTorchvision : pasteMask;
    const plane = new Float32Array(mh * mw);
    const prob = new Float32Array(H * W);
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const ch = this.classAgnostic ? 0 : labels[i];
      if (!(ch >= 0 && ch < c))
        throw new RangeError(
          `FCNMaskHead.predictByFeat: label ${ch} of detection ${i} is outside [0, ${c})`,
        );
      for (let k = 0; k < mh * mw; k++)
        plane[k] = 1 / (1 + Math.exp(-logits[(i * mh * mw + k) * c + ch]));
      prob.fill(0);
      paste(plane, mh, mw, bboxes.subarray(4 * i, 4 * i + 4), H, W, prob);
      const m = new Uint8Array(H * W);
      for (let k = 0; k < m.length; k++) m[k] = prob[k] >= thr ? 1 : 0;
      out.push(m);
    }
    return out;
  }
}

MODELS.register(FCNMaskHead, { name: 'FCNMaskHead' });
