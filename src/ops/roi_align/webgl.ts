/**
 * GLSL programs of RoIAlign and RoIPool, forward and backward
 * (`TfdetRoIAlign`, `TfdetRoIAlignGrad`, `TfdetRoIPool`, `TfdetRoIPoolGrad`)
 * for the webgl backend (WebGL2, unpacked textures). Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { glslProgram, lit, runWebGL } from '../shader_util.js';
import {
  ROI_ALIGN_GRAD_KERNEL,
  ROI_ALIGN_KERNEL,
  ROI_POOL_GRAD_KERNEL,
  ROI_POOL_KERNEL,
  type RoIAlignAttrs,
  type RoIPoolAttrs,
} from './host.js';

function roiCommon(a: RoIAlignAttrs, H: number, W: number): string {
  const s = lit(Math.fround(a.spatialScale));
  return `
  struct Geom { int n; float sh; float sw; float bh; float bw; int gh; int gw; int cnt; };
  Geom geom(int k) {
    Geom g;
    g.n = int(getRois(k, 0));
    float off = ${a.aligned ? '0.5' : '0.0'};
    g.sw = getRois(k, 1) * ${s} - off;
    g.sh = getRois(k, 2) * ${s} - off;
    float rw = getRois(k, 3) * ${s} - off - g.sw;
    float rh = getRois(k, 4) * ${s} - off - g.sh;
    ${a.aligned ? '' : 'rw = max(rw, 1.0); rh = max(rh, 1.0);'}
    g.bh = rh / ${lit(a.outH)};
    g.bw = rw / ${lit(a.outW)};
    ${a.samplingRatio > 0 ? `g.gh = ${a.samplingRatio}; g.gw = ${a.samplingRatio};` : `g.gh = int(ceil(rh / ${lit(a.outH)})); g.gw = int(ceil(rw / ${lit(a.outW)}));`}
    g.cnt = max(g.gh * g.gw, 1);
    return g;
  }
  float sampleY(Geom g, int ph, int iy) { return g.sh + float(ph) * g.bh + (float(iy) + 0.5) * g.bh / float(g.gh); }
  float sampleX(Geom g, int pw, int ix) { return g.sw + float(pw) * g.bw + (float(ix) + 0.5) * g.bw / float(g.gw); }
  float bilinear(int n, float y, float x, int c) {
    if (y < -1.0 || y > ${lit(H)} || x < -1.0 || x > ${lit(W)}) return 0.0;
    y = max(y, 0.0); x = max(x, 0.0);
    int yl = int(floor(y)); int yh = yl + 1;
    if (yl >= ${H - 1}) { yl = ${H - 1}; yh = ${H - 1}; y = float(yl); }
    int xl = int(floor(x)); int xh = xl + 1;
    if (xl >= ${W - 1}) { xl = ${W - 1}; xh = ${W - 1}; x = float(xl); }
    float ly = y - float(yl), lx = x - float(xl);
    float hy = 1.0 - ly, hx = 1.0 - lx;
    return hy * hx * getFeatures(n, yl, xl, c) + hy * lx * getFeatures(n, yl, xh, c)
         + ly * hx * getFeatures(n, yh, xl, c) + ly * lx * getFeatures(n, yh, xh, c);
  }
  int binArgmax(Geom g, int ph, int pw, int c) {
    float best = -10000.0; int arg = -1;
    for (int iy = 0; iy < g.gh; iy++) {
      float y = sampleY(g, ph, iy);
      for (int ix = 0; ix < g.gw; ix++) {
        float v = bilinear(g.n, y, sampleX(g, pw, ix), c);
        if (v > best) { best = v; arg = iy * g.gw + ix; }
      }
    }
    return arg;
  }`;
}

registerOnce(ROI_ALIGN_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { features, rois } = inputs as { features: tf.TensorInfo; rois: tf.TensorInfo };
  const a = attrs as unknown as RoIAlignAttrs;
  const [, H, W, C] = features.shape;
  const isMax = a.poolMode === 'max';
  const code = `${roiCommon(a, H, W)}
  void main() {
    ivec4 o = getOutputCoords();
    int k = o.x, ph = o.y, pw = o.z, c = o.w;
    Geom g = geom(k);
    float acc = ${isMax ? '-10000.0' : '0.0'};
    for (int iy = 0; iy < g.gh; iy++) {
      float y = sampleY(g, ph, iy);
      for (int ix = 0; ix < g.gw; ix++) {
        float v = bilinear(g.n, y, sampleX(g, pw, ix), c);
        ${isMax ? 'if (v > acc) acc = v;' : 'acc += v;'}
      }
    }
    setOutput(${isMax ? 'acc' : 'acc / float(g.cnt)'});
  }`;
  return runWebGL(
    backend,
    glslProgram(['Features', 'Rois'], [rois.shape[0], a.outH, a.outW, C], code),
    [features, rois],
    'float32',
  );
});

registerOnce(ROI_ALIGN_GRAD_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { dy, features, rois } = inputs as {
    dy: tf.TensorInfo;
    features: tf.TensorInfo;
    rois: tf.TensorInfo;
  };
  const a = attrs as unknown as RoIAlignAttrs;
  const [, H, W] = features.shape;
  const K = rois.shape[0];
  const isMax = a.poolMode === 'max';
  const code = `${roiCommon(a, H, W)}
  float axisWeight(float v, int size, int p) {
    if (v < -1.0 || v > float(size)) return 0.0;
    v = max(v, 0.0);
    int lo = int(floor(v));
    if (lo >= size - 1) return p == size - 1 ? 1.0 : 0.0;
    float l = v - float(lo);
    return (p == lo ? 1.0 - l : 0.0) + (p == lo + 1 ? l : 0.0);
  }
  ivec2 sampleRange(int p, float start, float step, int total) {
    if (!(step > 1e-6)) return ivec2(0, total - 1);
    float lo = clamp((float(p) - 1.0 - start) / step - 0.5, -2.0, float(total) + 2.0);
    float hi = clamp((float(p) + 1.0 - start) / step - 0.5, -2.0, float(total) + 2.0);
    return ivec2(max(int(floor(lo)) - 1, 0), min(int(ceil(hi)) + 1, total - 1));
  }
  void main() {
    ivec4 o = getOutputCoords();
    int n = o.x, py = o.y, px = o.z, c = o.w;
    float acc = 0.0;
    for (int k = 0; k < ${K}; k++) {
      Geom g = geom(k);
      if (g.n != n) continue;
      if (g.gh * g.gw == 0) {
        ${
          isMax
            ? `if (py == 0 && px == 0) {
          for (int ph = 0; ph < ${a.outH}; ph++) for (int pw = 0; pw < ${a.outW}; pw++) acc += getDy(k, ph, pw, c);
        }`
            : ''
        }
        continue;
      }
      ivec2 ry = sampleRange(py, g.sh, g.bh / float(g.gh), ${a.outH} * g.gh);
      ivec2 rx = sampleRange(px, g.sw, g.bw / float(g.gw), ${a.outW} * g.gw);
      for (int sy = ry.x; sy <= ry.y; sy++) {
        int ph = sy / g.gh; int iy = sy - ph * g.gh;
        float wy = axisWeight(sampleY(g, ph, iy), ${H}, py);
        if (wy == 0.0) continue;
        for (int sx = rx.x; sx <= rx.y; sx++) {
          int pw = sx / g.gw; int ix = sx - pw * g.gw;
          float wx = axisWeight(sampleX(g, pw, ix), ${W}, px);
          if (wx == 0.0) continue;
          ${isMax ? 'if (binArgmax(g, ph, pw, c) != iy * g.gw + ix) continue;\n          acc += getDy(k, ph, pw, c) * wy * wx;' : 'acc += getDy(k, ph, pw, c) * wy * wx / float(g.cnt);'}
        }
      }
    }
    setOutput(acc);
  }`;
  return runWebGL(
    backend,
    glslProgram(['Dy', 'Features', 'Rois'], features.shape, code),
    [dy, features, rois],
    'float32',
  );
});

// ---- RoIPool -------------------------------------------------------------------
function poolCommon(a: RoIPoolAttrs, H: number, W: number): string {
  const s = lit(Math.fround(a.spatialScale));
  return `
  int rnd(float v) { return int(sign(v) * floor(abs(v) + 0.5)); }
  ivec4 poolBin(int k, int ph, int pw) {
    int sw = rnd(getRois(k, 1) * ${s}); int sh = rnd(getRois(k, 2) * ${s});
    int ew = rnd(getRois(k, 3) * ${s}); int eh = rnd(getRois(k, 4) * ${s});
    float bh = float(max(eh - sh + 1, 1)) / ${lit(a.outH)};
    float bw = float(max(ew - sw + 1, 1)) / ${lit(a.outW)};
    return ivec4(
      clamp(int(floor(float(ph) * bh)) + sh, 0, ${H}), clamp(int(ceil(float(ph + 1) * bh)) + sh, 0, ${H}),
      clamp(int(floor(float(pw) * bw)) + sw, 0, ${W}), clamp(int(ceil(float(pw + 1) * bw)) + sw, 0, ${W}));
  }
  vec2 poolMax(int n, ivec4 r, int c) {
    if (r.y <= r.x || r.w <= r.z) return vec2(0.0, -1.0);
    float best = -3.402823e38; int arg = -1;
    for (int h = r.x; h < r.y; h++) {
      for (int w = r.z; w < r.w; w++) {
        float v = getFeatures(n, h, w, c);
        if (v > best) { best = v; arg = h * ${W} + w; }
      }
    }
    return vec2(best, float(arg));
  }`;
}

registerOnce(ROI_POOL_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { features, rois } = inputs as { features: tf.TensorInfo; rois: tf.TensorInfo };
  const a = attrs as unknown as RoIPoolAttrs;
  const [, H, W, C] = features.shape;
  const code = `${poolCommon(a, H, W)}
  void main() {
    ivec4 o = getOutputCoords();
    setOutput(poolMax(int(getRois(o.x, 0)), poolBin(o.x, o.y, o.z), o.w).x);
  }`;
  return runWebGL(
    backend,
    glslProgram(['Features', 'Rois'], [rois.shape[0], a.outH, a.outW, C], code),
    [features, rois],
    'float32',
  );
});

registerOnce(ROI_POOL_GRAD_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { dy, features, rois } = inputs as {
    dy: tf.TensorInfo;
    features: tf.TensorInfo;
    rois: tf.TensorInfo;
  };
  const a = attrs as unknown as RoIPoolAttrs;
  const [, H, W] = features.shape;
  const code = `${poolCommon(a, H, W)}
  void main() {
    ivec4 o = getOutputCoords();
    int n = o.x, py = o.y, px = o.z, c = o.w;
    float acc = 0.0;
    for (int k = 0; k < ${rois.shape[0]}; k++) {
      if (int(getRois(k, 0)) != n) continue;
      for (int ph = 0; ph < ${a.outH}; ph++) {
        for (int pw = 0; pw < ${a.outW}; pw++) {
          ivec4 b = poolBin(k, ph, pw);
          if (py < b.x || py >= b.y || px < b.z || px >= b.w) continue;
          if (int(poolMax(n, b, c).y) == py * ${W} + px) acc += getDy(k, ph, pw, c);
        }
      }
    }
    setOutput(acc);
  }`;
  return runWebGL(
    backend,
    glslProgram(['Dy', 'Features', 'Rois'], features.shape, code),
    [dy, features, rois],
    'float32',
  );
});
