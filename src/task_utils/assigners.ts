/**
 * Assigners (mmdet `task_modules/assigners`): decide for every prior (anchor
 * or point) whether it is background, ignored, or responsible for one
 * ground-truth box. Host code on typed arrays: assignment needs no gradient.
 */
import { z } from 'zod';
import { boxIouHost } from '../ops/boxes/iou.js';
import { TASK_UTILS } from '../registry.js';

/**
 * What an assigner decided (mmdet `AssignResult`). `gtInds[i]` is `0` for
 * background, `-1` for ignored, `j + 1` when prior `i` is assigned to gt `j`.
 */
export interface AssignResult {
  numGts: number;
  gtInds: Int32Array;
  /** Best IoU of each prior with any gt (0 without gts). */
  maxOverlaps: Float32Array;
  /** Label of the assigned gt, `-1` where not positive. */
  labels: Int32Array;
}

/** Ground truth handed to an assigner: boxes `n*4` in input pixels and labels. */
export interface AssignGt {
  bboxes: Float32Array;
  labels: Int32Array;
}

export interface MaxIoUAssignerOptions {
  /** IoU at or above which a prior is positive. */
  posIouThr: number;
  /** IoU below which (and at or above 0) a prior is negative; a pair `[lo, hi)` bounds it both ways. */
  negIouThr: number | [number, number];
  /** A gt's best prior becomes positive if its IoU is at least this (when `matchLowQuality`). */
  minPosIou?: number;
  /** Give a gt every prior that ties its best IoU, not only the first. */
  gtMaxAssignAll?: boolean;
  /** Priors whose IoF with an ignored box exceeds this are ignored (`-1`); `<= 0` disables. */
  ignoreIofThr?: number;
  /** Compute IoF of ignored boxes over the ignored box instead of the prior. */
  ignoreWrtCandidates?: boolean;
  /** Second pass that lets each gt claim its best prior (mmdet default true). */
  matchLowQuality?: boolean;
}

/**
 * mmdet `MaxIoUAssigner`. Rules, in order:
 * 1. every prior starts as `-1` (ignored);
 * 2. a prior whose IoF with an ignored box is `> ignoreIofThr` stays ignored for good;
 * 3. a prior whose best IoU is in `[0, negIouThr)` (or `[lo, hi)`) becomes `0`;
 * 4. a prior whose best IoU is `>= posIouThr` is assigned to that gt (first gt on ties);
 * 5. with `matchLowQuality`, each gt in order claims its best prior (or all tying
 *    priors with `gtMaxAssignAll`) when that IoU is `>= minPosIou`; later gts win.
 * With no gt every prior is background; with no prior the result is empty.
 *
 * @example
 * ```ts
 * const a = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.4 });
 * const r = a.assign(Float32Array.of(0, 0, 10, 10, 0, 0, 10, 9, 20, 20, 30, 30), { bboxes: Float32Array.of(0, 0, 10, 10), labels: Int32Array.of(2) });
 * r.gtInds; // => Int32Array [1, 1, 0]
 * r.labels; // => Int32Array [2, 2, -1]
 * ```
 */
export class MaxIoUAssigner {
  static readonly configSchema = z
    .object({
      posIouThr: z.number(),
      negIouThr: z.union([z.number(), z.tuple([z.number(), z.number()])]),
      minPosIou: z.number().optional(),
      gtMaxAssignAll: z.boolean().optional(),
      ignoreIofThr: z.number().optional(),
      ignoreWrtCandidates: z.boolean().optional(),
      matchLowQuality: z.boolean().optional(),
      iouCalculator: z.unknown().optional(),
    })
    .strict();
  readonly posIouThr: number;
  readonly negIouThr: number | [number, number];
  readonly minPosIou: number;
  readonly gtMaxAssignAll: boolean;
  readonly ignoreIofThr: number;
  readonly ignoreWrtCandidates: boolean;
  readonly matchLowQuality: boolean;

