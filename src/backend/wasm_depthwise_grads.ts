/**
 * `DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput` for the wasm
 * backend, as depthwise convolutions (see wasm_kernels.ts).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelRunner, type WasmBackend } from './wasm_runner.js';
import { convInfoOf, flippedFilter, fullPadded, paddedInput } from './wasm_conv_utils.js';

/** dW[kh,kw,c,j] = sum_{n,oh,ow} x[n, oh*s+kh*d, ow*s+kw*d, c] * dy[n,oh,ow,c*m+j]. */
export const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = attrs.filterShape as number[];
  const info = convInfoOf(x.shape, filterShape, attrs, true);
  const r = new KernelRunner(backend as unknown as WasmBackend);
  try {
    const [kh, kw, c, m] = filterShape as [number, number, number, number];
    const n = x.shape[0];
    const xp = paddedInput(r, x, info); // [n, Hp, Wp, c]
    const [, hp, wp] = xp.shape as [number, number, number, number];
    const xT = r.reshape(r.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, n * c]); // channels (n, c)
    const oh = dy.shape[1];
    const ow = dy.shape[2];
    const dyT = r.reshape(r.transpose(dy, [1, 2, 0, 3]), [oh, ow, n * c, m]); // filter over (n, c)
    const g = r.run(
      'DepthwiseConv2dNative',
      { x: xT, filter: dyT },
      {
        strides: [info.dilationHeight, info.dilationWidth],
        dilations: [info.strideHeight, info.strideWidth],
        pad: 'valid',
        dataFormat: 'NHWC',
      },
    ); // [1, kh, kw, n*c*m]
    const perN = r.reshape(g, [kh, kw, n, c * m]);
    const summed = r.run('Sum', { x: perN }, { axis: [2], keepDims: false });
    return r.reshape(summed, [kh, kw, c, m], true);
  } finally {
    r.dispose();
  }
};

/** dx[n,ih,iw,c] = sum_j conv(dilate_s(dy[..., c*m+j]), flip(W[:,:,c,j])). */
export const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const inputShape = attrs.inputShape as number[];
  const info = convInfoOf(inputShape, filter.shape, attrs, true);
  const r = new KernelRunner(backend as unknown as WasmBackend);
  try {
    const [kh, kw, c, m] = filter.shape as [number, number, number, number];
    const flipped = r.reshape(r.track(flippedFilter(r.backend, filter, true)), [kh, kw, c * m, 1]);
    const padded = fullPadded(r, dy, info, kh, kw);
    const g = r.run(
      'DepthwiseConv2dNative',
      { x: padded, filter: flipped },
      {
        strides: [1, 1],
        dilations: [info.dilationHeight, info.dilationWidth],
        pad: 'valid',
        dataFormat: 'NHWC',
      },
      m === 1,
    ); // [n, H, W, c*m]
    if (m === 1) return g;
    const [n, h, w] = g.shape as [number, number, number, number];
    const perJ = r.reshape(g, [n, h, w, c, m]);
    return r.run('Sum', { x: perJ }, { axis: [4], keepDims: false }, true);
  } finally {
    r.dispose();
  }
};
