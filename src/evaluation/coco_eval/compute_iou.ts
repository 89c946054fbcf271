/**
 * pycocotools' `COCOeval.computeIoU` for one cell: IoU `[d][g]` of the kept
 * detections (sorted by `-score`, cut to `maxDets[-1]`) and the cell's ground
 * truth, as maskApi computes it (`bbIou` in double; crowd ground truth:
 * intersection over detection area).
 */
import {
  bboxRuns,
  rleToBbox,
  runsIouFlat,
  segmentationRuns,
  type Runs,
} from '../../masks/index.js';
import type { CocoJson, CocoResult } from '../coco_format.js';
import { CocoEvalError, type CocoIouType } from './params.js';
import type { GtTable } from './prepare.js';
import type { DtTable } from './load_res.js';

/** Masks of annotations and results, converted to runs on first use (segm). */
export interface RunsLookup {
  gtRunsOf(j: number): Runs;
  dtRunsOf(j: number): Runs;
}

/** Buffers the evaluation reuses from cell to cell (grown, never shrunk). */
export class EvalScratch {
  ious = new Float64Array(1024);
  gtm = new Float64Array(64);
  gIg = new Uint8Array(64);
  gOrd = new Int32Array(64);
  ignA = new Uint8Array(256);
  resM = new Float64Array(1024);
  resI = new Uint8Array(1024);
  segBoxD = new Float64Array(0);
  segBoxG = new Float64Array(0);
}

/**
 * The lazy mask conversion: polygons need the image size, a result without
 * a segmentation is its box.
 */
export function runsLookup(gt: CocoJson, dt: readonly CocoResult[]): RunsLookup {
  const anns = gt.annotations;
  const imgSize = new Map<number, [number, number, number]>();
  // a reused id: the last entry, as pycocotools' `imgs` dict
  gt.images.forEach((im, i) => imgSize.set(im.id, [im.height ?? NaN, im.width ?? NaN, i]));
  const gRuns: (Runs | undefined)[] = new Array(anns.length);
  const dRuns: (Runs | undefined)[] = new Array(dt.length);
  // polygons and boxes are rasterized at the image size, which the ground truth gives
  const sizeOf = (imageId: number, what: string): [number, number] => {
    const [h, w, i] = imgSize.get(imageId)!;
    if (!Number.isInteger(h) || !Number.isInteger(w)) {
      throw new CocoEvalError(
        `images[${i}] (id ${imageId}): no height and width, which segm evaluation needs to rasterize ${what}`,
        true,
      );
    }
    return [h, w];
  };
  const gtRunsOf = (j: number): Runs => {
    let r = gRuns[j];
    if (!r) {
      const a = anns[j];
      if (a.segmentation === undefined)
        throw new CocoEvalError(
          `annotations[${j}] (id ${a.id}): segm evaluation needs a segmentation`,
          true,
        );
      const isRle = !Array.isArray(a.segmentation);
      const [h, w] = isRle ? [0, 0] : sizeOf(a.image_id, `the polygons of annotations[${j}]`);
      r = gRuns[j] = segmentationRuns(a.segmentation, h, w, `annotations[${j}].segmentation`);
    }
    return r;
  };
  const dtRunsOf = (j: number): Runs => {
    let r = dRuns[j];
    if (!r) {
      const d = dt[j];
      if (d.segmentation === undefined) {
        const [h, w] = sizeOf(d.image_id, `the box of results[${j}]`);
        r = bboxRuns(d.bbox!, h, w);
      } else {
        const isRle = !Array.isArray(d.segmentation);
        const [h, w] = isRle ? [0, 0] : sizeOf(d.image_id, `the polygons of results[${j}]`);
        r = segmentationRuns(d.segmentation, h, w, `results[${j}].segmentation`);
      }
      dRuns[j] = r;
    }
    return r;
  };
  return { gtRunsOf, dtRunsOf };
}

/**
 * IoU `[d][g]` (row-major, `nGc` columns) of the first `nDc` detections of
 * `dList` and the ground truth `gList` of one cell, into `s.ious` (grown when
 * too small); returns the buffer.
 */
export function computeIoU(
  iouType: CocoIouType,
  gts: GtTable,
  dts: DtTable,
  runs: RunsLookup | undefined,
  gList: readonly number[],
  dList: readonly number[],
  nDc: number,
  nGc: number,
  s: EvalScratch,
): Float64Array {
  if (s.ious.length < nDc * nGc) s.ious = new Float64Array(nDc * nGc * 2);
  const ious = s.ious;
  if (nDc === 0 || nGc === 0) return ious;
  if (iouType === 'bbox') {
    bboxIou(gts, dts, gList, dList, nDc, nGc, ious);
    return ious;
  }
  const dr: Runs[] = [];
  const gr: Runs[] = [];
  if (s.segBoxD.length < nDc * 4) s.segBoxD = new Float64Array(nDc * 4);
  if (s.segBoxG.length < nGc * 4) s.segBoxG = new Float64Array(nGc * 4);
  const segBoxD = s.segBoxD;
  const segBoxG = s.segBoxG;
  const crowd = new Uint8Array(nGc);
  for (let d = 0; d < nDc; d++) {
    const r = runs!.dtRunsOf(dList[d]);
    dr.push(r);
    segBoxD.set(rleToBbox(r), d * 4);
  }
  for (let g = 0; g < nGc; g++) {
    const r = runs!.gtRunsOf(gList[g]);
    gr.push(r);
    segBoxG.set(rleToBbox(r), g * 4);
    crowd[g] = gts.crowd[gList[g]]!;
  }
  runsIouFlat(dr, gr, crowd, ious, segBoxD.subarray(0, nDc * 4), segBoxG.subarray(0, nGc * 4));
  return ious;
}

/** maskApi's `bbIou` on `[x, y, w, h]` boxes, in double. */
function bboxIou(
  gts: GtTable,
  dts: DtTable,
  gList: readonly number[],
  dList: readonly number[],
  nDc: number,
  nGc: number,
  ious: Float64Array,
): void {
  const gBox = gts.box;
  const gCrowd = gts.crowd;
  const dBox = dts.box;
  for (let g = 0; g < nGc; g++) {
    const gj = gList[g] * 4;
    const gx = gBox[gj];
    const gy = gBox[gj + 1];
    const gw = gBox[gj + 2];
    const gh = gBox[gj + 3];
    const ga = gw * gh;
    const crowd = gCrowd[gList[g]];
    for (let d = 0; d < nDc; d++) {
      const dj = dList[d] * 4;
      const dx = dBox[dj];
      const dy = dBox[dj + 1];
      const dw = dBox[dj + 2];
      const dh = dBox[dj + 3];
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
}
