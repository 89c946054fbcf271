/**
 * Box coders (mmdetection `task_modules/coders`): encode ground-truth boxes
 * as regression targets relative to priors and decode predictions back.
 * Built from tfjs ops, so decoding is differentiable (IoU losses on decoded
 * boxes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TASK_UTILS } from '../../registry.js';

type Vec4 = [number, number, number, number];

function checkPair(op: string, a: tf.Tensor, b: tf.Tensor, an: string, bn: string): void {
  if (a.shape[a.rank - 1] !== 4)
    throw new Error(`${op}: '${an}' must end in 4 coordinates, got shape [${a.shape.join(', ')}].`);
  if (a.shape[0] !== b.shape[0])
    throw new Error(`${op}: '${an}' has ${a.shape[0]} rows but '${bn}' has ${b.shape[0]}.`);
}

const cols = (t: tf.Tensor): tf.Tensor[] => tf.unstack(t, t.rank - 1);

/** Options of {@link DeltaXYWHBBoxCoder}. */
export interface DeltaXYWHBBoxCoderConfig {
  targetMeans?: Vec4;
  targetStds?: Vec4;
  /** Clip decoded boxes to `maxShape` (default true). */
  clipBorder?: boolean;
  /** Clamp the centre shift to +-`ctrClamp` pixels instead of clamping dw/dh both ways (YOLOF; default false). */
  addCtrClamp?: boolean;
  ctrClamp?: number;
  /** Largest |log| width/height ratio is `|log(whRatioClip)|` (default 16/1000). */
  whRatioClip?: number;
  /**
   * Clamp dw, dh from below too (default true, as mmdetection); false clamps
   * them from above only, as torchvision's `BoxCoder` does.
   */
  clampBelow?: boolean;
}

/**
 * Faster R-CNN delta coder (mmdet `DeltaXYWHBBoxCoder`): targets
 * `((gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph))`
 * normalised by `targetMeans` / `targetStds`. Decoding clamps dw, dh to
 * `|log(whRatioClip)|` (from above only with `clampBelow: false`; with
 * `addCtrClamp`, the centre shift to `ctrClamp` and dw, dh from above only)
 * and clips to `maxShape` [h, w].
 *
 * @example
 * ```ts
 * const coder = new DeltaXYWHBBoxCoder({ targetStds: [0.1, 0.1, 0.2, 0.2] });
 * coder.encode(tf.tensor2d([[0, 0, 10, 10]]), tf.tensor2d([[1, 1, 11, 11]])).arraySync(); // => [[1, 1, 0, 0]]
 * coder.decode(tf.tensor2d([[0, 0, 10, 10]]), tf.tensor2d([[1, 1, 0, 0]])).arraySync();   // => [[1, 1, 11, 11]]
 * ```
 */
export class DeltaXYWHBBoxCoder {
  readonly targetMeans: Vec4;
  readonly targetStds: Vec4;
  readonly clipBorder: boolean;
  readonly addCtrClamp: boolean;
  readonly ctrClamp: number;
  readonly whRatioClip: number;
  readonly clampBelow: boolean;
  readonly encodeSize = 4;

  constructor(cfg: DeltaXYWHBBoxCoderConfig = {}) {
    this.targetMeans = cfg.targetMeans ?? [0, 0, 0, 0];
    this.targetStds = cfg.targetStds ?? [1, 1, 1, 1];
    this.clipBorder = cfg.clipBorder ?? true;
    this.addCtrClamp = cfg.addCtrClamp ?? false;
    this.ctrClamp = cfg.ctrClamp ?? 32;
    this.whRatioClip = cfg.whRatioClip ?? 16 / 1000;
    this.clampBelow = cfg.clampBelow ?? true;
    for (const [k, v] of [
      ['targetMeans', this.targetMeans],
      ['targetStds', this.targetStds],
    ] as const) {
      if (!Array.isArray(v) || v.length !== 4)
        throw new Error(
          `DeltaXYWHBBoxCoder: '${k}' must have 4 numbers, got ${JSON.stringify(v)}.`,
        );
    }
  }

