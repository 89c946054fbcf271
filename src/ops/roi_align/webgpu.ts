/**
 * WGSL programs of RoIAlign and RoIPool, forward and backward
 * (`TfdetRoIAlign`, `TfdetRoIAlignGrad`, `TfdetRoIPool`, `TfdetRoIPoolGrad`)
 * for the webgpu backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { lit, runWebGPU, WgslProgram } from '../shader_util.js';
import {
  ROI_ALIGN_GRAD_KERNEL,
  ROI_ALIGN_KERNEL,
  ROI_POOL_GRAD_KERNEL,
  ROI_POOL_KERNEL,
  type RoIAlignAttrs,
  type RoIPoolAttrs,
} from './host.js';

/** WGSL helpers shared by the forward and backward programs. */
function roiCommon(a: RoIAlignAttrs): string {
  return `
  struct Geom { n : i32, sh : f32, sw : f32, bh : f32, bw : f32, gh : i32, gw : i32, cnt : i32 };
  fn geom(k : i32) -> Geom {
    var g : Geom;
    g.n = i32(Rois[k * 5]);
    let off = ${a.aligned ? '0.5' : '0.0'};
    g.sw = Rois[k * 5 + 1] * ${lit(Math.fround(a.spatialScale))} - off;
    g.sh = Rois[k * 5 + 2] * ${lit(Math.fround(a.spatialScale))} - off;
    var rw = Rois[k * 5 + 3] * ${lit(Math.fround(a.spatialScale))} - off - g.sw;
    var rh = Rois[k * 5 + 4] * ${lit(Math.fround(a.spatialScale))} - off - g.sh;
    ${a.aligned ? '' : 'rw = max(rw, 1.0); rh = max(rh, 1.0);'}
    g.bh = rh / ${lit(a.outH)};
    g.bw = rw / ${lit(a.outW)};
    ${a.samplingRatio > 0 ? `g.gh = ${a.samplingRatio}; g.gw = ${a.samplingRatio};` : `g.gh = i32(ceil(rh / ${lit(a.outH)})); g.gw = i32(ceil(rw / ${lit(a.outW)}));`}
    g.cnt = max(g.gh * g.gw, 1);
    return g;
  }
  fn sampleY(g : Geom, ph : i32, iy : i32) -> f32 {
    return g.sh + f32(ph) * g.bh + (f32(iy) + 0.5) * g.bh / f32(g.gh);
  }
  fn sampleX(g : Geom, pw : i32, ix : i32) -> f32 {
    return g.sw + f32(pw) * g.bw + (f32(ix) + 0.5) * g.bw / f32(g.gw);
  }
  fn bilinear(n : i32, y0 : f32, x0 : f32, c : i32) -> f32 {
    let H = uniforms.featuresShape.y; let W = uniforms.featuresShape.z; let C = uniforms.featuresShape.w;
    if (y0 < -1.0 || y0 > f32(H) || x0 < -1.0 || x0 > f32(W)) { return 0.0; }
    var y = max(y0, 0.0); var x = max(x0, 0.0);
    var yl = i32(floor(y)); var yh = yl + 1;
    if (yl >= H - 1) { yl = H - 1; yh = H - 1; y = f32(yl); }
    var xl = i32(floor(x)); var xh = xl + 1;
    if (xl >= W - 1) { xl = W - 1; xh = W - 1; x = f32(xl); }
    let ly = y - f32(yl); let lx = x - f32(xl);
    let hy = 1.0 - ly; let hx = 1.0 - lx;
    let b = n * H * W * C + c;
    return hy * hx * Features[b + (yl * W + xl) * C] + hy * lx * Features[b + (yl * W + xh) * C]
         + ly * hx * Features[b + (yh * W + xl) * C] + ly * lx * Features[b + (yh * W + xh) * C];
  }
  // First sample (iy * gw + ix) reaching the bin's maximum, -1 if none.
  fn binArgmax(g : Geom, ph : i32, pw : i32, c : i32) -> i32 {
    var best = -10000.0; var arg = -1;
    for (var iy = 0; iy < g.gh; iy++) {
      let y = sampleY(g, ph, iy);
      for (var ix = 0; ix < g.gw; ix++) {
        let v = bilinear(g.n, y, sampleX(g, pw, ix), c);
        if (v > best) { best = v; arg = iy * g.gw + ix; }
      }
    }
    return arg;
  }`;
}

function roiAlignForwardCode(a: RoIAlignAttrs): string {
  const isMax = a.poolMode === 'max';
  return `${roiCommon(a)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let C = uniforms.featuresShape.w;
      let c = index % C;
      var r = index / C;
      let pw = r % ${a.outW}; r = r / ${a.outW};
      let ph = r % ${a.outH};
      let k = r / ${a.outH};
      let g = geom(k);
      var acc = ${isMax ? '-10000.0' : '0.0'};
      for (var iy = 0; iy < g.gh; iy++) {
        let y = sampleY(g, ph, iy);
        for (var ix = 0; ix < g.gw; ix++) {
          let v = bilinear(g.n, y, sampleX(g, pw, ix), c);
          ${isMax ? 'if (v > acc) { acc = v; }' : 'acc = acc + v;'}
        }
      }
      setOutputAtIndex(index, ${isMax ? 'acc' : 'acc / f32(g.cnt)'});
    }
  }`;
}

