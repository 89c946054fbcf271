/**
 * Host-side mask geometry of Mask R-CNN: ground-truth masks cropped to
 * proposals and resized (the mask targets), and predicted RoI masks pasted
 * back into the image.
 */
import { roiAlignForward } from '../../ops/roi_align/host.js';
import type { BitmapMasks } from '../../structures/index.js';

/**
 * Crop each gt mask `gtMasks.masks[inds[i]]` to box `i` and resize it to
 * `size x size` with RoIAlign (mmdet `BitmapMasks.crop_and_resize`, used by
 * `mask_target`): boxes are first clipped to the mask size, then RoIAlign
 * with `aligned: true`, adaptive sampling (`samplingRatio` 0), spatial scale
 * 1; with `binarize` the result is `>= 0.5`. Returns `n * size * size`
 * values, row-major per box.
 *
 * @param boxes `n*4` `[x1, y1, x2, y2]` in the masks' pixels.
 * @example
 * ```ts
 * // a 4x4 mask whose left half is set, cropped to its left half
 * const m = { height: 4, width: 4, masks: [Uint8Array.of(1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0)] };
 * cropAndResizeMasks(m, Float32Array.of(0, 0, 2, 4), Int32Array.of(0), 2); // => Float32Array [1, 1, 1, 1]
 * ```
 */
export function cropAndResizeMasks(
  gtMasks: BitmapMasks,
  boxes: Float32Array,
  inds: Int32Array,
  size: number,
  binarize = true,
): Float32Array {
  const n = boxes.length / 4;
  if (!Number.isInteger(n) || inds.length !== n)
    throw new RangeError(
      `cropAndResizeMasks: ${boxes.length / 4} boxes but ${inds.length} gt indices`,
    );
  const { height: H, width: W, masks } = gtMasks;
  if (n === 0) return new Float32Array(0);
  // Only the gt masks that are referenced become float planes; RoIs point at them by batch index.
  const slot = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const g = inds[i];
    if (!(g >= 0 && g < masks.length))
      throw new RangeError(
        `cropAndResizeMasks: gt index ${g} of box ${i} is outside the ${masks.length} gt masks`,
      );
    if (!slot.has(g)) slot.set(g, slot.size);
  }
  const planes = new Float32Array(slot.size * H * W);
  for (const [g, s] of slot) {
    const m = masks[g];
    if (m.length !== H * W)
      throw new RangeError(
        `cropAndResizeMasks: gt mask ${g} has ${m.length} pixels, expected ${H}x${W}`,
      );
    const o = s * H * W;
    for (let k = 0; k < m.length; k++) planes[o + k] = m[k] ? 1 : 0;
  }
  const rois = new Float32Array(n * 5);
  for (let i = 0; i < n; i++) {
    rois[5 * i] = slot.get(inds[i])!;
    rois[5 * i + 1] = Math.min(Math.max(boxes[4 * i], 0), W);
    rois[5 * i + 2] = Math.min(Math.max(boxes[4 * i + 1], 0), H);
    rois[5 * i + 3] = Math.min(Math.max(boxes[4 * i + 2], 0), W);
    rois[5 * i + 4] = Math.min(Math.max(boxes[4 * i + 3], 0), H);
  }
  const out = roiAlignForward(planes, [slot.size, H, W, 1], rois, {
    outH: size,
    outW: size,
    spatialScale: 1,
    samplingRatio: 0,
    aligned: true,
    poolMode: 'avg',
  });
  if (binarize) for (let k = 0; k < out.length; k++) out[k] = out[k] >= 0.5 ? 1 : 0;
  return out;
}

const f = Math.fround;

/**
 * Paste one RoI mask (`mh x mw` probabilities, row-major) into an
 * `imgH x imgW` image at `box` = `[x1, y1, x2, y2]` (image pixels), as
 * mmdet's `_do_paste_mask` on CPU (`skip_empty`): only the pixels in
 * `[floor(x1) - 1, ceil(x2) + 1) x [floor(y1) - 1, ceil(y2) + 1)` clipped
 * to the image are sampled, the rest stay 0; pixel centre `x + 0.5` maps
 * to the grid coordinate `(x + 0.5 - x1) / (x2 - x1) * 2 - 1` (infinite
 * values, from an empty box, become 0), sampled with `grid_sample`
 * (bilinear, `align_corners=False`, zero padding). float32 arithmetic
 * like torch. Returns the `imgH * imgW` probabilities.
 *
 * @example
 * ```ts
 * // a 2x2 mask of ones pasted over the whole 2x2 image
 * pasteMask(Float32Array.of(1, 1, 1, 1), 2, 2, [0, 0, 2, 2], 2, 2); // => Float32Array [1, 1, 1, 1]
 * ```
 */
