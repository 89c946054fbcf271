/**
 * YOLOv3 head (Redmon & Farhadi 2018, mmdet `YOLOV3Head`): per level a 3x3
 * ConvModule "bridge" and a 1x1 conv to `A * (5 + C)` channels per cell:
 * for each anchor `[x, y, log w, log h, objectness, class logits...]`.
 * Targets come from the {@link GridAssigner} (the cell holding a gt's centre,
 * its best anchor over all levels); the losses, summed per level as mmdet's,
 * are `loss_cls` (sigmoid BCE on the positives' classes), `loss_conf`
 * (sigmoid BCE on objectness over positives and negatives; anchors that
 * overlap a gt by more than `negIouThr` without being assigned are
 * ignored), `loss_xy` (BCE on the sigmoid centre offsets) and `loss_wh`
 * (MSE on log w/h).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFloats } from '../ops/read.js';
import { z } from 'zod';
import { Conv2d, ConvModule, Module, ModuleList, type ActCfg, type NormCfg } from '../nn/index.js';
import { biasInitWithProb } from '../nn/init.js';
import { YOLOAnchorGenerator } from '../task_utils/prior_generators/yolo_anchor_generator.js';
import { YOLOBBoxCoder } from '../task_utils/coders/yolo_bbox_coder.js';
import { MODELS, Registry, TASK_UTILS } from '../registry.js';
import type { AssignResult } from '../task_utils/assigners.js';
import { GridAssigner } from '../task_utils/grid_assigner.js';
import { PseudoSampler, type SamplingResult } from '../task_utils/samplers.js';
import '../task_utils/index.js';
import '../losses/index.js';
import type { LossModule } from './anchor_head.js';
import {
  bboxPostProcess,
  buildOr,
  concatF32,
  featSizes,
  filterScoresAndTopk,
  normalInit,
  sigmoid,
  toDetDataSample,
} from './dense_utils.js';
import type { DenseTestCfg, DenseTrainCfg } from './types.js';
import { yoloTargets, type YOLOPriors, type YOLOTargets } from './yolov3_targets.js';

export type { YOLOTargets } from './yolov3_targets.js';
import type { DetDataSample, DetSample, LossDict } from '../structures/index.js';

const sized = z.union([
  z.number().positive(),
  z.tuple([z.number().positive(), z.number().positive()]),
]);

export const yolov3HeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    /** Channels of the neck's maps, coarsest first. */
    inChannels: z.array(z.number().int().positive()).min(1),
    /** Channels of each level's 3x3 bridge conv (mmdet default [1024, 512, 256]). */
    outChannels: z.array(z.number().int().positive()).min(1).default([1024, 512, 256]),
    anchorGenerator: z.unknown().optional(),
    bboxCoder: z.unknown().optional(),
    /** Stride of each level, coarsest first (mmdet default [32, 16, 8]). */
    featmapStrides: z.array(sized).min(1).default([32, 16, 8]),
    /** Label smoothing of the one-hot class targets (0: off). */
    oneHotSmoother: z.number().min(0).max(1).default(0),
    convCfg: z.null().optional(),
    normCfg: z
      .looseObject({ type: z.string() })
      .nullable()
      .default({ type: 'BN', requiresGrad: true }),
    actCfg: z
      .looseObject({ type: z.string() })
      .nullable()
      .default({ type: 'LeakyReLU', negativeSlope: 0.1 }),
    lossCls: z.unknown().optional(),
    lossConf: z.unknown().optional(),
    lossXy: z.unknown().optional(),
    lossWh: z.unknown().optional(),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.looseObject({}).nullable().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type YOLOV3HeadOptions = z.input<typeof yolov3HeadSchema>;

/** `testCfg` of the YOLOv3 head: the dense-head keys plus `confThr`. */
export interface YOLOTestCfg extends DenseTestCfg {
  /** Candidates whose objectness is below this are dropped first (`<= 0`: keep all). */
  confThr?: number;
}

