/**
 * mmdet `StandardRoIHead`: the second stage of Faster / Mask R-CNN. Proposals
 * are assigned to gt boxes and sampled (gt boxes added as proposals), their
 * features pooled from the FPN levels by the RoI extractor, and the box head
 * classifies and refines them; an optional mask branch pools the positives
 * (training) or the final detections (inference) again for the mask head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { BitmapMasks } from '../structures/index.js';
import { buildOr, concatF32, gatherRows, toDetDataSample } from '../heads/dense_utils.js';
import type { DetDataSample, DetSample, InstanceData, LossDict } from '../structures/index.js';
import { Module } from '../nn/module.js';
import { readFloats } from '../ops/read.js';
import type { SingleRoIExtractor } from './roi_extractors/single_level_roi_extractor.js';
import './roi_extractors/index.js';
import { MODELS, Registry, TASK_UTILS } from '../registry.js';
import type { MaxIoUAssigner } from '../task_utils/assigners.js';
import { addGtAsProposals, PseudoSampler, type SamplingResult } from '../task_utils/samplers.js';
import '../task_utils/index.js';
import type { ConvFCBBoxHead, RoISampling } from './bbox_heads/convfc_bbox_head.js';
import './bbox_heads/convfc_bbox_head.js';

/** What the RoI head needs from a mask head (mmdet `FCNMaskHead`). */
export interface MaskHead extends Module {
  /** RoI features `[n, h, w, C]` -> mask logits `[n, M, M, numClasses]` (or 1 channel when class-agnostic). */
  forward(x: tf.Tensor4D): tf.Tensor4D;
  /** Binary targets `[n, M, M]` of positive proposals (`n*4`, input pixels) cropped from their gt masks. */
  getTargets(
    posBboxes: Float32Array,
    posAssignedGtInds: Int32Array,
    gtMasks: BitmapMasks,
  ): tf.Tensor3D;
  loss(
    maskPreds: tf.Tensor4D,
    targets: tf.Tensor3D,
    posLabels: Int32Array,
  ): { loss_mask: tf.Scalar };
  /** Full-size binary masks (row-major `h*w`) of detections `bboxes` (pixels of `outShape`). */
  predictByFeat(
    maskPreds: tf.Tensor4D,
    bboxes: Float32Array,
    labels: Int32Array,
    outShape: [number, number],
  ): Uint8Array[];
  /** {@link predictByFeat} on logits already read (`shape` `[n, M, M, C]`). */
  masksFromLogits(
    logits: Float32Array,
    shape: [number, number, number, number],
    bboxes: Float32Array,
    labels: Int32Array,
    outShape: [number, number],
  ): Uint8Array[];
}

/** Proposals of one image handed to the RoI head: boxes `n*4` in network-input pixels. */
export interface RoIProposals {
  bboxes: Float32Array;
}

/** `trainCfg` of the RoI head (mmdet `train_cfg.rcnn`). */
export interface RCNNTrainCfg {
  assigner?: Record<string, unknown>;
  sampler?: Record<string, unknown>;
  maskSize?: number;
  posWeight?: number;
  debug?: boolean;
  [key: string]: unknown;
}

/** `testCfg` of the RoI head (mmdet `test_cfg.rcnn`). */
export interface RCNNTestCfg {
  scoreThr?: number;
  nms?: { type?: string; iouThreshold: number; classAgnostic?: boolean };
  maxPerImg?: number;
  /** Drop detections not wider and taller than this (torchvision: 1e-2; default none). */
  minBboxSize?: number;
  maskThrBinary?: number;
  [key: string]: unknown;
}

