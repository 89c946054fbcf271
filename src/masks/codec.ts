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
 * countsToString([1, 2, 3, 4]); // => '1232' (from the 4th count on, the change from two before: 4 - 2)
 * ```
 */
export function countsToString(cnts: ArrayLike<number>): string {
  const parts: string[] = [];
  const buf: number[] = [];
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i];
    if (i > 2) x -= cnts[i - 2];
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
 * stringToCounts('1232'); // => Uint32Array [1, 2, 3, 4]
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
    if (m > 2) x += out[m - 2];
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
 * toRuns({ size: [2, 2], counts: [1, 2, 1] }); // => { h: 2, w: 2, cnts: Uint32Array [1, 2, 1] }
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
 * fromRuns({ h: 2, w: 2, cnts: Uint32Array.of(1, 2, 1) }); // => { size: [2, 2], counts: '121' }
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
 * compressRle({ size: [2, 2], counts: [1, 2, 1] }); // => { size: [2, 2], counts: '121' }
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
 * rleEncode(Uint8Array.of(0, 1, 1, 0, 1, 0), 2, 3); // => { size: [2, 3], counts: '231' }
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
 * encodeRuns([0, 1, 1, 0, 1, 0], 2, 3); // => { h: 2, w: 3, cnts: Uint32Array [2, 3, 1] }
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
 * rleDecode({ size: [2, 3], counts: '231' }); // => Uint8Array [0, 1, 1, 0, 1, 0]
 * ```
 */
export function rleDecode(rle: AnyRLE | Runs, order: MaskOrder = 'C'): Uint8Array {
  const { h, w, cnts } = toRuns(rle);
  const s = h * w;
  const out = new Uint8Array(s);
  let pos = 0;
  let v = 0;
  for (let j = 0; j < cnts.length; j++) {
    const n = cnts[j];
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
