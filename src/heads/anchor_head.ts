/**
 * Anchor-based dense head (mmdet `AnchorHead`; `RetinaHead` is in
 * retina_head.ts). Targets are computed on the host with typed arrays
 * (assigner, sampler, coder inputs); the losses are tfjs ops on gathered rows
 * so gradients flow to the predictions only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Conv2d, Module } from '../nn/index.js';
import { readFloats } from '../ops/read.js';
import type { AnchorGenerator } from '../task_utils/prior_generators/index.js';
import { MODELS, Registry, TASK_UTILS } from '../registry.js';
import type { AssignResult, MaxIoUAssigner } from '../task_utils/assigners.js';
import { PseudoSampler, type SamplingResult } from '../task_utils/samplers.js';
import '../task_utils/index.js';
import '../losses/index.js';
import {
  toDetDataSample,
  atLeastOne,
  bboxPostProcess,
  buildOr,
  concatF32,
  concatI32,
  concatU8,
  featSizes,
  filterScoresAndTopk,
  flattenLevels,
  gatherRows,
  normalInit,
  sigmoid,
  logit,
} from './dense_utils.js';
import type { DenseTestCfg, DenseTrainCfg } from './types.js';
import type { DetDataSample, DetSample, InstanceData, LossDict } from '../structures/index.js';

/** A box coder as the heads use it (DeltaXYWHBBoxCoder, SSDVarianceBBoxCoder, ...). */
export interface BoxCoder {
  encode(priors: tf.Tensor2D, gt: tf.Tensor2D): tf.Tensor2D;
  decode(priors: tf.Tensor2D, pred: tf.Tensor2D, maxShape?: [number, number]): tf.Tensor2D;
}

/** A loss module: `forward(pred, target, {weight, avgFactor})`. */
export interface LossModule extends Module {
  forward(
    pred: tf.Tensor,
    target: tf.Tensor | Int32Array,
    opts?: { weight?: tf.Tensor; avgFactor?: number },
  ): tf.Tensor;
  useSigmoid?: boolean;
}

