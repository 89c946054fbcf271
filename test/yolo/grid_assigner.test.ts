/**
 * GridAssigner on hand-made cases (issue 8 must-show 1, YOLO assignment):
 * which cell and anchor each gt gets, the level choice across levels, the
 * negatives and the ignored anchors, and the thresholds' strictness.
 */
import { describe, expect, it } from 'vitest';
import { GridAssigner, YOLOAnchorGenerator } from '../../src/task_utils/index.js';
import { TASK_UTILS } from '../../src/registry.js';

const cat = (parts: Uint8Array[] | Float32Array[]): Float32Array =>
  Float32Array.from(parts.flatMap((p) => Array.from(p)));
const gt = (boxes: number[][], labels: number[]) => ({
  bboxes: Float32Array.from(boxes.flat()),
  labels: Int32Array.from(labels),
});

// Two levels on a 64x64 input: stride 32 (2x2 cells) with anchors 40x40 and 56x56,
// stride 16 (4x4 cells) with anchors 12x12 and 24x24. Anchor order (y, x, a) per level,
// level 0 first: level 0 has 2*2*2 = 8 anchors (indices 0..7), level 1 has 4*4*2 = 32 (8..39).
const gen = new YOLOAnchorGenerator({
  strides: [32, 16],
  baseSizes: [
    [
      [40, 40],
      [56, 56],
    ],
    [
      [12, 12],
      [24, 24],
    ],
  ],
});
const sizes: [number, number][] = [
  [2, 2],
  [4, 4],
];
const priors = cat(gen.gridPriorsHost(sizes));
const flagsFor = (bboxes: Float32Array): Uint8Array =>
  Uint8Array.from(cat(gen.responsibleFlagsHost(sizes, bboxes)));
const idx = (level: number, y: number, x: number, a: number): number =>
  level === 0 ? (y * 2 + x) * 2 + a : 8 + (y * 4 + x) * 2 + a;

