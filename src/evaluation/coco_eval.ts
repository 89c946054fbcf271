/**
 * COCO detection evaluation (bbox and segm), identical to pycocotools'
 * `COCOeval` (`evaluate()`, `accumulate()`, `summarize()`), on typed arrays.
 *
 * What is reproduced, step by step, and why it matters for the last digit:
 * - `loadRes`: results get ids 1..N in file order, `area = w*h` of the box
 *   when the first result has a box (even for segm; mmdetection drops boxes
 *   for segm evaluation for that reason), else the mask area; image ids of
 *   results must be ground-truth image ids.
 * - `_prepare`: ground truth `ignore` is its `iscrowd` flag (COCOeval
 *   overwrites any `ignore` field); results of categories outside `catIds` are dropped.
 * - `computeIoU`: detections sorted by `-score` with a stable sort and cut to
 *   `maxDets[-1]` per image and category; IoU as maskApi (`bbIou` in double;
 *   crowd ground truth: intersection over detection area).
 * - `evaluateImg`: area range bounds inclusive (`area < lo || area > hi` is
 *   out), ignored ground truth sorted last (stable), greedy matching in score
 *   order with threshold `min(t, 1 - 1e-10)`, crowd ground truth matchable
 *   many times, matched-to-ignored and unmatched-out-of-range detections ignored.
 * - `accumulate`: per category, area range and maxDet the detections of all
 *   images in image-id order, stable-sorted by `-score`; recall `tp / npig`,
 *   precision `tp / (tp + fp + np.spacing(1))` made monotone, sampled at the
 *   101 recall thresholds with `searchsorted(..., 'left')`; -1 where a
 *   category has no non-ignored ground truth.
 * - `summarize`: means over entries `> -1` summed as `np.mean` does (pairwise
 *   within blocks of 8192 values), so the 12 numbers agree to the bit.
 * - `iouThrs` / `recThrs` as `np.linspace`.
 */
import {
  bboxRuns,
  rleArea,
  rleToBbox,
  runsIouFlat,
  segmentationRuns,
  toRuns,
  type Runs,
  type Segmentation,
} from '../masks/index.js';
import type { CocoJson, CocoResult } from './coco_format.js';

/** Which geometry is compared. */
export type CocoIouType = 'bbox' | 'segm';

/** Parameters of {@link evaluateCoco} (pycocotools `Params`, camelCase). */
export interface CocoEvalOptions {
  iouType?: CocoIouType;
  /** Image ids to evaluate; default all ground-truth images. */
  imgIds?: readonly number[];
  /** Category ids to evaluate; default all ground-truth categories. */
  catIds?: readonly number[];
  /** IoU thresholds; default `np.linspace(.5, .95, 10)`. */
  iouThrs?: readonly number[];
  /** Recall thresholds; default `np.linspace(0, 1, 101)`. */
  recThrs?: readonly number[];
  /** Max detections per image; default `[1, 10, 100]` (sorted). */
  maxDets?: readonly number[];
  /** Area ranges `[lo, hi]` (inclusive); default all/small/medium/large. */
  areaRng?: readonly (readonly [number, number])[];
  /** Labels of `areaRng`; default `['all', 'small', 'medium', 'large']`. */
  areaRngLbl?: readonly string[];
  /** Evaluate per category (default) or category-agnostic (proposals). */
  useCats?: boolean;
}

