/**
 * Grid anchors: base anchors shifted to every cell of a feature map, the
 * op behind the prior generators of `src/task_utils/prior_generators`. It
 * is the `TfdetGridAnchors` kernel (typed arrays, WGSL, GLSL).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from '../kernel_util.js';
import { GRID_ANCHORS_KERNEL } from './host.js';
import './webgpu.js';
import './webgl.js';

export { GRID_ANCHORS_KERNEL, gridAnchorsHost } from './host.js';

/**
 * Anchors of one level [H*W*A, 4]: `base` [A, 4] (or A*4 values) shifted by
 * `(x * strideW, y * strideH)` to every cell (y, x) of a `[h, w]` map,
 * ordered (y, x, anchor) like mmdet's `single_level_grid_priors`; computed
 * by the `TfdetGridAnchors` kernel on the current backend.
 *
 * @example
 * ```ts
 * gridAnchors(Float32Array.of(-4.5, -4.5, 4.5, 4.5), [1, 2], [16, 16]).arraySync();
 * // => [[-4.5, -4.5, 4.5, 4.5], [11.5, -4.5, 20.5, 4.5]]
 * ```
 */
export function gridAnchors(
  base: Float32Array,
  featmapSize: [number, number],
  stride: [number, number],
): tf.Tensor2D {
  const [h, w] = featmapSize;
  const [sw, sh] = stride;
  return tf.tidy(() =>
    runKernel<tf.Tensor2D>(
      GRID_ANCHORS_KERNEL,
      { base: tf.tensor2d(base, [base.length / 4, 4]) },
      { featH: h, featW: w, strideW: sw, strideH: sh },
    ),
  );
}
