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
import type { CocoJson, CocoResult } from './coco_format.js';
import { accumulate } from './coco_eval/accumulate.js';
import { runsLookup } from './coco_eval/compute_iou.js';
import { evaluate } from './coco_eval/evaluate.js';
import { loadRes } from './coco_eval/load_res.js';
import {
  CocoEvalError,
  resolveParams,
  type CocoEvalOptions,
  type CocoEvalResult,
} from './coco_eval/params.js';
import { cocoIndex, prepareGts } from './coco_eval/prepare.js';
import { summarizeCoco } from './coco_eval/summarize.js';

export {
  CocoEvalError,
  defaultCocoParams,
  linspace,
  type CocoEvalOptions,
  type CocoEvalParams,
  type CocoEvalResult,
  type CocoIouType,
} from './coco_eval/params.js';
export {
  COCO_STAT_NAMES,
  formatCocoSummary,
  npSum,
  pairwiseSum,
  pyFixed3,
  summarizeCoco,
  summarizeOne,
} from './coco_eval/summarize.js';

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
 * // => [0.9999999999999998, 0.9999999999999999, 0.9999999999999999, 0.9999999999999998, -1, -1, 1, 1, 1, 1, -1, -1]
 * // (precision of a perfect detection is 1 / (1 + np.spacing(1)), as in pycocotools)
 * ```
 */
export function evaluateCoco(
  gt: CocoJson,
  dt: readonly CocoResult[],
  options: CocoEvalOptions = {},
): CocoEvalResult {
  const params = resolveParams(gt, options);
  const index = cocoIndex(params);
  // errors name the file of the side that lacks something
  const named = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof CocoEvalError)) throw e;
      const file = e.inGt ? options.gtFile : options.resultsFile;
      throw file ? new CocoEvalError(`${file}: ${e.message}`, e.inGt) : e;
    }
  };
  const gts = named(() => prepareGts(gt, params, index));
  const dts = named(() => loadRes(gt, dt, index));
  const runs = params.iouType === 'segm' ? runsLookup(gt, dt) : undefined;
  const ev = named(() => evaluate(params, gts, dts, runs));
  const { precision, recall, scores } = accumulate(params, ev, dts.score);
  const K = params.useCats ? params.catIds.length : 1;
  const result: CocoEvalResult = {
    params,
    counts: [
      params.iouThrs.length,
      params.recThrs.length,
      K,
      params.areaRng.length,
      params.maxDets.length,
    ],
    precision,
    recall,
    scores,
    stats: [],
  };
  result.stats = summarizeCoco(result);
  return result;
}
