import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/heads/index.js';
import { filterAndNms, type RPNHead } from '../../src/heads/rpn_head.js';
import type { DetSample } from '../../src/structures/index.js';
import { MODELS } from '../../src/registry.js';
import { detSample } from '../helpers/meta.js';

const sample = (boxes: number[][], labels: number[], size = 32): DetSample =>
  detSample(boxes, labels, size);

const rpnTrainCfg = {
  assigner: {
    type: 'MaxIoUAssigner',
    posIouThr: 0.7,
    negIouThr: 0.3,
    minPosIou: 0.3,
    matchLowQuality: true,
    ignoreIofThr: -1,
  },
  sampler: {
    type: 'RandomSampler',
    num: 256,
    posFraction: 0.5,
    negPosUb: -1,
    addGtAsProposals: false,
  },
  allowedBorder: -1,
  posWeight: -1,
};

/** Zero the output convs so every logit and delta is 0. */
function zeroOutputs(h: RPNHead): void {
  for (const c of [h.rpnCls, h.rpnReg]) {
    c.weight.assign(tf.zerosLike(c.weight));
    c.bias!.assign(tf.zerosLike(c.bias!));
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('RPNHead', () => {
  // One stride-16 level of 2x2 cells, anchors of 16 and 32 px (scales 1, 2) at each cell centre (0, 0), (16, 0), (0, 16), (16, 16):
  // a0 [-8,-8,8,8] a1 [-16,-16,16,16] a2 [8,-8,24,8] a3 [0,-16,32,16] a4 [-8,8,8,24] a5 [-16,0,16,32] a6 [8,8,24,24] a7 [0,0,32,32].
  // Gt [4,4,28,28] (24x24): IoU a7 = 576/1024 = 0.5625, a6 = 256/576 = 0.444, a3 = a5 = 288/1312 = 0.2195, a1 = 144/1456,
  // a2 = a4 = 64/768, a0 = 16/816. So a0-a5 are negative (< 0.3), a6 and a7 lie in [0.3, 0.7) (ignored), and a7, the gt's best
  // anchor (>= minPosIou 0.3), becomes positive through the low-quality match.
  const build = (): RPNHead =>
    MODELS.build<RPNHead>({
      type: 'RPNHead',
      inChannels: 4,
      featChannels: 4,
      anchorGenerator: {
        type: 'AnchorGenerator',
        strides: [16],
        ratios: [1],
        scales: [1, 2],
        baseSizes: [16],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
        targetStds: [1, 1, 1, 1],
      },
      trainCfg: rpnTrainCfg,
      testCfg: {
        nmsPre: 1000,
        maxPerImg: 1000,
        nms: { type: 'nms', iouThreshold: 0.7 },
        minBboxSize: 0,
      },
    });

  it('has one objectness channel per anchor, mmdet parameter names, and is built from the mmdet config keys', () => {
    const h = build();
    expect(h.numClasses).toBe(1);
    expect(h.namedParameters().map(([n]) => n)).toEqual([
      'rpnConv.weight',
      'rpnConv.bias',
      'rpnCls.weight',
      'rpnCls.bias',
      'rpnReg.weight',
      'rpnReg.bias',
    ]);
    const { clsScores, bboxPreds } = h.forward([tf.zeros([2, 2, 2, 4]) as tf.Tensor4D]);
    expect(clsScores[0].shape).toEqual([2, 2, 2, 2]);
    expect(bboxPreds[0].shape).toEqual([2, 2, 2, 8]);
    expect(() =>
      MODELS.build({ type: 'RPNHead', inChannels: 4, numClasses: 3, anchorGenerator: {} }),
    ).toThrow(/numClasses/);
    expect(() =>
      MODELS.build({
        type: 'RPNHead',
        inChannels: 4,
        anchorGenerator: { type: 'AnchorGenerator', strides: [16], ratios: [1], scales: [1] },
        trainCfg: { ...rpnTrainCfg, sampler: { ...rpnTrainCfg.sampler, addGtAsProposals: true } },
      }),
    ).toThrow(/RPNHead: trainCfg.sampler.addGtAsProposals must be false/);
    // Every anchor-based dense head refuses it, not only the RPN.
    expect(() =>
      MODELS.build({
        type: 'AnchorHead',
        numClasses: 3,
        inChannels: 4,
        bboxCoder: { type: 'DeltaXYWHBBoxCoder' },
        anchorGenerator: { type: 'AnchorGenerator', strides: [16], ratios: [1], scales: [1] },
        trainCfg: { ...rpnTrainCfg, sampler: { ...rpnTrainCfg.sampler, addGtAsProposals: true } },
      }),
    ).toThrow(/AnchorHead: trainCfg.sampler.addGtAsProposals must be false/);
  });

  it('anchor targets: which anchors are positive, negative and ignored, and their regression targets', () => {
    const h = build();
    const priors = h.priorGenerator.gridPriorsHost([[2, 2]])[0];
    expect(Array.from(priors.subarray(24, 32))).toEqual([8, 8, 24, 24, 0, 0, 32, 32]);
    // The gt's class does not matter to the RPN: every gt is foreground class 0.
    const t = h.getTargets(priors, [[2, 2]], [{ ...sample([[4, 4, 28, 28]], [0]) }]);
    expect(Array.from(t.posFlat)).toEqual([7]);
    expect(Array.from(t.labelWeights)).toEqual([1, 1, 1, 1, 1, 1, 0, 1]);
    expect(t.labels[7]).toBe(0);
    expect(Array.from(t.labels.subarray(0, 6))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(t.avgFactor).toBe(7); // RandomSampler: averaged over the 1 positive + 6 negatives
    expect(Array.from(t.posGt)).toEqual([4, 4, 28, 28]);
  });

  it('losses loss_rpn_cls (sigmoid CE) and loss_rpn_bbox (L1) match hand-computed values, whatever the gt label', () => {
    const h = build();
    zeroOutputs(h);
    const l = h.loss([tf.zeros([1, 2, 2, 4]) as tf.Tensor4D], [sample([[4, 4, 28, 28]], [3])]);
    expect(Object.keys(l).sort()).toEqual(['loss_rpn_bbox', 'loss_rpn_cls']);
    // 7 sampled anchors with logit 0: BCE ln 2 each, averaged over 7.
    expect((l.loss_rpn_cls as tf.Scalar).dataSync()[0]).toBeCloseTo(Math.LN2, 5);
    // a7 [0,0,32,32] -> gt [4,4,28,28]: deltas (0, 0, ln(24/32), ln(24/32)); |0 - t| summed, over avg factor 7.
    expect((l.loss_rpn_bbox as tf.Scalar).dataSync()[0]).toBeCloseTo(
      (2 * Math.abs(Math.log(24 / 32))) / 7,
      5,
    );
  });

  it('RandomSampler keeps at most num * posFraction positives and fills the rest with negatives', () => {
    const h = MODELS.build<RPNHead>({
      type: 'RPNHead',
      inChannels: 4,
      featChannels: 4,
      anchorGenerator: { type: 'AnchorGenerator', strides: [4], ratios: [1], scales: [4] },
      trainCfg: {
        ...rpnTrainCfg,
        sampler: {
          type: 'RandomSampler',
          num: 16,
          posFraction: 0.5,
          negPosUb: -1,
          addGtAsProposals: false,
        },
      },
    });
    const priors = h.priorGenerator.gridPriorsHost([[16, 16]])[0];
    // 16 gts tiling the 64x64 image, each equal to one 16-px anchor (IoU 1): 16 positives available, 8 kept, 8 negatives.
    const gts: number[][] = [];
    for (let j = 0; j < 4; j++)
      for (let i = 0; i < 4; i++) gts.push([16 * i, 16 * j, 16 * i + 16, 16 * j + 16]);
    const t = h.getTargets(priors, [[16, 16]], [sample(gts, new Array<number>(16).fill(2), 64)]);
    expect(t.numPos).toBe(8);
    expect(t.avgFactor).toBe(16);
    expect(t.labelWeights.reduce((s, w) => s + w, 0)).toBe(16);
    // Every kept positive regresses onto its own gt exactly (the anchor is the gt).
    expect(Array.from(t.posPriors)).toEqual(Array.from(t.posGt));
  });

  describe('proposals', () => {
    // Two levels: stride 16 (2x2 cells, one 16-px anchor centred in each cell) and stride 32 (one 32-px anchor).
    // Level 0 anchors: a0 [0,0,16,16] a1 [16,0,32,16] a2 [0,16,16,32] a3 [16,16,32,32]; level 1: b0 [0,0,32,32].
    const head = (): RPNHead =>
      MODELS.build<RPNHead>({
        type: 'RPNHead',
        inChannels: 4,
        featChannels: 4,
        anchorGenerator: {
          type: 'AnchorGenerator',
          strides: [16, 32],
          ratios: [1],
          scales: [1],
          centerOffset: 0.5,
        },
        bboxCoder: {
          type: 'DeltaXYWHBBoxCoder',
          targetMeans: [0, 0, 0, 0],
          targetStds: [1, 1, 1, 1],
        },
      });
    const cls0 = tf.tensor4d([3, 2, 1, 0], [1, 2, 2, 1]);
    const cls1 = tf.tensor4d([2.5], [1, 1, 1, 1]);
    // a1 is moved left by one width onto a0 (dx = -1); b0 is shrunk to a0 (dx = dy = -0.25, dw = dh = ln 0.5).
    const reg0 = tf.tensor4d([0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 2, 4]);
    const reg1 = tf.tensor4d([-0.25, -0.25, Math.log(0.5), Math.log(0.5)], [1, 1, 1, 4]);
    const s = [sample([], [])];
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));

    it('per-level nmsPre, NMS within a level only, then maxPerImg by score', async () => {
      const h = head();
      const all = (
        await h.proposalsByFeat([cls0, cls1], [reg0, reg1], s, {
          nmsPre: 3,
          maxPerImg: 10,
          nms: { iouThreshold: 0.7 },
          minBboxSize: 0,
        })
      )[0];
      // Level 0 keeps its 3 best (a0, a1, a2); a1 now equals a0 and is suppressed; b0 also equals a0 but is on another level.
      expect(Array.from(all.scores)).toEqual([sig(3), sig(2.5), sig(1)].map(Math.fround));
      expect(Array.from(all.levelIds)).toEqual([0, 1, 0]);
      expect(Array.from(all.bboxes)).toEqual([0, 0, 16, 16, 0, 0, 16, 16, 0, 16, 16, 32]);
      const two = (
        await h.proposalsByFeat([cls0, cls1], [reg0, reg1], s, {
          nmsPre: 3,
          maxPerImg: 2,
          nms: { iouThreshold: 0.7 },
          minBboxSize: 0,
        })
      )[0];
      expect(Array.from(two.levelIds)).toEqual([0, 1]);
      // nmsPre 1: only a0 from level 0 (and b0 from level 1).
      const one = (
        await h.proposalsByFeat([cls0, cls1], [reg0, reg1], s, {
          nmsPre: 1,
          maxPerImg: 10,
          nms: { iouThreshold: 0.7 },
        })
      )[0];
      expect(Array.from(one.scores)).toEqual([sig(3), sig(2.5)].map(Math.fround));
      // Without NMS every candidate is kept, best first.
      const noNms = (await h.proposalsByFeat([cls0, cls1], [reg0, reg1], s, { nmsPre: -1 }))[0];
      expect(noNms.scores.length).toBe(5);
    });

    it('boxes are clipped to the image and boxes not larger than minBboxSize are dropped', async () => {
      const p = filterAndNms(
        Float32Array.of(0, 0, 10, 10, 0, 0, 4, 10, 5, 5, 10, 10),
        Float32Array.of(0.9, 0.8, 0.7),
        Int32Array.of(0, 0, 0),
        { minBboxSize: 4, nms: { iouThreshold: 0.5 } },
      );
      // box 1 is 4 px wide (not > 4) and dropped; box 2 lies inside box 0 with IoU 25/100 and survives NMS.
      expect(Array.from(p.scores)).toEqual([0.9, 0.7].map(Math.fround));
      const h = head();
      const big = tf.tensor4d([0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 2, 4]);
      const out = (
        await h.proposalsByFeat([cls0, cls1], [big, reg1], s, { nmsPre: 1, maxPerImg: 10 })
      )[0];
      expect(Array.from(out.bboxes.subarray(0, 4))).toEqual([0, 0, 32, 32]); // a0 grown e^2 times, clipped to the 32x32 image
    });

    it('predict gives class-0 detections rescaled to the original image', async () => {
      const h = head();
      h.testCfg.nmsPre = 3;
      h.testCfg.maxPerImg = 2;
      h.testCfg.nms = { iouThreshold: 0.7 };
      const half = {
        ...s[0],
        metainfo: {
          ...s[0].metainfo,
          scaleFactor: [0.5, 0.5] as [number, number],
          oriShape: [64, 64] as [number, number],
        },
      };
      const [d] = await h.predictByFeat([cls0, cls1], [reg0, reg1], [half]);
      expect(Array.from(d.predInstances.labels)).toEqual([0, 0]);
      expect(Array.from(d.predInstances.bboxes.subarray(0, 4))).toEqual([0, 0, 32, 32]);
    });
  });
});
