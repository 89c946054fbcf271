/**
 * numpy's summation and pycocotools' `COCOeval.summarize()`: the 12 numbers
 * and their printed lines.
 */
import type { CocoEvalResult } from './params.js';

/**
 * numpy's pairwise summation of a contiguous float64 array (what `np.mean`
 * uses): 8 accumulators up to 128 values, halving above.
 *
 * @example
 * ```ts
 * pairwiseSum([0.1, 0.2, 0.3]); // => 0.6000000000000001
 * ```
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * `np.add.reduce` of a contiguous float64 array as numpy runs it: the
 * iterator hands the loop blocks of at most 8192 values (NPY_BUFSIZE), each
 * summed pairwise and added to the running total that starts at 0.
 *
 * @example
 * ```ts
 * npSum([0.1, 0.2, 0.3]); // => 0.6000000000000001
 * ```
 */
export function npSum(a: ArrayLike<number>): number {
  let total = 0;
  for (let start = 0; start < a.length; start += 8192)
    total += pairwiseSum(a, start, Math.min(8192, a.length - start));
  return total;
}

/**
 * Mean of precision (`ap = true`) or recall over entries `> -1`, as
 * `COCOeval.summarize()._summarize`; -1 when there are none. `iouThr`
 * selects one threshold by exact equality, as numpy's `np.where(iouThr == iouThrs)`.
 *
 * @example
 * ```ts
 * const gt = {
 *   images: [{ id: 1, width: 10, height: 10 }], categories: [{ id: 1, name: 'a' }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 }],
 * };
 * const dt = [{ image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], score: 0.9 }]; // the evaluateCoco example
 * summarizeOne(evaluateCoco(gt, dt), true, { iouThr: 0.5, maxDets: 100 }); // => 0.9999999999999999 (AP50)
 * ```
 */
export function summarizeOne(
  r: CocoEvalResult,
  ap: boolean,
  {
    iouThr,
    areaRng = 'all',
    maxDets = 100,
    catIndex,
  }: { iouThr?: number; areaRng?: string; maxDets?: number; catIndex?: number } = {},
): number {
  const [T, R, K, A, M] = r.counts;
  const p = r.params;
  const ts =
    iouThr === undefined
      ? [...Array(T).keys()]
      : p.iouThrs.flatMap((v, i) => (v === iouThr ? [i] : []));
  const as = p.areaRngLbl.flatMap((l, i) => (l === areaRng ? [i] : []));
  const ms = p.maxDets.flatMap((v, i) => (v === maxDets ? [i] : []));
  const ks = catIndex === undefined ? [...Array(K).keys()] : [catIndex];
  const vals: number[] = [];
  // C order of the selected array: t, r, k, a, m (precision) / t, k, a, m (recall)
  for (const t of ts) {
    if (ap) {
      for (let ri = 0; ri < R; ri++)
        for (const k of ks)
          for (const a of as)
            for (const m of ms) {
              const v = r.precision[(((t * R + ri) * K + k) * A + a) * M + m];
              if (v > -1) vals.push(v);
            }
    } else {
      for (const k of ks)
        for (const a of as)
          for (const m of ms) {
            const v = r.recall[((t * K + k) * A + a) * M + m];
            if (v > -1) vals.push(v);
          }
    }
  }
  return vals.length === 0 ? -1 : npSum(vals) / vals.length;
}

/**
 * The 12 numbers of `COCOeval.summarize()` for bbox/segm: AP@[.5:.95],
 * AP50, AP75, AP small/medium/large, AR@maxDets[0..2], AR small/medium/large
 * (AP at 100 detections unless stated, the rest at `maxDets[2]`, as pycocotools).
 *
 * @example
 * ```ts
 * const gt = {
 *   images: [{ id: 1, width: 10, height: 10 }], categories: [{ id: 1, name: 'a' }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 }],
 * };
 * const dt = [{ image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], score: 0.9 }]; // the evaluateCoco example
 * summarizeCoco(evaluateCoco(gt, dt)); // => [0.9999999999999998, 0.9999999999999999, 0.9999999999999999, 0.9999999999999998, -1, -1, 1, 1, 1, 1, -1, -1] (evaluateCoco(gt, dt).stats)
 * ```
 */
