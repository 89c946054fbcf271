/**
 * Bad input to the streaming metrics (VOCMetric, CocoMetric, SegMetric):
 * predictions without any ground truth (assertSomeGroundTruth), labels
 * outside the classes, arrays of the wrong shape, bad options, label maps of
 * another size; and the exact figures on hand-made cases: a perfect
 * prediction and a half-right one.
 */
import { expect } from 'vitest';
import {
  CocoMetric,
  SegMetric,
  VOCMetric,
  type CocoMetricOptions,
  type VOCMetricOptions,
} from '../../src/evaluation/index.js';
import type { SegMetricSample } from '../../src/structures/index.js';
import { tmpDir, type RobustCase } from './harness.js';
import { cocoGt, writeJson } from './evaluation.fixtures.js';

/** The message of what `f` throws (fails when it returns). */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  throw new Error('expected an error, none was thrown');
}

const NO_GT = (metric: string, n: number): string =>
  `Error: ${metric}: ${n} samples with predictions but no ground-truth box in any of them (gtInstances, ignoredInstances and instances all empty or missing); add LoadAnnotations to the test pipeline, or give the metric an annFile`;

const PRED = { bboxes: [[0, 0, 10, 10]], scores: [0.9], labels: [0] };
/** One hit at score 0.9 and one miss at 0.8 against two boxes: recall 1/2 at precision 1, then 1/2. */
const HALF = {
  predInstances: {
    bboxes: [
      [0, 0, 10, 10],
      [50, 50, 60, 60],
    ],
    scores: [0.9, 0.8],
    labels: [0, 0],
  },
  gtInstances: {
    bboxes: [
      [0, 0, 10, 10],
      [20, 20, 30, 30],
    ],
    labels: [0, 0],
  },
};

function voc(samples: object[], options: VOCMetricOptions = {}): Record<string, number> {
  const m = new VOCMetric(options);
  m.datasetMeta = { classes: ['cat'] };
  m.process({}, samples);
  return m.compute();
}

function coco(samples: object[], options: CocoMetricOptions = {}): Record<string, number> {
  const m = new CocoMetric(options);
  m.datasetMeta = { classes: ['cat'] };
  m.process({}, samples);
  return m.compute();
}

function seg(samples: object[], numClasses = 2): Record<string, number> {
  const m = new SegMetric({ numClasses });
  m.process({}, samples as SegMetricSample[]);
  return m.compute();
}

/** CocoMetric's 12 bbox keys with `ap` for mAP, mAP_50, mAP_75, mAP_s and `ar` for AR@n, AR_s (every box small). */
function cocoSmall(ap: number, ar: number, ap50 = ap, ap75 = ap): Record<string, number> {
  const k = (s: string) => `coco/bbox_${s}`;
  return {
    [k('mAP')]: ap,
    [k('mAP_50')]: ap50,
    [k('mAP_75')]: ap75,
    [k('mAP_s')]: ap,
    [k('mAP_m')]: -1,
    [k('mAP_l')]: -1,
    [k('AR@100')]: ar,
    [k('AR@300')]: ar,
    [k('AR@1000')]: ar,
    [k('AR_s@1000')]: ar,
    [k('AR_m@1000')]: -1,
    [k('AR_l@1000')]: -1,
  };
}

const metricCase = (
  id: string,
  item: string,
  what: string,
  expectation: RobustCase['expect'],
  run: () => void,
): RobustCase => ({ id: `evaluation.${id}`, item, what, expect: expectation, run });

