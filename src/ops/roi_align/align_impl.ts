/**
 * Typed-array RoIAlign / RoIPool kernels (forward and backward) over NHWC
 * features. Sampling follows torchvision's `roi_align_kernel.cpp` and mmcv's
 * `roi_align_cpu.cpp` step for step (float32 where the grid size depends on it).
 */

import {
  axis,
  axisTable,
  binTaps,
  checkBatch,
  preCalc,
  roiGeom,
  tapBuffers,
  type RoIAlignAttrs,
  type RoIGeom,
} from './sampling.js';

function avgForwardRoi(
  features: Float32Array,
  out: Float32Array,
  base: number,
  outBase: number,
  g: RoIGeom,
  a: RoIAlignAttrs,
  W: number,
  H: number,
  C: number,
  acc: Float64Array,
): void {
  const ty = axisTable(g.startH, g.binH, g.gridH, a.outH, H);
  const tx = axisTable(g.startW, g.binW, g.gridW, a.outW, W);
  const { offs, ws } = tapBuffers(ty, tx);
  const inv = 1 / g.count;
  for (let ph = 0; ph < a.outH; ph++) {
    for (let pw = 0; pw < a.outW; pw++) {
      const n = binTaps(ty, tx, ph, pw, base, W, C, inv, offs, ws);
      acc.fill(0);
      let q = 0;
      // Four taps per pass: one load/store of the accumulator per four multiply-adds.
      for (; q + 3 < n; q += 4) {
        const w0 = ws[q],
          w1 = ws[q + 1],
          w2 = ws[q + 2],
          w3 = ws[q + 3];
        const p0 = offs[q],
          p1 = offs[q + 1],
          p2 = offs[q + 2],
          p3 = offs[q + 3];
        for (let c = 0; c < C; c++)
          acc[c] +=
            w0 * features[p0 + c] +
            w1 * features[p1 + c] +
            w2 * features[p2 + c] +
            w3 * features[p3 + c];
      }
      for (; q < n; q++) {
        const w0 = ws[q],
          p0 = offs[q];
        for (let c = 0; c < C; c++) acc[c] += w0 * features[p0 + c];
      }
      const o = outBase + (ph * a.outW + pw) * C;
      for (let c = 0; c < C; c++) out[o + c] = acc[c];
    }
  }
}

function avgBackwardRoi(
  dy: Float32Array,
  dx: Float32Array,
  base: number,
  dyBase: number,
  g: RoIGeom,
  a: RoIAlignAttrs,
  W: number,
  H: number,
  C: number,
): void {
  const ty = axisTable(g.startH, g.binH, g.gridH, a.outH, H);
  const tx = axisTable(g.startW, g.binW, g.gridW, a.outW, W);
  const { offs, ws } = tapBuffers(ty, tx);
  const inv = 1 / g.count;
  for (let ph = 0; ph < a.outH; ph++) {
    for (let pw = 0; pw < a.outW; pw++) {
      const n = binTaps(ty, tx, ph, pw, base, W, C, inv, offs, ws);
      const o = dyBase + (ph * a.outW + pw) * C;
      let q = 0;
      for (; q + 3 < n; q += 4) {
        const w0 = ws[q],
          w1 = ws[q + 1],
          w2 = ws[q + 2],
          w3 = ws[q + 3];
        const p0 = offs[q],
          p1 = offs[q + 1],
          p2 = offs[q + 2],
          p3 = offs[q + 3];
        for (let c = 0; c < C; c++) {
          const d = dy[o + c];
          dx[p0 + c] += w0 * d;
          dx[p1 + c] += w1 * d;
          dx[p2 + c] += w2 * d;
          dx[p3 + c] += w3 * d;
        }
      }
      for (; q < n; q++) {
        const w0 = ws[q],
          p0 = offs[q];
        for (let c = 0; c < C; c++) dx[p0 + c] += w0 * dy[o + c];
      }
    }
  }
}

/** RoIAlign forward. features [N,H,W,C], rois [K,5] -> [K,outH,outW,C]. */
export function roiAlignForward(
  features: Float32Array,
  fshape: number[],
  rois: Float32Array,
  a: RoIAlignAttrs,
  into?: Float32Array,
  only?: (k: number) => boolean,
): Float32Array {
  const [N, H, W, C] = fshape;
  const K = rois.length / 5;
  const bins = a.outH * a.outW;
  const out = into ?? new Float32Array(K * bins * C);
  const acc = new Float64Array(C);
  const isMax = a.poolMode === 'max';
  for (let k = 0; k < K; k++) {
    if (only && !only(k)) continue;
    const g = roiGeom(rois, k, a);
    const n = checkBatch(g.batch, N, k, 'roiAlign');
    if (!isMax) {
      avgForwardRoi(features, out, n * H * W * C, k * bins * C, g, a, W, H, C, acc);
      continue;
    }
    const { pos, w } = preCalc(g, a, H, W);
    const base = n * H * W * C;
    const per = g.gridH * g.gridW;
    for (let bin = 0; bin < bins; bin++) {
      if (isMax) acc.fill(-10000);
      else acc.fill(0);
      for (let t = 0; t < per; t++) {
        const s = 4 * (bin * per + t);
        const w1 = w[s],
          w2 = w[s + 1],
          w3 = w[s + 2],
          w4 = w[s + 3];
        const p1 = base + pos[s] * C,
          p2 = base + pos[s + 1] * C,
          p3 = base + pos[s + 2] * C,
          p4 = base + pos[s + 3] * C;
        if (isMax) {
          for (let c = 0; c < C; c++) {
            const v =
              w1 * features[p1 + c] +
              w2 * features[p2 + c] +
              w3 * features[p3 + c] +
              w4 * features[p4 + c];
            if (v > acc[c]) acc[c] = v;
          }
        } else {
          if (w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0) continue;
          for (let c = 0; c < C; c++) {
            acc[c] +=
              w1 * features[p1 + c] +
              w2 * features[p2 + c] +
              w3 * features[p3 + c] +
              w4 * features[p4 + c];
          }
        }
      }
      const o = (k * bins + bin) * C;
      if (isMax) for (let c = 0; c < C; c++) out[o + c] = acc[c];
      else for (let c = 0; c < C; c++) out[o + c] = acc[c] / g.count;
    }
  }
  return out;
}

