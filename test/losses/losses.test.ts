import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CrossEntropyLoss,
  FocalLoss,
  GIoULoss,
  L1Loss,
  SmoothL1Loss,
  giouLoss,
  sigmoidFocalLoss,
  weightReduceLoss,
} from '../../src/losses/index.js';
import { MODELS } from '../../src/registry.js';

const fx = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../fixtures/detectors/losses.json', import.meta.url)),
    'utf8',
  ),
);

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1, Math.abs(b));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('sigmoidFocalLoss vs torchvision.ops.sigmoid_focal_loss', () => {
  for (const c of fx.focal) {
    it(`gamma ${c.gamma} alpha ${c.alpha}: values and gradient`, () => {
      const x = tf.tensor2d(c.pred, c.shape);
      const t = tf.tensor2d(c.target, c.shape);
      const none = sigmoidFocalLoss(x, t, { alpha: c.alpha, gamma: c.gamma }).dataSync();
      expect(maxDiff(none, c.none)).toBeLessThan(1e-5);
      expect(
        rel(
          sigmoidFocalLoss(x, t, {
            alpha: c.alpha,
            gamma: c.gamma,
            reduction: 'mean',
          }).dataSync()[0],
          c.mean[0],
        ),
      ).toBeLessThan(1e-5);
      expect(
        rel(
          sigmoidFocalLoss(x, t, {
            alpha: c.alpha,
            gamma: c.gamma,
            reduction: 'sum',
          }).dataSync()[0],
          c.sum[0],
        ),
      ).toBeLessThan(1e-5);
      const g = tf.grad((p: tf.Tensor) =>
        sigmoidFocalLoss(p, t, { alpha: c.alpha, gamma: c.gamma, reduction: 'sum' }),
      )(x);
      expect(maxDiff(g.dataSync(), c.gradSum)).toBeLessThan(1e-5);
      // the fused 0/1-target path: same values, analytic gradient
      const fused = (p: tf.Tensor) =>
        sigmoidFocalLoss(p, t, {
          alpha: c.alpha,
          gamma: c.gamma,
          reduction: 'sum',
          binaryTargets: true,
        });
      expect(
        maxDiff(
          sigmoidFocalLoss(x, t, {
            alpha: c.alpha,
            gamma: c.gamma,
            binaryTargets: true,
          }).dataSync(),
          c.none,
        ),
      ).toBeLessThan(1e-5);
      expect(maxDiff(tf.grad(fused)(x).dataSync(), c.gradSum)).toBeLessThan(1e-5);
    });
  }

  it('FocalLoss module: labels with background, avgFactor and lossWeight', () => {
    const c = fx.focal[0];
    const [n, k] = c.shape;
    // labels: the first positive column of each row, or k (background) for all-zero rows; compare to one-hot torch targets.
    const labels = new Int32Array(n);
    const onehot = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      labels[i] = k;
      for (let j = 0; j < k; j++)
        if (c.target[i * k + j] === 1) {
          labels[i] = j;
          break;
        }
      if (labels[i] < k) onehot[i * k + labels[i]] = 1;
    }
    const x = tf.tensor2d(c.pred, c.shape);
    const ref = sigmoidFocalLoss(x, tf.tensor2d(onehot, [n, k]), {
      alpha: 0.25,
      gamma: 2,
      reduction: 'sum',
    }).dataSync()[0];
    const loss = MODELS.build<FocalLoss>({
      type: 'FocalLoss',
      useSigmoid: true,
      gamma: 2,
      alpha: 0.25,
      lossWeight: 2,
    });
    const v = loss.forward(x, labels, { avgFactor: 7 }).dataSync()[0];
    expect(rel(v, (2 * ref) / 7)).toBeLessThan(1e-5);
  });
});

