/**
 * Hard NMS (`nms`, `nmsAsync`, `nmsHost`); the class-aware variants are in
 * `batched.ts`, Soft-NMS in `soft_nms.ts`. The greedy pass is sequential, so
 * the host path is a plain function over typed arrays (`greedy.ts`); on
 * webgl/webgpu the O(N^2) part (the IoU bitmask) runs on the device as the
 * `TfdetNmsMask` kernel and a short sequential pass reads it back, as
 * torchvision's CUDA nms does.
 *
 * IoUs are computed in float32 arithmetic (every step rounded with
 * `Math.fround`) so that borderline suppressions decide as torchvision's
 * float kernels do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { toF32 } from '../kernel_util.js';
import {
  candidates,
  checkInputs,
  greedy,
  sortByScore,
  type BoxesLike,
  type ScoresLike,
} from './greedy.js';
import { NMS_MASK_KERNEL, nmsFromMask } from './host.js';
import './webgpu.js';
import './webgl.js';

export { NMS_MASK_BITS, NMS_MASK_KERNEL, nmsFromMask, nmsMaskHost } from './host.js';

/** Options of {@link nms}. */
export interface NmsOptions {
  /** Drop boxes whose score is not `> scoreThreshold` first (mmcv `score_threshold`; 0 = off). */
  scoreThreshold?: number;
  /** Keep at most this many boxes (mmcv `max_num`; <= 0 = all). */
  maxNum?: number;
}

/**
 * NMS over typed arrays: `boxes` [N*4] xyxy, `scores` [N]. Returns the kept
 * indices in descending score order. See {@link nms} for the semantics.
 *
 * @example
 * ```ts
 * nmsHost(new Float32Array([0, 0, 10, 10, 0, 0, 10, 9]), new Float32Array([0.5, 0.5]), 0.5); // => Int32Array [0] (tie: lower index)
 * ```
 */
export function nmsHost(
  boxes: Float32Array,
  scores: Float32Array,
  iouThreshold: number,
  options: NmsOptions = {},
): Int32Array {
  checkInputs('nms', boxes.length / 4, boxes.length, scores.length, iouThreshold);
  const order = sortByScore(scores, candidates(scores, options.scoreThreshold ?? 0));
  return greedy(boxes, order, iouThreshold, options.maxNum ?? -1);
}

const onDevice = (x: unknown): x is tf.Tensor =>
  x instanceof tf.Tensor && ['webgl', 'webgpu'].includes(tf.getBackend());

function devicePrepare(
  boxes: tf.Tensor,
  scoresArr: Float32Array,
  options: NmsOptions,
): { order: Int32Array; sorted: tf.Tensor } {
  const order = sortByScore(scoresArr, candidates(scoresArr, options.scoreThreshold ?? 0));
  const sorted = tf.tidy(() => tf.gather(tf.cast(tf.reshape(boxes, [-1, 4]), 'float32'), order));
  return { order, sorted };
}

function deviceFinish(mask: Int32Array, order: Int32Array, maxNum: number): Int32Array {
  const k = nmsFromMask(mask, order.length, maxNum);
  const out = new Int32Array(k.length);
  for (let i = 0; i < k.length; i++) out[i] = order[k[i]];
  return out;
}

/**
 * Non-maximum suppression (torchvision `nms`, mmcv `nms` with `offset = 0`).
 * Boxes are visited in descending score order; a box is suppressed when its
 * IoU with a kept box is strictly `> iouThreshold`; equal scores keep the
 * lower index first; NaN scores sort first (as `torch.sort`); zero-area boxes
 * have IoU NaN/0 with everything and are never suppressed nor suppress.
 * Returns kept indices (into the input) in descending score order. On webgl /
 * webgpu with tensor input the IoU bitmask is computed on the device.
 *
 * @example
 * ```ts
 * nms(tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]), tf.tensor1d([0.9, 0.8, 0.7]), 0.5);
 * // => Int32Array [0, 2]
 * ```
 */
export function nms(
  boxes: BoxesLike,
  scores: ScoresLike,
  iouThreshold: number,
  options: NmsOptions = {},
): Int32Array {
  if (tf.getBackend() === 'webgpu' && boxes instanceof tf.Tensor) {
    throw new Error(
      'nms: synchronous reads of webgpu tensors are unreliable; use nmsAsync on webgpu.',
    );
  }
  const s = toF32(scores, 'nms scores');
  if (onDevice(boxes)) {
    checkInputs('nms', boxes.size / 4, boxes.size, s.length, iouThreshold);
    const { order, sorted } = devicePrepare(boxes, s, options);
    if (order.length === 0) {
      sorted.dispose();
      return new Int32Array(0);
    }
    const mask = tf
      .engine()
      .runKernel(NMS_MASK_KERNEL, { boxes: sorted }, { iouThreshold }) as tf.Tensor;
    const m = mask.dataSync() as Int32Array;
    mask.dispose();
    sorted.dispose();
    return deviceFinish(Int32Array.from(m), order, options.maxNum ?? -1);
  }
  return nmsHost(toF32(boxes, 'nms boxes'), s, iouThreshold, options);
}

/**
 * {@link nms} reading device data asynchronously (required on webgpu, where
 * synchronous reads are unreliable). Same semantics and result.
 *
 * @example
 * ```ts
 * await nmsAsync(tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11]]), tf.tensor1d([0.8, 0.9]), 0.5); // => Int32Array [1]
 * ```
 */
export async function nmsAsync(
  boxes: BoxesLike,
  scores: ScoresLike,
  iouThreshold: number,
  options: NmsOptions = {},
): Promise<Int32Array> {
  const s =
    scores instanceof tf.Tensor
      ? Float32Array.from(await scores.data())
      : toF32(scores, 'nms scores');
  if (onDevice(boxes)) {
    checkInputs('nms', boxes.size / 4, boxes.size, s.length, iouThreshold);
    const { order, sorted } = devicePrepare(boxes, s, options);
    if (order.length === 0) {
      sorted.dispose();
      return new Int32Array(0);
    }
    const mask = tf
      .engine()
      .runKernel(NMS_MASK_KERNEL, { boxes: sorted }, { iouThreshold }) as tf.Tensor;
    const m = await mask.data();
    mask.dispose();
    sorted.dispose();
    return deviceFinish(Int32Array.from(m), order, options.maxNum ?? -1);
  }
  const b =
    boxes instanceof tf.Tensor ? Float32Array.from(await boxes.data()) : toF32(boxes, 'nms boxes');
  return nmsHost(b, s, iouThreshold, options);
}
