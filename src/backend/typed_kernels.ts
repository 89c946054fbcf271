/**
 * Typed-array gradient kernels shared by the cpu and wasm backends, replacing
 * tfjs' own where those are wrong:
 *
 * - `ResizeBilinearGrad`: tfjs' cpu kernel ignores `halfPixelCenters` and
 *   returns `[batch, width, height, depth]` (fails for non-square maps); ours
 *   is the exact adjoint of the forward resize in both modes.
 * - `ResizeNearestNeighborGrad`: the adjoint of the forward, `halfPixelCenters` included.
 * - `MaxPoolGrad`: wasm's disagrees with the forward under 'same' padding; ours
 *   routes each output gradient to the first maximum of its window (row-major
 *   scan, strict `>`), as the forward kernels and torch pick it.
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

type Typed = backend_util.TypedArray;

interface AnyBackend {
  readSync?(dataId: object): backend_util.BackendValues;
  makeTensorInfo?(shape: number[], dtype: string, values?: backend_util.BackendValues): TensorInfo;
  makeOutput?(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): Typed;
}

/** The values of a tensor on the cpu (its own array) or wasm (a view of the heap). */
export function readValues(backend: unknown, t: TensorInfo): Typed {
  const b = backend as AnyBackend;
  if (b.typedArrayFromHeap) return b.typedArrayFromHeap(t);
  return b.readSync!(t.dataId) as Typed;
}

/** Allocates a float32 output, lets `fill` write it (zeroed), and returns it. */
export function writeFloatOutput(
  backend: unknown,
  shape: number[],
  fill: (out: Float32Array) => void,
): TensorInfo {
  const b = backend as AnyBackend;
  if (b.typedArrayFromHeap && b.makeOutput) {
    const out = b.makeOutput(shape, 'float32');
    const view = b.typedArrayFromHeap(out) as Float32Array;
    view.fill(0);
    fill(view);
    return out;
  }
  const values = new Float32Array(util.sizeFromShape(shape));
  fill(values);
  return b.makeTensorInfo!(shape, 'float32', values);
}

/** Source coordinate and scale of a resize along one axis (tfjs' forward formulas). */
function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  return effIn / effOut;
}

const resizeBilinearGrad: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo };
  const alignCorners = Boolean(attrs.alignCorners);
  const half = Boolean(attrs.halfPixelCenters);
  const [batch, xh, xw, depth] = images.shape as [number, number, number, number];
  const [, yh, yw] = dy.shape as [number, number, number, number];
  const hs = resizeScale(xh, yh, alignCorners);
  const ws = resizeScale(xw, yw, alignCorners);
  // Precompute per-row/col taps once.
  const taps = (n: number, scale: number, size: number): [Int32Array, Int32Array, Float32Array] => {
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    const frac = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const src = half ? scale * (i + 0.5) - 0.5 : scale * i;
      lo[i] = Math.max(0, Math.floor(src));
      hi[i] = Math.min(size - 1, Math.ceil(src));
      frac[i] = src - lo[i];
    }
    return [lo, hi, frac];
  };
  const [r0, r1, fr] = taps(yh, hs, xh);
  const [c0, c1, fc] = taps(yw, ws, xw);
  return writeFloatOutput(backend, images.shape, (out) => {
    const g = readValues(backend, dy);
    let o = 0;
    for (let b = 0; b < batch; b++) {
      const base = b * xh * xw * depth;
      for (let r = 0; r < yh; r++) {
        const top = base + r0[r] * xw * depth;
        const bot = base + r1[r] * xw * depth;
        const dr = fr[r];
        for (let c = 0; c < yw; c++) {
          const dc = fc[c];
          const w00 = (1 - dr) * (1 - dc);
          const w01 = (1 - dr) * dc;
          const w10 = dr * (1 - dc);
          const w11 = dr * dc;
          const tl = top + c0[c] * depth;
          const tr = top + c1[c] * depth;
          const bl = bot + c0[c] * depth;
          const br = bot + c1[c] * depth;
          for (let d = 0; d < depth; d++) {
            const v = g[o++];
            out[tl + d] += v * w00;
            out[tr + d] += v * w01;
            out[bl + d] += v * w10;
            out[br + d] += v * w11;
          }
        }
      }
    }
  });
};

