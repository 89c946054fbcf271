/**
 * pycocotools' `COCOeval.evaluateImg` for one cell and every area range:
 * area range bounds inclusive (`area < lo || area > hi` is out), ignored
 * ground truth sorted last (stable), greedy matching in score order with
 * threshold `min(t, 1 - 1e-10)`, crowd ground truth matchable many times,
 * matched-to-ignored and unmatched-out-of-range detections ignored.
 */
import type { EvalScratch } from './compute_iou.js';
import type { DtTable } from './load_res.js';
import type { CocoEvalParams } from './params.js';
import type { GtTable } from './prepare.js';

/** What `evaluate()` keeps of every cell, for `accumulate()`. */
export interface EvalImgs {
  /** Kept detections of cell `c` are `keptIdx[keptOff[c] .. keptOff[c + 1])`. */
  keptOff: Int32Array;
  /** Original index of each kept detection (sorted by `-score`, cut to `maxDets[-1]`). */
  keptIdx: Int32Array;
  /** Non-ignored ground truth per cell and area range `[cell * A + a]`. */
  npig: Int32Array;
  /**
   * Per kept detection, per area range, per threshold `[(p * A + a) * T + t]`:
   * bit 1 matched (to a gt with a truthy id), bit 2 ignored.
   */
  flags: Uint8Array;
  /** Kept detections so far. */
  nKept: number;
}

const maxIou = 1 - 1e-10;

/**
 * Match the `nDc` kept detections `dList` of cell `cell` to its ground truth
 * `gList` (IoU `ious[d * nGc + g]`), writing `out.npig` and the flags of the
 * detections from `out.nKept` on.
 */
export function evaluateImg(
  params: CocoEvalParams,
  gts: GtTable,
  dts: DtTable,
  cell: number,
  gList: readonly number[],
  dList: readonly number[],
  nDc: number,
  ious: Float64Array,
  s: EvalScratch,
  out: EvalImgs,
): void {
  const { areaRng, iouThrs } = params;
  const A = areaRng.length;
  const T = iouThrs.length;
  const nGc = gList.length;
  const { flags, npig, nKept } = out;
  const dArea = dts.area;
  if (nGc === 0) {
    // nothing to match: a detection is ignored exactly when its area is out of range
    for (let a = 0; a < A; a++) {
      const lo = areaRng[a][0];
      const hi = areaRng[a][1];
      for (let d = 0; d < nDc; d++) {
        const ar = dArea[dList[d]];
        const v = ar < lo || ar > hi ? 2 : 0;
        const base = ((nKept + d) * A + a) * T;
        for (let t = 0; t < T; t++) flags[base + t] = v;
      }
    }
    return;
  }
  const { area: gArea, crowd: gCrowd, id: gId } = gts;
  if (s.gtm.length < nGc) {
    s.gtm = new Float64Array(nGc * 2);
    s.gIg = new Uint8Array(nGc * 2);
    s.gOrd = new Int32Array(nGc * 2);
  }
  if (s.ignA.length < A * nGc) s.ignA = new Uint8Array(A * nGc * 2);
  if (s.resM.length < T * nDc * A) {
    s.resM = new Float64Array(T * nDc * A * 2);
    s.resI = new Uint8Array(T * nDc * A * 2);
  }
  const { gtm, gIg, gOrd, ignA, resM, resI } = s;
  for (let a = 0; a < A; a++) {
    const lo = areaRng[a][0];
    const hi = areaRng[a][1];
    const ign = ignA.subarray(a * nGc, a * nGc + nGc);
    let nNotIg = 0;
    for (let g = 0; g < nGc; g++) {
      const j = gList[g];
      const ar = gArea[j];
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
        const thr = Math.min(iouThrs[t], maxIou);
        const rb = (a * T + t) * nDc;
        for (let d = 0; d < nDc; d++) {
          let iou = thr;
          let m = -1;
          const row = d * nGc;
          for (let g = 0; g < nGc; g++) {
            const og = gOrd[g];
            if (gtm[g] > 0 && !gCrowd[gList[og]]) continue;
            if (m > -1 && gIg[m] === 0 && gIg[g] === 1) break;
            const v = ious[row + og];
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
          resM[rb + d] = gId[gList[gOrd[m]]]!;
          gtm[m] = dList[d] + 1; // result ids are 1..N
        }
      }
    }
    for (let t = 0; t < T; t++) {
      const rb = (src * T + t) * nDc;
      for (let d = 0; d < nDc; d++) {
        const ar = dArea[dList[d]];
        const matched = resM[rb + d] !== 0;
        const ignored = resI[rb + d] === 1 || (!matched && (ar < lo || ar > hi));
        flags[((nKept + d) * A + a) * T + t] = (matched ? 1 : 0) | (ignored ? 2 : 0);
      }
    }
  }
}