/** RoIAlign backward: gradient w.r.t. features [N,H,W,C] of dy [K,outH,outW,C]. */
export function roiAlignBackward(
  dy: Float32Array,
  features: Float32Array | null,
  fshape: number[],
  rois: Float32Array,
  a: RoIAlignAttrs,
  into?: Float32Array,
  only?: (k: number) => boolean,
): Float32Array {
  const [N, H, W, C] = fshape;
  const K = rois.length / 5;
  const bins = a.outH * a.outW;
  // float32 accumulation, as torchvision's backward (atomic adds into a float tensor).
  const dx = into ? into.fill(0) : new Float32Array(N * H * W * C);
  const isMax = a.poolMode === 'max';
  if (isMax && !features) throw new Error('roiAlign backward: max pooling needs the features.');
  const best = new Float64Array(C);
  const arg = new Int32Array(C);
  const tmp = new Float64Array(4);
  for (let k = 0; k < K; k++) {
    if (only && !only(k)) continue;
    const g = roiGeom(rois, k, a);
    const n = checkBatch(g.batch, N, k, 'roiAlign backward');
    if (!isMax) {
      avgBackwardRoi(dy, dx, n * H * W * C, k * bins * C, g, a, W, H, C);
      continue;
    }
    const { pos, w, yx } = preCalc(g, a, H, W);
    const base = n * H * W * C;
    const per = g.gridH * g.gridW;
    for (let bin = 0; bin < bins; bin++) {
      const o = (k * bins + bin) * C;
      if (!isMax) {
        const inv = 1 / g.count;
        for (let t = 0; t < per; t++) {
          const s = 4 * (bin * per + t);
          const w1 = w[s] * inv,
            w2 = w[s + 1] * inv,
            w3 = w[s + 2] * inv,
            w4 = w[s + 3] * inv;
          if (w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0) continue;
          const p1 = base + pos[s] * C,
            p2 = base + pos[s + 1] * C,
            p3 = base + pos[s + 2] * C,
            p4 = base + pos[s + 3] * C;
          for (let c = 0; c < C; c++) {
            const d = dy[o + c];
            dx[p1 + c] += d * w1;
            dx[p2 + c] += d * w2;
            dx[p3 + c] += d * w3;
            dx[p4 + c] += d * w4;
          }
        }
        continue;
      }
      // Max: recompute the first arg-max sample per channel, then route dy
      // through its bilinear weights (mmcv keeps argmax_y/x; -1 when none).
      best.fill(-10000);
      arg.fill(-1);
      for (let t = 0; t < per; t++) {
        const s = 4 * (bin * per + t);
        const p1 = base + pos[s] * C,
          p2 = base + pos[s + 1] * C,
          p3 = base + pos[s + 2] * C,
          p4 = base + pos[s + 3] * C;
        for (let c = 0; c < C; c++) {
          const v =
            w[s] * features![p1 + c] +
            w[s + 1] * features![p2 + c] +
            w[s + 2] * features![p3 + c] +
            w[s + 3] * features![p4 + c];
          if (v > best[c]) {
            best[c] = v;
            arg[c] = bin * per + t;
          }
        }
      }
      for (let c = 0; c < C; c++) {
        const d = dy[o + c];
        const sIdx = arg[c];
        const yv = sIdx < 0 ? -1 : yx[2 * sIdx];
        const xv = sIdx < 0 ? -1 : yx[2 * sIdx + 1];
        // mmcv's bilinear_interpolate_gradient at (argmax_y, argmax_x).
        if (!axis(yv, H, tmp, 0)) continue;
        const yl = tmp[0],
          yh = tmp[1],
          hy = tmp[2],
          ly = tmp[3];
        if (!axis(xv, W, tmp, 0)) continue;
        const xl = tmp[0],
          xh = tmp[1],
          hx = tmp[2],
          lx = tmp[3];
        dx[base + (yl * W + xl) * C + c] += d * hy * hx;
        dx[base + (yl * W + xh) * C + c] += d * hy * lx;
        dx[base + (yh * W + xl) * C + c] += d * ly * hx;
        dx[base + (yh * W + xh) * C + c] += d * ly * lx;
      }
    }
  }
  return dx;
}