describe('GIoU loss vs torchvision.ops.generalized_box_iou_loss', () => {
  for (const c of fx.giou) {
    it(`${c.n} pairs: values and gradient`, () => {
      const a = tf.tensor2d(c.pred, [c.n, 4]);
      const b = tf.tensor2d(c.target, [c.n, 4]);
      expect(maxDiff(giouLoss(a, b).dataSync(), c.none)).toBeLessThan(1e-5);
      const g = tf.grad((p: tf.Tensor) => tf.sum(giouLoss(p as tf.Tensor2D, b)))(a);
      expect(maxDiff(g.dataSync(), c.gradSum)).toBeLessThan(1e-5);
      const mod = new GIoULoss({ eps: 1e-7, lossWeight: 1 });
      expect(rel(mod.forward(a, b).dataSync()[0], c.mean[0])).toBeLessThan(1e-5);
      expect(rel(mod.forward(a, b, { avgFactor: c.n }).dataSync()[0], c.mean[0])).toBeLessThan(
        1e-5,
      );
    });
  }
});

describe('SmoothL1 / L1 / cross-entropy vs torch.nn.functional', () => {
  it('smooth_l1_loss and l1_loss', () => {
    const s = fx.smoothL1;
    const x = tf.tensor2d(s.pred, [50, 4]);
    const y = tf.tensor2d(s.target, [50, 4]);
    expect(
      rel(new SmoothL1Loss({ beta: s.beta }).forward(x, y).dataSync()[0], s.mean),
    ).toBeLessThan(1e-5);
    expect(rel(new L1Loss().forward(x, y).dataSync()[0], s.l1Mean)).toBeLessThan(1e-5);
    expect(
      new L1Loss({ lossWeight: 3 }).forward(x, y, { reductionOverride: 'none' }).shape,
    ).toEqual([50, 4]);
  });

  it('softmax cross_entropy with class weights and ignore_index', () => {
    const c = fx.ce;
    const x = tf.tensor2d(c.pred, [40, 6]);
    const labels = Int32Array.from(c.labels as number[]);
    const none = new CrossEntropyLoss({ classWeight: c.classWeight, reduction: 'none' })
      .forward(x, labels)
      .dataSync();
    expect(maxDiff(none, c.none)).toBeLessThan(1e-5);
    const sum = new CrossEntropyLoss({ reduction: 'sum' }).forward(x, labels).dataSync()[0];
    expect(rel(sum, c.sumPlain)).toBeLessThan(1e-5);
    // avgNonIgnore averages over the 34 labelled rows only
    const nonIgnored = (c.labels as number[]).filter((l) => l !== -100).length;
    const avg = new CrossEntropyLoss({ avgNonIgnore: true }).forward(x, labels).dataSync()[0];
    expect(rel(avg, c.sumPlain / nonIgnored)).toBeLessThan(1e-5);
  });

  it('sigmoid cross-entropy (binary_cross_entropy_with_logits)', () => {
    const b = fx.bce;
    const v = new CrossEntropyLoss({ useSigmoid: true })
      .forward(tf.tensor2d(b.pred, [40, 6]), tf.tensor2d(b.target, [40, 6]))
      .dataSync()[0];
    expect(rel(v, b.mean)).toBeLessThan(1e-5);
  });

  it('weightReduceLoss: weights, avgFactor and reductions as mmdet', () => {
    const l = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    expect(weightReduceLoss(l, { weight: tf.tensor1d([1, 0]) }).dataSync()[0]).toBeCloseTo(0.75, 6);
    expect(weightReduceLoss(l, { reduction: 'sum' }).dataSync()[0]).toBe(10);
    expect(weightReduceLoss(l, { avgFactor: 4 }).dataSync()[0]).toBeCloseTo(2.5, 5);
    expect(() => weightReduceLoss(l, { avgFactor: 4, reduction: 'sum' })).toThrow(/avgFactor/);
    // no element: mean of nothing is 0, not NaN
    expect(weightReduceLoss(tf.zeros([0, 4])).dataSync()[0]).toBe(0);
  });

  it('config validation names the bad option', () => {
    expect(() => MODELS.build({ type: 'FocalLoss', gama: 2 })).toThrow(/gama/);
  });
});
