/** Pooling layers with torch's output sizes and padding rules on NHWC tensors. */
import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { pair, type Pair } from './pair.js';

/**
 * Max pooling (torch.nn.MaxPool2d). Padding counts as -inf; `ceilMode`
 * rounds the output size up, dropping a last window that would start in the
 * right padding, as torch does.
 */
export class MaxPool2d extends Module {
  constructor(
    readonly options: { kernelSize: Pair; stride?: Pair; padding?: Pair; ceilMode?: boolean },
  ) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const k = pair(this.options.kernelSize);
    const s = pair(this.options.stride ?? this.options.kernelSize);
    const p = pair(this.options.padding ?? 0);
    return pool('max', x, k, s, p, this.options.ceilMode ?? false, false);
  }
}

/** Average pooling (torch.nn.AvgPool2d, `countIncludePad` true by default as torch). */
export class AvgPool2d extends Module {
  constructor(
    readonly options: {
      kernelSize: Pair;
      stride?: Pair;
      padding?: Pair;
      ceilMode?: boolean;
      countIncludePad?: boolean;
    },
  ) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const k = pair(this.options.kernelSize);
    const s = pair(this.options.stride ?? this.options.kernelSize);
    const p = pair(this.options.padding ?? 0);
    return pool(
      'avg',
      x,
      k,
      s,
      p,
      this.options.ceilMode ?? false,
      this.options.countIncludePad ?? true,
    );
  }
}

/** torch's pooled size: floor or ceil, minus a last window starting inside the right padding. */
function pooledSize(len: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = Math.floor((len + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= len + p) out -= 1;
  return out;
}

function pool(
  kind: 'max' | 'avg',
  x: tf.Tensor4D,
  k: [number, number],
  s: [number, number],
  p: [number, number],
  ceil: boolean,
  countIncludePad: boolean,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  const oh = pooledSize(h, k[0], s[0], p[0], ceil);
  const ow = pooledSize(w, k[1], s[1], p[1], ceil);
  // Pad explicitly (-inf for max, 0 for avg) so that every window is whole, then pool 'valid'.
  const bottom = Math.max((oh - 1) * s[0] + k[0] - h - p[0], 0);
  const right = Math.max((ow - 1) * s[1] + k[1] - w - p[1], 0);
  if (kind === 'max') {
    // Floor mode with one padding for both axes is tfjs' own numeric padding (excluded from the max).
    if (!ceil && p[0] === p[1]) return tf.maxPool(x, k, s, p[0]);
    const padded =
      p[0] || p[1] || bottom || right
        ? tf.pad(
            x,
            [
              [0, 0],
              [p[0], bottom],
              [p[1], right],
              [0, 0],
            ],
            -3.4e38,
          )
        : x;
    return tf.maxPool(padded, k, s, 'valid');
  }
  if (!p[0] && !p[1] && !bottom && !right) return tf.avgPool(x, k, s, 'valid');
  const padded = tf.pad(
    x,
    [
      [0, 0],
      [p[0], bottom],
      [p[1], right],
      [0, 0],
    ],
    0,
  );
  const sum = tf.mul(tf.avgPool(padded, k, s, 'valid'), k[0] * k[1]);
  // Divisor per window: its cells inside the input extended by the padding
  // (countIncludePad, torch's default) or inside the input alone.
  const ph = h + p[0] + bottom;
  const pw = w + p[1] + right;
  const mask = new Float32Array(ph * pw);
  const [r0, r1] = countIncludePad ? [0, h + 2 * p[0]] : [p[0], p[0] + h];
  const [c0, c1] = countIncludePad ? [0, w + 2 * p[1]] : [p[1], p[1] + w];
  for (let r = r0; r < Math.min(r1, ph); r++) mask.fill(1, r * pw + c0, r * pw + Math.min(c1, pw));
  const count = tf.mul(tf.avgPool(tf.tensor4d(mask, [1, ph, pw, 1]), k, s, 'valid'), k[0] * k[1]);
  return tf.div(sum, count) as tf.Tensor4D;
}

/** Adaptive average pooling (torch.nn.AdaptiveAvgPool2d) with torch's bin edges. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair = 1) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return adaptiveAvgPool2d(x, pair(this.outputSize));
  }
}

/** Bins `[floor(i*H/out), ceil((i+1)*H/out))` averaged, as torch. */
export function adaptiveAvgPool2d(x: tf.Tensor4D, [oh, ow]: [number, number]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true) as tf.Tensor4D;
  if (h % oh === 0 && w % ow === 0)
    return tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], 'valid');
  const rows: tf.Tensor4D[] = [];
  for (let i = 0; i < oh; i++) {
    const y0 = Math.floor((i * h) / oh);
    const y1 = Math.ceil(((i + 1) * h) / oh);
    const cols: tf.Tensor4D[] = [];
    for (let j = 0; j < ow; j++) {
      const x0 = Math.floor((j * w) / ow);
      const x1 = Math.ceil(((j + 1) * w) / ow);
      cols.push(
        tf.mean(tf.slice(x, [0, y0, x0, 0], [n, y1 - y0, x1 - x0, c]), [1, 2], true) as tf.Tensor4D,
      );
    }
    rows.push(tf.concat(cols, 2));
  }
  return tf.concat(rows, 1);
}
