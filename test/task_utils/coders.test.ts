/** The box coders of TASK_UTILS (mmdet semantics). */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { TASK_UTILS } from '../../src/registry.js';
import {
  DeltaXYWHBBoxCoder,
  DistancePointBBoxCoder,
  SSDVarianceBBoxCoder,
} from '../../src/task_utils/index.js';
import { maxAbsDiff, useBackend } from '../ops/helpers.js';

const close = (t: tf.Tensor, v: number[], eps = 1e-5) =>
  expect(maxAbsDiff(t.dataSync(), v)).toBeLessThan(eps);

describe('box coders', () => {
  beforeAll(() => useBackend('wasm'));

  it('DeltaXYWHBBoxCoder round trip, clamps and clipping (mmdet semantics)', () => {
    const coder = TASK_UTILS.build<DeltaXYWHBBoxCoder>({
      type: 'DeltaXYWHBBoxCoder',
      targetMeans: [0, 0, 0, 0],
      targetStds: [0.1, 0.1, 0.2, 0.2],
    });
    const pri = tf.tensor2d([
      [0, 0, 10, 10],
      [5, 5, 25, 15],
    ]);
    const gt = tf.tensor2d([
      [1, 1, 11, 11],
      [0, 2, 30, 20],
    ]);
    const d = coder.encode(pri, gt);
    close(tf.slice(d, [0, 0], [1, 4]), [1, 1, 0, 0]);
    close(coder.decode(pri, d), [1, 1, 11, 11, 0, 2, 30, 20], 1e-4);
    close(coder.decode(pri, d, [15, 28]), [1, 1, 11, 11, 0, 2, 28, 15], 1e-4);
    // wh ratio clip: exp(|log(16/1000)|) = 62.5
    const big = coder.decode(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[0, 0, 100, 100]]));
    close(big, [1 - 62.5, 1 - 62.5, 1 + 62.5, 1 + 62.5], 1e-3);
    const ctr = new DeltaXYWHBBoxCoder({ addCtrClamp: true, ctrClamp: 32 });
    close(
      ctr.decode(tf.tensor2d([[0, 0, 100, 100]]), tf.tensor2d([[1, 0, 0, 0]])),
      [32, 0, 132, 100],
      1e-4,
    );
    // class-specific deltas [N, 4k]
    expect(coder.decode(pri, tf.zeros([2, 8]) as tf.Tensor2D).shape).toEqual([2, 8]);
  });

  it("DeltaXYWHBBoxCoder clampBelow: false clamps dw, dh from above only (torchvision's BoxCoder)", () => {
    const prior = tf.tensor2d([[0, 0, 100, 100]]);
    const pred = tf.tensor2d([[0, 0, -10, 10]]);
    const both = new DeltaXYWHBBoxCoder().decode(prior, pred).arraySync()[0];
    const above = new DeltaXYWHBBoxCoder({ clampBelow: false }).decode(prior, pred).arraySync()[0];
    const clip = Math.log(1000 / 16);
    // width: 100 * exp(-4.135) both ways, 100 * exp(-10) from above only; height clamped alike
    expect(both[2] - both[0]).toBeCloseTo(100 * Math.exp(-clip), 3);
    expect(above[2] - above[0]).toBeCloseTo(100 * Math.exp(-10), 5);
    expect(above[3] - above[1]).toBeCloseTo(both[3] - both[1], 3);
    tf.dispose([prior, pred]);
  });

  it('DistancePointBBoxCoder and SSDVarianceBBoxCoder', () => {
    const c = TASK_UTILS.build<DistancePointBBoxCoder>({ type: 'DistancePointBBoxCoder' });
    close(c.encode(tf.tensor2d([[5, 5]]), tf.tensor2d([[1, 2, 8, 9]])), [4, 3, 3, 4]);
    close(c.encode(tf.tensor2d([[5, 5]]), tf.tensor2d([[1, 2, 8, 9]]), 3.5), [3.4, 3, 3, 3.4]);
    close(c.decode(tf.tensor2d([[5, 5]]), tf.tensor2d([[4, 3, 3, 4]])), [1, 2, 8, 9]);
    close(c.decode(tf.tensor2d([[5, 5]]), tf.tensor2d([[9, 3, 3, 4]]), [8, 7]), [0, 2, 7, 8]);
    const s = TASK_UTILS.build<SSDVarianceBBoxCoder>({ type: 'SSDVarianceBBoxCoder' });
    const pri = tf.tensor2d([
      [0, 0, 10, 10],
      [3, 4, 9, 20],
    ]);
    const gt = tf.tensor2d([
      [1, 1, 11, 11],
      [2, 2, 12, 24],
    ]);
    const d = s.encode(pri, gt);
    close(tf.slice(d, [0, 0], [1, 4]), [1, 1, 0, 0]);
    close(s.decode(pri, d), [1, 1, 11, 11, 2, 2, 12, 24], 1e-4);
    const mm = new DeltaXYWHBBoxCoder({ targetStds: [0.1, 0.1, 0.2, 0.2] });
    close(mm.encode(pri, gt), Array.from(d.dataSync()), 1e-4);
  });
});