const UNBUILT = [
  'anchorGenerator',
  'bboxCoder',
  'lossCls',
  'lossConf',
  'lossXy',
  'lossWh',
  'trainCfg',
  'testCfg',
  'initCfg',
] as const;

const DEFAULT_ANCHORS = {
  type: 'YOLOAnchorGenerator',
  baseSizes: [
    [
      [116, 90],
      [156, 198],
      [373, 326],
    ],
    [
      [30, 61],
      [62, 45],
      [59, 119],
    ],
    [
      [10, 13],
      [16, 30],
      [33, 23],
    ],
  ],
  strides: [32, 16, 8],
};

/**
 * Parameters: `convsBridge.{l}` (ConvModule 3x3) and `convsPred.{l}` (Conv2d 1x1).
 *
 * @example
 * ```ts
 * const head = MODELS.build<YOLOV3Head>({ type: 'YOLOV3Head', numClasses: 5, inChannels: [32, 16], outChannels: [64, 32], featmapStrides: [32, 16],
 *   anchorGenerator: { type: 'YOLOAnchorGenerator', strides: [32, 16], baseSizes: [[[48, 48], [64, 64]], [[16, 16], [24, 24]]] } });
 * head.forward([tf.zeros([1, 2, 2, 32]), tf.zeros([1, 4, 4, 16])]).predMaps[1].shape; // => [1, 4, 4, 20]
 * ```
 */
export class YOLOV3Head extends Module {
  static readonly configSchema = yolov3HeadSchema;
  static readonly unbuiltArgs = UNBUILT;
  readonly opts: z.output<typeof yolov3HeadSchema>;
  readonly numClasses: number;
  readonly featmapStrides: [number, number][];
  readonly priorGenerator: YOLOAnchorGenerator;
  readonly bboxCoder: YOLOBBoxCoder;
  readonly lossCls: LossModule;
  readonly lossConf: LossModule;
  readonly lossXy: LossModule;
  readonly lossWh: LossModule;
  readonly trainCfg: DenseTrainCfg;
  readonly testCfg: YOLOTestCfg;
  readonly convsBridge: ModuleList<ConvModule>;
  readonly convsPred: ModuleList<Conv2d>;
  protected assigner?: GridAssigner;
  protected sampler: { sample(a: AssignResult): SamplingResult };
  private priorCache = new Map<string, YOLOPriors>();

