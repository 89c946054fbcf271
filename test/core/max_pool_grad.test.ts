/**
 * The cpu/wasm `MaxPoolGrad` kernel (`src/backend/typed_kernels.ts`) against a
 * direct reference on data with many ties: each output gradient goes to the
 * first maximum of its window in row-major order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';

type Pad = 'same' | 'valid' | number;

/** Output size and leading pad along one axis, as TensorFlow defines them. */
function axis(size: number, f: number, s: number, pad: Pad): [number, number] {
  if (pad === 'valid') return [Math.ceil((size - f + 1) / s), 0];
  if (pad === 'same') {
    const out = Math.ceil(size / s);
    return [out, Math.floor(Math.max((out - 1) * s + f - size, 0) / 2)];
  }
  return [Math.floor((size + 2 * pad - f) / s) + 1, pad];
}

function reference(
  x: Float32Array,
  g: Float32Array,
  [n, h, w, ch]: number[],
  [fh, fw]: number[],
  [sh, sw]: number[],
  pad: Pad,
): Float32Array {
  const [oh, top] = axis(h, fh, sh, pad);
  const [ow, left] = axis(w, fw, sw, pad);
  const dx = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let d = 0; d < ch; d++) {
          let best = -Infinity;
          let at = -1;
          for (let r = i * sh - top; r < i * sh - top + fh; r++)
            for (let c = j * sw - left; c < j * sw - left + fw; c++) {
              if (r < 0 || r >= h || c < 0 || c >= w) continue;
              const k = ((b * h + r) * w + c) * ch + d;
              if (at < 0 || x[k] > best) [best, at] = [x[k], k];
            }
          if (at >= 0) dx[at] += g[((b * oh + i) * ow + j) * ch + d];
        }
  return dx;
}

type Shape4 = [number, number, number, number];
const cases: [Shape4, number[], number[], Pad][] = [
  [[2, 9, 10, 3], [3, 3], [2, 2], 'same'],
  [[2, 11, 9, 5], [3, 3], [2, 2], 1],
  [[1, 8, 7, 1], [2, 2], [2, 2], 'valid'],
  [[3, 7, 6, 4], [3, 3], [1, 1], 'same'],
  [[2, 9, 11, 2], [3, 2], [1, 2], 'valid'],
  [[1, 6, 6, 8], [3, 3], [2, 2], 'valid'],
];

describe('MaxPoolGrad routes to the first maximum, ties included', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it.each(cases.map((c) => [JSON.stringify(c), ...c] as const))(
      `%s on ${backend}`,
      async (_name, shape, filter, strides, pad) => {
        await setBackend(backend);
        const seed = shape.reduce((a, b) => a * 5 + b, 0);
        // Most windows hold several equal maxima.
        // Values in {0, 1, 2}, about 5% NaN (which `>` never replaces, nor picks later).
        const u = tf.randomUniform(shape, 0, 3.15, 'float32', seed);
        const x = tf.where(tf.less(u, 3), tf.floor(u), NaN) as tf.Tensor4D;
        const y = tf.maxPool(x, filter as [number, number], strides as [number, number], pad);
        const g = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 1);
        const dx = tf.grad((xi: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.maxPool(
                xi as tf.Tensor4D,
                filter as [number, number],
                strides as [number, number],
                pad,
              ),
              g,
            ),
          ),
        )(x);
        const xs = x.dataSync() as Float32Array;
        const ref = reference(xs, g.dataSync() as Float32Array, shape, filter, strides, pad);
        expect(dx.shape).toEqual(shape);
        expect(Array.from(dx.dataSync())).toEqual(Array.from(ref));
        const nonzero = ref.filter((v) => v !== 0).length;
        expect(nonzero).toBeGreaterThan(0);
        tf.dispose([u, x, y, g, dx]);
      },
    );
  }
});
