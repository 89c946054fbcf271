/**
 * Typed-array ops on HWC planes shared by the transforms: flips, crops and
 * pads of images, nearest-neighbour resizes of masks and label maps.
 */
import type { BitmapMasks } from '../../structures/index.js';

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
    if (channels === 1) out.fill(f[0]);
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
    for (let x = 0; x < outW; x++) out[dst + x] = data[src + xs[x]]!;
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