/** Weight that a sample at `v0` puts on pixel `p` along an axis of `size` pixels. */
const AXIS_WEIGHT = `
  fn axisWeight(v0 : f32, size : i32, p : i32) -> f32 {
    if (v0 < -1.0 || v0 > f32(size)) { return 0.0; }
    let v = max(v0, 0.0);
    let lo = i32(floor(v));
    if (lo >= size - 1) { return select(0.0, 1.0, p == size - 1); }
    let l = v - f32(lo);
    return select(0.0, 1.0 - l, p == lo) + select(0.0, l, p == lo + 1);
  }`;

function roiAlignBackwardCode(a: RoIAlignAttrs): string {
  const isMax = a.poolMode === 'max';
  return `${roiCommon(a)}
  ${AXIS_WEIGHT}
  fn sampleRange(p : i32, start : f32, step : f32, total : i32) -> vec2<i32> {
    if (!(step > 1e-6)) { return vec2<i32>(0, total - 1); }
    let lo = clamp((f32(p) - 1.0 - start) / step - 0.5, -2.0, f32(total) + 2.0);
    let hi = clamp((f32(p) + 1.0 - start) / step - 0.5, -2.0, f32(total) + 2.0);
    return vec2<i32>(max(i32(floor(lo)) - 1, 0), min(i32(ceil(hi)) + 1, total - 1));
  }
  fn main(index : i32) {
    if (index < uniforms.size) {
      let H = uniforms.featuresShape.y; let W = uniforms.featuresShape.z; let C = uniforms.featuresShape.w;
      let c = index % C;
      var r = index / C;
      let px = r % W; r = r / W;
      let py = r % H;
      let n = r / H;
      let K = uniforms.roisShape.x;
      var acc = 0.0;
      // 'auto' pipeline layouts drop bindings the shader never names; avg mode
      // does not read the features, so name them once (never executed).
      if (K < 0) { acc = Features[0]; }
      for (var k = 0; k < K; k++) {
        let g = geom(k);
        if (g.n != n) { continue; }
        if (g.gh * g.gw == 0) {
          ${
            isMax
              ? `// mmcv: an empty bin's arg-max (-1, -1) lands on pixel (0, 0).
          if (py == 0 && px == 0) {
            for (var q = 0; q < ${a.outH * a.outW}; q++) { acc = acc + Dy[(k * ${a.outH * a.outW} + q) * C + c]; }
          }`
              : ''
          }
          continue;
        }
        let ry = sampleRange(py, g.sh, g.bh / f32(g.gh), ${a.outH} * g.gh);
        let rx = sampleRange(px, g.sw, g.bw / f32(g.gw), ${a.outW} * g.gw);
        for (var sy = ry.x; sy <= ry.y; sy++) {
          let ph = sy / g.gh; let iy = sy % g.gh;
          let wy = axisWeight(sampleY(g, ph, iy), H, py);
          if (wy == 0.0) { continue; }
          for (var sx = rx.x; sx <= rx.y; sx++) {
            let pw = sx / g.gw; let ix = sx % g.gw;
            let wx = axisWeight(sampleX(g, pw, ix), W, px);
            if (wx == 0.0) { continue; }
            let d = Dy[((k * ${a.outH} + ph) * ${a.outW} + pw) * C + c];
            ${isMax ? 'if (binArgmax(g, ph, pw, c) != iy * g.gw + ix) { continue; }\n            acc = acc + d * wy * wx;' : 'acc = acc + d * wy * wx / f32(g.cnt);'}
          }
        }
      }
      setOutputAtIndex(index, acc);
    }
  }`;
}

const roiKey = (a: RoIAlignAttrs): string =>
  `${a.outH}_${a.outW}_${a.spatialScale}_${a.samplingRatio}_${a.aligned}_${a.poolMode}`;

registerOnce(ROI_ALIGN_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { features, rois } = inputs as { features: tf.TensorInfo; rois: tf.TensorInfo };
  const a = attrs as unknown as RoIAlignAttrs;
  const shape = [rois.shape[0], a.outH, a.outW, features.shape[3]];
  return runWebGPU(
    backend,
    new WgslProgram(
      `tfdetRoIAlign_${roiKey(a)}`,
      ['Features', 'Rois'],
      shape,
      roiAlignForwardCode(a),
    ),
    [features, rois],
    'float32',
  );
});

registerOnce(ROI_ALIGN_GRAD_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { dy, features, rois } = inputs as {
    dy: tf.TensorInfo;
    features: tf.TensorInfo;
    rois: tf.TensorInfo;
  };
  const a = attrs as unknown as RoIAlignAttrs;
  const prog = new WgslProgram(
    `tfdetRoIAlignGrad_${roiKey(a)}`,
    ['Dy', 'Features', 'Rois'],
    features.shape,
    roiAlignBackwardCode(a),
  );
  return runWebGPU(backend, prog, [dy, features, rois], 'float32');
});

