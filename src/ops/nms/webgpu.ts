/**
 * WGSL program of the NMS IoU bitmask (`TfdetNmsMask`) for the webgpu
 * backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { lit, runWebGPU, WgslProgram } from '../shader_util.js';
import { NMS_MASK_BITS, NMS_MASK_KERNEL } from './host.js';

registerOnce(NMS_MASK_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { boxes } = inputs as { boxes: tf.TensorInfo };
  const n = boxes.shape[0];
  const words = Math.ceil(n / NMS_MASK_BITS);
  const thr = lit(Number(attrs?.iouThreshold));
  const code = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let n = uniforms.boxesShape.x;
      let i = index / ${words};
      let w = index % ${words};
      let ix1 = Boxes[4 * i]; let iy1 = Boxes[4 * i + 1]; let ix2 = Boxes[4 * i + 2]; let iy2 = Boxes[4 * i + 3];
      let ia = (ix2 - ix1) * (iy2 - iy1);
      var bits = 0;
      for (var b = 0; b < ${NMS_MASK_BITS}; b++) {
        let j = w * ${NMS_MASK_BITS} + b;
        if (j <= i || j >= n) { continue; }
        let jx1 = Boxes[4 * j]; let jy1 = Boxes[4 * j + 1]; let jx2 = Boxes[4 * j + 2]; let jy2 = Boxes[4 * j + 3];
        let ww = max(min(ix2, jx2) - max(ix1, jx1), 0.0);
        let hh = max(min(iy2, jy2) - max(iy1, jy1), 0.0);
        let inter = ww * hh;
        let ja = (jx2 - jx1) * (jy2 - jy1);
        let ovr = inter / (ia + ja - inter);
        if (ovr > ${thr}) { bits = bits | (1 << u32(b)); }
      }
      setOutputAtIndexI32(index, bits);
    }
  }`;
  const prog = new WgslProgram(`tfdetNmsMask_${thr}_${words}`, ['Boxes'], [n, words], code);
  return runWebGPU(backend, prog, [boxes], 'int32');
});
