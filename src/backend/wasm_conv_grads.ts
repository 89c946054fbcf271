/**
 * `Conv2DBackpropFilter` and `Conv2DBackpropInput` for the wasm backend, as
 * convolutions with its XNNPACK kernel (see wasm_kernels.ts).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { filterGradGemm, inputGradGemm } from './wasm_conv_gemm.js';
import { KernelRunner, type WasmBackend } from './wasm_runner.js';
import { convInfoOf, flippedFilter, fullPadded, paddedInput } from './wasm_conv_utils.js';

/** dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh*d, ow*s+kw*d, ci] * dy[n,oh,ow,co]. */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const info = convInfoOf(x.shape, attrs.filterShape as number[], attrs, false);
  const r = new KernelRunner(backend as unknown as WasmBackend);
  try {
    // A 1x1 filter's gradient is one product over the (subsampled) input. So is a single
    // image's with many channels: the convolution form below reduces over the batch as its
    // channels, one at a time here (a RetinaNet head conv at 64x64, 256 -> 720: 2.2 s that
    // way, 1.45 s as im2col and one product; with fewer channels or images the convolution wins).
    if (
      (info.filterHeight === 1 && info.filterWidth === 1) ||
      (info.batchSize === 1 && info.inChannels >= 128)
    )
      return filterGradGemm(r, x, dy, info);
    const xp = paddedInput(r, x, info);
    const xT = r.transpose(xp, [3, 1, 2, 0]); // [ci, Hp, Wp, n]: batch <-> channels
    const dyT = r.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]: a filter
    const g = r.run(
      'Conv2D',
      { x: xT, filter: dyT },
      {
        strides: [info.dilationHeight, info.dilationWidth],
        dilations: [info.strideHeight, info.strideWidth],
        pad: 'valid',
        dataFormat: 'NHWC',
      },
    ); // [ci, kh, kw, co]
    return r.transpose(g, [1, 2, 0, 3], true);
  } finally {
    r.dispose();
  }
};

/** dx = conv(dilate_s(dy), flip(W)^T) with the padding that undoes the forward's. */
export const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const info = convInfoOf(attrs.inputShape as number[], filter.shape, attrs, false);
  const r = new KernelRunner(backend as unknown as WasmBackend);
  try {
    // Strided: a product and col2im, rather than a convolution of mostly zeros.
    if (info.strideHeight > 1 || info.strideWidth > 1) return inputGradGemm(r, dy, filter, info);
    const [kh, kw] = filter.shape as [number, number, number, number];
    const wT = r.track(flippedFilter(r.backend, filter, false)); // [kh, kw, co, ci]
    const padded = fullPadded(r, dy, info, kh, kw);
    return r.run(
      'Conv2D',
      { x: padded, filter: wT },
      {
        strides: [1, 1],
        dilations: [info.dilationHeight, info.dilationWidth],
        pad: 'valid',
        dataFormat: 'NHWC',
      },
      true,
    );
  } finally {
    r.dispose();
  }
};
