import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/heads/index.js';
import type { FCOSHead } from '../../src/heads/index.js';
import type { DetSample } from '../../src/structures/index.js';
import { MODELS } from '../../src/registry.js';
import { detSample } from '../helpers/meta.js';

const sample = (boxes: number[][], labels: number[], size = 32): DetSample =>
  detSample(boxes, labels, size);

const head = (extra: Record<string, unknown> = {}): FCOSHead =>
  MODELS.build<FCOSHead>({
    type: 'FCOSHead',
    numClasses: 3,
    inChannels: 8,
    featChannels: 8,
    stackedConvs: 1,
    normCfg: null,
    strides: [8],
    regressRanges: [[-1, 64]],
    ...extra,
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('FCOSHead targets (mmdet rules)', () => {
  const points = [
    Float32Array.from([4, 12, 20, 28].flatMap((y) => [4, 12, 20, 28].flatMap((x) => [x, y]))),
  ];
  it('points inside a gt are positive with (l, t, r, b) targets; smaller-area gt wins', () => {
    const t = head().getTargets(points, [
      sample(
        [
          [0, 0, 32, 32],
          [0, 0, 16, 16],
        ],
        [2, 1],
      ),
    ]);
    expect(t.numPos).toBe(16);
    // point (4, 4) lies in both: the 16x16 box (label 1) wins
    expect(t.labels[0]).toBe(1);
    expect(Array.from(t.bboxTargets.subarray(0, 4))).toEqual([4, 4, 12, 12]);
    // point (28, 28) only in the big box
    expect(t.labels[15]).toBe(2);
    expect(Array.from(t.bboxTargets.subarray(60, 64))).toEqual([28, 28, 4, 4]);
  });
  it('regress ranges and centre sampling restrict the positives; normOnBbox divides by the stride', () => {
    const small = head({ regressRanges: [[-1, 20]] }).getTargets(points, [
      sample([[0, 0, 32, 32]], [0]),
    ]);
    // max(l, t, r, b) <= 20 only for the four central points
    expect(small.numPos).toBe(4);
    const cs = head({ centerSampling: true, centerSampleRadius: 1.5, normOnBbox: true }).getTargets(
      points,
      [sample([[0, 0, 32, 32]], [0])],
    );
    expect(Array.from(cs.posFlat)).toEqual([5, 6, 9, 10]);
    expect(Array.from(cs.bboxTargets.subarray(20, 24))).toEqual([1.5, 1.5, 2.5, 2.5]);
    const none = head().getTargets(points, [sample([], [])]);
    expect(none.numPos).toBe(0);
    expect(none.labels.every((l) => l === 3)).toBe(true);
  });
  it('losses are finite with and without positives, and predict returns rescaled boxes', async () => {
    const h = head();
    const feats = [tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 1) as tf.Tensor4D];
    const l = h.loss(feats, [sample([[0, 0, 30, 20]], [1]), sample([], [])]);
    for (const k of ['loss_cls', 'loss_bbox', 'loss_centerness'])
      expect(Number.isFinite((l[k] as tf.Scalar).dataSync()[0])).toBe(true);
    const empty = h.loss(feats, [sample([], []), sample([], [])]);
    expect((empty.loss_bbox as tf.Scalar).dataSync()[0]).toBe(0);
    const s = sample([], []);
    s.metainfo.scaleFactor = [0.5, 0.5];
    const preds = await head({
      testCfg: { scoreThr: 0, nms: { iouThreshold: 0.5 }, maxPerImg: 5 },
    }).predict(
      feats.map((f) => tf.slice(f, [0], [1]) as tf.Tensor4D),
      [s],
    );
    const p = preds[0].predInstances;
    expect(p.scores.length).toBeGreaterThan(0);
    expect(p.scores.length).toBeLessThanOrEqual(5);
    for (let i = 0; i < p.bboxes.length; i++) expect(p.bboxes[i]).toBeLessThanOrEqual(64 + 1e-3);
  });
});
