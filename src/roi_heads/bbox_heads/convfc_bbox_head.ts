/**
 * RoI box heads (mmdet `BBoxHead`, `ConvFCBBoxHead`, `Shared2FCBBoxHead`):
 * RoI features -> shared fully connected layers -> a softmax classifier over
 * `numClasses + 1` (background last) and class-specific box deltas.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ConvModule, Linear, Module, ModuleList, type NormCfg } from '../../nn/index.js';
import { nextSeed, xavier } from '../../nn/init.js';
import { MODELS, Registry, TASK_UTILS } from '../../registry.js';
import type { BoxCoder, LossModule } from '../../heads/anchor_head.js';
import { bboxPostProcess, buildOr, concatF32 } from '../../heads/dense_utils.js';
import type { DetSample, InstanceData } from '../../structures/index.js';
import '../../losses/index.js';
import '../../task_utils/index.js';

export const convFcBBoxHeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    inChannels: z.number().int().positive().optional(),
    roiFeatSize: z
      .union([
        z.number().int().positive(),
        z.tuple([z.number().int().positive(), z.number().int().positive()]),
      ])
      .optional(),
    /** 3x3 conv-norm-ReLU layers before the shared FCs (mmdet's `num_shared_convs`). */
    numSharedConvs: z.number().int().nonnegative().optional(),
    convOutChannels: z.number().int().positive().optional(),
    normCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    numSharedFcs: z.number().int().nonnegative().optional(),
    fcOutChannels: z.number().int().positive().optional(),
    bboxCoder: z.unknown().optional(),
    regClassAgnostic: z.boolean().optional(),
    regDecodedBbox: z.literal(false).optional(),
    predictBoxType: z.literal('hbox').optional(),
    lossCls: z.unknown().optional(),
    lossBbox: z.unknown().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type ConvFCBBoxHeadOptions = z.input<typeof convFcBBoxHeadSchema>;

/** What the RoI head sampled for one image: positives first, then negatives (mmdet `SamplingResult`). */
export interface RoISampling {
  /** `p*4` positive proposals, network-input pixels. */
  posPriors: Float32Array;
  /** `q*4` negative proposals. */
  negPriors: Float32Array;
  /** `p*4` gt box of each positive. */
  posGtBboxes: Float32Array;
  /** Label of each positive. */
  posLabels: Int32Array;
  /** Index into the image's gt of each positive. */
  posAssignedGtInds: Int32Array;
}

/** Classification and regression targets of all sampled RoIs of a batch, in RoI order. */
export interface BBoxTargets {
  /** Per RoI: class, `numClasses` = background. */
  labels: Int32Array;
  labelWeights: Float32Array;
  /** Rows (RoI indices) of the positives and their encoded targets `p*4`. */
  posRows: Int32Array;
  posTargets: Float32Array;
  posLabels: Int32Array;
}

/**
 * mmdet `ConvFCBBoxHead` with shared branches only: `numSharedConvs` 3x3
 * conv-norm-ReLU layers (`convOutChannels` wide, `normCfg`), `numSharedFcs`
 * fully connected layers + ReLU, then `fcCls` and `fcReg`;
 * `Shared2FCBBoxHead` is the 2-FC form of Faster R-CNN with FPN,
 * `Shared4Conv1FCBBoxHead` the 4-conv 1-FC form (torchvision's
 * `FastRCNNConvFCHead` of the v2 models, with BatchNorm). RoI features NHWC
 * `[n, 7, 7, C]` are flattened in mmdet's channel-major order (C, H, W), so
 * torch weights map over by a transpose. Parameter names: `sharedConvs.{i}`,
 * `sharedFcs.{i}`, `fcCls`, `fcReg`.
 *
 * @example
 * ```ts
 * const head = MODELS.build<ConvFCBBoxHead>({ type: 'Shared2FCBBoxHead', numClasses: 3, inChannels: 8, fcOutChannels: 16 });
 * const { clsScore, bboxPred } = head.forward(tf.zeros([5, 7, 7, 8]));
 * clsScore.shape; // => [5, 4]   (3 classes + background)
 * bboxPred.shape; // => [5, 12]  (4 deltas per class)
 * ```
 */
