/**
 * Multi-level RoI feature extractor (mmdet `SingleRoIExtractor`, FPN paper
 * eq. 1): each RoI is pooled from one pyramid level chosen by its scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MODELS } from '../../registry.js';
import { multiLevelRoiAlign, roiAlign, roiPool } from '../../ops/roi_align/roi_align.js';

/** RoI layer config (`roiLayer` of mmdet). */
export interface RoILayerConfig {
  type: 'RoIAlign' | 'RoIPool';
  outputSize: number | [number, number];
  samplingRatio?: number;
  aligned?: boolean;
  poolMode?: 'avg' | 'max';
}

/** Options of {@link SingleRoIExtractor}. */
export interface SingleRoIExtractorConfig {
  roiLayer: RoILayerConfig;
  outChannels: number;
  /** Stride of each level, finest first (e.g. [4, 8, 16, 32]). */
  featmapStrides: number[];
  /** Scale threshold of level 0 (mmdet default 56). */
  finestScale?: number;
}

/**
 * Pools RoIs [K, 5] from NHWC pyramid levels: level
 * `floor(log2(sqrt(w * h) / finestScale + 1e-6))` clamped to
 * `[0, levels - 1]` (mmdet `map_roi_levels`), with `spatialScale = 1 / stride`.
 * Output [K, outH, outW, C] in RoI order; differentiable w.r.t. the features.
 *
 * @example
 * ```ts
 * const ex = new SingleRoIExtractor({ roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 },
 *   outChannels: 256, featmapStrides: [4, 8, 16, 32] });
 * ex.mapRoiLevels(tf.tensor2d([[0, 0, 0, 100, 100], [0, 0, 0, 300, 300]]), 4); // => Int32Array [0, 2]
 * ```
 */
export class SingleRoIExtractor {
  /** `roiLayer` is a layer config the extractor interprets, not a component to build. */
  static readonly unbuiltArgs = ['roiLayer'];
  readonly roiLayer: RoILayerConfig;
  readonly outChannels: number;
  readonly featmapStrides: number[];
  readonly finestScale: number;

  constructor(cfg: SingleRoIExtractorConfig) {
    if (!cfg.roiLayer || !['RoIAlign', 'RoIPool'].includes(cfg.roiLayer.type)) {
      throw new Error(
        `SingleRoIExtractor: 'roiLayer.type' must be 'RoIAlign' or 'RoIPool', got ${JSON.stringify(cfg.roiLayer?.type)}.`,
      );
    }
    if (!Array.isArray(cfg.featmapStrides) || cfg.featmapStrides.length === 0) {
      throw new Error("SingleRoIExtractor: 'featmapStrides' must be a non-empty array.");
    }
    this.roiLayer = cfg.roiLayer;
    this.outChannels = cfg.outChannels;
    this.featmapStrides = cfg.featmapStrides;
    this.finestScale = cfg.finestScale ?? 56;
  }

  get numInputs(): number {
    return this.featmapStrides.length;
  }

  /** Target level of each RoI (mmdet `map_roi_levels`). */
  mapRoiLevels(rois: tf.Tensor2D | Float32Array, numLevels: number): Int32Array {
    if (rois instanceof tf.Tensor && tf.getBackend() === 'webgpu') {
      throw new Error(
        'SingleRoIExtractor.mapRoiLevels: cannot read a webgpu tensor synchronously; pass a Float32Array (await rois.data()).',
      );
    }
    const r = rois instanceof tf.Tensor ? (rois.dataSync() as Float32Array) : rois;
    const k = r.length / 5;
    const out = new Int32Array(k);
    const f = Math.fround;
    for (let i = 0; i < k; i++) {
      const scale = f(
        Math.sqrt(f(f(r[5 * i + 3] - r[5 * i + 1]) * f(r[5 * i + 4] - r[5 * i + 2]))),
      );
      const lvl = Math.floor(f(Math.log2(f(f(scale / this.finestScale) + 1e-6))));
      out[i] = Math.min(Math.max(Number.isNaN(lvl) ? 0 : lvl, 0), numLevels - 1);
    }
    return out;
  }

