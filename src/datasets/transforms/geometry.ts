/**
 * The output sizes of `Resize` and `Pad`, without their pixels: what the
 * browser's preprocessing (src/browser/preprocess.ts) computes the same way.
 */

/**
 * Output `[w, h]` for an input `w x h` (mmcv's `rescale_size` with
 * keep-ratio; sizes rounded as `int(x * s + 0.5)`).
 *
 * @example
 * ```ts
 * targetSize(500, 375, [1333, 800], true); // => [1067, 800]
 * ```
 */
export function targetSize(
  w: number,
  h: number,
  scale: [number, number],
  keepRatio: boolean,
): [number, number] {
  if (!keepRatio) return [scale[0], scale[1]];
  const long = Math.max(scale[0], scale[1]),
    short = Math.min(scale[0], scale[1]);
  const s = Math.min(long / Math.max(w, h), short / Math.min(w, h));
  return [Math.floor(w * s + 0.5), Math.floor(h * s + 0.5)];
}

/**
 * `Resize`'s output `[w, h]` for an input `w x h`: to `scale` (see
 * {@link targetSize}), or by `scaleFactor` (with `keepRatio`, the scaled size
 * fitted as a scale).
 *
 * @example
 * ```ts
 * resizeOutputSize(500, 375, { scaleFactor: [2, 2] }); // => [1000, 750]
 * ```
 */
export function resizeOutputSize(
  w: number,
  h: number,
  opts: { scale?: [number, number]; scaleFactor?: [number, number]; keepRatio?: boolean },
): [number, number] {
  const keepRatio = opts.keepRatio ?? false;
  if (opts.scale) return targetSize(w, h, opts.scale, keepRatio);
  const f = opts.scaleFactor!;
  const scaled: [number, number] = [Math.floor(w * f[0] + 0.5), Math.floor(h * f[1] + 0.5)];
  return keepRatio ? targetSize(w, h, scaled, true) : scaled;
}

/**
 * `Pad`'s output `[w, h]` for an image `w x h`: a square first
 * (`padToSquare`), at least `size`, then up to a multiple of `sizeDivisor`.
 *
 * @example
 * ```ts
 * padOutputSize(1067, 800, { sizeDivisor: 32 }); // => [1088, 800]
 * ```
 */
export function padOutputSize(
  w: number,
  h: number,
  opts: { size?: [number, number]; sizeDivisor?: number; padToSquare?: boolean },
): [number, number] {
  let W = w,
    H = h;
  if (opts.padToSquare) W = H = Math.max(w, h);
  if (opts.size) [W, H] = [Math.max(opts.size[0], W), Math.max(opts.size[1], H)];
  const d = opts.sizeDivisor;
  if (d) [W, H] = [Math.ceil(W / d) * d, Math.ceil(H / d) * d];
  return [W, H];
}
