/**
 * NMS family. The greedy pass is sequential, so the host path is a plain
 * function over typed arrays; on webgl/webgpu the O(N^2) part (the IoU
 * bitmask) runs on the device as the `TfdetNmsMask` kernel and a short
 * sequential pass reads it back, as torchvision's CUDA nms does.
 *
 * IoUs are computed in float32 arithmetic (every step rounded with
 * `Math.fround`) so that borderline suppressions decide as torchvision's
 * float kernels do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerHostKernel, toF32, type HostOutput } from '../kernel_util.js';

export const NMS_MASK_KERNEL = 'TfdetNmsMask';
/** Bits used per int32 word of the NMS mask (16: exact in WebGL's float textures). */
export const NMS_MASK_BITS = 16;

const f = Math.fround;

type BoxesLike = tf.Tensor | Float32Array | number[] | number[][];
type ScoresLike = tf.Tensor | Float32Array | number[];

/** Options of {@link nms}. */
export interface NmsOptions {
  /** Drop boxes whose score is not `> scoreThreshold` first (mmcv `score_threshold`; 0 = off). */
  scoreThreshold?: number;
  /** Keep at most this many boxes (mmcv `max_num`; <= 0 = all). */
  maxNum?: number;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const IDX_BITS = 2 ** 21;

/**
 * Order of `idx` by score, descending; NaN first (torch sorts NaN above every
 * number); equal scores keep the lower index first. Each (score, index) pair
 * is packed into one exact double (32 bits of order-preserving score, 21 of
 * index) so that the native numeric sort does the work.
 */
function sortByScore(scores: Float32Array, idx: Int32Array): Int32Array {
  const n = idx.length;
  let maxIdx = 0;
  for (let k = 0; k < n; k++) if (idx[k] > maxIdx) maxIdx = idx[k];
  if (maxIdx >= IDX_BITS) return sortByScoreCompare(scores, idx);
  const key = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const s = scores[idx[k]];
    let desc: number;
    if (s !== s)
      desc = -1; // NaN first
    else {
      F32[0] = s === 0 ? 0 : s; // -0 ties with +0
      const u = U32[0];
      const ord = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
      desc = 0xffffffff - ord;
    }
    key[k] = desc * IDX_BITS + idx[k];
  }
  key.sort();
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const v = key[k];
    out[k] = v - Math.floor(v / IDX_BITS) * IDX_BITS;
  }
  return out;
}

function sortByScoreCompare(scores: Float32Array, idx: Int32Array): Int32Array {
  const key = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const s = scores[idx[k]];
    key[k] = s !== s ? -Infinity : -s; // NaN first
  }
  const ord = new Int32Array(idx.length);
  for (let k = 0; k < ord.length; k++) ord[k] = k;
  ord.sort((p, q) => key[p] - key[q] || idx[p] - idx[q]);
  const out = new Int32Array(idx.length);
  for (let k = 0; k < ord.length; k++) out[k] = idx[ord[k]];
  return out;
}

function candidates(scores: Float32Array, scoreThreshold: number): Int32Array {
  if (!(scoreThreshold > 0)) {
    const all = new Int32Array(scores.length);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return all;
  }
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > scoreThreshold) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > scoreThreshold) out[n++] = i;
  return out;
}

function checkInputs(
  op: string,
  nBoxes: number,
  boxLen: number,
  nScores: number,
  iouThreshold: number,
): void {
  if (boxLen % 4 !== 0) throw new Error(`${op}: 'boxes' must be [N, 4]; got ${boxLen} values.`);
  if (nBoxes !== nScores)
    throw new Error(`${op}: 'boxes' has ${nBoxes} boxes but 'scores' has ${nScores} values.`);
  if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold)) {
    throw new Error(`${op}: 'iouThreshold' must be a number, got ${String(iouThreshold)}.`);
  }
}

/**
 * Greedy pass over boxes already in score order (`order`), float32 IoU.
 * The survivors' index list is compacted after each kept box, so later
 * passes skip the boxes already suppressed (same result as torchvision's
 * loop over every later box, fewer visits).
 */
