/**
 * IoU family. `boxIou` is a registered kernel (`TfdetBoxIou`) with a
 * typed-array implementation (cpu, wasm, tfjs-node), a WGSL and a GLSL
 * program; `alignedBoxIou` is a differentiable composition of tfjs ops for
 * the losses (IoU, GIoU, DIoU, CIoU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertBoxes, runKernel } from '../kernel_util.js';
import { BOX_IOU_KERNEL, IOU_MODES, type IouMode } from './host.js';
import './webgpu.js';
import './webgl.js';

export { BOX_IOU_KERNEL, IOU_MODES, boxIouHost, type IouMode } from './host.js';

/** Options of {@link boxIou}. */
export interface BoxIouOptions {
  /**
   * `'iou'` intersection over union (torchvision `box_iou`), `'iof'`
   * intersection over the area of the first box (mmdet), `'giou'`
   * generalized IoU (torchvision `generalized_box_iou`).
   */
  mode?: IouMode;
  /** Pairs `a[i]` with `b[i]` (both [N, 4]) and returns [N] instead of [N, M]. */
  aligned?: boolean;
  /**
   * Lower bound of the denominators (mmdet's `eps`, 1e-6 there). The default
   * 0 keeps torchvision's semantics: two coinciding zero-area boxes give NaN.
   */
  eps?: number;
}

/**
 * Pairwise IoU of boxes `a` [N, 4] and `b` [M, 4] -> [N, M] (or [N] with
 * `aligned`). Reference: torchvision `box_iou` / `generalized_box_iou` and
 * mmdet `bbox_overlaps` (`iof`): no +1 pixel offset, intersection clamped at 0,
 * union `area(a) + area(b) - inter`; with the default `eps = 0` disjoint
 * zero-area boxes give `0/0 = NaN` exactly as torchvision.
 *
 * @example
 * ```ts
 * boxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[1, 1, 3, 3], [0, 0, 2, 2]])).arraySync();
 * // => [[0.142857, 1]]
 * boxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[3, 3, 4, 4]]), { mode: 'giou' }).arraySync();
 * // => [[-0.6875]]   (0 - (16 - 5) / 16)
 * ```
 */
export function boxIou(a: tf.Tensor2D, b: tf.Tensor2D, options: BoxIouOptions = {}): tf.Tensor {
  const { mode = 'iou', aligned = false, eps = 0 } = options;
  assertBoxes(a, 'boxIou', 'a');
  assertBoxes(b, 'boxIou', 'b');
  if (!IOU_MODES.includes(mode))
    throw new Error(`boxIou: unknown mode '${mode}' (expected one of ${IOU_MODES.join(', ')}).`);
  if (aligned && a.shape[0] !== b.shape[0]) {
    throw new Error(
      `boxIou: aligned needs as many boxes in 'a' as in 'b', got ${a.shape[0]} and ${b.shape[0]}.`,
    );
  }
  return tf.tidy(() =>
    runKernel<tf.Tensor>(
      BOX_IOU_KERNEL,
      { a: tf.cast(a, 'float32'), b: tf.cast(b, 'float32') },
      { mode, aligned, eps },
    ),
  );
}

/** Identity whose gradient is zero (tfjs-core has no `stopGradient`). */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as any);

/** Modes of {@link alignedBoxIou}. */
export type AlignedIouMode = 'iou' | 'giou' | 'diou' | 'ciou';

/**
 * Differentiable IoU of aligned pairs `pred[i]`, `target[i]` ([N, 4] each),
 * built from tfjs ops for the IoU-family losses. `'diou'` subtracts the
 * squared centre distance over the squared enclosing diagonal; `'ciou'` also
 * the aspect-ratio term `alpha * v` (Zheng et al. 2020, mmdet `ciou_loss`,
 * alpha treated as a constant like mmdet's `torch.no_grad`). Denominators are
 * clamped at `eps` (default 1e-6 as mmdet).
 *
 * @example
 * ```ts
 * alignedBoxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[1, 1, 3, 3]]), 'diou').arraySync();
 * // => [0.031746]   (1/7 - 2/18)
 * ```
 */
export function alignedBoxIou(
  pred: tf.Tensor2D,
  target: tf.Tensor2D,
  mode: AlignedIouMode = 'iou',
  eps = 1e-6,
): tf.Tensor1D {
  assertBoxes(pred, 'alignedBoxIou', 'pred');
  assertBoxes(target, 'alignedBoxIou', 'target');
  if (pred.shape[0] !== target.shape[0]) {
    throw new Error(
      `alignedBoxIou: 'pred' has ${pred.shape[0]} boxes and 'target' ${target.shape[0]}.`,
    );
  }
  return tf.tidy(() => {
    const [px1, py1, px2, py2] = tf.unstack(pred, 1);
    const [tx1, ty1, tx2, ty2] = tf.unstack(target, 1);
    const pw = tf.sub(px2, px1),
      ph = tf.sub(py2, py1);
    const tw = tf.sub(tx2, tx1),
      th = tf.sub(ty2, ty1);
    const iw = tf.relu(tf.sub(tf.minimum(px2, tx2), tf.maximum(px1, tx1)));
    const ih = tf.relu(tf.sub(tf.minimum(py2, ty2), tf.maximum(py1, ty1)));
    const inter = tf.mul(iw, ih);
    const union = tf.maximum(tf.sub(tf.add(tf.mul(pw, ph), tf.mul(tw, th)), inter), eps);
    const iou = tf.div(inter, union);
    if (mode === 'iou') return iou as tf.Tensor1D;
    const ew = tf.relu(tf.sub(tf.maximum(px2, tx2), tf.minimum(px1, tx1)));
    const eh = tf.relu(tf.sub(tf.maximum(py2, ty2), tf.minimum(py1, ty1)));
    if (mode === 'giou') {
      const encl = tf.maximum(tf.mul(ew, eh), eps);
      return tf.sub(iou, tf.div(tf.sub(encl, union), encl)) as tf.Tensor1D;
    }
    const c2 = tf.add(tf.add(tf.square(ew), tf.square(eh)), eps);
    const dx = tf.sub(tf.add(tx1, tx2), tf.add(px1, px2));
    const dy = tf.sub(tf.add(ty1, ty2), tf.add(py1, py2));
    const rho2 = tf.div(tf.add(tf.square(dx), tf.square(dy)), 4);
    const diou = tf.sub(iou, tf.div(rho2, c2));
    if (mode === 'diou') return diou as tf.Tensor1D;
    if (mode !== 'ciou')
      throw new Error(
        `alignedBoxIou: unknown mode '${String(mode)}' (expected iou, giou, diou or ciou).`,
      );
    const factor = 4 / Math.PI ** 2;
    const v = tf.mul(
      factor,
      tf.square(tf.sub(tf.atan(tf.div(tw, tf.add(th, eps))), tf.atan(tf.div(pw, tf.add(ph, eps))))),
    );
    const alpha = stopGradient(tf.div(v, tf.add(tf.sub(tf.add(v, 1), iou), eps)));
    return tf.sub(diou, tf.mul(alpha, v)) as tf.Tensor1D;
  });
}
