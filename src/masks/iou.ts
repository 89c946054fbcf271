/**
 * Measures and set operations of COCO RLE masks (maskApi `rleArea`,
 * `rleToBbox`, `rleMerge`, `rleIou`, `bbIou`), bit-identical to pycocotools.
 */
import { fromRuns, toRuns, type AnyRLE, type RLE, type Runs, type XYWH } from './codec.js';

/**
 * Foreground pixel count (maskApi `rleArea`).
 *
 * @example
 * ```ts
 * rleArea({ size: [2, 3], counts: '231' }); // => 3
 * ```
 */
export function rleArea(rle: AnyRLE | Runs): number {
  const { cnts } = toRuns(rle);
  let a = 0;
  for (let j = 1; j < cnts.length; j += 2) a += cnts[j];
  return a >>> 0; // uint accumulator in C
}

/**
 * Tight box `[x, y, w, h]` of the foreground (maskApi `rleToBbox`, the current
 * version that skips zero-length runs); `[0, 0, 0, 0]` for an empty mask.
 *
 * @example
 * ```ts
 * rleToBbox({ size: [2, 3], counts: '231' }); // => [1, 0, 2, 2]
 * ```
 */
export function rleToBbox(rle: AnyRLE | Runs): XYWH {
  const { h, w, cnts } = toRuns(rle);
  const m = Math.floor(cnts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  for (let j = 0; j < m; j++) {
    const start = cc;
    cc += cnts[j];
    if (j % 2 === 0 || cnts[j] === 0) continue;
    const yStart = start % h;
    const xStart = (start - yStart) / h;
    const yEnd = (cc - 1) % h;
    const xEnd = (cc - 1 - yEnd) / h;
    xs = Math.min(xs, xStart);
    xe = Math.max(xe, xEnd);
    if (xStart < xEnd) {
      ys = 0;
      ye = h - 1;
    } else {
      ys = Math.min(ys, yStart);
      ye = Math.max(ye, yEnd);
    }
  }
  // xe - xs + 1 is uint arithmetic in C: an all-background RLE with an even
  // number of runs wraps; keep the same numbers.
  return [xs, ys, (xe - xs + 1) >>> 0, (ye - ys + 1) >>> 0];
}

/**
 * Union (or intersection) of runs of the same size; maskApi `rleMerge`.
 *
 * @example
 * ```ts
 * mergeRuns([{ h: 2, w: 2, cnts: Uint32Array.of(1, 1, 2) }, { h: 2, w: 2, cnts: Uint32Array.of(3, 1) }]);
 * // => { h: 2, w: 2, cnts: Uint32Array [1, 1, 1, 1] }
 * ```
 */
export function mergeRuns(rs: readonly Runs[], intersect = false): Runs {
  const n = rs.length;
  if (n === 0) return { h: 0, w: 0, cnts: new Uint32Array(0) };
  let h = rs[0].h;
  let w = rs[0].w;
  if (n === 1) return { h, w, cnts: rs[0].cnts.slice() };
  let cnts = rs[0].cnts.slice();
  let m = cnts.length;
  for (let i = 1; i < n; i++) {
    const B = rs[i];
    if (B.h !== h || B.w !== w) {
      h = w = m = 0;
      break;
    }
    const A = cnts.subarray(0, m);
    const out = new Uint32Array(A.length + B.cnts.length + 1);
    let ca = A[0] ?? 0;
    let cb = B.cnts[0] ?? 0;
    let v = 0;
    let va = 0;
    let vb = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    m = 0;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++]!;
        va ^= 1;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.cnts.length) {
        cb = B.cnts[b++]!;
        vb ^= 1;
      }
      ct += cb;
      const vp = v;
      v = intersect ? va & vb : va | vb;
      if (v !== vp || ct === 0) {
        out[m++] = cc;
        cc = 0;
      }
    }
    cnts = out;
  }
  return { h, w, cnts: cnts.slice(0, m) };
}

/**
 * Union (default) or intersection of RLEs of the same size (maskApi
 * `rleMerge`; pycocotools `mask.merge(rles, intersect)`). Sizes that differ
 * give an empty `[0, 0]` RLE, as in maskApi.
 *
 * @example
 * ```ts
 * // pixel 1 with pixel 3 (column-major positions)
 * rleMerge([{ size: [2, 2], counts: [1, 1, 2] }, { size: [2, 2], counts: [3, 1] }]); // => { size: [2, 2], counts: '1110' } (runs 1,1,1,1)
 * ```
 */
export function rleMerge(rles: readonly (AnyRLE | Runs)[], intersect = false): RLE {
  return fromRuns(
    mergeRuns(
      rles.map((r, i) => toRuns(r, `rles[${i}]`)),
      intersect,
    ),
  );
}

/**
 * IoU of two boxes lists as maskApi `bbIou` (pycocotools `mask.iou` on
 * `[x, y, w, h]` boxes): a crowd ground truth uses the detection's area as
 * the union. Boxes are flat `[x, y, w, h, ...]`. Output `o[d * n + g]`.
 *
 * @example
 * ```ts
 * bboxIouFlat([0, 0, 2, 2], [1, 0, 2, 2, 1, 0, 2, 2], [0, 1]); // => Float64Array [0.3333333333333333, 0.5]
 * ```
 */
