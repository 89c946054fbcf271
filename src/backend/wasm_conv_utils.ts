/**
 * Shared steps of the wasm convolution gradients: conv geometry, padding and
 * cropping, stride dilation, flipped filters.
 */
import { backend_util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { readValues, writeFloatOutput } from './typed_kernels.js';
import { KernelRunner, type WasmBackend } from './wasm_runner.js';

type Pad = backend_util.Conv2DInfo['padInfo'];

/**
 * The filter of the input-gradient convolution: flipped in both spatial axes
 * and, unless `keepChannels`, with in/out channels swapped
 * (`[kh,kw,a,b] -> [kh,kw,b,a]`). One typed-array pass; wasm's Reverse kernel
 * takes longer than the convolution it prepares.
 */
export function flippedFilter(
  backend: WasmBackend,
  f: TensorInfo,
  keepChannels: boolean,
): TensorInfo {
  const [kh, kw, a, b] = f.shape as [number, number, number, number];
  const outShape = keepChannels ? [kh, kw, a, b] : [kh, kw, b, a];
  return writeFloatOutput(backend, outShape, (out) => {
    const src = readValues(backend, f);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const from = (i * kw + j) * a * b;
        const to = ((kh - 1 - i) * kw + (kw - 1 - j)) * a * b;
        if (keepChannels) {
          out.set(src.subarray(from, from + a * b), to);
          continue;
        }
        for (let p = 0; p < a; p++)
          for (let q = 0; q < b; q++) out[to + q * a + p] = src[from + p * b + q]!;
      }
    }
  });
}

const pair = (v: number | number[] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/**
 * Zero-pads (positive amounts) or crops (negative amounts) an NHWC tensor's
 * rows and columns on each side.
 */
export function padOrCrop(
  r: KernelRunner,
  x: TensorInfo,
  top: number,
  bottom: number,
  left: number,
  right: number,
): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  let t = x;
  const [ct, cb, cl, cr] = [top, bottom, left, right].map((v) => Math.max(-v, 0)) as [
    number,
    number,
    number,
    number,
  ];
  if (ct || cb || cl || cr) t = r.slice(t, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]);
  if (top > 0 || left > 0 || bottom > 0 || right > 0) {
    t = r.pad(t, [
      [0, 0],
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
      [0, 0],
    ]);
  }
  return t;
}

/** Inserts `s - 1` zeros between rows/cols of an NHWC tensor (for strided backprop). */
export function dilateSpatial(r: KernelRunner, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const x6 = r.reshape(x, [n, h, 1, w, 1, c]);
  const padded = r.pad(x6, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const flat = r.reshape(padded, [n, h * sh, w * sw, c]);
  return r.slice(flat, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Rows/cols of the forward conv's padded input that its windows actually read. */
export function usedExtent(out: number, stride: number, k: number, dil: number): number {
  return (out - 1) * stride + (k - 1) * dil + 1;
}

export function convInfoOf(
  xShape: number[],
  filterShape: number[],
  attrs: NamedAttrMap,
  depthwise: boolean,
): backend_util.Conv2DInfo {
  const { strides, pad, dimRoundingMode, dataFormat } = attrs as any;
  if (dataFormat && dataFormat !== 'NHWC')
    throw new Error(`tfdet wasm kernels support NHWC only, got ${dataFormat}`);
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    pair(attrs.dilations as number | number[] | undefined),
    pad,
    dimRoundingMode,
    depthwise,
  );
}

/**
 * The input of the filter-gradient convolution: x padded as the forward conv
 * padded it, trimmed to the rows/cols the windows read.
 */
export function paddedInput(
  r: KernelRunner,
  x: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const pad: Pad = info.padInfo;
  const usedH = usedExtent(
    info.outHeight,
    info.strideHeight,
    info.filterHeight,
    info.dilationHeight,
  );
  const usedW = usedExtent(info.outWidth, info.strideWidth, info.filterWidth, info.dilationWidth);
  return padOrCrop(
    r,
    x,
    pad.top,
    usedH - info.inHeight - pad.top,
    pad.left,
    usedW - info.inWidth - pad.left,
  );
}

/**
 * The output gradient placed for a stride-1 "full" convolution that yields the
 * input gradient: dilated by the stride, then padded (or cropped where the
 * forward padded beyond the kernel's reach) so that a valid convolution with
 * the flipped filter gives exactly `inHeight x inWidth`.
 */
export function fullPadded(
  r: KernelRunner,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  kh: number,
  kw: number,
): TensorInfo {
  const src = dilateSpatial(r, dy, info.strideHeight, info.strideWidth);
  const reachH = (kh - 1) * info.dilationHeight;
  const reachW = (kw - 1) * info.dilationWidth;
  const top = reachH - info.padInfo.top;
  const left = reachW - info.padInfo.left;
  const bottom = info.inHeight + reachH - src.shape[1] - top;
  const right = info.inWidth + reachW - src.shape[2] - left;
  return padOrCrop(r, src, top, bottom, left, right);
}
