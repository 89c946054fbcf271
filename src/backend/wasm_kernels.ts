/**
 * Training kernels that tfjs' wasm backend lacks, built from its own fast
 * (XNNPACK) convolution and transpose kernels rather than scalar loops:
 *
 * - `Conv2DBackpropFilter`: the filter gradient of a convolution is itself a
 *   convolution of the input (batch and channels swapped) with the output
 *   gradient as the filter, stride and dilation swapping roles.
 * - `Conv2DBackpropInput` (replaces wasm's scalar loop): a convolution of the
 *   (stride-dilated) output gradient with the spatially flipped, transposed filter.
 * - `DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput`: the same
 *   identities with depthwise convolutions.
 * - `UnsortedSegmentSum` (the gradient of gather): a typed-array scatter-add.
 * - `BatchMatMul` (wraps wasm's): transposed operands are transposed
 *   explicitly first; wasm's transposed path is an order of magnitude slower.
 *
 * Each kernel also accepts a `dilations` attribute, which the gradients of
 * `src/backend/gradients.ts` pass for dilated convolutions.
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { readValues, writeFloatOutput } from './typed_kernels.js';

/** The parts of tfjs' BackendWasm these kernels use. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32' | 'bool'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): backend_util.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Pad = backend_util.Conv2DInfo['padInfo'];

/**
 * The filter of the input-gradient convolution: flipped in both spatial axes
 * and, unless `keepChannels`, with in/out channels swapped
 * (`[kh,kw,a,b] -> [kh,kw,b,a]`). One typed-array pass; wasm's Reverse kernel
 * takes longer than the convolution it prepares.
 */
