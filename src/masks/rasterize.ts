/**
 * Rasterisation to COCO RLE (maskApi `rleFrPoly`, `rleFrBbox`; COCO's
 * `annToRLE`): polygons and boxes, bit-identical to pycocotools.
 */
import { fromRuns, toRuns, type AnyRLE, type RLE, type Runs } from './codec.js';
import { mergeRuns } from './iou.js';

/**
 * maskApi `rleFrPoly` on a flat `[x0, y0, x1, y1, ...]` list of `k` points.
 *
 * @example
 * ```ts
 * polyRuns([0, 0, 2, 0, 2, 2, 0, 2], 4, 3, 3); // => { h: 3, w: 3, cnts: Uint32Array [0, 2, 1, 2, 4] }
 * ```
 */
export function polyRuns(xy: ArrayLike<number>, k: number, h: number, w: number): Runs {
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  // (int)(scale*v+.5): C truncation toward zero
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[j * 2] + 0.5);
  x[k] = x[0]!;
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[j * 2 + 1] + 0.5);
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++)
    m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // points along the y-boundary, downsampled
  const kk = m;
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < kk; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd);
    by.push(yd);
  }
  const n = bx.length;
  const a = new Uint32Array(n + 1);
  // (uint)(x*(int)h+y): int arithmetic, wrapped to uint
  for (let j = 0; j < n; j++) a[j] = (Math.imul(bx[j], h) + by[j]) >>> 0;
  a[n] = (h * w) >>> 0;
  a.sort();
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] = t - p;
    p = t;
  }
  const b = new Uint32Array(a.length);
  let j = 0;
  m = 0;
  b[m++] = a[j++]!;
  while (j < a.length) {
    if (a[j] > 0) b[m++] = a[j++]!;
    else {
      j++;
      if (j < a.length) b[m - 1] += a[j++];
    }
  }
  return { h, w, cnts: b.slice(0, m) };
}

/**
 * RLE of one polygon `[x0, y0, x1, y1, ...]` (maskApi `rleFrPoly`, COCO's
 * rasteriser: vertices upsampled 5x and rounded, edges walked, crossings taken
 * at pixel centres). An odd trailing coordinate is ignored as pycocotools does.
 *
 * @example
 * ```ts
 * rleFrPoly([0, 0, 2, 0, 2, 2, 0, 2], 3, 3); // => { size: [3, 3], counts: '02103' } (pixels x, y in 0..1)
 * ```
 */
export function rleFrPoly(polygon: ArrayLike<number>, height: number, width: number): RLE {
  return fromRuns(polyRuns(polygon, Math.floor(polygon.length / 2), height, width));
}

/**
 * maskApi `rleFrBbox`: the polygon of the box's four corners.
 *
 * @example
 * ```ts
 * bboxRuns([0, 0, 1, 1], 2, 2); // => { h: 2, w: 2, cnts: Uint32Array [0, 1, 3] }
 * ```
 */
export function bboxRuns(bb: ArrayLike<number>, h: number, w: number): Runs {
  const xs = bb[0];
  const xe = xs + bb[2];
  const ys = bb[1];
  const ye = ys + bb[3];
  return polyRuns([xs, ys, xs, ye, xe, ye, xe, ys], 4, h, w);
}

/**
 * RLE of a box `[x, y, w, h]` (maskApi `rleFrBbox`, rasterised as a polygon).
 *
 * @example
 * ```ts
 * rleFrBbox([0, 0, 1, 1], 2, 2); // => { size: [2, 2], counts: '013' }
 * ```
 */
export function rleFrBbox(bbox: ArrayLike<number>, height: number, width: number): RLE {
  return fromRuns(bboxRuns(bbox, height, width));
}

/**
 * {@link polygonsToRle} returning in-memory runs.
 *
 * @example
 * ```ts
 * polygonsRuns([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4); // => { h: 4, w: 4, cnts: Uint32Array [5, 2, 2, 2, 5] }
 * ```
 */
export function polygonsRuns(
  polygons: readonly ArrayLike<number>[],
  height: number,
  width: number,
): Runs {
  if (polygons.length === 0) return { h: 0, w: 0, cnts: new Uint32Array(0) };
  const parts = polygons.map((p, i) => {
    if (p.length < 4 && p.length !== 0) {
      throw new TypeError(
        `polygon ${i} has ${p.length} numbers; a polygon needs at least 2 points`,
      );
    }
    return polyRuns(p, Math.floor(p.length / 2), height, width);
  });
  return mergeRuns(parts, false);
}

/**
 * One merged RLE for an object given as polygons, as COCO's `annToRLE`:
 * `mask.merge(mask.frPyObjects(polygons, h, w))`. A 4-number "polygon" (two
 * points, which pycocotools' `frPyObjects` mistakes for a box and then fails
 * on) is rasterised as a polygon, like maskApi `rleFrPoly`. An odd trailing
 * coordinate is dropped.
 *
 * @example
 * ```ts
 * polygonsToRle([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4); // => { size: [4, 4], counts: '52203' } (pixels x, y in 1..2)
 * ```
 */
export function polygonsToRle(
  polygons: readonly ArrayLike<number>[],
  height: number,
  width: number,
): RLE {
  return fromRuns(polygonsRuns(polygons, height, width));
}

/** A COCO `segmentation` field: polygons, uncompressed RLE or compressed RLE. */
export type Segmentation = number[][] | AnyRLE;

/**
 * Runs of a COCO `segmentation` of an image `height x width`, as COCO's
 * `annToRLE`: polygons are rasterised and merged; an uncompressed RLE is
 * taken as is (its own `size`); a compressed one is decoded.
 *
 * @example
 * ```ts
 * segmentationRuns({ size: [2, 2], counts: '121' }, 2, 2); // => { h: 2, w: 2, cnts: Uint32Array [1, 2, 1] }
 * ```
 */
export function segmentationRuns(
  segm: Segmentation,
  height: number,
  width: number,
  what = 'segmentation',
): Runs {
  if (Array.isArray(segm)) {
    for (let i = 0; i < segm.length; i++) {
      const p = segm[i] as unknown;
      if (!Array.isArray(p) || !p.every((v) => typeof v === 'number')) {
        throw new TypeError(
          `${what}[${i}]: expected a polygon (array of numbers), got ${JSON.stringify(p)?.slice(0, 60)}`,
        );
      }
    }
    return polygonsRuns(segm, height, width);
  }
  return toRuns(segm, what);
}

/**
 * Compressed RLE of a COCO `segmentation` (COCO's `annToRLE`).
 *
 * @example
 * ```ts
 * annToRle({ size: [2, 2], counts: [1, 2, 1] }, 2, 2); // => { size: [2, 2], counts: '121' }
 * ```
 */
export function annToRle(segm: Segmentation, height: number, width: number): RLE {
  if (!Array.isArray(segm) && typeof segm.counts === 'string') return segm as RLE;
  return fromRuns(segmentationRuns(segm, height, width));
}
