/**
 * Class-aware NMS: `batchedNms` (torchvision / mmcv `batched_nms`) and the
 * dense heads' `multiclassNms` (mmdet `multiclass_nms`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { toF32 } from '../kernel_util.js';
import {
  candidates,
  checkInputs,
  f,
  greedy,
  sortByScore,
  type BoxesLike,
  type ScoresLike,
} from './greedy.js';
import { nmsHost, type NmsOptions } from './nms.js';

/** Options of {@link batchedNms}. */
export interface BatchedNmsOptions extends NmsOptions {
  iouThreshold: number;
  /** Ignore labels: one NMS over all boxes (mmcv `class_agnostic`). */
  classAgnostic?: boolean;
  /**
   * Below this many boxes the coordinate-offset trick runs one NMS; from it
   * on, one NMS per class (mmcv `split_thr`, default 10000). torchvision's
   * `batched_nms` switches above 1000 boxes, i.e. `splitThr: 1001`.
   */
  splitThr?: number;
}

/**
 * Class-aware NMS (torchvision `batched_nms`, mmcv `batched_nms`): boxes of
 * different labels never suppress each other. Below `splitThr` boxes it
 * shifts every box by `label * (max coordinate + 1)` (computed in float32
 * as torch does) and runs one NMS; from `splitThr` on it loops over classes
 * and merges the kept boxes by descending score. Returns kept indices in
 * descending score order.
 *
 * @example
 * ```ts
 * batchedNms(tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11]]), tf.tensor1d([0.9, 0.8]), tf.tensor1d([0, 1], 'int32'),
 *   { iouThreshold: 0.5 });
 * // => Int32Array [0, 1]   (different classes)
 * ```
 */
export function batchedNms(
  boxes: BoxesLike,
  scores: ScoresLike,
  labels: tf.Tensor | ArrayLike<number>,
  options: BatchedNmsOptions,
): Int32Array {
  const b = toF32(boxes, 'batchedNms boxes');
  const s = toF32(scores, 'batchedNms scores');
  const l = labels instanceof tf.Tensor ? labels.dataSync() : labels;
  const n = s.length;
  checkInputs('batchedNms', b.length / 4, b.length, n, options.iouThreshold);
  if (l.length !== n)
    throw new Error(`batchedNms: 'labels' has ${l.length} values but 'scores' has ${n}.`);
  const { iouThreshold, classAgnostic = false, splitThr = 10000 } = options;
  const maxNum = options.maxNum ?? -1;
  if (n === 0) return new Int32Array(0);
  if (classAgnostic) return nmsHost(b, s, iouThreshold, options);
  if (n < splitThr) {
    let maxCoord = -Infinity;
    for (let i = 0; i < b.length; i++) if (b[i] > maxCoord) maxCoord = b[i];
    const step = f(maxCoord + 1);
    const shifted = new Float32Array(b.length);
    for (let i = 0; i < n; i++) {
      const off = f(l[i] * step);
      for (let c = 0; c < 4; c++) shifted[4 * i + c] = b[4 * i + c] + off;
    }
    return nmsHost(shifted, s, iouThreshold, options);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const arr = byClass.get(l[i]);
    if (arr) arr.push(i);
    else byClass.set(l[i], [i]);
  }
  const kept: number[] = [];
  const cand = candidates(s, options.scoreThreshold ?? 0);
  const isCand = new Uint8Array(n);
  for (const i of cand) isCand[i] = 1;
  for (const idx of byClass.values()) {
    const members = Int32Array.from(idx.filter((i) => isCand[i]));
    const order = sortByScore(s, members);
    for (const k of greedy(b, order, iouThreshold, -1)) kept.push(k);
  }
  const out = sortByScore(s, Int32Array.from(kept));
  return maxNum > 0 ? out.slice(0, maxNum) : out;
}