function greedy(
  boxes: Float32Array,
  order: Int32Array,
  iouThreshold: number,
  maxNum: number,
): Int32Array {
  const n = order.length;
  // [x1, y1, x2, y2, float32 area] in score order; float32 values held exactly in doubles.
  const d = new Float64Array(5 * n);
  const list = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const b = 4 * order[k];
    const x1 = boxes[b],
      y1 = boxes[b + 1],
      x2 = boxes[b + 2],
      y2 = boxes[b + 3];
    d[5 * k] = x1;
    d[5 * k + 1] = y1;
    d[5 * k + 2] = x2;
    d[5 * k + 3] = y2;
    d[5 * k + 4] = f(f(x2 - x1) * f(y2 - y1));
    list[k] = k;
  }
  const keep = new Int32Array(n);
  const limit = maxNum > 0 ? maxNum : n;
  // With a non-negative threshold, disjoint pairs (IoU 0, or NaN for two empty boxes) never suppress.
  const skipDisjoint = iouThreshold >= 0;
  let nk = 0;
  let len = n;
  for (let i = 0; i < len && nk < limit; i++) {
    const p = 5 * list[i];
    const ix1 = d[p],
      iy1 = d[p + 1],
      ix2 = d[p + 2],
      iy2 = d[p + 3],
      ia = d[p + 4];
    keep[nk++] = order[list[i]];
    let w = i + 1;
    for (let j = i + 1; j < len; j++) {
      const lj = list[j];
      const q = 5 * lj;
      // The exact difference of two float32 values has the sign of its float32 rounding.
      const dw = (ix2 < d[q + 2] ? ix2 : d[q + 2]) - (ix1 > d[q] ? ix1 : d[q]);
      if (dw > 0) {
        const dh = (iy2 < d[q + 3] ? iy2 : d[q + 3]) - (iy1 > d[q + 1] ? iy1 : d[q + 1]);
        if (dh > 0) {
          const inter = f(f(dw) * f(dh));
          if (f(inter / f(f(ia + d[q + 4]) - inter)) > iouThreshold) continue;
          list[w++] = lj;
          continue;
        }
      }
      if (!skipDisjoint && f(0 / f(ia + d[q + 4])) > iouThreshold) continue;
      list[w++] = lj;
    }
    len = w;
  }
  return keep.slice(0, nk);
}

/**
 * NMS over typed arrays: `boxes` [N*4] xyxy, `scores` [N]. Returns the kept
 * indices in descending score order. See {@link nms} for the semantics.
 *
 * @example
 * ```ts
 * nmsHost(new Float32Array([0, 0, 10, 10, 0, 0, 10, 9]), new Float32Array([0.5, 0.5]), 0.5); // Int32Array [0] (tie: lower index)
 * ```
 */
export function nmsHost(
  boxes: Float32Array,
  scores: Float32Array,
  iouThreshold: number,
  options: NmsOptions = {},
): Int32Array {
  checkInputs('nms', boxes.length / 4, boxes.length, scores.length, iouThreshold);
  const order = sortByScore(scores, candidates(scores, options.scoreThreshold ?? 0));
  return greedy(boxes, order, iouThreshold, options.maxNum ?? -1);
}

/**
 * IoU bitmask of boxes in score order (typed-array version of the device
 * kernel): word `w` of row `i` has bit `b` set when `j = w * 16 + b > i` and
 * IoU(i, j) > threshold.
 */
export function nmsMaskHost(sorted: Float32Array, iouThreshold: number): Int32Array {
  const n = sorted.length >> 2;
  const words = Math.ceil(n / NMS_MASK_BITS);
  const mask = new Int32Array(n * words);
  for (let i = 0; i < n; i++) {
    const ix1 = sorted[4 * i],
      iy1 = sorted[4 * i + 1],
      ix2 = sorted[4 * i + 2],
      iy2 = sorted[4 * i + 3];
    const ia = f(f(ix2 - ix1) * f(iy2 - iy1));
    for (let j = i + 1; j < n; j++) {
      const jx1 = sorted[4 * j],
        jy1 = sorted[4 * j + 1],
        jx2 = sorted[4 * j + 2],
        jy2 = sorted[4 * j + 3];
      const w = f(Math.min(ix2, jx2) - Math.max(ix1, jx1));
      const h = f(Math.min(iy2, jy2) - Math.max(iy1, jy1));
      const inter = f(Math.max(w, 0) * Math.max(h, 0));
      const ja = f(f(jx2 - jx1) * f(jy2 - jy1));
      const ovr = f(inter / f(f(ia + ja) - inter));
      if (ovr > iouThreshold)
        mask[i * words + ((j / NMS_MASK_BITS) | 0)] |= 1 << (j % NMS_MASK_BITS);
    }
  }
  return mask;
}

registerHostKernel(NMS_MASK_KERNEL, ['boxes'], (inputs, shapes, attrs): HostOutput[] => {
  const n = shapes[0][0];
  const values = nmsMaskHost(inputs[0] as Float32Array, Number(attrs.iouThreshold));
  return [{ shape: [n, Math.ceil(n / NMS_MASK_BITS)], dtype: 'int32', values }];
});

