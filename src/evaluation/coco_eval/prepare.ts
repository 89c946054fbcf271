/**
 * pycocotools' `COCOeval._prepare`, ground-truth side: the annotations of the
 * evaluated images and categories, bucketed by (image, category) cell.
 */
import type { CocoJson } from '../coco_format.js';
import { CocoEvalError, type CocoEvalParams } from './params.js';
import { bucket } from './sort.js';

/** Positions of image and category ids in `params.imgIds` / `params.catIds`. */
export interface CocoIndex {
  imgIndex: Map<number, number>;
  catIndex: Map<number, number>;
  /** Number of categories used to select annotations (`catIds.length`). */
  Kc: number;
  /** Number of (image, category) selection cells: `imgIds.length * Kc`. */
  nKeys: number;
}

/** Ground truth as typed arrays, one entry per annotation, in file order. */
export interface GtTable {
  n: number;
  /** `[x, y, w, h]` per annotation (bbox evaluation only). */
  box: Float64Array;
  area: Float64Array;
  /** `iscrowd`, which is also pycocotools' `ignore` flag. */
  crowd: Uint8Array;
  id: Float64Array;
  /** Annotations per selection cell `i * Kc + k` (stable: file order). */
  cells: { order: Int32Array; off: Int32Array };
}

/** The index of the resolved parameters. */
export function cocoIndex(params: CocoEvalParams): CocoIndex {
  const imgIndex = new Map<number, number>();
  params.imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  params.catIds.forEach((id, k) => catIndex.set(id, k));
  const Kc = params.catIds.length;
  return { imgIndex, catIndex, Kc, nKeys: params.imgIds.length * Kc };
}

/**
 * `_prepare` for the ground truth: `ignore` is the `iscrowd` flag (COCOeval
 * overwrites any `ignore` field); annotations outside `imgIds` / `catIds`
 * are in no cell.
 */
export function prepareGts(gt: CocoJson, params: CocoEvalParams, index: CocoIndex): GtTable {
  const { imgIndex, catIndex, Kc } = index;
  const anns = gt.annotations;
  const nG = anns.length;
  const gKey = new Int32Array(nG);
  const gBox = new Float64Array(nG * 4);
  const gArea = new Float64Array(nG);
  const gCrowd = new Uint8Array(nG);
  const gId = new Float64Array(nG);
  for (let j = 0; j < nG; j++) {
    const a = anns[j];
    const i = imgIndex.get(a.image_id);
    const k = catIndex.get(a.category_id);
    gKey[j] = i === undefined || k === undefined ? -1 : i * Kc + k;
    if (gKey[j] < 0) continue;
    if (params.iouType === 'bbox') {
      const b = a.bbox;
      if (!b)
        throw new CocoEvalError(
          `annotations[${j}] (id ${a.id}): bbox evaluation needs a bbox`,
          true,
        );
      gBox[j * 4] = b[0]!;
      gBox[j * 4 + 1] = b[1]!;
      gBox[j * 4 + 2] = b[2]!;
      gBox[j * 4 + 3] = b[3]!;
    }
    gArea[j] = a.area;
    gCrowd[j] = a.iscrowd ? 1 : 0;
    gId[j] = a.id;
  }
  return {
    n: nG,
    box: gBox,
    area: gArea,
    crowd: gCrowd,
    id: gId,
    cells: bucket(gKey, index.nKeys),
  };
}
