/**
 * Box format helpers. Boxes are `[N, 4]` float32 `[x1, y1, x2, y2]` (pixels,
 * `x1 <= x2`, `y1 <= y2`) unless a function says otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertBoxes } from '../kernel_util.js';

/**
 * Area of each box, `(x2 - x1) * (y2 - y1)` (torchvision `box_area`, no +1 offset).
 *
 * @example
 * ```ts
 * boxArea(tf.tensor2d([[0, 0, 2, 3]])).arraySync(); // => [6]
 * ```
 */
export function boxArea(boxes: tf.Tensor2D): tf.Tensor1D {
  assertBoxes(boxes, 'boxArea', 'boxes');
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, 1);
    return tf.mul(tf.sub(x2, x1), tf.sub(y2, y1)) as tf.Tensor1D;
  });
}

/**
 * Clips boxes to an image of `[height, width]`: x to `[0, width]`, y to
 * `[0, height]` (torchvision `clip_boxes_to_image`, mmdet `clip_border`).
 *
 * @example
 * ```ts
 * clipBoxes(tf.tensor2d([[-3, 2, 20, 9]]), [8, 10]).arraySync(); // => [[0, 2, 10, 8]]
 * ```
 */
export function clipBoxes(boxes: tf.Tensor2D, size: [number, number]): tf.Tensor2D {
  assertBoxes(boxes, 'clipBoxes', 'boxes');
  const [h, w] = size;
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, 1);
    return tf.stack(
      [
        tf.clipByValue(x1, 0, w),
        tf.clipByValue(y1, 0, h),
        tf.clipByValue(x2, 0, w),
        tf.clipByValue(y2, 0, h),
      ],
      1,
    ) as tf.Tensor2D;
  });
}

/** Box layouts understood by {@link convertBoxes}. */
export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';

/**
 * Converts `[N, 4]` boxes between `xyxy` (corners), `xywh` (top-left corner,
 * size; COCO) and `cxcywh` (centre, size) as torchvision `box_convert` does.
 *
 * @example
 * ```ts
 * convertBoxes(tf.tensor2d([[1, 2, 5, 8]]), 'xyxy', 'cxcywh').arraySync(); // => [[3, 5, 4, 6]]
 * convertBoxes(tf.tensor2d([[1, 2, 4, 6]]), 'xywh', 'xyxy').arraySync();   // => [[1, 2, 5, 8]]
 * ```
 */
export function convertBoxes(boxes: tf.Tensor2D, from: BoxFormat, to: BoxFormat): tf.Tensor2D {
  assertBoxes(boxes, 'convertBoxes', 'boxes');
  const formats: BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
  for (const f of [from, to]) {
    if (!formats.includes(f))
      throw new Error(
        `convertBoxes: unknown format '${f}' (expected one of ${formats.join(', ')}).`,
      );
  }
  if (from === to) return tf.clone(boxes);
  return tf.tidy(() => {
    let [a, b, c, d] = tf.unstack(boxes, 1);
    // To xyxy first.
    if (from === 'xywh') [c, d] = [tf.add(a, c), tf.add(b, d)];
    else if (from === 'cxcywh') {
      const hw = tf.mul(c, 0.5);
      const hh = tf.mul(d, 0.5);
      [a, b, c, d] = [tf.sub(a, hw), tf.sub(b, hh), tf.add(a, hw), tf.add(b, hh)];
    }
    if (to === 'xywh') [c, d] = [tf.sub(c, a), tf.sub(d, b)];
    else if (to === 'cxcywh') {
      [a, b, c, d] = [
        tf.mul(tf.add(a, c), 0.5),
        tf.mul(tf.add(b, d), 0.5),
        tf.sub(c, a),
        tf.sub(d, b),
      ];
    }
    return tf.stack([a, b, c, d], 1) as tf.Tensor2D;
  });
}

/** `[x1, y1, x2, y2]` -> `[x, y, w, h]`. */
export const xyxyToXywh = (b: tf.Tensor2D): tf.Tensor2D => convertBoxes(b, 'xyxy', 'xywh');
/** `[x, y, w, h]` -> `[x1, y1, x2, y2]`. */
export const xywhToXyxy = (b: tf.Tensor2D): tf.Tensor2D => convertBoxes(b, 'xywh', 'xyxy');
/** `[x1, y1, x2, y2]` -> `[cx, cy, w, h]`. */
export const xyxyToCxcywh = (b: tf.Tensor2D): tf.Tensor2D => convertBoxes(b, 'xyxy', 'cxcywh');
/** `[cx, cy, w, h]` -> `[x1, y1, x2, y2]`. */
export const cxcywhToXyxy = (b: tf.Tensor2D): tf.Tensor2D => convertBoxes(b, 'cxcywh', 'xyxy');

/**
 * `[x1, y1, x2, y2]` -> tfjs' own `[y1, x1, y2, x2]`, for the boundary of a
 * tfjs call such as `tf.image.cropAndResize`. Its own inverse.
 *
 * @example
 * ```ts
 * xyxyToYxyx(tf.tensor2d([[1, 2, 3, 4]])).arraySync(); // => [[2, 1, 4, 3]]
 * ```
 */
export function xyxyToYxyx(boxes: tf.Tensor2D): tf.Tensor2D {
  assertBoxes(boxes, 'xyxyToYxyx', 'boxes');
  return tf.tidy(() => tf.gather(boxes, [1, 0, 3, 2], 1) as tf.Tensor2D);
}