  /** Regression targets [N, 4] of `gtBboxes` w.r.t. `bboxes` (priors). */
  encode(bboxes: tf.Tensor2D, gtBboxes: tf.Tensor2D): tf.Tensor2D {
    checkPair('DeltaXYWHBBoxCoder.encode', bboxes, gtBboxes, 'bboxes', 'gtBboxes');
    return tf.tidy(() => {
      const [p0, p1, p2, p3] = cols(bboxes);
      const [g0, g1, g2, g3] = cols(gtBboxes);
      const px = tf.mul(tf.add(p0, p2), 0.5),
        py = tf.mul(tf.add(p1, p3), 0.5);
      const pw = tf.sub(p2, p0),
        ph = tf.sub(p3, p1);
      const gx = tf.mul(tf.add(g0, g2), 0.5),
        gy = tf.mul(tf.add(g1, g3), 0.5);
      const gw = tf.sub(g2, g0),
        gh = tf.sub(g3, g1);
      const d = tf.stack(
        [
          tf.div(tf.sub(gx, px), pw),
          tf.div(tf.sub(gy, py), ph),
          tf.log(tf.div(gw, pw)),
          tf.log(tf.div(gh, ph)),
        ],
        -1,
      );
      return tf.div(tf.sub(d, this.targetMeans), this.targetStds) as tf.Tensor2D;
    });
  }

  /**
   * Boxes [N, 4] from `pred` deltas [N, 4] (or [N, 4k] for k classes ->
   * [N, 4k]) applied to `bboxes` [N, 4]; clipped to `maxShape` [h, w] when
   * `clipBorder`.
   */
  decode(bboxes: tf.Tensor2D, pred: tf.Tensor2D, maxShape?: [number, number]): tf.Tensor2D {
    if (pred.shape[0] !== bboxes.shape[0] || pred.shape[1] % 4 !== 0) {
      throw new Error(
        `DeltaXYWHBBoxCoder.decode: 'pred' must be [${bboxes.shape[0]}, 4k], got [${pred.shape.join(', ')}].`,
      );
    }
    return tf.tidy(() => {
      const n = pred.shape[0];
      const k = pred.shape[1] / 4;
      const deltas = tf.add(tf.mul(tf.reshape(pred, [-1, 4]), this.targetStds), this.targetMeans);
      const rois = tf.reshape(tf.tile(bboxes, [1, k]), [-1, 4]);
      const dxy = tf.slice(deltas, [0, 0], [-1, 2]);
      let dwh = tf.slice(deltas, [0, 2], [-1, 2]);
      const pxy = tf.mul(
        tf.add(tf.slice(rois, [0, 0], [-1, 2]), tf.slice(rois, [0, 2], [-1, 2])),
        0.5,
      );
      const pwh = tf.sub(tf.slice(rois, [0, 2], [-1, 2]), tf.slice(rois, [0, 0], [-1, 2]));
      let dxyWh = tf.mul(pwh, dxy);
      const maxRatio = Math.abs(Math.log(this.whRatioClip));
      if (this.addCtrClamp) {
        dxyWh = tf.clipByValue(dxyWh, -this.ctrClamp, this.ctrClamp);
        dwh = tf.minimum(dwh, maxRatio);
      } else if (!this.clampBelow) dwh = tf.minimum(dwh, maxRatio);
      else dwh = tf.clipByValue(dwh, -maxRatio, maxRatio);
      const gxy = tf.add(pxy, dxyWh);
      const half = tf.mul(tf.mul(pwh, tf.exp(dwh)), 0.5);
      let out = tf.concat([tf.sub(gxy, half), tf.add(gxy, half)], -1);
      if (this.clipBorder && maxShape) {
        const [h, w] = maxShape;
        const [x1, y1, x2, y2] = cols(out);
        out = tf.stack(
          [
            tf.clipByValue(x1, 0, w),
            tf.clipByValue(y1, 0, h),
            tf.clipByValue(x2, 0, w),
            tf.clipByValue(y2, 0, h),
          ],
          -1,
        );
      }
      return tf.reshape(out, [n, 4 * k]) as tf.Tensor2D;
    });
  }
}

