/**
 * Training-mode batch norm kernels for the cpu and wasm backends, over NHWC
 * with the channels innermost. Each is one pass over the full-size tensors
 * (tfjs' moments, broadcast arithmetic and sums take several each):
 *
 * - `TfdetChannelMoments` (x) → [mean, biased variance] per channel,
 *   accumulated in float64 around each channel's first value.
 * - `TfdetBatchNormApply` (x, mean, invStd, gamma, beta) → `(x − mean)·invStd·γ + β`.
 * - `TfdetBatchNormGradSums` (dy, x, mean, invStd) → [Σdy, Σdy·x̂] per channel.
 * - `TfdetBatchNormInputGrad` (dy, x, mean, invStd, gamma, sumDy, sumDyXhat;
 *   attr `count`) → `γ·invStd·(dy − Σdy/N − x̂·Σdy·x̂/N)`.
 */
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { readValues } from './typed_kernels.js';

/** The names the kernels are registered under. */
export const BN_KERNELS = {
  moments: 'TfdetChannelMoments',
  apply: 'TfdetBatchNormApply',
  gradSums: 'TfdetBatchNormGradSums',
  inputGrad: 'TfdetBatchNormInputGrad',
} as const;

interface OutputBackend {
  makeTensorInfo?(shape: number[], dtype: string, values?: Float32Array): TensorInfo;
  makeOutput?(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): unknown;
}

/**
 * Allocates a float32 output and lets `fill` write every element (it is not
 * zeroed first). On wasm the inputs must be read inside `fill`: allocating
 * may grow the heap, which detaches earlier views of it.
 */
function floatOutput(
  backend: unknown,
  shape: number[],
  fill: (out: Float32Array) => void,
): TensorInfo {
  const b = backend as OutputBackend;
  if (b.typedArrayFromHeap && b.makeOutput) {
    const out = b.makeOutput(shape, 'float32');
    fill(b.typedArrayFromHeap(out) as Float32Array);
    return out;
  }
  const values = new Float32Array(util.sizeFromShape(shape));
  fill(values);
  return b.makeTensorInfo!(shape, 'float32', values);
}

/** A per-channel tensor's values as float32. */
const floats = (backend: unknown, t: TensorInfo): Float32Array =>
  Float32Array.from(readValues(backend, t));

/** Per-channel float64 values written out as a float32 `[ch]` tensor. */
const channelOutput = (backend: unknown, v: Float64Array): TensorInfo =>
  floatOutput(backend, [v.length], (out) => out.set(v));

/**
 * The loops below walk the data in blocks of whole pixels (about 16 KiB, in
 * cache), four channels at a time inside a block (then the remaining ones):
 * each channel's coefficients and sums stay in locals instead of being loaded
 * and stored per element, and the four are independent chains.
 */
const blockOf = (ch: number): number => Math.max(1, Math.floor(4096 / ch)) * ch;

/** Σ(x − k) and Σ(x − k)² per channel into `s1`, `s2`, with `k` each channel's first value. */
function momentSums(x: Float32Array, ch: number, s1: Float64Array, s2: Float64Array): void {
  const n = x.length;
  const blk = blockOf(ch);
  const ch4 = ch - (ch % 4);
  for (let b0 = 0; b0 < n; b0 += blk) {
    const b1 = Math.min(n, b0 + blk);
    let d = 0;
    for (; d < ch4; d += 4) {
      const [k0, k1, k2, k3] = [x[d], x[d + 1], x[d + 2], x[d + 3]];
      let [a0, a1, a2, a3, q0, q1, q2, q3] = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let i = b0 + d; i < b1; i += ch) {
        const v0 = x[i] - k0;
        const v1 = x[i + 1] - k1;
        const v2 = x[i + 2] - k2;
        const v3 = x[i + 3] - k3;
        a0 += v0;
        a1 += v1;
        a2 += v2;
        a3 += v3;
        q0 += v0 * v0;
        q1 += v1 * v1;
        q2 += v2 * v2;
        q3 += v3 * v3;
      }
      s1[d] += a0;
      s1[d + 1] += a1;
      s1[d + 2] += a2;
      s1[d + 3] += a3;
      s2[d] += q0;
      s2[d + 1] += q1;
      s2[d + 2] += q2;
      s2[d + 3] += q3;
    }
    for (; d < ch; d++) {
      const k = x[d];
      let a = 0;
      let q = 0;
      for (let i = b0 + d; i < b1; i += ch) {
        const v = x[i] - k;
        a += v;
        q += v * v;
      }
      s1[d] += a;
      s2[d] += q;
    }
  }
  const count = n / ch;
  for (let d = 0; d < ch; d++) {
    const m = s1[d] / count;
    s2[d] = Math.max(0, s2[d] / count - m * m);
    s1[d] = x[d] + m;
  }
}

