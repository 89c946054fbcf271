import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/heads/index.js';
import type { RetinaHead } from '../../src/heads/index.js';
import type { DetSample } from '../../src/structures/index.js';
import { MODELS } from '../../src/registry.js';
import { detSample } from '../helpers/meta.js';

const sample = (boxes: number[][], labels: number[], size = 32): DetSample =>
  detSample(boxes, labels, size);

const head = (): RetinaHead =>
  MODELS.build<RetinaHead>({
    type: 'RetinaHead',
    numClasses: 3,
    inChannels: 8,
    featChannels: 8,
    stackedConvs: 1,
    anchorGenerator: { type: 'AnchorGenerator', strides: [8], ratios: [1], scales: [2] },
    bboxCoder: { type: 'DeltaXYWHBBoxCoder' },
    trainCfg: {
      assigner: { type: 'MaxIoUAssigner', posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 },
      allowedBorder: -1,
      posWeight: -1,
    },
    testCfg: {
      nmsPre: 100,
      scoreThr: 0.05,
      nms: { type: 'nms', iouThreshold: 0.5 },
      maxPerImg: 10,
    },
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('RetinaHead', () => {
  it('parameter names follow mmdet (clsConvs, regConvs, retinaCls, retinaReg) and the cls bias starts at prior 0.01', () => {
    const h = head();
    const names = h.namedParameters().map(([n]) => n);
    expect(names).toContain('clsConvs.0.conv.weight');
    expect(names).toContain('retinaCls.bias');
    expect(names).toContain('retinaReg.weight');
    expect(h.retinaCls.bias!.dataSync()[0]).toBeCloseTo(-4.59512, 4);
  });

  it('targets: the anchor equal to the gt is positive, its 0.33-IoU neighbours negative', () => {
    const h = head();
    // 16x16 anchors centred on the 8-px grid (0, 8, 16, 24); gt = the anchor centred at (16, 16)
    const priors = h.priorGenerator.gridPriorsHost([[4, 4]])[0];
    const t = h.getTargets(priors, [[4, 4]], [sample([[8, 8, 24, 24]], [2])]);
    expect(t.numPos).toBe(1);
    expect(Array.from(t.posFlat)).toEqual([2 * 4 + 2]);
    expect(t.labels[10]).toBe(2);
    expect(Array.from(t.posGt)).toEqual([8, 8, 24, 24]);
    // every anchor trains (negatives below 0.4)
    expect(t.validFlat.length).toBe(16);
    expect(t.labels.filter((l) => l === 3).length).toBe(15);
  });

  it('loss: focal over all anchors / numPos, L1 on deltas of the positive; zero regression loss without gt', () => {
    const h = head();
    const feats = [tf.zeros([1, 4, 4, 8]) as tf.Tensor4D];
    const l = h.loss(feats, [sample([[8, 8, 24, 24]], [2])]);
    // zero features: every logit equals the prior bias, every delta is 0 (= the target of the exact anchor)
    const p = 0.01;
    const negTerm = 0.75 * p * p * -Math.log(1 - p);
    const posTerm = 0.25 * (1 - p) ** 2 * -Math.log(p);
    const expected = 16 * 3 * negTerm - negTerm + posTerm; // one positive column replaces one negative one
    expect((l.loss_cls as tf.Scalar).dataSync()[0]).toBeCloseTo(expected, 4);
    expect((l.loss_bbox as tf.Scalar).dataSync()[0]).toBeCloseTo(0, 6);
    const empty = h.loss(feats, [sample([], [])]);
    expect((empty.loss_bbox as tf.Scalar).dataSync()[0]).toBe(0);
  });
});