/** Options of {@link DistancePointBBoxCoder}. */
export interface DistancePointBBoxCoderConfig {
  clipBorder?: boolean;
}

/**
 * FCOS coder (mmdet `DistancePointBBoxCoder`): a box is the distances
 * (left, top, right, bottom) from a point [N, 2] to its sides. `encode`
 * clamps them to `[0, maxDis - eps]` when `maxDis` is given.
 *
 * @example
 * ```ts
 * const coder = new DistancePointBBoxCoder();
 * coder.encode(tf.tensor2d([[5, 5]]), tf.tensor2d([[1, 2, 8, 9]])).arraySync(); // => [[4, 3, 3, 4]]
 * coder.decode(tf.tensor2d([[5, 5]]), tf.tensor2d([[4, 3, 3, 4]])).arraySync(); // => [[1, 2, 8, 9]]
 * ```
 */
export class DistancePointBBoxCoder {
  readonly clipBorder: boolean;
  readonly encodeSize = 4;

  constructor(cfg: DistancePointBBoxCoderConfig = {}) {
    this.clipBorder = cfg.clipBorder ?? true;
  }

  encode(points: tf.Tensor2D, gtBboxes: tf.Tensor2D, maxDis?: number, eps = 0.1): tf.Tensor2D {
    if (points.rank !== 2 || points.shape[1] < 2)
      throw new Error(
        `DistancePointBBoxCoder.encode: 'points' must be [N, 2], got [${points.shape.join(', ')}].`,
      );
    checkPair('DistancePointBBoxCoder.encode', gtBboxes, points, 'gtBboxes', 'points');
    return tf.tidy(() => {
      const [x, y] = cols(tf.slice(points, [0, 0], [-1, 2]));
      const [x1, y1, x2, y2] = cols(gtBboxes);
      let d = tf.stack([tf.sub(x, x1), tf.sub(y, y1), tf.sub(x2, x), tf.sub(y2, y)], -1);
      if (maxDis !== undefined) d = tf.clipByValue(d, 0, maxDis - eps);
      return d as tf.Tensor2D;
    });
  }

  decode(points: tf.Tensor2D, pred: tf.Tensor2D, maxShape?: [number, number]): tf.Tensor2D {
    checkPair('DistancePointBBoxCoder.decode', pred, points, 'pred', 'points');
    return tf.tidy(() => {
      const [x, y] = cols(tf.slice(points, [0, 0], [-1, 2]));
      const [l, t, r, b] = cols(pred);
      let x1 = tf.sub(x, l),
        y1 = tf.sub(y, t),
        x2 = tf.add(x, r),
        y2 = tf.add(y, b);
      if (this.clipBorder && maxShape) {
        const [h, w] = maxShape;
        [x1, y1, x2, y2] = [
          tf.clipByValue(x1, 0, w),
          tf.clipByValue(y1, 0, h),
          tf.clipByValue(x2, 0, w),
          tf.clipByValue(y2, 0, h),
        ];
      }
      return tf.stack([x1, y1, x2, y2], -1) as tf.Tensor2D;
    });
  }
}

/** Options of {@link SSDVarianceBBoxCoder}. */
export interface SSDVarianceBBoxCoderConfig {
  /** `[centre variance, size variance]` (original SSD: [0.1, 0.2]). */
  variances?: [number, number];
  clipBorder?: boolean;
}

