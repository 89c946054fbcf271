/**
 * mmdet `GridAssigner` (YOLOv3): like the max-IoU assigner, except that a
 * prior may only become positive when it is "responsible", i.e. it belongs
 * to the grid cell holding a gt box's centre (on any level; see
 * `YOLOAnchorGenerator.responsibleFlagsHost`).
 */
import { z } from 'zod';
import { boxIouHost } from '../ops/boxes/iou.js';
import { TASK_UTILS } from '../registry.js';
import type { AssignGt, AssignResult } from './assigners.js';

export interface GridAssignerOptions {
  /** A responsible prior whose best IoU is `> posIouThr` is positive. */
  posIouThr: number;
  /** Priors whose best IoU is in `[0, negIouThr]` (or `(lo, hi]` for a pair) are negative. */
  negIouThr: number | [number, number];
  /** A gt claims its best responsible prior(s) only when that IoU is `> minPosIou`. */
  minPosIou?: number;
  /** Give a gt every responsible prior that ties its best IoU, not only the first (default true). */
  gtMaxAssignAll?: boolean;
}

const schema = z
  .object({
    posIouThr: z.number(),
    negIouThr: z.union([z.number(), z.tuple([z.number(), z.number()])]),
    minPosIou: z.number().optional(),
    gtMaxAssignAll: z.boolean().optional(),
  })
  .strict();

/**
 * Rules, in order (mmdet's):
 * 1. every prior starts as `-1` (ignored);
 * 2. a prior whose best IoU with any gt is in `[0, negIouThr]` becomes `0`;
 * 3. overlaps with priors that are not responsible are set to -1; a prior
 *    whose best remaining IoU is `> posIouThr` goes to that gt (first on ties);
 * 4. each gt in order claims its best responsible prior (all tying ones with
 *    `gtMaxAssignAll`) when that IoU is `> minPosIou`; later gts win.
 * So a gt lands on the anchor, over all levels, that overlaps it best among
 * the anchors of the cells holding its centre, and priors overlapping some gt
 * by more than `negIouThr` without being assigned are ignored.
 * `maxOverlaps` is each prior's best IoU after step 3 (-1 where not responsible).
 *
 * @example
 * ```ts
 * const a = new GridAssigner({ posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 });
 * // three priors; the gt's cell holds priors 0 and 1
 * const r = a.assign(Float32Array.of(0, 0, 10, 10, 0, 0, 20, 20, 1, 1, 11, 11), { bboxes: Float32Array.of(0, 0, 12, 12), labels: Int32Array.of(3) }, Uint8Array.of(1, 1, 0));
 * r.gtInds; // => Int32Array [1, 0, -1]  (prior 2 overlaps by 0.69 but is not responsible: ignored)
 * r.labels; // => Int32Array [3, -1, -1]
 * ```
 */
export class GridAssigner {
  static readonly configSchema = schema;
  readonly posIouThr: number;
  readonly negIouThr: number | [number, number];
  readonly minPosIou: number;
  readonly gtMaxAssignAll: boolean;

  constructor(opts: GridAssignerOptions) {
    const o = schema.parse(opts);
    this.posIouThr = o.posIouThr;
    this.negIouThr = o.negIouThr;
    this.minPosIou = o.minPosIou ?? 0;
    this.gtMaxAssignAll = o.gtMaxAssignAll ?? true;
  }

  /** Assign priors (`n*4`) to `gt`; `responsibleFlags[i]` is 1 where prior `i` lies in a cell holding a gt centre. */
  assign(priors: Float32Array, gt: AssignGt, responsibleFlags: Uint8Array): AssignResult {
    const n = priors.length >> 2;
    const g = gt.bboxes.length >> 2;
    if (responsibleFlags.length !== n) {
      throw new Error(
        `GridAssigner.assign: 'responsibleFlags' has ${responsibleFlags.length} entries for ${n} priors.`,
      );
    }
    const gtInds = new Int32Array(n).fill(-1);
    const labels = new Int32Array(n).fill(-1);
    if (g === 0 || n === 0) {
      if (g === 0) gtInds.fill(0);
      return { numGts: g, gtInds, maxOverlaps: new Float32Array(n), labels };
    }
    const ov = boxIouHost(gt.bboxes, priors, 'iou'); // [g, n]
    const best = (i: number, respOnly: boolean): [number, number] => {
      let m = -Infinity;
      let arg = 0;
      for (let j = 0; j < g; j++) {
        const v = respOnly && !responsibleFlags[i] ? -1 : ov[j * n + i];
        if (v > m) {
          m = v;
          arg = j;
        }
      }
      return [m, arg];
    };
    const [lo, hi] = Array.isArray(this.negIouThr) ? this.negIouThr : [null, this.negIouThr];
    const maxOverlaps = new Float32Array(n);
    const argmax = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const [m] = best(i, false);
      if (lo === null ? m >= 0 && m <= hi : m > lo && m <= hi) gtInds[i] = 0;
      const [mr, ar] = best(i, true);
      maxOverlaps[i] = mr;
      argmax[i] = ar;
    }
    for (let i = 0; i < n; i++)
      if (responsibleFlags[i] && maxOverlaps[i] > this.posIouThr) gtInds[i] = argmax[i] + 1;
    for (let j = 0; j < g; j++) {
      let m = -Infinity;
      let arg = 0;
      for (let i = 0; i < n; i++) {
        const v = responsibleFlags[i] ? ov[j * n + i] : -1;
        if (v > m) {
          m = v;
          arg = i;
        }
      }
      if (!(m > this.minPosIou)) continue;
      if (this.gtMaxAssignAll) {
        for (let i = 0; i < n; i++)
          if (responsibleFlags[i] && ov[j * n + i] === m) gtInds[i] = j + 1;
      } else if (responsibleFlags[arg]) gtInds[arg] = j + 1;
    }
    for (let i = 0; i < n; i++) if (gtInds[i] > 0) labels[i] = gt.labels[gtInds[i] - 1]!;
    return { numGts: g, gtInds, maxOverlaps, labels };
  }
}

TASK_UTILS.register(GridAssigner, { name: 'GridAssigner' });
