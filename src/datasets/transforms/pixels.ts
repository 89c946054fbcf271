/**
 * Pixel work shared by the transforms: decoding (with the first resize and
 * flip fused into sharp's decode), typed-array flips, crops and pads of HWC
 * images, nearest-neighbour ops on masks and label maps, and the lazy
 * per-pixel colour map that lets PhotoMetricDistortion + Normalize + Pad cost
 * one pass over the pixels.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { DatasetError } from '../errors.js';
import { parseImageHeader } from '../image_header.js';
import { colorPassWasm } from './color_pass.js';
import type { BitmapMasks, ColorMap, DataSample, ImageBuffer } from '../types.js';

// sharp's per-image thread count; the loader gets its parallelism from many images in flight.
sharp.concurrency(1);

/** Decode options of sharp shared by the loader and the benchmark ceiling. */
export const SHARP_INPUT = { failOn: 'truncated' as const };
/** Resize kernel used everywhere (bilinear, like mmcv's default `cv2.INTER_LINEAR`). */
export const RESIZE_KERNEL = 'linear' as const;

function decodeError(file: string, e: unknown): DatasetError {
  const msg = (e as Error).message ?? String(e);
  return new DatasetError(file, '', `cannot decode image (${msg.split('\n')[0]})`, e);
}

/** Make sure a pixel buffer of 3 channels: grey -> RGB, alpha dropped. */
function toRgb(data: Buffer, width: number, height: number, channels: number): Uint8Array {
  const px = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (channels === 3) return px;
  const out = new Uint8Array(width * height * 3);
  if (channels === 1 || channels === 2) {
    for (let i = 0, o = 0; o < out.length; i += channels, o += 3)
      out[o] = out[o + 1] = out[o + 2] = px[i]!;
  } else {
    for (let i = 0, o = 0; o < out.length; i += channels, o += 3) {
      out[o] = px[i]!;
      out[o + 1] = px[i + 1]!;
      out[o + 2] = px[i + 2]!;
    }
  }
  return out;
}

/**
 * Decode a pending image (queued by LoadImageFromFile, possibly with a
 * resize and flips) into `results.img`. One sharp pipeline: decode, EXIF
 * orientation, resize; grey and RGBA become RGB. Flips are done in
 * JavaScript (cheaper than libvips' flop); with `keepFlip` they are left in
 * `results.lazyFlip` for the colour pass to do while it writes the output.
 */
export async function ensureDecoded(results: DataSample, keepFlip = false): Promise<ImageBuffer> {
  const p = results.pending;
  if (results.img && !p) {
    if (results.lazyFlip && !keepFlip) applyLazyFlip(results);
    return results.img;
  }
  if (!p)
    throw new DatasetError(
      results.imgPath ?? '(unknown image)',
      'img',
      'no image loaded; put LoadImageFromFile first in the pipeline',
    );
  let s = sharp(p.buffer, SHARP_INPUT);
  if (p.orientation !== 1) s = s.autoOrient();
  if (p.resizeTo)
    s = s.resize(p.resizeTo[1], p.resizeTo[0], { fit: 'fill', kernel: RESIZE_KERNEL });
  if (p.needsSrgb) s = s.toColourspace('srgb');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await s.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(p.file, e);
  }
  const { width, height, channels } = out.info;
  results.img = { data: toRgb(out.data, width, height, channels), width, height, channels: 3 };
  results.pending = undefined;
  if (p.flipH || p.flipV) results.lazyFlip = { h: p.flipH, v: p.flipV };
  if (results.lazyFlip && !keepFlip) applyLazyFlip(results);
  return results.img;
}

function applyLazyFlip(results: DataSample): void {
  const f = results.lazyFlip!;
  const img = results.img!;
  const dir = f.h && f.v ? 'diagonal' : f.h ? 'horizontal' : 'vertical';
  results.img = { ...img, data: flipPlane(img.data, img.width, img.height, img.channels, dir) };
  results.lazyFlip = undefined;
}

/**
 * Read the header of an encoded image: size after EXIF orientation, the
 * orientation, and whether sharp must convert the colour space (CMYK,
 * 16-bit, ...). JPEG and PNG headers are parsed here; other formats ask sharp.
 */
