import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/heads/index.js';
import type { SSDHead } from '../../src/heads/index.js';
import type { DetSample } from '../../src/structures/index.js';
import { MODELS } from '../../src/registry.js';
import { detSample } from '../helpers/meta.js';

const sample = (boxes: number[][], labels: number[], size = 64): DetSample =>
  detSample(boxes, labels, size);

const build = (extra: Record<string, unknown> = {}): SSDHead =>
  MODELS.build<SSDHead>({
    type: 'SSDHead',
    numClasses: 5,
    inChannels: [8, 8],
    anchorGenerator: {
      type: 'SSDAnchorGenerator',
      strides: [8, 16],
      ratios: [[2], [2]],
      minSizes: [16, 32],
      maxSizes: [32, 64],
    },
    trainCfg: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.5,
        minPosIou: 0,
        gtMaxAssignAll: false,
      },
      negPosRatio: 3,
      smoothl1Beta: 1,
    },
    testCfg: { nms: { type: 'nms', iouThreshold: 0.45 }, scoreThr: 0.02, maxPerImg: 50 },
    ...extra,
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('SSDHead', () => {
  it('builds 4 anchors per cell for ratios [2] and softmax outputs with a background column', () => {
    const h = build();
    const out = h.forward([
      tf.zeros([1, 8, 8, 8]) as tf.Tensor4D,
      tf.zeros([1, 4, 4, 8]) as tf.Tensor4D,
    ]);
    expect(out.clsScores[0].shape).toEqual([1, 8, 8, 4 * 6]);
    expect(out.bboxPreds[1].shape).toEqual([1, 4, 4, 16]);
  });

  it('hard negative mining keeps negPosRatio negatives per positive', () => {
    const h = build();
    // zero features -> zero logits -> every anchor's cross-entropy is ln 6
    const feats = [tf.zeros([1, 8, 8, 8]) as tf.Tensor4D, tf.zeros([1, 4, 4, 8]) as tf.Tensor4D];
    const s = sample(
      [
        [8, 8, 24, 24],
        [30, 30, 62, 62],
      ],
      [1, 3],
    );
    const l = h.loss(feats, [s]);
    expect((l.loss_cls as tf.Scalar).dataSync()[0]).toBeCloseTo(4 * Math.log(6), 4);
    for (const ratio of [1, 0]) {
      const r = build({
        trainCfg: {
          assigner: { type: 'MaxIoUAssigner', posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 },
          negPosRatio: ratio,
        },
      }).loss(feats, [s]);
      expect((r.loss_cls as tf.Scalar).dataSync()[0]).toBeCloseTo((1 + ratio) * Math.log(6), 4);
    }
    const empty = h.loss(feats, [sample([], [])]);
    expect((empty.loss_cls as tf.Scalar).dataSync()[0]).toBe(0);
    expect((empty.loss_bbox as tf.Scalar).dataSync()[0]).toBe(0);
  });

  it('predicts softmax scores without the background column', async () => {
    const h = build();
    const preds = await h.predict(
      [
        tf.randomNormal([1, 8, 8, 8], 0, 1, 'float32', 2) as tf.Tensor4D,
        tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 3) as tf.Tensor4D,
      ],
      [sample([], [])],
    );
    const p = preds[0].predInstances;
    expect(p.scores.length).toBeGreaterThan(0);
    expect(Math.max(...p.labels)).toBeLessThan(5);
    expect(Math.max(...p.scores)).toBeLessThanOrEqual(1);
  });
});
