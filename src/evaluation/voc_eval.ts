/**
 * PASCAL VOC mean average precision, as mmdetection's `eval_map` /
 * `tpfp_default` / `average_precision` (which follow the VOC devkit's
 * `VOCevaldet`): detections of a class are taken in score order over the
 * whole data set; each is matched to the ground truth of its image with the
 * highest IoU; IoU `>= iouThr` on a difficult (ignored) box makes it neither
 * TP nor FP; a second detection of an already matched box is a FP.
 *
 * Number formats follow mmdetection: IoU computed in float32
 * (`bbox_overlaps` casts to float32), precision in float32, recall in
 * float64, AP stored in float32 and the mean taken in float32. Ties in score keep input order (a stable sort, as the devkit's
 * MATLAB `sort`; numpy's default quicksort used by mmdetection does not
 * promise an order for ties).
 */
import { npSum } from './coco_eval.js';

/** Boxes `[N, 4]` (`x1, y1, x2, y2`) as rows or a flat array. */
export type BoxList = readonly (readonly number[])[] | ArrayLike<number>;

/** Detections of one class in one image: `[N, 5]` rows `x1, y1, x2, y2, score`, or flat. */
export type DetList = readonly (readonly number[])[] | ArrayLike<number>;

/** Ground truth of one image for {@link evalMap}. */
export interface MapAnnotation {
  bboxes: BoxList;
  labels: ArrayLike<number>;
  /** Ignored (difficult) boxes: neither TP nor FP when matched. */
  bboxesIgnore?: BoxList;
  labelsIgnore?: ArrayLike<number>;
}

/** Options of {@link evalMap}. */
export interface EvalMapOptions {
  /** IoU threshold, matched with `>=` (default 0.5). */
  iouThr?: number;
  /** `'area'` (VOC2010+, all points) or `'11points'` (VOC2007). Default `'area'`. */
  evalMode?: 'area' | '11points';
  /** Legacy VOC pixel convention: widths and heights are `x2 - x1 + 1` (default false). */
  useLegacyCoordinate?: boolean;
  /** Object scale ranges `[[minSide, maxSide], ...]` (areas `min^2 <= a < max^2`); default one range covering all. */
  scaleRanges?: readonly (readonly [number, number])[];
}

/** Per-class result of {@link evalMap}. */
export interface ClassMapResult {
  /** Non-ignored ground truths (per scale range when `scaleRanges` is given). */
  numGts: number[];
  numDets: number;
  /** Recall after each detection in score order (per scale range). */
  recall: Float64Array[];
  /** Precision after each detection (float32 values). */
  precision: Float64Array[];
  /** AP per scale range. */
  ap: number[];
}

/** Result of {@link evalMap}. */
export interface EvalMapResult {
  /** Mean AP over classes with ground truth (per scale range). */
  mAP: number[];
  classes: ClassMapResult[];
}

const f32 = Math.fround;

/** numpy's pairwise summation of a float32 array (float32 accumulators). */
function pairwiseSumF32(a: readonly number[], start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  if (n <= 128) {
    const r = new Float32Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = r[j] + a[start + i + j];
    let res = f32(
      f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])),
    );
    for (; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f32(pairwiseSumF32(a, start, n2) + pairwiseSumF32(a, start + n2, n - n2));
}
const EPS32 = 1.1920928955078125e-7; // np.finfo(np.float32).eps

function flatten(b: BoxList | DetList | undefined, width: number, what: string): number[] {
  if (!b) return [];
  const first = (b as ArrayLike<unknown>)[0];
  if (Array.isArray(first) || (b as unknown[]).length === 0) {
    const rows = b as readonly (readonly number[])[];
    const out: number[] = [];
    rows.forEach((r, i) => {
      if (r.length < width)
        throw new TypeError(`${what}[${i}]: expected ${width} numbers, got ${r.length}`);
      for (let j = 0; j < width; j++) out.push(r[j]);
    });
    return out;
  }
  const flat = Array.from(b as ArrayLike<number>);
  if (flat.length % width)
    throw new TypeError(`${what}: flat length ${flat.length} is not a multiple of ${width}`);
  return flat;
}

/**
 * float32 IoU of `a` (rows of `stride`) against `b` (rows of 4) as
 * mmdetection's `bbox_overlaps(..., mode='iou', use_legacy_coordinate)`.
 */
