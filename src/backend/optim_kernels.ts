/**
 * Optimizer updates as one kernel per parameter on the cpu and wasm
 * backends: `TfdetAdamUpdate` (torch.optim.Adam / AdamW) and
 * `TfdetSgdUpdate` (torch.optim.SGD with momentum, dampening, nesterov).
 * The update written with tfjs ops takes 10–15 kernels per parameter, and in
 * a small model the dispatch of those is most of the optimizer's time.
 *
 * Every arithmetic step is rounded to float32 (`Math.fround`) in the order
 * the op-by-op update computes it, so the results are the same bits as the
 * float32 kernels' (a product, sum, quotient or square root of float32
 * values computed in float64 and rounded once is the correctly rounded
 * float32 result).
 */
import { registerKernel, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { readValues, writeFloatOutput } from './typed_kernels.js';

const f = Math.fround;

/** Attributes of `TfdetAdamUpdate`. */
export interface AdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: `p *= 1 - lr * wd` instead of `g += wd * p`. */
  decoupled: boolean;
  /** The step number, from 1 (bias corrections). */
  step: number;
}

/** Inputs `param`, `grad`, and (after the first step) `expAvg`, `expAvgSq`; outputs param, expAvg, expAvgSq. */
const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const { param, grad, expAvg, expAvgSq } = inputs as Record<string, TensorInfo | undefined>;
  const a = attrs as unknown as AdamUpdateAttrs;
  const shape = param!.shape;
  const n = param!.shape.reduce((x, y) => x * y, 1);
  const b1 = f(a.beta1);
  const c1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const c2 = f(1 - a.beta2);
  const wd = f(a.weightDecay);
  const keep = f(1 - a.lr * a.weightDecay);
  const sq = f(Math.sqrt(1 - a.beta2 ** a.step));
  const stepSize = f(a.lr / (1 - a.beta1 ** a.step));
  const eps = f(a.eps);
  const hasWd = a.weightDecay !== 0;
  const m = writeFloatOutput(backend, shape, () => {});
  const v = writeFloatOutput(backend, shape, () => {});
  const out = writeFloatOutput(backend, shape, (o) => {
    const p = readValues(backend, param!) as Float32Array;
    const g0 = readValues(backend, grad!) as Float32Array;
    const mo = readValues(backend, m) as Float32Array;
    const vo = readValues(backend, v) as Float32Array;
    const mi = expAvg ? (readValues(backend, expAvg) as Float32Array) : undefined;
    const vi = expAvgSq ? (readValues(backend, expAvgSq) as Float32Array) : undefined;
    for (let i = 0; i < n; i++) {
      let pi = p[i];
      let g = g0[i];
      if (hasWd) {
        if (a.decoupled) pi = f(pi * keep);
        else g = f(g + f(pi * wd));
      }
      const mn = f(f((mi ? mi[i] : 0) * b1) + f(g * c1));
      const vn = f(f((vi ? vi[i] : 0) * b2) + f(f(g * g) * c2));
      mo[i] = mn;
      vo[i] = vn;
      const denom = f(f(f(Math.sqrt(vn)) / sq) + eps);
      o[i] = f(pi - f(f(mn / denom) * stepSize));
    }
  });
  return [out, m, v];
};

/** Attributes of `TfdetSgdUpdate`. */
export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** Inputs `param`, `grad`, and (with momentum, after the first step) `momentumBuffer`; outputs param and, with momentum, the buffer. */
const sgdUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const { param, grad, momentumBuffer } = inputs as Record<string, TensorInfo | undefined>;
  const a = attrs as unknown as SgdUpdateAttrs;
  const shape = param!.shape;
  const n = param!.shape.reduce((x, y) => x * y, 1);
  const wd = f(a.weightDecay);
  const mom = f(a.momentum);
  const damp = f(1 - a.dampening);
  const lr = f(a.lr);
  const hasMomentum = a.momentum !== 0;
  const buf = hasMomentum ? writeFloatOutput(backend, shape, () => {}) : undefined;
  const out = writeFloatOutput(backend, shape, (o) => {
    const p = readValues(backend, param!) as Float32Array;
    const g0 = readValues(backend, grad!) as Float32Array;
    const bo = buf ? (readValues(backend, buf) as Float32Array) : undefined;
    const bi = momentumBuffer ? (readValues(backend, momentumBuffer) as Float32Array) : undefined;
    for (let i = 0; i < n; i++) {
      let g = g0[i];
      if (a.weightDecay !== 0) g = f(g + f(p[i] * wd));
      if (bo) {
        // The first step's buffer is the gradient itself (torch's clone).
        const b = bi ? f(f(bi[i] * mom) + (a.dampening ? f(g * damp) : g)) : g;
        bo[i] = b;
        g = a.nesterov ? f(g + f(b * mom)) : b;
      }
      o[i] = f(p[i] - f(g * lr));
    }
  });
  return buf ? [out, buf] : [out];
};

let registered = false;

/** Registers the fused optimizer kernels for the cpu and wasm backends (idempotent). */
export function registerOptimKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of ['cpu', 'wasm']) {
    registerKernel({ kernelName: 'TfdetAdamUpdate', backendName, kernelFunc: adamUpdate });
    registerKernel({ kernelName: 'TfdetSgdUpdate', backendName, kernelFunc: sgdUpdate });
  }
}