const channelMoments: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const ch = x.shape[x.shape.length - 1];
  const mean = new Float64Array(ch);
  const variance = new Float64Array(ch);
  momentSums(readValues(backend, x) as Float32Array, ch, mean, variance);
  return [channelOutput(backend, mean), channelOutput(backend, variance)];
};

/** `out = x·scale + shift` per channel. */
function affineLoop(x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array) {
  const ch = scale.length;
  const n = x.length;
  const blk = blockOf(ch);
  const ch4 = ch - (ch % 4);
  for (let b0 = 0; b0 < n; b0 += blk) {
    const b1 = Math.min(n, b0 + blk);
    let d = 0;
    for (; d < ch4; d += 4) {
      const [s0, s1, s2, s3] = [scale[d], scale[d + 1], scale[d + 2], scale[d + 3]];
      const [t0, t1, t2, t3] = [shift[d], shift[d + 1], shift[d + 2], shift[d + 3]];
      for (let i = b0 + d; i < b1; i += ch) {
        out[i] = x[i] * s0 + t0;
        out[i + 1] = x[i + 1] * s1 + t1;
        out[i + 2] = x[i + 2] * s2 + t2;
        out[i + 3] = x[i + 3] * s3 + t3;
      }
    }
    for (; d < ch; d++) {
      const s = scale[d];
      const t = shift[d];
      for (let i = b0 + d; i < b1; i += ch) out[i] = x[i] * s + t;
    }
  }
}

const batchNormApply: KernelFunc = ({ inputs, backend }) => {
  const { x, mean, invStd, gamma, beta } = inputs as Record<string, TensorInfo>;
  return floatOutput(backend, x.shape, (out) => {
    const m = floats(backend, mean);
    const inv = floats(backend, invStd);
    const g = floats(backend, gamma);
    const b = floats(backend, beta);
    const ch = m.length;
    const scale = new Float32Array(ch);
    const shift = new Float32Array(ch);
    for (let d = 0; d < ch; d++) {
      scale[d] = inv[d] * g[d];
      shift[d] = b[d] - m[d] * scale[d];
    }
    affineLoop(readValues(backend, x) as Float32Array, scale, shift, out);
  });
};

/** Σdy into `sDy` and Σdy·(x − mean) into `sDyX` per channel. */
function gradSumsLoop(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  sDy: Float64Array,
  sDyX: Float64Array,
): void {
  const ch = mean.length;
  const n = x.length;
  const blk = blockOf(ch);
  const ch4 = ch - (ch % 4);
  for (let b0 = 0; b0 < n; b0 += blk) {
    const b1 = Math.min(n, b0 + blk);
    let d = 0;
    for (; d < ch4; d += 4) {
      const [m0, m1, m2, m3] = [mean[d], mean[d + 1], mean[d + 2], mean[d + 3]];
      let [a0, a1, a2, a3, q0, q1, q2, q3] = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let i = b0 + d; i < b1; i += ch) {
        const g0 = dy[i];
        const g1 = dy[i + 1];
        const g2 = dy[i + 2];
        const g3 = dy[i + 3];
        a0 += g0;
        a1 += g1;
        a2 += g2;
        a3 += g3;
        q0 += g0 * (x[i] - m0);
        q1 += g1 * (x[i + 1] - m1);
        q2 += g2 * (x[i + 2] - m2);
        q3 += g3 * (x[i + 3] - m3);
      }
      sDy[d] += a0;
      sDy[d + 1] += a1;
      sDy[d + 2] += a2;
      sDy[d + 3] += a3;
      sDyX[d] += q0;
      sDyX[d + 1] += q1;
      sDyX[d + 2] += q2;
      sDyX[d + 3] += q3;
    }
    for (; d < ch; d++) {
      const m = mean[d];
      let a = 0;
      let q = 0;
      for (let i = b0 + d; i < b1; i += ch) {
        const g = dy[i];
        a += g;
        q += g * (x[i] - m);
      }
      sDy[d] += a;
      sDyX[d] += q;
    }
  }
}

