/**
 * Bad ground truth given to tools/eval_coco.ts (a reused image id,
 * annotations of missing images, boxes with a negative or zero size, image
 * sizes that are not positive, RLE that does not fit its image): counted
 * warnings and the pycocotools score, or with `--strict` an error naming
 * every problem; and the runs that already behaved (a perfect results file,
 * an empty one, bbox against segm). Bad results files are in
 * evaluation_results.cases.ts, the streaming metrics in evaluation_metrics.cases.ts.
 */
import { expect } from 'vitest';
import type { RobustCase } from './harness.js';
import {
  cocoGt,
  evalCoco,
  expectFailure,
  perfectBoxes,
  perfectResults,
  smallOnly,
  warning,
} from './evaluation.fixtures.js';

/** A pycocotools mean over 101 recall samples where the first `k` are 1 (and the rest 0). */
const firstOf101 = (k: number): number => k / 101;

/** {@link cocoGt} with one more annotation on image 2 (id 3 unless given). */
function gtWith(extra: Record<string, unknown>): ReturnType<typeof cocoGt> {
  const gt = cocoGt();
  gt.annotations.push({ id: 3, image_id: 2, category_id: 1, iscrowd: 0, ...extra });
  return gt;
}

/** A ground truth with every kind of problem that checkCocoDataset finds, twice for missing images. */
function gtWithEveryProblem(): ReturnType<typeof cocoGt> {
  const gt = cocoGt();
  gt.images.push({ id: 1, width: 10, height: 10, file_name: 'c.png' });
  gt.annotations.push(
    { id: 3, image_id: 9, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
    { id: 4, image_id: 8, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
    { id: 5, image_id: 2, category_id: 1, bbox: [0, 0, -2, 3], area: 6, iscrowd: 0 },
    {
      id: 6,
      image_id: 2,
      category_id: 1,
      bbox: [0, 0, 2, 2],
      area: 4,
      iscrowd: 0,
      segmentation: { size: [5, 5], counts: [0, 4, 21] },
    },
    {
      id: 7,
      image_id: 2,
      category_id: 1,
      bbox: [0, 0, 2, 2],
      area: 4,
      iscrowd: 0,
      segmentation: { size: [10, 10], counts: [0, 4, 21] },
    },
  );
  return gt;
}

const EVERY_PROBLEM = [
  'images[2].id: 1 is already the id of images[0]',
  'annotations[2].image_id: 9 is not the id of any image',
  'annotations[3].image_id: 8 is not the id of any image',
  'annotations[4].bbox: negative width or height in [0, 0, -2, 3]',
  "annotations[5].segmentation.size: [5, 5] is not the image's [height, width] [10, 10]",
  'annotations[6].segmentation.counts: runs cover 25 pixels, the size [10, 10] has 100',
];

/** One gt problem: the exact warning on stderr, exit 0 and the exact score. */
function warnedCase(
  id: string,
  what: string,
  gt: unknown,
  line: string,
  stats: ReturnType<typeof smallOnly>,
): RobustCase {
  return {
    id: `evaluation.${id}`,
    item: '2',
    what,
    expect: 'correct-result',
    async run() {
      const r = await evalCoco(id, gt, perfectBoxes());
      expect(r.code).toBe(0);
      expect(r.err).toBe(`${warning(r.gt, line)}\n`);
      expect(r.stats).toEqual(stats);
    },
  };
}

// two ground-truth boxes found of three (a third that no detection can match): recall 2/3,
// AR the mean of ten 2/3 (np.mean's rounding: ...67)
const TWO_OF_THREE = smallOnly(firstOf101(67), 0.6666666666666667);

const cases: RobustCase[] = [
  warnedCase(
    'gt-reused-image-id',
    'eval_coco: images[2] reuses the id 1 of images[0]',
    (() => {
      const gt = cocoGt();
      gt.images.push({ id: 1, width: 10, height: 10, file_name: 'c.png' });
      return gt;
    })(),
    '1 duplicate image id, e.g. images[2].id: 1 is already the id of images[0]',
    smallOnly(1, 1),
  ),
  warnedCase(
    'gt-annotations-of-missing-images',
    'eval_coco: two annotations of image ids 9 and 8, which are not in images',
    (() => {
      const gt = cocoGt();
      gt.annotations.push(
        { id: 3, image_id: 9, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
        { id: 4, image_id: 8, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
      );
      return gt;
    })(),
    '2 missing image, e.g. annotations[2].image_id: 9 is not the id of any image',
    smallOnly(1, 1),
  ),
  warnedCase(
    'gt-negative-box-width',
    'eval_coco: an annotation box [0, 0, -2, 3] (negative width); it counts as a ground truth no detection matches',
    gtWith({ bbox: [0, 0, -2, 3], area: 6 }),
    '1 negative box size, e.g. annotations[2].bbox: negative width or height in [0, 0, -2, 3]',
    TWO_OF_THREE,
  ),
  warnedCase(
    'gt-rle-size-not-the-image',
    'eval_coco: an RLE of size [5, 5] on a 10x10 image',
    gtWith({ bbox: [0, 0, 2, 2], area: 4, segmentation: { size: [5, 5], counts: [0, 4, 21] } }),
    "1 RLE size mismatch, e.g. annotations[2].segmentation.size: [5, 5] is not the image's [height, width] [10, 10]",
    TWO_OF_THREE,
  ),
  warnedCase(
    'gt-rle-counts-not-the-size',
    'eval_coco: an RLE of size [10, 10] whose runs cover 25 pixels',
    gtWith({ bbox: [0, 0, 2, 2], area: 4, segmentation: { size: [10, 10], counts: [0, 4, 21] } }),
    '1 RLE counts mismatch, e.g. annotations[2].segmentation.counts: runs cover 25 pixels, the size [10, 10] has 100',
    TWO_OF_THREE,
  ),
  {
    id: 'evaluation.gt-zero-box-width',
    item: '2',
    what: 'eval_coco: an annotation box [5, 5, 0, 3] (zero width) is scored as pycocotools does, without a warning',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('zero-w', gtWith({ bbox: [5, 5, 0, 3], area: 0 }), perfectBoxes());
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.stats).toEqual(TWO_OF_THREE);
    },
  },
  {
    id: 'evaluation.gt-image-width-zero',
    item: '2',
    what: 'eval_coco: images[1].width is 0',
    expect: 'clear-error',
    async run() {
      const gt = cocoGt();
      gt.images[1].width = 0;
      const r = await evalCoco('w0', gt, perfectBoxes());
      expectFailure(r, `${r.gt}: images[1].width: expected a value > 0, got 0`);
    },
  },
  {
    id: 'evaluation.gt-image-height-negative',
    item: '2',
    what: 'eval_coco: images[0].height is -10',
    expect: 'clear-error',
    async run() {
      const gt = cocoGt();
      gt.images[0].height = -10;
      const r = await evalCoco('h-neg', gt, perfectBoxes());
      expectFailure(r, `${r.gt}: images[0].height: expected a value > 0, got -10`);
    },
  },
  {
    id: 'evaluation.gt-every-problem-warned',
    item: '2',
    what: 'eval_coco: a ground truth with every kind of problem: one counted warning per kind, exit 0, the score',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('every', gtWithEveryProblem(), perfectBoxes());
      expect(r.code).toBe(0);
      expect(r.err.trimEnd().split('\n')).toEqual([
        warning(r.gt, `1 duplicate image id, e.g. ${EVERY_PROBLEM[0]}`),
        warning(r.gt, `2 missing image, e.g. ${EVERY_PROBLEM[1]}`),
        warning(r.gt, `1 negative box size, e.g. ${EVERY_PROBLEM[3]}`),
        warning(r.gt, `1 RLE size mismatch, e.g. ${EVERY_PROBLEM[4]}`),
        warning(r.gt, `1 RLE counts mismatch, e.g. ${EVERY_PROBLEM[5]}`),
      ]);
      // images 1 and 2 hold 5 boxes (the three bad ones on image 2); both detections match
      expect(r.stats).toEqual(smallOnly(firstOf101(41), 0.4));
    },
  },
  {
    id: 'evaluation.gt-every-problem-strict',
    item: '2',
    what: 'eval_coco --strict: the same ground truth is an error (exit 1) listing all six problems',
    expect: 'clear-error',
    async run() {
      const r = await evalCoco('every-strict', gtWithEveryProblem(), perfectBoxes(), ['--strict']);
      expectFailure(r, `${r.gt}: 6 problems (--strict):\n  ${EVERY_PROBLEM.join('\n  ')}`);
    },
  },
  {
    id: 'evaluation.gt-one-problem-strict',
    item: '2',
    what: 'eval_coco --strict: only a reused image id',
    expect: 'clear-error',
    async run() {
      const gt = cocoGt();
      gt.images.push({ id: 2, width: 10, height: 10 });
      const r = await evalCoco('one-strict', gt, perfectBoxes(), ['--strict']);
      expectFailure(
        r,
        `${r.gt}: 1 problem (--strict):\n  images[2].id: 2 is already the id of images[1]`,
      );
    },
  },
  {
    id: 'evaluation.perfect-bbox',
    item: 'pass',
    what: 'eval_coco: results equal to the ground truth boxes score AP 1 exactly, nothing on stderr',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('perfect', cocoGt(), perfectBoxes(), ['--strict']);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.stats).toEqual(smallOnly(1, 1));
      expect(r.out).toContain(
        ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000\n',
      );
    },
  },
  {
    id: 'evaluation.perfect-single-detection',
    item: 'pass',
    what: 'eval_coco: one image, one perfect detection: AP 1 / (1 + eps) as pycocotools (tp / (tp + fp + np.spacing(1)))',
    expect: 'correct-result',
    async run() {
      const gt = cocoGt();
      gt.images.pop();
      gt.annotations.pop();
      const r = await evalCoco('single', gt, perfectBoxes().slice(0, 1));
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.stats).toEqual(
        smallOnly(0.9999999999999998, 1, 0.9999999999999999, 0.9999999999999999),
      );
    },
  },
  {
    id: 'evaluation.perfect-segm',
    item: 'pass',
    what: 'eval_coco --iou-type segm: results with the ground-truth polygons score AP 1 exactly',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('perfect-segm', cocoGt(), perfectResults(), ['--iou-type', 'segm']);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.stats).toEqual(smallOnly(1, 1));
    },
  },
  {
    id: 'evaluation.segm-differs-from-bbox',
    item: 'pass',
    what: 'eval_coco: right boxes with one mask shifted by 2 px: bbox AP 1, segm AP 51/101 (IoU 1/3 is no match)',
    expect: 'correct-result',
    async run() {
      const dt = perfectResults();
      dt[1].segmentation = [[4, 2, 8, 2, 8, 6, 4, 6]];
      const box = await evalCoco('shift-bbox', cocoGt(), dt);
      expect(box.code).toBe(0);
      expect(box.stats).toEqual(smallOnly(1, 1));
      const segm = await evalCoco('shift-segm', cocoGt(), dt, ['--iou-type', 'segm']);
      expect(segm.code).toBe(0);
      expect(segm.err).toBe('');
      expect(segm.stats).toEqual(smallOnly(0.5049504950495048, 0.5));
    },
  },
  {
    id: 'evaluation.empty-results',
    item: 'pass',
    what: 'eval_coco: an empty results array scores AP 0 and AR 0 (exit 0; pycocotools fails on results[0])',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('empty', cocoGt(), []);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.stats).toEqual(smallOnly(0, 0));
    },
  },
  {
    id: 'evaluation.results-as-dataset-dict',
    item: 'pass',
    what: 'eval_coco: results saved as {annotations: [...]} are read as the list',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('dict', cocoGt(), { annotations: perfectBoxes() });
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.stats).toEqual(smallOnly(1, 1));
    },
  },
];

export default cases;