export function pasteMask(
  mask: ArrayLike<number>,
  mh: number,
  mw: number,
  box: ArrayLike<number>,
  imgH: number,
  imgW: number,
  into?: Float32Array,
): Float32Array {
  const out = into ?? new Float32Array(imgH * imgW);
  const x1 = f(box[0]),
    y1 = f(box[1]),
    x2 = f(box[2]),
    y2 = f(box[3]);
  const xs = Math.max(Math.floor(x1) - 1, 0),
    ys = Math.max(Math.floor(y1) - 1, 0);
  const xe = Math.min(Math.ceil(x2) + 1, imgW),
    ye = Math.min(Math.ceil(y2) + 1, imgH);
  if (xe <= xs || ye <= ys) return out;
  const bw = f(x2 - x1),
    bh = f(y2 - y1);
  // grid coordinate -> source pixel (grid_sample's unnormalize with align_corners=False)
  const src = (v: number, lo: number, span: number, size: number): number => {
    let g = f(f(f(f(v + 0.5) - lo) / span) * 2 - 1);
    if (g === Infinity || g === -Infinity) g = 0;
    return f(f(f(g + 1) * size - 1) / 2);
  };
  const ix = new Float64Array(xe - xs);
  for (let x = xs; x < xe; x++) ix[x - xs] = src(x, x1, bw, mw);
  for (let y = ys; y < ye; y++) {
    const iy = src(y, y1, bh, mh);
    if (Number.isNaN(iy)) continue;
    const y0 = Math.floor(iy);
    const ty = f(iy - y0);
    for (let x = xs; x < xe; x++) {
      const sx = ix[x - xs];
      if (Number.isNaN(sx)) continue;
      const x0 = Math.floor(sx);
      const tx = f(sx - x0);
      let v = 0;
      // nw, ne, sw, se, each only when inside the mask (zero padding)
      if (y0 >= 0 && y0 < mh) {
        if (x0 >= 0 && x0 < mw) v += mask[y0 * mw + x0] * f(f(1 - tx) * f(1 - ty));
        if (x0 + 1 >= 0 && x0 + 1 < mw) v += mask[y0 * mw + x0 + 1] * f(tx * f(1 - ty));
      }
      if (y0 + 1 >= 0 && y0 + 1 < mh) {
        if (x0 >= 0 && x0 < mw) v += mask[(y0 + 1) * mw + x0] * f(f(1 - tx) * ty);
        if (x0 + 1 >= 0 && x0 + 1 < mw) v += mask[(y0 + 1) * mw + x0 + 1] * f(tx * ty);
      }
      out[y * imgW + x] = v;
    }
  }
  return out;
}

/**
 * torchvision's `paste_masks_in_image` for one mask: the `mh x mw` mask
 * padded by one zero pixel each side, its box expanded alike (by
 * `(mw + 2) / mw` about its centre) and truncated to integers, the padded
 * mask resized to the box's `(x2 - x1 + 1) x (y2 - y1 + 1)` pixels with
 * `F.interpolate` (bilinear, `align_corners=False`, float32) and written
 * into the image where the box covers it. Returns the `imgH * imgW`
 * probabilities.
 *
 * @example
 * ```ts
 * // a 2x2 mask of ones at [0, 0, 2, 2] of a 4x4 image: padded to 4x4, the box grows to
 * // [-1, -1, 3, 3] and the padded mask is resized to its 5x5 pixels
 * Array.from(pasteMaskTorchvision(Float32Array.of(1, 1, 1, 1), 2, 2, [0, 0, 2, 2], 4, 4)).map((v) => +v.toFixed(3));
 * // => [0.49, 0.7, 0.49, 0, 0.7, 1, 0.7, 0, 0.49, 0.7, 0.49, 0, 0, 0, 0, 0]
 * ```
 */
export function pasteMaskTorchvision(
  mask: ArrayLike<number>,
  mh: number,
  mw: number,
  box: ArrayLike<number>,
  imgH: number,
  imgW: number,
  into?: Float32Array,
): Float32Array {
  const out = into ?? new Float32Array(imgH * imgW);
  const [ph, pw] = [mh + 2, mw + 2];
  const padded = new Float32Array(ph * pw);
  for (let y = 0; y < mh; y++)
    for (let x = 0; x < mw; x++) padded[(y + 1) * pw + x + 1] = mask[y * mw + x];
  const scale = f(pw / mw);
  const [x1, y1, x2, y2] = [f(box[0]), f(box[1]), f(box[2]), f(box[3])];
  const wHalf = f(f(f(x2 - x1) * 0.5) * scale);
  const hHalf = f(f(f(y2 - y1) * 0.5) * scale);
  const xc = f(f(x2 + x1) * 0.5);
  const yc = f(f(y2 + y1) * 0.5);
  const b = [f(xc - wHalf), f(yc - hHalf), f(xc + wHalf), f(yc + hHalf)].map(Math.trunc);
  const w = Math.max(b[2] - b[0] + 1, 1);
  const h = Math.max(b[3] - b[1] + 1, 1);
  const xs = Math.max(b[0], 0);
  const xe = Math.min(b[2] + 1, imgW);
  const ys = Math.max(b[1], 0);
  const ye = Math.min(b[3] + 1, imgH);
  // torch's area_pixel_compute_source_index: (dst + 0.5) * in / out - 0.5, clamped at 0
  const source = (d: number, inSize: number, outSize: number): [number, number, number] => {
    const s = Math.max(f(f(f(inSize / outSize) * f(d + 0.5)) - 0.5), 0);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, inSize - 1), f(s - i0)];
  };
  const cols = Array.from({ length: Math.max(xe - xs, 0) }, (_, k) => source(xs + k - b[0], pw, w));
  for (let y = ys; y < ye; y++) {
    const [r0, r1, ly] = source(y - b[1], ph, h);
    const hy = f(1 - ly);
    for (let x = xs; x < xe; x++) {
      const [c0, c1, lx] = cols[x - xs];
      const hx = f(1 - lx);
      const top = f(f(hx * padded[r0 * pw + c0]) + f(lx * padded[r0 * pw + c1]));
      const bottom = f(f(hx * padded[r1 * pw + c0]) + f(lx * padded[r1 * pw + c1]));
      out[y * imgW + x] = f(f(hy * top) + f(ly * bottom));
    }
  }
  return out;
}
