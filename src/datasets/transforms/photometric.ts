/**
 * Per-pixel colour transforms. Both are affine maps of the RGB value, so
 * they are queued as one 3x4 matrix on the sample (`colorMap`) and applied
 * in a single pass by the next transform that needs the final values (Pad,
 * the packer, or anything that moves pixels into a new canvas).
 */
import { z } from 'zod';
import { Rng } from '../../utils/random.js';
import type { ColorMap, DataSample } from '../types.js';
import { composeColorMaps, identityColorMap, pushColorMap } from './color_map.js';
import { sampleRng } from './sample_utils.js';
import { TRANSFORMS } from '../../registry.js';

// RGB -> YIQ (NTSC) and back; hue is a rotation of the (I, Q) chroma plane, saturation its scale.
const YIQ = [0.299, 0.587, 0.114, 0.595716, -0.274453, -0.321263, 0.211456, -0.522591, 0.311135];

function inverse3(a: readonly number[]): number[] {
  const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = a as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const c0 = a4 * a8 - a5 * a7,
    c1 = a5 * a6 - a3 * a8,
    c2 = a3 * a7 - a4 * a6;
  const det = a0 * c0 + a1 * c1 + a2 * c2;
  return [
    c0,
    a2 * a7 - a1 * a8,
    a1 * a5 - a2 * a4,
    c1,
    a0 * a8 - a2 * a6,
    a2 * a3 - a0 * a5,
    c2,
    a1 * a6 - a0 * a7,
    a0 * a4 - a1 * a3,
  ].map((v) => v / det);
}
const YIQ_INV = inverse3(YIQ);

function matMul(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++)
      for (let k = 0; k < 3; k++) out[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
  return out;
}

/**
 * The colour matrix that scales saturation by `s` and rotates hue by
 * `degrees`, as a linear map of RGB (the SVG `feColorMatrix` construction in
 * YIQ space). Greys are fixed points.
 *
 * @example
 * ```ts
 * hueSaturationMatrix(0, 1).map((v) => +v.toFixed(12)); // => [1, 0, 0, 0, 1, 0, 0, 0, 1] (the identity, up to rounding)
 * ```
 */
export function hueSaturationMatrix(degrees: number, s: number): number[] {
  const a = (degrees * Math.PI) / 180;
  const c = Math.cos(a) * s,
    n = Math.sin(a) * s;
  const R = [1, 0, 0, 0, c, -n, 0, n, c];
  return matMul(YIQ_INV, matMul(R, YIQ));
}

const affine = (m: readonly number[], t: readonly number[] = [0, 0, 0]): ColorMap => ({
  m: Float64Array.from(m),
  t: Float64Array.from(t),
});

/** Options of {@link PhotoMetricDistortion} (mmdetection's names and defaults). */
export interface PhotoMetricDistortionOptions {
  brightnessDelta?: number;
  contrastRange?: [number, number];
  saturationRange?: [number, number];
  hueDelta?: number;
}

/**
 * SSD's photometric distortion (mmdetection's `PhotoMetricDistortion`):
 * each with probability 1/2, in this order: brightness `+U(-32, 32)`;
 * contrast `*U(0.5, 1.5)` (before or after the colour step, at random);
 * saturation `*U(0.5, 1.5)`; hue `+U(-18, 18)` degrees; a random channel
 * permutation. Values are not clipped (as in mmdetection).
 *
 * Difference from mmdetection: saturation and hue act on the YIQ chroma plane
 * (a linear map) instead of OpenCV's HSV, so the whole distortion is one
 * affine colour map, fused with Normalize into a single pass.
 */
export class PhotoMetricDistortion {
  static readonly configSchema = z
    .object({
      brightnessDelta: z.number().optional(),
      contrastRange: z.tuple([z.number(), z.number()]).optional(),
      saturationRange: z.tuple([z.number(), z.number()]).optional(),
      hueDelta: z.number().optional(),
    })
    .strict();
  readonly brightnessDelta: number;
  readonly contrastRange: [number, number];
  readonly saturationRange: [number, number];
  readonly hueDelta: number;
  private readonly rng = new Rng(0);

