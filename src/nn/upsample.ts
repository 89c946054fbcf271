/** Resizing of feature maps: torch.nn.functional.interpolate and torch.nn.Upsample. */
import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { pair } from './pair.js';

export interface InterpolateOptions {
  /** Output `[h, w]`, or use `scaleFactor`. */
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

/**
 * Resize NHWC maps (torch.nn.functional.interpolate): 'nearest' takes
 * `floor(dst * in / out)`; 'bilinear' uses half-pixel centres unless `alignCorners`.
 */
export function interpolate(x: tf.Tensor4D, opts: InterpolateOptions): tf.Tensor4D {
  const [, h, w] = x.shape;
  let size = opts.size;
  if (!size) {
    if (opts.scaleFactor === undefined) throw new Error('interpolate: give size or scaleFactor');
    const [fh, fw] = pair(opts.scaleFactor);
    size = [Math.floor(h * fh), Math.floor(w * fw)];
  }
  if ((opts.mode ?? 'nearest') === 'nearest')
    return tf.image.resizeNearestNeighbor(x, size, false, false);
  const align = opts.alignCorners ?? false;
  return tf.image.resizeBilinear(x, size, align, !align);
}

/** Module form of {@link interpolate} (torch.nn.Upsample). */
export class Upsample extends Module {
  constructor(readonly options: InterpolateOptions) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return interpolate(x, this.options);
  }
}
