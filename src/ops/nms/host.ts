/**
 * Typed-array kernel of the NMS IoU bitmask (`TfdetNmsMask`), serving the
 * cpu, wasm and tfjs-node backends (the WGSL and GLSL programs are in
 * `webgpu.ts` and `webgl.ts` beside it), and the sequential pass that reads
 * a mask back, as torchvision's CUDA nms does.
 */
import { registerHostKernel, type HostOutput } from '../kernel_util.js';

export const NMS_MASK_KERNEL = 'TfdetNmsMask';
/** Bits used per int32 word of the NMS mask (16: exact in WebGL's float textures). */
export const NMS_MASK_BITS = 16;

const f = Math.fround;

/**
 * IoU bitmask of boxes in score order (typed-array version of the device
 * kernel): word `w` of row `i` has bit `b` set when `j = w * 16 + b > i` and
 * IoU(i, j) > threshold.
 */
export function nmsMaskHost(sorted: Float32Array, iouThreshold: number): Int32Array {
  const n = sorted.length >> 2;
  const words = Math.ceil(n / NMS_MASK_BITS);
  const mask = new Int32Array(n * words);
  for (let i = 0; i < n; i++) {
    const ix1 = sorted[4 * i],
      iy1 = sorted[4 * i + 1],
      ix2 = sorted[4 * i + 2],
      iy2 = sorted[4 * i + 3];
    const ia = f(f(ix2 - ix1) * f(iy2 - iy1));
    for (let j = i + 1; j < n; j++) {
      const jx1 = sorted[4 * j],
        jy1 = sorted[4 * j + 1],
        jx2 = sorted[4 * j + 2],
        jy2 = sorted[4 * j + 3];
      const w = f(Math.min(ix2, jx2) - Math.max(ix1, jx1));
      const h = f(Math.min(iy2, jy2) - Math.max(iy1, jy1));
      const inter = f(Math.max(w, 0) * Math.max(h, 0));
      const ja = f(f(jx2 - jx1) * f(jy2 - jy1));
      const ovr = f(inter / f(f(ia + ja) - inter));
      if (ovr > iouThreshold)
        mask[i * words + ((j / NMS_MASK_BITS) | 0)] |= 1 << (j % NMS_MASK_BITS);
    }
  }
  return mask;
}

registerHostKernel(NMS_MASK_KERNEL, ['boxes'], (inputs, shapes, attrs): HostOutput[] => {
  const n = shapes[0][0];
  const values = nmsMaskHost(inputs[0] as Float32Array, Number(attrs.iouThreshold));
  return [{ shape: [n, Math.ceil(n / NMS_MASK_BITS)], dtype: 'int32', values }];
});

/** Sequential pass over a device-computed mask (rows in score order). */
export function nmsFromMask(mask: Int32Array, n: number, maxNum = -1): Int32Array {
  const words = Math.ceil(n / NMS_MASK_BITS);
  const removed = new Int32Array(words);
  const keep = new Int32Array(n);
  const limit = maxNum > 0 ? maxNum : n;
  let nk = 0;
  for (let i = 0; i < n && nk < limit; i++) {
    if (removed[(i / NMS_MASK_BITS) | 0] & (1 << (i % NMS_MASK_BITS))) continue;
    keep[nk++] = i;
    const row = i * words;
    for (let w = (i / NMS_MASK_BITS) | 0; w < words; w++) removed[w] |= mask[row + w];
  }
  return keep.slice(0, nk);
}