export class ConvFCBBoxHead extends Module {
  static readonly configSchema = convFcBBoxHeadSchema;
  static readonly unbuiltArgs = ['bboxCoder', 'lossCls', 'lossBbox', 'initCfg'] as const;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly roiFeatSize: [number, number];
  readonly fcOutChannels: number;
  readonly regClassAgnostic: boolean;
  readonly bboxCoder: BoxCoder;
  readonly lossCls: LossModule;
  readonly lossBbox: LossModule;
  readonly sharedConvs: ModuleList<ConvModule>;
  readonly sharedFcs: ModuleList<Linear>;
  readonly fcCls: Linear;
  readonly fcReg: Linear;

  constructor(opts: ConvFCBBoxHeadOptions, defaultSharedFcs = 0, defaultSharedConvs = 0) {
    super();
    this.numClasses = opts.numClasses;
    this.inChannels = opts.inChannels ?? 256;
    const s = opts.roiFeatSize ?? 7;
    this.roiFeatSize = typeof s === 'number' ? [s, s] : s;
    this.fcOutChannels = opts.fcOutChannels ?? 1024;
    this.regClassAgnostic = opts.regClassAgnostic ?? false;
    // Where the user's config put this head (model.roiHead.bboxHead, ...), for errors.
    const at = Registry.buildPath(new.target) ?? 'bboxHead';
    this.bboxCoder = buildOr<BoxCoder>(
      TASK_UTILS,
      opts.bboxCoder ?? {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
        targetStds: [0.1, 0.1, 0.2, 0.2],
      },
      `${at}.bboxCoder`,
    );
    this.lossCls = buildOr<LossModule>(
      MODELS,
      opts.lossCls ?? { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight: 1 },
      `${at}.lossCls`,
    );
    this.lossBbox = buildOr<LossModule>(
      MODELS,
      opts.lossBbox ?? { type: 'L1Loss', lossWeight: 1 },
      `${at}.lossBbox`,
    );
    if (this.lossCls.useSigmoid)
      throw new Error(
        `${this.constructor.name}: 'lossCls.useSigmoid' must be false (a softmax over numClasses + 1)`,
      );
    const numConvs = opts.numSharedConvs ?? defaultSharedConvs;
    const convOut = opts.convOutChannels ?? 256;
    this.sharedConvs = this.addModule('sharedConvs', new ModuleList<ConvModule>());
    for (let i = 0; i < numConvs; i++)
      this.sharedConvs.push(
        new ConvModule({
          inChannels: i ? convOut : this.inChannels,
          outChannels: convOut,
          kernelSize: 3,
          padding: 1,
          normCfg: (opts.normCfg ?? null) as NormCfg | null,
        }),
      );
    const numFcs = opts.numSharedFcs ?? defaultSharedFcs;
    this.sharedFcs = this.addModule('sharedFcs', new ModuleList<Linear>());
    let inF = (numConvs ? convOut : this.inChannels) * this.roiFeatSize[0] * this.roiFeatSize[1];
    for (let i = 0; i < numFcs; i++) {
      const fc = new Linear(inF, this.fcOutChannels);
      // mmdet: Xavier-uniform shared FCs, zero bias.
      fc.weight.assign(xavier(fc.weight.shape, { distribution: 'uniform' }));
      fc.bias!.assign(tf.zerosLike(fc.bias!));
      this.sharedFcs.push(fc);
      inF = this.fcOutChannels;
    }
    this.fcCls = this.addModule('fcCls', new Linear(inF, this.numClasses + 1));
    this.fcReg = this.addModule(
      'fcReg',
      new Linear(inF, this.regClassAgnostic ? 4 : 4 * this.numClasses),
    );
    // mmdet BBoxHead: N(0, 0.01) classifier, N(0, 0.001) regressor, zero biases.
    for (const [fc, std] of [
      [this.fcCls, 0.01],
      [this.fcReg, 0.001],
    ] as const) {
      fc.weight.assign(tf.randomNormal(fc.weight.shape, 0, std, 'float32', nextSeed()));
      fc.bias!.assign(tf.zerosLike(fc.bias!));
    }
  }

  /** RoI features `[n, h, w, C]` -> class logits `[n, numClasses + 1]` and deltas `[n, 4 * numClasses]` (or `[n, 4]`). */
  forward(x: tf.Tensor4D): { clsScore: tf.Tensor2D; bboxPred: tf.Tensor2D } {
    const n = x.shape[0];
    let y = x;
    for (const conv of this.sharedConvs) y = conv.forward(y);
    let h: tf.Tensor2D = tf.reshape(this.sharedFcs.length ? tf.transpose(y, [0, 3, 1, 2]) : y, [
      n,
      -1,
    ]);
    for (const fc of this.sharedFcs) h = tf.relu(fc.forward(h) as tf.Tensor2D);
    return {
      clsScore: this.fcCls.forward(h) as tf.Tensor2D,
      bboxPred: this.fcReg.forward(h) as tf.Tensor2D,
    };
  }

