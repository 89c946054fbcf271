/**
 * COCO run-length encoded (RLE) masks: a TypeScript port of the semantics of
 * COCO's `maskApi.c` / `pycocotools.mask`, bit-identical to it.
 *
 * Conventions (as in COCO):
 * - counts run over the mask in column-major (Fortran) order: pixel `(y, x)`
 *   is at position `x * height + y`; the first count is a run of zeros (it may
 *   be 0), then runs alternate.
 * - the compressed string form is COCO's LEB128-like code: 5 data bits per
 *   character offset by 48, a continuation bit 0x20, a sign bit 0x10 in the
 *   last character, and from the fourth count on the count minus the count two
 *   places earlier is stored (the "delta trick").
 * - masks given to or returned by {@link rleEncode} / {@link rleDecode} are
 *   row-major (`mask[y * width + x]`, as image data in JS) unless
 *   `{order: 'F'}` is passed.
 */

/** A compressed COCO RLE, as stored in COCO JSON: `counts` is the compressed string. */
export interface RLE {
  /** `[height, width]`. */
  size: [number, number];
  counts: string;
}

/** An uncompressed COCO RLE: `counts` are the run lengths. */
export interface UncompressedRLE {
  /** `[height, width]`. */
  size: [number, number];
  counts: ArrayLike<number>;
}

/** Either RLE form. */
export type AnyRLE = RLE | UncompressedRLE;

/** Runs of a mask in memory (the `RLE` struct of maskApi.c). */
export interface Runs {
  h: number;
  w: number;
  cnts: Uint32Array;
}

/** A box `[x, y, width, height]` as COCO stores it. */
export type XYWH = [number, number, number, number];

/** Memory order of a dense mask. `'C'`: row-major `y * width + x`; `'F'`: column-major `x * height + y`. */
export type MaskOrder = 'C' | 'F';

// ---------------------------------------------------------------------------
// string codec

/**
 * Compress run lengths to COCO's counts string (maskApi `rleToString`).
 *
 * @example
 * ```ts
 * countsToString([1, 2, 3, 4]); // '1236'
 * ```
 */
export function countsToString(cnts: ArrayLike<number>): string {
  const parts: string[] = [];
  const buf: number[] = [];
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i]!;
    if (i > 2) x -= cnts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      // arithmetic shift of a (possibly >= 2^31) integer
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      buf.push(c + 48);
    }
    // String.fromCharCode(...huge array) would overflow the stack
    if (buf.length > 8000) {
      parts.push(String.fromCharCode(...buf));
      buf.length = 0;
    }
  }
  parts.push(String.fromCharCode(...buf));
  return parts.join('');
}

/**
 * Decompress COCO's counts string to run lengths (maskApi `rleFrString`).
 *
 * @example
 * ```ts
 * stringToCounts('1236'); // Uint32Array [1, 2, 3, 4]
 * ```
 */
export function stringToCounts(s: string): Uint32Array {
  const out = new Uint32Array(s.length);
  let m = 0;
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let more = true;
    let mul = 1;
    while (more) {
      if (p >= s.length) throw new Error(`invalid RLE counts string: truncated at character ${p}`);
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * mul;
      mul *= 32;
      more = (c & 0x20) !== 0;
      p++;
      if (!more && c & 0x10) x -= mul; // sign extension
    }
    if (m > 2) x += out[m - 2]!;
    out[m++] = x; // Uint32Array store wraps like the C cast to uint
  }
  return out.slice(0, m);
}

// ---------------------------------------------------------------------------
// conversions between the public forms and Runs

function checkSize(size: unknown, what: string): [number, number] {
  if (
    !Array.isArray(size) ||
    size.length !== 2 ||
    !Number.isInteger(size[0]) ||
    !Number.isInteger(size[1]) ||
    size[0] < 0 ||
    size[1] < 0
  ) {
    throw new TypeError(
      `${what}.size: expected [height, width] (non-negative integers), got ${JSON.stringify(size)}`,
    );
  }
  return [size[0], size[1]];
}

/**
 * Runs of an RLE in either form (compressed string or uncompressed counts),
 * as pycocotools' `_frString` / `frUncompressedRLE`.
 *
 * @example
 * ```ts
 * toRuns({ size: [2, 2], counts: [1, 2, 1] }); // { h: 2, w: 2, cnts: Uint32Array [1, 2, 1] }
 * ```
 */
export function toRuns(rle: AnyRLE | Runs, what = 'rle'): Runs {
  if ((rle as Runs).cnts instanceof Uint32Array) return rle as Runs;
  const r = rle as AnyRLE;
  if (r === null || typeof r !== 'object')
    throw new TypeError(`${what}: expected {size, counts}, got ${JSON.stringify(r)}`);
  const [h, w] = checkSize(r.size, what);
  const c = r.counts as unknown;
  if (typeof c === 'string') return { h, w, cnts: stringToCounts(c) };
  if (c && typeof c === 'object' && typeof (c as ArrayLike<number>).length === 'number') {
    return { h, w, cnts: Uint32Array.from(c as ArrayLike<number>) };
  }
  throw new TypeError(
    `${what}.counts: expected a string or an array of run lengths, got ${JSON.stringify(c)}`,
  );
}

