/**
 * Anchor generators with mmdetection's semantics (`prior_generators/
 * anchor_generator.py`): `AnchorGenerator` (RetinaNet, Faster R-CNN) and
 * `SSDAnchorGenerator`, registered in TASK_UTILS.
 */
import { TASK_UTILS } from '../../registry.js';
import { BasePriorGenerator, f, type Pair } from './base_prior_generator.js';

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
  /**
   * torchvision's `AnchorGenerator(sizes, aspect_ratios)`: per level, the
   * anchor sizes in pixels (each level its own list; e.g. RetinaNet's
   * `(32, 40, 50)`, truncated to integers). Replaces `scales`,
   * `octaveBaseScale` and `baseSizes`.
   */
  sizes?: number[][];
  /** Round the base anchors' coordinates to integers (half to even), as torchvision does (default false). */
  roundBase?: boolean;
  /**
   * torchvision's strides: each level's stride is `floor(input / feature
   * size)` rather than the configured one (they differ where a level's
   * feature map is rounded up, e.g. P6 and P7 of an 800-pixel input); the
   * input size is the first level's feature size times its stride.
   */
  stridesFromFeatmaps?: boolean;
}

/** Rounds half to even, as `torch.round` does. */
const roundHalfEven = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * Anchor generator with mmdetection's `AnchorGenerator` semantics.
 *
 * @example
 * ```ts
 * const gen = new AnchorGenerator({ strides: [16], ratios: [1], scales: [1], baseSizes: [9] });
 * gen.gridPriorsHost([[2, 2]]);
 * // => [Float32Array [-4.5, -4.5, 4.5, 4.5,  11.5, -4.5, 20.5, 4.5,  -4.5, 11.5, 4.5, 20.5,  11.5, 11.5, 20.5, 20.5]]
 * ```
 */
export class AnchorGenerator extends BasePriorGenerator {
  readonly ratios: Float32Array;
  /** Anchor scales relative to the base size (with `sizes`, base size 1: the first level's sizes). */
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
    if (cfg.sizes) {
      if (scales || octaveBaseScale !== undefined || cfg.baseSizes || cfg.centers)
        throw new Error(
          "AnchorGenerator: 'sizes' replaces 'scales', 'octaveBaseScale', 'baseSizes' and 'centers'; give one or the other.",
        );
      if (cfg.sizes.length !== this.strides.length)
        throw new Error(
          `AnchorGenerator: 'sizes' has ${cfg.sizes.length} levels for ${this.strides.length} strides.`,
        );
    } else if ((scales !== undefined) === (octaveBaseScale !== undefined)) {
      throw new Error(
        "AnchorGenerator: give either 'scales' or 'octaveBaseScale' + 'scalesPerOctave', not both or neither.",
      );
    }
    if (cfg.sizes) this.scales = Float32Array.from(cfg.sizes[0]);
    else if (scales) this.scales = Float32Array.from(scales);
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
    this.stridesFromFeatmaps = cfg.stridesFromFeatmaps ?? false;
    const { sizes } = cfg;
    this.baseAnchors = this.baseSizes.map((b, i) => {
      const base = sizes
        ? singleLevelBase(1, Float32Array.from(sizes[i]), this.ratios, scaleMajor, [0, 0])
        : singleLevelBase(
            b,
            this.scales,
            this.ratios,
            scaleMajor,
            this.centers?.[i] ?? [centerOffset * b, centerOffset * b],
          );
      return cfg.roundBase ? base.map(roundHalfEven) : base;
    });
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
 * ssd.baseAnchors[0].slice(0, 8); // => Float32Array [-6.5, -6.5, 14.5, 14.5, -11.370426, -11.370426, 19.370426, 19.370426]
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

TASK_UTILS.register(AnchorGenerator, { name: 'AnchorGenerator' });
TASK_UTILS.register(SSDAnchorGenerator, { name: 'SSDAnchorGenerator' });
