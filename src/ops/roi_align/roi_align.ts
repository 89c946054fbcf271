/**
 * RoIAlign (He et al. 2017, "Mask R-CNN") and RoIPool (Girshick 2015,
 * "Fast R-CNN") as registered kernels with gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  MLVL_ROI_ALIGN_GRAD_KERNEL,
  MLVL_ROI_ALIGN_KERNEL,
  ROI_ALIGN_GRAD_KERNEL,
  ROI_ALIGN_KERNEL,
  ROI_POOL_GRAD_KERNEL,
  ROI_POOL_KERNEL,
  type MlvlAttrs,
  type RoIAlignAttrs,
} from './host.js';
import { runKernel } from '../kernel_util.js';
import './webgpu.js';
import './webgl.js';

export {
  MLVL_ROI_ALIGN_GRAD_KERNEL,
  MLVL_ROI_ALIGN_KERNEL,
  ROI_ALIGN_GRAD_KERNEL,
  ROI_ALIGN_KERNEL,
  ROI_POOL_GRAD_KERNEL,
  ROI_POOL_KERNEL,
} from './host.js';

/** Options of {@link roiAlign}. */
export interface RoIAlignOptions {
  /** Output size `[outH, outW]` or a single number for both. */
  outputSize: number | [number, number];
  /** Scale from RoI coordinates to the feature map (1/stride), default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; 0 or below (torchvision's default -1) = adaptive `ceil(roiSize / outSize)` (default 0). */
  samplingRatio?: number;
  /** Shift by -0.5 pixel (pixel-centre model; torchvision `aligned`, default false). */
  aligned?: boolean;
  /** 'avg' (torchvision) or 'max' over the samples of a bin (mmcv `pool_mode`). Default 'avg'. */
  poolMode?: 'avg' | 'max';
}

/** float32 view without a Cast node when already float32 (keeps the tape to our own kernels). */
const f32 = <T extends tf.Tensor>(t: T): T =>
  t.dtype === 'float32' ? t : tf.cast<T>(t, 'float32');

const pair = (s: number | [number, number]): [number, number] =>
  typeof s === 'number' ? [s, s] : s;

export function roiAlignAttrs(o: RoIAlignOptions): RoIAlignAttrs {
  const [outH, outW] = pair(o.outputSize);
  const a: RoIAlignAttrs = {
    outH,
    outW,
    spatialScale: o.spatialScale ?? 1,
    samplingRatio: o.samplingRatio ?? 0,
    aligned: o.aligned ?? false,
    poolMode: o.poolMode ?? 'avg',
  };
  if (!(Number.isInteger(outH) && outH > 0 && Number.isInteger(outW) && outW > 0)) {
    throw new Error(
      `roiAlign: 'outputSize' must be positive integers, got ${JSON.stringify(o.outputSize)}.`,
    );
  }
  if (!(a.spatialScale > 0))
    throw new Error(`roiAlign: 'spatialScale' must be > 0, got ${a.spatialScale}.`);
  if (!Number.isInteger(a.samplingRatio)) {
    throw new Error(`roiAlign: 'samplingRatio' must be an integer, got ${a.samplingRatio}.`);
  }
  // torchvision's meaning: any value <= 0 (its default is -1) samples adaptively, ceil(roi size / output size) per bin.
  if (a.samplingRatio < 0) a.samplingRatio = 0;
  if (a.poolMode !== 'avg' && a.poolMode !== 'max')
    throw new Error(`roiAlign: 'poolMode' must be 'avg' or 'max', got '${String(a.poolMode)}'.`);
  return a;
}

for (const [fwd, bwd] of [
  [ROI_ALIGN_KERNEL, ROI_ALIGN_GRAD_KERNEL],
  [ROI_POOL_KERNEL, ROI_POOL_GRAD_KERNEL],
]) {
  if (!tf.getGradient(fwd)) {
    tf.registerGradient({
      kernelName: fwd,
      inputsToSave: ['features', 'rois'],
      gradFunc: (dy, saved, attrs) => {
        const [features, rois] = saved;
        return {
          features: () => runKernel<tf.Tensor>(bwd, { dy: dy as tf.Tensor, features, rois }, attrs),
          // RoI coordinates get no gradient (as torchvision and mmcv).
          rois: () => tf.zerosLike(rois),
        };
      },
    });
  }
}

if (!tf.getGradient(MLVL_ROI_ALIGN_KERNEL)) {
  tf.registerGradient({
    kernelName: MLVL_ROI_ALIGN_KERNEL,
    // All inputs are saved (the features for max pooling, their shapes otherwise).
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const L = (attrs as unknown as MlvlAttrs).scales.length;
      const out: Record<string, () => tf.Tensor> = { [String(L)]: () => tf.zerosLike(saved[L]) };
      for (let l = 0; l < L; l++) {
        out[String(l)] = () =>
          runKernel<tf.Tensor>(
            MLVL_ROI_ALIGN_GRAD_KERNEL,
            { dy: dy as tf.Tensor, features: saved[l], rois: saved[L] },
            { ...(attrs as Record<string, unknown>), level: l },
          );
      }
      return out;
    },
  });
}

/**
 * RoIAlign of RoIs spread over pyramid levels, each RoI pooled from
 * `feats[levels[k]]` with `scales[levels[k]]`, into one [K, outH, outW, C]
 * output. On the host backends it is one kernel (no per-level gather and
 * re-ordering); elsewhere `undefined` (use per-level {@link roiAlign}).
 *
 * @example
 * ```ts
 * const p2 = tf.ones([1, 8, 8, 1]) as tf.Tensor4D, p3 = tf.fill([1, 4, 4, 1], 2) as tf.Tensor4D;
 * multiLevelRoiAlign([p2, p3], tf.tensor2d([[0, 0, 0, 8, 8], [0, 0, 0, 16, 16]]), [0, 1], [1 / 2, 1 / 4], { outputSize: 1 })
 *   ?.dataSync(); // => Float32Array [1, 2]
 * ```
 */
