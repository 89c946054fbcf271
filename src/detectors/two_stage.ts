/**
 * mmdet `TwoStageDetector`: backbone -> optional neck -> RPN head (proposals)
 * -> RoI head (boxes, and masks for Mask R-CNN). Glue only: the heads own
 * targets, losses and post-processing. `FasterRCNN` and `MaskRCNN` are the
 * named families (Ren et al. 2015; He et al. 2017).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS, type TypedConfig } from '../registry.js';
import type { DetBatch, DetDataSample, LossDict } from '../structures/index.js';
import type { RPNHead, RPNProposalCfg } from '../heads/rpn_head.js';
import '../heads/index.js';
import type { RCNNTestCfg, RCNNTrainCfg, StandardRoIHead } from '../roi_heads/standard_roi_head.js';
import '../roi_heads/index.js';
import { BaseDetector, type BaseDetectorOptions } from './base.js';

/** mmdet `train_cfg` of a two-stage detector. */
export interface TwoStageTrainCfg {
  rpn?: Record<string, unknown>;
  rpnProposal?: RPNProposalCfg;
  rcnn?: RCNNTrainCfg;
  [key: string]: unknown;
}

/** mmdet `test_cfg` of a two-stage detector. */
export interface TwoStageTestCfg {
  rpn?: RPNProposalCfg;
  rcnn?: RCNNTestCfg;
  [key: string]: unknown;
}

const cfgSchema = z.looseObject({}).nullable().optional();

export const twoStageSchema = z
  .object({
    backbone: z.unknown(),
    neck: z.unknown().optional(),
    rpnHead: z.looseObject({ type: z.string() }).nullable().optional(),
    roiHead: z.looseObject({ type: z.string() }).nullable().optional(),
    trainCfg: z
      .object({ rpn: cfgSchema, rpnProposal: cfgSchema, rcnn: cfgSchema })
      .strict()
      .nullable()
      .optional(),
    testCfg: z.object({ rpn: cfgSchema, rcnn: cfgSchema }).strict().nullable().optional(),
    dataPreprocessor: z.unknown().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type TwoStageOptions = BaseDetectorOptions<TwoStageTrainCfg, TwoStageTestCfg> & {
  rpnHead?: TypedConfig | null;
  roiHead?: TypedConfig | null;
};

/**
 * @example
 * ```ts
 * const model = MODELS.build<TwoStageDetector>(config.model);   // e.g. configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.ts
 * const losses = model.loss(batch);   // loss_rpn_cls, loss_rpn_bbox, loss_cls, loss_bbox, acc (and loss_mask)
 * const dets = model.predict(batch);  // per image: metainfo and predInstances (bboxes, scores, labels, masks)
 * ```
 */
export class TwoStageDetector extends BaseDetector<TwoStageTrainCfg, TwoStageTestCfg> {
  static readonly configSchema = twoStageSchema;
  static readonly unbuiltArgs = ['rpnHead', 'roiHead', 'trainCfg', 'testCfg'] as const;
  readonly rpnHead?: RPNHead;
  readonly roiHead?: StandardRoIHead;

  constructor(opts: TwoStageOptions) {
    super(opts);
    const at = this.cfgPath;
    // As mmdet: the RPN gets train_cfg.rpn / test_cfg.rpn, the RoI head train_cfg.rcnn / test_cfg.rcnn.
    if (opts.rpnHead) {
      const cfg: TypedConfig = {
        ...opts.rpnHead,
        trainCfg: opts.trainCfg?.rpn ?? null,
        testCfg: opts.testCfg?.rpn ?? null,
      };
      this.rpnHead = this.addModule(
        'rpnHead',
        MODELS.build<RPNHead>(cfg, { path: `${at}.rpnHead` }),
      );
    }
    if (opts.roiHead) {
      const cfg: TypedConfig = {
        ...opts.roiHead,
        trainCfg: opts.trainCfg?.rcnn ?? null,
        testCfg: opts.testCfg?.rcnn ?? null,
      };
      this.roiHead = this.addModule(
        'roiHead',
        MODELS.build<StandardRoIHead>(cfg, { path: `${at}.roiHead` }),
      );
    }
  }

  get withRpn(): boolean {
    return this.rpnHead !== undefined;
  }

  get withRoiHead(): boolean {
    return this.roiHead !== undefined;
  }

  private requireRpn(): RPNHead {
    // mmdet also accepts precomputed proposals in the data samples; the loader here does not provide them.
    if (!this.rpnHead)
      throw new Error(
        `${this.constructor.name}: 'rpnHead' is needed (precomputed proposals are not supported)`,
      );
    return this.rpnHead;
  }

  /**
   * Losses of a batch (call inside a gradient closure): the RPN's
   * `loss_rpn_cls` / `loss_rpn_bbox`, then the RoI head's losses on the
   * proposals made (with `trainCfg.rpnProposal`) from the same RPN outputs.
   * Proposals are host arrays, so no gradient flows through them (mmdet
   * detaches them too).
   */
  loss(batch: DetBatch): LossDict {
    const feats = this.extractFeat(batch.inputs);
    const rpn = this.requireRpn();
    const { clsScores, bboxPreds } = rpn.forward(feats);
    const losses: LossDict = { ...rpn.lossByFeat(clsScores, bboxPreds, batch.dataSamples) };
    if (this.roiHead) {
      const proposalCfg = this.trainCfg?.rpnProposal ?? rpn.testCfg;
      const proposals = rpn.proposalsByFeatSync(
        clsScores,
        bboxPreds,
        batch.dataSamples,
        proposalCfg,
      );
      Object.assign(losses, this.roiHead.loss(feats, proposals, batch.dataSamples));
    }
    return losses;
  }

  /** Detections per image, boxes in original-image pixels (`rescale`) or network-input pixels. */
  async predict(batch: DetBatch, rescale = true): Promise<DetDataSample[]> {
    // tidy: the backbone's and neck's intermediate tensors are freed, only the features kept
    const feats = tf.tidy(() => this.extractFeat(batch.inputs));
    try {
      const rpn = this.requireRpn();
      if (!this.roiHead) return await rpn.predict(feats, batch.dataSamples, rescale);
      const proposals = await rpn.proposals(feats, batch.dataSamples);
      return await this.roiHead.predict(feats, proposals, batch.dataSamples, rescale);
    } finally {
      tf.dispose(feats);
    }
  }

  /** mmdet's `forward(inputs, data_samples, mode)`; `'tensor'` returns the RPN outputs and the RoI head's raw outputs. */
  protected _forward(batch: DetBatch): unknown {
    const feats = this.extractFeat(batch.inputs);
    const rpn = this.requireRpn();
    const rpnOuts = rpn.forward(feats);
    if (!this.roiHead) return { rpnOuts };
    const proposals = rpn.proposalsByFeatSync(
      rpnOuts.clsScores,
      rpnOuts.bboxPreds,
      batch.dataSamples,
    );
    return { rpnOuts, roiOuts: this.roiHead.forward(feats, proposals) };
  }
}

/** Faster R-CNN (Ren et al. 2015): RPN + StandardRoIHead with a box head. */
export class FasterRCNN extends TwoStageDetector {}
/** Mask R-CNN (He et al. 2017): Faster R-CNN with a mask branch in the RoI head. */
export class MaskRCNN extends TwoStageDetector {}

MODELS.register(TwoStageDetector, { name: 'TwoStageDetector' });
MODELS.register(FasterRCNN, { name: 'FasterRCNN' });
MODELS.register(MaskRCNN, { name: 'MaskRCNN' });
