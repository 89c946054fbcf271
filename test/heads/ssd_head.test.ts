import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/heads/index.js';
import { hardNegativeSum, type SSDHead } from '../../src/heads/index.js';
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

  it('hard negative mining on the device equals a host sort, and only the kept anchors get gradient', () => {
    // 3 images of 40 anchors: labels 0..4 positive, 5 background, -100 ignored; many equal losses.
    const B = 3,
      n = 40,
      C = 5;
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const ceHost = Float32Array.from({ length: B * n }, () => Math.round(rand() * 20) / 4);
    const labels = Int32Array.from({ length: B * n }, () => {
      const r = rand();
      return r < 0.1 ? Math.floor(r * 50) : r < 0.2 ? -100 : C;
    });
    labels.fill(C, 2 * n, 3 * n); // the third image has no positive: it keeps no negative
    const posFlat = Int32Array.from(
      Array.from(labels).flatMap((l, i) => (l >= 0 && l < C ? [i] : [])),
    );
    expect(posFlat.length).toBeGreaterThan(2);
    for (const ratio of [3, 1, 100]) {
      const kept = new Float32Array(B * n);
      for (const i of posFlat) kept[i] = 1;
      for (let b = 0; b < B; b++) {
        const negs: number[] = [];
        let pos = 0;
        for (let i = b * n; i < (b + 1) * n; i++) {
          if (labels[i] === C) negs.push(i);
          else if (labels[i] >= 0) pos++;
        }
        negs.sort((p, q) => ceHost[q] - ceHost[p] || p - q);
        for (const i of negs.slice(0, Math.min(negs.length, ratio * pos))) kept[i] = 1;
      }
      const want = ceHost.reduce((a, v, i) => a + v * kept[i], 0);
      const ce = tf.tensor1d(ceHost);
      const got = hardNegativeSum(ce, labels, C, n, posFlat, ratio);
      expect(got.dataSync()[0]).toBeCloseTo(want, 4);
      const g = tf.grad((x: tf.Tensor) =>
        hardNegativeSum(x as tf.Tensor1D, labels, C, n, posFlat, ratio),
      )(ce);
      expect(Array.from(g.dataSync())).toEqual(Array.from(kept));
    }
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
