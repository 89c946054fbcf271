/**
 * The config's test pipeline on tensors, for the page: `Resize` (to a scale
 * or by a factor, `keepRatio`), `Normalize` (`mean`, `std`, `toRgb`) and
 * `Pad` (`size`, `sizeDivisor`, `padToSquare`, `padVal`) as tfjs ops, so
 * that on webgpu and webgl the image goes from the decoded pixels to the
 * network's input on the GPU. Sizes come from the same functions as the
 * Node transforms (`datasets/transforms/geometry.ts`).
 *
 * Against the Node pipeline (sharp): Node resizes with libvips' linear
 * kernel, a triangle filter that widens with the shrink factor (it
 * antialiases), and decodes JPEG itself. The page resizes with the same
 * filter ({@link resizeLinear}: two products with the filter's weights, on
 * the GPU) from the browser's decode, and rounds to 0..255 as sharp's 8-bit
 * output is. Shrinking, the two agree to within 1 (84% of values equal, the
 * rest libvips' fixed-point rounding); enlarging, libvips interpolates
 * differently (mean difference ~5 levels), see docs/browser.md. Given the
 * same resized pixels both give the same input tensor (tested).
 */
import * as tf from '@tensorflow/tfjs-core';
import { padOutputSize, resizeOutputSize } from '../datasets/transforms/geometry.js';
import type { ImgMeta } from '../structures/index.js';

/** What the page does of a test pipeline, in order: resize, normalise, pad. */
export interface PreprocessPlan {
  resize?: { scale?: [number, number]; scaleFactor?: [number, number]; keepRatio: boolean };
  normalize?: { mean: number[]; std: number[]; toRgb: boolean };
  pad?: {
    size?: [number, number];
    sizeDivisor?: number;
    padToSquare?: boolean;
    padVal: number | number[];
  };
}

/** Transforms that need no pixels here (loading and packing). */
const PASS = new Set(['LoadImageFromFile', 'LoadAnnotations', 'PackDetInputs', 'PackSegInputs']);
const pair = (v: unknown): [number, number] | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? [v, v] : (v as [number, number]);

/**
 * The plan of a config's test pipeline (`testDataloader.dataset.pipeline`).
 * A transform the page cannot run, or one out of the order resize,
 * normalise, pad, is an error naming it and its index.
 *
 * @example
 * ```ts
 * preprocessPlan([{ type: 'LoadImageFromFile' }, { type: 'Resize', scale: [160, 160], keepRatio: true }, { type: 'Pad', sizeDivisor: 32 }]);
 * // => { resize: { scale: [160, 160], scaleFactor: undefined, keepRatio: true }, pad: { size: undefined, sizeDivisor: 32, padToSquare: undefined, padVal: 0 } }
 * ```
 */
export function preprocessPlan(pipeline: readonly Record<string, unknown>[]): PreprocessPlan {
  const plan: PreprocessPlan = {};
  const order = ['Resize', 'Normalize', 'Pad'];
  let last = -1;
  pipeline.forEach((t, i) => {
    const type = String(t.type);
    if (PASS.has(type)) return;
    const at = order.indexOf(type);
    if (type === 'RandomFlip' && !((t.prob as number) > 0)) return;
    if (at < 0 || at <= last)
      throw new Error(
        `test pipeline[${i}]: the page runs LoadImageFromFile, Resize, Normalize, Pad and Pack* in that order; got ${JSON.stringify(type)}${at >= 0 ? ' out of order' : ''}`,
      );
    last = at;
    if (type === 'Resize') {
      if (t.scale === undefined && t.scaleFactor === undefined)
        throw new Error(`test pipeline[${i}] Resize: give \`scale\` or \`scaleFactor\``);
      plan.resize = {
        scale: pair(t.scale),
        scaleFactor: pair(t.scaleFactor),
        keepRatio: (t.keepRatio as boolean | undefined) ?? false,
      };
    } else if (type === 'Normalize') {
      const { mean, std } = t as { mean: number[]; std: number[] };
      if (mean?.length !== 3 || std?.length !== 3 || std.some((s) => !(s > 0)))
        throw new Error(
          `test pipeline[${i}] Normalize: expected mean and std of 3 numbers (std > 0), got mean ${JSON.stringify(mean)}, std ${JSON.stringify(std)}`,
        );
      plan.normalize = { mean, std, toRgb: (t.toRgb as boolean | undefined) ?? true };
    } else {
      const pv = t.padVal as number | { img?: number | number[] } | undefined;
      plan.pad = {
        size: pair(t.size),
        sizeDivisor: t.sizeDivisor as number | undefined,
        padToSquare: t.padToSquare as boolean | undefined,
        padVal: typeof pv === 'number' ? pv : (pv?.img ?? 0),
      };
    }
  });
  return plan;
}

