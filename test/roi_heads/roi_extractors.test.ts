/** The multi-level RoI extractor of the RoI heads (mmdet `SingleRoIExtractor`). */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of tfjs' own ops (the extractor's gather/concat).
import '@tensorflow/tfjs';
import { MODELS } from '../../src/registry.js';
import { roiAlign } from '../../src/ops/index.js';
import type { SingleRoIExtractor } from '../../src/roi_heads/roi_extractors/index.js';
import '../../src/roi_heads/roi_extractors/index.js';
import { maxAbsDiff, useBackend } from '../ops/helpers.js';

describe('SingleRoIExtractor', () => {
  beforeAll(() => useBackend('wasm'));

  it('SingleRoIExtractor maps RoIs to levels (finestScale 56) and pools each from its level', async () => {
    const ex = MODELS.build<SingleRoIExtractor>({
      type: 'SingleRoIExtractor',
      roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 },
      outChannels: 2,
      featmapStrides: [4, 8, 16, 32],
    });
    const rois = tf.tensor2d([
      [0, 0, 0, 100, 100],
      [0, 0, 0, 300, 300],
      [0, 0, 0, 20, 20],
      [0, 0, 0, 1000, 900],
      [0, 10, 10, 122, 122],
    ]);
    expect(Array.from(ex.mapRoiLevels(rois, 4))).toEqual([0, 2, 0, 3, 1]);
    const feats = [64, 32, 16, 8].map((s) => tf.randomNormal([1, s, s, 2]) as tf.Tensor4D);
    const out = ex.forward(feats, rois);
    expect(out.shape).toEqual([5, 7, 7, 2]);
    const lv = [0, 2, 0, 3, 1];
    for (let i = 0; i < 5; i++) {
      const ref = roiAlign(feats[lv[i]], tf.slice(rois, [i, 0], [1, 5]) as tf.Tensor2D, {
        outputSize: 7,
        spatialScale: 1 / [4, 8, 16, 32][lv[i]],
        aligned: true,
      });
      expect(maxAbsDiff(tf.slice(out, [i], [1]).dataSync(), ref.dataSync())).toBe(0);
    }
    // One multi-level kernel on the host backends: its gradient reaches every level, and
    // level 1 receives exactly the gradient of RoI 4 alone.
    for (const b of ['wasm', 'cpu'] as const) {
      await useBackend(b);
      const g = tf.grads((a: tf.Tensor, b1: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        ex.forward([a, b1, c, d] as tf.Tensor4D[], rois),
      )(feats, tf.ones([5, 7, 7, 2]));
      expect(g.map((t) => t.shape)).toEqual(feats.map((t) => t.shape));
      const g1 = tf.grad((x: tf.Tensor) =>
        roiAlign(x as tf.Tensor4D, tf.slice(rois, [4, 0], [1, 5]) as tf.Tensor2D, {
          outputSize: 7,
          spatialScale: 1 / 8,
          aligned: true,
        }),
      )(feats[1], tf.ones([1, 7, 7, 2]));
      expect(maxAbsDiff(g[1].dataSync(), g1.dataSync())).toBeLessThan(1e-6);
      const g3 = tf.grad((x: tf.Tensor) =>
        roiAlign(x as tf.Tensor4D, tf.slice(rois, [3, 0], [1, 5]) as tf.Tensor2D, {
          outputSize: 7,
          spatialScale: 1 / 32,
          aligned: true,
        }),
      )(feats[3], tf.ones([1, 7, 7, 2]));
      expect(maxAbsDiff(g[3].dataSync(), g3.dataSync())).toBeLessThan(1e-6);
    }
    await useBackend('wasm');
  });
});
