/**
 * YOLOv3 box coder (mmdet `YOLOBBoxCoder`, Redmon & Farhadi 2018). The
 * centre target is the gt centre's offset from the prior's cell corner in
 * strides, `(gx - px) / stride + 0.5` clamped to `[eps, 1 - eps]` (the head
 * predicts it through a sigmoid); the size target is `log(gw / pw)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TASK_UTILS } from '../../registry.js';

/** Options of {@link YOLOBBoxCoder}. */
export interface YOLOBBoxCoderConfig {
  /** Clamp of the centre targets and of the size ratios (mmdet default 1e-6). */
  eps?: number;
}

/** A stride per row: one number for all rows, or `[N]` values. */
export type Strides = number | ArrayLike<number> | tf.Tensor;

function checkRows(
  op: string,
  a: { length: number } | tf.Tensor,
  b: { length: number } | tf.Tensor,
  an: string,
  bn: string,
): void {
  const rows = (x: { length: number } | tf.Tensor): number =>
    x instanceof tf.Tensor
      ? x.rank === 2 && x.shape[1] === 4
        ? x.shape[0]
        : -1
      : x.length % 4 === 0
        ? x.length / 4
        : -1;
  const ra = rows(a);
  const rb = rows(b);
  if (ra < 0)
    throw new Error(
      `${op}: '${an}' must be [N, 4], got ${a instanceof tf.Tensor ? `shape [${a.shape.join(', ')}]` : `${a.length} values`}.`,
    );
  if (rb < 0)
    throw new Error(
      `${op}: '${bn}' must be [N, 4], got ${b instanceof tf.Tensor ? `shape [${b.shape.join(', ')}]` : `${b.length} values`}.`,
    );
  if (ra !== rb) throw new Error(`${op}: '${an}' has ${ra} rows but '${bn}' has ${rb}.`);
}

function strideAt(stride: number | ArrayLike<number>, i: number): number {
  return typeof stride === 'number' ? stride : stride[i];
}

/** Centres `[N, 2]` and sizes `[N, 2]` of `[N, 4]` boxes `x1, y1, x2, y2`. */
function centreSize(boxes: tf.Tensor2D): [tf.Tensor, tf.Tensor] {
  const lo = tf.slice(boxes, [0, 0], [-1, 2]);
  const hi = tf.slice(boxes, [0, 2], [-1, 2]);
  return [tf.mul(tf.add(lo, hi), 0.5), tf.sub(hi, lo)];
}

/**
 * @example
 * ```ts
 * const coder = new YOLOBBoxCoder();
 * // prior 32x32 centred at (16, 16), stride 32; gt 64x16 centred at (24, 8)
 * coder.encodeHost(Float32Array.of(0, 0, 32, 32), Float32Array.of(-8, 0, 56, 16), 32);
 * // => Float32Array [0.75, 0.25, 0.6931472, -0.6931472]
 * coder.decodeHost(Float32Array.of(0, 0, 32, 32), Float32Array.of(0.75, 0.25, Math.log(2), Math.log(0.5)), 32);
 * // => Float32Array [-8, 0, 56, 16]
 * ```
 */
export class YOLOBBoxCoder {
  readonly eps: number;
  readonly encodeSize = 4;

  constructor(cfg: YOLOBBoxCoderConfig = {}) {
    this.eps = cfg.eps ?? 1e-6;
    if (!(this.eps > 0 && this.eps < 0.5))
      throw new Error(`YOLOBBoxCoder: 'eps' must be in (0, 0.5), got ${JSON.stringify(cfg.eps)}.`);
  }

  /**
   * Targets `[x, y, log w, log h]` (typed arrays, `n*4`) of `gtBboxes` w.r.t.
   * `bboxes` (priors) with `stride` per row.
   */
  encodeHost(
    bboxes: Float32Array,
    gtBboxes: Float32Array,
    stride: number | ArrayLike<number>,
  ): Float32Array {
    checkRows('YOLOBBoxCoder.encode', bboxes, gtBboxes, 'bboxes', 'gtBboxes');
    const n = bboxes.length >> 2;
    const out = new Float32Array(4 * n);
    const e = this.eps;
    for (let i = 0; i < n; i++) {
      const [p0, p1, p2, p3] = [
        bboxes[4 * i],
        bboxes[4 * i + 1],
        bboxes[4 * i + 2],
        bboxes[4 * i + 3],
      ];
      const [g0, g1, g2, g3] = [
        gtBboxes[4 * i],
        gtBboxes[4 * i + 1],
        gtBboxes[4 * i + 2],
        gtBboxes[4 * i + 3],
      ];
      const s = strideAt(stride, i);
      out[4 * i] = Math.min(Math.max(((g0 + g2) * 0.5 - (p0 + p2) * 0.5) / s + 0.5, e), 1 - e);
      out[4 * i + 1] = Math.min(Math.max(((g1 + g3) * 0.5 - (p1 + p3) * 0.5) / s + 0.5, e), 1 - e);
      out[4 * i + 2] = Math.log(Math.max((g2 - g0) / (p2 - p0), e));
      out[4 * i + 3] = Math.log(Math.max((g3 - g1) / (p3 - p1), e));
    }
    return out;
  }

