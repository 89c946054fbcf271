/**
 * Host-side targets of the YOLOv3 head (mmdet `YOLOV3Head.get_targets`):
 * per image, the GridAssigner over the anchors of all levels with the
 * responsible flags of its gts, then encoded boxes, objectness and one-hot
 * classes for the positives and a negative map, rearranged per level.
 */
import type { DetSample } from '../structures/index.js';
import type { AssignResult } from '../task_utils/assigners.js';
import type { YOLOBBoxCoder } from '../task_utils/coders/yolo_bbox_coder.js';
import type { GridAssigner } from '../task_utils/grid_assigner.js';
import type { YOLOAnchorGenerator } from '../task_utils/prior_generators/yolo_anchor_generator.js';
import type { SamplingResult } from '../task_utils/samplers.js';
import { concatU8 } from './dense_utils.js';

/** Targets of a batch, one entry per level. */
export interface YOLOTargets {
  /** `[B * N_l, 5 + C]` rows: encoded box, objectness 1 for positives, (smoothed) one-hot class. */
  targetMaps: Float32Array[];
  /** `[B * N_l]`: 1 for negatives (background), 0 for positives and ignored anchors. */
  negMaps: Float32Array[];
  numPos: number;
  assign: AssignResult[];
}

/** What {@link yoloTargets} needs of the head. */
export interface YOLOTargetParts {
  assigner: GridAssigner;
  sampler: { sample(a: AssignResult): SamplingResult };
  priorGenerator: YOLOAnchorGenerator;
  bboxCoder: YOLOBBoxCoder;
  numClasses: number;
  /** Label smoothing of the one-hot classes (mmdet `one_hot_smoother`). */
  oneHotSmoother: number;
}

/** Anchors per level, their concatenation and each anchor's stride. */
export interface YOLOPriors {
  levels: Float32Array[];
  all: Float32Array;
  strides: Float32Array;
}

/** Targets of a batch for feature maps of `sizes`, over `priors` (see the file comment). */
export function yoloTargets(
  ctx: YOLOTargetParts,
  priors: YOLOPriors,
  sizes: [number, number][],
  samples: DetSample[],
): YOLOTargets {
  const { levels, all, strides } = priors;
  const counts = levels.map((p) => p.length / 4);
  const offsets = counts.map((_, l) => counts.slice(0, l).reduce((s, c) => s + c, 0));
  const levelOf = new Int32Array(all.length / 4);
  counts.forEach((c, l) => levelOf.fill(l, offsets[l], offsets[l] + c));
  const B = samples.length;
  const K = 5 + ctx.numClasses;
  const C = ctx.numClasses;
  const targetMaps = counts.map((c) => new Float32Array(B * c * K));
  const negMaps = counts.map((c) => new Float32Array(B * c));
  const smooth = ctx.oneHotSmoother;
  const assigns: AssignResult[] = [];
  let numPos = 0;
  samples.forEach((s, b) => {
    const gt = s.gtInstances;
    const flags = concatU8(ctx.priorGenerator.responsibleFlagsHost(sizes, gt.bboxes));
    const assign = ctx.assigner.assign(all, gt, flags);
    assigns.push(assign);
    const res = ctx.sampler.sample(assign);
    const rowOf = (i: number): [number, number] => {
      const l = levelOf[i];
      return [l, b * counts[l] + i - offsets[l]];
    };
    const p = res.posInds.length;
    if (p) {
      const pri = new Float32Array(4 * p);
      const gts = new Float32Array(4 * p);
      const st = new Float32Array(p);
      res.posInds.forEach((i, k) => {
        pri.set(all.subarray(4 * i, 4 * i + 4), 4 * k);
        const g = res.posAssignedGtInds[k];
        gts.set(gt.bboxes.subarray(4 * g, 4 * g + 4), 4 * k);
        st[k] = strides[i]!;
      });
      const enc = ctx.bboxCoder.encodeHost(pri, gts, st);
      res.posInds.forEach((i, k) => {
        const [l, r] = rowOf(i);
        const t = targetMaps[l];
        t.set(enc.subarray(4 * k, 4 * k + 4), r * K);
        t[r * K + 4] = 1;
        const label = gt.labels[res.posAssignedGtInds[k]];
        for (let c = 0; c < C; c++) t[r * K + 5 + c] = (c === label ? 1 - smooth : 0) + smooth / C;
      });
    }
    numPos += p;
    for (const i of res.negInds) {
      const [l, r] = rowOf(i);
      negMaps[l][r] = 1;
    }
  });
  return { targetMaps, negMaps, numPos, assign: assigns };
}