export function bboxIouFlat(
  dt: ArrayLike<number>,
  gt: ArrayLike<number>,
  iscrowd: ArrayLike<number | boolean> | null,
  out?: Float64Array,
): Float64Array {
  const m = dt.length / 4;
  const n = gt.length / 4;
  const o = out ?? new Float64Array(m * n);
  for (let g = 0; g < n; g++) {
    const gx = gt[g * 4];
    const gy = gt[g * 4 + 1];
    const gw = gt[g * 4 + 2];
    const gh = gt[g * 4 + 3];
    const ga = gw * gh;
    const crowd = iscrowd !== null && !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      const dx = dt[d * 4];
      const dy = dt[d * 4 + 1];
      const dw = dt[d * 4 + 2];
      const dh = dt[d * 4 + 3];
      const da = dw * dh;
      o[d * n + g] = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const i = w * h;
      const u = crowd ? da : da + ga - i;
      o[d * n + g] = i / u;
    }
  }
  return o;
}

/**
 * IoU of runs as maskApi `rleIou`: boxes first (pairs whose boxes do not
 * overlap are 0), then exact pixel counts; for a crowd ground truth the union
 * is the detection's area; a size mismatch gives -1. Output `o[d * n + g]`.
 *
 * @example
 * ```ts
 * // left column of a 2x2 mask against the full mask
 * runsIouFlat([{ h: 2, w: 2, cnts: Uint32Array.of(0, 2, 2) }], [{ h: 2, w: 2, cnts: Uint32Array.of(0, 4) }], [0]);
 * // => Float64Array [0.5]
 * ```
 */
export function runsIouFlat(
  dt: readonly Runs[],
  gt: readonly Runs[],
  iscrowd: ArrayLike<number | boolean> | null,
  out?: Float64Array,
  dtBoxes?: Float64Array,
  gtBoxes?: Float64Array,
): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const db = dtBoxes ?? boxesOf(dt);
  const gb = gtBoxes ?? boxesOf(gt);
  const o = bboxIouFlat(db, gb, iscrowd, out);
  for (let g = 0; g < n; g++) {
    const G = gt[g];
    const crowd = iscrowd !== null && !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      if (!(o[d * n + g] > 0)) continue;
      const D = dt[d];
      if (D.h !== G.h || D.w !== G.w) {
        o[d * n + g] = -1;
        continue;
      }
      const A = D.cnts;
      const B = G.cnts;
      let ca = A[0];
      let cb = B[0];
      const ka = A.length;
      const kb = B.length;
      let va = 0;
      let vb = 0;
      let a = 1;
      let b = 1;
      let inter = 0;
      let uni = 0;
      let ct = 1;
      while (ct > 0) {
        const c = ca < cb ? ca : cb;
        if (va || vb) {
          uni += c;
          if (va && vb) inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < ka) {
          ca = A[a++]!;
          va ^= 1;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < kb) {
          cb = B[b++]!;
          vb ^= 1;
        }
        ct += cb;
      }
      if (inter === 0) uni = 1;
      else if (crowd) uni = rleArea(D);
      o[d * n + g] = inter / uni;
    }
  }
  return o;
}

function boxesOf(rs: readonly Runs[]): Float64Array {
  const b = new Float64Array(rs.length * 4);
  rs.forEach((r, i) => b.set(rleToBbox(r), i * 4));
  return b;
}

/**
 * IoU matrix `[dt.length][gt.length]` of RLEs (maskApi `rleIou`) or of
 * `[x, y, w, h]` boxes (maskApi `bbIou`), as pycocotools `mask.iou(dt, gt, iscrowd)`.
 * For a crowd ground truth the union is the detection's area (intersection
 * over detection). Empty inputs give `[]`.
 *
 * @example
 * ```ts
 * rleIou([[0, 0, 2, 2]], [[1, 0, 2, 2], [1, 0, 2, 2]], [0, 1]); // => [[0.3333333333333333, 0.5]]
 * ```
 */
export function rleIou(
  dt: readonly (AnyRLE | XYWH | number[])[],
  gt: readonly (AnyRLE | XYWH | number[])[],
  iscrowd: ArrayLike<number | boolean>,
): number[][] {
  if (iscrowd.length !== gt.length)
    throw new RangeError('rleIou: iscrowd must have the same length as gt');
  const m = dt.length;
  const n = gt.length;
  if (m === 0 || n === 0) return [];
  const isBox = (o: unknown) => Array.isArray(o) && o.length === 4;
  const dtBox = dt.every(isBox);
  const gtBox = gt.every(isBox);
  if (dtBox !== gtBox) throw new TypeError('rleIou: dt and gt must both be boxes or both be RLEs');
  const o = dtBox
    ? bboxIouFlat((dt as number[][]).flat(), (gt as number[][]).flat(), iscrowd)
    : runsIouFlat(
        (dt as AnyRLE[]).map((r, i) => toRuns(r, `dt[${i}]`)),
        (gt as AnyRLE[]).map((r, i) => toRuns(r, `gt[${i}]`)),
        iscrowd,
      );
  const rows: number[][] = [];
  for (let d = 0; d < m; d++) rows.push(Array.from(o.subarray(d * n, d * n + n)));
  return rows;
}