  /**
   * Boxes (`n*4`) from `pred` `[x, y, log w, log h]` where x, y are already
   * through the sigmoid (offsets in `[0, 1]` of a cell): centre
   * `prior centre + (x - 0.5) * stride`, size `prior size * exp(log w)`.
   */
  decodeHost(
    bboxes: Float32Array,
    pred: Float32Array,
    stride: number | ArrayLike<number>,
  ): Float32Array {
    checkRows('YOLOBBoxCoder.decode', bboxes, pred, 'bboxes', 'pred');
    const n = bboxes.length >> 2;
    const out = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const s = strideAt(stride, i);
      const cx = (bboxes[4 * i] + bboxes[4 * i + 2]) * 0.5 + (pred[4 * i] - 0.5) * s;
      const cy = (bboxes[4 * i + 1] + bboxes[4 * i + 3]) * 0.5 + (pred[4 * i + 1] - 0.5) * s;
      const hw = (bboxes[4 * i + 2] - bboxes[4 * i]) * 0.5 * Math.exp(pred[4 * i + 2]);
      const hh = (bboxes[4 * i + 3] - bboxes[4 * i + 1]) * 0.5 * Math.exp(pred[4 * i + 3]);
      out.set([cx - hw, cy - hh, cx + hw, cy + hh], 4 * i);
    }
    return out;
  }

  /** {@link encodeHost} on tensors: `[N, 4]` priors and gts, stride a number or `[N]`. */
  encode(bboxes: tf.Tensor2D, gtBboxes: tf.Tensor2D, stride: Strides): tf.Tensor2D {
    checkRows('YOLOBBoxCoder.encode', bboxes, gtBboxes, 'bboxes', 'gtBboxes');
    return tf.tidy(() => {
      const s = this.strideColumn(stride, bboxes.shape[0]);
      const [pxy, pwh] = centreSize(bboxes);
      const [gxy, gwh] = centreSize(gtBboxes);
      const xy = tf.clipByValue(tf.add(tf.div(tf.sub(gxy, pxy), s), 0.5), this.eps, 1 - this.eps);
      const wh = tf.log(tf.maximum(tf.div(gwh, pwh), this.eps));
      return tf.concat([xy, wh], 1) as tf.Tensor2D;
    });
  }

  /** {@link decodeHost} on tensors (differentiable in `pred`). */
  decode(bboxes: tf.Tensor2D, pred: tf.Tensor2D, stride: Strides): tf.Tensor2D {
    checkRows('YOLOBBoxCoder.decode', bboxes, pred, 'bboxes', 'pred');
    return tf.tidy(() => {
      const s = this.strideColumn(stride, bboxes.shape[0]);
      const [pxy, pwh] = centreSize(bboxes);
      const xy = tf.add(pxy, tf.mul(tf.sub(tf.slice(pred, [0, 0], [-1, 2]), 0.5), s));
      const half = tf.mul(tf.mul(pwh, 0.5), tf.exp(tf.slice(pred, [0, 2], [-1, 2])));
      return tf.concat([tf.sub(xy, half), tf.add(xy, half)], 1) as tf.Tensor2D;
    });
  }

  private strideColumn(stride: Strides, n: number): tf.Tensor | number {
    if (typeof stride === 'number') return stride;
    const t = stride instanceof tf.Tensor ? stride : tf.tensor1d(Float32Array.from(stride));
    if (t.size !== n)
      throw new Error(
        `YOLOBBoxCoder: 'stride' must be a number or ${n} values (one per row), got ${t.size}.`,
      );
    return tf.reshape(t, [n, 1]);
  }
}

TASK_UTILS.register(YOLOBBoxCoder, { name: 'YOLOBBoxCoder' });