  constructor(opts: PhotoMetricDistortionOptions = {}) {
    this.brightnessDelta = opts.brightnessDelta ?? 32;
    this.contrastRange = opts.contrastRange ?? [0.5, 1.5];
    this.saturationRange = opts.saturationRange ?? [0.5, 1.5];
    this.hueDelta = opts.hueDelta ?? 18;
  }

  /** Draw this sample's colour map. */
  sampleMap(rng: Rng): ColorMap {
    const mode = rng.int(0, 2);
    const fb = rng.int(0, 2),
      fc = rng.int(0, 2),
      fs = rng.int(0, 2),
      fh = rng.int(0, 2),
      fp = rng.int(0, 2);
    const delta = rng.uniform(-this.brightnessDelta, this.brightnessDelta);
    const alpha = rng.uniform(...this.contrastRange);
    const sat = rng.uniform(...this.saturationRange);
    const hue = rng.uniform(-this.hueDelta, this.hueDelta);
    const perm = rng.permutation(3);
    let map = identityColorMap();
    if (fb) map = composeColorMaps(map, affine([1, 0, 0, 0, 1, 0, 0, 0, 1], [delta, delta, delta]));
    const contrast = affine([alpha, 0, 0, 0, alpha, 0, 0, 0, alpha]);
    if (mode === 1 && fc) map = composeColorMaps(map, contrast);
    if (fs || fh)
      map = composeColorMaps(map, affine(hueSaturationMatrix(fh ? hue : 0, fs ? sat : 1)));
    if (mode === 0 && fc) map = composeColorMaps(map, contrast);
    if (fp) {
      const P = new Array<number>(9).fill(0);
      perm.forEach((src, dst) => (P[dst * 3 + src] = 1));
      map = composeColorMaps(map, affine(P));
    }
    return map;
  }

  transform(results: DataSample): DataSample {
    pushColorMap(results, this.sampleMap(sampleRng(results, this.rng)));
    return results;
  }
}

/**
 * `(x - mean) / std` per channel (mmdetection's `Normalize`). Pixels are
 * RGB here, and mean/std are given in RGB order (mmdetection's usual
 * `to_rgb=True` configs); `toRgb: false` outputs BGR, i.e. what mmdetection
 * gives for `to_rgb=False` (mean/std then in BGR order). The map is queued
 * and applied with any other colour map in one pass (by Pad or the packer);
 * the packed image is float32.
 *
 * @example
 * ```ts
 * new Normalize({ mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true });
 * ```
 */
export class Normalize {
  static readonly configSchema = z
    .object({
      mean: z.array(z.number()).length(3),
      std: z.array(z.number()).length(3),
      toRgb: z.boolean().optional(),
    })
    .strict();
  readonly mean: number[];
  readonly std: number[];
  readonly toRgb: boolean;

  constructor(opts: { mean: number[]; std: number[]; toRgb?: boolean }) {
    this.mean = opts.mean;
    this.std = opts.std;
    this.toRgb = opts.toRgb ?? true;
    if (this.std.some((s) => !(s > 0)))
      throw new Error(`Normalize: std must be > 0, got [${this.std.join(', ')}]`);
  }

  transform(results: DataSample): DataSample {
    const m = new Array<number>(9).fill(0);
    const t = [0, 0, 0];
    for (let c = 0; c < 3; c++) {
      const src = this.toRgb ? c : 2 - c;
      m[c * 3 + src] = 1 / this.std[c];
      t[c] = -this.mean[c] / this.std[c];
    }
    pushColorMap(results, affine(m, t));
    results.imgNormCfg = { mean: this.mean, std: this.std, toRgb: this.toRgb };
    return results;
  }
}

TRANSFORMS.register(PhotoMetricDistortion, { name: 'PhotoMetricDistortion' });
TRANSFORMS.register(Normalize, { name: 'Normalize' });
