/**
 * Prior generators (mmdetection `task_modules/prior_generators`): anchors
 * for RetinaNet / Faster R-CNN (`AnchorGenerator`), SSD
 * (`SSDAnchorGenerator`), YOLO (`YOLOAnchorGenerator`) and points for
 * anchor-free heads (`MlvlPointGenerator`). Values are computed with float32
 * rounding at the same steps as mmdetection's torch code, so they agree bit
 * for bit. Shifting base anchors over the grid is the `TfdetGridAnchors`
 * kernel (typed arrays, WGSL, GLSL).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TASK_UTILS } from '../../registry.js';
import { registerHostKernel, runKernel, type HostOutput } from '../kernel_util.js';

export const GRID_ANCHORS_KERNEL = 'TfdetGridAnchors';

const f = Math.fround;
type Pair = [number, number];
const toPair = (s: number | Pair): Pair => (typeof s === 'number' ? [s, s] : [s[0], s[1]]);

/**
 * Anchors of one level: `base` [A*4] shifted to every cell, ordered
 * (y, x, anchor) like mmdet's `single_level_grid_priors`.
 */
export function gridAnchorsHost(
  base: Float32Array,
  featH: number,
  featW: number,
  strideW: number,
  strideH: number,
  into?: Float32Array,
): Float32Array {
  const A = base.length >> 2;
  const out = into ?? new Float32Array(featH * featW * A * 4);
  let o = 0;
  for (let y = 0; y < featH; y++) {
    const sy = f(y * strideH);
    for (let x = 0; x < featW; x++) {
      const sx = f(x * strideW);
      for (let a = 0; a < 4 * A; a += 4) {
        out[o++] = base[a] + sx;
        out[o++] = base[a + 1] + sy;
        out[o++] = base[a + 2] + sx;
        out[o++] = base[a + 3] + sy;
      }
    }
  }
  return out;
}

registerHostKernel(
  GRID_ANCHORS_KERNEL,
  ['base'],
  (inputs, shapes, attrs, out): HostOutput[] => {
    const { featH, featW, strideW, strideH } = attrs as Record<string, number>;
    const values = gridAnchorsHost(
      inputs[0] as Float32Array,
      featH,
      featW,
      strideW,
      strideH,
      out?.[0] as Float32Array | undefined,
    );
    return [{ shape: [featH * featW * shapes[0][0], 4], dtype: 'float32', values }];
  },
  [],
  (shapes, attrs) => [
    { shape: [Number(attrs.featH) * Number(attrs.featW) * shapes[0][0], 4], dtype: 'float32' },
  ],
);

function checkSizes(featmapSizes: Pair[], numLevels: number, who: string): void {
  if (!Array.isArray(featmapSizes) || featmapSizes.length !== numLevels) {
    throw new Error(
      `${who}.gridPriors: expected ${numLevels} feature map sizes [h, w], got ${JSON.stringify(featmapSizes)}.`,
    );
  }
}

/** Shared grid/valid-flag logic over per-level base anchors. */
abstract class BasePriorGenerator {
  /** Per-level `[strideW, strideH]` (mmdet's `_pair(stride)` order). */
  readonly strides: Pair[];
  /** Per-level base anchors [A*4] centred on the first cell. */
  abstract readonly baseAnchors: Float32Array[];

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

  /** Anchors of every level as typed arrays [H*W*A*4]. */
  gridPriorsHost(featmapSizes: Pair[]): Float32Array[] {
    checkSizes(featmapSizes, this.numLevels, this.constructor.name);
    return featmapSizes.map(([h, w], i) =>
      gridAnchorsHost(this.baseAnchors[i], h, w, this.strides[i][0], this.strides[i][1]),
    );
  }

