/**
 * The sequential core of the NMS family over typed arrays: score order
 * (torch's, NaN first, ties by index), candidate filtering, input checks and
 * the greedy pass. IoUs are computed in float32 arithmetic (every step
 * rounded with `Math.fround`) so that borderline suppressions decide as
 * torchvision's float kernels do.
 */
import type * as tf from '@tensorflow/tfjs-core';

export const f = Math.fround;

export type BoxesLike = tf.Tensor | Float32Array | number[] | number[][];
export type ScoresLike = tf.Tensor | Float32Array | number[];

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const IDX_BITS = 2 ** 21;

/**
 * Order of `idx` by score, descending; NaN first (torch sorts NaN above every
 * number); equal scores keep the lower index first. Each (score, index) pair
 * is packed into one exact double (32 bits of order-preserving score, 21 of
 * index) so that the native numeric sort does the work.
 */
export function sortByScore(scores: Float32Array, idx: Int32Array): Int32Array {
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

export function sortByScoreCompare(scores: Float32Array, idx: Int32Array): Int32Array {
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

export function candidates(scores: Float32Array, scoreThreshold: number): Int32Array {
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

export function checkInputs(
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
export function greedy(
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
