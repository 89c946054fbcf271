/**
 * Convolution gradients as one matrix product each, on the wasm heap:
 *
 * - filter gradient: `dW^T[co, kh·kw·ci] = dy^T[co, M] · cols[M, kh·kw·ci]`,
 *   with `cols` the im2col matrix of the input (one row per output pixel,
 *   M = n·oh·ow) and the product on wasm's XNNPACK matrix multiply;
 * - input gradient of a strided convolution: `dcols[M, kh·kw·ci] = dy[M, co] ·
 *   W^T[co, kh·kw·ci]`, scattered back onto the input (col2im).
 *
 * The convolution form of these gradients (wasm_conv_grads.ts) hands XNNPACK a
 * convolution whose channel count is the batch size, or four phase
 * convolutions for a stride of 2; the product form keeps the long dimension
 * contiguous and costs about as much as the forward convolution.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { readValues, writeFloatOutput } from './typed_kernels.js';
import type { KernelRunner, WasmBackend } from './wasm_runner.js';

type Info = backend_util.Conv2DInfo;

/** The float32 heap under a wasm tensor, and the tensor's offset in it (in floats). */
function heapOf(backend: WasmBackend, t: TensorInfo): { heap: Float32Array; at: number } {
  const v = readValues(backend, t) as Float32Array;
  return { heap: new Float32Array(v.buffer), at: v.byteOffset >> 2 };
}

/**
 * im2col of NHWC `x` for the convolution `info`: `[n·oh·ow, kh·kw·ci]`, the
 * taps row-major and the channels innermost, zeros where a tap falls in the
 * padding.
 */
export function im2col(backend: WasmBackend, x: TensorInfo, info: Info): TensorInfo {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const rowLen = kh * kw * ci;
  return writeFloatOutput(backend, [n * oh * ow, rowLen], (out) => {
    const { heap, at: xAt } = heapOf(backend, x);
    const outAt = out.byteOffset >> 2;
    let row = outAt;
    for (let b = 0; b < n; b++) {
      const xb = xAt + b * H * W * ci;
      for (let y = 0; y < oh; y++) {
        const r0 = y * sh - top;
        for (let xo = 0; xo < ow; xo++) {
          const c0 = xo * sw - left;
          let dst = row;
          for (let i = 0; i < kh; i++) {
            const r = r0 + i * dh;
            if (r < 0 || r >= H) {
              dst += kw * ci; // zeros: the output starts zeroed
              continue;
            }
            const xr = xb + r * W * ci;
            for (let j = 0; j < kw; j++, dst += ci) {
              const c = c0 + j * dw;
              if (c < 0 || c >= W) continue;
              const src = xr + c * ci;
              if (ci >= 16) heap.copyWithin(dst, src, src + ci);
              else for (let k = 0; k < ci; k++) heap[dst + k] = heap[src + k]!;
            }
          }
          row += rowLen;
        }
      }
    }
  });
}

/**
 * col2im, the adjoint of {@link im2col}: sums each row's taps back onto the
 * NHWC input of shape `[n, H, W, ci]`.
 */
export function col2im(backend: WasmBackend, cols: TensorInfo, info: Info): TensorInfo {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  return writeFloatOutput(backend, [n, H, W, ci], (out) => {
    const src = readValues(backend, cols) as Float32Array;
    let s = 0;
    for (let b = 0; b < n; b++) {
      const ob = b * H * W * ci;
      for (let y = 0; y < oh; y++) {
        const r0 = y * sh - top;
        for (let xo = 0; xo < ow; xo++) {
          const c0 = xo * sw - left;
          for (let i = 0; i < kh; i++) {
            const r = r0 + i * dh;
            if (r < 0 || r >= H) {
              s += kw * ci;
              continue;
            }
            const orow = ob + r * W * ci;
            for (let j = 0; j < kw; j++, s += ci) {
              const c = c0 + j * dw;
              if (c < 0 || c >= W) continue;
              const d = orow + c * ci;
              for (let k = 0; k < ci; k++) out[d + k] += src[s + k];
            }
          }
        }
      }
    }
  });
}

/** `dW[kh, kw, ci, co]` as `(dy^T · im2col(x))^T`. */
export function filterGradGemm(
  r: KernelRunner,
  x: TensorInfo,
  dy: TensorInfo,
  info: Info,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const m = info.batchSize * info.outHeight * info.outWidth;
  const plain =
    kh === 1 &&
    kw === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth;
  // A plain 1x1 convolution's im2col is its input.
  const cols = plain ? x : r.track(im2col(r.backend, x, info));
  const dyT = r.transpose(r.reshape(dy, [m, co]), [1, 0]); // [co, M]
  const g = r.run(
    'BatchMatMul',
    { a: r.reshape(dyT, [1, co, m]), b: r.reshape(cols, [1, m, kh * kw * ci]) },
    { transposeA: false, transposeB: false },
  ); // [1, co, kh·kw·ci]
  const gT = r.transpose(r.reshape(g, [co, kh * kw * ci]), [1, 0]); // [kh·kw·ci, co]
  return r.reshape(gT, [kh, kw, ci, co], true);
}

/** `dx` as col2im(dy · W^T). */
export function inputGradGemm(
  r: KernelRunner,
  dy: TensorInfo,
  filter: TensorInfo,
  info: Info,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const m = info.batchSize * info.outHeight * info.outWidth;
  const k = kh * kw * ci;
  const wT = r.transpose(r.reshape(filter, [k, co]), [1, 0]); // [co, k]
  const dcols = r.run(
    'BatchMatMul',
    { a: r.reshape(dy, [1, m, co]), b: r.reshape(wT, [1, co, k]) },
    { transposeA: false, transposeB: false },
  ); // [1, M, k]
  return col2im(r.backend, dcols, info);
}