describe('GridAssigner', () => {
  const assigner = new GridAssigner({ posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 });

  it('anchor layout of the test grid', () => {
    expect(Array.from(priors.subarray(4 * idx(0, 1, 0, 1), 4 * idx(0, 1, 0, 1) + 4))).toEqual([
      -12, 20, 44, 76,
    ]);
    expect(Array.from(priors.subarray(4 * idx(1, 2, 3, 0), 4 * idx(1, 2, 3, 0) + 4))).toEqual([
      50, 34, 62, 46,
    ]);
  });

  it('a small gt goes to the fine level, to the cell holding its centre and its best anchor there', () => {
    // 14x14 box centred at (40, 24): stride-16 cell (y 1, x 2), stride-32 cell (0, 1).
    const g = gt([[33, 17, 47, 31]], [4]);
    const r = assigner.assign(priors, g, flagsFor(g.bboxes));
    const pos = [...r.gtInds.keys()].filter((i) => r.gtInds[i] > 0);
    expect(pos).toEqual([idx(1, 1, 2, 0)]); // the 12x12 anchor centred at (40, 24): IoU 144/196
    expect(r.labels[idx(1, 1, 2, 0)]).toBe(4);
    expect(r.maxOverlaps[idx(1, 1, 2, 0)]).toBeCloseTo(144 / 196, 6);
    // responsible but worse anchors: level 1 (1, 2) 24x24 (IoU 196/576 = 0.34) and level 0 (0, 1): negatives
    expect(r.gtInds[idx(1, 1, 2, 1)]).toBe(0);
    expect(r.gtInds[idx(0, 0, 1, 0)]).toBe(0);
    // everything else overlaps it by <= 0.5: negative
    expect(r.gtInds.every((v, i) => (i === idx(1, 1, 2, 0) ? v === 1 : v === 0))).toBe(true);
    // maxOverlaps is -1 for anchors that are not responsible (mmdet's second max)
    expect(r.maxOverlaps[idx(1, 0, 0, 0)]).toBe(-1);
  });

  it('a large gt goes to the coarse level: the best anchor is chosen over all levels', () => {
    // 52x52 box centred at (32, 32): stride-32 cell (1, 1), stride-16 cell (2, 2).
    const g = gt([[6, 6, 58, 58]], [1]);
    const r = assigner.assign(priors, g, flagsFor(g.bboxes));
    const pos = [...r.gtInds.keys()].filter((i) => r.gtInds[i] > 0);
    // level 0 cell (1, 1) is centred at (48, 48): 56x56 anchor [20, 20, 76, 76] overlaps 38x38 of it
    const iou56 = (38 * 38) / (52 * 52 + 56 * 56 - 38 * 38);
    const iou40 = (30 * 30) / (52 * 52 + 40 * 40 - 30 * 30);
    expect(iou56).toBeGreaterThan(iou40);
    expect(iou56).toBeLessThan(0.5); // so only step 4 (best responsible anchor) makes it positive
    expect(pos).toEqual([idx(0, 1, 1, 1)]);
    expect(r.maxOverlaps[idx(0, 1, 1, 1)]).toBeCloseTo(iou56, 6);
  });

  it('positives above posIouThr besides the best; a later gt wins a shared best anchor', () => {
    // 20x20 box centred at (40, 40): stride-16 cell (2, 2) centred at (40, 40), stride-32 cell (1, 1).
    const g = gt([[30, 30, 50, 50]], [2]);
    const r = assigner.assign(priors, g, flagsFor(g.bboxes));
    // the 24x24 anchor at (40, 40): IoU 400/576 = 0.69 (> 0.5, and the best); the 12x12 one: 144/400 = 0.36
    expect(r.gtInds[idx(1, 2, 2, 1)]).toBe(1);
    expect(r.gtInds[idx(1, 2, 2, 0)]).toBe(0);
    const low = new GridAssigner({ posIouThr: 0.3, negIouThr: 0.3 }).assign(
      priors,
      g,
      flagsFor(g.bboxes),
    );
    expect(low.gtInds[idx(1, 2, 2, 0)]).toBe(1); // 0.36 > posIouThr 0.3: positive by step 3
    expect([...low.gtInds].filter((v) => v > 0)).toHaveLength(2);
    // two gts with centres (40, 40) and (41, 41) in the same cells: both have their best anchor at
    // the 24x24 of cell (2, 2); step 3 gives it to gt 1 (IoU 1), step 4 runs gt by gt, so gt 2 (IoU 0.85) takes it
    const two = gt(
      [
        [28, 28, 52, 52],
        [29, 29, 53, 53],
      ],
      [2, 3],
    );
    const r2 = assigner.assign(priors, two, flagsFor(two.bboxes));
    expect(r2.gtInds[idx(1, 2, 2, 1)]).toBe(2);
    expect(r2.labels[idx(1, 2, 2, 1)]).toBe(3);
  });

  it('the ignore band: an unassigned anchor with best IoU above negIouThr is -1, at or below it 0', () => {
    // one gt, cell holds only anchors of low IoU; a non-responsible anchor overlaps it well
    const pri = Float32Array.of(0, 0, 10, 10, 100, 100, 110, 110, 1, 0, 11, 10);
    const g = gt([[0, 0, 10, 10]], [0]);
    // responsible: only prior 1 (far away, IoU 0) -> still the gt's best responsible, but IoU 0 is not > minPosIou
    const r = assigner.assign(pri, g, Uint8Array.of(0, 1, 0));
    expect(Array.from(r.gtInds)).toEqual([-1, 0, -1]); // priors 0 (IoU 1) and 2 (IoU 9/11) ignored
    expect(Array.from(r.labels)).toEqual([-1, -1, -1]);
    const band = new GridAssigner({ posIouThr: 0.5, negIouThr: [0.1, 0.5] });
    // (lo, hi]: IoU 0 is not > 0.1, so prior 1 stays ignored
    expect(Array.from(band.assign(pri, g, Uint8Array.of(0, 1, 0)).gtInds)).toEqual([-1, -1, -1]);
  });

  it('thresholds are strict: IoU == posIouThr is not positive by step 3, IoU == negIouThr is negative', () => {
    // prior 0 IoU exactly 0.5 with the gt (10x10 vs 10x20 containing it), prior 1 IoU 1
    const pri = Float32Array.of(0, 0, 10, 10, 0, 0, 10, 20);
    const g = gt([[0, 0, 10, 20]], [1]);
    const r = new GridAssigner({ posIouThr: 0.5, negIouThr: 0.5 }).assign(
      pri,
      g,
      Uint8Array.of(1, 1),
    );
    expect(Array.from(r.gtInds)).toEqual([0, 1]);
    // minPosIou: the best responsible IoU must exceed it
    const r2 = new GridAssigner({ posIouThr: 0.9, negIouThr: 0.3, minPosIou: 0.5 }).assign(
      pri,
      g,
      Uint8Array.of(1, 0),
    );
    expect(Array.from(r2.gtInds)).toEqual([-1, -1]); // 0.5 is not > 0.5; prior 1 not responsible, IoU 1 > 0.3: ignored
    const r3 = new GridAssigner({ posIouThr: 0.9, negIouThr: 0.3, minPosIou: 0.4 }).assign(
      pri,
      g,
      Uint8Array.of(1, 0),
    );
    expect(Array.from(r3.gtInds)).toEqual([1, -1]);
  });

  it('ties: gtMaxAssignAll gives every tying responsible anchor, otherwise the first', () => {
    const pri = Float32Array.of(0, 0, 10, 10, 10, 0, 20, 10, 0, 10, 10, 20);
    const g = gt([[0, 0, 20, 10]], [2]); // IoU 0.5 with priors 0 and 1, 0 with prior 2
    const all = new GridAssigner({ posIouThr: 0.7, negIouThr: 0.3 }).assign(
      pri,
      g,
      Uint8Array.of(1, 1, 1),
    );
    expect(Array.from(all.gtInds)).toEqual([1, 1, 0]);
    const first = new GridAssigner({
      posIouThr: 0.7,
      negIouThr: 0.3,
      gtMaxAssignAll: false,
    }).assign(pri, g, Uint8Array.of(1, 1, 1));
    expect(Array.from(first.gtInds)).toEqual([1, -1, 0]);
  });

  it('no gt: every anchor is background; no prior: empty', () => {
    const r = assigner.assign(priors, gt([], []), new Uint8Array(priors.length / 4));
    expect(r.gtInds.every((v) => v === 0)).toBe(true);
    expect(r.labels.every((v) => v === -1)).toBe(true);
    expect(
      assigner.assign(new Float32Array(0), gt([[0, 0, 1, 1]], [0]), new Uint8Array(0)).gtInds
        .length,
    ).toBe(0);
  });

  it('bad input and config errors name the field', () => {
    expect(() => assigner.assign(priors, gt([[0, 0, 1, 1]], [0]), new Uint8Array(3))).toThrow(
      /responsibleFlags.*3 entries for 40 priors/,
    );
    expect(() =>
      TASK_UTILS.build({ type: 'GridAssigner', posIouThr: 0.5 }, { path: 'trainCfg.assigner' }),
    ).toThrow(/negIouThr/);
    expect(() =>
      TASK_UTILS.build(
        { type: 'GridAssigner', posIouThr: 0.5, negIouThr: 0.5, ignoreIofThr: 0.5 },
        { path: 'trainCfg.assigner' },
      ),
    ).toThrow(/ignoreIofThr/);
  });
});
