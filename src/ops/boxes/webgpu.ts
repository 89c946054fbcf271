/**
 * WGSL program of `boxIou` (`TfdetBoxIou`) for the webgpu backend. Shared helpers: `../shader_util.ts`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerOnce } from '../kernel_util.js';
import { lit, runWebGPU, WgslProgram } from '../shader_util.js';
import { BOX_IOU_KERNEL, IOU_MODES, type IouMode } from './host.js';

function boxIouCode(mode: IouMode, aligned: boolean, eps: number): string {
  const e = lit(eps);
  return `
  fn iouPair(i : i32, j : i32) -> f32 {
    let ax1 = A[4 * i]; let ay1 = A[4 * i + 1]; let ax2 = A[4 * i + 2]; let ay2 = A[4 * i + 3];
    let bx1 = B[4 * j]; let by1 = B[4 * j + 1]; let bx2 = B[4 * j + 2]; let by2 = B[4 * j + 3];
    let areaA = (ax2 - ax1) * (ay2 - ay1);
    let areaB = (bx2 - bx1) * (by2 - by1);
    let w = max(min(ax2, bx2) - max(ax1, bx1), 0.0);
    let h = max(min(ay2, by2) - max(ay1, by1), 0.0);
    let inter = w * h;
    ${mode === 'iof' ? `return inter / max(areaA, ${e});` : ''}
    var uni = areaA + areaB - inter;
    if (${e} > 0.0) { uni = max(uni, ${e}); }
    let iou = inter / uni;
    ${mode === 'iou' ? 'return iou;' : ''}
    ${
      mode === 'giou'
        ? `
    let ew = max(max(ax2, bx2) - min(ax1, bx1), 0.0);
    let eh = max(max(ay2, by2) - min(ay1, by1), 0.0);
    var encl = ew * eh;
    if (${e} > 0.0) { encl = max(encl, ${e}); }
    return iou - (encl - uni) / encl;`
        : ''
    }
  }
  fn main(index : i32) {
    if (index < uniforms.size) {
      ${
        aligned
          ? 'setOutputAtIndex(index, iouPair(index, index));'
          : `
      let m = uniforms.bShape.x;
      setOutputAtIndex(index, iouPair(index / m, index % m));`
      }
    }
  }`;
}

registerOnce(BOX_IOU_KERNEL, 'webgpu', ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const mode = (attrs?.mode ?? 'iou') as IouMode;
  const aligned = Boolean(attrs?.aligned);
  const eps = Number(attrs?.eps ?? 0);
  const shape = aligned ? [a.shape[0]] : [a.shape[0], b.shape[0]];
  const prog = new WgslProgram(
    `tfdetBoxIou_${IOU_MODES.indexOf(mode)}_${aligned}_${eps}`,
    ['A', 'B'],
    shape,
    boxIouCode(mode, aligned, eps),
  );
  return runWebGPU(backend, prog, [a, b], 'float32');
});
