/**
 * Sampling geometry of the typed-array RoIAlign kernels: per-RoI bins and
 * sample grid, bilinear neighbours and weights, and their separable per-axis
 * tables. Follows torchvision's `roi_align_kernel.cpp` and mmcv's
 * `roi_align_cpu.cpp` step for step (float32 where the grid size depends on it).
 */

export const f = Math.fround;

/** Attributes shared by the RoIAlign kernels. */
export interface RoIAlignAttrs {
  outH: number;
  outW: number;
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
  /** 'avg' (torchvision) or 'max' (mmcv `pool_mode='max'`). */
  poolMode: 'avg' | 'max';
}

/** Per-RoI sampling geometry, as torchvision computes it in float. */
export interface RoIGeom {
  batch: number;
  startH: number;
  startW: number;
  binH: number;
  binW: number;
  gridH: number;
  gridW: number;
  count: number;
}

export function roiGeom(rois: Float32Array, k: number, a: RoIAlignAttrs): RoIGeom {
  const off = a.aligned ? 0.5 : 0;
  const scale = f(a.spatialScale);
  const r = 5 * k;
  const startW = f(f(rois[r + 1] * scale) - off);
  const startH = f(f(rois[r + 2] * scale) - off);
  const endW = f(f(rois[r + 3] * scale) - off);
  const endH = f(f(rois[r + 4] * scale) - off);
  let roiW = f(endW - startW);
  let roiH = f(endH - startH);
  if (!a.aligned) {
    roiW = Math.max(roiW, 1);
    roiH = Math.max(roiH, 1);
  }
  const binH = f(roiH / a.outH);
  const binW = f(roiW / a.outW);
  const gridH = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(f(roiH / a.outH));
  const gridW = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(f(roiW / a.outW));
  return {
    batch: rois[r],
    startH,
    startW,
    binH,
    binW,
    gridH,
    gridW,
    count: Math.max(gridH * gridW, 1),
  };
}

/**
 * Bilinear neighbours of one coordinate along an axis of `size` pixels:
 * `[low, high, wLow, wHigh]`, or null when the sample lies outside
 * (`v < -1 || v > size`), following torchvision's boundary rules.
 */
export function axis(v: number, size: number, out: Float64Array, o: number): boolean {
  if (v < -1 || v > size) return false;
  if (v <= 0) v = 0;
  let low = Math.floor(v);
  let high: number;
  if (low >= size - 1) {
    high = low = size - 1;
    v = low;
  } else high = low + 1;
  const l = v - low;
  out[o] = low;
  out[o + 1] = high;
  out[o + 2] = 1 - l;
  out[o + 3] = l;
  return true;
}

/**
 * Precomputed samples of one RoI (torchvision's `pre_calc`): for sample s,
 * pixel offsets `pos[4s..4s+3]` (y * W + x) and weights `w[4s..4s+3]`;
 * samples outside the map have zero weights. Samples are ordered bin by bin
 * (ph, pw), then iy, ix within the bin.
 */
export function preCalc(
  g: RoIGeom,
  a: RoIAlignAttrs,
  H: number,
  W: number,
): { pos: Int32Array; w: Float64Array; yx: Float64Array } {
  const { gridH, gridW } = g;
  const ys = new Float64Array(a.outH * gridH);
  const xs = new Float64Array(a.outW * gridW);
  const ay = new Float64Array(4 * ys.length);
  const ax = new Float64Array(4 * xs.length);
  const vy = new Uint8Array(ys.length);
  const vx = new Uint8Array(xs.length);
  for (let ph = 0; ph < a.outH; ph++) {
    for (let iy = 0; iy < gridH; iy++) {
      const s = ph * gridH + iy;
      ys[s] = f(f(g.startH + f(ph * g.binH)) + f(f(f(iy + 0.5) * g.binH) / gridH));
      vy[s] = axis(ys[s], H, ay, 4 * s) ? 1 : 0;
    }
  }
  for (let pw = 0; pw < a.outW; pw++) {
    for (let ix = 0; ix < gridW; ix++) {
      const s = pw * gridW + ix;
      xs[s] = f(f(g.startW + f(pw * g.binW)) + f(f(f(ix + 0.5) * g.binW) / gridW));
      vx[s] = axis(xs[s], W, ax, 4 * s) ? 1 : 0;
    }
  }
  const n = a.outH * a.outW * gridH * gridW;
  const pos = new Int32Array(4 * n);
  const w = new Float64Array(4 * n);
  const yx = new Float64Array(2 * n);
  let s = 0;
  for (let ph = 0; ph < a.outH; ph++) {
    for (let pw = 0; pw < a.outW; pw++) {
      for (let iy = 0; iy < gridH; iy++) {
        const sy = ph * gridH + iy;
        for (let ix = 0; ix < gridW; ix++, s++) {
          const sx = pw * gridW + ix;
          yx[2 * s] = ys[sy];
          yx[2 * s + 1] = xs[sx];
          if (!vy[sy] || !vx[sx]) continue;
          const yl = ay[4 * sy],
            yh = ay[4 * sy + 1],
            hy = ay[4 * sy + 2],
            ly = ay[4 * sy + 3];
          const xl = ax[4 * sx],
            xh = ax[4 * sx + 1],
            hx = ax[4 * sx + 2],
            lx = ax[4 * sx + 3];
          pos[4 * s] = yl * W + xl;
          pos[4 * s + 1] = yl * W + xh;
          pos[4 * s + 2] = yh * W + xl;
          pos[4 * s + 3] = yh * W + xh;
          w[4 * s] = hy * hx;
          w[4 * s + 1] = hy * lx;
          w[4 * s + 2] = ly * hx;
          w[4 * s + 3] = ly * lx;
        }
      }
    }
  }
  return { pos, w, yx };
}