  private pool(feat: tf.Tensor4D, rois: tf.Tensor2D, stride: number): tf.Tensor4D {
    const l = this.roiLayer;
    if (l.type === 'RoIPool')
      return roiPool(feat, rois, { outputSize: l.outputSize, spatialScale: 1 / stride });
    return roiAlign(feat, rois, {
      outputSize: l.outputSize,
      spatialScale: 1 / stride,
      samplingRatio: l.samplingRatio ?? 0,
      aligned: l.aligned ?? true,
      poolMode: l.poolMode ?? 'avg',
    });
  }

  /** RoI features [K, outH, outW, C] from `feats` (finest first). */
  forward(feats: tf.Tensor4D[], rois: tf.Tensor2D): tf.Tensor4D {
    if (feats.length < 1 || feats.length > this.featmapStrides.length) {
      throw new Error(
        `SingleRoIExtractor: got ${feats.length} feature maps for ${this.featmapStrides.length} strides.`,
      );
    }
    if (rois.rank !== 2 || rois.shape[1] !== 5)
      throw new Error(`SingleRoIExtractor: 'rois' must be [K, 5], got [${rois.shape.join(', ')}].`);
    if (feats.length === 1) return this.pool(feats[0], rois, this.featmapStrides[0]);
    const l = this.roiLayer;
    if (['webgl', 'webgpu'].includes(tf.getBackend())) return this.forwardOnDevice(feats, rois);
    const levels = this.mapRoiLevels(rois, feats.length);
    if (l.type === 'RoIAlign') {
      // Host backends: one kernel writes every RoI into its own row.
      const out = multiLevelRoiAlign(
        feats,
        rois,
        levels,
        this.featmapStrides.slice(0, feats.length).map((s) => 1 / s),
        {
          outputSize: l.outputSize,
          samplingRatio: l.samplingRatio ?? 0,
          aligned: l.aligned ?? true,
          poolMode: l.poolMode ?? 'avg',
        },
      );
      if (out) return out;
    }
    return tf.tidy(() => {
      const parts: tf.Tensor4D[] = [];
      const order: number[] = [];
      for (let i = 0; i < feats.length; i++) {
        const inds: number[] = [];
        levels.forEach((l, j) => l === i && inds.push(j));
        if (!inds.length) continue;
        parts.push(
          this.pool(feats[i], tf.gather(rois, inds) as tf.Tensor2D, this.featmapStrides[i]),
        );
        order.push(...inds);
      }
      if (!parts.length) {
        const [oh, ow] =
          typeof this.roiLayer.outputSize === 'number'
            ? [this.roiLayer.outputSize, this.roiLayer.outputSize]
            : this.roiLayer.outputSize;
        return tf.zeros([0, oh, ow, feats[0].shape[3]]) as tf.Tensor4D;
      }
      const all = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor4D);
      const inv = new Int32Array(order.length);
      order.forEach((r, p) => (inv[r] = p));
      return tf.gather(all, inv) as tf.Tensor4D;
    });
  }

  /**
   * GPU path without reading anything back: every level pools every RoI and
   * a per-RoI level mask (computed on the device with the same formula)
   * keeps one of them. L times the pooling work, no synchronisation.
   */
  private forwardOnDevice(feats: tf.Tensor4D[], rois: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, x1, y1, x2, y2] = tf.unstack(rois, 1);
      const scale = tf.sqrt(tf.mul(tf.sub(x2, x1), tf.sub(y2, y1)));
      const lvl = tf.floor(tf.div(tf.log(tf.add(tf.div(scale, this.finestScale), 1e-6)), Math.LN2));
      const target = tf.clipByValue(lvl, 0, feats.length - 1);
      let out: tf.Tensor4D | undefined;
      feats.forEach((feat, i) => {
        const mask = tf.reshape(tf.cast(tf.equal(target, i), 'float32'), [-1, 1, 1, 1]);
        const part = tf.mul(this.pool(feat, rois, this.featmapStrides[i]), mask) as tf.Tensor4D;
        out = out ? (tf.add(out, part) as tf.Tensor4D) : part;
      });
      return out!;
    });
  }

  /** Alias of {@link forward} for module-style use. */
  apply(feats: tf.Tensor4D[], rois: tf.Tensor2D): tf.Tensor4D {
    return this.forward(feats, rois);
  }
}

MODELS.register(SingleRoIExtractor, { name: 'SingleRoIExtractor' });