  /**
   * Targets of the sampled RoIs of every image (mmdet `get_targets` with
   * `concat=True`): positives get their gt label and encoded gt box, weight
   * `posWeight` (`<= 0`: 1); negatives the background label, weight 1.
   */
  getTargets(samplings: RoISampling[], posWeight = -1): BBoxTargets {
    const total = samplings.reduce((s, r) => s + r.posLabels.length + (r.negPriors.length >> 2), 0);
    const labels = new Int32Array(total).fill(this.numClasses);
    const labelWeights = new Float32Array(total);
    const posRows: number[] = [];
    const posLabels: number[] = [];
    const pw = posWeight > 0 ? posWeight : 1;
    let row = 0;
    for (const r of samplings) {
      const p = r.posLabels.length;
      const q = r.negPriors.length >> 2;
      for (let k = 0; k < p; k++) {
        labels[row + k] = r.posLabels[k]!;
        labelWeights[row + k] = pw;
        posRows.push(row + k);
        posLabels.push(r.posLabels[k]);
      }
      labelWeights.fill(1, row + p, row + p + q);
      row += p + q;
    }
    const priors = concatF32(samplings.map((r) => r.posPriors));
    const gts = concatF32(samplings.map((r) => r.posGtBboxes));
    const np = posRows.length;
    const posTargets = np
      ? tf.tidy(
          () =>
            this.bboxCoder
              .encode(tf.tensor2d(priors, [np, 4]), tf.tensor2d(gts, [np, 4]))
              .dataSync() as Float32Array,
        )
      : new Float32Array(0);
    return {
      labels,
      labelWeights,
      posRows: Int32Array.from(posRows),
      posTargets,
      posLabels: Int32Array.from(posLabels),
    };
  }

  /**
   * mmdet `BBoxHead.loss`: `loss_cls` (averaged over RoIs with a non-zero
   * weight), `loss_bbox` on the deltas of each positive's own class
   * (averaged over all sampled RoIs, as mmdet), and `acc` (percent, not a loss).
   */
  loss(
    clsScore: tf.Tensor2D,
    bboxPred: tf.Tensor2D,
    t: BBoxTargets,
  ): { loss_cls: tf.Scalar; loss_bbox: tf.Scalar; acc: tf.Scalar } {
    const n = t.labels.length;
    const allOnes = t.labelWeights.every((w) => w === 1);
    const nonZero = t.labelWeights.reduce((s, w) => s + (w > 0 ? 1 : 0), 0);
    const lossCls = this.lossCls.forward(clsScore, t.labels, {
      weight: allOnes ? undefined : tf.tensor1d(t.labelWeights),
      avgFactor: Math.max(nonZero, 1),
    }) as tf.Scalar;
    let lossBbox: tf.Scalar;
    const np = t.posRows.length;
    if (np === 0) lossBbox = tf.mul(tf.sum(bboxPred), 0) as tf.Scalar;
    else {
      const rows = this.regClassAgnostic
        ? t.posRows
        : Int32Array.from(t.posRows, (r, k) => r * this.numClasses + t.posLabels[k]);
      const pred = tf.gather(
        tf.reshape(bboxPred, [-1, 4]),
        tf.tensor1d(rows, 'int32'),
      ) as tf.Tensor2D;
      lossBbox = this.lossBbox.forward(pred, tf.tensor2d(t.posTargets, [np, 4]), {
        avgFactor: n,
      }) as tf.Scalar;
    }
    const acc = tf.tidy(() => {
      const hit = tf.equal(tf.argMax(clsScore, 1), tf.tensor1d(t.labels, 'int32'));
      return tf.mul(tf.mean(tf.cast(hit, 'float32')), 100) as tf.Scalar;
    });
    return { loss_cls: lossCls, loss_bbox: lossBbox, acc };
  }

