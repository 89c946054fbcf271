/**
 * IoU family. `boxIou` is a registered kernel (`TfdetBoxIou`) with a
 * typed-array implementation (cpu, wasm, tfjs-node), a WGSL and a GLSL
 * program; `alignedBoxIou` is a differentiable composition of tfjs ops for
 * the losses (IoU, GIoU, DIoU, CIoU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertBoxes, registerHostKernel, runKernel, type HostOutput } from '../kernel_util.js';

export const BOX_IOU_KERNEL = 'TfdetBoxIou';

/** IoU variants of {@link boxIou}. */
export type IouMode = 'iou' | 'iof' | 'giou';
export const IOU_MODES: IouMode[] = ['iou', 'iof', 'giou'];

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
 * Typed-array IoU of `a` [N, 4] against `b` [M, 4] (or aligned pairs).
 * Shared by the cpu/wasm kernel and by host code that already holds arrays.
 */
export function boxIouHost(
  a: Float32Array,
  b: Float32Array,
  mode: IouMode = 'iou',
  aligned = false,
  eps = 0,
  into?: Float32Array,
): Float32Array {
  const n = a.length >> 2;
  const m = b.length >> 2;
  const modeId = IOU_MODES.indexOf(mode);
  const areaB = new Float64Array(m);
  for (let j = 0; j < m; j++) areaB[j] = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
  const out = into ?? new Float32Array(aligned ? n : n * m);
  const one = (i: number, j: number): number => {
    const ax1 = a[4 * i],
      ay1 = a[4 * i + 1],
      ax2 = a[4 * i + 2],
      ay2 = a[4 * i + 3];
    const bx1 = b[4 * j],
      by1 = b[4 * j + 1],
      bx2 = b[4 * j + 2],
      by2 = b[4 * j + 3];
    const areaA = (ax2 - ax1) * (ay2 - ay1);
    const w = Math.min(ax2, bx2) - Math.max(ax1, bx1);
    const h = Math.min(ay2, by2) - Math.max(ay1, by1);
    const inter = (w > 0 ? w : 0) * (h > 0 ? h : 0);
    if (modeId === 1) return inter / Math.max(areaA, eps);
    const rawUnion = areaA + areaB[j] - inter;
    const union = eps > 0 ? Math.max(rawUnion, eps) : rawUnion;
    const iou = inter / union;
    if (modeId === 0) return iou;
    const ew = Math.max(ax2, bx2) - Math.min(ax1, bx1);
    const eh = Math.max(ay2, by2) - Math.min(ay1, by1);
    const encl = (ew > 0 ? ew : 0) * (eh > 0 ? eh : 0);
    const e = eps > 0 ? Math.max(encl, eps) : encl;
    return iou - (e - union) / e;
  };
  if (aligned) {
    for (let i = 0; i < n; i++) out[i] = one(i, i);
    return out;
  }
  if (modeId === 0) {
    // Hot path (assigners call this on every image): two rows of `a` per pass
    // over `b`, so each box of `b` is loaded once per pair of rows.
    const pair = (
      ax1: number,
      ay1: number,
      ax2: number,
      ay2: number,
      areaA: number,
      j4: number,
      bj: number,
    ): number => {
      const w = (ax2 < b[j4 + 2] ? ax2 : b[j4 + 2]) - (ax1 > b[j4] ? ax1 : b[j4]);
      if (w > 0) {
        const h = (ay2 < b[j4 + 3] ? ay2 : b[j4 + 3]) - (ay1 > b[j4 + 1] ? ay1 : b[j4 + 1]);
        if (h > 0) {
          const inter = w * h;
          const u = areaA + bj - inter;
          return inter / (eps > 0 && u < eps ? eps : u);
        }
      }
      // Disjoint: 0 / union without the division where the union is positive
      // (most pairs); 0/0 stays NaN as in torchvision.
      const u = areaA + bj;
      return u > 0 || eps > 0 ? 0 : 0 / u;
    };
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const p = 4 * i;
      const ax1 = a[p],
        ay1 = a[p + 1],
        ax2 = a[p + 2],
        ay2 = a[p + 3];
      const cx1 = a[p + 4],
        cy1 = a[p + 5],
        cx2 = a[p + 6],
        cy2 = a[p + 7];
      const areaA = (ax2 - ax1) * (ay2 - ay1);
      const areaC = (cx2 - cx1) * (cy2 - cy1);
      const row = i * m;
      for (let j = 0; j < m; j++) {
        const bj = areaB[j];
        out[row + j] = pair(ax1, ay1, ax2, ay2, areaA, 4 * j, bj);
        out[row + m + j] = pair(cx1, cy1, cx2, cy2, areaC, 4 * j, bj);
      }
    }
    for (; i < n; i++) {
      const p = 4 * i;
      const areaA = (a[p + 2] - a[p]) * (a[p + 3] - a[p + 1]);
      for (let j = 0; j < m; j++)
        out[i * m + j] = pair(a[p], a[p + 1], a[p + 2], a[p + 3], areaA, 4 * j, areaB[j]);
    }
    return out;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = one(i, j);
  return out;
}

const iouShape = (shapes: number[][], aligned: boolean): number[] =>
  aligned ? [shapes[0][0]] : [shapes[0][0], shapes[1][0]];

registerHostKernel(
  BOX_IOU_KERNEL,
  ['a', 'b'],
  (inputs, shapes, attrs, out): HostOutput[] => {
    const aligned = Boolean(attrs.aligned);
    const values = boxIouHost(
      inputs[0] as Float32Array,
      inputs[1] as Float32Array,
      attrs.mode as IouMode,
      aligned,
      Number(attrs.eps ?? 0),
      out?.[0] as Float32Array | undefined,
    );
    return [{ shape: iouShape(shapes, aligned), dtype: 'float32', values }];
  },
  [],
  (shapes, attrs) => [{ shape: iouShape(shapes, Boolean(attrs.aligned)), dtype: 'float32' }],
);

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
 * // [[0.142857, 1]]
 * boxIou(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[3, 3, 4, 4]]), { mode: 'giou' }).arraySync();
 * // [[-0.6875]]   (0 - (16 - 5) / 16)
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
})) as any) as unknown as (x: tf.Tensor) => tf.Tensor;

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
 * // [0.031746]   (1/7 - 2/18)
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
