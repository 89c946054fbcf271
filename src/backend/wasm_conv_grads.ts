/**
 * `Conv2DBackpropFilter` and `Conv2DBackpropInput` for the wasm backend, as
 * convolutions with its XNNPACK kernel (see wasm_kernels.ts).
 */
import {
  backend_util,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { readValues, writeFloatOutput } from './typed_kernels.js';
import { KernelRunner, type WasmBackend } from './wasm_runner.js';
import {
  convInfoOf,
  flippedFilter,
  fullPadded,
  padOrCrop,
  paddedInput,
} from './wasm_conv_utils.js';

/** dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh*d, ow*s+kw*d, ci] * dy[n,oh,ow,co]. */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const info = convInfoOf(x.shape, attrs.filterShape as number[], attrs, false);
  const r = new KernelRunner(backend as unknown as WasmBackend);
  try {
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
    const s = info.strideHeight;
    if (s > 1 && s === info.strideWidth && info.dilationHeight === 1 && info.dilationWidth === 1) {
      return stridedBackpropInput(r, dy, filter, info);
    }
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

/**
 * The phase filter of a strided conv's input gradient: taps `W[rh + a*s, rw + b*s]`,
 * flipped, with in/out channels swapped: `[mh, mw, co, ci]`.
 */
function phaseFilter(
  backend: WasmBackend,
  f: TensorInfo,
  s: number,
  rh: number,
  rw: number,
): TensorInfo {
  const [kh, kw, ci, co] = f.shape as [number, number, number, number];
  const mh = Math.ceil((kh - rh) / s);
  const mw = Math.ceil((kw - rw) / s);
  return writeFloatOutput(backend, [mh, mw, co, ci], (out) => {
    const src = readValues(backend, f);
    for (let a = 0; a < mh; a++) {
      for (let b = 0; b < mw; b++) {
        const from = ((rh + a * s) * kw + (rw + b * s)) * ci * co;
        const to = ((mh - 1 - a) * mw + (mw - 1 - b)) * co * ci;
        for (let p = 0; p < ci; p++)
          for (let q = 0; q < co; q++) out[to + q * ci + p] = src[from + p * co + q]!;
      }
    }
  });
}

/**
 * Input gradient of a stride-s convolution without multiplying by the zeros
 * of a stride-dilated output gradient: input row i = Q*s + r - pad takes only
 * the taps k = r + m*s (m = 0..), i.e. a stride-1 convolution of dy with the
 * phase-r sub-filter. The s*s phase results are computed on a common grid of
 * Q, interleaved with DepthToSpace and cropped to the input.
 */
function stridedBackpropInput(
  r: KernelRunner,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const s = info.strideHeight;
  const [kh, kw, ci] = filter.shape as [number, number, number, number];
  const [n, oh, ow] = dy.shape as [number, number, number, number];
  const { top, left } = info.padInfo;
  // Common Q grid: i + pad = Q*s + r for i in [0, H), r in [0, s).
  const qLoH = Math.floor(top / s);
  const qHiH = Math.floor((info.inHeight - 1 + top) / s);
  const qLoW = Math.floor(left / s);
  const qHiW = Math.floor((info.inWidth - 1 + left) / s);
  const nh = qHiH - qLoH + 1;
  const nw = qHiW - qLoW + 1;
  const phases: TensorInfo[] = [];
  for (let rh = 0; rh < s; rh++) {
    for (let rw = 0; rw < s; rw++) {
      const mh = Math.ceil((kh - rh) / s);
      const mw = Math.ceil((kw - rw) / s);
      if (mh <= 0 || mw <= 0) {
        phases.push(r.track(writeFloatOutput(r.backend, [n, nh, nw, ci], () => {})));
        continue;
      }
      const f = r.track(phaseFilter(r.backend, filter, s, rh, rw));
      // Output u of a valid conv over dy padded by (m-1-qLo) on the left is Q = u + qLo.
      const padTop = mh - 1 - qLoH;
      const padLeft = mw - 1 - qLoW;
      const padBottom = nh + mh - 1 - padTop - oh;
      const padRight = nw + mw - 1 - padLeft - ow;
      const padded = padOrCrop(r, dy, padTop, padBottom, padLeft, padRight);
      phases.push(
        r.run(
          'Conv2D',
          { x: padded, filter: f },
          { strides: [1, 1], dilations: [1, 1], pad: 'valid', dataFormat: 'NHWC' },
        ),
      );
    }
  }
  // tfjs passes Concat's inputs as an array.
  const stacked = r.run('Concat', phases as unknown as NamedTensorInfoMap, { axis: 3 });
  const full = r.run('DepthToSpace', { x: stacked }, { blockSize: s, dataFormat: 'NHWC' }); // rows (Q - qLo)*s + r
  return r.slice(
    full,
    [0, top - qLoH * s, left - qLoW * s, 0],
    [n, info.inHeight, info.inWidth, ci],
    true,
  );
}