const resizeNearestGrad: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo };
  const alignCorners = Boolean(attrs.alignCorners);
  const half = Boolean(attrs.halfPixelCenters);
  const [batch, xh, xw, depth] = images.shape as [number, number, number, number];
  const [, yh, yw] = dy.shape as [number, number, number, number];
  const src = (n: number, scale: number, size: number): Int32Array => {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const f = half ? scale * (i + 0.5) : scale * i;
      let s = Math.min(size - 1, alignCorners ? Math.round(f) : Math.floor(f));
      if (half) s = Math.max(0, s);
      idx[i] = s;
    }
    return idx;
  };
  const rows = src(yh, resizeScale(xh, yh, alignCorners), xh);
  const cols = src(yw, resizeScale(xw, yw, alignCorners), xw);
  return writeFloatOutput(backend, images.shape, (out) => {
    const g = readValues(backend, dy);
    let o = 0;
    for (let b = 0; b < batch; b++) {
      const base = b * xh * xw * depth;
      for (let r = 0; r < yh; r++) {
        const row = base + rows[r] * xw * depth;
        for (let c = 0; c < yw; c++) {
          const at = row + cols[c] * depth;
          for (let d = 0; d < depth; d++) out[at + d] += g[o++];
        }
      }
    }
  });
};

/** The geometry of a max pool, from `computePool2DInfo`. */
interface PoolDims {
  batch: number;
  inH: number;
  inW: number;
  ch: number;
  outH: number;
  outW: number;
  sh: number;
  sw: number;
  fh: number;
  fw: number;
  top: number;
  left: number;
}

/**
 * Per output pixel: the window's in-bounds positions (row-major) as offsets
 * into `x`; each channel starts at the first position and moves only to a
 * strictly greater value (the first maximum wins), channels innermost
 * (contiguous in NHWC); the chosen inputs get the output's gradient. The move
 * is a mask on the index rather than a branch (random data mispredicts it
 * half the time); comparing with `x[at]` keeps NaN as the scan with `>`.
 */
function maxPoolGradLoop(x: Float32Array, g: Float32Array, out: Float32Array, p: PoolDims): void {
  const { inH, inW, ch, outH, outW, sh, sw, fh, fw, top, left } = p;
  const taps = new Int32Array(fh * fw);
  const at = new Int32Array(ch);
  let gOff = 0;
  for (let b = 0; b < p.batch; b++) {
    const xb = b * inH * inW * ch;
    for (let yr = 0; yr < outH; yr++) {
      const r0 = yr * sh - top;
      const rLo = Math.max(0, r0);
      const rHi = Math.min(inH, r0 + fh);
      for (let yc = 0; yc < outW; yc++, gOff += ch) {
        const c0 = yc * sw - left;
        const cLo = Math.max(0, c0);
        const cHi = Math.min(inW, c0 + fw);
        let n = 0;
        for (let r = rLo; r < rHi; r++) {
          for (let c = cLo; c < cHi; c++) taps[n++] = xb + (r * inW + c) * ch;
        }
        if (n === 0) continue;
        const first = taps[0];
        for (let d = 0; d < ch; d++) at[d] = first + d;
        for (let t = 1; t < n; t++) {
          const base = taps[t];
          for (let d = 0; d < ch; d++) {
            const a = at[d];
            const i = base + d;
            const up = ((x[i] > x[a]) as unknown as number) | 0;
            at[d] = a + ((i - a) & -up);
          }
        }
        for (let d = 0; d < ch; d++) out[at[d]] += g[gOff + d];
      }
    }
  }
}

const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const dims: PoolDims = {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    ch: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    fh: info.filterHeight,
    fw: info.filterWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
  return writeFloatOutput(backend, input.shape, (out) => {
    const x = readValues(backend, input) as Float32Array;
    maxPoolGradLoop(x, readValues(backend, dy) as Float32Array, out, dims);
  });
};

const done = new Set<string>();

/**
 * Registers the shared gradient kernels for `backendName` ('cpu' or 'wasm'),
 * replacing that backend's own. Call it after the backend's package is
 * imported (its import registers its kernels, which would overwrite ours).
 */
export function registerTypedGradKernels(backendName: 'cpu' | 'wasm'): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  const table: [string, KernelFunc][] = [
    ['ResizeBilinearGrad', resizeBilinearGrad],
    ['ResizeNearestNeighborGrad', resizeNearestGrad],
    ['MaxPoolGrad', maxPoolGrad],
  ];
  for (const [kernelName, kernelFunc] of table) {
    if (getKernel(kernelName, backendName)) unregisterKernel(kernelName, backendName);
    registerKernel({ kernelName, backendName, kernelFunc });
  }
}