export const standardRoIHeadSchema = z
  .object({
    bboxRoiExtractor: z.looseObject({ type: z.string() }),
    bboxHead: z.looseObject({ type: z.string() }),
    maskRoiExtractor: z.looseObject({ type: z.string() }).nullable().optional(),
    maskHead: z.looseObject({ type: z.string() }).nullable().optional(),
    shareRoiExtractor: z.boolean().optional(),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.looseObject({}).nullable().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type StandardRoIHeadOptions = z.input<typeof standardRoIHeadSchema>;

/** Rows `[batchIdx, x1, y1, x2, y2]` of the boxes of each image (mmdet `bbox2roi`). */
export function bbox2roi(perImage: Float32Array[]): Float32Array {
  const total = perImage.reduce((s, b) => s + (b.length >> 2), 0);
  const out = new Float32Array(total * 5);
  let r = 0;
  perImage.forEach((b, i) => {
    for (let k = 0; k < b.length >> 2; k++, r++) {
      out[5 * r] = i;
      out.set(b.subarray(4 * k, 4 * k + 4), 5 * r + 1);
    }
  });
  return out;
}

/** One image's sampled RoIs with what the mask branch needs too. */
export interface ImageSampling extends RoISampling {
  sampling: SamplingResult;
}

/**
 * @example
 * ```ts
 * const roiHead = MODELS.build<StandardRoIHead>({ type: 'StandardRoIHead',
 *   bboxRoiExtractor: { type: 'SingleRoIExtractor', roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 }, outChannels: 8, featmapStrides: [4, 8] },
 *   bboxHead: { type: 'Shared2FCBBoxHead', inChannels: 8, fcOutChannels: 16, numClasses: 3 },
 *   testCfg: { scoreThr: 0.05, nms: { type: 'nms', iouThreshold: 0.5 }, maxPerImg: 100 } });
 * const feats = [tf.zeros([1, 16, 16, 8]), tf.zeros([1, 8, 8, 8])] as tf.Tensor4D[];
 * const proposals = Float32Array.of(0, 0, 20, 20, 10, 10, 40, 40);
 * const metainfo = { imgId: 0, imgPath: '', oriShape: [64, 64], imgShape: [64, 64], scaleFactor: [1, 1], flip: false,
 *   flipDirection: null, padShape: [64, 64] };
 * await roiHead.predict(feats, [{ bboxes: proposals }], [{ metainfo }]);
 * // => [{ metainfo, predInstances: { bboxes, scores, labels }, ... }] (the meta fields are also copied to the top level)
 * ```
 */
export class StandardRoIHead extends Module {
  static readonly configSchema = standardRoIHeadSchema;
  static readonly unbuiltArgs = [
    'bboxRoiExtractor',
    'bboxHead',
    'maskRoiExtractor',
    'maskHead',
    'trainCfg',
    'testCfg',
    'initCfg',
  ] as const;
  readonly bboxRoiExtractor: SingleRoIExtractor;
  readonly bboxHead: ConvFCBBoxHead;
  readonly maskRoiExtractor?: SingleRoIExtractor;
  readonly maskHead?: MaskHead;
  readonly trainCfg: RCNNTrainCfg;
  readonly testCfg: RCNNTestCfg;
  private assigner?: MaxIoUAssigner;
  private sampler: {
    sample(a: ReturnType<MaxIoUAssigner['assign']>): SamplingResult;
    addGtAsProposals?: boolean;
  };

  constructor(opts: StandardRoIHeadOptions) {
    super();
    this.trainCfg = opts.trainCfg ?? {};
    this.testCfg = opts.testCfg ?? {};
    // Where the user's config put this head (model.roiHead), for errors.
    const at = Registry.buildPath(new.target) ?? 'roiHead';
    this.bboxRoiExtractor = buildOr<SingleRoIExtractor>(
      MODELS,
      opts.bboxRoiExtractor,
      `${at}.bboxRoiExtractor`,
    );
    this.bboxHead = this.addModule(
      'bboxHead',
      buildOr<ConvFCBBoxHead>(MODELS, opts.bboxHead, `${at}.bboxHead`),
    );
    if (opts.maskHead) {
      if (opts.maskRoiExtractor)
        this.maskRoiExtractor = buildOr<SingleRoIExtractor>(
          MODELS,
          opts.maskRoiExtractor,
          `${at}.maskRoiExtractor`,
        );
      else if (opts.shareRoiExtractor) this.maskRoiExtractor = this.bboxRoiExtractor;
      else
        throw new Error(
          "StandardRoIHead: 'maskHead' needs a 'maskRoiExtractor' (or shareRoiExtractor: true)",
        );
      // As mmdet hands `rcnn_train_cfg` / `rcnn_test_cfg` to the mask head: it reads `maskSize` and `maskThrBinary` from them.
      const maskCfg = {
        trainCfg: opts.trainCfg ?? null,
        testCfg: opts.testCfg ?? null,
        ...opts.maskHead,
      };
      this.maskHead = this.addModule(
        'maskHead',
        buildOr<MaskHead>(MODELS, maskCfg, `${at}.maskHead`),
      );
    } else if (opts.maskRoiExtractor)
      throw new Error("StandardRoIHead: 'maskRoiExtractor' is set but 'maskHead' is not");
    if (this.trainCfg.assigner)
      this.assigner = buildOr<MaxIoUAssigner>(
        TASK_UTILS,
        this.trainCfg.assigner,
        'trainCfg.rcnn.assigner',
      );
    this.sampler = this.trainCfg.sampler
      ? buildOr(TASK_UTILS, this.trainCfg.sampler, 'trainCfg.rcnn.sampler')
      : new PseudoSampler();
  }

  get withMask(): boolean {
    return this.maskHead !== undefined;
  }

  /** Assign and sample the proposals of each image (mmdet `loss` up to `bbox_loss`). */
  sampleRois(proposals: RoIProposals[], samples: DetSample[]): ImageSampling[] {
    if (!this.assigner)
      throw new Error('StandardRoIHead: trainCfg.rcnn.assigner is needed to compute the loss');
    if (proposals.length !== samples.length)
      throw new Error(
        `StandardRoIHead: ${proposals.length} proposal sets for ${samples.length} images`,
      );
    return samples.map((s, i) => {
      const gt = s.gtInstances;
      let priors = proposals[i].bboxes;
      let assign = this.assigner!.assign(priors, gt, s.ignoredInstances);
      if (this.sampler.addGtAsProposals && gt.labels.length) {
        const withGt = new Float32Array(gt.bboxes.length + priors.length);
        withGt.set(gt.bboxes);
        withGt.set(priors, gt.bboxes.length);
        priors = withGt;
        assign = addGtAsProposals(assign, gt.labels);
      }
      const res = this.sampler.sample(assign);
      return {
        posPriors: gatherRows(priors, 4, res.posInds),
        negPriors: gatherRows(priors, 4, res.negInds),
        posGtBboxes: gatherRows(gt.bboxes, 4, res.posAssignedGtInds),
        posLabels: Int32Array.from(res.posAssignedGtInds, (g) => gt.labels[g]),
        posAssignedGtInds: res.posAssignedGtInds,
        sampling: res,
      };
    });
  }

  private roisTensor(perImage: Float32Array[]): tf.Tensor2D {
    const r = bbox2roi(perImage);
    return tf.tensor2d(r, [r.length / 5, 5]);
  }

  /** Pooled features of `rois` (`[K, 5]`) from the levels the extractor uses. */
  private pool(
    extractor: SingleRoIExtractor,
    feats: tf.Tensor4D[],
    rois: tf.Tensor2D,
  ): tf.Tensor4D {
    return extractor.forward(feats.slice(0, extractor.numInputs), rois);
  }

  /** Losses `loss_cls`, `loss_bbox`, `acc` (and `loss_mask`) of the proposals of a batch. */
  loss(feats: tf.Tensor4D[], proposals: RoIProposals[], samples: DetSample[]): LossDict {
    const sampled = this.sampleRois(proposals, samples);
    const rois = this.roisTensor(sampled.map((r) => concatF32([r.posPriors, r.negPriors])));
    const { clsScore, bboxPred } = this.bboxHead.forward(
      this.pool(this.bboxRoiExtractor, feats, rois),
    );
    const targets = this.bboxHead.getTargets(sampled, this.trainCfg.posWeight ?? -1);
    const losses: LossDict = { ...this.bboxHead.loss(clsScore, bboxPred, targets) };
    if (this.maskHead) losses.loss_mask = this.maskLoss(feats, sampled, samples);
    return losses;
  }

  /** mmdet `mask_loss`: the mask head on the positive RoIs, targets from each positive's gt mask. */
  private maskLoss(
    feats: tf.Tensor4D[],
    sampled: ImageSampling[],
    samples: DetSample[],
  ): tf.Scalar {
    const numPos = sampled.reduce((s, r) => s + r.posLabels.length, 0);
    const head = this.maskHead!;
    if (numPos === 0) {
      // No positive anywhere: a zero that still reaches the head's parameters.
      const params = head.trainableParameters().map(([, v]) => tf.sum(v));
      return tf.mul(params.length ? tf.addN(params) : tf.scalar(0), 0) as tf.Scalar;
    }
    const posRois = this.roisTensor(sampled.map((r) => r.posPriors));
    const maskPreds = head.forward(this.pool(this.maskRoiExtractor!, feats, posRois));
    const targets: tf.Tensor3D[] = [];
    sampled.forEach((r, i) => {
      if (!r.posLabels.length) return;
      const masks = samples[i].gtInstances.masks;
      if (!masks)
        throw new Error(
          `StandardRoIHead: image ${String(samples[i].metainfo.imgId)} has no gtInstances.masks; load them with LoadAnnotations withMask: true`,
        );
      targets.push(head.getTargets(r.posPriors, r.posAssignedGtInds, masks));
    });
    const t = targets.length === 1 ? targets[0] : (tf.concat(targets, 0) as tf.Tensor3D);
    const posLabels = Int32Array.from(sampled.flatMap((r) => Array.from(r.posLabels)));
    return head.loss(maskPreds, t, posLabels).loss_mask;
  }

  /** Raw outputs for the proposals (mmdet `_forward`, mode `'tensor'`). */
  forward(
    feats: tf.Tensor4D[],
    proposals: RoIProposals[],
  ): { clsScore: tf.Tensor2D; bboxPred: tf.Tensor2D; maskPreds?: tf.Tensor4D } {
    const rois = this.roisTensor(proposals.map((p) => p.bboxes));
    const out: { clsScore: tf.Tensor2D; bboxPred: tf.Tensor2D; maskPreds?: tf.Tensor4D } =
      this.bboxHead.forward(this.pool(this.bboxRoiExtractor, feats, rois));
    // As mmdet's `_forward`: the mask branch on the first 100 RoIs (a shape/complexity probe, not a prediction).
    if (this.maskHead)
      out.maskPreds = this.maskHead.forward(
        this.pool(
          this.maskRoiExtractor!,
          feats,
          rois.slice([0, 0], [Math.min(rois.shape[0], 100), 5]),
        ),
      );
    return out;
  }

  /**
   * Detections per image from the proposals (mmdet `predict`): boxes in
   * original-image pixels when `rescale` (else network-input pixels), and
   * with a mask head, one full-size binary mask per detection.
   */
  async predict(
    feats: tf.Tensor4D[],
    proposals: RoIProposals[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    const perImage = proposals.map((p) => p.bboxes);
    const counts = perImage.map((b) => b.length >> 2);
    const total = counts.reduce((s, c) => s + c, 0);
    let results: InstanceData[];
    if (total === 0)
      results = samples.map(() => ({
        bboxes: new Float32Array(0),
        scores: new Float32Array(0),
        labels: new Int32Array(0),
      }));
    else {
      // Scores and every image's boxes decoded on the device, read in one go.
      const outs = tf.tidy(() => {
        const { clsScore, bboxPred } = this.bboxHead.forward(
          this.pool(this.bboxRoiExtractor, feats, this.roisTensor(perImage)),
        );
        let o = 0;
        const boxes: tf.Tensor[] = [];
        samples.forEach((s, i) => {
          const k = counts[i];
          if (k === 0) return;
          const rois = tf.tensor2d(perImage[i], [k, 4]);
          const pred = tf.slice(bboxPred, [o, 0], [k, -1]) as tf.Tensor2D;
          o += k;
          boxes.push(this.bboxHead.bboxCoder.decode(rois, pred, s.metainfo.imgShape));
        });
        return [clsScore, ...boxes];
      });
      let read: Float32Array[];
      try {
        read = await readFloats(outs);
      } finally {
        tf.dispose(outs);
      }
      const [cls] = read;
      const C1 = this.bboxHead.numClasses + 1;
      let o = 0;
      let withBoxes = 0;
      results = samples.map((s, i) => {
        const k = counts[i];
        const decoded = k > 0 ? read[1 + withBoxes++] : new Float32Array(0);
        const r = this.bboxHead.detectionsFromDecoded(
          k,
          cls.subarray(o * C1, (o + k) * C1),
          decoded,
          s.metainfo,
          this.testCfg,
          rescale,
        );
        o += k;
        return r;
      });
    }
    if (this.maskHead) await this.predictMask(feats, results, samples, rescale);
    return samples.map((s, i) => toDetDataSample(s, results[i]));
  }

  /** mmdet `predict_mask`: the mask head on the final boxes (in input pixels), masks pasted at `oriShape` when `rescale`. */
  private async predictMask(
    feats: tf.Tensor4D[],
    results: InstanceData[],
    samples: DetSample[],
    rescale: boolean,
  ): Promise<void> {
    const inputBoxes = results.map((r, i) => {
      const b = Float32Array.from(r.bboxes);
      const sf = samples[i].metainfo.scaleFactor;
      if (rescale && sf) {
        for (let k = 0; k < b.length; k += 4) {
          b[k] *= sf[0];
          b[k + 1] *= sf[1];
          b[k + 2] *= sf[0];
          b[k + 3] *= sf[1];
        }
      }
      return b;
    });
    const counts = inputBoxes.map((b) => b.length >> 2);
    const withMasks = (i: number): InstanceData & { masks?: Uint8Array[] } => results[i];
    if (counts.every((c) => c === 0)) {
      results.forEach((_, i) => (withMasks(i).masks = []));
      return;
    }
    const head = this.maskHead!;
    const preds = tf.tidy(() =>
      head.forward(this.pool(this.maskRoiExtractor!, feats, this.roisTensor(inputBoxes))),
    );
    const [, S1, S2, C] = preds.shape;
    let logits: Float32Array;
    try {
      [logits] = await readFloats([preds]);
    } finally {
      preds.dispose();
    }
    const per = S1 * S2 * C;
    let o = 0;
    results.forEach((r, i) => {
      const k = counts[i];
      const meta = samples[i].metainfo;
      if (k === 0) withMasks(i).masks = [];
      else {
        const outShape: [number, number] = rescale ? meta.oriShape : meta.imgShape;
        withMasks(i).masks = head.masksFromLogits(
          logits.subarray(o * per, (o + k) * per),
          [k, S1, S2, C],
          r.bboxes,
          r.labels,
          outShape,
        );
      }
      o += k;
    });
  }
}

MODELS.register(StandardRoIHead, { name: 'StandardRoIHead' });
