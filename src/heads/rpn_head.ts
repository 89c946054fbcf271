/**
 * Region proposal network head (mmdet `RPNHead`, Ren et al. 2015): a shared
 * 3x3 conv per level, then one objectness logit (sigmoid, a single class)
 * and four deltas per anchor. Training reuses {@link AnchorHead}'s targets
 * (every gt is class 0); proposals follow mmdet's `_predict_by_feat_single`:
 * per level the `nmsPre` best anchors, decoded, small boxes dropped, one
 * NMS in which boxes of different levels never suppress each other, then the
 * `maxPerImg` best.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Conv2d, ConvModule, ModuleList } from '../nn/index.js';
import { batchedNms } from '../ops/nms/batched.js';
import { readFloats, readFloatsSync } from '../ops/read.js';
import { AnchorHead, anchorHeadSchema, type AnchorHeadOptions } from './anchor_head.js';
import { MODELS } from '../registry.js';
import { concatF32, featSizes, gatherRows, normalInit, toDetDataSample } from './dense_utils.js';
import type { DetDataSample, DetSample, InstanceData, LossDict } from '../structures/index.js';

export const rpnHeadSchema = anchorHeadSchema.extend({
  numClasses: z.literal(1).optional(),
  numConvs: z.number().int().positive().optional(),
  bboxCoder: z.unknown().optional(),
});

export type RPNHeadOptions = Omit<AnchorHeadOptions, 'numClasses'> & {
  numClasses?: 1;
  numConvs?: number;
};

/** Proposal settings (mmdet `train_cfg.rpn_proposal` / `test_cfg.rpn`). */
export interface RPNProposalCfg {
  /** Anchors kept per level before NMS, by objectness (`<= 0`: all). */
  nmsPre?: number;
  /** Proposals kept per image after NMS (`<= 0`: all). */
  maxPerImg?: number;
  nms?: { type?: string; iouThreshold: number };
  /** Boxes whose width or height is not larger than this are dropped (`< 0`: keep all). */
  minBboxSize?: number;
  [key: string]: unknown;
}

/** Proposals of one image: boxes `n*4` in network-input pixels, objectness, level of each box. */
export interface Proposals {
  bboxes: Float32Array;
  scores: Float32Array;
  levelIds: Int32Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * mmdet `RPNHead`. Parameter names: `rpnConv` (or `rpnConv.{i}` with
 * `numConvs > 1`), `rpnCls`, `rpnReg`. Losses `loss_rpn_cls`, `loss_rpn_bbox`.
 *
 * @example
 * ```ts
 * const rpn = MODELS.build<RPNHead>({ type: 'RPNHead', inChannels: 8, featChannels: 8,
 *   anchorGenerator: { type: 'AnchorGenerator', scales: [8], ratios: [0.5, 1, 2], strides: [4, 8] } });
 * const { clsScores, bboxPreds } = rpn.forward([tf.zeros([1, 16, 16, 8]), tf.zeros([1, 8, 8, 8])]);
 * clsScores[0].shape; // => [1, 16, 16, 3]
 * bboxPreds[0].shape; // => [1, 16, 16, 12]
 * ```
 */
export class RPNHead extends AnchorHead {
  // The static side must stay assignable to AnchorHead's; the registry validates with this schema.
  static override readonly configSchema = rpnHeadSchema as unknown as typeof anchorHeadSchema;
  declare rpnConv: Conv2d | ModuleList<ConvModule>;
  declare rpnCls: Conv2d;
  declare rpnReg: Conv2d;

  constructor(opts: RPNHeadOptions) {
    super({
      ...opts,
      numClasses: 1,
      lossCls: opts.lossCls ?? { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1 },
      lossBbox: opts.lossBbox ?? { type: 'L1Loss', lossWeight: 1 },
    });
  }

