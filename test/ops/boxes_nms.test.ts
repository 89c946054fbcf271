import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of tfjs' own ops (alignedBoxIou).
import '@tensorflow/tfjs';
import {
  alignedBoxIou,
  boxArea,
  boxIou,
  clipBoxes,
  convertBoxes,
  multiclassNms,
  nmsFromMask,
  nmsHost,
  nmsMaskHost,
  softNms,
  xyxyToYxyx,
} from '../../src/ops/index.js';
import { maxAbsDiff, useBackend } from './helpers.js';

const close = (t: tf.Tensor, v: number[], eps = 1e-5) =>
  expect(maxAbsDiff(t.dataSync(), v)).toBeLessThan(eps);

describe('boxes, soft/multiclass NMS', () => {
  beforeAll(() => useBackend('wasm'));

  it('box helpers (doc examples)', () => {
    close(boxArea(tf.tensor2d([[0, 0, 2, 3]])), [6]);
    close(clipBoxes(tf.tensor2d([[-3, 2, 20, 9]]), [8, 10]), [0, 2, 10, 8]);
    close(convertBoxes(tf.tensor2d([[1, 2, 5, 8]]), 'xyxy', 'cxcywh'), [3, 5, 4, 6]);
    close(convertBoxes(tf.tensor2d([[1, 2, 4, 6]]), 'xywh', 'xyxy'), [1, 2, 5, 8]);
    close(convertBoxes(tf.tensor2d([[3, 5, 4, 6]]), 'cxcywh', 'xywh'), [1, 2, 4, 6]);
    close(xyxyToYxyx(tf.tensor2d([[1, 2, 3, 4]])), [2, 1, 4, 3]);
    close(
      boxIou(
        tf.tensor2d([[0, 0, 2, 2]]),
        tf.tensor2d([
          [1, 1, 3, 3],
          [0, 0, 2, 2],
        ]),
      ),
      [1 / 7, 1],
    );
    close(
      boxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[3, 3, 4, 4]]), { mode: 'giou' }),
      [-0.6875],
    );
    close(
      boxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[1, 1, 3, 3]]), { mode: 'iof' }),
      [0.25],
    );
  });

  it('alignedBoxIou: IoU/GIoU/DIoU/CIoU values and gradients', () => {
    const p = tf.tensor2d([
      [0, 0, 2, 2],
      [0, 0, 4, 2],
    ]);
    const t = tf.tensor2d([
      [1, 1, 3, 3],
      [0, 0, 4, 2],
    ]);
    close(alignedBoxIou(p, t, 'iou'), [1 / 7, 1]);
    close(alignedBoxIou(p, t, 'giou'), [1 / 7 - 2 / 9, 1]);
    close(alignedBoxIou(p, t, 'diou'), [1 / 7 - 2 / 18, 1]);
    close(alignedBoxIou(p, t, 'ciou'), [1 / 7 - 2 / 18, 1]); // same aspect ratio: v = 0
    const g = tf.grad((x: tf.Tensor) => alignedBoxIou(x as tf.Tensor2D, t, 'ciou'))(
      p,
      tf.ones([2]),
    );
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('softNms (mmcv linear and gaussian) and multiclassNms', () => {
    const b = tf.tensor2d([
      [0, 0, 10, 10],
      [0, 0, 10, 5],
    ]);
    const lin = softNms(b, tf.tensor1d([0.9, 0.8]), { method: 'linear', iouThreshold: 0.3 });
    expect(Array.from(lin.keep)).toEqual([0, 1]);
    expect(maxAbsDiff(lin.scores, [0.9, 0.4])).toBeLessThan(1e-6);
    const gau = softNms(b, tf.tensor1d([0.9, 0.8]), { method: 'gaussian', sigma: 0.5 });
    expect(maxAbsDiff(gau.scores, [0.9, 0.8 * Math.exp(-0.25 / 0.5)])).toBeLessThan(1e-6);
    const drop = softNms(b, tf.tensor1d([0.9, 0.8]), { method: 'naive', iouThreshold: 0.5 });
    expect(Array.from(drop.keep)).toEqual([0]);
    const det = multiclassNms(
      tf.tensor2d([
        [0, 0, 10, 10],
        [1, 1, 11, 11],
      ]),
      tf.tensor2d([
        [0.9, 0.1],
        [0.8, 0.7],
      ]),
      { scoreThr: 0.05, iouThreshold: 0.5 },
    );
    expect(Array.from(det.labels)).toEqual([0, 1]);
    expect(Array.from(det.indices)).toEqual([0, 1]);
    expect(maxAbsDiff(det.scores, [0.9, 0.7])).toBeLessThan(1e-6);
    const top1 = multiclassNms(
      tf.tensor2d([
        [0, 0, 10, 10],
        [1, 1, 11, 11],
      ]),
      tf.tensor2d([
        [0.9, 0.1],
        [0.8, 0.7],
      ]),
      { scoreThr: 0.05, iouThreshold: 0.5, nmsPre: 2, maxPerImg: 1 },
    );
    expect(Array.from(top1.scores)).toEqual([Math.fround(0.9)]);
  });

  it('the device mask + sequential pass equals the host greedy pass', () => {
    const n = 300;
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(n);
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < n; i++) {
      const x = rnd() * 100,
        y = rnd() * 100;
      boxes.set([x, y, x + 5 + rnd() * 30, y + 5 + rnd() * 30], 4 * i);
      scores[i] = rnd();
    }
    const order = Int32Array.from(
      Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b),
    );
    const sorted = new Float32Array(4 * n);
    order.forEach((o, k) => sorted.set(boxes.subarray(4 * o, 4 * o + 4), 4 * k));
    const keep = Array.from(nmsFromMask(nmsMaskHost(sorted, 0.4), n)).map((k) => order[k]);
    expect(keep).toEqual(Array.from(nmsHost(boxes, scores, 0.4)));
  });
});

describe('doc examples of the NMS helpers and RoI wrappers', () => {
  beforeAll(() => useBackend('cpu'));
  it('match their stated outputs', async () => {
    const { nmsAsync, multiLevelRoiAlign, RoIAlign } = await import('../../src/ops/index.js');
    expect(
      Array.from(
        await nmsAsync(
          tf.tensor2d([
            [0, 0, 10, 10],
            [1, 1, 11, 11],
          ]),
          tf.tensor1d([0.8, 0.9]),
          0.5,
        ),
      ),
    ).toEqual([1]);
    expect(
      Array.from(
        nmsHost(new Float32Array([0, 0, 10, 10, 0, 0, 10, 9]), new Float32Array([0.5, 0.5]), 0.5),
      ),
    ).toEqual([0]);
    const p2 = tf.ones([1, 8, 8, 1]) as tf.Tensor4D,
      p3 = tf.fill([1, 4, 4, 1], 2) as tf.Tensor4D;
    expect(
      Array.from(
        multiLevelRoiAlign(
          [p2, p3],
          tf.tensor2d([
            [0, 0, 0, 8, 8],
            [0, 0, 0, 16, 16],
          ]),
          [0, 1],
          [1 / 2, 1 / 4],
          { outputSize: 1 },
        )!.dataSync(),
      ),
    ).toEqual([1, 2]);
    expect(
      Array.from(
        new RoIAlign({ outputSize: 1, samplingRatio: 1 })
          .apply(tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]), tf.tensor2d([[0, 0, 0, 1, 1]]))
          .dataSync(),
      ),
    ).toEqual([1.5]);
  });
});
