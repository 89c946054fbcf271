/**
 * Bad results files (and unreadable files) given to tools/eval_coco.ts:
 * polygons where an RLE is needed, not an array, ids that are not in the
 * ground truth, a bbox of the wrong length, a score that is not a number,
 * malformed JSON, missing files, a mix of box and mask results, masks of the
 * wrong size. Each is an error naming the file, the JSON path and the value,
 * or a counted warning with the exact score.
 */
import * as path from 'node:path';
import { expect } from 'vitest';
import { runTool, tmpDir, type RobustCase } from './harness.js';
import {
  cocoGt,
  esc,
  evalCoco,
  expectFailure,
  perfectBoxes,
  smallOnly,
  warning,
  writeJson,
} from './evaluation.fixtures.js';

/** A results case that must fail with `Error: <dt file>: <message>`. */
function badResults(
  id: string,
  what: string,
  dt: unknown,
  message: string,
  extra: string[] = [],
): RobustCase {
  return {
    id: `evaluation.${id}`,
    item: '12',
    what,
    expect: 'clear-error',
    async run() {
      const r = await evalCoco(id, cocoGt(), dt, extra);
      expectFailure(r, `${r.dt}: ${message}`);
    },
  };
}

const box = (o: Record<string, unknown> = {}) => ({
  image_id: 1,
  category_id: 1,
  bbox: [0, 0, 4, 4],
  score: 0.9,
  ...o,
});
const polygonOnly = [
  { image_id: 1, category_id: 1, segmentation: [[0, 0, 4, 0, 4, 4, 0, 4]], score: 0.9 },
];
const rle = { size: [10, 10], counts: [0, 4, 96] };
const RLE5 = [
  { image_id: 1, category_id: 1, segmentation: { size: [5, 5], counts: [0, 4, 21] }, score: 0.9 },
];
const RLE5_MSG = "results[0].segmentation.size: [5, 5] is not the image's [height, width] [10, 10]";

