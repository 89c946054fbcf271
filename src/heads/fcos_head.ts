/**
 * FCOS head (Tian et al. 2019, mmdet `FCOSHead`): anchor-free, one point per
 * feature cell, classification + (l, t, r, b) distances + centerness.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFloats } from '../ops/read.js';
import { z } from 'zod';
import { ConvModule, Conv2d, Module, ModuleList, type NormCfg } from '../nn/index.js';
import { biasInitWithProb } from '../nn/init.js';
import { MlvlPointGenerator } from '../task_utils/prior_generators/index.js';
import { MODELS, Registry, TASK_UTILS } from '../registry.js';
import '../task_utils/index.js';
import '../losses/index.js';
import type { BoxCoder, LossModule } from './anchor_head.js';
import {
  bboxPostProcess,
  buildOr,
  concatF32,
  concatI32,
  featSizes,
  flattenLevels,
  gatherRows,
  logit,
  normalInit,
  sigmoid,
  toDetDataSample,
} from './dense_utils.js';
import type { DenseTestCfg, DenseTrainCfg } from './types.js';
import type { DetDataSample, DetSample, LossDict } from '../structures/index.js';

/** A learnable scalar multiplier (mmcv `Scale`), one per FPN level. */
export class Scale extends Module {
  readonly scale: tf.Variable;
  constructor(init = 1.0) {
    super();
    this.scale = this.addParameter('scale', tf.scalar(init));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.scale);
  }
}

const INF = 1e8;