export async function probeImage(
  file: string,
  buffer: Buffer,
): Promise<{ width: number; height: number; orientation: number; needsSrgb: boolean }> {
  const h = parseImageHeader(buffer);
  let width: number, height: number, orientation: number, needsSrgb: boolean;
  if (h && h.width > 0 && h.height > 0) {
    ({ width, height, orientation } = h);
    needsSrgb =
      h.format === 'jpeg'
        ? !(h.channels === 3 || h.channels === 1) || h.depth !== 8
        : h.depth !== 8;
  } else {
    let meta: Metadata;
    try {
      meta = await sharp(buffer, SHARP_INPUT).metadata();
    } catch (e) {
      throw decodeError(file, e);
    }
    if (!meta.width || !meta.height)
      throw new DatasetError(file, '', 'cannot read the image size from its header');
    width = meta.width;
    height = meta.height;
    orientation = meta.orientation ?? 1;
    needsSrgb = true;
  }
  const swap = orientation >= 5 && orientation <= 8;
  return { width: swap ? height : width, height: swap ? width : height, orientation, needsSrgb };
}

/** sharp's raw output (`toBuffer({ resolveWithObject: true })`) as an {@link ImageBuffer}: a view on its buffer, no copy. */
export function imageFromRaw({ data, info }: { data: Buffer; info: OutputInfo }): ImageBuffer {
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

/** Resize HWC pixels with sharp (bilinear). */
export async function resizeImage(
  img: ImageBuffer,
  width: number,
  height: number,
): Promise<ImageBuffer> {
  if (img.width === width && img.height === height) return img;
  if (img.data instanceof Float32Array) {
    // Float pixels (after a colour map was applied): resize on the float data.
    return resizeFloatBilinear(img, width, height);
  }
  return imageFromRaw(
    await sharp(img.data, {
      raw: { width: img.width, height: img.height, channels: img.channels as 3 },
    })
      .resize(width, height, { fit: 'fill', kernel: RESIZE_KERNEL })
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
}

function resizeFloatBilinear(img: ImageBuffer, w: number, h: number): ImageBuffer {
  const c = img.channels;
  const out = new Float32Array(w * h * c);
  const sx = img.width / w,
    sy = img.height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy),
      y1 = Math.min(y0 + 1, img.height - 1),
      wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx),
        x1 = Math.min(x0 + 1, img.width - 1),
        wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = img.data[(y0 * img.width + x0) * c + k]!,
          b = img.data[(y0 * img.width + x1) * c + k]!;
        const d = img.data[(y1 * img.width + x0) * c + k]!,
          e = img.data[(y1 * img.width + x1) * c + k]!;
        out[(y * w + x) * c + k] =
          (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
    }
  }
  return { data: out, width: w, height: h, channels: c };
}

type Pixels = Uint8Array | Float32Array;

function like(a: Pixels, n: number): Pixels {
  return a instanceof Float32Array ? new Float32Array(n) : new Uint8Array(n);
}

/** Flip an HWC plane (any channel count). */
export function flipPlane<T extends Pixels>(
  data: T,
  width: number,
  height: number,
  channels: number,
  direction: 'horizontal' | 'vertical' | 'diagonal',
): T {
  const out = like(data, data.length) as T;
  const row = width * channels;
  const h = direction !== 'vertical',
    v = direction !== 'horizontal';
  for (let y = 0; y < height; y++) {
    const src = y * row;
    const dst = (v ? height - 1 - y : y) * row;
    if (!h) {
      out.set(data.subarray(src, src + row), dst);
      continue;
    }
    for (let x = 0; x < width; x++) {
      const s = src + x * channels,
        d = dst + (width - 1 - x) * channels;
      for (let k = 0; k < channels; k++) out[d + k] = data[s + k]!;
    }
  }
  return out;
}

/** Crop `[x1, y1, x2, y2)` (integers, inside the image) out of an HWC plane. */
export function cropPlane<T extends Pixels>(
  data: T,
  width: number,
  channels: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
): T {
  const w = x2 - x1,
    h = y2 - y1;
  const out = like(data, w * h * channels) as T;
  for (let y = 0; y < h; y++) {
    const s = ((y1 + y) * width + x1) * channels;
    out.set(data.subarray(s, s + w * channels), y * w * channels);
  }
  return out;
}

/**
 * Place an HWC plane into a bigger one of `outW x outH` at `(left, top)`,
 * the rest filled with `fill` (per channel or one value).
 */
