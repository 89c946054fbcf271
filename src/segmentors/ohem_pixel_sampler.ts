/**
 * mmseg's `OHEMPixelSampler` (online hard example mining, Shrivastava et al.
 * 2016, per pixel): only the hard pixels of a batch train. With `thresh`,
 * a pixel is kept when the predicted probability of its label is below
 * `max(thresh, p_k)`, `p_k` being the `minKept * batch`-th smallest such
 * probability (so at least that many pixels train); without `thresh`, the
 * `minKept * batch` pixels of largest loss. Ignored pixels get weight 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { TASK_UTILS } from '../registry.js';

export const ohemSchema = z
  .object({
    thresh: z.number().gt(0).lt(1).nullable().optional(),
    minKept: z.number().int().positive().optional(),
    ignoreIndex: z.number().int().optional(),
  })
  .strict();

export type OHEMPixelSamplerOptions = z.input<typeof ohemSchema>;

/**
 * @example
 * ```ts
 * const s = new OHEMPixelSampler({ thresh: 0.7, minKept: 1 });
 * // logits [N, C] of 3 pixels; labels [0, 1, 255]: pixel 0 is easy (p = 0.88), pixel 1 hard
 * s.sample(tf.tensor2d([[2, 0], [0, 0], [0, 0]]), Int32Array.from([0, 1, 255]), 1); // => Float32Array [0, 1, 0]
 * ```
 */
export class OHEMPixelSampler {
  static readonly configSchema = ohemSchema;
  readonly thresh: number | null;
  readonly minKept: number;
  readonly ignoreIndex: number;

  constructor(opts: OHEMPixelSamplerOptions = {}) {
    const o = ohemSchema.parse(opts);
    this.thresh = o.thresh ?? null;
    this.minKept = o.minKept ?? 100000;
    this.ignoreIndex = o.ignoreIndex ?? 255;
  }

  /**
   * Per-pixel weights (1 = trains) of `logits` `[N, C]` (pixels of the whole
   * batch, flattened) against `labels` `[N]`; `batchSize` scales `minKept`.
   * Computed without gradient.
   */
  sample(logits: tf.Tensor2D, labels: Int32Array, batchSize: number): Float32Array {
    const n = labels.length;
    const c = logits.shape[1];
    const weight = new Float32Array(n);
    const valid: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] !== this.ignoreIndex) valid.push(i);
    if (valid.length === 0) return weight;
    const batchKept = this.minKept * batchSize;
    const logp = tf.tidy(() => tf.logSoftmax(logits).dataSync() as Float32Array);
    // log-probability of each valid pixel's label
    const lp = Float32Array.from(valid, (i) => {
      const l = labels[i];
      return l >= 0 && l < c ? logp[i * c + l] : 0;
    });
    if (this.thresh !== null) {
      const sorted = Float32Array.from(lp).sort();
      const kth = sorted[Math.min(batchKept, sorted.length - 1)];
      const threshold = Math.max(kth, Math.log(this.thresh));
      valid.forEach((i, k) => {
        if (lp[k] < threshold) weight[i] = 1;
      });
    } else {
      // the largest losses are the smallest log-probabilities
      const order = Array.from(valid.keys()).sort((a, b) => lp[a] - lp[b]);
      for (const k of order.slice(0, batchKept)) weight[valid[k]] = 1;
    }
    return weight;
  }
}

TASK_UTILS.register(OHEMPixelSampler, { name: 'OHEMPixelSampler' });