function overlapsF32(a: number[], sa: number, b: number[], extra: number): Float32Array {
  const n = a.length / sa;
  const m = b.length / 4;
  const out = new Float32Array(n * m);
  const areaB = new Float32Array(m);
  for (let j = 0; j < m; j++) {
    areaB[j] = f32(
      f32(f32(f32(b[j * 4 + 2]) - f32(b[j * 4])) + extra) *
        f32(f32(f32(b[j * 4 + 3]) - f32(b[j * 4 + 1])) + extra),
    );
  }
  for (let i = 0; i < n; i++) {
    const x1 = f32(a[i * sa]);
    const y1 = f32(a[i * sa + 1]);
    const x2 = f32(a[i * sa + 2]);
    const y2 = f32(a[i * sa + 3]);
    const areaA = f32(f32(f32(x2 - x1) + extra) * f32(f32(y2 - y1) + extra));
    for (let j = 0; j < m; j++) {
      const xs = Math.max(x1, f32(b[j * 4]));
      const ys = Math.max(y1, f32(b[j * 4 + 1]));
      const xe = Math.min(x2, f32(b[j * 4 + 2]));
      const ye = Math.min(y2, f32(b[j * 4 + 3]));
      const ov = f32(
        Math.max(f32(f32(xe - xs) + extra), 0) * Math.max(f32(f32(ye - ys) + extra), 0),
      );
      let union = f32(f32(areaA + areaB[j]) - ov);
      union = Math.max(union, EPS32);
      out[i * m + j] = f32(ov / union);
    }
  }
  return out;
}

/**
 * Stable order of detection rows by descending score (column `col`).
 */
function scoreOrder(dets: number[], stride: number, col: number): number[] {
  const n = dets.length / stride;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((p, q) => f32(dets[q * stride + col]) - f32(dets[p * stride + col]) || p - q);
  return idx;
}

/**
 * TP / FP flags of one image's detections of one class, as mmdetection's
 * `tpfp_default`. Returns `[tp, fp]`, each `[numScales][numDets]`.
 *
 * @param dets flat `[x1, y1, x2, y2, score, ...]`; `gts` / `gtsIgnore` flat `[x1, y1, x2, y2, ...]`.
 * @example
 * ```ts
 * // two detections of one box: the higher score is the TP, the duplicate a FP
 * tpfpDefault([0, 0, 10, 10, 0.9, 0, 0, 10, 10, 0.8], [0, 0, 10, 10], [], 0.5, null, false);
 * // => [[Uint8Array [1, 0]], [Uint8Array [0, 1]]]
 * ```
 */
export function tpfpDefault(
  dets: number[],
  gts: number[],
  gtsIgnore: number[],
  iouThr: number,
  areaRanges: readonly (readonly [number, number])[] | null,
  useLegacyCoordinate: boolean,
): [Uint8Array[], Uint8Array[]] {
  const extra = useLegacyCoordinate ? 1 : 0;
  const nd = dets.length / 5;
  const ng = gts.length / 4;
  const allG = gts.concat(gtsIgnore);
  const nAll = allG.length / 4;
  const ranges = areaRanges ?? [null];
  const tp = ranges.map(() => new Uint8Array(nd));
  const fp = ranges.map(() => new Uint8Array(nd));
  const detArea = (i: number) =>
    f32(
      f32(f32(f32(dets[i * 5 + 2]) - f32(dets[i * 5])) + extra) *
        f32(f32(f32(dets[i * 5 + 3]) - f32(dets[i * 5 + 1])) + extra),
    );
  if (nAll === 0) {
    ranges.forEach((r, k) => {
      for (let i = 0; i < nd; i++)
        if (!r || (detArea(i) >= f32(r[0]) && detArea(i) < f32(r[1]))) fp[k][i] = 1;
    });
    return [tp, fp];
  }
  const ious = overlapsF32(dets, 5, allG, extra);
  const iouMax = new Float32Array(nd);
  const iouArg = new Int32Array(nd);
  for (let i = 0; i < nd; i++) {
    let best = -Infinity;
    let arg = 0;
    for (let j = 0; j < nAll; j++) {
      const v = ious[i * nAll + j];
      if (v > best) {
        best = v;
        arg = j;
      }
    }
    iouMax[i] = best;
    iouArg[i] = arg;
  }
  const order = scoreOrder(dets, 5, 4);
  const thr = f32(iouThr);
  ranges.forEach((r, k) => {
    const covered = new Uint8Array(nAll);
    const areaIgnore = new Uint8Array(nAll);
    if (r) {
      for (let j = 0; j < nAll; j++) {
        const a = f32(
          f32(f32(f32(allG[j * 4 + 2]) - f32(allG[j * 4])) + extra) *
            f32(f32(f32(allG[j * 4 + 3]) - f32(allG[j * 4 + 1])) + extra),
        );
        areaIgnore[j] = a < f32(r[0]) || a >= f32(r[1]) ? 1 : 0;
      }
    }
    for (const i of order) {
      if (iouMax[i] >= thr) {
        const g = iouArg[i];
        if (!(g >= ng || areaIgnore[g])) {
          if (!covered[g]) {
            covered[g] = 1;
            tp[k][i] = 1;
          } else fp[k][i] = 1;
        }
      } else if (!r) fp[k][i] = 1;
      else {
        const a = detArea(i);
        if (a >= f32(r[0]) && a < f32(r[1])) fp[k][i] = 1;
      }
    }
  });
  return [tp, fp];
}