/** Sequential pass over a device-computed mask (rows in score order). */
export function nmsFromMask(mask: Int32Array, n: number, maxNum = -1): Int32Array {
  const words = Math.ceil(n / NMS_MASK_BITS);
  const removed = new Int32Array(words);
  const keep = new Int32Array(n);
  const limit = maxNum > 0 ? maxNum : n;
  let nk = 0;
  for (let i = 0; i < n && nk < limit; i++) {
    if (removed[(i / NMS_MASK_BITS) | 0] & (1 << (i % NMS_MASK_BITS))) continue;
    keep[nk++] = i;
    const row = i * words;
    for (let w = (i / NMS_MASK_BITS) | 0; w < words; w++) removed[w] |= mask[row + w];
  }
  return keep.slice(0, nk);
}

const onDevice = (x: unknown): x is tf.Tensor =>
  x instanceof tf.Tensor && ['webgl', 'webgpu'].includes(tf.getBackend());

function devicePrepare(
  boxes: tf.Tensor,
  scoresArr: Float32Array,
  options: NmsOptions,
): { order: Int32Array; sorted: tf.Tensor } {
  const order = sortByScore(scoresArr, candidates(scoresArr, options.scoreThreshold ?? 0));
  const sorted = tf.tidy(() => tf.gather(tf.cast(tf.reshape(boxes, [-1, 4]), 'float32'), order));
  return { order, sorted };
}

function deviceFinish(mask: Int32Array, order: Int32Array, maxNum: number): Int32Array {
  const k = nmsFromMask(mask, order.length, maxNum);
  const out = new Int32Array(k.length);
  for (let i = 0; i < k.length; i++) out[i] = order[k[i]];
  return out;
}

/**
 * Non-maximum suppression (torchvision `nms`, mmcv `nms` with `offset = 0`).
 * Boxes are visited in descending score order; a box is suppressed when its
 * IoU with a kept box is strictly `> iouThreshold`; equal scores keep the
 * lower index first; NaN scores sort first (as `torch.sort`); zero-area boxes
 * have IoU NaN/0 with everything and are never suppressed nor suppress.
 * Returns kept indices (into the input) in descending score order. On webgl /
 * webgpu with tensor input the IoU bitmask is computed on the device.
 *
 * @example
 * ```ts
 * nms(tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]), tf.tensor1d([0.9, 0.8, 0.7]), 0.5);
 * // Int32Array [0, 2]
 * ```
 */
export function nms(
  boxes: BoxesLike,
  scores: ScoresLike,
  iouThreshold: number,
  options: NmsOptions = {},
): Int32Array {
  if (tf.getBackend() === 'webgpu' && boxes instanceof tf.Tensor) {
    throw new Error(
      'nms: synchronous reads of webgpu tensors are unreliable; use nmsAsync on webgpu.',
    );
  }
  const s = toF32(scores, 'nms scores');
  if (onDevice(boxes)) {
    checkInputs('nms', boxes.size / 4, boxes.size, s.length, iouThreshold);
    const { order, sorted } = devicePrepare(boxes, s, options);
    if (order.length === 0) {
      sorted.dispose();
      return new Int32Array(0);
    }
    const mask = tf
      .engine()
      .runKernel(NMS_MASK_KERNEL, { boxes: sorted }, { iouThreshold }) as tf.Tensor;
    const m = mask.dataSync() as Int32Array;
    mask.dispose();
    sorted.dispose();
    return deviceFinish(Int32Array.from(m), order, options.maxNum ?? -1);
  }
  return nmsHost(toF32(boxes, 'nms boxes'), s, iouThreshold, options);
}

/**
 * {@link nms} reading device data asynchronously (required on webgpu, where
 * synchronous reads are unreliable). Same semantics and result.
 *
 * @example
 * ```ts
 * await nmsAsync(tf.tensor2d([[0, 0, 10, 10], [1, 1, 11, 11]]), tf.tensor1d([0.8, 0.9]), 0.5); // Int32Array [1]
 * ```
 */
export async function nmsAsync(
  boxes: BoxesLike,
  scores: ScoresLike,
  iouThreshold: number,
  options: NmsOptions = {},
): Promise<Int32Array> {
  const s =
    scores instanceof tf.Tensor
      ? Float32Array.from(await scores.data())
      : toF32(scores, 'nms scores');
  if (onDevice(boxes)) {
    checkInputs('nms', boxes.size / 4, boxes.size, s.length, iouThreshold);
    const { order, sorted } = devicePrepare(boxes, s, options);
    if (order.length === 0) {
      sorted.dispose();
      return new Int32Array(0);
    }
    const mask = tf
      .engine()
      .runKernel(NMS_MASK_KERNEL, { boxes: sorted }, { iouThreshold }) as tf.Tensor;
    const m = await mask.data();
    mask.dispose();
    sorted.dispose();
    return deviceFinish(Int32Array.from(m), order, options.maxNum ?? -1);
  }
  const b =
    boxes instanceof tf.Tensor ? Float32Array.from(await boxes.data()) : toF32(boxes, 'nms boxes');
  return nmsHost(b, s, iouThreshold, options);
}

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
 * // Int32Array [0, 1]   (different classes)
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

