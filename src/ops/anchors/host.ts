/**
 * Typed-array kernel of the grid anchors (`TfdetGridAnchors`), serving the
 * cpu, wasm and tfjs-node backends; the WGSL and GLSL programs are in
 * `webgpu.ts` and `webgl.ts` beside it.
 */
import { registerHostKernel, type HostOutput } from '../kernel_util.js';

export const GRID_ANCHORS_KERNEL = 'TfdetGridAnchors';

const f = Math.fround;

/**
 * Anchors of one level: `base` [A*4] shifted to every cell, ordered
 * (y, x, anchor) like mmdet's `single_level_grid_priors`.
 */
export function gridAnchorsHost(
  base: Float32Array,
  featH: number,
  featW: number,
  strideW: number,
  strideH: number,
  into?: Float32Array,
): Float32Array {
  const A = base.length >> 2;
  const out = into ?? new Float32Array(featH * featW * A * 4);
  let o = 0;
  for (let y = 0; y < featH; y++) {
    const sy = f(y * strideH);
    for (let x = 0; x < featW; x++) {
      const sx = f(x * strideW);
      for (let a = 0; a < 4 * A; a += 4) {
        out[o++] = base[a] + sx;
        out[o++] = base[a + 1] + sy;
        out[o++] = base[a + 2] + sx;
        out[o++] = base[a + 3] + sy;
      }
    }
  }
  return out;
}

registerHostKernel(
  GRID_ANCHORS_KERNEL,
  ['base'],
  (inputs, shapes, attrs, out): HostOutput[] => {
    const { featH, featW, strideW, strideH } = attrs as Record<string, number>;
    const values = gridAnchorsHost(
      inputs[0] as Float32Array,
      featH,
      featW,
      strideW,
      strideH,
      out?.[0] as Float32Array | undefined,
    );
    return [{ shape: [featH * featW * shapes[0][0], 4], dtype: 'float32', values }];
  },
  [],
  (shapes, attrs) => [
    { shape: [Number(attrs.featH) * Number(attrs.featW) * shapes[0][0], 4], dtype: 'float32' },
  ],
);
