/**
 * Typed-array kernels of RoIAlign and RoIPool, forward and backward, and of
 * the multi-level RoIAlign, serving the cpu, wasm and tfjs-node backends
 * (the WGSL and GLSL programs are in `webgpu.ts` and `webgl.ts` beside it).
 * The arithmetic is in `align_impl.ts`, `pool_impl.ts` and `sampling.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  HOST_BACKENDS,
  hostKernelFunc,
  registerHostKernel,
  registerOnce,
  type HostImpl,
  type HostOutput,
  type HostShapes,
} from '../kernel_util.js';
import { roiAlignBackward, roiAlignForward } from './align_impl.js';
import { roiPoolBackward, roiPoolForward, type RoIPoolAttrs } from './pool_impl.js';
import type { RoIAlignAttrs } from './sampling.js';

export { roiAlignBackward, roiAlignForward } from './align_impl.js';
export { roiPoolBackward, roiPoolForward, type RoIPoolAttrs } from './pool_impl.js';
export type { RoIAlignAttrs } from './sampling.js';

export const ROI_ALIGN_KERNEL = 'TfdetRoIAlign';
export const ROI_ALIGN_GRAD_KERNEL = 'TfdetRoIAlignGrad';
export const ROI_POOL_KERNEL = 'TfdetRoIPool';
export const ROI_POOL_GRAD_KERNEL = 'TfdetRoIPoolGrad';
/** RoIAlign of RoIs spread over pyramid levels into one output (host backends). */
export const MLVL_ROI_ALIGN_KERNEL = 'TfdetMultiLevelRoIAlign';
export const MLVL_ROI_ALIGN_GRAD_KERNEL = 'TfdetMultiLevelRoIAlignGrad';

const attrsOf = (attrs: tf.NamedAttrMap): RoIAlignAttrs => attrs as unknown as RoIAlignAttrs;

registerHostKernel(
  ROI_ALIGN_KERNEL,
  ['features', 'rois'],
  (inputs, shapes, attrs, out): HostOutput[] => {
    const a = attrsOf(attrs);
    const values = roiAlignForward(
      inputs[0] as Float32Array,
      shapes[0],
      inputs[1] as Float32Array,
      a,
      out?.[0] as Float32Array | undefined,
    );
    return [{ shape: [shapes[1][0], a.outH, a.outW, shapes[0][3]], dtype: 'float32', values }];
  },
  [],
  (shapes, attrs) => [
    {
      shape: [shapes[1][0], attrsOf(attrs).outH, attrsOf(attrs).outW, shapes[0][3]],
      dtype: 'float32',
    },
  ],
);

registerHostKernel(
  ROI_ALIGN_GRAD_KERNEL,
  ['dy', 'features', 'rois'],
  (inputs, shapes, attrs, out): HostOutput[] => {
    const values = roiAlignBackward(
      inputs[0] as Float32Array,
      inputs[1] as Float32Array,
      shapes[1],
      inputs[2] as Float32Array,
      attrsOf(attrs),
      out?.[0] as Float32Array | undefined,
    );
    return [{ shape: shapes[1], dtype: 'float32', values }];
  },
  [],
  (shapes) => [{ shape: shapes[1], dtype: 'float32' }],
);

registerHostKernel(ROI_POOL_KERNEL, ['features', 'rois'], (inputs, shapes, attrs): HostOutput[] => {
  const a = attrs as unknown as RoIPoolAttrs;
  const { out } = roiPoolForward(
    inputs[0] as Float32Array,
    shapes[0],
    inputs[1] as Float32Array,
    a,
  );
  return [{ shape: [shapes[1][0], a.outH, a.outW, shapes[0][3]], dtype: 'float32', values: out }];
});

registerHostKernel(
  ROI_POOL_GRAD_KERNEL,
  ['dy', 'features', 'rois'],
  (inputs, shapes, attrs): HostOutput[] => {
    const values = roiPoolBackward(
      inputs[0] as Float32Array,
      inputs[1] as Float32Array,
      shapes[1],
      inputs[2] as Float32Array,
      attrs as unknown as RoIPoolAttrs,
    );
    return [{ shape: shapes[1], dtype: 'float32', values }];
  },
);

// ---- multi-level: one kernel over RoIs spread across pyramid levels (host backends) -------
export interface MlvlAttrs extends RoIAlignAttrs {
  /** Pyramid level of each RoI. */
  levels: number[];
  /** Spatial scale of each level. */
  scales: number[];
}

/**
 * Input names of the multi-level kernel: the forward takes an input array
 * `[f0, ..., f{L-1}, rois]` (keys '0'..'L', so that tfjs saves every input
 * for the gradient); the backward, one level at a time, `{dy, features, rois}`.
 */
const fwdNames = (levels: number): string[] =>
  Array.from({ length: levels + 1 }, (_, i) => String(i));

function mlvlForward(): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as MlvlAttrs;
    const L = a.scales.length;
    const impl: HostImpl = (arrs, shapes, _attrs, out) => {
      const rois = arrs[L] as Float32Array;
      const K = shapes[L][0];
      const values =
        (out?.[0] as Float32Array | undefined) ??
        new Float32Array(K * a.outH * a.outW * shapes[0][3]);
      for (let l = 0; l < L; l++) {
        roiAlignForward(
          arrs[l] as Float32Array,
          shapes[l],
          rois,
          { ...a, spatialScale: a.scales[l] },
          values,
          (k) => a.levels[k] === l,
        );
      }
      return [{ shape: [K, a.outH, a.outW, shapes[0][3]], dtype: 'float32', values }];
    };
    const shapesOut: HostShapes = (shapes) => [
      { shape: [shapes[L][0], a.outH, a.outW, shapes[0][3]], dtype: 'float32' },
    ];
    return hostKernelFunc(
      MLVL_ROI_ALIGN_KERNEL,
      fwdNames(L),
      impl,
      shapesOut,
    )({ inputs, backend, attrs });
  };
}

/** Gradient for the features of one level (`attrs.level`) from the RoIs mapped to it. */
const mlvlGrad: HostImpl = (arrs, shapes, attrs, out) => {
  const a = attrs as unknown as MlvlAttrs & { level: number };
  const values = roiAlignBackward(
    arrs[0] as Float32Array,
    arrs[1] as Float32Array,
    shapes[1],
    arrs[2] as Float32Array,
    { ...a, spatialScale: a.scales[a.level] },
    out?.[0] as Float32Array | undefined,
    (k) => a.levels[k] === a.level,
  );
  return [{ shape: shapes[1], dtype: 'float32', values }];
};

for (const b of HOST_BACKENDS) {
  registerOnce(MLVL_ROI_ALIGN_KERNEL, b, mlvlForward());
}
registerHostKernel(
  MLVL_ROI_ALIGN_GRAD_KERNEL,
  ['dy', 'features', 'rois'],
  mlvlGrad,
  [],
  (shapes) => [{ shape: shapes[1], dtype: 'float32' }],
);