/** Options of {@link softNms}. */
export interface SoftNmsOptions {
  /** IoU from which `'linear'` (and `'naive'`) decay applies (mmcv default 0.3). */
  iouThreshold?: number;
  /** `'linear'`: score *= 1 - IoU when IoU >= thr; `'gaussian'`: score *= exp(-IoU^2 / sigma); `'naive'`: hard NMS with `>=`. */
  method?: 'linear' | 'gaussian' | 'naive';
  /** Gaussian width (mmcv default 0.5). */
  sigma?: number;
  /** Boxes whose decayed score drops below this are discarded (mmcv default 1e-3). */
  minScore?: number;
}

/**
 * Soft-NMS (Bodla et al. 2017), mmcv `soft_nms` CPU semantics: repeatedly
 * take the highest remaining score (first on ties), decay the others by
 * their IoU with it and drop those falling under `minScore` (swapping in the
 * last box, as mmcv does). Returns the kept indices in selection order and
 * their decayed scores.
 *
 * @example
 * ```ts
 * softNms(tf.tensor2d([[0, 0, 10, 10], [0, 0, 10, 5]]), tf.tensor1d([0.9, 0.8]), { method: 'linear', iouThreshold: 0.3 });
 * // { keep: Int32Array [0, 1], scores: Float32Array [0.9, 0.4] }
 * ```
 */
export function softNms(
  boxes: BoxesLike,
  scores: ScoresLike,
  options: SoftNmsOptions = {},
): { keep: Int32Array; scores: Float32Array } {
  const { iouThreshold = 0.3, method = 'linear', sigma = 0.5, minScore = 1e-3 } = options;
  const methods = ['naive', 'linear', 'gaussian'];
  if (!methods.includes(method))
    throw new Error(`softNms: unknown method '${method}' (expected linear, gaussian or naive).`);
  const b = toF32(boxes, 'softNms boxes');
  const sc = Float32Array.from(toF32(scores, 'softNms scores'));
  checkInputs('softNms', b.length / 4, b.length, sc.length, iouThreshold);
  let n = sc.length;
  const x1 = new Float32Array(n),
    y1 = new Float32Array(n),
    x2 = new Float32Array(n),
    y2 = new Float32Array(n);
  const area = new Float32Array(n);
  const inds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = b[4 * i];
    y1[i] = b[4 * i + 1];
    x2[i] = b[4 * i + 2];
    y2[i] = b[4 * i + 3];
    area[i] = f(f(x2[i] - x1[i]) * f(y2[i] - y1[i]));
    inds[i] = i;
  }
  const swap = (p: number, q: number): void => {
    [x1[p], x1[q]] = [x1[q], x1[p]];
    [y1[p], y1[q]] = [y1[q], y1[p]];
    [x2[p], x2[q]] = [x2[q], x2[p]];
    [y2[p], y2[q]] = [y2[q], y2[p]];
    [sc[p], sc[q]] = [sc[q], sc[p]];
    [area[p], area[q]] = [area[q], area[p]];
    [inds[p], inds[q]] = [inds[q], inds[p]];
  };
  const copy = (to: number, from: number): void => {
    x1[to] = x1[from];
    y1[to] = y1[from];
    x2[to] = x2[from];
    y2[to] = y2[from];
    sc[to] = sc[from];
    area[to] = area[from];
    inds[to] = inds[from];
  };
  for (let i = 0; i < n; i++) {
    let maxPos = i;
    for (let p = i + 1; p < n; p++) if (sc[maxPos] < sc[p]) maxPos = p;
    swap(i, maxPos);
    for (let p = i + 1; p < n; p++) {
      const w = Math.max(0, f(Math.min(x2[i], x2[p]) - Math.max(x1[i], x1[p])));
      const h = Math.max(0, f(Math.min(y2[i], y2[p]) - Math.max(y1[i], y1[p])));
      const inter = f(w * h);
      const ovr = f(inter / f(f(area[i] + area[p]) - inter));
      let weight: number;
      if (method === 'naive') weight = ovr >= iouThreshold ? 0 : 1;
      else if (method === 'linear') weight = ovr >= iouThreshold ? 1 - ovr : 1;
      else weight = Math.exp(-(ovr * ovr) / sigma);
      sc[p] = f(sc[p] * weight);
      if (sc[p] < minScore) {
        copy(p, n - 1);
        n--;
        p--;
      }
    }
  }
  return { keep: inds.slice(0, n), scores: sc.slice(0, n) };
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
 * // { boxes: [0,0,10,10, 1,1,11,11], scores: [0.9, 0.7], labels: [0, 1], indices: [0, 1] }
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
