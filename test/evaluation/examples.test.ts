// The @example outputs in the doc comments of src/evaluation and src/masks, checked.
import { describe, expect, it } from 'vitest';
import * as E from '../../src/evaluation/index.js';
import * as M from '../../src/masks/index.js';

describe('doc examples', () => {
  it('mask API', () => {
    expect(M.countsToString([1, 2, 3, 4])).toBe('1232');
    expect(Array.from(M.stringToCounts('1232'))).toEqual([1, 2, 3, 4]);
    expect(M.toRuns({ size: [2, 2], counts: [1, 2, 1] })).toEqual({
      h: 2,
      w: 2,
      cnts: Uint32Array.of(1, 2, 1),
    });
    expect(M.fromRuns({ h: 2, w: 2, cnts: Uint32Array.of(1, 2, 1) })).toEqual({
      size: [2, 2],
      counts: '121',
    });
    expect(M.compressRle({ size: [2, 2], counts: [1, 2, 1] })).toEqual({
      size: [2, 2],
      counts: '121',
    });
    expect(M.rleEncode(Uint8Array.of(0, 1, 1, 0, 1, 0), 2, 3)).toEqual({
      size: [2, 3],
      counts: '231',
    });
    expect(M.encodeRuns([0, 1, 1, 0, 1, 0], 2, 3)).toEqual({
      h: 2,
      w: 3,
      cnts: Uint32Array.of(2, 3, 1),
    });
    expect(M.rleDecode({ size: [2, 3], counts: '231' })).toEqual(Uint8Array.of(0, 1, 1, 0, 1, 0));
    expect(M.rleArea({ size: [2, 3], counts: '231' })).toBe(3);
    expect(M.rleToBbox({ size: [2, 3], counts: '231' })).toEqual([1, 0, 2, 2]);
    const a = { size: [2, 2] as [number, number], counts: [1, 1, 2] };
    const b = { size: [2, 2] as [number, number], counts: [3, 1] };
    expect(M.rleMerge([a, b])).toEqual({ size: [2, 2], counts: '1110' });
    expect(M.mergeRuns([M.toRuns(a), M.toRuns(b)]).cnts).toEqual(Uint32Array.of(1, 1, 1, 1));
    expect(
      M.rleIou(
        [[0, 0, 2, 2]],
        [
          [1, 0, 2, 2],
          [1, 0, 2, 2],
        ],
        [0, 1],
      ),
    ).toEqual([[0.3333333333333333, 0.5]]);
    expect(Array.from(M.bboxIouFlat([0, 0, 2, 2], [1, 0, 2, 2, 1, 0, 2, 2], [0, 1]))).toEqual([
      0.3333333333333333, 0.5,
    ]);
    expect(
      Array.from(
        M.runsIouFlat(
          [{ h: 2, w: 2, cnts: Uint32Array.of(0, 2, 2) }],
          [{ h: 2, w: 2, cnts: Uint32Array.of(0, 4) }],
          [0],
        ),
      ),
    ).toEqual([0.5]);
    expect(M.rleFrPoly([0, 0, 2, 0, 2, 2, 0, 2], 3, 3)).toEqual({ size: [3, 3], counts: '02103' });
    expect(M.polyRuns([0, 0, 2, 0, 2, 2, 0, 2], 4, 3, 3).cnts).toEqual(
      Uint32Array.of(0, 2, 1, 2, 4),
    );
    expect(M.rleFrBbox([0, 0, 1, 1], 2, 2)).toEqual({ size: [2, 2], counts: '013' });
    expect(M.bboxRuns([0, 0, 1, 1], 2, 2).cnts).toEqual(Uint32Array.of(0, 1, 3));
    expect(M.polygonsToRle([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4)).toEqual({
      size: [4, 4],
      counts: '52203',
    });
    expect(M.polygonsRuns([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4).cnts).toEqual(
      Uint32Array.of(5, 2, 2, 2, 5),
    );
    expect(M.segmentationRuns({ size: [2, 2], counts: '121' }, 2, 2).cnts).toEqual(
      Uint32Array.of(1, 2, 1),
    );
    expect(M.annToRle({ size: [2, 2], counts: [1, 2, 1] }, 2, 2)).toEqual({
      size: [2, 2],
      counts: '121',
    });
  });

  it('evaluation', () => {
    const gt = {
      images: [{ id: 1, width: 10, height: 10 }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
      ],
    };
    const dt = [{ image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], score: 0.9 }];
    const r = E.evaluateCoco(gt, dt);
    expect(r.stats).toEqual([
      0.9999999999999998, 0.9999999999999999, 0.9999999999999999, 0.9999999999999998, -1, -1, 1, 1,
      1, 1, -1, -1,
    ]);
    expect(E.summarizeCoco(r)).toEqual(r.stats);
    expect(E.summarizeOne(r, true, { iouThr: 0.5, maxDets: 100 })).toBe(0.9999999999999999);
    expect(E.formatCocoSummary(r).split('\n')[0]).toBe(
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000',
    );
    expect(E.linspace(0.5, 0.95, 10)[1]).toBe(0.55);
    expect(E.pairwiseSum([0.1, 0.2, 0.3])).toBe(0.6000000000000001);
    expect(E.npSum([0.1, 0.2, 0.3])).toBe(0.6000000000000001);
    expect(E.defaultCocoParams('bbox').maxDets).toEqual([1, 10, 100]);
    expect(E.pyFixed3(0.0625)).toBe('0.062');
    expect(
      E.parseCocoResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 2, 2], score: 0.9 }]).length,
    ).toBe(1);
    expect(E.rowsOf([1, 2, 3, 4, 5, 6, 7, 8], 4, 'bboxes')).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(
      E.predictionsToCocoResults(
        [{ imgId: 1, bboxes: [[1, 2, 4, 6]], scores: [0.5], labels: [0] }],
        [3],
      ).bbox,
    ).toEqual([{ image_id: 1, category_id: 3, bbox: [1, 2, 3, 4], score: 0.5 }]);
    const m = new E.CocoMetric({ metricItems: ['mAP', 'mAP_50', 'AR@100'] });
    m.datasetMeta = { classes: ['cat'] };
    m.process({}, [
      {
        imgId: 1,
        oriShape: [20, 20],
        predInstances: { bboxes: [[2, 2, 12, 12]], scores: [0.9], labels: [0] },
        instances: [{ bbox: [2, 2, 12, 12], bboxLabel: 0 }],
      },
    ]);
    expect(m.compute()).toEqual({
      'coco/bbox_mAP': 0.9999999999999998,
      'coco/bbox_mAP_50': 0.9999999999999999,
      'coco/bbox_AR@100': 1,
    });

    expect(E.averagePrecision([0.5, 1], [1, 0.5], 'area')).toBe(0.75);
    expect(E.averagePrecision([0.5, 1], [1, 0.5], '11points')).toBe(0.7727272510528564);
    expect(
      E.evalMap(
        [
          [
            [
              [0, 0, 10, 10, 0.9],
              [20, 20, 30, 30, 0.8],
            ],
          ],
        ],
        [{ bboxes: [[0, 0, 10, 10]], labels: [0] }],
      ).mAP,
    ).toEqual([1]);
    expect(
      E.tpfpDefault([0, 0, 10, 10, 0.9, 0, 0, 10, 10, 0.8], [0, 0, 10, 10], [], 0.5, null, false),
    ).toEqual([[Uint8Array.of(1, 0)], [Uint8Array.of(0, 1)]]);
    const v = new E.VOCMetric({ evalMode: 'area' });
    v.datasetMeta = { classes: ['cat'] };
    v.process({}, [
      {
        predInstances: { bboxes: [[0, 0, 10, 10]], scores: [0.9], labels: [0] },
        instances: [{ bbox: [0, 0, 10, 10], bboxLabel: 0 }],
      },
    ]);
    expect(v.compute()).toEqual({ 'pascal_voc/AP50': 1, 'pascal_voc/mAP': 1 });

    expect(E.createSegAreas(3).confusion.length).toBe(9);
    const areas = E.accumulateSegAreas(E.createSegAreas(2), [0, 1, 1, 0], [0, 1, 0, 255]);
    expect(Array.from(areas.confusion)).toEqual([1, 1, 0, 1]);
    expect(Array.from(E.segAreaTotals(areas).union)).toEqual([2, 2]);
    const sv = E.segMetricsFromAreas(areas);
    expect(sv.aAcc).toBe(0.6666666666666666);
    expect(Array.from(sv.IoU)).toEqual([0.5, 0.5]);
    expect(E.nanMean([0.5, NaN, 1])).toBe(0.75);
    const sm = new E.SegMetric({ numClasses: 2 });
    sm.process({}, [{ predSemSeg: { data: [0, 1, 1, 0] }, gtSemSeg: { data: [0, 1, 0, 255] } }]);
    expect(sm.compute()).toEqual({
      aAcc: 66.66666666666666,
      mIoU: 50,
      mAcc: 75,
      mDice: 66.66666666666666,
      mFscore: 66.66666666666666,
      mPrecision: 75,
      mRecall: 75,
    });
    expect(
      E.formatTable(
        [
          { class: 'cat', ap: 0.5 },
          { class: 'dog', ap: NaN },
        ],
        3,
      ),
    ).toBe('| class | ap    |\n|-------|-------|\n| cat   | 0.500 |\n| dog   | nan   |');
  });
});
