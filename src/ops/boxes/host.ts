/**
 * Typed-array kernel of {@link boxIou} (`TfdetBoxIou`), serving the cpu,
 * wasm and tfjs-node backends; the WGSL and GLSL programs are in
 * `webgpu.ts` and `webgl.ts` beside it.
 */
import { registerHostKernel, type HostOutput } from '../kernel_util.js';

export const BOX_IOU_KERNEL = 'TfdetBoxIou';

/** IoU variants of {@link boxIou}. */
export type IouMode = 'iou' | 'iof' | 'giou';
export const IOU_MODES: IouMode[] = ['iou', 'iof', 'giou'];

/**
 * Typed-array IoU of `a` [N, 4] against `b` [M, 4] (or aligned pairs).
 * Shared by the cpu/wasm kernel and by host code that already holds arrays.
 */
export function boxIouHost(
  a: Float32Array,
  b: Float32Array,
  mode: IouMode = 'iou',
  aligned = false,
  eps = 0,
  into?: Float32Array,
): Float32Array {
  const n = a.length >> 2;
  const m = b.length >> 2;
  const modeId = IOU_MODES.indexOf(mode);
  const areaB = new Float64Array(m);
  for (let j = 0; j < m; j++) areaB[j] = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
  const out = into ?? new Float32Array(aligned ? n : n * m);
  const one = (i: number, j: number): number => {
    const ax1 = a[4 * i],
      ay1 = a[4 * i + 1],
      ax2 = a[4 * i + 2],
      ay2 = a[4 * i + 3];
    const bx1 = b[4 * j],
      by1 = b[4 * j + 1],
      bx2 = b[4 * j + 2],
      by2 = b[4 * j + 3];
    const areaA = (ax2 - ax1) * (ay2 - ay1);
    const w = Math.min(ax2, bx2) - Math.max(ax1, bx1);
    const h = Math.min(ay2, by2) - Math.max(ay1, by1);
    const inter = (w > 0 ? w : 0) * (h > 0 ? h : 0);
    if (modeId === 1) return inter / Math.max(areaA, eps);
    const rawUnion = areaA + areaB[j] - inter;
    const union = eps > 0 ? Math.max(rawUnion, eps) : rawUnion;
    const iou = inter / union;
    if (modeId === 0) return iou;
    const ew = Math.max(ax2, bx2) - Math.min(ax1, bx1);
    const eh = Math.max(ay2, by2) - Math.min(ay1, by1);
    const encl = (ew > 0 ? ew : 0) * (eh > 0 ? eh : 0);
    const e = eps > 0 ? Math.max(encl, eps) : encl;
    return iou - (e - union) / e;
  };
  if (aligned) {
    for (let i = 0; i < n; i++) out[i] = one(i, i);
    return out;
  }
  if (modeId === 0) {
    // Hot path (assigners call this on every image): two rows of `a` per pass
    // over `b`, so each box of `b` is loaded once per pair of rows.
    const pair = (
      ax1: number,
      ay1: number,
      ax2: number,
      ay2: number,
      areaA: number,
      j4: number,
      bj: number,
    ): number => {
      const w = (ax2 < b[j4 + 2] ? ax2 : b[j4 + 2]) - (ax1 > b[j4] ? ax1 : b[j4]);
      if (w > 0) {
        const h = (ay2 < b[j4 + 3] ? ay2 : b[j4 + 3]) - (ay1 > b[j4 + 1] ? ay1 : b[j4 + 1]);
        if (h > 0) {
          const inter = w * h;
          const u = areaA + bj - inter;
          return inter / (eps > 0 && u < eps ? eps : u);
        }
      }
      // Disjoint: 0 / union without the division where the union is positive
      // (most pairs); 0/0 stays NaN as in torchvision.
      const u = areaA + bj;
      return u > 0 || eps > 0 ? 0 : 0 / u;
    };
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const p = 4 * i;
      const ax1 = a[p],
        ay1 = a[p + 1],
        ax2 = a[p + 2],
        ay2 = a[p + 3];
      const cx1 = a[p + 4],
        cy1 = a[p + 5],
        cx2 = a[p + 6],
        cy2 = a[p + 7];
      const areaA = (ax2 - ax1) * (ay2 - ay1);
      const areaC = (cx2 - cx1) * (cy2 - cy1);
      const row = i * m;
      for (let j = 0; j < m; j++) {
        const bj = areaB[j];
        out[row + j] = pair(ax1, ay1, ax2, ay2, areaA, 4 * j, bj);
        out[row + m + j] = pair(cx1, cy1, cx2, cy2, areaC, 4 * j, bj);
      }
    }
    for (; i < n; i++) {
      const p = 4 * i;
      const areaA = (a[p + 2] - a[p]) * (a[p + 3] - a[p + 1]);
      for (let j = 0; j < m; j++)
        out[i * m + j] = pair(a[p], a[p + 1], a[p + 2], a[p + 3], areaA, 4 * j, areaB[j]);
    }
    return out;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = one(i, j);
  return out;
}

const iouShape = (shapes: number[][], aligned: boolean): number[] =>
  aligned ? [shapes[0][0]] : [shapes[0][0], shapes[1][0]];

registerHostKernel(
  BOX_IOU_KERNEL,
  ['a', 'b'],
  (inputs, shapes, attrs, out): HostOutput[] => {
    const aligned = Boolean(attrs.aligned);
    const values = boxIouHost(
      inputs[0] as Float32Array,
      inputs[1] as Float32Array,
      attrs.mode as IouMode,
      aligned,
      Number(attrs.eps ?? 0),
      out?.[0] as Float32Array | undefined,
    );
    return [{ shape: iouShape(shapes, aligned), dtype: 'float32', values }];
  },
  [],
  (shapes, attrs) => [{ shape: iouShape(shapes, Boolean(attrs.aligned)), dtype: 'float32' }],
);
