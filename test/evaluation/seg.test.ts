import { describe, expect, it } from 'vitest';
import {
  accumulateSegAreas,
  createSegAreas,
  formatTable,
  nanMean,
  segAreaTotals,
  segMetricsFromAreas,
  SegMetric,
} from '../../src/evaluation/index.js';
import { METRICS } from '../../src/registry.js';
import { readFixture } from './helpers.js';

const fx = readFixture('seg_hand.json');
const frac = (s: string) =>
  s === 'NaN'
    ? NaN
    : s.includes('/')
      ? Number(s.split('/')[0]) / Number(s.split('/')[1])
      : Number(s);
const close = (a: number, b: number) =>
  Number.isNaN(b) ? expect(a).toBeNaN() : expect(Math.abs(a - b)).toBeLessThan(1e-12);

describe('SegMetric equals the hand-derived fixture', () => {
  it('areas and per-class values', () => {
    const areas = createSegAreas(4);
    for (const im of fx.images) accumulateSegAreas(areas, im.pred, im.label, 255);
    const t = segAreaTotals(areas);
    expect(Array.from(t.intersect)).toEqual(fx.expected.intersect);
    expect(Array.from(t.union)).toEqual(fx.expected.union);
    expect(Array.from(t.predLabel)).toEqual(fx.expected.predLabel);
    expect(Array.from(t.label)).toEqual(fx.expected.label);
    const v = segMetricsFromAreas(areas);
    for (const k of ['IoU', 'Acc', 'Dice', 'Precision', 'Fscore'] as const) {
      fx.expected[k].forEach((e: string, c: number) => close(v[k][c], frac(e)));
    }
    close(v.aAcc, 0.6);
  });

  it('metric keys (percent) over a streamed data set, built from METRICS', () => {
    const m = METRICS.build<SegMetric>({ type: 'SegMetric', ignoreIndex: 255 });
    m.datasetMeta = { classes: fx.classes };
    for (const im of fx.images)
      m.process({}, [
        {
          predSemSeg: { data: Uint8Array.from(im.pred) },
          gtSemSeg: { data: Uint8Array.from(im.label) },
        },
      ]);
    const out = m.compute();
    close(out.aAcc, 60);
    close(out.mIoU, ((2 / 5 + 3 / 4 + 1 / 4) / 3) * 100);
    close(out.mAcc, ((1 / 2 + 1 + 1 / 3) / 3) * 100);
    close(out.mDice, ((4 / 7 + 6 / 7 + 2 / 5) / 3) * 100);
    close(out.mFscore, ((4 / 7 + 6 / 7 + 2 / 5) / 3) * 100);
    close(out.mPrecision, ((2 / 3 + 3 / 4 + 1 / 2) / 3) * 100);
    close(out.mRecall, out.mAcc);
    expect(m.classTable.map((r) => r.class)).toEqual(fx.classes);
    expect(m.classTable[3].IoU).toBeNaN();
    close(m.classTable[0].IoU, 40);
    const table = formatTable(m.classTable, 2).split('\n');
    expect(table[0]).toBe('| class | IoU   | Acc    | Dice  | Fscore | Precision | Recall |');
    expect(table[2]).toBe('| road  | 40.00 | 50.00  | 57.14 | 57.14  | 66.67     | 50.00  |');
    expect(table[5]).toContain('| sky   | nan   | nan');
    // compute() starts a new accumulation
    m.process({}, [{ predSemSeg: { data: [1] }, gtSemSeg: { data: [1] } }]);
    expect(m.compute().mIoU).toBe(100);
  });

  it('nanToNum and option errors', () => {
    const m = new SegMetric({ numClasses: 2, iouMetrics: ['mIoU'], nanToNum: 0 });
    m.process({}, [{ predSemSeg: { data: [0, 0] }, gtSemSeg: { data: [0, 0] } }]);
    expect(m.compute()).toEqual({ aAcc: 100, mIoU: 50, mAcc: 50 });
    expect(() => new SegMetric({ iouMetrics: ['mIoU', 'mBogus' as any] })).toThrow();
    expect(nanMean([NaN, NaN])).toBeNaN();
  });

  it('a prediction and a label map of different sizes, or no label map, is a clear error', () => {
    const m = new SegMetric({ numClasses: 2 });
    const pred = { data: new Uint8Array(6), height: 2, width: 3 };
    expect(() =>
      m.process({}, [
        { predSemSeg: pred, gtSemSeg: { data: new Uint8Array(24), height: 4, width: 6 } },
      ]),
    ).toThrow(/prediction \(2x3\) and label map \(4x6\) differ in size.*after Resize/);
    expect(() => m.process({}, [{ predSemSeg: pred } as never])).toThrow(/no gtSemSeg.*withSeg/);
  });
});
