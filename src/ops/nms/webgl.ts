/**
 * GLSL program of the NMS IoU bitmask (`TfdetNmsMask`) for the webgl
 * backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { glslProgram, lit, runWebGL } from '../shader_util.js';
import { NMS_MASK_BITS, NMS_MASK_KERNEL } from './host.js';

registerOnce(NMS_MASK_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { boxes } = inputs as { boxes: tf.TensorInfo };
  const n = boxes.shape[0];
  const words = Math.ceil(n / NMS_MASK_BITS);
  const thr = lit(Number(attrs?.iouThreshold));
  const code = `
  void main() {
    ivec2 iw = getOutputCoords();
    int i = iw.x;
    float ix1 = getBoxes(i, 0), iy1 = getBoxes(i, 1), ix2 = getBoxes(i, 2), iy2 = getBoxes(i, 3);
    float ia = (ix2 - ix1) * (iy2 - iy1);
    int bits = 0;
    for (int b = 0; b < ${NMS_MASK_BITS}; b++) {
      int j = iw.y * ${NMS_MASK_BITS} + b;
      if (j <= i || j >= ${n}) continue;
      float jx1 = getBoxes(j, 0), jy1 = getBoxes(j, 1), jx2 = getBoxes(j, 2), jy2 = getBoxes(j, 3);
      float ww = max(min(ix2, jx2) - max(ix1, jx1), 0.0);
      float hh = max(min(iy2, jy2) - max(iy1, jy1), 0.0);
      float inter = ww * hh;
      float ja = (jx2 - jx1) * (jy2 - jy1);
      float ovr = inter / (ia + ja - inter);
      if (ovr > ${thr}) bits = bits | (1 << b);
    }
    setOutput(float(bits));
  }`;
  return runWebGL(backend, glslProgram(['Boxes'], [n, words], code), [boxes], 'int32');
});
