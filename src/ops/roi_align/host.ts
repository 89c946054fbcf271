/**
 * Typed-array RoIAlign / RoIPool kernels (forward and backward) over NHWC
 * features. Sampling follows torchvision's `roi_align_kernel.cpp` and mmcv's
 * `roi_align_cpu.cpp` step for step (float32 where the grid size depends on it).
 */

const f = Math.fround;

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
function axis(v: number, size: number, out: Float64Array, o: number): boolean {
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
interface AxisTable {
  first: Int32Array;
  len: Int32Array;
  off: Int32Array;
  w: Float64Array;
}

function axisTable(
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

function checkBatch(b: number, N: number, k: number, op: string): number {
  const n = Math.round(b);
  if (!(n >= 0 && n < N))
    throw new Error(`${op}: rois[${k}][0] (batch index) is ${b}; features have batch size ${N}.`);
  return n;
}

/** Non-zero (pixel offset, weight) pairs of bin (ph, pw): the outer product of its axis weights. */
function binTaps(
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

function tapBuffers(ty: AxisTable, tx: AxisTable): { offs: Int32Array; ws: Float64Array } {
  let my = 0,
    mx = 0;
  for (const l of ty.len) my = Math.max(my, l);
  for (const l of tx.len) mx = Math.max(mx, l);
  return { offs: new Int32Array(my * mx), ws: new Float64Array(my * mx) };
}

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
