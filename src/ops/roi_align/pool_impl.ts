/**
 * Typed-array RoIPool (forward with arg-max, backward) over NHWC features,
 * torchvision's `roi_pool_kernel.cpp` step for step.
 */
import { checkBatch, f } from './sampling.js';

/** Attributes of the RoIPool kernels. */
export interface RoIPoolAttrs {
  outH: number;
  outW: number;
  spatialScale: number;
}

/** std::round: half away from zero (JS Math.round rounds half up). */
const roundAway = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

/** Bin bounds of one RoIPool cell, torchvision `roi_pool_kernel.cpp`. */
function poolBins(
  rois: Float32Array,
  k: number,
  a: RoIPoolAttrs,
  H: number,
  W: number,
): { n: number; hs: Int32Array; he: Int32Array; ws: Int32Array; we: Int32Array } {
  const r = 5 * k;
  const scale = f(a.spatialScale);
  const sw = roundAway(f(rois[r + 1] * scale));
  const sh = roundAway(f(rois[r + 2] * scale));
  const ew = roundAway(f(rois[r + 3] * scale));
  const eh = roundAway(f(rois[r + 4] * scale));
  const rw = Math.max(ew - sw + 1, 1);
  const rh = Math.max(eh - sh + 1, 1);
  const bh = f(rh / a.outH);
  const bw = f(rw / a.outW);
  const hs = new Int32Array(a.outH),
    he = new Int32Array(a.outH);
  const ws = new Int32Array(a.outW),
    we = new Int32Array(a.outW);
  for (let p = 0; p < a.outH; p++) {
    hs[p] = Math.min(Math.max(Math.floor(f(p * bh)) + sh, 0), H);
    he[p] = Math.min(Math.max(Math.ceil(f((p + 1) * bh)) + sh, 0), H);
  }
  for (let p = 0; p < a.outW; p++) {
    ws[p] = Math.min(Math.max(Math.floor(f(p * bw)) + sw, 0), W);
    we[p] = Math.min(Math.max(Math.ceil(f((p + 1) * bw)) + sw, 0), W);
  }
  return { n: rois[r], hs, he, ws, we };
}

/** RoIPool forward and arg-max (pixel index y * W + x, -1 for empty bins). */
export function roiPoolForward(
  features: Float32Array,
  fshape: number[],
  rois: Float32Array,
  a: RoIPoolAttrs,
): { out: Float32Array; argmax: Int32Array } {
  const [N, H, W, C] = fshape;
  const K = rois.length / 5;
  const out = new Float32Array(K * a.outH * a.outW * C);
  const argmax = new Int32Array(out.length).fill(-1);
  for (let k = 0; k < K; k++) {
    const b = poolBins(rois, k, a, H, W);
    const n = checkBatch(b.n, N, k, 'roiPool');
    const base = n * H * W * C;
    for (let ph = 0; ph < a.outH; ph++) {
      for (let pw = 0; pw < a.outW; pw++) {
        const o = ((k * a.outH + ph) * a.outW + pw) * C;
        const empty = b.he[ph] <= b.hs[ph] || b.we[pw] <= b.ws[pw];
        for (let c = 0; c < C; c++) out[o + c] = empty ? 0 : -3.4028234663852886e38;
        if (empty) continue;
        for (let h = b.hs[ph]; h < b.he[ph]; h++) {
          for (let x = b.ws[pw]; x < b.we[pw]; x++) {
            const p = h * W + x;
            const src = base + p * C;
            for (let c = 0; c < C; c++) {
              if (features[src + c] > out[o + c]) {
                out[o + c] = features[src + c];
                argmax[o + c] = p;
              }
            }
          }
        }
      }
    }
  }
  return { out, argmax };
}

/** RoIPool backward: dy routed to each bin's arg-max pixel. */
export function roiPoolBackward(
  dy: Float32Array,
  features: Float32Array,
  fshape: number[],
  rois: Float32Array,
  a: RoIPoolAttrs,
): Float32Array {
  const [, H, W, C] = fshape;
  const { argmax } = roiPoolForward(features, fshape, rois, a);
  const dx = new Float32Array(fshape[0] * H * W * C);
  const per = a.outH * a.outW * C;
  for (let i = 0; i < argmax.length; i++) {
    const p = argmax[i];
    if (p < 0) continue;
    const k = Math.floor(i / per);
    const n = Math.round(rois[5 * k]);
    dx[(n * H * W + p) * C + (i % C)] += dy[i];
  }
  return dx;
}