const batchNormGradSums: KernelFunc = ({ inputs, backend }) => {
  const { dy, x, mean, invStd } = inputs as Record<string, TensorInfo>;
  const m = floats(backend, mean);
  const inv = floats(backend, invStd);
  const ch = m.length;
  const sDy = new Float64Array(ch);
  const sDyXhat = new Float64Array(ch);
  gradSumsLoop(
    readValues(backend, dy) as Float32Array,
    readValues(backend, x) as Float32Array,
    m,
    sDy,
    sDyXhat,
  );
  for (let d = 0; d < ch; d++) sDyXhat[d] *= inv[d];
  return [channelOutput(backend, sDy), channelOutput(backend, sDyXhat)];
};

/** `out = a·(dy − b − (x − mean)·c)` per channel. */
function inputGradLoop(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  out: Float32Array,
): void {
  const ch = mean.length;
  const n = x.length;
  const blk = blockOf(ch);
  const ch4 = ch - (ch % 4);
  for (let b0 = 0; b0 < n; b0 += blk) {
    const b1 = Math.min(n, b0 + blk);
    let d = 0;
    for (; d < ch4; d += 4) {
      const [a0, a1, a2, a3] = [a[d], a[d + 1], a[d + 2], a[d + 3]];
      const [e0, e1, e2, e3] = [b[d], b[d + 1], b[d + 2], b[d + 3]];
      const [f0, f1, f2, f3] = [c[d], c[d + 1], c[d + 2], c[d + 3]];
      const [m0, m1, m2, m3] = [mean[d], mean[d + 1], mean[d + 2], mean[d + 3]];
      for (let i = b0 + d; i < b1; i += ch) {
        out[i] = a0 * (dy[i] - e0 - (x[i] - m0) * f0);
        out[i + 1] = a1 * (dy[i + 1] - e1 - (x[i + 1] - m1) * f1);
        out[i + 2] = a2 * (dy[i + 2] - e2 - (x[i + 2] - m2) * f2);
        out[i + 3] = a3 * (dy[i + 3] - e3 - (x[i + 3] - m3) * f3);
      }
    }
    for (; d < ch; d++) {
      const [ad, bd, cd, md] = [a[d], b[d], c[d], mean[d]];
      for (let i = b0 + d; i < b1; i += ch) out[i] = ad * (dy[i] - bd - (x[i] - md) * cd);
    }
  }
}

const batchNormInputGrad: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { dy, x, mean, invStd, gamma, sumDy, sumDyXhat } = inputs as Record<string, TensorInfo>;
  const count = Number(attrs.count);
  return floatOutput(backend, x.shape, (out) => {
    const m = floats(backend, mean);
    const inv = floats(backend, invStd);
    const g = floats(backend, gamma);
    const sDy = floats(backend, sumDy);
    const sDx = floats(backend, sumDyXhat);
    const ch = m.length;
    const a = new Float32Array(ch);
    const b = new Float32Array(ch);
    const c = new Float32Array(ch);
    for (let d = 0; d < ch; d++) {
      a[d] = g[d] * inv[d];
      b[d] = sDy[d] / count;
      c[d] = (inv[d] * sDx[d]) / count;
    }
    const dyv = readValues(backend, dy) as Float32Array;
    inputGradLoop(dyv, readValues(backend, x) as Float32Array, m, a, b, c, out);
  });
};

const done = new Set<string>();

/** Registers the batch norm kernels for `backendName` ('cpu' or 'wasm'). */
export function registerBatchNormKernels(backendName: 'cpu' | 'wasm'): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  const table: [string, KernelFunc][] = [
    [BN_KERNELS.moments, channelMoments],
    [BN_KERNELS.apply, batchNormApply],
    [BN_KERNELS.gradSums, batchNormGradSums],
    [BN_KERNELS.inputGrad, batchNormInputGrad],
  ];
  for (const [kernelName, kernelFunc] of table) {
    if (getKernel(kernelName, backendName)) unregisterKernel(kernelName, backendName);
    registerKernel({ kernelName, backendName, kernelFunc });
  }
}

/** Whether `backendName` has every batch norm kernel registered. */
export function hasBatchNormKernels(backendName: string): boolean {
  return Object.values(BN_KERNELS).every((k) => getKernel(k, backendName) !== undefined);
}