// ---- RoIPool -------------------------------------------------------------------
/** Bin bounds (torchvision roi_pool_kernel): rounding half away from zero. */
function poolCommon(a: RoIPoolAttrs): string {
  const s = lit(Math.fround(a.spatialScale));
  return `
  fn rnd(v : f32) -> i32 { return i32(sign(v) * floor(abs(v) + 0.5)); }
  // (hstart, hend, wstart, wend) of bin (ph, pw) of RoI k.
  fn poolBin(k : i32, ph : i32, pw : i32) -> vec4<i32> {
    let H = uniforms.featuresShape.y; let W = uniforms.featuresShape.z;
    let sw = rnd(Rois[k * 5 + 1] * ${s}); let sh = rnd(Rois[k * 5 + 2] * ${s});
    let ew = rnd(Rois[k * 5 + 3] * ${s}); let eh = rnd(Rois[k * 5 + 4] * ${s});
    let bh = f32(max(eh - sh + 1, 1)) / ${lit(a.outH)};
    let bw = f32(max(ew - sw + 1, 1)) / ${lit(a.outW)};
    return vec4<i32>(
      clamp(i32(floor(f32(ph) * bh)) + sh, 0, H), clamp(i32(ceil(f32(ph + 1) * bh)) + sh, 0, H),
      clamp(i32(floor(f32(pw) * bw)) + sw, 0, W), clamp(i32(ceil(f32(pw + 1) * bw)) + sw, 0, W));
  }
  // Value and flat pixel (h * W + w) of the bin's first maximum; pixel -1 when empty.
  fn poolMax(n : i32, r : vec4<i32>, c : i32) -> vec2<f32> {
    let H = uniforms.featuresShape.y; let W = uniforms.featuresShape.z; let C = uniforms.featuresShape.w;
    if (r.y <= r.x || r.w <= r.z) { return vec2<f32>(0.0, -1.0); }
    var best = -3.402823e38; var arg = -1;
    for (var h = r.x; h < r.y; h++) {
      for (var w = r.z; w < r.w; w++) {
        let v = Features[((n * H + h) * W + w) * C + c];
        if (v > best) { best = v; arg = h * W + w; }
      }
    }
    return vec2<f32>(best, f32(arg));
  }`;
}

const poolKey = (a: RoIPoolAttrs): string => `${a.outH}_${a.outW}_${a.spatialScale}`;

registerOnce(ROI_POOL_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { features, rois } = inputs as { features: tf.TensorInfo; rois: tf.TensorInfo };
  const a = attrs as unknown as RoIPoolAttrs;
  const code = `${poolCommon(a)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let C = uniforms.featuresShape.w;
      let c = index % C;
      var r = index / C;
      let pw = r % ${a.outW}; r = r / ${a.outW};
      let ph = r % ${a.outH};
      let k = r / ${a.outH};
      setOutputAtIndex(index, poolMax(i32(Rois[k * 5]), poolBin(k, ph, pw), c).x);
    }
  }`;
  const shape = [rois.shape[0], a.outH, a.outW, features.shape[3]];
  return runWebGPU(
    backend,
    new WgslProgram(`tfdetRoIPool_${poolKey(a)}`, ['Features', 'Rois'], shape, code),
    [features, rois],
    'float32',
  );
});

registerOnce(ROI_POOL_GRAD_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { dy, features, rois } = inputs as {
    dy: tf.TensorInfo;
    features: tf.TensorInfo;
    rois: tf.TensorInfo;
  };
  const a = attrs as unknown as RoIPoolAttrs;
  const code = `${poolCommon(a)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let H = uniforms.featuresShape.y; let W = uniforms.featuresShape.z; let C = uniforms.featuresShape.w;
      let c = index % C;
      var r = index / C;
      let px = r % W; r = r / W;
      let py = r % H;
      let n = r / H;
      var acc = 0.0;
      for (var k = 0; k < uniforms.roisShape.x; k++) {
        if (i32(Rois[k * 5]) != n) { continue; }
        for (var ph = 0; ph < ${a.outH}; ph++) {
          for (var pw = 0; pw < ${a.outW}; pw++) {
            let b = poolBin(k, ph, pw);
            if (py < b.x || py >= b.y || px < b.z || px >= b.w) { continue; }
            if (i32(poolMax(n, b, c).y) == py * W + px) {
              acc = acc + Dy[((k * ${a.outH} + ph) * ${a.outW} + pw) * C + c];
            }
          }
        }
      }
      setOutputAtIndex(index, acc);
    }
  }`;
  const prog = new WgslProgram(
    `tfdetRoIPoolGrad_${poolKey(a)}`,
    ['Dy', 'Features', 'Rois'],
    features.shape,
    code,
  );
  return runWebGPU(backend, prog, [dy, features, rois], 'float32');
});