const cases: RobustCase[] = [
  metricCase(
    'voc-no-ground-truth',
    '0',
    'VOCMetric: predictions, one sample without gtInstances and one with none',
    'clear-error',
    () => {
      const msg = thrown(() =>
        voc([
          { predInstances: PRED },
          { predInstances: PRED, gtInstances: { bboxes: [], labels: [] } },
        ]),
      );
      expect(msg).toBe(NO_GT('VOCMetric', 2));
    },
  ),
  metricCase(
    'coco-no-ground-truth',
    '0',
    'CocoMetric without annFile: predictions on a sample without any ground truth',
    'clear-error',
    () => {
      const msg = thrown(() => coco([{ imgId: 1, oriShape: [20, 20], predInstances: PRED }]));
      expect(msg).toBe(NO_GT('CocoMetric', 1));
    },
  ),
  metricCase(
    'voc-perfect',
    '0',
    'VOCMetric: one prediction equal to the one ground-truth box: AP50 1',
    'correct-result',
    () => {
      const gtInstances = { bboxes: [[0, 0, 10, 10]], labels: [0] };
      expect(voc([{ predInstances: PRED, gtInstances }])).toEqual({
        'pascal_voc/AP50': 1,
        'pascal_voc/mAP': 1,
      });
    },
  ),
  metricCase(
    'voc-half-right-area',
    '0',
    "VOCMetric evalMode 'area': one hit, one miss, two boxes: AP50 0.5",
    'correct-result',
    () => {
      expect(voc([HALF], { evalMode: 'area' })).toEqual({
        'pascal_voc/AP50': 0.5,
        'pascal_voc/mAP': 0.5,
      });
    },
  ),
  metricCase(
    'voc-half-right-11points',
    '0',
    "VOCMetric '11points': the same case is 6/11 in float32 (as mmdetection's np.float32 ap)",
    'correct-result',
    () => {
      const ap = Math.fround(6 / 11);
      expect(ap).toBe(0.5454545617103577);
      expect(voc([HALF])).toEqual({ 'pascal_voc/AP50': ap, 'pascal_voc/mAP': ap });
    },
  ),
  metricCase(
    'coco-perfect',
    '0',
    'CocoMetric without annFile: one perfect prediction: mAP 1 / (1 + eps) as pycocotools, AR 1',
    'correct-result',
    () => {
      const gtInstances = { bboxes: [[0, 0, 10, 10]], labels: [0] };
      const r = coco([{ imgId: 1, oriShape: [100, 100], predInstances: PRED, gtInstances }]);
      expect(r).toEqual(cocoSmall(0.9999999999999998, 1, 0.9999999999999999, 0.9999999999999999));
    },
  ),
  metricCase(
    'coco-half-right',
    '0',
    'CocoMetric without annFile: one hit, one miss, two boxes: mAP 51/101 (at precision 1 / (1 + eps)), AR 0.5',
    'correct-result',
    () => {
      const r = coco([{ imgId: 1, oriShape: [100, 100], ...HALF }]);
      expect(r).toEqual(cocoSmall(0.5049504950495048, 0.5));
      expect(Math.abs(r['coco/bbox_mAP'] - 51 / 101)).toBeLessThan(1e-15);
    },
  ),
  metricCase(
    'coco-no-image-size',
    '0',
    'CocoMetric without annFile: a sample without oriShape',
    'clear-error',
    () => {
      const gtInstances = { bboxes: [[0, 0, 10, 10]], labels: [0] };
      const msg = thrown(() => coco([{ imgId: 3, predInstances: PRED, gtInstances }]));
      expect(msg).toBe(
        'TypeError: CocoMetric: image 3 needs oriShape (or width/height) without annFile',
      );
    },
  ),
  metricCase(
    'coco-annfile-label-without-category',
    '0',
    'CocoMetric with annFile (1 category): a prediction of label 3',
    'clear-error',
    () => {
      const ann = writeJson(tmpDir('eval-metric'), 'gt.json', cocoGt());
      const msg = thrown(() =>
        coco([{ imgId: 1, predInstances: { ...PRED, labels: [3] } }], { annFile: ann }),
      );
      expect(msg).toBe('RangeError: image 1: label 3 has no category (1 categories)');
    },
  ),
  metricCase(
    'coco-annfile-sample-without-imgid',
    '0',
    'CocoMetric with annFile: a data sample without imgId',
    'clear-error',
    () => {
      const ann = writeJson(tmpDir('eval-metric'), 'gt.json', cocoGt());
      const msg = thrown(() => coco([{ predInstances: PRED }], { annFile: ann }));
      expect(msg).toBe('TypeError: CocoMetric.process: with annFile every data sample needs imgId');
    },
  ),
  metricCase(
    'coco-annfile-missing',
    '0',
    'CocoMetric with an annFile that does not exist',
    'clear-error',
    () => {
      const msg = thrown(() => new CocoMetric({ annFile: '/nonexistent/instances_val.json' }));
      expect(msg).toBe(
        "Error: /nonexistent/instances_val.json: cannot read (ENOENT: no such file or directory, open '/nonexistent/instances_val.json')",
      );
    },
  ),
  metricCase(
    'coco-lengths-differ',
    '0',
    'CocoMetric: 1 box, 2 scores, 1 label',
    'clear-error',
    () => {
      const m = new CocoMetric();
      const msg = thrown(() =>
        m.process({}, [
          {
            imgId: 4,
            oriShape: [9, 9],
            predInstances: { ...PRED, scores: [0.9, 0.1] },
          },
        ]),
      );
      expect(msg).toBe('RangeError: predInstances(img 4): 1 boxes, 2 scores, 1 labels');
    },
  ),
  metricCase(
    'voc-label-outside-classes',
    '0',
    "VOCMetric (classes ['cat']): a prediction of label 2",
    'clear-error',
    () => {
      const gtInstances = { bboxes: [[0, 0, 10, 10]], labels: [0] };
      const msg = thrown(() => voc([{ predInstances: { ...PRED, labels: [2] }, gtInstances }]));
      expect(msg).toBe('RangeError: VOCMetric: label 2 outside 0..0');
    },
  ),
  metricCase(
    'voc-box-of-three-numbers',
    '0',
    'VOCMetric: a predicted box [0, 0, 10]',
    'clear-error',
    () => {
      const msg = thrown(() => voc([{ predInstances: { ...PRED, bboxes: [[0, 0, 10]] } }]));
      expect(msg).toBe('TypeError: predInstances(sample 0).bboxes[0]: expected 4 numbers, got 3');
    },
  ),
  metricCase(
    'metric-bad-options',
    '0',
    'VOCMetric iouThrs 1.5, CocoMetric metric "mask", SegMetric beta 0: errors naming option and value',
    'clear-error',
    () => {
      expect(thrown(() => new VOCMetric({ iouThrs: 1.5 }))).toBe(
        'ConfigError: VOCMetric.iouThrs: expected a value <= 1, got 1.5',
      );
      expect(thrown(() => new CocoMetric({ metric: 'mask' as 'bbox' }))).toBe(
        'ConfigError: CocoMetric.metric: expected one of "bbox" | "segm" | "proposal" | array, got "mask"',
      );
      expect(thrown(() => new SegMetric({ beta: 0 }))).toBe(
        'ConfigError: SegMetric.beta: expected a value > 0, got 0',
      );
      expect(thrown(() => new VOCMetric({ evalmode: 'area' } as VOCMetricOptions))).toBe(
        'ConfigError: VOCMetric.evalmode: expected a known key; did you mean \'evalMode\'?, got "area"',
      );
    },
  ),
  metricCase(
    'voc-nothing-processed',
    'pass',
    'VOCMetric: compute() with no sample at all gives AP50 0 (nothing to assert ground truth on)',
    'correct-result',
    () => {
      expect(voc([])).toEqual({ 'pascal_voc/AP50': 0, 'pascal_voc/mAP': 0 });
    },
  ),
  metricCase(
    'coco-nothing-processed',
    'pass',
    'CocoMetric: compute() with no sample at all gives -1 everywhere (pycocotools: no ground truth)',
    'correct-result',
    () => {
      expect(coco([])).toEqual(cocoSmall(-1, -1));
    },
  ),
  metricCase('seg-no-label-map', '0', 'SegMetric: a sample without gtSemSeg', 'clear-error', () => {
    const msg = thrown(() => seg([{ predSemSeg: { data: [0, 1] } }]));
    expect(msg).toBe(
      'Error: SegMetric: a sample has no gtSemSeg; load the label maps in the test pipeline (LoadAnnotations with withSeg: true, then PackSegInputs)',
    );
  }),
  metricCase(
    'seg-size-mismatch',
    '0',
    'SegMetric: a 2x2 prediction against a 2x3 label map',
    'clear-error',
    () => {
      const msg = thrown(() =>
        seg([
          {
            predSemSeg: { data: [0, 1, 1, 0], height: 2, width: 2 },
            gtSemSeg: { data: [0, 1, 0, 1, 1, 1], height: 2, width: 3 },
          },
        ]),
      );
      expect(msg).toBe(
        'RangeError: SegMetric: prediction (2x2) and label map (2x3) differ in size; predictions are at the original image size, so load the label map after Resize in the test pipeline (as mmseg does)',
      );
    },
  ),
  metricCase(
    'seg-no-classes',
    '0',
    'SegMetric without numClasses or datasetMeta.classes',
    'clear-error',
    () => {
      const m = new SegMetric();
      const msg = thrown(() =>
        m.process({}, [{ predSemSeg: { data: [0, 1] }, gtSemSeg: { data: [0, 1] } }]),
      );
      expect(msg).toBe('Error: SegMetric: set datasetMeta.classes or the numClasses option');
    },
  ),
  metricCase(
    'seg-perfect',
    '0',
    'SegMetric: a prediction equal to the label map: every metric 100',
    'correct-result',
    () => {
      const s = { predSemSeg: { data: [0, 1, 1, 0] }, gtSemSeg: { data: [0, 1, 1, 0] } };
      expect(seg([s])).toEqual({
        aAcc: 100,
        mIoU: 100,
        mAcc: 100,
        mDice: 100,
        mFscore: 100,
        mPrecision: 100,
        mRecall: 100,
      });
    },
  ),
  metricCase(
    'seg-half-right',
    '0',
    'SegMetric: pred [0, 1, 1, 0] against [0, 1, 0, 255] (255 ignored): mIoU 50, aAcc 2/3',
    'correct-result',
    () => {
      const s = { predSemSeg: { data: [0, 1, 1, 0] }, gtSemSeg: { data: [0, 1, 0, 255] } };
      const third = 66.66666666666666;
      expect(seg([s])).toEqual({
        aAcc: third,
        mIoU: 50,
        mAcc: 75,
        mDice: third,
        mFscore: third,
        mPrecision: 75,
        mRecall: 75,
      });
    },
  ),
  metricCase(
    'seg-label-outside-classes',
    'pass',
    'SegMetric (2 classes): label value 7 (not the ignore index) is skipped, as mmseg (histc range)',
    'correct-result',
    () => {
      const s = { predSemSeg: { data: [0, 1, 5, 0] }, gtSemSeg: { data: [0, 1, 1, 7] } };
      const third = 66.66666666666666;
      expect(seg([s])).toEqual({
        aAcc: third,
        mIoU: 50,
        mAcc: 75,
        mDice: third,
        mFscore: third,
        mPrecision: 75,
        mRecall: 75,
      });
    },
  ),
  metricCase(
    'seg-nothing-processed',
    'pass',
    'SegMetric: compute() with no sample gives NaN for every metric (0 / 0)',
    'correct-result',
    () => {
      const r = seg([]);
      expect(Object.keys(r)).toEqual([
        'aAcc',
        'mIoU',
        'mAcc',
        'mDice',
        'mFscore',
        'mPrecision',
        'mRecall',
      ]);
      for (const v of Object.values(r)) expect(v).toBeNaN();
    },
  ),
];

export default cases;