export function placePlane<T extends Pixels>(
  data: T,
  width: number,
  height: number,
  channels: number,
  outW: number,
  outH: number,
  left: number,
  top: number,
  fill: number | readonly number[],
): T {
  const out = like(data, outW * outH * channels) as T;
  const f = typeof fill === 'number' ? new Array<number>(channels).fill(fill) : fill;
  if (f.some((v) => v !== 0)) {
    if (channels === 1) out.fill(f[0]!);
    else
      for (let i = 0; i < out.length; i += channels)
        for (let k = 0; k < channels; k++) out[i + k] = f[k]!;
  }
  for (let y = 0; y < height; y++)
    out.set(
      data.subarray(y * width * channels, (y + 1) * width * channels),
      ((top + y) * outW + left) * channels,
    );
  return out;
}

/** Nearest-neighbour resize of a one-channel plane (masks, label maps), like `cv2.INTER_NEAREST`. */
export function resizeNearest(
  data: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const xs = new Int32Array(outW);
  for (let x = 0; x < outW; x++) xs[x] = Math.min(width - 1, Math.floor((x * width) / outW));
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(height - 1, Math.floor((y * height) / outH));
    const src = sy * width,
      dst = y * outW;
    for (let x = 0; x < outW; x++) out[dst + x] = data[src + xs[x]!]!;
  }
  return out;
}

/** Apply a per-plane op to every mask. */
export function mapMasks(
  m: BitmapMasks,
  width: number,
  height: number,
  f: (mask: Uint8Array) => Uint8Array,
): BitmapMasks {
  return { width, height, masks: m.masks.map(f) };
}

// ---------------------------------------------------------------------------
// colour maps

/** The identity colour map. */
export function identityColorMap(): ColorMap {
  return { m: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), t: new Float64Array(3) };
}

/** `second ∘ first`: apply `first`, then `second`. */
export function composeColorMaps(first: ColorMap, second: ColorMap): ColorMap {
  const m = new Float64Array(9),
    t = new Float64Array(3);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += second.m[r * 3 + k]! * first.m[k * 3 + c]!;
      m[r * 3 + c] = s;
    }
    let s = second.t[r]!;
    for (let k = 0; k < 3; k++) s += second.m[r * 3 + k]! * first.t[k]!;
    t[r] = s;
  }
  return { m, t };
}

/** Queue a colour map on the sample (after any already queued). */
export function pushColorMap(results: DataSample, map: ColorMap): void {
  results.colorMap = results.colorMap ? composeColorMaps(results.colorMap, map) : map;
}

/**
 * Write `src` (HWC, 3 channels) through an affine colour map (identity when
 * absent), flipped as asked, into `out` starting at `offset` with rows
 * `rowStride` floats apart. One pass; this is the hot loop of the loader.
 */
export function writePixels(
  src: ImageBuffer,
  cm: ColorMap | undefined,
  flipH: boolean,
  flipV: boolean,
  out: Float32Array,
  offset: number,
  rowStride: number,
): void {
  const d = src.data,
    w = src.width,
    h = src.height;
  if (
    d instanceof Uint8Array &&
    src.channels === 3 &&
    colorPassWasm(d, w, h, cm, flipH, flipV, out, offset, rowStride)
  )
    return;
  const m = cm?.m,
    t = cm?.t;
  const m0 = m ? m[0]! : 1,
    m1 = m ? m[1]! : 0,
    m2 = m ? m[2]! : 0;
  const m3 = m ? m[3]! : 0,
    m4 = m ? m[4]! : 1,
    m5 = m ? m[5]! : 0;
  const m6 = m ? m[6]! : 0,
    m7 = m ? m[7]! : 0,
    m8 = m ? m[8]! : 1;
  const t0 = t ? t[0]! : 0,
    t1 = t ? t[1]! : 0,
    t2 = t ? t[2]! : 0;
  for (let y = 0; y < h; y++) {
    const srcRow = (flipV ? h - 1 - y : y) * w * 3;
    const o = offset + y * rowStride;
    if (d instanceof Uint8Array) {
      if (flipH) rowFlipU8(d, out, srcRow, o, w, m0, m1, m2, m3, m4, m5, m6, m7, m8, t0, t1, t2);
      else rowU8(d, out, srcRow, o, w, m0, m1, m2, m3, m4, m5, m6, m7, m8, t0, t1, t2);
    } else {
      rowF32(d, out, srcRow, o, w, flipH, m0, m1, m2, m3, m4, m5, m6, m7, m8, t0, t1, t2);
    }
  }
}