/** Options of {@link multiclassNms}. */
export interface MulticlassNmsOptions {
  /** Keep (box, class) pairs with score `> scoreThr` (mmdet `score_thr`). */
  scoreThr?: number;
  /** Keep at most this many pairs, by score, before NMS (mmdet `nms_pre`; <= 0 = all). */
  nmsPre?: number;
  iouThreshold: number;
  /** Keep at most this many detections per image (mmdet `max_per_img`; <= 0 = all). */
  maxPerImg?: number;
  classAgnostic?: boolean;
  splitThr?: number;
}

/** MulticlassNmsResult of one image. */
export interface MulticlassNmsResult {
  /** [K*4] xyxy. */
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  /** Index of the box (row of the input) each detection came from. */
  indices: Int32Array;
}

/**
 * Multi-class NMS for dense heads (mmdet `multiclass_nms` with the
 * `filter_scores_and_topk` step of `_bbox_post_process`): every
 * (box, class) pair with `score > scoreThr` is a candidate, the `nmsPre`
 * best are kept, {@link batchedNms} runs over them and the `maxPerImg` best
 * survive. `scores` is [N, C] without a background column; `boxes` is
 * [N, 4] shared by all classes or [N, C*4] per class.
 *
 * @example
 * ```ts
 * multiclassNms(tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11]]), tf.tensor2d([[0.9, 0.1], [0.8, 0.7]]),
 *   { scoreThr: 0.05, iouThreshold: 0.5 });
 * // => { boxes: Float32Array [0, 0, 10, 10, 1, 1, 11, 11], scores: Float32Array [0.9, 0.7], labels: Int32Array [0, 1],
 * //      indices: Int32Array [0, 1] }
 * ```
 */
export function multiclassNms(
  boxes: BoxesLike,
  scores: tf.Tensor | Float32Array,
  options: MulticlassNmsOptions & { numClasses?: number },
): MulticlassNmsResult {
  const { scoreThr = 0, nmsPre = -1, maxPerImg = -1 } = options;
  const s = toF32(scores, 'multiclassNms scores');
  const c = scores instanceof tf.Tensor ? scores.shape[1]! : options.numClasses;
  if (!c)
    throw new Error(
      'multiclassNms: pass scores as an [N, C] tensor, or numClasses with a flat array.',
    );
  const n = s.length / c;
  const b = toF32(boxes, 'multiclassNms boxes');
  const perClass = b.length === n * c * 4;
  if (!perClass && b.length !== n * 4) {
    throw new Error(
      `multiclassNms: 'boxes' must be [${n}, 4] or [${n}, ${c * 4}]; got ${b.length} values.`,
    );
  }
  let cand: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] > scoreThr) cand.push(i);
  if (nmsPre > 0 && cand.length > nmsPre) {
    cand = Array.from(sortByScore(s, Int32Array.from(cand)).slice(0, nmsPre)).sort((p, q) => p - q);
  }
  const m = cand.length;
  const cb = new Float32Array(m * 4),
    cs = new Float32Array(m),
    cl = new Int32Array(m),
    ci = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const pair = cand[k];
    const i = Math.floor(pair / c),
      cls = pair % c;
    const src = perClass ? (i * c + cls) * 4 : i * 4;
    cb.set(b.subarray(src, src + 4), 4 * k);
    cs[k] = s[pair];
    cl[k] = cls;
    ci[k] = i;
  }
  let keep = batchedNms(cb, cs, cl, {
    iouThreshold: options.iouThreshold,
    classAgnostic: options.classAgnostic,
    splitThr: options.splitThr,
  });
  if (maxPerImg > 0) keep = keep.slice(0, maxPerImg);
  const out: MulticlassNmsResult = {
    boxes: new Float32Array(keep.length * 4),
    scores: new Float32Array(keep.length),
    labels: new Int32Array(keep.length),
    indices: new Int32Array(keep.length),
  };
  keep.forEach((k, r) => {
    out.boxes.set(cb.subarray(4 * k, 4 * k + 4), 4 * r);
    out.scores[r] = cs[k];
    out.labels[r] = cl[k];
    out.indices[r] = ci[k];
  });
  return out;
}
