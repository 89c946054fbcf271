/**
 * The base of the anchor generators: per-level strides and base anchors,
 * the grid (the `TfdetGridAnchors` op of `src/ops/anchors`) and the valid
 * flags of padded images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gridAnchors, gridAnchorsHost } from '../../ops/anchors/anchors.js';

export const f = Math.fround;
export type Pair = [number, number];
export const toPair = (s: number | Pair): Pair => (typeof s === 'number' ? [s, s] : [s[0], s[1]]);

/** Throws unless there is one `[h, w]` per level. */
export function checkSizes(featmapSizes: Pair[], numLevels: number, who: string): void {
  if (!Array.isArray(featmapSizes) || featmapSizes.length !== numLevels) {
    throw new Error(
      `${who}.gridPriors: expected ${numLevels} feature map sizes [h, w], got ${JSON.stringify(featmapSizes)}.`,
    );
  }
}

/**
 * torchvision's strides of the levels of one input: `floor(input / feature
 * size)` per axis, the input being the first level's feature size times its
 * configured stride (`[strideW, strideH]` each).
 *
 * @example
 * ```ts
 * // a 160 x 160 input: P6 is 3 x 3 and P7 2 x 2, so their strides are 53 and 80
 * featmapStrides([[8, 8], [64, 64], [128, 128]], [[20, 20], [3, 3], [2, 2]]); // => [[8, 8], [53, 53], [80, 80]]
 * ```
 */
export function featmapStrides(strides: Pair[], featmapSizes: Pair[]): Pair[] {
  const [h0, w0] = featmapSizes[0];
  const [H, W] = [h0 * strides[0][1], w0 * strides[0][0]];
  return featmapSizes.map(([h, w]) => [Math.floor(W / w), Math.floor(H / h)]);
}

/** Shared grid/valid-flag logic over per-level base anchors. */
export abstract class BasePriorGenerator {
  /** Per-level `[strideW, strideH]` (mmdet's `_pair(stride)` order). */
  readonly strides: Pair[];
  /** Per-level base anchors [A*4] centred on the first cell. */
  abstract readonly baseAnchors: Float32Array[];
  /** Strides from the feature sizes, torchvision's way (see AnchorGenerator's option). */
  protected stridesFromFeatmaps = false;

  constructor(strides: (number | Pair)[]) {
    if (!Array.isArray(strides) || strides.length === 0)
      throw new Error(`${new.target.name}: 'strides' must be a non-empty array.`);
    this.strides = strides.map(toPair);
  }

  get numLevels(): number {
    return this.strides.length;
  }

  /** Anchors per location, per level (mmdet `num_base_priors`). */
  get numBasePriors(): number[] {
    return this.baseAnchors.map((b) => b.length / 4);
  }

  /**
   * The `[strideW, strideH]` of each level for these feature sizes: the
   * configured strides, or with `stridesFromFeatmaps` torchvision's
   * `floor(input / feature size)`, the input being the first level's
   * feature size times its stride.
   */
  levelStrides(featmapSizes: Pair[]): Pair[] {
    return this.stridesFromFeatmaps ? featmapStrides(this.strides, featmapSizes) : this.strides;
  }

  /** Anchors of every level as typed arrays [H*W*A*4]. */
  gridPriorsHost(featmapSizes: Pair[]): Float32Array[] {
    checkSizes(featmapSizes, this.numLevels, this.constructor.name);
    const strides = this.levelStrides(featmapSizes);
    return featmapSizes.map(([h, w], i) =>
      gridAnchorsHost(this.baseAnchors[i], h, w, strides[i][0], strides[i][1]),
    );
  }

  /**
   * Anchors of one level [H*W*A, 4], ordered (y, x, anchor), computed by the
   * `TfdetGridAnchors` kernel on the current backend.
   */
  singleLevelGridPriors(
    featmapSize: Pair,
    level: number,
    stride = this.strides[level],
  ): tf.Tensor2D {
    return gridAnchors(this.baseAnchors[level], featmapSize, stride);
  }

  /** Anchors of every level ([H*W*A, 4] each), mmdet `grid_priors`. */
  gridPriors(featmapSizes: Pair[]): tf.Tensor2D[] {
    checkSizes(featmapSizes, this.numLevels, this.constructor.name);
    const strides = this.levelStrides(featmapSizes);
    return featmapSizes.map((s, i) => this.singleLevelGridPriors(s, i, strides[i]));
  }

  /**
   * Per level, whether each anchor's cell lies inside the padded image
   * `padShape` [h, w] (cells past `ceil(h / stride)` are padding), as
   * mmdet's `valid_flags`. Typed arrays of 0/1, ordered like the anchors.
   */
  validFlagsHost(featmapSizes: Pair[], padShape: Pair): Uint8Array[] {
    checkSizes(featmapSizes, this.numLevels, this.constructor.name);
    const strides = this.levelStrides(featmapSizes);
    return featmapSizes.map(([fh, fw], i) => {
      const [sw, sh] = strides[i];
      const vh = Math.min(Math.ceil(padShape[0] / sh), fh);
      const vw = Math.min(Math.ceil(padShape[1] / sw), fw);
      const A = this.numBasePriors[i];
      const out = new Uint8Array(fh * fw * A);
      for (let y = 0; y < vh; y++)
        for (let x = 0; x < vw; x++) out.fill(1, (y * fw + x) * A, (y * fw + x + 1) * A);
      return out;
    });
  }

  /** {@link validFlagsHost} as bool tensors. */
  validFlags(featmapSizes: Pair[], padShape: Pair): tf.Tensor1D[] {
    return this.validFlagsHost(featmapSizes, padShape).map((v) => tf.tensor1d(v, 'bool'));
  }
}