  constructor(options: YOLOV3HeadOptions) {
    super();
    const o = (this.opts = yolov3HeadSchema.parse(options));
    this.numClasses = o.numClasses;
    this.featmapStrides = o.featmapStrides.map((s) =>
      typeof s === 'number' ? [s, s] : [s[0], s[1]],
    );
    const L = this.featmapStrides.length;
    if (o.inChannels.length !== L || o.outChannels.length !== L) {
      throw new Error(
        `YOLOV3Head: inChannels ${JSON.stringify(o.inChannels)}, outChannels ${JSON.stringify(o.outChannels)} and featmapStrides ${JSON.stringify(o.featmapStrides)} must have the same length`,
      );
    }
    // Where the user's config put this head (model.bboxHead, ...), for errors.
    const at = Registry.buildPath(new.target) ?? 'bboxHead';
    this.priorGenerator = buildOr<YOLOAnchorGenerator>(
      TASK_UTILS,
      o.anchorGenerator ?? DEFAULT_ANCHORS,
      `${at}.anchorGenerator`,
    );
    if (!(this.priorGenerator instanceof YOLOAnchorGenerator)) {
      throw new Error(
        `${at}.anchorGenerator: YOLOV3Head needs a YOLOAnchorGenerator (it provides the responsible flags), got ${(this.priorGenerator as unknown as object)?.constructor?.name}`,
      );
    }
    if (this.priorGenerator.numLevels !== L) {
      throw new Error(
        `${at}.anchorGenerator: ${this.priorGenerator.numLevels} levels for ${L} featmapStrides`,
      );
    }
    this.priorGenerator.strides.forEach(([sw, sh], l) => {
      const [fw, fh] = this.featmapStrides[l];
      if (sw !== fw || sh !== fh)
        throw new Error(
          `${at}.anchorGenerator.strides.${l}: ${sw} differs from featmapStrides.${l} ${fw}`,
        );
    });
    const A = this.priorGenerator.numBasePriors;
    if (A.some((a) => a !== A[0]))
      throw new Error(`${at}.anchorGenerator: every level needs the same number of anchors`);
    this.bboxCoder = buildOr<YOLOBBoxCoder>(
      TASK_UTILS,
      o.bboxCoder ?? { type: 'YOLOBBoxCoder' },
      `${at}.bboxCoder`,
    );
    if (typeof (this.bboxCoder as Partial<YOLOBBoxCoder>).encodeHost !== 'function') {
      throw new Error(
        `${at}.bboxCoder: YOLOV3Head needs a YOLOBBoxCoder, got ${this.bboxCoder?.constructor?.name}`,
      );
    }
    const ce = { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1 };
    this.lossCls = buildOr<LossModule>(MODELS, o.lossCls ?? ce, `${at}.lossCls`);
    this.lossConf = buildOr<LossModule>(MODELS, o.lossConf ?? ce, `${at}.lossConf`);
    this.lossXy = buildOr<LossModule>(MODELS, o.lossXy ?? ce, `${at}.lossXy`);
    this.lossWh = buildOr<LossModule>(
      MODELS,
      o.lossWh ?? { type: 'MSELoss', lossWeight: 1 },
      `${at}.lossWh`,
    );
    this.trainCfg = o.trainCfg ?? {};
    this.testCfg = o.testCfg ?? {};
    if (this.trainCfg.assigner) {
      this.assigner = buildOr<GridAssigner>(
        TASK_UTILS,
        this.trainCfg.assigner,
        'trainCfg.assigner',
      );
      if (!(this.assigner instanceof GridAssigner))
        throw new Error(
          `trainCfg.assigner: YOLOV3Head needs a GridAssigner, got ${(this.assigner as unknown as object)?.constructor?.name}`,
        );
    }
    this.sampler = this.trainCfg.sampler
      ? buildOr(TASK_UTILS, this.trainCfg.sampler, 'trainCfg.sampler')
      : new PseudoSampler();

    const normCfg = (o.normCfg ?? null) as NormCfg | null;
    const actCfg = (o.actCfg ?? null) as ActCfg | null;
    this.convsBridge = this.addModule('convsBridge', new ModuleList<ConvModule>());
    this.convsPred = this.addModule('convsPred', new ModuleList<Conv2d>());
    const K = this.numAttrib;
    for (let l = 0; l < L; l++) {
      const bridge = new ConvModule({
        inChannels: o.inChannels[l],
        outChannels: o.outChannels[l],
        kernelSize: 3,
        padding: 1,
        normCfg,
        actCfg,
      });
      const pred = new Conv2d({
        inChannels: o.outChannels[l],
        outChannels: this.numAnchors * K,
        kernelSize: 1,
      });
      // mmdet's init: every conv N(0, 0.01); objectness bias at a prior of 8
      // objects per 608x608 image's map, class biases at 0.01.
      normalInit(bridge.conv, 0.01);
      normalInit(pred, 0.01);
      const [sw] = this.featmapStrides[l];
      const bias = new Float32Array(this.numAnchors * K);
      for (let a = 0; a < this.numAnchors; a++) {
        bias[a * K + 4] = biasInitWithProb(8 / (608 / sw) ** 2);
        for (let c = 5; c < K; c++) bias[a * K + c] = biasInitWithProb(0.01);
      }
      tf.tidy(() => pred.bias!.assign(tf.tensor1d(bias)));
      this.convsBridge.push(bridge);
      this.convsPred.push(pred);
    }
  }

  get numLevels(): number {
    return this.featmapStrides.length;
  }

  /** Anchors per cell (the same on every level). */
  get numAnchors(): number {
    return this.priorGenerator.numBasePriors[0];
  }

