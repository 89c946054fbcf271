import { describe, expect, it } from 'vitest';
import {
  MaxIoUAssigner,
  PseudoSampler,
  RandomSampler,
  type AssignResult,
} from '../../src/task_utils/index.js';
import { TASK_UTILS } from '../../src/registry.js';

const boxes = (...b: number[][]): Float32Array => Float32Array.from(b.flat());
const gt = (b: number[][], labels: number[]) => ({
  bboxes: boxes(...b),
  labels: Int32Array.from(labels),
});

describe('MaxIoUAssigner (mmdet rules on hand-made cases)', () => {
  it('positive at >= posIouThr, negative in [0, negIouThr), ignored in between', () => {
    const a = new MaxIoUAssigner({
      posIouThr: 0.5,
      negIouThr: 0.4,
      minPosIou: 0,
      matchLowQuality: false,
    });
    // IoUs with gt [0,0,10,10]: 1.0, 0.5 exactly, 0.45, 0.0
    const priors = boxes([0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 4.5], [20, 20, 30, 30]);
    const r = a.assign(priors, gt([[0, 0, 10, 10]], [3]));
    expect(Array.from(r.gtInds)).toEqual([1, 1, -1, 0]);
    expect(Array.from(r.labels)).toEqual([3, 3, -1, -1]);
    expect(r.maxOverlaps[2]).toBeCloseTo(0.45, 6);
  });

  it('a prior goes to the gt it overlaps most; ties go to the first gt', () => {
    const a = new MaxIoUAssigner({ posIouThr: 0.3, negIouThr: 0.3, matchLowQuality: false });
    const priors = boxes([0, 0, 10, 10], [5, 0, 15, 10]);
    const r = a.assign(
      priors,
      gt(
        [
          [0, 0, 10, 10],
          [5, 0, 15, 10],
          [0, 0, 10, 10],
        ],
        [0, 1, 2],
      ),
    );
    expect(Array.from(r.gtInds)).toEqual([1, 2]);
  });

  it('low-quality matching lets each gt claim its best prior (minPosIou), later gts overwrite', () => {
    const priors = boxes([0, 0, 10, 10], [100, 100, 110, 110], [0, 0, 4, 4]);
    // gt 0 overlaps prior 0 with IoU 0.25 (< posIouThr), gt 1 overlaps prior 0 with 0.16
    const g = gt(
      [
        [0, 0, 5, 5],
        [0, 0, 4, 4],
      ],
      [7, 8],
    );
    const off = new MaxIoUAssigner({
      posIouThr: 0.5,
      negIouThr: 0.1,
      matchLowQuality: false,
    }).assign(priors, g);
    expect(Array.from(off.gtInds)).toEqual([-1, 0, 2]); // prior 0: IoU 0.25 in [0.1, 0.5); prior 2 matches gt 1 with IoU 1
    const on = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.1, minPosIou: 0.2 }).assign(
      priors,
      g,
    );
    // gt 0's best prior is prior 2 (IoU 0.64) -> 1, then gt 1's best is prior 2 (IoU 1) -> 2
    expect(Array.from(on.gtInds)).toEqual([-1, 0, 2]);
    const high = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.1, minPosIou: 0.7 }).assign(
      boxes([0, 0, 10, 10], [100, 100, 110, 110]),
      gt([[0, 0, 5, 5]], [7]),
    );
    expect(Array.from(high.gtInds)).toEqual([-1, 0]); // best IoU 0.25 < minPosIou: stays ignored
    const low = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.1, minPosIou: 0.2 }).assign(
      boxes([0, 0, 10, 10], [100, 100, 110, 110]),
      gt([[0, 0, 5, 5]], [7]),
    );
    expect(Array.from(low.gtInds)).toEqual([1, 0]);
  });

  it('gtMaxAssignAll gives a gt every prior that ties its best IoU', () => {
    const priors = boxes([0, 0, 10, 10], [10, 0, 20, 10], [50, 50, 60, 60]);
    const g = gt([[5, 0, 15, 10]], [1]); // IoU 1/3 with both of the first two
    const all = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.3, gtMaxAssignAll: true }).assign(
      priors,
      g,
    );
    expect(Array.from(all.gtInds)).toEqual([1, 1, 0]);
    const one = new MaxIoUAssigner({
      posIouThr: 0.5,
      negIouThr: 0.3,
      gtMaxAssignAll: false,
    }).assign(priors, g);
    expect(Array.from(one.gtInds)).toEqual([1, -1, 0]);
  });

  it('negIouThr as a [lo, hi) range', () => {
    const priors = boxes([0, 0, 10, 10], [0, 0, 10, 1], [50, 50, 60, 60]);
    const r = new MaxIoUAssigner({
      posIouThr: 0.9,
      negIouThr: [0.05, 0.5],
      matchLowQuality: false,
    }).assign(priors, gt([[0, 0, 10, 10]], [0]));
    expect(Array.from(r.gtInds)).toEqual([1, 0, -1]); // IoU 0.1 -> neg, IoU 0 -> below lo: ignored
  });

  it('ignoreIofThr ignores priors covered by an ignored box, even for low-quality matches', () => {
    const priors = boxes([0, 0, 10, 10], [40, 40, 50, 50], [80, 80, 90, 90]);
    const g = gt(
      [
        [0, 0, 10, 10],
        [41, 41, 51, 51],
      ],
      [0, 1],
    );
    const ign = { bboxes: boxes([38, 38, 60, 60]) };
    const r = new MaxIoUAssigner({
      posIouThr: 0.5,
      negIouThr: 0.4,
      minPosIou: 0.1,
      ignoreIofThr: 0.5,
    }).assign(priors, g, ign);
    expect(Array.from(r.gtInds)).toEqual([1, -1, 0]);
    expect(r.maxOverlaps[1]).toBe(-1);
    // mmdet quirk kept on purpose: with minPosIou 0 a gt whose only prior is ignored has best IoU 0
    // and, with gtMaxAssignAll, claims every prior of IoU 0 (later gts overwrite earlier ones).
    const quirk = new MaxIoUAssigner({
      posIouThr: 0.5,
      negIouThr: 0.4,
      minPosIou: 0,
      ignoreIofThr: 0.5,
    }).assign(priors, g, ign);
    expect(Array.from(quirk.gtInds)).toEqual([2, -1, 2]);
    const off = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.4, ignoreIofThr: -1 }).assign(
      priors,
      g,
      ign,
    );
    expect(Array.from(off.gtInds)).toEqual([1, 2, 0]);
  });

  it('no gt: all background; no prior: empty', () => {
    const a = TASK_UTILS.build<MaxIoUAssigner>({
      type: 'MaxIoUAssigner',
      posIouThr: 0.5,
      negIouThr: 0.4,
    });
    expect(Array.from(a.assign(boxes([0, 0, 1, 1]), gt([], [])).gtInds)).toEqual([0]);
    expect(a.assign(new Float32Array(0), gt([[0, 0, 1, 1]], [0])).gtInds.length).toBe(0);
  });
});