  protected override initLayers(opts: AnchorHeadOptions & { numConvs?: number }): void {
    const numConvs = opts.numConvs ?? 1;
    const a = this.numBaseAnchors;
    if (numConvs === 1) {
      this.rpnConv = this.addModule(
        'rpnConv',
        new Conv2d({
          inChannels: this.inChannels,
          outChannels: this.featChannels,
          kernelSize: 3,
          padding: 1,
        }),
      );
      normalInit(this.rpnConv, 0.01);
    } else {
      const list = this.addModule('rpnConv', new ModuleList<ConvModule>());
      for (let i = 0; i < numConvs; i++) {
        const c = new ConvModule({
          inChannels: i ? this.featChannels : this.inChannels,
          outChannels: this.featChannels,
          kernelSize: 3,
          padding: 1,
        });
        normalInit(c.conv, 0.01);
        list.push(c);
      }
      this.rpnConv = list;
    }
    this.rpnCls = this.addModule(
      'rpnCls',
      new Conv2d({
        inChannels: this.featChannels,
        outChannels: a * this.clsOutChannels,
        kernelSize: 1,
      }),
    );
    this.rpnReg = this.addModule(
      'rpnReg',
      new Conv2d({ inChannels: this.featChannels, outChannels: a * 4, kernelSize: 1 }),
    );
    normalInit(this.rpnCls, 0.01);
    normalInit(this.rpnReg, 0.01);
  }

  override forwardSingle(x: tf.Tensor4D, _level = 0): [tf.Tensor4D, tf.Tensor4D] {
    let h = x;
    if (this.rpnConv instanceof Conv2d) h = tf.relu(this.rpnConv.forward(h));
    else for (const m of this.rpnConv) h = m.forward(h);
    return [this.rpnCls.forward(h), this.rpnReg.forward(h)];
  }

  /** Every gt is foreground class 0 for the RPN (mmdet zeroes the labels of its RPN samples). */
  private asRpnSamples(samples: DetSample[]): DetSample[] {
    return samples.map((s) => ({
      ...s,
      gtInstances: { ...s.gtInstances, labels: new Int32Array(s.gtInstances.labels.length) },
    }));
  }

  override lossByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
  ): LossDict {
    const l = super.lossByFeat(clsScores, bboxPreds, this.asRpnSamples(samples));
    return { loss_rpn_cls: l.loss_cls, loss_rpn_bbox: l.loss_bbox };
  }