  /** `5 + numClasses`: box (4), objectness (1), class logits. */
  get numAttrib(): number {
    return 5 + this.numClasses;
  }

  /** Raw prediction maps `[B, H, W, A * (5 + C)]`, one per level (coarsest first). */
  forward(feats: tf.Tensor4D[]): { predMaps: tf.Tensor4D[] } {
    if (!Array.isArray(feats) || feats.length !== this.numLevels) {
      throw new Error(
        `YOLOV3Head: expected ${this.numLevels} feature maps, got ${Array.isArray(feats) ? feats.length : typeof feats}`,
      );
    }
    return {
      predMaps: feats.map((f, l) =>
        tf.tidy(() => this.convsPred.at(l).forward(this.convsBridge.at(l).forward(f))),
      ),
    };
  }

  /** Per-level anchors, their concatenation and each anchor's stride (cached by feature sizes). */
  protected priorsFor(sizes: [number, number][]): YOLOPriors {
    const key = sizes.map((s) => s.join('x')).join(',');
    let hit = this.priorCache.get(key);
    if (!hit) {
      const levels = this.priorGenerator.gridPriorsHost(sizes);
      const strides = new Float32Array(levels.reduce((s, p) => s + p.length / 4, 0));
      let o = 0;
      levels.forEach((p, l) => {
        strides.fill(this.featmapStrides[l][0], o, o + p.length / 4);
        o += p.length / 4;
      });
      hit = { levels, all: concatF32(levels), strides };
      this.priorCache.set(key, hit);
    }
    return hit;
  }

  /**
   * Host-side targets of a batch (mmdet `get_targets`): per image, the
   * GridAssigner over the anchors of all levels with the responsible flags
   * of its gts, then encoded boxes, objectness and one-hot classes for the
   * positives and a negative map; rearranged per level.
   */
  getTargets(sizes: [number, number][], samples: DetSample[]): YOLOTargets {
    if (!this.assigner)
      throw new Error('YOLOV3Head: trainCfg.assigner is needed to compute the loss');
    return yoloTargets(
      {
        assigner: this.assigner,
        sampler: this.sampler,
        priorGenerator: this.priorGenerator,
        bboxCoder: this.bboxCoder,
        numClasses: this.numClasses,
        oneHotSmoother: this.opts.oneHotSmoother,
      },
      this.priorsFor(sizes),
      sizes,
      samples,
    );
  }

  /** Losses of a batch (mmdet `loss`): `loss_cls`, `loss_conf`, `loss_xy`, `loss_wh`, each a list over levels. */
  loss(feats: tf.Tensor4D[], samples: DetSample[]): LossDict {
    const { predMaps } = this.forward(feats);
    return this.lossByFeat(predMaps, samples);
  }

