import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  batchedNms,
  boxIou,
  multiclassNms,
  nms,
  nmsAsync,
  roiAlign,
  roiPool,
  softNms,
} from '../../src/ops/index.js';
import { SingleRoIExtractor } from '../../src/roi_heads/roi_extractors/index.js';
import { useBackend } from './helpers.js';

// Expected values below were printed by torchvision 0.14 (scripts/fixtures/ops/make_fixtures.py's environment).
for (const backend of ['cpu', 'wasm'] as const) {
  describe(`edge cases on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('empty inputs: 0 boxes, 0 RoIs', async () => {
      const none = tf.zeros([0, 4]) as tf.Tensor2D;
      expect(boxIou(none, tf.ones([3, 4]) as tf.Tensor2D).shape).toEqual([0, 3]);
      expect(boxIou(tf.ones([3, 4]) as tf.Tensor2D, none).shape).toEqual([3, 0]);
      expect(Array.from(nms(none, tf.zeros([0]), 0.5))).toEqual([]);
      expect(Array.from(await nmsAsync(none, tf.zeros([0]), 0.5))).toEqual([]);
      expect(
        Array.from(batchedNms(none, tf.zeros([0]), tf.zeros([0], 'int32'), { iouThreshold: 0.5 })),
      ).toEqual([]);
      expect(softNms(none, tf.zeros([0])).keep.length).toBe(0);
      expect(
        multiclassNms(none, tf.zeros([0, 3]) as tf.Tensor2D, { iouThreshold: 0.5 }).scores.length,
      ).toBe(0);
      const feat = tf.randomNormal([1, 4, 4, 2]) as tf.Tensor4D;
      const noRois = tf.zeros([0, 5]) as tf.Tensor2D;
      expect(roiAlign(feat, noRois, { outputSize: 2 }).shape).toEqual([0, 2, 2, 2]);
      expect(roiPool(feat, noRois, { outputSize: 2 }).shape).toEqual([0, 2, 2, 2]);
      const g = tf.grad((x: tf.Tensor) => roiAlign(x as tf.Tensor4D, noRois, { outputSize: 2 }))(
        feat,
        tf.zeros([0, 2, 2, 2]),
      );
      expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
      const ex = new SingleRoIExtractor({
        roiLayer: { type: 'RoIAlign', outputSize: 2 },
        outChannels: 2,
        featmapStrides: [4, 8],
      });
      expect(ex.forward([feat, feat], noRois).shape).toEqual([0, 2, 2, 2]);
    });

    it('a single box', () => {
      expect(Array.from(nms(tf.tensor2d([[0, 0, 1, 1]]), tf.tensor1d([0.3]), 0.5))).toEqual([0]);
      expect(
        Array.from(boxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[0, 0, 2, 2]])).dataSync()),
      ).toEqual([1]);
      const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
      expect(
        roiAlign(x, tf.tensor2d([[0, 0, 0, 1, 1]]), {
          outputSize: 1,
          samplingRatio: 1,
        }).dataSync()[0],
      ).toBeCloseTo(1.5, 6);
      expect(roiPool(x, tf.tensor2d([[0, 0, 0, 1, 1]]), { outputSize: 1 }).dataSync()[0]).toBe(3);
    });

    it('degenerate (zero-area) boxes: IoU NaN as torchvision, never suppressed', () => {
      const b = tf.tensor2d([
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [1, 1, 1, 1],
      ]);
      expect(Array.from(boxIou(b, b).dataSync()).every(Number.isNaN)).toBe(true);
      expect(Array.from(boxIou(b, b, { eps: 1e-6 }).dataSync())).toEqual([
        0, 0, 0, 0, 0, 0, 0, 0, 0,
      ]);
      expect(Array.from(nms(b, tf.tensor1d([0.3, 0.2, 0.1]), 0.5))).toEqual([0, 1, 2]);
      // zero-size RoI with aligned=True: adaptive grid of 0 samples -> 0 (torchvision)
      const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
      expect(
        Array.from(
          roiAlign(x, tf.tensor2d([[0, 0.5, 0.5, 0.5, 0.5]]), {
            outputSize: 2,
            aligned: true,
          }).dataSync(),
        ),
      ).toEqual([0, 0, 0, 0]);
    });

    it('NaN scores sort first as in torch.sort (torchvision keeps [1] here); scoreThreshold drops them', () => {
      const b = tf.tensor2d([
        [0, 0, 10, 10],
        [0, 0, 10, 10],
        [1, 1, 11, 11],
      ]);
      const s = tf.tensor1d([0.5, NaN, 0.8]);
      expect(Array.from(nms(b, s, 0.5))).toEqual([1]);
      expect(Array.from(nms(b, s, 0.5, { scoreThreshold: 0.1 }))).toEqual([2]);
    });

    it('ties keep the lower index first; maxNum and scoreThreshold (mmcv)', () => {
      const b = tf.tensor2d([
        [0, 0, 10, 10],
        [0, 0, 10, 10],
        [20, 20, 30, 30],
        [40, 40, 50, 50],
      ]);
      expect(Array.from(nms(b, tf.tensor1d([0.5, 0.5, 0.5, 0.5]), 0.5))).toEqual([0, 2, 3]);
      expect(Array.from(nms(b, tf.tensor1d([0.5, 0.5, 0.5, 0.5]), 0.5, { maxNum: 2 }))).toEqual([
        0, 2,
      ]);
      expect(
        Array.from(nms(b, tf.tensor1d([0.5, 0.6, 0.05, 0.9]), 0.5, { scoreThreshold: 0.1 })),
      ).toEqual([3, 1]);
    });

    it('clear errors for bad input', () => {
      expect(() => boxIou(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([2, 4]) as tf.Tensor2D)).toThrow(
        /boxIou: 'a' must have shape \[N, 4\], got \[2, 3\]/,
      );
      expect(() =>
        boxIou(tf.ones([2, 4]) as tf.Tensor2D, tf.ones([3, 4]) as tf.Tensor2D, { aligned: true }),
      ).toThrow(/aligned/);
      expect(() => nms(tf.ones([2, 4]), tf.ones([3]), 0.5)).toThrow(
        /'boxes' has 2 boxes but 'scores' has 3/,
      );
      expect(() => nms(tf.ones([2, 4]), tf.ones([2]), NaN)).toThrow(/iouThreshold/);
      const feat = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
      expect(() => roiAlign(feat, tf.ones([2, 4]) as tf.Tensor2D, { outputSize: 2 })).toThrow(
        /'rois' must be \[K, 5\]/,
      );
      expect(() =>
        roiAlign(tf.zeros([4, 4, 1]) as unknown as tf.Tensor4D, tf.ones([2, 5]) as tf.Tensor2D, {
          outputSize: 2,
        }),
      ).toThrow(/NHWC/);
      expect(() => roiAlign(feat, tf.tensor2d([[3, 0, 0, 1, 1]]), { outputSize: 2 })).toThrow(
        /rois\[0\]\[0\] \(batch index\) is 3; features have batch size 1/,
      );
      expect(() => roiAlign(feat, tf.ones([1, 5]) as tf.Tensor2D, { outputSize: 0 })).toThrow(
        /outputSize/,
      );
      expect(() => softNms(tf.ones([1, 4]), tf.ones([1]), { method: 'cubic' as 'linear' })).toThrow(
        /unknown method 'cubic'/,
      );
    });
  });
}

describe('score order of nms', () => {
  it('is descending, NaN first, ties (and -0/+0) by lower index, for disjoint boxes', () => {
    const n = 300;
    const boxes = new Float32Array(4 * n);
    const pool = [0.5, 0.25, -1, 0, -0, NaN, 3, 1e-30, -1e-30];
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      boxes.set([i * 10, 0, i * 10 + 5, 5], 4 * i);
      scores[i] = pool[(i * 7 + (i >> 3)) % pool.length];
    }
    const key = (v: number) => (Number.isNaN(v) ? -Infinity : -v);
    const expected = Array.from(scores.keys()).sort(
      (p, q) => key(scores[p]) - key(scores[q]) || p - q,
    );
    expect(Array.from(nms(boxes, scores, 0.5))).toEqual(expected);
  });
});