/**
 * Average precision from recall/precision curves, as mmdetection's
 * `average_precision`: `'area'` integrates the monotone precision envelope
 * over recall steps; `'11points'` averages the best precision at recall
 * >= 0, 0.1, ..., 1.
 *
 * @example
 * ```ts
 * averagePrecision([0.5, 1], [1, 0.5], 'area'); // => 0.75
 * averagePrecision([0.5, 1], [1, 0.5], '11points'); // => 0.7727272510528564 (float32, as mmdetection)
 * ```
 */
export function averagePrecision(
  recalls: ArrayLike<number>,
  precisions: ArrayLike<number>,
  mode: 'area' | '11points' = 'area',
): number {
  const n = recalls.length;
  if (mode === 'area') {
    const mrec = new Float64Array(n + 2);
    const mpre = new Float64Array(n + 2);
    mrec[n + 1] = 1;
    for (let i = 0; i < n; i++) {
      mrec[i + 1] = recalls[i]!;
      mpre[i + 1] = precisions[i]!;
    }
    for (let i = n + 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
    const terms: number[] = [];
    for (let i = 0; i < n + 1; i++)
      if (mrec[i + 1] !== mrec[i]) terms.push((mrec[i + 1] - mrec[i]) * mpre[i + 1]);
    return f32(npSum(terms)); // np.sum, stored into a float32 array
  }
  if (mode !== '11points')
    throw new RangeError(`evalMode must be 'area' or '11points', got ${JSON.stringify(mode)}`);
  let ap = 0; // float32, as mmdetection's `ap` array
  for (let t = 0; t < 11; t++) {
    const thr = t * 0.1; // np.arange(0, 1 + 1e-3, 0.1)
    let best = -Infinity;
    for (let i = 0; i < n; i++)
      if (recalls[i] >= thr && precisions[i] > best) best = precisions[i]!;
    ap = f32(ap + (best === -Infinity ? 0 : best));
  }
  return f32(ap / 11);
}

/**
 * Mean AP over classes of a detection data set, as mmdetection's `eval_map`
 * (`tpfp_default`; `dataset`/`ioaThr`/group-of options not supported).
 *
 * @param detResults per image, per class: detections `[N, 5]` (`x1, y1, x2, y2, score`).
 * @param annotations per image: ground truth boxes and labels, plus ignored (difficult) ones.
 * @example
 * ```ts
 * const r = evalMap(
 *   [[[[0, 0, 10, 10, 0.9], [20, 20, 30, 30, 0.8]]]],
 *   [{ bboxes: [[0, 0, 10, 10]], labels: [0] }],
 * );
 * r.mAP; // => [1]
 * ```
 */
export function evalMap(
  detResults: readonly (readonly DetList[])[],
  annotations: readonly MapAnnotation[],
  options: EvalMapOptions = {},
): EvalMapResult {
  const iouThr = options.iouThr ?? 0.5;
  const mode = options.evalMode ?? 'area';
  const legacy = options.useLegacyCoordinate ?? false;
  const extra = legacy ? 1 : 0;
  if (detResults.length !== annotations.length) {
    throw new RangeError(
      `evalMap: ${detResults.length} detection results but ${annotations.length} annotations`,
    );
  }
  const areaRanges = options.scaleRanges
    ? options.scaleRanges.map(([a, b]) => [a ** 2, b ** 2] as const)
    : null;
  const S = areaRanges ? areaRanges.length : 1;
  const numClasses = detResults[0]?.length ?? 0;
  const classes: ClassMapResult[] = [];
  for (let c = 0; c < numClasses; c++) {
    const allScores: number[] = [];
    const allTp: Uint8Array[][] = [];
    const allFp: Uint8Array[][] = [];
    const numGts = new Array<number>(S).fill(0);
    for (let i = 0; i < detResults.length; i++) {
      const perClass = detResults[i];
      if (perClass.length !== numClasses)
        throw new RangeError(
          `evalMap: image ${i} has ${perClass.length} classes, expected ${numClasses}`,
        );
      const dets = flatten(perClass[c], 5, `detResults[${i}][${c}]`);
      const ann = annotations[i];
      const gAll = flatten(ann.bboxes, 4, `annotations[${i}].bboxes`);
      const gts: number[] = [];
      for (let j = 0; j < ann.labels.length; j++)
        if (ann.labels[j] === c) gts.push(...gAll.slice(j * 4, j * 4 + 4));
      const igAll = flatten(ann.bboxesIgnore, 4, `annotations[${i}].bboxesIgnore`);
      const ig: number[] = [];
      const li = ann.labelsIgnore ?? [];
      for (let j = 0; j < li.length; j++)
        if (li[j] === c) ig.push(...igAll.slice(j * 4, j * 4 + 4));
      const [tp, fp] = tpfpDefault(dets, gts, ig, iouThr, areaRanges, legacy);
      allTp.push(tp);
      allFp.push(fp);
      for (let d = 0; d < dets.length / 5; d++) allScores.push(dets[d * 5 + 4]);
      if (!areaRanges) numGts[0] += gts.length / 4;
      else {
        for (let j = 0; j < gts.length / 4; j++) {
          const a = f32(
            f32(f32(f32(gts[j * 4 + 2]) - f32(gts[j * 4])) + extra) *
              f32(f32(f32(gts[j * 4 + 3]) - f32(gts[j * 4 + 1])) + extra),
          );
          areaRanges.forEach(([lo, hi], k) => {
            if (a >= f32(lo) && a < f32(hi)) numGts[k]++;
          });
        }
      }
    }
    const nd = allScores.length;
    const order = scoreOrder(allScores, 1, 0);
    const recall: Float64Array[] = [];
    const precision: Float64Array[] = [];
    const ap: number[] = [];
    for (let k = 0; k < S; k++) {
      const tpFlat = new Uint8Array(nd);
      const fpFlat = new Uint8Array(nd);
      let p = 0;
      for (let i = 0; i < allTp.length; i++) {
        tpFlat.set(allTp[i][k], p);
        fpFlat.set(allFp[i][k], p);
        p += allTp[i][k].length;
      }
      const rec = new Float64Array(nd);
      const prec = new Float64Array(nd);
      let tp = 0;
      let fp = 0;
      const denom = Math.max(numGts[k], EPS32);
      for (let j = 0; j < nd; j++) {
        const o = order[j];
        tp += tpFlat[o];
        fp += fpFlat[o];
        rec[j] = tp / denom;
        prec[j] = f32(tp / Math.max(tp + fp, EPS32));
      }
      recall.push(rec);
      precision.push(prec);
      ap.push(averagePrecision(rec, prec, mode));
    }
    classes.push({ numGts, numDets: nd, recall, precision, ap });
  }
  const mAP: number[] = [];
  for (let k = 0; k < S; k++) {
    const aps = classes.filter((r) => r.numGts[k] > 0).map((r) => r.ap[k]);
    // np.array(aps).mean() of float32 values: float32 pairwise sum and quotient
    mAP.push(aps.length ? f32(pairwiseSumF32(aps) / aps.length) : 0);
  }
  return { mAP, classes };
}