/**
 * Separable form of the bilinear sampling of one RoI along one axis: for
 * output index p, the total weight `w[off[p] + i]` that the bin's samples put
 * on pixel `first[p] + i`. A bin's weight on pixel (y, x) is the product of
 * its y and x weights (a sample outside the map along either axis weighs 0
 * along that axis), so `avg` pooling visits each touched pixel once instead
 * of four times per sample.
 */
export interface AxisTable {
  first: Int32Array;
  len: Int32Array;
  off: Int32Array;
  w: Float64Array;
}

export function axisTable(
  start: number,
  bin: number,
  grid: number,
  outN: number,
  size: number,
): AxisTable {
  const first = new Int32Array(outN),
    len = new Int32Array(outN),
    off = new Int32Array(outN);
  const tmp = new Float64Array(4);
  const lows = new Int32Array(outN * grid),
    highs = new Int32Array(outN * grid);
  const wl = new Float64Array(outN * grid),
    wh = new Float64Array(outN * grid);
  let total = 0;
  for (let p = 0; p < outN; p++) {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < grid; i++) {
      const v = f(f(start + f(p * bin)) + f(f(f(i + 0.5) * bin) / grid));
      const s = p * grid + i;
      if (axis(v, size, tmp, 0)) {
        lows[s] = tmp[0];
        highs[s] = tmp[1];
        wl[s] = tmp[2];
        wh[s] = tmp[3];
        if (tmp[0] < lo) lo = tmp[0];
        if (tmp[1] > hi) hi = tmp[1];
      } else {
        lows[s] = -1;
      }
    }
    first[p] = lo === Infinity ? 0 : lo;
    len[p] = lo === Infinity ? 0 : hi - lo + 1;
    off[p] = total;
    total += len[p];
  }
  const w = new Float64Array(total);
  for (let p = 0; p < outN; p++) {
    for (let i = 0; i < grid; i++) {
      const s = p * grid + i;
      if (lows[s] < 0) continue;
      w[off[p] + lows[s] - first[p]] += wl[s];
      w[off[p] + highs[s] - first[p]] += wh[s];
    }
  }
  return { first, len, off, w };
}

export function checkBatch(b: number, N: number, k: number, op: string): number {
  const n = Math.round(b);
  if (!(n >= 0 && n < N))
    throw new Error(`${op}: rois[${k}][0] (batch index) is ${b}; features have batch size ${N}.`);
  return n;
}

/** Non-zero (pixel offset, weight) pairs of bin (ph, pw): the outer product of its axis weights. */
export function binTaps(
  ty: AxisTable,
  tx: AxisTable,
  ph: number,
  pw: number,
  base: number,
  W: number,
  C: number,
  scale: number,
  offs: Int32Array,
  ws: Float64Array,
): number {
  let n = 0;
  for (let i = 0; i < ty.len[ph]; i++) {
    const wy = ty.w[ty.off[ph] + i] * scale;
    if (wy === 0) continue;
    const row = base + (ty.first[ph] + i) * W * C;
    for (let j = 0; j < tx.len[pw]; j++) {
      const wgt = wy * tx.w[tx.off[pw] + j];
      if (wgt === 0) continue;
      offs[n] = row + (tx.first[pw] + j) * C;
      ws[n++] = wgt;
    }
  }
  return n;
}

export function tapBuffers(ty: AxisTable, tx: AxisTable): { offs: Int32Array; ws: Float64Array } {
  let my = 0,
    mx = 0;
  for (const l of ty.len) my = Math.max(my, l);
  for (const l of tx.len) mx = Math.max(mx, l);
  return { offs: new Int32Array(my * mx), ws: new Float64Array(my * mx) };
}