export function summarizeCoco(r: CocoEvalResult): number[] {
  const md = r.params.maxDets;
  const m2 = md[2] ?? NaN;
  return [
    summarizeOne(r, true),
    summarizeOne(r, true, { iouThr: 0.5, maxDets: m2 }),
    summarizeOne(r, true, { iouThr: 0.75, maxDets: m2 }),
    summarizeOne(r, true, { areaRng: 'small', maxDets: m2 }),
    summarizeOne(r, true, { areaRng: 'medium', maxDets: m2 }),
    summarizeOne(r, true, { areaRng: 'large', maxDets: m2 }),
    summarizeOne(r, false, { maxDets: md[0] ?? NaN }),
    summarizeOne(r, false, { maxDets: md[1] ?? NaN }),
    summarizeOne(r, false, { maxDets: m2 }),
    summarizeOne(r, false, { areaRng: 'small', maxDets: m2 }),
    summarizeOne(r, false, { areaRng: 'medium', maxDets: m2 }),
    summarizeOne(r, false, { areaRng: 'large', maxDets: m2 }),
  ];
}

/** Names of the 12 summary numbers, in order. */
export const COCO_STAT_NAMES = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;

/**
 * pycocotools' 12 printed summary lines, e.g.
 * ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505`.
 *
 * @example
 * ```ts
 * const gt = {
 *   images: [{ id: 1, width: 10, height: 10 }], categories: [{ id: 1, name: 'a' }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 }],
 * };
 * const dt = [{ image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], score: 0.9 }]; // the evaluateCoco example
 * formatCocoSummary(evaluateCoco(gt, dt)).split('\n')[0];
 * // => ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000'
 * ```
 */
export function formatCocoSummary(r: CocoEvalResult): string {
  const p = r.params;
  const md = p.maxDets;
  const f2 = (v: number) => v.toFixed(2);
  const rows: [boolean, number | undefined, string, number][] = [
    [true, undefined, 'all', 100],
    [true, 0.5, 'all', md[2]],
    [true, 0.75, 'all', md[2]],
    [true, undefined, 'small', md[2]],
    [true, undefined, 'medium', md[2]],
    [true, undefined, 'large', md[2]],
    [false, undefined, 'all', md[0]],
    [false, undefined, 'all', md[1]],
    [false, undefined, 'all', md[2]],
    [false, undefined, 'small', md[2]],
    [false, undefined, 'medium', md[2]],
    [false, undefined, 'large', md[2]],
  ];
  return rows
    .map(([ap, iouThr, area, maxDets], i) => {
      const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
      const type = ap ? '(AP)' : '(AR)';
      const iou = (
        iouThr === undefined
          ? `${f2(p.iouThrs[0])}:${f2(p.iouThrs[p.iouThrs.length - 1])}`
          : f2(iouThr)
      ).padEnd(9);
      const v = r.stats[i];
      return ` ${title} ${type} @[ IoU=${iou} | area=${area.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${pyFixed3(v)}`;
    })
    .join('\n');
}

/**
 * Python's `'{:0.3f}'.format(v)`: correctly rounded like `toFixed`, except
 * that an exact tie rounds half to even where `toFixed` rounds up.
 *
 * @example
 * ```ts
 * pyFixed3(0.0625); // => '0.062' (toFixed gives '0.063')
 * ```
 */
export function pyFixed3(v: number): string {
  const exact = Math.abs(v).toFixed(30);
  const tie = /^\d+\.\d{3}50*$/.exec(exact);
  if (tie) {
    const down = (Math.trunc(Math.abs(v) * 1000) / 1000).toFixed(3);
    const lastDigit = Number(down[down.length - 1]);
    const s = lastDigit % 2 === 0 ? down : (Math.abs(v) + 0.0005).toFixed(3);
    return v < 0 ? `-${s}` : s;
  }
  return v.toFixed(3);
}