/**
 * Compressed COCO RLE of in-memory runs (pycocotools' `_toString`).
 *
 * @example
 * ```ts
 * fromRuns({ h: 2, w: 2, cnts: Uint32Array.of(1, 2, 1) }); // { size: [2, 2], counts: '121' }
 * ```
 */
export function fromRuns(r: Runs): RLE {
  return { size: [r.h, r.w], counts: countsToString(r.cnts) };
}

/**
 * Compress an uncompressed RLE (pycocotools `frPyObjects` on `{size, counts: [...]}`);
 * a compressed one is returned as is.
 *
 * @example
 * ```ts
 * compressRle({ size: [2, 2], counts: [1, 2, 1] }); // { size: [2, 2], counts: '121' }
 * ```
 */
export function compressRle(rle: AnyRLE): RLE {
  if (typeof rle.counts === 'string') return rle as RLE;
  return fromRuns(toRuns(rle));
}

// ---------------------------------------------------------------------------
// encode / decode

/**
 * Run-length encode a binary mask (maskApi `rleEncode`; pycocotools
 * `mask.encode(np.asfortranarray(m))`). Non-zero values are foreground.
 *
 * @param mask `height * width` values, row-major unless `order` is `'F'`.
 * @example
 * ```ts
 * // 2x3 mask [[0, 1, 1], [0, 1, 0]]
 * rleEncode(Uint8Array.of(0, 1, 1, 0, 1, 0), 2, 3); // { size: [2, 3], counts: '231' }
 * ```
 */
export function rleEncode(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  order: MaskOrder = 'C',
): RLE {
  return fromRuns(encodeRuns(mask, height, width, order));
}

/**
 * {@link rleEncode} returning in-memory runs.
 *
 * @example
 * ```ts
 * encodeRuns([0, 1, 1, 0, 1, 0], 2, 3); // { h: 2, w: 3, cnts: Uint32Array [2, 3, 1] }
 * ```
 */
export function encodeRuns(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  order: MaskOrder = 'C',
): Runs {
  const a = height * width;
  if (mask.length !== a)
    throw new RangeError(`rleEncode: mask has ${mask.length} values, expected height*width = ${a}`);
  const cnts: number[] = [];
  let p = 0;
  let c = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = (order === 'C' ? mask[y * width + x] : mask[x * height + y]) ? 1 : 0;
      if (v !== p) {
        cnts.push(c);
        c = 0;
        p = v;
      }
      c++;
    }
  }
  cnts.push(c);
  return { h: height, w: width, cnts: Uint32Array.from(cnts) };
}

/**
 * Decode an RLE to a binary mask (maskApi `rleDecode`; pycocotools
 * `mask.decode`), row-major unless `order` is `'F'`.
 *
 * @throws RangeError when the runs add up to more than `height * width`.
 * @example
 * ```ts
 * rleDecode({ size: [2, 3], counts: '231' }); // Uint8Array [0, 1, 1, 0, 1, 0]
 * ```
 */
export function rleDecode(rle: AnyRLE | Runs, order: MaskOrder = 'C'): Uint8Array {
  const { h, w, cnts } = toRuns(rle);
  const s = h * w;
  const out = new Uint8Array(s);
  let pos = 0;
  let v = 0;
  for (let j = 0; j < cnts.length; j++) {
    const n = cnts[j]!;
    if (pos + n > s)
      throw new RangeError(`rleDecode: runs add up to more than height*width = ${s}`);
    if (v) {
      if (order === 'F') out.fill(1, pos, pos + n);
      else for (let k = pos; k < pos + n; k++) out[(k % h) * w + ((k / h) | 0)] = 1;
    }
    pos += n;
    v ^= 1;
  }
  return out;
}

// ---------------------------------------------------------------------------
// area, bbox, merge, iou

/**
 * Foreground pixel count (maskApi `rleArea`).
 *
 * @example
 * ```ts
 * rleArea({ size: [2, 3], counts: '231' }); // 3
 * ```
 */
export function rleArea(rle: AnyRLE | Runs): number {
  const { cnts } = toRuns(rle);
  let a = 0;
  for (let j = 1; j < cnts.length; j += 2) a += cnts[j]!;
  return a >>> 0; // uint accumulator in C
}

/**
 * Tight box `[x, y, w, h]` of the foreground (maskApi `rleToBbox`, the current
 * version that skips zero-length runs); `[0, 0, 0, 0]` for an empty mask.
 *
 * @example
 * ```ts
 * rleToBbox({ size: [2, 3], counts: '231' }); // [1, 0, 2, 2]
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
    cc += cnts[j]!;
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
 * // { h: 2, w: 2, cnts: Uint32Array [1, 1, 1, 1] }
 * ```
 */
