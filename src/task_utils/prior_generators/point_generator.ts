/**
 * Points for anchor-free heads (mmdetection `prior_generators/
 * point_generator.py`), registered in TASK_UTILS.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TASK_UTILS } from '../../registry.js';
import { checkSizes, f, featmapStrides, toPair, type Pair } from './base_prior_generator.js';

/** Options of {@link MlvlPointGenerator}. */
export interface MlvlPointGeneratorConfig {
  strides: (number | Pair)[];
  /** Point offset inside a cell, in strides (mmdet default 0.5; torchvision's FCOS 0). */
  offset?: number;
  /**
   * Place the points at torchvision's strides, `floor(input / feature size)`
   * (see {@link featmapStrides}), rather than the configured ones.
   */
  stridesFromFeatmaps?: boolean;
}

/**
 * Points for anchor-free heads (mmdet `MlvlPointGenerator`, FCOS): the
 * point of cell (y, x) is `((x + offset) * strideW, (y + offset) * strideH)`,
 * ordered y-outer; `withStride` appends `[strideW, strideH]`.
 *
 * @example
 * ```ts
 * new MlvlPointGenerator({ strides: [8] }).gridPriorsHost([[1, 2]]); // => [Float32Array [4, 4, 12, 4]]
 * ```
 */
export class MlvlPointGenerator {
  readonly strides: Pair[];
  readonly offset: number;
  readonly stridesFromFeatmaps: boolean;

  constructor(cfg: MlvlPointGeneratorConfig) {
    if (!Array.isArray(cfg.strides) || cfg.strides.length === 0)
      throw new Error("MlvlPointGenerator: 'strides' must be a non-empty array.");
    this.strides = cfg.strides.map(toPair);
    this.offset = cfg.offset ?? 0.5;
    this.stridesFromFeatmaps = cfg.stridesFromFeatmaps ?? false;
  }

  get numLevels(): number {
    return this.strides.length;
  }

  get numBasePriors(): number[] {
    return this.strides.map(() => 1);
  }

  gridPriorsHost(featmapSizes: Pair[], withStride = false): Float32Array[] {
    checkSizes(featmapSizes, this.numLevels, 'MlvlPointGenerator');
    const strides = this.stridesFromFeatmaps
      ? featmapStrides(this.strides, featmapSizes)
      : this.strides;
    return featmapSizes.map(([h, w], i) => {
      const [sw, sh] = strides[i];
      const d = withStride ? 4 : 2;
      const out = new Float32Array(h * w * d);
      for (let y = 0; y < h; y++) {
        const py = f(f(y + this.offset) * sh);
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * d;
          out[o] = f(f(x + this.offset) * sw);
          out[o + 1] = py;
          if (withStride) {
            out[o + 2] = sw;
            out[o + 3] = sh;
          }
        }
      }
      return out;
    });
  }

  gridPriors(featmapSizes: Pair[], withStride = false): tf.Tensor2D[] {
    return this.gridPriorsHost(featmapSizes, withStride).map((v) =>
      tf.tensor2d(v, [v.length / (withStride ? 4 : 2), withStride ? 4 : 2]),
    );
  }

  validFlagsHost(featmapSizes: Pair[], padShape: Pair): Uint8Array[] {
    checkSizes(featmapSizes, this.numLevels, 'MlvlPointGenerator');
    return featmapSizes.map(([fh, fw], i) => {
      const [sw, sh] = this.strides[i];
      const vh = Math.min(Math.ceil(padShape[0] / sh), fh);
      const vw = Math.min(Math.ceil(padShape[1] / sw), fw);
      const out = new Uint8Array(fh * fw);
      for (let y = 0; y < vh; y++) out.fill(1, y * fw, y * fw + vw);
      return out;
    });
  }

  validFlags(featmapSizes: Pair[], padShape: Pair): tf.Tensor1D[] {
    return this.validFlagsHost(featmapSizes, padShape).map((v) => tf.tensor1d(v, 'bool'));
  }
}

TASK_UTILS.register(MlvlPointGenerator, { name: 'MlvlPointGenerator' });
