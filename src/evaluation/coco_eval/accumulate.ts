/**
 * pycocotools' `COCOeval.accumulate()`: per category, area range and maxDet
 * the detections of all images in image-id order, stable-sorted by `-score`;
 * recall `tp / npig`, precision `tp / (tp + fp + np.spacing(1))` made
 * monotone, sampled at the recall thresholds with `searchsorted(..., 'left')`;
 * -1 where a category has no non-ignored ground truth.
 */
import type { EvalImgs } from './evaluate_img.js';
import type { CocoEvalParams } from './params.js';
import { argsortDescStable } from './sort.js';

/** pycocotools' `eval` arrays, C order (see `CocoEvalResult`). */
export interface Accumulated {
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

const eps = 2.220446049250313e-16; // np.spacing(1)

/** Buffers of one category, grown to the largest category (never shrunk). */
class AccScratch {
  cap = 0;
  order = new Int32Array(0);
  tmp = new Int32Array(0);
  keys = new Float64Array(0);
  sRank = new Int32Array(0);
  sScore = new Float64Array(0);
  sFlags = new Uint8Array(0);
  sel = new Int32Array(0);
  tpPos = new Int32Array(0);
  pr = new Float64Array(0);

  grow(n: number, AT: number): void {
    if (n <= this.cap) return;
    const cap = (this.cap = Math.max(n, this.cap * 2));
    this.order = new Int32Array(cap);
    this.tmp = new Int32Array(cap);
    this.keys = new Float64Array(cap);
    this.sRank = new Int32Array(cap);
    this.sScore = new Float64Array(cap);
    this.sFlags = new Uint8Array(cap * AT);
    this.sel = new Int32Array(cap);
    this.tpPos = new Int32Array(cap);
    this.pr = new Float64Array(cap);
  }
}

/**
 * The `n` kept detections of category `k` in image order (then rank): the
 * concatenation pycocotools sorts; stable-sorted by `-score` and gathered
 * into score order (rank, score, flags), so that the passes of `accumulate`
 * read one small block.
 */
function gatherCategory(
  ev: EvalImgs,
  rank: Int32Array,
  dScore: Float64Array,
  I: number,
  K: number,
  k: number,
  n: number,
  AT: number,
  b: AccScratch,
): void {
  const { keptOff, keptIdx, flags } = ev;
  const { order, tmp, keys, sRank, sScore, sFlags } = b;
  let q = 0;
  for (let i = 0; i < I; i++) {
    const c = i * K + k;
    for (let p = keptOff[c]; p < keptOff[c + 1]; p++) {
      tmp[q] = p;
      keys[q] = dScore[keptIdx[p]]!;
      q++;
    }
  }
  const conc = tmp.slice(0, n);
  argsortDescStable(keys, n, order, tmp);
  for (let j = 0; j < n; j++) {
    const o = order[j];
    const p = conc[o];
    sRank[j] = rank[p]!;
    sScore[j] = keys[o]!;
    const fb = p * AT;
    const sb = j * AT;
    for (let at = 0; at < AT; at++) sFlags[sb + at] = flags[fb + at]!;
  }
}

/** Precision, recall and scores of every (threshold, recall, category, area, maxDet). */
export function accumulate(
  params: CocoEvalParams,
  ev: EvalImgs,
  dScore: Float64Array,
): Accumulated {
  const { recThrs, maxDets } = params;
  const I = params.imgIds.length;
  const K = params.useCats ? params.catIds.length : 1;
  const T = params.iouThrs.length;
  const R = recThrs.length;
  const A = params.areaRng.length;
  const M = maxDets.length;
  const { keptOff, npig, nKept } = ev;
  const nCells = I * K;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  // rank of each kept detection within its cell (for the maxDet cut)
  const rank = new Int32Array(nKept);
  for (let c = 0; c < nCells; c++)
    for (let p = keptOff[c]; p < keptOff[c + 1]; p++) rank[p] = p - keptOff[c];
  const AT = A * T;
  const b = new AccScratch();
  for (let k = 0; k < K; k++) {
    let n = 0;
    for (let i = 0; i < I; i++) n += keptOff[i * K + k + 1] - keptOff[i * K + k];
    b.grow(n, AT);
    gatherCategory(ev, rank, dScore, I, K, k, n, AT, b);
    const { sRank, sScore, sFlags, sel, tpPos, pr } = b;
    for (let m = 0; m < M; m++) {
      const maxDet = maxDets[m];
      let nd = 0;
      for (let j = 0; j < n; j++) if (sRank[j] < maxDet) sel[nd++] = j;
      for (let a = 0; a < A; a++) {
        let np = 0;
        for (let i = 0; i < I; i++) np += npig[(i * K + k) * A + a];
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
            const f = sFlags[sel[j] * AT + fo];
            if (f === 0) fp++;
            else if (f === 1) {
              tp++;
              tpPos[ntp] = j;
              pr[ntp] = tp / (fp + tp + eps);
              ntp++;
            }
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? tp / np : 0;
          for (let i = ntp - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i]!;
          // rc at entry 0 (0 unless entry 0 is a TP); later, rc steps to c/np at the c-th TP
          const firstIsTp = ntp > 0 && tpPos[0] === 0;
          let c = 0; // TPs passed
          let ri = 0;
          for (; ri < R; ri++) {
            const thr = recThrs[ri];
            const idx = (((t * R + ri) * K + k) * A + a) * M + m;
            if (nd > 0 && (firstIsTp ? 1 / np : 0) >= thr) {
              // searchsorted gives 0; envelope at 0 = max over everything after
              precision[idx] = ntp > 0 ? pr[0] : 0;
              scores[idx] = sScore[sel[0]]!;
              continue;
            }
            while (c < ntp && (c + 1) / np < thr) c++;
            if (c >= ntp) break;
            precision[idx] = pr[c]!;
            scores[idx] = sScore[sel[tpPos[c]]]!;
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
  return { precision, recall, scores };
}