  /**
   * Anchors of one level [H*W*A, 4], ordered (y, x, anchor), computed by the
   * `TfdetGridAnchors` kernel on the current backend.
   */
  singleLevelGridPriors(featmapSize: Pair, level: number): tf.Tensor2D {
    const [h, w] = featmapSize;
    const [sw, sh] = this.strides[level];
    const base = this.baseAnchors[level];
    return tf.tidy(() =>
      runKernel<tf.Tensor2D>(
        GRID_ANCHORS_KERNEL,
        { base: tf.tensor2d(base, [base.length / 4, 4]) },
        { featH: h, featW: w, strideW: sw, strideH: sh },
      ),
    );
  }

  /** Anchors of every level ([H*W*A, 4] each), mmdet `grid_priors`. */
  gridPriors(featmapSizes: Pair[]): tf.Tensor2D[] {
    checkSizes(featmapSizes, this.numLevels, this.constructor.name);
    return featmapSizes.map((s, i) => this.singleLevelGridPriors(s, i));
  }

  /**
   * Per level, whether each anchor's cell lies inside the padded image
   * `padShape` [h, w] (cells past `ceil(h / stride)` are padding), as
   * mmdet's `valid_flags`. Typed arrays of 0/1, ordered like the anchors.
   */
  validFlagsHost(featmapSizes: Pair[], padShape: Pair): Uint8Array[] {
    checkSizes(featmapSizes, this.numLevels, this.constructor.name);
    return featmapSizes.map(([fh, fw], i) => {
      const [sw, sh] = this.strides[i];
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

/**
 * mmdet `gen_single_level_base_anchors`: anchors centred at `center`
 * (default `centerOffset * baseSize`), widths `baseSize * wRatio * scale`
 * with `hRatio = sqrt(ratio)`, `wRatio = 1 / hRatio`; scale-major order is
 * ratio-outer, scale-inner.
 */
function singleLevelBase(
  baseSize: number,
  scales: Float32Array,
  ratios: Float32Array,
  scaleMajor: boolean,
  center: Pair,
): Float32Array {
  const hr = ratios.map((r) => f(Math.sqrt(r)));
  const wr = hr.map((h) => f(1 / h));
  const ws: number[] = [];
  const hs: number[] = [];
  if (scaleMajor) {
    for (let r = 0; r < ratios.length; r++) {
      for (let s = 0; s < scales.length; s++) {
        ws.push(f(f(baseSize * wr[r]) * scales[s]));
        hs.push(f(f(baseSize * hr[r]) * scales[s]));
      }
    }
  } else {
    for (let s = 0; s < scales.length; s++) {
      for (let r = 0; r < ratios.length; r++) {
        ws.push(f(f(baseSize * scales[s]) * wr[r]));
        hs.push(f(f(baseSize * scales[s]) * hr[r]));
      }
    }
  }
  const [cx, cy] = [f(center[0]), f(center[1])];
  const out = new Float32Array(ws.length * 4);
  ws.forEach((w, i) => {
    const h = hs[i];
    out.set([cx - f(0.5 * w), cy - f(0.5 * h), cx + f(0.5 * w), cy + f(0.5 * h)], 4 * i);
  });
  return out;
}

/** Options of {@link AnchorGenerator} (camelCase mirrors of mmdet's). */
export interface AnchorGeneratorConfig {
  /** Per-level stride, a number or `[strideW, strideH]`. */
  strides: (number | Pair)[];
  /** Height/width ratios of the anchors at each location. */
  ratios: number[];
  /** Anchor scales relative to the base size; or use `octaveBaseScale` + `scalesPerOctave`. */
  scales?: number[];
  /** Per-level base sizes; default the (smaller) stride of each level. */
  baseSizes?: number[];
  /** Order anchors ratio-outer, scale-inner (default true). */
  scaleMajor?: boolean;
  /** RetinaNet: scales are `octaveBaseScale * 2^(i / scalesPerOctave)`. */
  octaveBaseScale?: number;
  scalesPerOctave?: number;
  /** Per-level explicit centres `[x, y]` of the base anchors. */
  centers?: Pair[];
  /** Centre of the base anchors as a fraction of the base size (default 0). */
  centerOffset?: number;
}

/**
 * Anchor generator with mmdetection's `AnchorGenerator` semantics.
 *
 * @example
 * ```ts
 * const gen = new AnchorGenerator({ strides: [16], ratios: [1], scales: [1], baseSizes: [9] });
 * gen.gridPriorsHost([[2, 2]]);
 * // [Float32Array [-4.5, -4.5, 4.5, 4.5,  11.5, -4.5, 20.5, 4.5,  -4.5, 11.5, 4.5, 20.5,  11.5, 11.5, 20.5, 20.5]]
 * ```
 */
export class AnchorGenerator extends BasePriorGenerator {
  readonly ratios: Float32Array;
  readonly scales: Float32Array;
  readonly baseSizes: number[];
  readonly scaleMajor: boolean;
  readonly centers?: Pair[];
  readonly centerOffset: number;
  readonly baseAnchors: Float32Array[];

  constructor(cfg: AnchorGeneratorConfig) {
    super(cfg.strides);
    const {
      ratios,
      scales,
      octaveBaseScale,
      scalesPerOctave,
      centerOffset = 0,
      scaleMajor = true,
    } = cfg;
    if (centerOffset !== 0 && cfg.centers)
      throw new Error(
        `AnchorGenerator: 'centerOffset' must be 0 when 'centers' is given, got ${centerOffset}.`,
      );
    if (!(centerOffset >= 0 && centerOffset <= 1))
      throw new Error(`AnchorGenerator: 'centerOffset' must be in [0, 1], got ${centerOffset}.`);
    if (cfg.centers && cfg.centers.length !== this.strides.length) {
      throw new Error(
        `AnchorGenerator: 'centers' has ${cfg.centers.length} entries for ${this.strides.length} strides.`,
      );
    }
    if (cfg.baseSizes && cfg.baseSizes.length !== this.strides.length) {
      throw new Error(
        `AnchorGenerator: 'baseSizes' has ${cfg.baseSizes.length} entries for ${this.strides.length} strides.`,
      );
    }
    this.baseSizes = cfg.baseSizes ?? this.strides.map((s) => Math.min(...s));
    if (!Array.isArray(ratios) || ratios.length === 0)
      throw new Error(
        `AnchorGenerator: 'ratios' must be a non-empty array, got ${JSON.stringify(ratios)}.`,
      );
    if ((scales !== undefined) === (octaveBaseScale !== undefined)) {
      throw new Error(
        "AnchorGenerator: give either 'scales' or 'octaveBaseScale' + 'scalesPerOctave', not both or neither.",
      );
    }
    if (scales) this.scales = Float32Array.from(scales);
    else {
      if (!scalesPerOctave)
        throw new Error("AnchorGenerator: 'octaveBaseScale' needs 'scalesPerOctave'.");
      this.scales = Float32Array.from(
        { length: scalesPerOctave },
        (_, i) => 2 ** (i / scalesPerOctave) * octaveBaseScale!,
      );
    }
    this.ratios = Float32Array.from(ratios);
    this.scaleMajor = scaleMajor;
    this.centers = cfg.centers;
    this.centerOffset = centerOffset;
    this.baseAnchors = this.baseSizes.map((b, i) =>
      singleLevelBase(
        b,
        this.scales,
        this.ratios,
        scaleMajor,
        this.centers?.[i] ?? [centerOffset * b, centerOffset * b],
      ),
    );
  }
}

/** Options of {@link SSDAnchorGenerator}. */
export interface SSDAnchorGeneratorConfig {
  strides: (number | Pair)[];
  /** Per level, the extra ratios r (each adds 1/r and r). */
  ratios: number[][];
  /** Explicit per-level min/max sizes; otherwise derived from `basesizeRatioRange`. */
  minSizes?: number[];
  maxSizes?: number[];
  basesizeRatioRange?: [number, number];
  inputSize?: number;
  scaleMajor?: boolean;
}

/**
 * SSD prior generator (mmdet `SSDAnchorGenerator`, Liu et al. 2016): per
 * level a 1:1 anchor of `minSize`, a 1:1 anchor of `sqrt(minSize * maxSize)`
 * and `1/r, r` anchors, centred at `stride / 2`. Min/max sizes come from
 * `basesizeRatioRange` as in SSD300 (COCO 0.15-0.9, VOC 0.2-0.9) and SSD512.
 *
 * @example
 * ```ts
 * const ssd = new SSDAnchorGenerator({ strides: [8, 16, 32, 64, 100, 300], ratios: [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
 *   basesizeRatioRange: [0.15, 0.9], inputSize: 300, scaleMajor: false });
 * ssd.baseAnchors[0].slice(0, 8); // Float32Array [-6.5, -6.5, 14.5, 14.5, -11.370426, -11.370426, 19.370426, 19.370426]
 * ```
 */
export class SSDAnchorGenerator extends BasePriorGenerator {
  readonly minSizes: number[];
  readonly maxSizes: number[];
  readonly baseAnchors: Float32Array[];

  constructor(cfg: SSDAnchorGeneratorConfig) {
    super(cfg.strides);
    const { ratios, basesizeRatioRange = [0.15, 0.9], inputSize = 300, scaleMajor = true } = cfg;
    const L = this.strides.length;
    if (!Array.isArray(ratios) || ratios.length !== L)
      throw new Error(
        `SSDAnchorGenerator: 'ratios' needs one list per stride (${L}), got ${JSON.stringify(ratios)}.`,
      );
    if ((cfg.minSizes === undefined) !== (cfg.maxSizes === undefined))
      throw new Error("SSDAnchorGenerator: give both 'minSizes' and 'maxSizes' or neither.");
    let minSizes: number[];
    let maxSizes: number[];
    if (cfg.minSizes && cfg.maxSizes) {
      minSizes = cfg.minSizes;
      maxSizes = cfg.maxSizes;
    } else {
      const minR = Math.trunc(basesizeRatioRange[0] * 100);
      const maxR = Math.trunc(basesizeRatioRange[1] * 100);
      const step = Math.trunc(Math.floor(maxR - minR) / (L - 2));
      minSizes = [];
      maxSizes = [];
      for (let r = minR; r < maxR + 1; r += step) {
        minSizes.push(Math.trunc((inputSize * r) / 100));
        maxSizes.push(Math.trunc((inputSize * (r + step)) / 100));
      }
      const first = basesizeRatioRange[0];
      let pre: Pair | undefined;
      if (inputSize === 300) pre = first === 0.15 ? [7, 15] : first === 0.2 ? [10, 20] : undefined;
      else if (inputSize === 512)
        pre = first === 0.1 ? [4, 10] : first === 0.15 ? [7, 15] : undefined;
      else
        throw new Error(
          `SSDAnchorGenerator: 'inputSize' must be 300 or 512 without explicit min/max sizes, got ${inputSize}.`,
        );
      if (!pre)
        throw new Error(
          `SSDAnchorGenerator: unsupported basesizeRatioRange[0] = ${first} for inputSize ${inputSize}.`,
        );
      minSizes.unshift(Math.trunc((inputSize * pre[0]) / 100));
      maxSizes.unshift(Math.trunc((inputSize * pre[1]) / 100));
    }
    if (minSizes.length !== L || maxSizes.length !== L) {
      throw new Error(
        `SSDAnchorGenerator: derived ${minSizes.length} min sizes for ${L} strides; check strides and basesizeRatioRange.`,
      );
    }
    this.minSizes = minSizes;
    this.maxSizes = maxSizes;
    this.baseAnchors = this.strides.map(([sw, sh], k) => {
      const scales = Float32Array.from([1, Math.sqrt(maxSizes[k] / minSizes[k])]);
      const r: number[] = [1];
      for (const x of ratios[k]) r.push(1 / x, x);
      const all = singleLevelBase(minSizes[k], scales, Float32Array.from(r), scaleMajor, [
        sw / 2,
        sh / 2,
      ]);
      const idx = r.map((_, i) => i);
      idx.splice(1, 0, r.length);
      const out = new Float32Array(idx.length * 4);
      idx.forEach((i, j) => out.set(all.subarray(4 * i, 4 * i + 4), 4 * j));
      return out;
    });
  }
}

/** Options of {@link YOLOAnchorGenerator}. */
export interface YOLOAnchorGeneratorConfig {
  strides: (number | Pair)[];
  /** Per level, the anchors' `[w, h]` (or a single size). */
  baseSizes: (number | Pair)[][];
}

/**
 * YOLO anchors (mmdet `YOLOAnchorGenerator`): fixed `[w, h]` per level,
 * centred at `stride / 2`.
 *
 * @example
 * ```ts
 * new YOLOAnchorGenerator({ strides: [32], baseSizes: [[[116, 90]]] }).baseAnchors[0];
 * // Float32Array [-42, -29, 74, 61]
 * ```
 */
export class YOLOAnchorGenerator extends BasePriorGenerator {
  readonly baseSizes: Pair[][];
  readonly baseAnchors: Float32Array[];

  constructor(cfg: YOLOAnchorGeneratorConfig) {
    super(cfg.strides);
    if (!Array.isArray(cfg.baseSizes) || cfg.baseSizes.length !== this.strides.length) {
      throw new Error(
        `YOLOAnchorGenerator: 'baseSizes' needs one list per stride (${this.strides.length}).`,
      );
    }
    const per = cfg.baseSizes[0].length;
    if (cfg.baseSizes.some((l) => l.length !== per))
      throw new Error('YOLOAnchorGenerator: every level must have the same number of anchors.');
    this.baseSizes = cfg.baseSizes.map((l) => l.map(toPair));
    this.baseAnchors = this.baseSizes.map((sizes, i) => {
      const [cx, cy] = [this.strides[i][0] / 2, this.strides[i][1] / 2];
      return Float32Array.from(
        sizes.flatMap(([w, h]) => [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]),
      );
    });
  }
}

/** Options of {@link MlvlPointGenerator}. */
export interface MlvlPointGeneratorConfig {
  strides: (number | Pair)[];
  /** Point offset inside a cell, in strides (mmdet default 0.5). */
  offset?: number;
}

/**
 * Points for anchor-free heads (mmdet `MlvlPointGenerator`, FCOS): the
 * point of cell (y, x) is `((x + offset) * strideW, (y + offset) * strideH)`,
 * ordered y-outer; `withStride` appends `[strideW, strideH]`.
 *
 * @example
 * ```ts
 * new MlvlPointGenerator({ strides: [8] }).gridPriorsHost([[1, 2]]); // [Float32Array [4, 4, 12, 4]]
 * ```
 */
export class MlvlPointGenerator {
  readonly strides: Pair[];
  readonly offset: number;

  constructor(cfg: MlvlPointGeneratorConfig) {
    if (!Array.isArray(cfg.strides) || cfg.strides.length === 0)
      throw new Error("MlvlPointGenerator: 'strides' must be a non-empty array.");
    this.strides = cfg.strides.map(toPair);
    this.offset = cfg.offset ?? 0.5;
  }

  get numLevels(): number {
    return this.strides.length;
  }

  get numBasePriors(): number[] {
    return this.strides.map(() => 1);
  }

  gridPriorsHost(featmapSizes: Pair[], withStride = false): Float32Array[] {
    checkSizes(featmapSizes, this.numLevels, 'MlvlPointGenerator');
    return featmapSizes.map(([h, w], i) => {
      const [sw, sh] = this.strides[i];
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

for (const [name, cls] of [
  ['AnchorGenerator', AnchorGenerator],
  ['SSDAnchorGenerator', SSDAnchorGenerator],
  ['YOLOAnchorGenerator', YOLOAnchorGenerator],
  ['MlvlPointGenerator', MlvlPointGenerator],
] as const) {
  if (!TASK_UTILS.has(name)) TASK_UTILS.register(cls, { name });
}
