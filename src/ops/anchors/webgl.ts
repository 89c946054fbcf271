/**
 * GLSL program of the grid anchors (`TfdetGridAnchors`) for the webgl
 * backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { glslProgram, lit, runWebGL } from '../shader_util.js';
import { GRID_ANCHORS_KERNEL } from './host.js';

registerOnce(GRID_ANCHORS_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { base } = inputs as { base: tf.TensorInfo };
  const { featH, featW, strideW, strideH } = attrs as Record<string, number>;
  const A = base.shape[0];
  const code = `
  void main() {
    ivec2 rc = getOutputCoords();
    int e = rc.y;
    int a = rc.x - (rc.x / ${A}) * ${A};
    int cell = rc.x / ${A};
    int y = cell / ${featW};
    int x = cell - y * ${featW};
    float shift = (e == 0 || e == 2) ? float(x) * ${lit(strideW)} : float(y) * ${lit(strideH)};
    setOutput(getBase(a, e) + shift);
  }`;
  return runWebGL(backend, glslProgram(['Base'], [featH * featW * A, 4], code), [base], 'float32');
});