  /**
   * Detections of one image (mmdet `_predict_by_feat_single`): softmax
   * scores, class-specific boxes decoded from `rois` (`k*4`, input pixels)
   * and clipped to the image, then {@link detectionsFromDecoded}.
   */
  predictByFeatSingle(
    rois: Float32Array,
    clsScore: Float32Array,
    bboxPred: Float32Array,
    meta: DetSample['metainfo'],
    cfg: RoIPredictCfg,
    rescale: boolean,
  ): InstanceData {
    const k = rois.length >> 2;
    const r = this.regClassAgnostic ? 4 : 4 * this.numClasses;
    const decoded =
      k === 0
        ? new Float32Array(0)
        : tf.tidy(
            () =>
              this.bboxCoder
                .decode(tf.tensor2d(rois, [k, 4]), tf.tensor2d(bboxPred, [k, r]), meta.imgShape)
                .dataSync() as Float32Array,
          );
    return this.detectionsFromDecoded(k, clsScore, decoded, meta, cfg, rescale);
  }

  /**
   * The detections of `k` RoIs from their class logits and their boxes
   * already decoded and clipped (`k * 4` class-agnostic, else `k * 4C`; the
   * RoI head decodes them on the device): the (RoI, class) pairs above
   * `scoreThr`, rescaled to the original image when `rescale`, class-wise
   * NMS, `maxPerImg`.
   */
  detectionsFromDecoded(
    k: number,
    clsScore: Float32Array,
    decoded: Float32Array,
    meta: DetSample['metainfo'],
    cfg: RoIPredictCfg,
    rescale: boolean,
  ): InstanceData {
    const C = this.numClasses;
    const r = this.regClassAgnostic ? 4 : 4 * C;
    if (k === 0)
      return {
        bboxes: new Float32Array(0),
        scores: new Float32Array(0),
        labels: new Int32Array(0),
      };
    const thr = cfg.scoreThr ?? 0;
    const boxes: number[] = [];
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < k; i++) {
      const row = clsScore.subarray(i * (C + 1), (i + 1) * (C + 1));
      let m = -Infinity;
      for (const v of row) m = Math.max(m, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - m);
      for (let c = 0; c < C; c++) {
        const p = Math.exp(row[c] - m) / sum;
        if (!(p > thr)) continue;
        const o = this.regClassAgnostic ? 4 * i : i * r + 4 * c;
        boxes.push(decoded[o], decoded[o + 1], decoded[o + 2], decoded[o + 3]);
        scores.push(p);
        labels.push(c);
      }
    }
    return bboxPostProcess(
      Float32Array.from(boxes),
      Float32Array.from(scores),
      Int32Array.from(labels),
      meta,
      { ...cfg, minBboxSize: cfg.minBboxSize ?? -1 },
      rescale,
    );
  }
}

/** The test settings the box head's predictions use (the RoI head's `testCfg`). */
export interface RoIPredictCfg {
  scoreThr?: number;
  nms?: { iouThreshold: number; classAgnostic?: boolean };
  maxPerImg?: number;
  /**
   * Drop boxes not wider and taller than this before NMS (torchvision's
   * `box_min_size`, 1e-2, measured in original-image pixels here; default:
   * none, as mmdetection).
   */
  minBboxSize?: number;
}

/** mmdet `Shared2FCBBoxHead`: {@link ConvFCBBoxHead} with two shared FCs (default 1024 wide). */
export class Shared2FCBBoxHead extends ConvFCBBoxHead {
  constructor(opts: ConvFCBBoxHeadOptions) {
    super(opts, 2);
  }
}

/**
 * mmdet `Shared4Conv1FCBBoxHead`: {@link ConvFCBBoxHead} with four shared
 * 3x3 convs (256 wide, `normCfg`) and one shared FC.
 *
 * @example
 * ```ts
 * const head = MODELS.build<ConvFCBBoxHead>({ type: 'Shared4Conv1FCBBoxHead', numClasses: 3, inChannels: 8,
 *   convOutChannels: 8, fcOutChannels: 16, normCfg: { type: 'BN' } });
 * head.sharedConvs.length; // => 4
 * head.sharedFcs.items[0].weight.shape; // => [392, 16]
 * head.forward(tf.zeros([5, 7, 7, 8])).clsScore.shape; // => [5, 4]
 * ```
 */
export class Shared4Conv1FCBBoxHead extends ConvFCBBoxHead {
  constructor(opts: ConvFCBBoxHeadOptions) {
    super(opts, 1, 4);
  }
}

MODELS.register(ConvFCBBoxHead, { name: 'ConvFCBBoxHead' });
MODELS.register(Shared2FCBBoxHead, { name: 'Shared2FCBBoxHead' });
MODELS.register(Shared4Conv1FCBBoxHead, { name: 'Shared4Conv1FCBBoxHead' });
