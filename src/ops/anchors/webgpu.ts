/**
 * WGSL program of the grid anchors (`TfdetGridAnchors`) for the webgpu
 * backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { lit, runWebGPU, WgslProgram } from '../shader_util.js';
import { GRID_ANCHORS_KERNEL } from './host.js';

registerOnce(GRID_ANCHORS_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { base } = inputs as { base: tf.TensorInfo };
  const { featH, featW, strideW, strideH } = attrs as Record<string, number>;
  const A = base.shape[0];
  const code = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let e = index % 4;
      let r = index / 4;
      let a = r % ${A};
      let cell = r / ${A};
      let x = cell % ${featW};
      let y = cell / ${featW};
      var shift = f32(x) * ${lit(strideW)};
      if (e % 2 == 1) { shift = f32(y) * ${lit(strideH)}; }
      setOutputAtIndex(index, Base[a * 4 + e] + shift);
    }
  }`;
  const prog = new WgslProgram(
    `tfdetGridAnchors_${A}_${featW}_${strideW}_${strideH}`,
    ['Base'],
    [featH * featW * A, 4],
    code,
  );
  return runWebGPU(backend, prog, [base], 'float32');
});