  constructor(opts: MaxIoUAssignerOptions) {
    this.posIouThr = opts.posIouThr;
    this.negIouThr = opts.negIouThr;
    this.minPosIou = opts.minPosIou ?? 0;
    this.gtMaxAssignAll = opts.gtMaxAssignAll ?? true;
    this.ignoreIofThr = opts.ignoreIofThr ?? -1;
    this.ignoreWrtCandidates = opts.ignoreWrtCandidates ?? true;
    this.matchLowQuality = opts.matchLowQuality ?? true;
  }

  /** Assign priors `n*4` to `gt`; `ignored` boxes (crowd / difficult) take part through `ignoreIofThr`. */
  assign(priors: Float32Array, gt: AssignGt, ignored?: { bboxes: Float32Array }): AssignResult {
    const n = priors.length >> 2;
    const g = gt.bboxes.length >> 2;
    const gtInds = new Int32Array(n).fill(-1);
    const maxOverlaps = new Float32Array(n);
    const labels = new Int32Array(n).fill(-1);
    if (g === 0 || n === 0) {
      gtInds.fill(0);
      return { numGts: g, gtInds, maxOverlaps, labels };
    }
    const ov = boxIouHost(gt.bboxes, priors, 'iou'); // [g, n]
    const argmax = new Int32Array(n);
    maxOverlaps.fill(-Infinity);
    for (let j = 0; j < g; j++) {
      const row = j * n;
      for (let i = 0; i < n; i++) {
        if (ov[row + i] > maxOverlaps[i]) {
          maxOverlaps[i] = ov[row + i];
          argmax[i] = j;
        }
      }
    }
    const ignoredPrior = new Uint8Array(n);
    const nIg = ignored ? ignored.bboxes.length >> 2 : 0;
    if (this.ignoreIofThr > 0 && nIg > 0) {
      const iof = this.ignoreWrtCandidates
        ? boxIouHost(priors, ignored!.bboxes, 'iof') // [n, nIg], over prior area
        : boxIouHost(ignored!.bboxes, priors, 'iof'); // [nIg, n], over ignored area
      for (let i = 0; i < n; i++) {
        let m = -Infinity;
        for (let k = 0; k < nIg; k++)
          m = Math.max(m, this.ignoreWrtCandidates ? iof[i * nIg + k] : iof[k * n + i]);
        if (m > this.ignoreIofThr) ignoredPrior[i] = 1;
      }
    }
    const [lo, hi] = Array.isArray(this.negIouThr) ? this.negIouThr : [0, this.negIouThr];
    for (let i = 0; i < n; i++) {
      if (ignoredPrior[i]) continue;
      const m = maxOverlaps[i];
      if (m >= lo && m < hi) gtInds[i] = 0;
      if (m >= this.posIouThr) gtInds[i] = argmax[i] + 1;
    }
    if (this.matchLowQuality) {
      for (let j = 0; j < g; j++) {
        const row = j * n;
        let best = -Infinity;
        let bestI = -1;
        for (let i = 0; i < n; i++) {
          // mmdet sets ignored priors' overlaps to -1 before this step, so they never match.
          const v = ignoredPrior[i] ? -1 : ov[row + i];
          if (v > best) {
            best = v;
            bestI = i;
          }
        }
        if (bestI < 0 || best < this.minPosIou) continue;
        if (this.gtMaxAssignAll) {
          for (let i = 0; i < n; i++)
            if (!ignoredPrior[i] && ov[row + i] === best) gtInds[i] = j + 1;
        } else gtInds[bestI] = j + 1;
      }
    }
    for (let i = 0; i < n; i++) {
      if (ignoredPrior[i] && maxOverlaps[i] > -Infinity) maxOverlaps[i] = -1;
      if (gtInds[i] > 0) labels[i] = gt.labels[gtInds[i] - 1];
    }
    return { numGts: g, gtInds, maxOverlaps, labels };
  }
}

TASK_UTILS.register(MaxIoUAssigner, { name: 'MaxIoUAssigner' });