  /**
   * Proposals per image from the head outputs (mmdet `predict_by_feat` with
   * `rescale=False`), in network-input pixels. `cfg` defaults to `testCfg`.
   */
  async proposalsByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
    cfg: RPNProposalCfg = this.testCfg,
  ): Promise<Proposals[]> {
    const { sizes, tensors } = this.proposalInputs(clsScores, bboxPreds, samples);
    let read: Float32Array[];
    try {
      read = await readFloats(tensors);
    } finally {
      tf.dispose(tensors.slice(clsScores.length));
    }
    return this.proposalsFromRead(read, sizes, samples, cfg);
  }

  /** {@link proposalsByFeat} with a synchronous read, for the loss (inside a gradient closure). */
  proposalsByFeatSync(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
    cfg: RPNProposalCfg = this.testCfg,
  ): Proposals[] {
    const { sizes, tensors } = this.proposalInputs(clsScores, bboxPreds, samples);
    let read: Float32Array[];
    try {
      read = readFloatsSync(tensors);
    } finally {
      tf.dispose(tensors.slice(clsScores.length));
    }
    return this.proposalsFromRead(read, sizes, samples, cfg);
  }

  /** The tensors to read: the class logits per level, then every prior decoded (see `decodeLevels`). */
  private proposalInputs(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
  ): { sizes: [number, number][]; tensors: tf.Tensor[] } {
    const sizes = featSizes(clsScores);
    const levelPriors = this.priorGenerator.gridPriorsHost(sizes);
    const decoded = this.decodeLevels(bboxPreds, levelPriors, samples);
    return { sizes, tensors: [...clsScores, ...decoded] };
  }

  /** mmdet's `_predict_by_feat_single` on the read values, per image. */
  private proposalsFromRead(
    read: Float32Array[],
    sizes: [number, number][],
    samples: DetSample[],
    cfg: RPNProposalCfg,
  ): Proposals[] {
    const L = sizes.length;
    const clsData = read.slice(0, L);
    const nmsPre = cfg.nmsPre ?? -1;
    return samples.map((s, b) => {
      const dec: Float32Array[] = [];
      const sc: number[] = [];
      const lv: number[] = [];
      sizes.forEach(([h, w], l) => {
        const n = h * w * this.priorGenerator.numBasePriors[l];
        const logits = clsData[l].subarray(b * n, (b + 1) * n);
        let order = Array.from({ length: n }, (_, i) => i);
        // Sort by logit (monotonic in the score); stable, so ties keep anchor order.
        order.sort((x, y) => logits[y] - logits[x] || x - y);
        if (nmsPre > 0) order = order.slice(0, nmsPre);
        dec.push(gatherRows(read[L + b * L + l], 4, order));
        for (const i of order) {
          sc.push(sigmoid(logits[i]));
          lv.push(l);
        }
      });
      return filterAndNms(concatF32(dec), Float32Array.from(sc), Int32Array.from(lv), cfg);
    });
  }

  /** Proposals of `feats` with `cfg` (default `testCfg`). */
  async proposals(
    feats: tf.Tensor4D[],
    samples: DetSample[],
    cfg?: RPNProposalCfg,
  ): Promise<Proposals[]> {
    const { clsScores, bboxPreds } = tf.tidy(() => this.forward(feats));
    try {
      return await this.proposalsByFeat(clsScores, bboxPreds, samples, cfg);
    } finally {
      tf.dispose([...clsScores, ...bboxPreds]);
    }
  }

  /** RPN-only detection (mmdet `RPN` detector): proposals as class-0 detections, in original pixels when `rescale`. */
  override async predictByFeat(
    clsScores: tf.Tensor4D[],
    bboxPreds: tf.Tensor4D[],
    samples: DetSample[],
    rescale = true,
  ): Promise<DetDataSample[]> {
    return (await this.proposalsByFeat(clsScores, bboxPreds, samples)).map((p, i) => {
      const s = samples[i];
      const bboxes = Float32Array.from(p.bboxes);
      if (rescale && s.metainfo.scaleFactor) {
        const [sw, sh] = s.metainfo.scaleFactor;
        for (let k = 0; k < bboxes.length; k += 4) {
          bboxes[k] /= sw;
          bboxes[k + 1] /= sh;
          bboxes[k + 2] /= sw;
          bboxes[k + 3] /= sh;
        }
      }
      const inst: InstanceData = {
        bboxes,
        scores: p.scores,
        labels: new Int32Array(p.scores.length),
      };
      return toDetDataSample(s, inst);
    });
  }
}

/**
 * The end of mmdet's `RPNHead._bbox_post_process`: drop boxes not larger than
 * `minBboxSize`, NMS with the level as the class (levels never suppress each
 * other), the `maxPerImg` best by score.
 */
export function filterAndNms(
  boxes: Float32Array,
  scores: Float32Array,
  levelIds: Int32Array,
  cfg: RPNProposalCfg,
): Proposals {
  const minSize = cfg.minBboxSize ?? 0;
  let keep: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const w = boxes[4 * i + 2] - boxes[4 * i];
    const h = boxes[4 * i + 3] - boxes[4 * i + 1];
    if (minSize < 0 || (w > minSize && h > minSize)) keep.push(i);
  }
  if (keep.length) {
    const kb = gatherRows(boxes, 4, keep);
    const ks = Float32Array.from(keep, (i) => scores[i]);
    const kl = Int32Array.from(keep, (i) => levelIds[i]);
    if (cfg.nms) {
      const kept = batchedNms(kb, ks, kl, { iouThreshold: cfg.nms.iouThreshold });
      keep = Array.from(kept, (k) => keep[k]);
    } else keep.sort((x, y) => scores[y] - scores[x] || x - y);
  }
  const maxPer = cfg.maxPerImg ?? -1;
  if (maxPer > 0) keep = keep.slice(0, maxPer);
  return {
    bboxes: gatherRows(boxes, 4, keep),
    scores: Float32Array.from(keep, (i) => scores[i]),
    levelIds: Int32Array.from(keep, (i) => levelIds[i]),
  };
}

MODELS.register(RPNHead, { name: 'RPNHead' });