function flippedFilter(backend: WasmBackend, f: TensorInfo, keepChannels: boolean): TensorInfo {
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

class KernelRunner {
  private readonly temps: TensorInfo[] = [];
  constructor(readonly backend: WasmBackend) {}

  /** Frees `t` with the other temporaries. */
  track(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Runs a wasm kernel; the result is freed by {@link dispose} unless `keep`. */
  run(
    name: string,
    inputs: NamedTensorInfoMap,
    attrs: NamedAttrMap = {},
    keep = false,
  ): TensorInfo {
    const k = getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm kernel ${name} is not registered`);
    const out = k.kernelFunc({ inputs, attrs, backend: this.backend as never }) as TensorInfo;
    if (!keep) this.temps.push(out);
    return out;
  }

  transpose(x: TensorInfo, perm: number[], keep = false): TensorInfo {
    return this.run('Transpose', { x }, { perm }, keep);
  }

  reshape(x: TensorInfo, shape: number[], keep = false): TensorInfo {
    return this.run('Reshape', { x }, { shape }, keep);
  }

  slice(x: TensorInfo, begin: number[], size: number[], keep = false): TensorInfo {
    return this.run('Slice', { x }, { begin, size }, keep);
  }

  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

const pair = (v: number | number[] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0]!, v[1]!];

/**
 * Zero-pads (positive amounts) or crops (negative amounts) an NHWC tensor's
 * rows and columns on each side.
 */
function padOrCrop(
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
function dilateSpatial(r: KernelRunner, x: TensorInfo, sh: number, sw: number): TensorInfo {
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
function usedExtent(out: number, stride: number, k: number, dil: number): number {
  return (out - 1) * stride + (k - 1) * dil + 1;
}

function convInfoOf(
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
function paddedInput(r: KernelRunner, x: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
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

/** dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh*d, ow*s+kw*d, ci] * dy[n,oh,ow,co]. */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs = {} }) => {
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

/**
 * The output gradient placed for a stride-1 "full" convolution that yields the
 * input gradient: dilated by the stride, then padded (or cropped where the
 * forward padded beyond the kernel's reach) so that a valid convolution with
 * the flipped filter gives exactly `inHeight x inWidth`.
 */
function fullPadded(
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
  const bottom = info.inHeight + reachH - src.shape[1]! - top;
  const right = info.inWidth + reachW - src.shape[2]! - left;
  return padOrCrop(r, src, top, bottom, left, right);
}

/** dx = conv(dilate_s(dy), flip(W)^T) with the padding that undoes the forward's. */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs = {} }) => {
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

/** dW[kh,kw,c,j] = sum_{n,oh,ow} x[n, oh*s+kh*d, ow*s+kw*d, c] * dy[n,oh,ow,c*m+j]. */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = attrs.filterShape as number[];
  const info = convInfoOf(x.shape, filterShape, attrs, true);
  const r = new KernelRunner(backend as unknown as WasmBackend);
  try {
    const [kh, kw, c, m] = filterShape as [number, number, number, number];
    const n = x.shape[0]!;
    const xp = paddedInput(r, x, info); // [n, Hp, Wp, c]
    const [, hp, wp] = xp.shape as [number, number, number, number];
    const xT = r.reshape(r.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, n * c]); // channels (n, c)
    const oh = dy.shape[1]!;
    const ow = dy.shape[2]!;
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
const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs = {} }) => {
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

/** out[segment[i], ...] += x[i, ...] for segment in [0, numSegments); others dropped (as TF). */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = attrs.numSegments as number;
  const b = backend as unknown as WasmBackend;
  const inner = util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = b.makeOutput(outShape, x.dtype as 'float32' | 'int32');
  // Views are taken after the allocation: growing wasm memory detaches older ones.
  const xs = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds);
  const os = b.typedArrayFromHeap(out);
  os.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) os[dst + k]! += xs[src + k]!;
  }
  return out;
};

/** wasm's own BatchMatMul, captured when ours is registered in its place. */
let wasmBatchMatMul: KernelFunc | undefined;

/**
 * `BatchMatMul` with `transposeA` / `transposeB` as an explicit Transpose of
 * the last two axes and a plain product: wasm's kernel takes a slow path for
 * transposed operands (a `[3136,512]^T x [512,256]` product: ~0.9 s against
 * ~0.06 s this way), and every matMul gradient uses the flags.
 */
const batchMatMul: KernelFunc = (args) => {
  const { transposeA, transposeB } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
  };
  if (!wasmBatchMatMul) throw new Error('wasm kernel BatchMatMul is not registered');
  if (!transposeA && !transposeB) return wasmBatchMatMul(args);
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const r = new KernelRunner(args.backend as unknown as WasmBackend);
  const lastTwo = (t: TensorInfo): number[] => {
    const n = t.shape.length;
    return [...Array.from({ length: n - 2 }, (_, i) => i), n - 1, n - 2];
  };
  try {
    const a2 = transposeA ? r.transpose(a, lastTwo(a)) : a;
    const b2 = transposeB ? r.transpose(b, lastTwo(b)) : b;
    return wasmBatchMatMul({
      ...args,
      inputs: { a: a2, b: b2 },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    });
  } finally {
    r.dispose();
  }
};

const KERNELS: KernelConfig[] = [
  { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul },
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInput },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: depthwiseBackpropFilter,
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: depthwiseBackpropInput,
  },
  { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum },
];

let registered = false;

/**
 * Registers the training kernels for the wasm backend (idempotent). Kernels
 * wasm already has (its scalar `Conv2DBackpropInput`) are replaced.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const own = getKernel('BatchMatMul', 'wasm');
  wasmBatchMatMul = own?.kernelFunc;
  for (const k of KERNELS) {
    if (k.kernelName === 'BatchMatMul' && !own) continue;
    if (getKernel(k.kernelName, 'wasm')) unregisterKernel(k.kernelName, 'wasm');
    // wasm binds its C function in the kernel's setupFunc when the backend starts: keep it.
    registerKernel(k.kernelName === 'BatchMatMul' ? { ...k, setupFunc: own!.setupFunc } : k);
  }
}