export function mergeRuns(rs: readonly Runs[], intersect = false): Runs {
  const n = rs.length;
  if (n === 0) return { h: 0, w: 0, cnts: new Uint32Array(0) };
  let h = rs[0]!.h;
  let w = rs[0]!.w;
  if (n === 1) return { h, w, cnts: rs[0]!.cnts.slice() };
  let cnts = rs[0]!.cnts.slice();
  let m = cnts.length;
  for (let i = 1; i < n; i++) {
    const B = rs[i]!;
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
 * rleMerge([{ size: [2, 2], counts: [1, 1, 2] }, { size: [2, 2], counts: [3, 1] }]); // { size: [2, 2], counts: '1110' } (runs 1,1,1,1)
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
 * bboxIouFlat([0, 0, 2, 2], [1, 0, 2, 2, 1, 0, 2, 2], [0, 1]); // Float64Array [0.3333333333333333, 0.5]
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
    const gx = gt[g * 4]!;
    const gy = gt[g * 4 + 1]!;
    const gw = gt[g * 4 + 2]!;
    const gh = gt[g * 4 + 3]!;
    const ga = gw * gh;
    const crowd = iscrowd !== null && !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      const dx = dt[d * 4]!;
      const dy = dt[d * 4 + 1]!;
      const dw = dt[d * 4 + 2]!;
      const dh = dt[d * 4 + 3]!;
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
 * // Float64Array [0.5]
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
    const G = gt[g]!;
    const crowd = iscrowd !== null && !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      if (!(o[d * n + g]! > 0)) continue;
      const D = dt[d]!;
      if (D.h !== G.h || D.w !== G.w) {
        o[d * n + g] = -1;
        continue;
      }
      const A = D.cnts;
      const B = G.cnts;
      let ca = A[0]!;
      let cb = B[0]!;
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
 * rleIou([[0, 0, 2, 2]], [[1, 0, 2, 2], [1, 0, 2, 2]], [0, 1]); // [[0.3333333333333333, 0.5]]
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

// ---------------------------------------------------------------------------
// polygons and boxes

/**
 * maskApi `rleFrPoly` on a flat `[x0, y0, x1, y1, ...]` list of `k` points.
 *
 * @example
 * ```ts
 * polyRuns([0, 0, 2, 0, 2, 2, 0, 2], 4, 3, 3); // { h: 3, w: 3, cnts: Uint32Array [0, 2, 1, 2, 4] }
 * ```
 */
export function polyRuns(xy: ArrayLike<number>, k: number, h: number, w: number): Runs {
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  // (int)(scale*v+.5): C truncation toward zero
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[j * 2]! + 0.5);
  x[k] = x[0]!;
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[j * 2 + 1]! + 0.5);
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++)
    m += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
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
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
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
  for (let j = 0; j < n; j++) a[j] = (Math.imul(bx[j]!, h) + by[j]!) >>> 0;
  a[n] = (h * w) >>> 0;
  a.sort();
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j]!;
    a[j] = t - p;
    p = t;
  }
  const b = new Uint32Array(a.length);
  let j = 0;
  m = 0;
  b[m++] = a[j++]!;
  while (j < a.length) {
    if (a[j]! > 0) b[m++] = a[j++]!;
    else {
      j++;
      if (j < a.length) b[m - 1] += a[j++]!;
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
 * rleFrPoly([0, 0, 2, 0, 2, 2, 0, 2], 3, 3); // { size: [3, 3], counts: '02103' } (pixels x, y in 0..1)
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
 * bboxRuns([0, 0, 1, 1], 2, 2); // { h: 2, w: 2, cnts: Uint32Array [0, 1, 3] }
 * ```
 */
export function bboxRuns(bb: ArrayLike<number>, h: number, w: number): Runs {
  const xs = bb[0]!;
  const xe = xs + bb[2]!;
  const ys = bb[1]!;
  const ye = ys + bb[3]!;
  return polyRuns([xs, ys, xs, ye, xe, ye, xe, ys], 4, h, w);
}

/**
 * RLE of a box `[x, y, w, h]` (maskApi `rleFrBbox`, rasterised as a polygon).
 *
 * @example
 * ```ts
 * rleFrBbox([0, 0, 1, 1], 2, 2); // { size: [2, 2], counts: '013' }
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
 * polygonsRuns([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4); // { h: 4, w: 4, cnts: Uint32Array [5, 2, 2, 2, 5] }
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
 * polygonsToRle([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4); // { size: [4, 4], counts: '52203' } (pixels x, y in 1..2)
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
 * segmentationRuns({ size: [2, 2], counts: '121' }, 2, 2); // { h: 2, w: 2, cnts: Uint32Array [1, 2, 1] }
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
 * annToRle({ size: [2, 2], counts: [1, 2, 1] }, 2, 2); // { size: [2, 2], counts: '121' }
 * ```
 */
export function annToRle(segm: Segmentation, height: number, width: number): RLE {
  if (!Array.isArray(segm) && typeof segm.counts === 'string') return segm as RLE;
  return fromRuns(segmentationRuns(segm, height, width));
}