// Monomorphic row kernels with constant strides: V8 keeps them tight (about 2x faster than one generic loop).
function rowU8(
  d: Uint8Array,
  out: Float32Array,
  i: number,
  o: number,
  w: number,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
  m4: number,
  m5: number,
  m6: number,
  m7: number,
  m8: number,
  t0: number,
  t1: number,
  t2: number,
): void {
  const end = i + w * 3;
  for (; i < end; i += 3, o += 3) {
    const r = d[i]!,
      g = d[i + 1]!,
      b = d[i + 2]!;
    out[o] = m0 * r + m1 * g + m2 * b + t0;
    out[o + 1] = m3 * r + m4 * g + m5 * b + t1;
    out[o + 2] = m6 * r + m7 * g + m8 * b + t2;
  }
}

function rowFlipU8(
  d: Uint8Array,
  out: Float32Array,
  i: number,
  o: number,
  w: number,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
  m4: number,
  m5: number,
  m6: number,
  m7: number,
  m8: number,
  t0: number,
  t1: number,
  t2: number,
): void {
  const end = o + w * 3;
  for (i += (w - 1) * 3; o < end; i -= 3, o += 3) {
    const r = d[i]!,
      g = d[i + 1]!,
      b = d[i + 2]!;
    out[o] = m0 * r + m1 * g + m2 * b + t0;
    out[o + 1] = m3 * r + m4 * g + m5 * b + t1;
    out[o + 2] = m6 * r + m7 * g + m8 * b + t2;
  }
}

function rowF32(
  d: Float32Array,
  out: Float32Array,
  i: number,
  o: number,
  w: number,
  flipH: boolean,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
  m4: number,
  m5: number,
  m6: number,
  m7: number,
  m8: number,
  t0: number,
  t1: number,
  t2: number,
): void {
  const step = flipH ? -3 : 3;
  if (flipH) i += (w - 1) * 3;
  for (let x = 0; x < w; x++, i += step, o += 3) {
    const r = d[i]!,
      g = d[i + 1]!,
      b = d[i + 2]!;
    out[o] = m0 * r + m1 * g + m2 * b + t0;
    out[o + 1] = m3 * r + m4 * g + m5 * b + t1;
    out[o + 2] = m6 * r + m7 * g + m8 * b + t2;
  }
}

/** Fill the part of an `outW x outH` region (rows `rowStride` apart) outside the top-left `w x h` with `val`. */
export function fillPadding(
  out: Float32Array,
  offset: number,
  rowStride: number,
  w: number,
  h: number,
  outW: number,
  outH: number,
  val: readonly number[],
  zeroed = true,
): void {
  // A fresh buffer is already zero.
  if (zeroed && !val[0] && !val[1] && !val[2]) return;
  const fillRun = (start: number, n: number): void => {
    for (let k = 0; k < n; k++) {
      out[start + k * 3] = val[0]!;
      out[start + k * 3 + 1] = val[1]!;
      out[start + k * 3 + 2] = val[2]!;
    }
  };
  for (let y = 0; y < outH; y++) {
    if (y < h) fillRun(offset + y * rowStride + w * 3, outW - w);
    else fillRun(offset + y * rowStride, outW);
  }
}

/**
 * Apply the pending colour map and flip of `results` (if any) and write the
 * pixels into a `outW x outH` float32 image at the top-left, the rest filled
 * with `padVal` — one pass over the pixels. Without a colour map, flip and
 * padding, the image is returned as is.
 */
export function materialize(
  results: DataSample,
  outW?: number,
  outH?: number,
  padVal: number | readonly number[] = 0,
): ImageBuffer {
  const img = results.img!;
  const W = outW ?? img.width,
    H = outH ?? img.height;
  const cm = results.colorMap;
  const flip = results.lazyFlip;
  const pv = typeof padVal === 'number' ? [padVal, padVal, padVal] : padVal;
  if (!cm && !flip) {
    if (W === img.width && H === img.height) return img;
    return {
      ...img,
      data: placePlane(img.data, img.width, img.height, img.channels, W, H, 0, 0, pv),
      width: W,
      height: H,
    };
  }
  const out = new Float32Array(W * H * 3);
  writePixels(img, cm, flip?.h ?? false, flip?.v ?? false, out, 0, W * 3);
  fillPadding(out, 0, W * 3, img.width, img.height, W, H, pv);
  results.colorMap = undefined;
  results.lazyFlip = undefined;
  return { data: out, width: W, height: H, channels: 3 };
}

/**
 * The pixels of `results.img` with every queued op applied (decode, colour
 * map). Transforms that move pixels call this first.
 */
export async function resolveImage(results: DataSample): Promise<ImageBuffer> {
  await ensureDecoded(results);
  if (results.colorMap) results.img = materialize(results);
  return results.img!;
}
