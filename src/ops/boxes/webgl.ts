/**
 * GLSL program of `boxIou` (`TfdetBoxIou`) for the webgl backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { glslProgram, lit, runWebGL } from '../shader_util.js';
import { BOX_IOU_KERNEL, type IouMode } from './host.js';

registerOnce(BOX_IOU_KERNEL, 'webgl', ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const mode = (attrs?.mode ?? 'iou') as IouMode;
  const aligned = Boolean(attrs?.aligned);
  const e = lit(Number(attrs?.eps ?? 0));
  const shape = aligned ? [a.shape[0]] : [a.shape[0], b.shape[0]];
  const code = `
  float iouPair(int i, int j) {
    float ax1 = getA(i, 0), ay1 = getA(i, 1), ax2 = getA(i, 2), ay2 = getA(i, 3);
    float bx1 = getB(j, 0), by1 = getB(j, 1), bx2 = getB(j, 2), by2 = getB(j, 3);
    float areaA = (ax2 - ax1) * (ay2 - ay1);
    float areaB = (bx2 - bx1) * (by2 - by1);
    float w = max(min(ax2, bx2) - max(ax1, bx1), 0.0);
    float h = max(min(ay2, by2) - max(ay1, by1), 0.0);
    float inter = w * h;
    ${mode === 'iof' ? `return inter / max(areaA, ${e});` : ''}
    float uni = areaA + areaB - inter;
    if (${e} > 0.0) { uni = max(uni, ${e}); }
    float iou = inter / uni;
    ${mode === 'iou' ? 'return iou;' : ''}
    ${
      mode === 'giou'
        ? `
    float ew = max(max(ax2, bx2) - min(ax1, bx1), 0.0);
    float eh = max(max(ay2, by2) - min(ay1, by1), 0.0);
    float encl = ew * eh;
    if (${e} > 0.0) { encl = max(encl, ${e}); }
    return iou - (encl - uni) / encl;`
        : ''
    }
  }
  void main() {
    ${aligned ? 'int i = getOutputCoords(); setOutput(iouPair(i, i));' : 'ivec2 ij = getOutputCoords(); setOutput(iouPair(ij.x, ij.y));'}
  }`;
  return runWebGL(backend, glslProgram(['A', 'B'], shape, code), [a, b], 'float32');
});