/**
 * Weights `[N, n]` of a linear (triangle) filter resampling `n` pixels to
 * `N`: centres at `(i + 0.5) * n / N - 0.5`, support `max(n / N, 1)` (so
 * bilinear when enlarging), edge pixels repeated, each row summing to 1.
 *
 * @example
 * ```ts
 * linearWeights(4, 2).arraySync(); // => [[0.5, 0.375, 0.125, 0], [0, 0.125, 0.375, 0.5]]
 * ```
 */
export function linearWeights(n: number, N: number): tf.Tensor2D {
  const scale = n / N;
  const support = Math.max(scale, 1);
  const m = new Float32Array(N * n);
  for (let i = 0; i < N; i++) {
    const c = (i + 0.5) * scale - 0.5;
    let sum = 0;
    const taps: [number, number][] = [];
    for (let j = Math.floor(c - support); j <= Math.ceil(c + support); j++) {
      const t = 1 - Math.abs(j - c) / support;
      if (t <= 0) continue;
      taps.push([Math.min(Math.max(j, 0), n - 1), t]);
      sum += t;
    }
    for (const [j, t] of taps) m[i * n + j] += t / sum;
  }
  return tf.tensor2d(m, [N, n]);
}

/**
 * Resizes `[h, w, C]` to `[nh, nw, C]` with {@link linearWeights} along each
 * axis (libvips' `linear` kernel, which sharp uses here): rows then columns,
 * as two matrix products.
 */
export function resizeLinear(x: tf.Tensor3D, nh: number, nw: number): tf.Tensor3D {
  // No transposes: tfjs-webgpu's transpose of a tensor cast from int32 (the
  // decoded pixels) compiles to an invalid shader.
  return tf.tidy(() => {
    const [h, w, c] = x.shape;
    const rows = tf.reshape(
      tf.matMul(linearWeights(h, nh), tf.reshape(tf.cast(x, 'float32'), [h, w * c])),
      [nh, w, c],
    );
    return tf.matMul(tf.broadcastTo(linearWeights(w, nw), [nh, nw, w]), rows) as tf.Tensor3D;
  });
}

/** The network's input for one image and the meta the model reads. */
export interface Preprocessed {
  /** `[1, H, W, 3]` float32. */
  inputs: tf.Tensor4D;
  metainfo: ImgMeta;
}

/** The resized size `[w, h]` of a `w x h` image under `plan`. */
export function plannedSize(plan: PreprocessPlan, w: number, h: number): [number, number] {
  return plan.resize ? resizeOutputSize(w, h, plan.resize) : [w, h];
}

/**
 * Runs `plan` on RGB pixels `[h, w, 3]` (any dtype, values 0..255). The
 * pixels are not disposed.
 */
export function preprocess(pixels: tf.Tensor3D, plan: PreprocessPlan): Preprocessed {
  const [h, w] = pixels.shape;
  const [nw, nh] = plannedSize(plan, w, h);
  const [W, H] = plan.pad ? padOutputSize(nw, nh, plan.pad) : [nw, nh];
  const inputs = tf.tidy(() => {
    let x = tf.cast(pixels, 'float32');
    if (nw !== w || nh !== h) x = tf.clipByValue(tf.round(resizeLinear(x, nh, nw)), 0, 255);
    const n = plan.normalize;
    if (n) {
      if (!n.toRgb) x = tf.reverse(x, -1);
      x = tf.div(tf.sub(x, tf.tensor1d(n.mean)), tf.tensor1d(n.std));
    }
    if (W !== nw || H !== nh) {
      // padded with padVal: shift by it, pad with zeros, shift back
      const pv = tf.tensor1d(
        typeof plan.pad!.padVal === 'number' ? [plan.pad!.padVal] : plan.pad!.padVal,
      );
      x = tf.add(
        tf.pad(tf.sub(x, pv), [
          [0, H - nh],
          [0, W - nw],
          [0, 0],
        ]),
        pv,
      );
    }
    return tf.expandDims(x, 0) as tf.Tensor4D;
  });
  const metainfo: ImgMeta = {
    imgId: 0,
    imgPath: '',
    oriShape: [h, w],
    imgShape: [nh, nw],
    scaleFactor: [nw / w, nh / h],
    flip: false,
    flipDirection: null,
    padShape: [H, W],
    padSizeDivisor: plan.pad?.sizeDivisor,
    imgNormCfg: plan.normalize && { ...plan.normalize },
    batchInputShape: [H, W],
  };
  return { inputs, metainfo };
}
