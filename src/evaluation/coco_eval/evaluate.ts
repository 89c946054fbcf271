/**
 * pycocotools' `COCOeval.evaluate()`: for every cell, (image, category) or
 * (image) without categories, `computeIoU` then `evaluateImg`.
 */
import { computeIoU, EvalScratch, type RunsLookup } from './compute_iou.js';
import type { EvalImgs } from './evaluate_img.js';
import { evaluateImg } from './evaluate_img.js';
import type { DtTable } from './load_res.js';
import type { CocoEvalParams } from './params.js';
import type { GtTable } from './prepare.js';
import { stableSortByScoreDesc } from './sort.js';

/**
 * Evaluate every cell in image-major order: detections stable-sorted by
 * `-score` (ties keep file order, `np.argsort(kind='mergesort')`) and cut to
 * `maxDets[-1]`.
 */
export function evaluate(
  params: CocoEvalParams,
  gts: GtTable,
  dts: DtTable,
  runs: RunsLookup | undefined,
): EvalImgs {
  const { iouType, iouThrs, maxDets, areaRng, useCats } = params;
  const I = params.imgIds.length;
  const Kc = params.catIds.length; // categories used to select annotations
  const K = useCats ? Kc : 1; // categories in the output
  const T = iouThrs.length;
  const A = areaRng.length;
  const maxDetMax = maxDets[maxDets.length - 1] ?? 0;
  const G = gts.cells;
  const D = dts.cells;
  const nCells = I * K;
  const keptIdx = new Int32Array(Math.min(dts.n, nCells * maxDetMax));
  const out: EvalImgs = {
    keptOff: new Int32Array(nCells + 1),
    keptIdx,
    npig: new Int32Array(nCells * A),
    flags: new Uint8Array(keptIdx.length * A * T),
    nKept: 0,
  };
  const { keptOff } = out;
  const s = new EvalScratch();
  const gList: number[] = [];
  const dList: number[] = [];
  for (let i = 0; i < I; i++) {
    for (let k = 0; k < K; k++) {
      const cell = i * K + k;
      keptOff[cell] = out.nKept;
      gList.length = 0;
      dList.length = 0;
      const k0 = useCats ? k : 0;
      const k1 = useCats ? k + 1 : Kc;
      for (let kk = k0; kk < k1; kk++) {
        const c = i * Kc + kk;
        for (let p = G.off[c]; p < G.off[c + 1]; p++) gList.push(G.order[p]);
        for (let p = D.off[c]; p < D.off[c + 1]; p++) dList.push(D.order[p]);
      }
      const nGc = gList.length;
      if (nGc === 0 && dList.length === 0) continue;
      if (dList.length > 1) stableSortByScoreDesc(dList, dts.score);
      const nDc = Math.min(dList.length, maxDetMax);
      for (let d = 0; d < nDc; d++) keptIdx[out.nKept + d] = dList[d]!;
      const ious = computeIoU(iouType, gts, dts, runs, gList, dList, nDc, nGc, s);
      evaluateImg(params, gts, dts, cell, gList, dList, nDc, ious, s, out);
      out.nKept += nDc;
    }
  }
  keptOff[nCells] = out.nKept;
  return out;
}