  lossByFeat(predMaps: tf.Tensor4D[], samples: DetSample[]): LossDict {
    const sizes = featSizes(predMaps);
    const t = this.getTargets(sizes, samples);
    const K = this.numAttrib;
    const out: Record<'loss_cls' | 'loss_conf' | 'loss_xy' | 'loss_wh', tf.Scalar[]> = {
      loss_cls: [],
      loss_conf: [],
      loss_xy: [],
      loss_wh: [],
    };
    predMaps.forEach((pm, l) => {
      const rows = t.negMaps[l].length;
      const target = t.targetMaps[l];
      const pos = new Float32Array(rows);
      const posAndNeg = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        pos[r] = target[r * K + 4]!;
        // mmdet clamps an overlap of positive and negative to 1 (it cannot happen with the PseudoSampler).
        posAndNeg[r] = Math.min(pos[r] + t.negMaps[l][r], 1);
      }
      const pred = tf.reshape(pm, [rows, K]) as tf.Tensor2D;
      const tgt = tf.tensor2d(target, [rows, K]);
      const col = (x: tf.Tensor2D, start: number, size: number): tf.Tensor2D =>
        tf.slice(x, [0, start], [rows, size]);
      const posW = tf.tensor1d(pos);
      out.loss_cls.push(
        this.lossCls.forward(col(pred, 5, this.numClasses), col(tgt, 5, this.numClasses), {
          weight: posW,
        }) as tf.Scalar,
      );
      out.loss_conf.push(
        this.lossConf.forward(
          tf.reshape(col(pred, 4, 1), [rows]),
          tf.reshape(col(tgt, 4, 1), [rows]),
          { weight: tf.tensor1d(posAndNeg) },
        ) as tf.Scalar,
      );
      out.loss_xy.push(
        this.lossXy.forward(col(pred, 0, 2), col(tgt, 0, 2), { weight: posW }) as tf.Scalar,
      );
      out.loss_wh.push(
        this.lossWh.forward(col(pred, 2, 2), col(tgt, 2, 2), { weight: posW }) as tf.Scalar,
      );
    });
    return out;
  }

  /** Detections per image (mmdet `predict_by_feat`), rescaled to the original image when `rescale`. */
  async predict(
    feats: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const { predMaps } = tf.tidy(() => this.forward(feats));
    try {
      return await this.predictByFeat(predMaps, samples, rescale);
    } finally {
      tf.dispose(predMaps);
    }
  }

  /**
   * Decode every anchor (sigmoid centre offsets, exp sizes), drop those with
   * objectness below `confThr`, keep the (anchor, class) pairs whose class
   * probability exceeds `scoreThr` (the `nmsPre` best), score them
   * `objectness * class probability`, then rescale, class-aware NMS and
   * `maxPerImg` (mmdet's `_bbox_post_process`).
   */
  async predictByFeat(
    predMaps: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const sizes = featSizes(predMaps);
    const { levels } = this.priorsFor(sizes);
    const cfg = this.testCfg;
    const K = this.numAttrib;
    const C = this.numClasses;
    const data = await readFloats(predMaps);
    const confThr = cfg.confThr ?? -1;
    return samples.map((s, b) => {
      const boxes: Float32Array[] = [];
      const conf: number[] = [];
      const cls: Float32Array[] = [];
      levels.forEach((pri, l) => {
        const n = pri.length / 4;
        const d = data[l].subarray(b * n * K, (b + 1) * n * K);
        const keep: number[] = [];
        for (let i = 0; i < n; i++) {
          const c = sigmoid(d[i * K + 4]);
          if (confThr > 0 && !(c >= confThr)) continue;
          keep.push(i);
          conf.push(c);
        }
        if (!keep.length) return;
        const kp = new Float32Array(4 * keep.length);
        const kd = new Float32Array(4 * keep.length);
        const kc = new Float32Array(C * keep.length);
        keep.forEach((i, k) => {
          kp.set(pri.subarray(4 * i, 4 * i + 4), 4 * k);
          kd.set([sigmoid(d[i * K]), sigmoid(d[i * K + 1]), d[i * K + 2], d[i * K + 3]], 4 * k);
          for (let c = 0; c < C; c++) kc[k * C + c] = sigmoid(d[i * K + 5 + c]);
        });
        boxes.push(this.bboxCoder.decodeHost(kp, kd, this.featmapStrides[l][0]));
        cls.push(kc);
      });
      const allBoxes = concatF32(boxes);
      const cand = filterScoresAndTopk(concatF32(cls), C, cfg.scoreThr ?? 0, cfg.nmsPre ?? -1);
      const m = cand.scores.length;
      const bx = new Float32Array(4 * m);
      const sc = new Float32Array(m);
      for (let k = 0; k < m; k++) {
        const i = cand.priorIdx[k];
        bx.set(allBoxes.subarray(4 * i, 4 * i + 4), 4 * k);
        sc[k] = cand.scores[k] * conf[i];
      }
      return toDetDataSample(s, bboxPostProcess(bx, sc, cand.labels, s.metainfo, cfg, rescale));
    });
  }
}

MODELS.register(YOLOV3Head, { name: 'YOLOV3Head', schema: yolov3HeadSchema });