const cases: RobustCase[] = [
  badResults(
    'results-polygon-without-bbox',
    'eval_coco (bbox): results with a polygon segmentation and no bbox',
    polygonOnly,
    'results[0].segmentation: results segmentations must be RLE {size, counts}, got polygons',
  ),
  badResults(
    'results-polygon-without-bbox-segm',
    'eval_coco --iou-type segm: results with a polygon segmentation and no bbox',
    polygonOnly,
    'results[0].segmentation: results segmentations must be RLE {size, counts}, got polygons',
    ['--iou-type', 'segm'],
  ),
  badResults(
    'results-not-an-array',
    'eval_coco: the results file holds {"results": []}',
    { results: [] },
    '(root): expected an array of results [{image_id, category_id, bbox|segmentation, score}], got {"results":[]}',
  ),
  badResults(
    'results-image-not-in-gt',
    'eval_coco: results[1].image_id 7 is no image of the ground truth',
    [box(), box({ image_id: 7 })],
    'results[1].image_id 7 is not an image of the ground truth (results do not correspond to the COCO set)',
  ),
  badResults(
    'results-image-id-string',
    'eval_coco: results[0].image_id is the string "1"',
    [box({ image_id: '1' })],
    '[0].image_id: expected number, got "1"',
  ),
  badResults(
    'results-bbox-three-numbers',
    'eval_coco: results[0].bbox has 3 numbers',
    [box({ bbox: [0, 0, 4] })],
    '[0].bbox: expected [x, y, w, h] (4 numbers), got [0,0,4]',
  ),
  badResults(
    'results-bbox-five-numbers',
    'eval_coco: results[0].bbox has 5 numbers',
    [box({ bbox: [0, 0, 4, 4, 1] })],
    '[0].bbox: expected [x, y, w, h] (4 numbers), got [0,0,4,4,1]',
  ),
  badResults(
    'results-score-string',
    'eval_coco: results[1].score is the string "0.9"',
    [box(), box({ score: '0.9' })],
    '[1].score: expected number, got "0.9"',
  ),
  badResults(
    'results-score-null',
    'eval_coco: results[0].score is null',
    '[{"image_id":1,"category_id":1,"bbox":[0,0,4,4],"score":null}]',
    '[0].score: expected number, got null',
  ),
  badResults(
    'results-score-infinite',
    'eval_coco: results[0].score is 1e999 (Infinity once parsed)',
    '[{"image_id":1,"category_id":1,"bbox":[0,0,4,4],"score":1e999}]',
    '[0].score: expected number, got Infinity',
  ),
  badResults(
    'results-second-without-bbox',
    'eval_coco: results[0] has a bbox, results[1] only an RLE segmentation',
    [box(), { image_id: 2, category_id: 1, segmentation: rle, score: 0.8 }],
    'results[1].bbox: missing; results[0] has a bbox, so every result needs a bbox [x, y, w, h]',
  ),
  badResults(
    'results-second-without-segmentation',
    'eval_coco: results[0] has only an RLE segmentation, results[1] only a bbox',
    [{ image_id: 1, category_id: 1, segmentation: rle, score: 0.8 }, box({ image_id: 2 })],
    'results[1].segmentation: missing; results[0] has a segmentation and no bbox, so every result needs an RLE segmentation',
  ),
  badResults(
    'results-neither-bbox-nor-segmentation',
    'eval_coco: results[0] has neither bbox nor segmentation',
    [{ image_id: 1, category_id: 1, score: 0.9 }],
    'results[0] has neither bbox nor segmentation',
  ),
  {
    id: 'evaluation.results-malformed-json',
    item: '12',
    what: 'eval_coco: the results file is cut off after `[{"image_id": 1,`',
    expect: 'clear-error',
    async run() {
      const r = await evalCoco('broken-dt', cocoGt(), '[{"image_id": 1,');
      expectFailure(
        r,
        new RegExp(
          `^Error: ${esc(r.dt)}: \\(root\\): expected valid JSON, got .*position 16.*\\n$`,
        ),
      );
    },
  },
  {
    id: 'evaluation.gt-malformed-json',
    item: '12',
    what: 'eval_coco: the ground-truth file is cut off after `{"images": [`',
    expect: 'clear-error',
    async run() {
      const r = await evalCoco('broken-gt', '{"images": [', perfectBoxes());
      expectFailure(
        r,
        new RegExp(
          `^Error: ${esc(r.gt)}: \\(root\\): expected valid JSON, got Unexpected end of JSON input\\n$`,
        ),
      );
    },
  },
  {
    id: 'evaluation.missing-files',
    item: '12',
    what: 'eval_coco: a --dt and a --gt path that do not exist',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('eval-missing');
      const gt = writeJson(dir, 'gt.json', cocoGt());
      const nothing = path.join(dir, 'nothing.json');
      const enoent = `cannot read (ENOENT: no such file or directory, open '${nothing}')`;
      const dt = await runTool('eval_coco', ['--gt', gt, '--dt', nothing]);
      expectFailure(dt, `${nothing}: ${enoent}`);
      const g = await runTool('eval_coco', ['--gt', nothing, '--dt', gt]);
      expectFailure(g, `${nothing}: ${enoent}`);
    },
  },
  {
    id: 'evaluation.gt-not-a-dataset',
    item: '12',
    what: 'eval_coco: the ground-truth file holds [] and then an annotation without area',
    expect: 'clear-error',
    async run() {
      const r = await evalCoco('gt-array', [], perfectBoxes());
      expectFailure(
        r,
        `${r.gt}: (root): expected a COCO data set object {images, annotations, categories}, got []`,
      );
      const gt = cocoGt();
      delete gt.annotations[1].area;
      const a = await evalCoco('gt-area', gt, perfectBoxes());
      expectFailure(a, `${a.gt}: annotations[1].area: expected number, got undefined (missing)`);
    },
  },
  {
    id: 'evaluation.segm-gt-without-image-size',
    item: '12',
    what: 'eval_coco --iou-type segm: polygon results on an image without height/width in the ground truth',
    expect: 'clear-error',
    async run() {
      const gt = cocoGt();
      delete gt.images[0].width;
      delete gt.images[0].height;
      const dt = [box({ segmentation: [[0, 0, 4, 0, 4, 4, 0, 4]] })];
      const r = await evalCoco('segm-nosize', gt, dt, ['--iou-type', 'segm']);
      expectFailure(
        r,
        `${r.gt}: images[0] (id 1): no height and width, which segm evaluation needs to rasterize the polygons of results[0]`,
      );
    },
  },
  {
    id: 'evaluation.bad-iou-type',
    item: '12',
    what: 'eval_coco --iou-type mask: a usage error (exit 2) with the usage line',
    expect: 'clear-error',
    async run() {
      const r = await evalCoco('iou-mask', cocoGt(), perfectBoxes(), ['--iou-type', 'mask']);
      expectFailure(
        r,
        '--iou-type must be bbox or segm, got "mask"\nusage: eval_coco --gt GT.json --dt RESULTS.json [--iou-type bbox|segm] [--json] [--strict]',
        2,
      );
    },
  },
  {
    id: 'evaluation.results-category-not-in-gt',
    item: '12',
    what: 'eval_coco: results[1].category_id 5 is no category: a counted warning, the result is not scored (as pycocotools)',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('cat5', cocoGt(), [box(), box({ image_id: 2, category_id: 5 })]);
      expect(r.code).toBe(0);
      expect(r.err).toBe(
        `${warning(r.dt, '1 unknown category, e.g. results[1].category_id: 5 is not the id of any category (the result is not scored)')}\n`,
      );
      // one of the two ground-truth boxes found, at precision 1 / (1 + eps)
      expect(r.stats).toEqual(smallOnly(0.5049504950495048, 0.5));
    },
  },
  {
    id: 'evaluation.results-rle-size-not-the-image',
    item: '12',
    what: 'eval_coco --iou-type segm: an RLE result of size [5, 5] on a 10x10 image: a counted warning and AP 0',
    expect: 'correct-result',
    async run() {
      const r = await evalCoco('rle5', cocoGt(), RLE5, ['--iou-type', 'segm']);
      expect(r.code).toBe(0);
      expect(r.err).toBe(`${warning(r.dt, `1 RLE size mismatch, e.g. ${RLE5_MSG}`)}\n`);
      expect(r.stats).toEqual(smallOnly(0, 0));
    },
  },
  {
    id: 'evaluation.results-rle-size-strict',
    item: '12',
    what: 'eval_coco --iou-type segm --strict: the same RLE result of size [5, 5] is an error naming it',
    expect: 'clear-error',
    async run() {
      const s = await evalCoco('rle5-strict', cocoGt(), RLE5, ['--iou-type', 'segm', '--strict']);
      expectFailure(s, `${s.dt}: 1 problem (--strict):\n  ${RLE5_MSG}`);
    },
  },
];

export default cases;
