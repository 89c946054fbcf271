/**
 * pycocotools' `COCO.loadRes`, with the detection side of `_prepare`: results
 * as typed arrays, bucketed by (image, category) cell.
 */
import { rleArea, rleToBbox, toRuns } from '../../masks/index.js';
import type { CocoJson, CocoResult } from '../coco_format.js';
import { CocoEvalError } from './params.js';
import type { CocoIndex } from './prepare.js';
import { bucket } from './sort.js';

/** Detections as typed arrays, one entry per result, in file order (result id `j + 1`). */
export interface DtTable {
  n: number;
  /** `[x, y, w, h]` per result (from the mask when a segm result has no box). */
  box: Float64Array;
  area: Float64Array;
  score: Float64Array;
  /** Results per selection cell `i * Kc + k` (stable: file order). */
  cells: { order: Int32Array; off: Int32Array };
}

/**
 * `loadRes`: results get ids 1..N in file order, `area = w*h` of the box
 * when the first result has a box (even for segm), else the mask area;
 * image ids of results must be ground-truth image ids. Results of
 * categories outside `catIds` are in no cell (`_prepare`).
 */
export function loadRes(gt: CocoJson, dt: readonly CocoResult[], index: CocoIndex): DtTable {
  const { imgIndex, catIndex, Kc } = index;
  const gtImgIds = new Set(gt.images.map((i) => i.id));
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
    const d = dt[j];
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
        throw new CocoEvalError(
          `results[${j}].bbox: missing; results[0] has a bbox, so every result needs a bbox [x, y, w, h]`,
        );
      dBox.set(b, j * 4);
      dArea[j] = b[2] * b[3];
    } else {
      if (d.segmentation === undefined || Array.isArray(d.segmentation)) {
        throw new CocoEvalError(
          d.segmentation === undefined
            ? `results[${j}].segmentation: missing; results[0] has a segmentation and no bbox, so every result needs an RLE segmentation`
            : `results[${j}].segmentation: results segmentations must be RLE {size, counts}, got polygons`,
        );
      }
      const r = toRuns(d.segmentation, `results[${j}].segmentation`);
      dArea[j] = rleArea(r);
      dBox.set(d.bbox && d.bbox.length === 4 ? d.bbox : rleToBbox(r), j * 4);
    }
  }
  return { n: nD, box: dBox, area: dArea, score: dScore, cells: bucket(dKey, index.nKeys) };
}