export const anchorHeadSchema = z
  .object({
    numClasses: z.number().int().positive(),
    inChannels: z.number().int().positive(),
    featChannels: z.number().int().positive().optional(),
    stackedConvs: z.number().int().nonnegative().optional(),
    convCfg: z.unknown().optional(),
    normCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    anchorGenerator: z.unknown(),
    bboxCoder: z.unknown().optional(),
    regDecodedBbox: z.boolean().optional(),
    lossCls: z.unknown().optional(),
    lossBbox: z.unknown().optional(),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.looseObject({}).nullable().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type AnchorHeadOptions = z.input<typeof anchorHeadSchema>;

/** Targets of a batch, flat over `B * N` priors. */
export interface DenseTargets {
  /** Per prior: class label, `numClasses` = background. */
  labels: Int32Array;
  labelWeights: Float32Array;
  /** Flat indices (`b * N + i`) of the positives, and their gt boxes / priors (`p*4`). */
  posFlat: Int32Array;
  posGt: Float32Array;
  posPriors: Float32Array;
  /** Flat indices of every prior with a non-zero label weight. */
  validFlat: Int32Array;
  numPos: number;
  avgFactor: number;
  assign: AssignResult[];
}

const UNBUILT = [
  'anchorGenerator',
  'bboxCoder',
  'lossCls',
  'lossBbox',
  'trainCfg',
  'testCfg',
  'initCfg',
] as const;

/**
 * mmdet `AnchorHead`: one conv for classification (`A * C` channels, sigmoid)
 * and one for regression (`A * 4`) per level, anchors from `anchorGenerator`,
 * `MaxIoUAssigner` + sampler, `lossCls` over the sampled anchors and
 * `lossBbox` over the positives (on deltas, or on decoded boxes when
 * `regDecodedBbox`, e.g. GIoU).
 */
export class AnchorHead extends Module {
  static readonly configSchema = anchorHeadSchema;
  static readonly unbuiltArgs = UNBUILT;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly featChannels: number;
  readonly priorGenerator: AnchorGenerator;
  readonly bboxCoder: BoxCoder;
  readonly lossCls: LossModule;
  readonly lossBbox: LossModule;
  readonly regDecodedBbox: boolean;
  readonly trainCfg: DenseTrainCfg;
  readonly testCfg: DenseTestCfg;
  readonly clsOutChannels: number;
  readonly useSigmoidCls: boolean;
  protected assigner?: MaxIoUAssigner;
  protected sampler: { sample(a: AssignResult): SamplingResult };
  private priorCache = new Map<string, { priors: Float32Array; valid: Uint8Array[] }>();

  constructor(opts: AnchorHeadOptions) {
    super();
    this.numClasses = opts.numClasses;
    this.inChannels = opts.inChannels;
    this.featChannels = opts.featChannels ?? 256;
    // Where the user's config put this head (model.bboxHead, model.rpnHead), for errors.
    const at = Registry.buildPath(new.target) ?? 'bboxHead';
    this.priorGenerator = buildOr<AnchorGenerator>(
      TASK_UTILS,
      opts.anchorGenerator,
      `${at}.anchorGenerator`,
    );
    this.bboxCoder = buildOr<BoxCoder>(
      TASK_UTILS,
      opts.bboxCoder ?? { type: 'DeltaXYWHBBoxCoder' },
      `${at}.bboxCoder`,
    );
    this.lossCls = buildOr<LossModule>(
      MODELS,
      opts.lossCls ?? { type: 'FocalLoss', useSigmoid: true, gamma: 2, alpha: 0.25, lossWeight: 1 },
      `${at}.lossCls`,
    );
    this.lossBbox = buildOr<LossModule>(
      MODELS,
      opts.lossBbox ?? { type: 'L1Loss', lossWeight: 1 },
      `${at}.lossBbox`,
    );
    this.useSigmoidCls = this.lossCls.useSigmoid ?? false;
    this.clsOutChannels = this.useSigmoidCls ? this.numClasses : this.numClasses + 1;
    this.regDecodedBbox = opts.regDecodedBbox ?? false;
    this.trainCfg = opts.trainCfg ?? {};
    this.testCfg = opts.testCfg ?? {};
    if (this.trainCfg.assigner)
      this.assigner = buildOr<MaxIoUAssigner>(
        TASK_UTILS,
        this.trainCfg.assigner,
        'trainCfg.assigner',
      );
    this.sampler = this.trainCfg.sampler
      ? buildOr(TASK_UTILS, this.trainCfg.sampler, 'trainCfg.sampler')
      : new PseudoSampler();
    if ((this.sampler as { addGtAsProposals?: boolean }).addGtAsProposals) {
      throw new Error(
        `${new.target.name}: trainCfg.sampler.addGtAsProposals must be false (anchors are not proposals; it is for a two-stage RoI head's sampler)`,
      );
    }
    this.initLayers(opts);
  }

  get numBaseAnchors(): number {
    return this.priorGenerator.numBasePriors[0];
  }

  declare protected convCls: Conv2d;
  declare protected convReg: Conv2d;

  protected initLayers(_opts: AnchorHeadOptions): void {
    const a = this.numBaseAnchors;
    this.convCls = this.addModule(
      'convCls',
      new Conv2d({
        inChannels: this.inChannels,
        outChannels: a * this.clsOutChannels,
        kernelSize: 1,
      }),
    );
    this.convReg = this.addModule(
      'convReg',
      new Conv2d({ inChannels: this.inChannels, outChannels: a * 4, kernelSize: 1 }),
    );
    normalInit(this.convCls, 0.01);
    normalInit(this.convReg, 0.01);
  }

  /** One level: `[clsScore [B,H,W,A*C], bboxPred [B,H,W,A*4]]`. */
  forwardSingle(x: tf.Tensor4D, _level = 0): [tf.Tensor4D, tf.Tensor4D] {
    return [this.convCls.forward(x), this.convReg.forward(x)];
  }

  forward(feats: tf.Tensor4D[]): { clsScores: tf.Tensor4D[]; bboxPreds: tf.Tensor4D[] } {
    const clsScores: tf.Tensor4D[] = [];
    const bboxPreds: tf.Tensor4D[] = [];
    feats.forEach((f, i) => {
      const [c, b] = this.forwardSingle(f, i);
      clsScores.push(c);
      bboxPreds.push(b);
    });
    return { clsScores, bboxPreds };
  }

  /** All-level priors (`N*4`, flat) and per-level valid flags for feature sizes `sizes`. */
  protected priorsFor(sizes: [number, number][]): { priors: Float32Array; perLevel: number[] } {
    const key = sizes.map((s) => s.join('x')).join(',');
    let hit = this.priorCache.get(key);
    if (!hit) {
      hit = { priors: concatF32(this.priorGenerator.gridPriorsHost(sizes)), valid: [] };
      this.priorCache.set(key, hit);
    }
    return {
      priors: hit.priors,
      perLevel: sizes.map(([h, w], i) => h * w * this.priorGenerator.numBasePriors[i]),
    };
  }

  /** Priors a sample may train on: valid for its pad shape, and inside the image within `allowedBorder`. */
  protected validMask(priors: Float32Array, sizes: [number, number][], s: DetSample): Uint8Array {
    const meta = s.metainfo;
    const valid = concatU8(
      this.priorGenerator.validFlagsHost(sizes, meta.padShape ?? meta.imgShape),
    );
    const border = this.trainCfg.allowedBorder ?? -1;
    if (border >= 0) {
      const [h, w] = meta.imgShape;
      for (let i = 0; i < valid.length; i++) {
        if (
          valid[i] &&
          !(
            priors[4 * i] >= -border &&
            priors[4 * i + 1] >= -border &&
            priors[4 * i + 2] < w + border &&
            priors[4 * i + 3] < h + border
          )
        ) {
          valid[i] = 0;
        }
      }
    }
    return valid;
  }

  /** Host-side targets of a batch (mmdet `get_targets`). */
  getTargets(priors: Float32Array, sizes: [number, number][], samples: DetSample[]): DenseTargets {
    if (!this.assigner)
      throw new Error(`${this.constructor.name}: trainCfg.assigner is needed to compute the loss`);
    const n = priors.length >> 2;
    const B = samples.length;
    const labels = new Int32Array(B * n).fill(this.numClasses);
    const labelWeights = new Float32Array(B * n);
    const posFlat: number[] = [];
    const posGt: Float32Array[] = [];
    const posPriors: Float32Array[] = [];
    const validFlat: number[] = [];
    const assigns: AssignResult[] = [];
    let numPos = 0;
    let numNeg = 0;
    let sampled = false;
    const posWeight = (this.trainCfg.posWeight ?? -1) > 0 ? this.trainCfg.posWeight! : 1;
    samples.forEach((s, b) => {
      const valid = this.validMask(priors, sizes, s);
      const vIdx: number[] = [];
      for (let i = 0; i < n; i++) if (valid[i]) vIdx.push(i);
      const vPriors = vIdx.length === n ? priors : gatherRows(priors, 4, vIdx);
      const assign = this.assigner!.assign(vPriors, s.gtInstances, s.ignoredInstances);
      assigns.push(assign);
      const res = this.sampler.sample(assign);
      sampled ||= res.sampled;
      const gtB = s.gtInstances.bboxes;
      res.posInds.forEach((vi, k) => {
        const i = vIdx[vi];
        const g = res.posAssignedGtInds[k];
        labels[b * n + i] = s.gtInstances.labels[g]!;
        labelWeights[b * n + i] = posWeight;
        posFlat.push(b * n + i);
        posGt.push(gtB.subarray(4 * g, 4 * g + 4));
        posPriors.push(priors.subarray(4 * i, 4 * i + 4));
      });
      for (const vi of res.negInds) labelWeights[b * n + vIdx[vi]] = 1;
      numPos += res.posInds.length;
      numNeg += res.negInds.length;
    });
    for (let i = 0; i < labelWeights.length; i++) if (labelWeights[i] > 0) validFlat.push(i);
    return {
      labels,
      labelWeights,
      posFlat: Int32Array.from(posFlat),
      posGt: concatF32(posGt),
      posPriors: concatF32(posPriors),
      validFlat: Int32Array.from(validFlat),
      numPos,
      avgFactor: sampled ? numPos + numNeg : numPos,
      assign: assigns,
    };
  }

  /** Losses of a batch (mmdet `loss`): `loss_cls`, `loss_bbox`. */
  loss(feats: tf.Tensor4D[], samples: DetSample[]): LossDict {
    const { clsScores, bboxPreds } = this.forward(feats);
    return this.lossByFeat(clsScores, bboxPreds, samples);
  }

  lossByFeat(clsScores: tf.Tensor4D[], bboxPreds: tf.Tensor4D[], samples: DetSample[]): LossDict {
    const sizes = featSizes(clsScores);
    const { priors } = this.priorsFor(sizes);
    const t = this.getTargets(priors, sizes, samples);
    const avg = atLeastOne(t.avgFactor);
    const cls = tf.reshape(flattenLevels(clsScores, this.clsOutChannels), [
      -1,
      this.clsOutChannels,
    ]) as tf.Tensor2D;
    const reg = tf.reshape(flattenLevels(bboxPreds, 4), [-1, 4]) as tf.Tensor2D;
    // Every anchor trains in the common case (PseudoSampler, allowedBorder -1, no padding): skip the gather.
    const clsRows =
      t.validFlat.length === t.labels.length
        ? cls
        : tf.gather(cls, tf.tensor1d(t.validFlat, 'int32'));
    const vLabels = Int32Array.from(t.validFlat, (i) => t.labels[i]);
    const vWeights = Float32Array.from(t.validFlat, (i) => t.labelWeights[i]);
    const allOnes = vWeights.every((w) => w === 1);
    const lossCls = this.lossCls.forward(clsRows, vLabels, {
      weight: allOnes ? undefined : tf.tensor1d(vWeights),
      avgFactor: avg,
    }) as tf.Scalar;
    return { loss_cls: lossCls, loss_bbox: this.regressionLoss(reg, t, avg) };
  }

  /** `lossBbox` over the positives: on encoded deltas, or on decoded boxes with `regDecodedBbox`. */
  protected regressionLoss(
    reg: tf.Tensor2D,
    t: DenseTargets,
    avg: number,
    weight?: tf.Tensor,
  ): tf.Scalar {
    if (t.numPos === 0) return tf.mul(tf.sum(reg), 0) as tf.Scalar;
    const pred = tf.gather(reg, tf.tensor1d(t.posFlat, 'int32')) as tf.Tensor2D;
    const pri = tf.tensor2d(t.posPriors, [t.numPos, 4]);
    const gt = tf.tensor2d(t.posGt, [t.numPos, 4]);
    if (this.regDecodedBbox) {
      return this.lossBbox.forward(this.bboxCoder.decode(pri, pred), gt, {
        weight,
        avgFactor: avg,
      }) as tf.Scalar;
    }
    const target = this.bboxCoder.encode(pri, gt);
    return this.lossBbox.forward(pred, target, { weight, avgFactor: avg }) as tf.Scalar;
  }

  /** Detections per image (mmdet `predict_by_feat`), rescaled to the original image when `rescale`. */
  async predict(
    feats: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const { clsScores, bboxPreds } = tf.tidy(() => this.forward(feats));
    try {
      return await this.predictByFeat(clsScores, bboxPreds, samples, rescale);
    } finally {
      tf.dispose([...clsScores, ...bboxPreds]);
    }
  }

  async predictByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const sizes = featSizes(clsScores);
    const levelPriors = this.priorGenerator.gridPriorsHost(sizes);
    const cfg = this.testCfg;
    const c = this.clsOutChannels;
    const L = clsScores.length;
    const decoded = this.decodeLevels(bboxPreds, levelPriors, samples);
    let read: Float32Array[];
    try {
      read = await readFloats([...clsScores, ...decoded]);
    } finally {
      tf.dispose(decoded);
    }
    const clsData = read.slice(0, L);
    return samples.map((s, b) => {
      const boxes: Float32Array[] = [];
      const scores: Float32Array[] = [];
      const labels: Int32Array[] = [];
      sizes.forEach(([h, w], l) => {
        const n = h * w * this.priorGenerator.numBasePriors[l];
        const logits = clsData[l].subarray(b * n * c, (b + 1) * n * c);
        const probs = this.scoresFromLogits(logits, n);
        const nc = this.useSigmoidCls ? this.numClasses : this.numClasses;
        const cand = filterScoresAndTopk(probs, nc, cfg.scoreThr ?? 0, cfg.nmsPre ?? -1);
        if (cand.scores.length === 0) return;
        boxes.push(gatherRows(read[L + b * L + l], 4, cand.priorIdx));
        scores.push(cand.scores);
        labels.push(cand.labels);
      });
      const inst: InstanceData = bboxPostProcess(
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

  /** Class probabilities `[n, numClasses]` (no background column) from logits. */
  protected scoresFromLogits(logits: Float32Array, n: number): Float32Array {
    const C = this.numClasses;
    if (this.useSigmoidCls) {
      const thr = logit(this.testCfg.scoreThr ?? 0);
      const out = new Float32Array(logits.length);
      for (let i = 0; i < logits.length; i++) out[i] = logits[i] > thr ? sigmoid(logits[i]) : 0;
      return out;
    }
    // softmax over C + 1 columns; background is the last
    const out = new Float32Array(n * C);
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * (C + 1), (i + 1) * (C + 1));
      let m = -Infinity;
      for (const v of row) m = Math.max(m, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - m);
      for (let k = 0; k < C; k++) out[i * C + k] = Math.exp(row[k] - m) / sum;
    }
    return out;
  }

  /**
   * Every prior of every level decoded on the device, clipped to each
   * image's shape: `[n_l, 4]` tensors in the order image-major, level-minor
   * (`b * L + l`). Decoding is elementwise, so decoding all and keeping the
   * top-k gives the boxes decoding the top-k alone would, and the boxes come
   * back with the scores in one read.
   */
  protected decodeLevels(
    bboxPreds: tf.Tensor4D[],
    levelPriors: Float32Array[],
    samples: DetSample[],
  ): tf.Tensor2D[] {
    return tf.tidy(() => {
      const priors = levelPriors.map((p) => tf.tensor2d(p, [p.length / 4, 4]));
      const out: tf.Tensor2D[] = [];
      samples.forEach((s, b) => {
        bboxPreds.forEach((pred, l) => {
          const n = priors[l].shape[0];
          const deltas = tf.reshape(tf.slice(pred, [b, 0, 0, 0], [1, -1, -1, -1]), [n, 4]);
          out.push(this.bboxCoder.decode(priors[l], deltas as tf.Tensor2D, s.metainfo.imgShape));
        });
      });
      return out;
    });
  }
}

MODELS.register(AnchorHead, { name: 'AnchorHead' });