export const fcosHeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    inChannels: z.number().int().positive(),
    featChannels: z.number().int().positive().optional(),
    stackedConvs: z.number().int().nonnegative().optional(),
    strides: z.array(z.number().positive()).optional(),
    regressRanges: z.array(z.tuple([z.number(), z.number()])).optional(),
    centerSampling: z.boolean().optional(),
    centerSampleRadius: z.number().positive().optional(),
    normOnBbox: z.boolean().optional(),
    centernessOnReg: z.boolean().optional(),
    convBias: z.union([z.boolean(), z.literal('auto')]).optional(),
    dcnOnLastConv: z.literal(false).optional(),
    normCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    /** The points' `offset` and `stridesFromFeatmaps` (MlvlPointGenerator; its strides are the head's). */
    priorGenerator: z
      .object({
        type: z.literal('MlvlPointGenerator').optional(),
        offset: z.number().optional(),
        stridesFromFeatmaps: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /**
     * How the centerness enters the score: `'product'` (mmdetection: the
     * class score thresholded and ranked, then multiplied by the
     * centerness) or `'sqrtProduct'` (torchvision: `sqrt(class x
     * centerness)`, thresholded and ranked).
     */
    centernessScoring: z.enum(['product', 'sqrtProduct']).optional(),
    bboxCoder: z.unknown().optional(),
    lossCls: z.unknown().optional(),
    lossBbox: z.unknown().optional(),
    lossCenterness: z.unknown().optional(),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.looseObject({}).nullable().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type FCOSHeadOptions = z.input<typeof fcosHeadSchema>;

/** Per-point FCOS targets of a batch, flat over `B * N` points. */
export interface FCOSTargets {
  labels: Int32Array;
  /** `(l, t, r, b)` per point, divided by the stride with `normOnBbox`. */
  bboxTargets: Float32Array;
  posFlat: Int32Array;
  numPos: number;
}

/**
 * Classification (sigmoid, focal loss), distance regression (GIoU on decoded
 * boxes, weighted by the centerness target) and centerness (BCE) per point.
 * Points are assigned to the smallest-area gt that contains them (or, with
 * `centerSampling`, whose centre region of `radius * stride` does) and whose
 * largest distance falls in the level's regress range.
 * Parameters: `clsConvs.{i}`, `regConvs.{i}`, `convCls`, `convReg`, `convCenterness`, `scales.{l}.scale`.
 *
 * @example
 * ```ts
 * const head = MODELS.build<FCOSHead>({ type: 'FCOSHead', numClasses: 5, inChannels: 32, featChannels: 32, stackedConvs: 1, strides: [8],
 *   regressRanges: [[-1, 1e8]] });
 * head.forward([tf.zeros([1, 16, 16, 32])]).centernesses[0].shape; // => [1, 16, 16, 1]
 * ```
 */
export class FCOSHead extends Module {
  static readonly configSchema = fcosHeadSchema;
  static readonly unbuiltArgs = [
    'bboxCoder',
    'lossCls',
    'lossBbox',
    'lossCenterness',
    'trainCfg',
    'testCfg',
    'initCfg',
  ] as const;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly featChannels: number;
  readonly strides: number[];
  readonly regressRanges: [number, number][];
  readonly centerSampling: boolean;
  readonly centerSampleRadius: number;
  readonly normOnBbox: boolean;
  readonly centernessOnReg: boolean;
  readonly centernessScoring: 'product' | 'sqrtProduct';
  readonly priorGenerator: MlvlPointGenerator;
  readonly bboxCoder: BoxCoder;
  readonly lossCls: LossModule;
  readonly lossBbox: LossModule;
  readonly lossCenterness: LossModule;
  readonly trainCfg: DenseTrainCfg;
  readonly testCfg: DenseTestCfg;
  readonly clsConvs: ModuleList<ConvModule>;
  readonly regConvs: ModuleList<ConvModule>;
  readonly convCls: Conv2d;
  readonly convReg: Conv2d;
  readonly convCenterness: Conv2d;
  readonly scales: ModuleList<Scale>;

  constructor(opts: FCOSHeadOptions) {
    super();
    this.numClasses = opts.numClasses;
    this.inChannels = opts.inChannels;
    this.featChannels = opts.featChannels ?? 256;
    this.strides = opts.strides ?? [8, 16, 32, 64, 128];
    this.regressRanges = opts.regressRanges ?? [
      [-1, 64],
      [64, 128],
      [128, 256],
      [256, 512],
      [512, INF],
    ];
    if (this.regressRanges.length !== this.strides.length) {
      throw new Error(
        `FCOSHead: regressRanges has ${this.regressRanges.length} entries for ${this.strides.length} strides`,
      );
    }
    this.centerSampling = opts.centerSampling ?? false;
    this.centerSampleRadius = opts.centerSampleRadius ?? 1.5;
    this.normOnBbox = opts.normOnBbox ?? false;
    this.centernessOnReg = opts.centernessOnReg ?? false;
    this.centernessScoring = opts.centernessScoring ?? 'product';
    const { type: _type, ...points } = opts.priorGenerator ?? {};
    this.priorGenerator = new MlvlPointGenerator({ ...points, strides: this.strides });
    // Where the user's config put this head (model.bboxHead, ...), for errors.
    const at = Registry.buildPath(new.target) ?? 'bboxHead';
    this.bboxCoder = buildOr<BoxCoder>(
      TASK_UTILS,
      opts.bboxCoder ?? { type: 'DistancePointBBoxCoder' },
      `${at}.bboxCoder`,
    );
    this.lossCls = buildOr<LossModule>(
      MODELS,
      opts.lossCls ?? { type: 'FocalLoss', useSigmoid: true, gamma: 2, alpha: 0.25, lossWeight: 1 },
      `${at}.lossCls`,
    );
    this.lossBbox = buildOr<LossModule>(
      MODELS,
      opts.lossBbox ?? { type: 'GIoULoss', lossWeight: 1 },
      `${at}.lossBbox`,
    );
    this.lossCenterness = buildOr<LossModule>(
      MODELS,
      opts.lossCenterness ?? { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1 },
      `${at}.lossCenterness`,
    );
    this.trainCfg = opts.trainCfg ?? {};
    this.testCfg = opts.testCfg ?? {};
    const normCfg = (
      opts.normCfg === undefined ? { type: 'GN', numGroups: 32, requiresGrad: true } : opts.normCfg
    ) as NormCfg | null;
    const convBias =
      opts.convBias === undefined || opts.convBias === 'auto' ? undefined : opts.convBias;
    this.clsConvs = this.addModule('clsConvs', new ModuleList<ConvModule>());
    this.regConvs = this.addModule('regConvs', new ModuleList<ConvModule>());
    const stacked = opts.stackedConvs ?? 4;
    for (let i = 0; i < stacked; i++) {
      const inC = i === 0 ? this.inChannels : this.featChannels;
      for (const list of [this.clsConvs, this.regConvs]) {
        const m = new ConvModule({
          inChannels: inC,
          outChannels: this.featChannels,
          kernelSize: 3,
          padding: 1,
          normCfg,
          bias: convBias,
        });
        normalInit(m.conv, 0.01);
        list.push(m);
      }
    }
    const c = stacked ? this.featChannels : this.inChannels;
    this.convCls = this.addModule(
      'convCls',
      new Conv2d({ inChannels: c, outChannels: this.numClasses, kernelSize: 3, padding: 1 }),
    );
    this.convReg = this.addModule(
      'convReg',
      new Conv2d({ inChannels: c, outChannels: 4, kernelSize: 3, padding: 1 }),
    );
    this.convCenterness = this.addModule(
      'convCenterness',
      new Conv2d({ inChannels: c, outChannels: 1, kernelSize: 3, padding: 1 }),
    );
    normalInit(this.convCls, 0.01, biasInitWithProb(0.01));
    normalInit(this.convReg, 0.01);
    normalInit(this.convCenterness, 0.01);
    this.scales = this.addModule('scales', new ModuleList(this.strides.map(() => new Scale(1.0))));
  }

  /**
   * Raw outputs per level: class logits `[B,H,W,C]`, distances `[B,H,W,4]`
   * (in strides with `normOnBbox`, else pixels) and centerness logits `[B,H,W,1]`.
   */
  forward(feats: tf.Tensor4D[]): {
    clsScores: tf.Tensor4D[];
    bboxPreds: tf.Tensor4D[];
    centernesses: tf.Tensor4D[];
  } {
    const clsScores: tf.Tensor4D[] = [];
    const bboxPreds: tf.Tensor4D[] = [];
    const centernesses: tf.Tensor4D[] = [];
    feats.forEach((x, l) => {
      let c = x;
      let r = x;
      for (const m of this.clsConvs) c = m.forward(c);
      for (const m of this.regConvs) r = m.forward(r);
      clsScores.push(this.convCls.forward(c));
      centernesses.push(this.convCenterness.forward(this.centernessOnReg ? r : c));
      const reg = this.scales.at(l).forward(this.convReg.forward(r)) as tf.Tensor4D;
      bboxPreds.push(this.normOnBbox ? tf.relu(reg) : tf.exp(reg));
    });
    return { clsScores, bboxPreds, centernesses };
  }

  /** Host-side FCOS targets (mmdet `get_targets` / `_get_targets_single`). */
  getTargets(points: Float32Array[], samples: DetSample[]): FCOSTargets {
    const perLevel = points.map((p) => p.length >> 1);
    const n = perLevel.reduce((s, x) => s + x, 0);
    const B = samples.length;
    const labels = new Int32Array(B * n).fill(this.numClasses);
    const bboxTargets = new Float32Array(B * n * 4);
    const posFlat: number[] = [];
    samples.forEach((s, b) => {
      const gt = s.gtInstances.bboxes;
      const gl = s.gtInstances.labels;
      const g = gl.length;
      if (!g) return;
      const areas = new Float64Array(g);
      for (let j = 0; j < g; j++)
        areas[j] = (gt[4 * j + 2] - gt[4 * j]) * (gt[4 * j + 3] - gt[4 * j + 1]);
      let idx = 0;
      points.forEach((pts, l) => {
        const [lo, hi] = this.regressRanges[l];
        const stride = this.strides[l];
        const radius = stride * this.centerSampleRadius;
        for (let k = 0; k < perLevel[l]; k++, idx++) {
          const x = pts[2 * k],
            y = pts[2 * k + 1];
          let best = INF;
          let bestJ = -1;
          for (let j = 0; j < g; j++) {
            const x1 = gt[4 * j],
              y1 = gt[4 * j + 1],
              x2 = gt[4 * j + 2],
              y2 = gt[4 * j + 3];
            const left = x - x1,
              top = y - y1,
              right = x2 - x,
              bottom = y2 - y;
            let inside: boolean;
            if (this.centerSampling) {
              const cx = (x1 + x2) / 2,
                cy = (y1 + y2) / 2;
              const cx1 = Math.max(cx - radius, x1),
                cy1 = Math.max(cy - radius, y1);
              const cx2 = Math.min(cx + radius, x2),
                cy2 = Math.min(cy + radius, y2);
              inside = Math.min(x - cx1, y - cy1, cx2 - x, cy2 - y) > 0;
            } else inside = Math.min(left, top, right, bottom) > 0;
            if (!inside) continue;
            const maxD = Math.max(left, top, right, bottom);
            if (!(maxD >= lo && maxD <= hi)) continue;
            if (areas[j] < best) {
              best = areas[j]!;
              bestJ = j;
            }
          }
          if (bestJ < 0) continue;
          const f = b * n + idx;
          labels[f] = gl[bestJ]!;
          const div = this.normOnBbox ? stride : 1;
          bboxTargets[4 * f] = (x - gt[4 * bestJ]) / div;
          bboxTargets[4 * f + 1] = (y - gt[4 * bestJ + 1]) / div;
          bboxTargets[4 * f + 2] = (gt[4 * bestJ + 2] - x) / div;
          bboxTargets[4 * f + 3] = (gt[4 * bestJ + 3] - y) / div;
          posFlat.push(f);
        }
      });
    });
    return { labels, bboxTargets, posFlat: Int32Array.from(posFlat), numPos: posFlat.length };
  }

  loss(feats: tf.Tensor4D[], samples: DetSample[]): LossDict {
    const { clsScores, bboxPreds, centernesses } = this.forward(feats);
    return this.lossByFeat(clsScores, bboxPreds, centernesses, samples);
  }

  lossByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    centernesses: tf.Tensor4D[],
    samples: DetSample[],
  ): LossDict {
    const sizes = featSizes(clsScores);
    const points = this.priorGenerator.gridPriorsHost(sizes);
    const t = this.getTargets(points, samples);
    const cls = tf.reshape(flattenLevels(clsScores, this.numClasses), [
      -1,
      this.numClasses,
    ]) as tf.Tensor2D;
    const reg = tf.reshape(flattenLevels(bboxPreds, 4), [-1, 4]) as tf.Tensor2D;
    const ctr = tf.reshape(flattenLevels(centernesses, 1), [-1]);
    const numPos = Math.max(t.numPos, 1);
    const lossCls = this.lossCls.forward(cls, t.labels, { avgFactor: numPos }) as tf.Scalar;
    if (t.numPos === 0) {
      return {
        loss_cls: lossCls,
        loss_bbox: tf.mul(tf.sum(reg), 0) as tf.Scalar,
        loss_centerness: tf.mul(tf.sum(ctr), 0) as tf.Scalar,
      };
    }
    const allPoints = concatF32(points);
    const n = allPoints.length >> 1;
    const pos = tf.tensor1d(t.posFlat, 'int32');
    const posTargets = gatherRows(t.bboxTargets, 4, t.posFlat);
    const posPoints = gatherRows(
      allPoints,
      2,
      Int32Array.from(t.posFlat, (f) => f % n),
    );
    const ctrTargets = new Float32Array(t.numPos);
    let ctrSum = 0;
    for (let i = 0; i < t.numPos; i++) {
      const [l, tp, r, bt] = [
        posTargets[4 * i],
        posTargets[4 * i + 1],
        posTargets[4 * i + 2],
        posTargets[4 * i + 3],
      ];
      ctrTargets[i] = Math.sqrt(
        (Math.min(l, r) / Math.max(l, r)) * (Math.min(tp, bt) / Math.max(tp, bt)),
      );
      ctrSum += ctrTargets[i];
    }
    const pts = tf.tensor2d(posPoints, [t.numPos, 2]);
    const predBoxes = this.bboxCoder.decode(pts, tf.gather(reg, pos) as tf.Tensor2D);
    const targetBoxes = this.bboxCoder.decode(pts, tf.tensor2d(posTargets, [t.numPos, 4]));
    const ctrT = tf.tensor1d(ctrTargets);
    const lossBbox = this.lossBbox.forward(predBoxes, targetBoxes, {
      weight: ctrT,
      avgFactor: Math.max(ctrSum, 1e-6),
    }) as tf.Scalar;
    const lossCenterness = this.lossCenterness.forward(tf.gather(ctr, pos), ctrT, {
      avgFactor: numPos,
    }) as tf.Scalar;
    return { loss_cls: lossCls, loss_bbox: lossBbox, loss_centerness: lossCenterness };
  }

  async predict(
    feats: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const out = tf.tidy(() => this.forward(feats));
    try {
      return await this.predictByFeat(
        out.clsScores,
        out.bboxPreds,
        out.centernesses,
        samples,
        rescale,
      );
    } finally {
      tf.dispose([...out.clsScores, ...out.bboxPreds, ...out.centernesses]);
    }
  }

  async predictByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    centernesses: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const sizes = featSizes(clsScores);
    const points = this.priorGenerator.gridPriorsHost(sizes);
    const cfg = this.testCfg;
    const C = this.numClasses;
    const thr = cfg.scoreThr ?? 0;
    const lthr = logit(thr);
    const nmsPre = cfg.nmsPre ?? -1;
    const L = clsScores.length;
    const read = await readFloats([...clsScores, ...bboxPreds, ...centernesses]);
    const clsData = read.slice(0, L);
    const regData = read.slice(L, 2 * L);
    const ctrData = read.slice(2 * L);
    return samples.map((s, b) => {
      const boxes: Float32Array[] = [];
      const scores: Float32Array[] = [];
      const labels: Int32Array[] = [];
      sizes.forEach(([h, w], l) => {
        const n = h * w;
        const logits = clsData[l].subarray(b * n * C, (b + 1) * n * C);
        const ctr = ctrData[l].subarray(b * n, (b + 1) * n);
        const cand: number[] = [];
        let rank: ArrayLike<number> = logits;
        let score = (pair: number): number => sigmoid(logits[pair]) * sigmoid(ctr[(pair / C) | 0]);
        if (this.centernessScoring === 'sqrtProduct') {
          const sq = new Float32Array(logits.length);
          for (let i = 0; i < sq.length; i++)
            sq[i] = Math.fround(Math.sqrt(sigmoid(logits[i]) * sigmoid(ctr[(i / C) | 0])));
          for (let i = 0; i < sq.length; i++) if (sq[i] > thr) cand.push(i);
          rank = sq;
          score = (pair) => sq[pair];
        } else for (let i = 0; i < logits.length; i++) if (logits[i] > lthr) cand.push(i);
        cand.sort((p, q) => rank[q] - rank[p] || p - q);
        const keep = nmsPre > 0 ? cand.slice(0, nmsPre) : cand;
        if (!keep.length) return;
        const stride = this.normOnBbox ? this.strides[l] : 1;
        const reg = regData[l].subarray(b * n * 4, (b + 1) * n * 4);
        const [ih, iw] = s.metainfo.imgShape;
        const bx = new Float32Array(keep.length * 4);
        const sc = new Float32Array(keep.length);
        const lb = new Int32Array(keep.length);
        keep.forEach((pair, k) => {
          const i = Math.floor(pair / C);
          const x = points[l][2 * i],
            y = points[l][2 * i + 1];
          // DistancePointBBoxCoder.decode with clipping to the image, on the host
          bx[4 * k] = Math.min(Math.max(x - reg[4 * i] * stride, 0), iw);
          bx[4 * k + 1] = Math.min(Math.max(y - reg[4 * i + 1] * stride, 0), ih);
          bx[4 * k + 2] = Math.min(Math.max(x + reg[4 * i + 2] * stride, 0), iw);
          bx[4 * k + 3] = Math.min(Math.max(y + reg[4 * i + 3] * stride, 0), ih);
          // the class score times the centerness (mmdet) or its square root (torchvision)
          sc[k] = score(pair);
          lb[k] = pair % C;
        });
        boxes.push(bx);
        scores.push(sc);
        labels.push(lb);
      });
      const inst = bboxPostProcess(
        concatF32(boxes),
        concatF32(scores),
        concatI32(labels),
        s.metainfo,
        cfg,
        rescale,
      );
      return toDetDataSample(s, inst);
    });
  }
}

MODELS.register(FCOSHead, { name: 'FCOSHead' });
