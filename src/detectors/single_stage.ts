/**
 * mmdet `SingleStageDetector`: backbone -> optional neck -> dense head. Glue
 * only: the head owns targets, losses and post-processing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Module } from '../nn/module.js';
import { MODELS, type TypedConfig } from '../registry.js';
import type { DenseTestCfg, DenseTrainCfg } from '../heads/types.js';
import type { DetBatch, DetDataSample, DetSample, LossDict } from '../structures/index.js';
import { BaseDetector, type BaseDetectorOptions } from './base.js';

/** What the detector needs from a dense head. */
export interface DenseHead extends Module {
  loss(feats: tf.Tensor4D[], samples: DetSample[]): LossDict;
  predict(feats: tf.Tensor4D[], samples: DetSample[], rescale?: boolean): DetDataSample[];
  forward(feats: tf.Tensor4D[]): unknown;
}

export const singleStageSchema = z
  .object({
    backbone: z.unknown(),
    neck: z.unknown().optional(),
    bboxHead: z.looseObject({ type: z.unknown() }),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.looseObject({}).nullable().optional(),
    dataPreprocessor: z.unknown().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type SingleStageOptions = BaseDetectorOptions<DenseTrainCfg, DenseTestCfg> & {
  bboxHead: TypedConfig;
};

/**
 * @example
 * ```ts
 * const model = MODELS.build<SingleStageDetector>(config.model);
 * const losses = model.loss(batch);       // losses.loss_cls, losses.loss_bbox
 * const dets = model.predict(batch);      // per image: metainfo and predInstances (bboxes, scores, labels)
 * ```
 */
export class SingleStageDetector extends BaseDetector<DenseTrainCfg, DenseTestCfg> {
  static readonly configSchema = singleStageSchema;
  static readonly unbuiltArgs = ['bboxHead', 'trainCfg', 'testCfg'] as const;
  readonly bboxHead: DenseHead;

  constructor(opts: SingleStageOptions) {
    super(opts);
    // As mmdet: the head gets trainCfg / testCfg before it is built.
    const headCfg: TypedConfig = {
      ...opts.bboxHead,
      trainCfg: opts.trainCfg ?? null,
      testCfg: opts.testCfg ?? null,
    };
    this.bboxHead = this.addModule(
      'bboxHead',
      MODELS.build<DenseHead>(headCfg, { path: `${this.cfgPath}.bboxHead` }),
    );
  }

  /** Losses of a batch; call inside a gradient closure (keys containing 'loss' are summed by the engine). */
  loss(batch: DetBatch): LossDict {
    return this.bboxHead.loss(this.extractFeat(batch.inputs), batch.dataSamples);
  }

  /** Detections per image, boxes in original-image pixels (`rescale`) or network-input pixels. */
  async predict(batch: DetBatch, rescale = true): Promise<DetDataSample[]> {
    // tidy: the backbone's and neck's intermediate tensors are freed, only the features kept
    const feats = tf.tidy(() => this.extractFeat(batch.inputs));
    try {
      return await this.bboxHead.predict(feats, batch.dataSamples, rescale);
    } finally {
      tf.dispose(feats);
    }
  }

  /** mmdet's `forward(inputs, data_samples, mode)`: `'tensor'` returns the raw head outputs. */
  protected _forward(batch: DetBatch): unknown {
    return this.bboxHead.forward(this.extractFeat(batch.inputs));
  }
}

/** RetinaNet (Lin et al. 2017): a single-stage detector with a RetinaHead. */
export class RetinaNet extends SingleStageDetector {}
/** FCOS (Tian et al. 2019): a single-stage detector with an FCOSHead. */
export class FCOS extends SingleStageDetector {}
/** SSD (Liu et al. 2016): a single-stage detector with an SSDHead. */
export class SSD extends SingleStageDetector {}

MODELS.register(SingleStageDetector, { name: 'SingleStageDetector' });
MODELS.register(RetinaNet, { name: 'RetinaNet' });
MODELS.register(FCOS, { name: 'FCOS' });
MODELS.register(SSD, { name: 'SSD' });