export function multiLevelRoiAlign(
  feats: tf.Tensor4D[],
  rois: tf.Tensor2D,
  levels: ArrayLike<number>,
  scales: number[],
  options: Omit<RoIAlignOptions, 'spatialScale'>,
): tf.Tensor4D | undefined {
  if (!tf.getKernel(MLVL_ROI_ALIGN_KERNEL, tf.getBackend())) return undefined;
  const a = roiAlignAttrs({ ...options, spatialScale: 1 });
  const ins = [...feats.map(f32), f32(rois)] as unknown as Record<string, tf.Tensor>;
  return runKernel<tf.Tensor4D>(MLVL_ROI_ALIGN_KERNEL, ins, {
    ...a,
    levels: Array.from(levels),
    scales,
  });
}

function checkInputs(op: string, features: tf.Tensor, rois: tf.Tensor): void {
  if (features.rank !== 4)
    throw new Error(
      `${op}: 'features' must be NHWC [N, H, W, C], got shape [${features.shape.join(', ')}].`,
    );
  if (rois.rank !== 2 || rois.shape[1] !== 5) {
    throw new Error(
      `${op}: 'rois' must be [K, 5] = (batchIndex, x1, y1, x2, y2), got shape [${rois.shape.join(', ')}].`,
    );
  }
}

/**
 * RoIAlign over NHWC `features` [N, H, W, C] and `rois` [K, 5] =
 * (batchIndex, x1, y1, x2, y2) in input pixels -> [K, outH, outW, C].
 * Reference: torchvision `ops.roi_align` (and mmcv `RoIAlign` for
 * `poolMode: 'max'`): corners scaled by `spatialScale`, minus 0.5 when
 * `aligned`; without `aligned` RoI sizes are at least 1; each bin averages
 * `samplingRatio^2` (adaptive: `ceil(roiH / outH) x ceil(roiW / outW)`)
 * bilinear samples; a sample with `y < -1`, `y > H` (or x) contributes 0,
 * otherwise coordinates clamp to `[0, H-1]`. Differentiable w.r.t. `features`
 * (its own `TfdetRoIAlignGrad` kernel per backend).
 *
 * @example
 * ```ts
 * const feat = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);   // the 2x2 map [[0, 1], [2, 3]]
 * roiAlign(feat, tf.tensor2d([[0, 0, 0, 1, 1]]), { outputSize: 1, samplingRatio: 1, aligned: false }).arraySync();
 * // => [[[[1.5]]]]   (one sample at (0.5, 0.5))
 * ```
 */
export function roiAlign(
  features: tf.Tensor4D,
  rois: tf.Tensor2D,
  options: RoIAlignOptions,
): tf.Tensor4D {
  checkInputs('roiAlign', features, rois);
  const a = roiAlignAttrs(options);
  return tf.tidy(() =>
    runKernel<tf.Tensor4D>(
      ROI_ALIGN_KERNEL,
      { features: f32(features), rois: f32(rois) },
      a as unknown as Record<string, unknown>,
    ),
  );
}

/** Options of {@link roiPool}. */
export interface RoIPoolOptions {
  outputSize: number | [number, number];
  spatialScale?: number;
}

/**
 * RoIPool (torchvision `ops.roi_pool`): RoI corners scaled and rounded half
 * away from zero, size `max(end - start + 1, 1)`, bins `[floor(p * bin),
 * ceil((p + 1) * bin))` clipped to the map, max per bin (0 for an empty bin).
 * NHWC in and out; gradient to each bin's arg-max pixel.
 *
 * @example
 * ```ts
 * const feat = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
 * roiPool(feat, tf.tensor2d([[0, 0, 0, 1, 1]]), { outputSize: 1 }).arraySync(); // => [[[[3]]]]
 * ```
 */
export function roiPool(
  features: tf.Tensor4D,
  rois: tf.Tensor2D,
  options: RoIPoolOptions,
): tf.Tensor4D {
  checkInputs('roiPool', features, rois);
  const [outH, outW] = pair(options.outputSize);
  const attrs = { outH, outW, spatialScale: options.spatialScale ?? 1 };
  return tf.tidy(() =>
    runKernel<tf.Tensor4D>(ROI_POOL_KERNEL, { features: f32(features), rois: f32(rois) }, attrs),
  );
}

/**
 * Module wrapper of {@link roiAlign} (torchvision `ops.RoIAlign`).
 *
 * @example
 * ```ts
 * new RoIAlign({ outputSize: 1, samplingRatio: 1 }).apply(tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]), tf.tensor2d([[0, 0, 0, 1, 1]]))
 *   .dataSync(); // => Float32Array [1.5]
 * ```
 */
export class RoIAlign {
  constructor(readonly options: RoIAlignOptions) {
    roiAlignAttrs(options);
  }
  apply(features: tf.Tensor4D, rois: tf.Tensor2D): tf.Tensor4D {
    return roiAlign(features, rois, this.options);
  }
}

/** Module wrapper of {@link roiPool}. */
export class RoIPool {
  constructor(readonly options: RoIPoolOptions) {}
  apply(features: tf.Tensor4D, rois: tf.Tensor2D): tf.Tensor4D {
    return roiPool(features, rois, this.options);
  }
}
