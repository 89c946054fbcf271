/**
 * Soft-NMS (Bodla et al. 2017) with mmcv's `soft_nms` CPU semantics.
 */
import { toF32 } from '../kernel_util.js';
import { checkInputs, f, type BoxesLike, type ScoresLike } from './greedy.js';

/** Options of {@link softNms}. */
export interface SoftNmsOptions {
  /** IoU from which `'linear'` (and `'naive'`) decay applies (mmcv default 0.3). */
  iouThreshold?: number;
  /** `'linear'`: score *= 1 - IoU when IoU >= thr; `'gaussian'`: score *= exp(-IoU^2 / sigma); `'naive'`: hard NMS with `>=`. */
  method?: 'linear' | 'gaussian' | 'naive';
  /** Gaussian width (mmcv default 0.5). */
  sigma?: number;
  /** Boxes whose decayed score drops below this are discarded (mmcv default 1e-3). */
  minScore?: number;
}

/**
 * Soft-NMS (Bodla et al. 2017), mmcv `soft_nms` CPU semantics: repeatedly
 * take the highest remaining score (first on ties), decay the others by
 * their IoU with it and drop those falling under `minScore` (swapping in the
 * last box, as mmcv does). Returns the kept indices in selection order and
 * their decayed scores.
 *
 * @example
 * ```ts
 * softNms(tf.tensor2d([[0, 0, 10, 10], [0, 0, 10, 5]]), tf.tensor1d([0.9, 0.8]), { method: 'linear', iouThreshold: 0.3 });
 * // => { keep: Int32Array [0, 1], scores: Float32Array [0.9, 0.4] }
 * ```
 */
export function softNms(
  boxes: BoxesLike,
  scores: ScoresLike,
  options: SoftNmsOptions = {},
): { keep: Int32Array; scores: Float32Array } {
  const { iouThreshold = 0.3, method = 'linear', sigma = 0.5, minScore = 1e-3 } = options;
  const methods = ['naive', 'linear', 'gaussian'];
  if (!methods.includes(method))
    throw new Error(`softNms: unknown method '${method}' (expected linear, gaussian or naive).`);
  const b = toF32(boxes, 'softNms boxes');
  const sc = Float32Array.from(toF32(scores, 'softNms scores'));
  checkInputs('softNms', b.length / 4, b.length, sc.length, iouThreshold);
  let n = sc.length;
  const x1 = new Float32Array(n),
    y1 = new Float32Array(n),
    x2 = new Float32Array(n),
    y2 = new Float32Array(n);
  const area = new Float32Array(n);
  const inds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = b[4 * i];
    y1[i] = b[4 * i + 1];
    x2[i] = b[4 * i + 2];
    y2[i] = b[4 * i + 3];
    area[i] = f(f(x2[i] - x1[i]) * f(y2[i] - y1[i]));
    inds[i] = i;
  }
  const swap = (p: number, q: number): void => {
    [x1[p], x1[q]] = [x1[q], x1[p]];
    [y1[p], y1[q]] = [y1[q], y1[p]];
    [x2[p], x2[q]] = [x2[q], x2[p]];
    [y2[p], y2[q]] = [y2[q], y2[p]];
    [sc[p], sc[q]] = [sc[q], sc[p]];
    [area[p], area[q]] = [area[q], area[p]];
    [inds[p], inds[q]] = [inds[q], inds[p]];
  };
  const copy = (to: number, from: number): void => {
    x1[to] = x1[from];
    y1[to] = y1[from];
    x2[to] = x2[from];
    y2[to] = y2[from];
    sc[to] = sc[from];
    area[to] = area[from];
    inds[to] = inds[from];
  };
  for (let i = 0; i < n; i++) {
    let maxPos = i;
    for (let p = i + 1; p < n; p++) if (sc[maxPos] < sc[p]) maxPos = p;
    swap(i, maxPos);
    for (let p = i + 1; p < n; p++) {
      const w = Math.max(0, f(Math.min(x2[i], x2[p]) - Math.max(x1[i], x1[p])));
      const h = Math.max(0, f(Math.min(y2[i], y2[p]) - Math.max(y1[i], y1[p])));
      const inter = f(w * h);
      const ovr = f(inter / f(f(area[i] + area[p]) - inter));
      let weight: number;
      if (method === 'naive') weight = ovr >= iouThreshold ? 0 : 1;
      else if (method === 'linear') weight = ovr >= iouThreshold ? 1 - ovr : 1;
      else weight = Math.exp(-(ovr * ovr) / sigma);
      sc[p] = f(sc[p] * weight);
      if (sc[p] < minScore) {
        copy(p, n - 1);
        n--;
        p--;
      }
    }
  }
  return { keep: inds.slice(0, n), scores: sc.slice(0, n) };
}