/** Resolved parameters. */
export interface CocoEvalParams {
  iouType: CocoIouType;
  imgIds: number[];
  catIds: number[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  useCats: boolean;
}

/** Result of {@link evaluateCoco}: pycocotools' `eval` dict and `stats`. */
export interface CocoEvalResult {
  params: CocoEvalParams;
  /** `[T, R, K, A, M]`. */
  counts: [number, number, number, number, number];
  /** Precision `[T][R][K][A][M]`, C order (`precision[(((t*R + r)*K + k)*A + a)*M + m]`); -1 for absent categories. */
  precision: Float64Array;
  /** Recall `[T][K][A][M]`, C order; -1 for absent categories. */
  recall: Float64Array;
  /** Score at each precision sample `[T][R][K][A][M]`. */
  scores: Float64Array;
  /** The 12 summary numbers of `COCOeval.summarize()` (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). */
  stats: number[];
}

/**
 * numpy's `np.linspace(start, stop, num)` (endpoint included), to the bit:
 * `i * step + start` with the last value set to `stop`.
 *
 * @example
 * ```ts
 * linspace(0.5, 0.95, 10)[1]; // 0.55
 * ```
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const out: number[] = [];
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out.push(i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * numpy's pairwise summation of a contiguous float64 array (what `np.mean`
 * uses): 8 accumulators up to 128 values, halving above.
 *
 * @example
 * ```ts
 * pairwiseSum([0.1, 0.2, 0.3]); // 0.6000000000000001
 * ```
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * `np.add.reduce` of a contiguous float64 array as numpy runs it: the
 * iterator hands the loop blocks of at most 8192 values (NPY_BUFSIZE), each
 * summed pairwise and added to the running total that starts at 0.
 *
 * @example
 * ```ts
 * npSum([0.1, 0.2, 0.3]); // 0.6000000000000001
 * ```
 */
export function npSum(a: ArrayLike<number>): number {
  let total = 0;
  for (let start = 0; start < a.length; start += 8192)
    total += pairwiseSum(a, start, Math.min(8192, a.length - start));
  return total;
}

/**
 * Default parameters of pycocotools' `Params` for bbox/segm.
 *
 * @example
 * ```ts
 * defaultCocoParams('bbox').maxDets; // [1, 10, 100]
 * ```
 */
export function defaultCocoParams(
  iouType: CocoIouType = 'bbox',
): Omit<CocoEvalParams, 'imgIds' | 'catIds'> {
  return {
    iouType,
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round((1 - 0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0 ** 2, 1e5 ** 2],
      [0 ** 2, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
    useCats: true,
  };
}

const uniqueSorted = (ids: Iterable<number>): number[] => [...new Set(ids)].sort((a, b) => a - b);

/** Error in the inputs of an evaluation (ids that do not correspond, missing fields). */
export class CocoEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CocoEvalError';
  }
}

/** Stable counting sort of `n` items by integer key in `[0, nKeys)`: returns order and offsets. */
function bucket(keys: Int32Array, nKeys: number): { order: Int32Array; off: Int32Array } {
  const off = new Int32Array(nKeys + 1);
  for (let i = 0; i < keys.length; i++) if (keys[i]! >= 0) off[keys[i]! + 1]!++;
  for (let k = 0; k < nKeys; k++) off[k + 1]! += off[k]!;
  const pos = off.slice(0, nKeys);
  const order = new Int32Array(off[nKeys]!);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k >= 0) order[pos[k]!++] = i;
  }
  return { order, off };
}

/** Stable in-place sort of detection indices by descending score (insertion sort; lists are short). */
function stableSortByScoreDesc(list: number[], score: Float64Array): void {
  if (list.length > 64) {
    const keys = Float64Array.from(list, (d) => score[d]!);
    const out = new Int32Array(list.length);
    argsortDescStable(keys, list.length, out, new Int32Array(list.length));
    const copy = list.slice();
    for (let q = 0; q < list.length; q++) list[q] = copy[out[q]!]!;
    return;
  }
  for (let i = 1; i < list.length; i++) {
    const v = list[i]!;
    const sv = score[v]!;
    let j = i - 1;
    while (j >= 0 && score[list[j]!]! < sv) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = v;
  }
}

/**
 * Stable argsort of `keys[0..n)` by descending value (numpy
 * `argsort(-keys, kind='mergesort')`): bottom-up merge sort into `out`,
 * `work` a scratch buffer of at least `n`.
 */
function argsortDescStable(keys: Float64Array, n: number, out: Int32Array, work: Int32Array): void {
  let src = out;
  let dst = work;
  for (let i = 0; i < n; i++) src[i] = i;
  // insertion sort runs of 16
  for (let lo = 0; lo < n; lo += 16) {
    const hi = Math.min(lo + 16, n);
    for (let i = lo + 1; i < hi; i++) {
      const v = src[i]!;
      const kv = keys[v]!;
      let j = i - 1;
      while (j >= lo && keys[src[j]!]! < kv) {
        src[j + 1] = src[j]!;
        j--;
      }
      src[j + 1] = v;
    }
  }
  for (let width = 16; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        // take from the right only when strictly larger: stable
        if (keys[src[j]!]! > keys[src[i]!]!) dst[o++] = src[j++]!;
        else dst[o++] = src[i++]!;
      }
      while (i < mid) dst[o++] = src[i++]!;
      while (j < hi) dst[o++] = src[j++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== out) out.set(src.subarray(0, n));
}