/**
 * The original SSD coder (Liu et al. 2016, Caffe `bbox_util`): targets
 * `((gcx - pcx) / (pw * v0), (gcy - pcy) / (ph * v0), log(gw / pw) / v1,
 * log(gh / ph) / v1)`. Equals `DeltaXYWHBBoxCoder` with stds
 * `[v0, v0, v1, v1]` minus its ratio clamp.
 *
 * @example
 * ```ts
 * const coder = new SSDVarianceBBoxCoder();
 * coder.encode(tf.tensor2d([[0, 0, 10, 10]]), tf.tensor2d([[1, 1, 11, 11]])).arraySync(); // => [[1, 1, 0, 0]]
 * ```
 */
export class SSDVarianceBBoxCoder {
  readonly variances: [number, number];
  readonly clipBorder: boolean;
  readonly encodeSize = 4;

  constructor(cfg: SSDVarianceBBoxCoderConfig = {}) {
    this.variances = cfg.variances ?? [0.1, 0.2];
    this.clipBorder = cfg.clipBorder ?? false;
  }

  encode(priors: tf.Tensor2D, gtBboxes: tf.Tensor2D): tf.Tensor2D {
    checkPair('SSDVarianceBBoxCoder.encode', priors, gtBboxes, 'priors', 'gtBboxes');
    const [v0, v1] = this.variances;
    return tf.tidy(() => {
      const [p0, p1, p2, p3] = cols(priors);
      const [g0, g1, g2, g3] = cols(gtBboxes);
      const pw = tf.sub(p2, p0),
        ph = tf.sub(p3, p1);
      const dx = tf.div(tf.sub(tf.add(g0, g2), tf.add(p0, p2)), tf.mul(pw, 2 * v0));
      const dy = tf.div(tf.sub(tf.add(g1, g3), tf.add(p1, p3)), tf.mul(ph, 2 * v0));
      const dw = tf.div(tf.log(tf.div(tf.sub(g2, g0), pw)), v1);
      const dh = tf.div(tf.log(tf.div(tf.sub(g3, g1), ph)), v1);
      return tf.stack([dx, dy, dw, dh], -1) as tf.Tensor2D;
    });
  }

  decode(priors: tf.Tensor2D, pred: tf.Tensor2D, maxShape?: [number, number]): tf.Tensor2D {
    checkPair('SSDVarianceBBoxCoder.decode', priors, pred, 'priors', 'pred');
    const [v0, v1] = this.variances;
    return tf.tidy(() => {
      const [p0, p1, p2, p3] = cols(priors);
      const [dx, dy, dw, dh] = cols(pred);
      const pw = tf.sub(p2, p0),
        ph = tf.sub(p3, p1);
      const cx = tf.add(tf.mul(tf.add(p0, p2), 0.5), tf.mul(tf.mul(dx, v0), pw));
      const cy = tf.add(tf.mul(tf.add(p1, p3), 0.5), tf.mul(tf.mul(dy, v0), ph));
      const hw = tf.mul(tf.mul(pw, tf.exp(tf.mul(dw, v1))), 0.5);
      const hh = tf.mul(tf.mul(ph, tf.exp(tf.mul(dh, v1))), 0.5);
      let out = [tf.sub(cx, hw), tf.sub(cy, hh), tf.add(cx, hw), tf.add(cy, hh)];
      if (this.clipBorder && maxShape) {
        const [h, w] = maxShape;
        out = out.map((t, i) => tf.clipByValue(t, 0, i % 2 ? h : w));
      }
      return tf.stack(out, -1) as tf.Tensor2D;
    });
  }
}

TASK_UTILS.register(DeltaXYWHBBoxCoder, { name: 'DeltaXYWHBBoxCoder' });
TASK_UTILS.register(DistancePointBBoxCoder, { name: 'DistancePointBBoxCoder' });
TASK_UTILS.register(SSDVarianceBBoxCoder, { name: 'SSDVarianceBBoxCoder' });