describe('samplers', () => {
  const assign: AssignResult = {
    numGts: 2,
    gtInds: Int32Array.from([1, 0, -1, 2, 0, 0, 0, 1]),
    maxOverlaps: new Float32Array(8),
    labels: Int32Array.from([0, -1, -1, 1, -1, -1, -1, 0]),
  };
  it('PseudoSampler keeps every positive and negative', () => {
    const s = new PseudoSampler().sample(assign);
    expect(Array.from(s.posInds)).toEqual([0, 3, 7]);
    expect(Array.from(s.posAssignedGtInds)).toEqual([0, 1, 0]);
    expect(Array.from(s.negInds)).toEqual([1, 4, 5, 6]);
    expect(s.sampled).toBe(false);
  });
  it('RandomSampler respects num, posFraction and negPosUb', () => {
    const s = TASK_UTILS.build<RandomSampler>({
      type: 'RandomSampler',
      num: 4,
      posFraction: 0.25,
      seed: 3,
    }).sample(assign);
    expect(s.posInds.length).toBe(1);
    expect(s.negInds.length).toBe(3);
    for (const i of s.posInds) expect(assign.gtInds[i]).toBeGreaterThan(0);
    for (const i of s.negInds) expect(assign.gtInds[i]).toBe(0);
    const ub = new RandomSampler({ num: 8, posFraction: 0.5, negPosUb: 1 }).sample(assign);
    expect(ub.posInds.length).toBe(3);
    expect(ub.negInds.length).toBe(3);
  });
});
