/**
 * Decoding of the queued images, with the first resize and flip fused into
 * sharp's decode; header probing; sharp resizes.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { DatasetError } from '../errors.js';
import { parseImageHeader } from '../image_header.js';
import type { DataSample, ImageBuffer } from '../types.js';
import { flipPlane } from './planes.js';
import { materialize } from './color_map.js';

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
        const a = img.data[(y0 * img.width + x0) * c + k],
          b = img.data[(y0 * img.width + x1) * c + k];
        const d = img.data[(y1 * img.width + x0) * c + k],
          e = img.data[(y1 * img.width + x1) * c + k];
        out[(y * w + x) * c + k] =
          (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
    }
  }
  return { data: out, width: w, height: h, channels: c };
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