/**
 * Evaluate detections against a COCO ground truth exactly as pycocotools'
 * `COCOeval(gt, gt.loadRes(dt), iouType)` with `evaluate()`,
 * `accumulate()` and `summarize()`.
 *
 * @param gt COCO data set (images, annotations with `area` and `iscrowd`, categories).
 * @param dt results `[{image_id, category_id, bbox: [x, y, w, h], score, segmentation?}]`.
 * @example
 * ```ts
 * const gt = {
 *   images: [{ id: 1, width: 10, height: 10 }], categories: [{ id: 1, name: 'a' }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 }],
 * };
 * evaluateCoco(gt, [{ image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], score: 0.9 }]).stats;
 * // [0.9999999999999998, 0.9999999999999999, 0.9999999999999999, 0.9999999999999998, -1, -1, 1, 1, 1, 1, -1, -1]
 * // (precision of a perfect detection is 1 / (1 + np.spacing(1)), as in pycocotools)
 * ```
 */
export function evaluateCoco(
  gt: CocoJson,
  dt: readonly CocoResult[],
  options: CocoEvalOptions = {},
): CocoEvalResult {
  const iouType = options.iouType ?? 'bbox';
  if (iouType !== 'bbox' && iouType !== 'segm')
    throw new CocoEvalError(`iouType must be 'bbox' or 'segm', got ${JSON.stringify(iouType)}`);
  const def = defaultCocoParams(iouType);
  const params: CocoEvalParams = {
    iouType,
    imgIds: uniqueSorted(options.imgIds ?? gt.images.map((i) => i.id)),
    catIds: uniqueSorted(options.catIds ?? gt.categories.map((c) => c.id)),
    iouThrs: options.iouThrs ? [...options.iouThrs] : def.iouThrs,
    recThrs: options.recThrs ? [...options.recThrs] : def.recThrs,
    maxDets: options.maxDets ? [...options.maxDets].sort((a, b) => a - b) : def.maxDets,
    areaRng: options.areaRng
      ? options.areaRng.map((r) => [r[0], r[1]] as [number, number])
      : def.areaRng,
    areaRngLbl: options.areaRngLbl ? [...options.areaRngLbl] : def.areaRngLbl,
    useCats: options.useCats ?? true,
  };
  const { imgIds, catIds, iouThrs, recThrs, maxDets, areaRng, useCats } = params;
  const I = imgIds.length;
  const Kc = catIds.length; // categories used to select annotations
  const K = useCats ? Kc : 1; // categories in the output
  const T = iouThrs.length;
  const R = recThrs.length;
  const A = areaRng.length;
  const M = maxDets.length;
  const maxDetMax = maxDets[M - 1] ?? 0;

  const imgIndex = new Map<number, number>();
  imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  catIds.forEach((id, k) => catIndex.set(id, k));
  const gtImgIds = new Set(gt.images.map((i) => i.id));
  const imgSize = new Map<number, [number, number]>();
  for (const im of gt.images) imgSize.set(im.id, [im.height ?? NaN, im.width ?? NaN]);

  // ---- ground truth
  const anns = gt.annotations;
  const nG = anns.length;
  const gKey = new Int32Array(nG);
  const gBox = new Float64Array(nG * 4);
  const gArea = new Float64Array(nG);
  const gCrowd = new Uint8Array(nG);
  const gId = new Float64Array(nG);
  for (let j = 0; j < nG; j++) {
    const a = anns[j]!;
    const i = imgIndex.get(a.image_id);
    const k = catIndex.get(a.category_id);
    gKey[j] = i === undefined || k === undefined ? -1 : i * Kc + k;
    if (gKey[j]! < 0) continue;
    if (iouType === 'bbox') {
      const b = a.bbox;
      if (!b)
        throw new CocoEvalError(`annotations[${j}] (id ${a.id}): bbox evaluation needs a bbox`);
      gBox[j * 4] = b[0]!;
      gBox[j * 4 + 1] = b[1]!;
      gBox[j * 4 + 2] = b[2]!;
      gBox[j * 4 + 3] = b[3]!;
    }
    gArea[j] = a.area;
    gCrowd[j] = a.iscrowd ? 1 : 0;
    gId[j] = a.id;
  }
  const G = bucket(gKey, I * Kc);

  // ---- detections (loadRes)
  const nD = dt.length;
  const dKey = new Int32Array(nD);
  const dBox = new Float64Array(nD * 4);
  const dArea = new Float64Array(nD);
  const dScore = new Float64Array(nD);
  const first = dt[0];
  const boxBranch = first !== undefined && Array.isArray(first.bbox) && first.bbox.length > 0;
  if (first !== undefined && !boxBranch && first.segmentation === undefined) {
    throw new CocoEvalError('results[0] has neither bbox nor segmentation');
  }
  for (let j = 0; j < nD; j++) {
    const d = dt[j]!;
    if (!gtImgIds.has(d.image_id)) {
      throw new CocoEvalError(
        `results[${j}].image_id ${d.image_id} is not an image of the ground truth (results do not correspond to the COCO set)`,
      );
    }
    const i = imgIndex.get(d.image_id);
    const k = catIndex.get(d.category_id);
    dKey[j] = i === undefined || k === undefined ? -1 : i * Kc + k;
    dScore[j] = d.score;
    if (boxBranch) {
      const b = d.bbox;
      if (!b || b.length !== 4)
        throw new CocoEvalError(`results[${j}]: expected bbox [x, y, w, h] like results[0]`);
      dBox.set(b, j * 4);
      dArea[j] = b[2]! * b[3]!;
    } else {
      if (d.segmentation === undefined || Array.isArray(d.segmentation)) {
        throw new CocoEvalError(`results[${j}]: expected an RLE segmentation like results[0]`);
      }
      const r = toRuns(d.segmentation, `results[${j}].segmentation`);
      dArea[j] = rleArea(r);
      dBox.set(d.bbox && d.bbox.length === 4 ? d.bbox : rleToBbox(r), j * 4);
    }
  }
  const D = bucket(dKey, I * Kc);

  // ---- masks (segm)
  let gRuns: (Runs | undefined)[] = [];
  let dRuns: (Runs | undefined)[] = [];
  const sizeOf = (imageId: number, what: string): [number, number] => {
    const s = imgSize.get(imageId)!;
    if (!Number.isInteger(s[0]) || !Number.isInteger(s[1])) {
      throw new CocoEvalError(
        `${what}: segm evaluation needs height and width of image ${imageId}`,
      );
    }
    return s;
  };
  const gtRunsOf = (j: number): Runs => {
    let r = gRuns[j];
    if (!r) {
      const a = anns[j]!;
      if (a.segmentation === undefined)
        throw new CocoEvalError(
          `annotations[${j}] (id ${a.id}): segm evaluation needs a segmentation`,
        );
      const isRle = !Array.isArray(a.segmentation);
      const [h, w] = isRle ? [0, 0] : sizeOf(a.image_id, `annotations[${j}]`);
      r = gRuns[j] = segmentationRuns(
        a.segmentation as Segmentation,
        h,
        w,
        `annotations[${j}].segmentation`,
      );
    }
    return r;
  };
  const dtRunsOf = (j: number): Runs => {
    let r = dRuns[j];
    if (!r) {
      const d = dt[j]!;
      if (d.segmentation === undefined) {
        const [h, w] = sizeOf(d.image_id, `results[${j}]`);
        r = bboxRuns(d.bbox!, h, w);
      } else {
        const isRle = !Array.isArray(d.segmentation);
        const [h, w] = isRle ? [0, 0] : sizeOf(d.image_id, `results[${j}]`);
        r = segmentationRuns(d.segmentation as Segmentation, h, w, `results[${j}].segmentation`);
      }
      dRuns[j] = r;
    }
    return r;
  };
  if (iouType === 'segm') {
    gRuns = new Array(nG);
    dRuns = new Array(nD);
  }

  // ---- evaluate: cells are (image, category) or (image) without categories
  const nCells = I * K;
  const keptOff = new Int32Array(nCells + 1);
  // detections kept per cell (sorted, cut to maxDetMax): original index
  const keptIdx = new Int32Array(Math.min(nD, nCells * maxDetMax));
  const npig = new Int32Array(nCells * A);
  // per kept detection, per area range, per threshold: bit 1 matched (to a gt with a truthy id), bit 2 ignored
  const flags = new Uint8Array(keptIdx.length * A * T);

  const gList: number[] = [];
  const dList: number[] = [];
  let ious = new Float64Array(1024);
  let gtm = new Float64Array(64);
  let gIg = new Uint8Array(64);
  let gOrd = new Int32Array(64);
  let ignA = new Uint8Array(256);
  let resM = new Float64Array(1024);
  let resI = new Uint8Array(1024);
  let nKept = 0;
  const maxIou = 1 - 1e-10;
  let segBoxD = new Float64Array(0);
  let segBoxG = new Float64Array(0);

  for (let i = 0; i < I; i++) {
    for (let k = 0; k < K; k++) {
      const cell = i * K + k;
      keptOff[cell] = nKept;
      gList.length = 0;
      dList.length = 0;
      const k0 = useCats ? k : 0;
      const k1 = useCats ? k + 1 : Kc;
      for (let kk = k0; kk < k1; kk++) {
        const c = i * Kc + kk;
        for (let p = G.off[c]!; p < G.off[c + 1]!; p++) gList.push(G.order[p]!);
        for (let p = D.off[c]!; p < D.off[c + 1]!; p++) dList.push(D.order[p]!);
      }
      const nGc = gList.length;
      if (nGc === 0 && dList.length === 0) continue;
      // stable sort by -score, cut to maxDetMax; ties keep list order (np.argsort(kind='mergesort'))
      if (dList.length > 1) stableSortByScoreDesc(dList, dScore);
      const nDc = Math.min(dList.length, maxDetMax);
      for (let d = 0; d < nDc; d++) keptIdx[nKept + d] = dList[d]!;

      // IoU [d][g] with gts in cell order
      if (ious.length < nDc * nGc) ious = new Float64Array(nDc * nGc * 2);
      if (nDc > 0 && nGc > 0) {
        if (iouType === 'bbox') {
          for (let g = 0; g < nGc; g++) {
            const gj = gList[g]! * 4;
            const gx = gBox[gj]!;
            const gy = gBox[gj + 1]!;
            const gw = gBox[gj + 2]!;
            const gh = gBox[gj + 3]!;
            const ga = gw * gh;
            const crowd = gCrowd[gList[g]!]!;
            for (let d = 0; d < nDc; d++) {
              const dj = dList[d]! * 4;
              const dx = dBox[dj]!;
              const dy = dBox[dj + 1]!;
              const dw = dBox[dj + 2]!;
              const dh = dBox[dj + 3]!;
              let o = 0;
              const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
              if (w > 0) {
                const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
                if (h > 0) {
                  const inter = w * h;
                  const da = dw * dh;
                  o = inter / (crowd ? da : da + ga - inter);
                }
              }
              ious[d * nGc + g] = o;
            }
          }
        } else {
          const dr: Runs[] = [];
          const gr: Runs[] = [];
          if (segBoxD.length < nDc * 4) segBoxD = new Float64Array(nDc * 4);
          if (segBoxG.length < nGc * 4) segBoxG = new Float64Array(nGc * 4);
          const crowd = new Uint8Array(nGc);
          for (let d = 0; d < nDc; d++) {
            const r = dtRunsOf(dList[d]!);
            dr.push(r);
            segBoxD.set(rleToBbox(r), d * 4);
          }
          for (let g = 0; g < nGc; g++) {
            const r = gtRunsOf(gList[g]!);
            gr.push(r);
            segBoxG.set(rleToBbox(r), g * 4);
            crowd[g] = gCrowd[gList[g]!]!;
          }
          runsIouFlat(
            dr,
            gr,
            crowd,
            ious,
            segBoxD.subarray(0, nDc * 4),
            segBoxG.subarray(0, nGc * 4),
          );
        }
      }

      // evaluateImg for every area range
      if (nGc === 0) {
        // nothing to match: a detection is ignored exactly when its area is out of range
        for (let a = 0; a < A; a++) {
          const lo = areaRng[a]![0];
          const hi = areaRng[a]![1];
          for (let d = 0; d < nDc; d++) {
            const ar = dArea[dList[d]!]!;
            const v = ar < lo || ar > hi ? 2 : 0;
            const base = ((nKept + d) * A + a) * T;
            for (let t = 0; t < T; t++) flags[base + t] = v;
          }
        }
        nKept += nDc;
        continue;
      }
      if (gtm.length < nGc) {
        gtm = new Float64Array(nGc * 2);
        gIg = new Uint8Array(nGc * 2);
        gOrd = new Int32Array(nGc * 2);
      }
      if (ignA.length < A * nGc) ignA = new Uint8Array(A * nGc * 2);
      if (resM.length < T * nDc * A) {
        resM = new Float64Array(T * nDc * A * 2);
        resI = new Uint8Array(T * nDc * A * 2);
      }
      for (let a = 0; a < A; a++) {
        const lo = areaRng[a]![0];
        const hi = areaRng[a]![1];
        const ign = ignA.subarray(a * nGc, a * nGc + nGc);
        let nNotIg = 0;
        for (let g = 0; g < nGc; g++) {
          const j = gList[g]!;
          const ar = gArea[j]!;
          ign[g] = gCrowd[j] || ar < lo || ar > hi ? 1 : 0;
          if (!ign[g]) nNotIg++;
        }
        npig[cell * A + a] = nNotIg;
        // the matching depends on the area range only through the ignore
        // flags: reuse the result of an earlier range with the same flags
        let src = a;
        for (let b = 0; b < a && src === a; b++) {
          let same = true;
          for (let g = 0; g < nGc && same; g++) same = ignA[b * nGc + g] === ign[g];
          if (same) src = b;
        }
        if (src === a) {
          // ignored gts last, stable
          let q = 0;
          for (let g = 0; g < nGc; g++) if (!ign[g]) gOrd[q++] = g;
          for (let g = 0; g < nGc; g++) if (ign[g]) gOrd[q++] = g;
          for (let g = 0; g < nGc; g++) gIg[g] = g < nNotIg ? 0 : 1;
          for (let t = 0; t < T; t++) {
            gtm.fill(0, 0, nGc);
            const thr = Math.min(iouThrs[t]!, maxIou);
            const rb = (a * T + t) * nDc;
            for (let d = 0; d < nDc; d++) {
              let iou = thr;
              let m = -1;
              const row = d * nGc;
              for (let g = 0; g < nGc; g++) {
                const og = gOrd[g]!;
                if (gtm[g]! > 0 && !gCrowd[gList[og]!]) continue;
                if (m > -1 && gIg[m] === 0 && gIg[g] === 1) break;
                const v = ious[row + og]!;
                if (v < iou) continue;
                iou = v;
                m = g;
              }
              if (m === -1) {
                resM[rb + d] = 0;
                resI[rb + d] = 0;
                continue;
              }
              resI[rb + d] = gIg[m]!;
              resM[rb + d] = gId[gList[gOrd[m]!]!]!;
              gtm[m] = dList[d]! + 1; // result ids are 1..N
            }
          }
        }
        for (let t = 0; t < T; t++) {
          const rb = (src * T + t) * nDc;
          for (let d = 0; d < nDc; d++) {
            const ar = dArea[dList[d]!]!;
            const matched = resM[rb + d] !== 0;
            const ignored = resI[rb + d] === 1 || (!matched && (ar < lo || ar > hi));
            flags[((nKept + d) * A + a) * T + t] = (matched ? 1 : 0) | (ignored ? 2 : 0);
          }
        }
      }
      nKept += nDc;
    }
  }
  keptOff[nCells] = nKept;

  // ---- accumulate
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const eps = 2.220446049250313e-16; // np.spacing(1)
  // rank of each kept detection within its cell (for the maxDet cut)
  const rank = new Int32Array(nKept);
  for (let c = 0; c < nCells; c++)
    for (let p = keptOff[c]!; p < keptOff[c + 1]!; p++) rank[p] = p - keptOff[c]!;
  const AT = A * T;
  let cap = 0;
  let order = new Int32Array(0);
  let tmp = new Int32Array(0);
  let keys = new Float64Array(0);
  let sRank = new Int32Array(0);
  let sScore = new Float64Array(0);
  let sFlags = new Uint8Array(0);
  let sel = new Int32Array(0);
  let tpPos = new Int32Array(0);
  let pr = new Float64Array(0);
  for (let k = 0; k < K; k++) {
    let n = 0;
    for (let i = 0; i < I; i++) n += keptOff[i * K + k + 1]! - keptOff[i * K + k]!;
    if (n > cap) {
      cap = Math.max(n, cap * 2);
      order = new Int32Array(cap);
      tmp = new Int32Array(cap);
      keys = new Float64Array(cap);
      sRank = new Int32Array(cap);
      sScore = new Float64Array(cap);
      sFlags = new Uint8Array(cap * A * T);
      sel = new Int32Array(cap);
      tpPos = new Int32Array(cap);
      pr = new Float64Array(cap);
    }
    // kept detections of this category in image order (then rank): the concatenation pycocotools sorts
    let q = 0;
    for (let i = 0; i < I; i++) {
      const c = i * K + k;
      for (let p = keptOff[c]!; p < keptOff[c + 1]!; p++) {
        tmp[q] = p;
        keys[q] = dScore[keptIdx[p]!]!;
        q++;
      }
    }
    const conc = tmp.slice(0, n);
    argsortDescStable(keys, n, order, tmp);
    // gather into score order, so that the passes below read one small block
    for (let j = 0; j < n; j++) {
      const o = order[j]!;
      const p = conc[o]!;
      sRank[j] = rank[p]!;
      sScore[j] = keys[o]!;
      const fb = p * AT;
      const sb = j * AT;
      for (let at = 0; at < AT; at++) sFlags[sb + at] = flags[fb + at]!;
    }
    for (let m = 0; m < M; m++) {
      const maxDet = maxDets[m]!;
      let nd = 0;
      for (let j = 0; j < n; j++) if (sRank[j]! < maxDet) sel[nd++] = j;
      for (let a = 0; a < A; a++) {
        let np = 0;
        for (let i = 0; i < I; i++) np += npig[(i * K + k) * A + a]!;
        if (np === 0) continue;
        for (let t = 0; t < T; t++) {
          const fo = a * T + t;
          // Only true positives move recall and raise precision, so the
          // monotone precision envelope and the searchsorted positions are
          // determined by the true-positive entries (and entry 0): record
          // precision there, with the same float operations as numpy.
          let tp = 0;
          let fp = 0;
          let ntp = 0;
          for (let j = 0; j < nd; j++) {
            const f = sFlags[sel[j]! * AT + fo]!;
            if (f === 0) fp++;
            else if (f === 1) {
              tp++;
              tpPos[ntp] = j;
              pr[ntp] = tp / (fp + tp + eps);
              ntp++;
            }
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? tp / np : 0;
          for (let i = ntp - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
          // rc at entry 0 (0 unless entry 0 is a TP); later, rc steps to c/np at the c-th TP
          const firstIsTp = ntp > 0 && tpPos[0] === 0;
          let c = 0; // TPs passed
          let ri = 0;
          for (; ri < R; ri++) {
            const thr = recThrs[ri]!;
            const idx = (((t * R + ri) * K + k) * A + a) * M + m;
            if (nd > 0 && (firstIsTp ? 1 / np : 0) >= thr) {
              // searchsorted gives 0; envelope at 0 = max over everything after
              precision[idx] = ntp > 0 ? pr[0]! : 0;
              scores[idx] = sScore[sel[0]!]!;
              continue;
            }
            while (c < ntp && (c + 1) / np < thr) c++;
            if (c >= ntp) break;
            precision[idx] = pr[c]!;
            scores[idx] = sScore[sel[tpPos[c]!]!]!;
          }
          for (; ri < R; ri++) {
            const idx = (((t * R + ri) * K + k) * A + a) * M + m;
            precision[idx] = 0;
            scores[idx] = 0;
          }
        }
      }
    }
  }

  const result: CocoEvalResult = {
    params,
    counts: [T, R, K, A, M],
    precision,
    recall,
    scores,
    stats: [],
  };
  result.stats = summarizeCoco(result);
  return result;
}

/**
 * Mean of precision (`ap = true`) or recall over entries `> -1`, as
 * `COCOeval.summarize()._summarize`; -1 when there are none. `iouThr`
 * selects one threshold by exact equality, as numpy's `np.where(iouThr == iouThrs)`.
 *
 * @example
 * ```ts
 * summarizeOne(evaluateCoco(gt, dt), true, { iouThr: 0.5, maxDets: 100 }); // 0.9999999999999999 (AP50 of the evaluateCoco example)
 * ```
 */
export function summarizeOne(
  r: CocoEvalResult,
  ap: boolean,
  {
    iouThr,
    areaRng = 'all',
    maxDets = 100,
    catIndex,
  }: { iouThr?: number; areaRng?: string; maxDets?: number; catIndex?: number } = {},
): number {
  const [T, R, K, A, M] = r.counts;
  const p = r.params;
  const ts =
    iouThr === undefined
      ? [...Array(T).keys()]
      : p.iouThrs.flatMap((v, i) => (v === iouThr ? [i] : []));
  const as = p.areaRngLbl.flatMap((l, i) => (l === areaRng ? [i] : []));
  const ms = p.maxDets.flatMap((v, i) => (v === maxDets ? [i] : []));
  const ks = catIndex === undefined ? [...Array(K).keys()] : [catIndex];
  const vals: number[] = [];
  // C order of the selected array: t, r, k, a, m (precision) / t, k, a, m (recall)
  for (const t of ts) {
    if (ap) {
      for (let ri = 0; ri < R; ri++)
        for (const k of ks)
          for (const a of as)
            for (const m of ms) {
              const v = r.precision[(((t * R + ri) * K + k) * A + a) * M + m]!;
              if (v > -1) vals.push(v);
            }
    } else {
      for (const k of ks)
        for (const a of as)
          for (const m of ms) {
            const v = r.recall[((t * K + k) * A + a) * M + m]!;
            if (v > -1) vals.push(v);
          }
    }
  }
  return vals.length === 0 ? -1 : npSum(vals) / vals.length;
}

/**
 * The 12 numbers of `COCOeval.summarize()` for bbox/segm: AP@[.5:.95],
 * AP50, AP75, AP small/medium/large, AR@maxDets[0..2], AR small/medium/large
 * (AP at 100 detections unless stated, the rest at `maxDets[2]`, as pycocotools).
 *
 * @example
 * ```ts
 * summarizeCoco(evaluateCoco(gt, dt)); // the same 12 numbers as evaluateCoco(gt, dt).stats
 * ```
 */
export function summarizeCoco(r: CocoEvalResult): number[] {
  const md = r.params.maxDets;
  const m2 = md[2] ?? NaN;
  return [
    summarizeOne(r, true),
    summarizeOne(r, true, { iouThr: 0.5, maxDets: m2 }),
    summarizeOne(r, true, { iouThr: 0.75, maxDets: m2 }),
    summarizeOne(r, true, { areaRng: 'small', maxDets: m2 }),
    summarizeOne(r, true, { areaRng: 'medium', maxDets: m2 }),
    summarizeOne(r, true, { areaRng: 'large', maxDets: m2 }),
    summarizeOne(r, false, { maxDets: md[0] ?? NaN }),
    summarizeOne(r, false, { maxDets: md[1] ?? NaN }),
    summarizeOne(r, false, { maxDets: m2 }),
    summarizeOne(r, false, { areaRng: 'small', maxDets: m2 }),
    summarizeOne(r, false, { areaRng: 'medium', maxDets: m2 }),
    summarizeOne(r, false, { areaRng: 'large', maxDets: m2 }),
  ];
}

/** Names of the 12 summary numbers, in order. */
export const COCO_STAT_NAMES = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;

/**
 * pycocotools' 12 printed summary lines, e.g.
 * ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505`.
 *
 * @example
 * ```ts
 * formatCocoSummary(evaluateCoco(gt, dt)).split('\n')[0];
 * // ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000' (the evaluateCoco example)
 * ```
 */
export function formatCocoSummary(r: CocoEvalResult): string {
  const p = r.params;
  const md = p.maxDets;
  const f2 = (v: number) => v.toFixed(2);
  const rows: [boolean, number | undefined, string, number][] = [
    [true, undefined, 'all', 100],
    [true, 0.5, 'all', md[2]!],
    [true, 0.75, 'all', md[2]!],
    [true, undefined, 'small', md[2]!],
    [true, undefined, 'medium', md[2]!],
    [true, undefined, 'large', md[2]!],
    [false, undefined, 'all', md[0]!],
    [false, undefined, 'all', md[1]!],
    [false, undefined, 'all', md[2]!],
    [false, undefined, 'small', md[2]!],
    [false, undefined, 'medium', md[2]!],
    [false, undefined, 'large', md[2]!],
  ];
  return rows
    .map(([ap, iouThr, area, maxDets], i) => {
      const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
      const type = ap ? '(AP)' : '(AR)';
      const iou = (
        iouThr === undefined
          ? `${f2(p.iouThrs[0]!)}:${f2(p.iouThrs[p.iouThrs.length - 1]!)}`
          : f2(iouThr)
      ).padEnd(9);
      const v = r.stats[i]!;
      return ` ${title} ${type} @[ IoU=${iou} | area=${area.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${pyFixed3(v)}`;
    })
    .join('\n');
}

/**
 * Python's `'{:0.3f}'.format(v)`: correctly rounded like `toFixed`, except
 * that an exact tie rounds half to even where `toFixed` rounds up.
 *
 * @example
 * ```ts
 * pyFixed3(0.0625); // '0.062' (toFixed gives '0.063')
 * ```
 */
export function pyFixed3(v: number): string {
  const exact = Math.abs(v).toFixed(30);
  const tie = /^\d+\.\d{3}50*$/.exec(exact);
  if (tie) {
    const down = (Math.trunc(Math.abs(v) * 1000) / 1000).toFixed(3);
    const lastDigit = Number(down[down.length - 1]);
    const s = lastDigit % 2 === 0 ? down : (Math.abs(v) + 0.0005).toFixed(3);
    return v < 0 ? `-${s}` : s;
  }
  return v.toFixed(3);
}
