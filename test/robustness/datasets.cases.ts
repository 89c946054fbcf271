/**
 * Bad COCO input to CocoDataset: reused image and category ids, annotations
 * of a missing image, bad sizes, RLE that does not fit its image, malformed
 * JSON, bad bbox and polygons; boxes clipped or dropped, and the drop
 * summary. All data is generated into temp folders; VOC cases are in
 * datasets_voc.cases.ts, cross-loader checks in datasets_chk.cases.ts.
 */
import * as path from 'node:path';
import { expect } from 'vitest';
import {
  CocoDataset,
  ConcatDataset,
  DatasetError,
  checkImageFiles,
  dropSummaries,
  type BaseDatasetOptions,
} from '../../src/datasets/index.js';
import { tmpDir, type RobustCase } from './harness.js';
import { coco, cocoBase, cocoDir, esc, thrown } from './datasets.fixtures.js';

/** The message CocoDataset throws for `content` (test mode, so nothing is filtered). */
function cocoError(
  tag: string,
  content: unknown,
  extra: BaseDatasetOptions = {},
): { file: string; msg: string } {
  const { file } = cocoDir(tag, content);
  const msg = thrown(() => coco(file, { testMode: true, ...extra }));
  return { file, msg };
}

const cases: RobustCase[] = [
  {
    id: 'datasets.coco-reused-image-id',
    item: '2',
    what: 'COCO images[1] reuses the id of images[0]',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.images[1].id = 1;
      const { file, msg } = cocoError('reused-id', c);
      expect(msg).toBe(
        `${file}: images[1].id: 1 is already the id of images[0] ("a.png"); images[1] is "b.png": image ids must be unique`,
      );
    },
  },
  {
    id: 'datasets.coco-annotation-missing-image-id',
    item: '2',
    what: 'COCO annotation whose image_id is in no image',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.annotations[2].image_id = 99;
      const { file, msg } = cocoError('missing-img', c);
      expect(msg).toBe(
        `${file}: annotations[2].image_id: 99 is not the id of any image in "images"`,
      );
    },
  },
  {
    id: 'datasets.coco-annotation-missing-image-id-skip-invalid',
    item: '9',
    what: 'COCO annotation with an unknown image_id under skipInvalid is skipped and summarized',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.annotations[2].image_id = 99;
      const { file } = cocoDir('missing-img-skip', c);
      const ds = coco(file, { testMode: true, skipInvalid: true });
      expect(ds.length).toBe(2);
      expect(ds.dataList.map((d) => d.instances.length)).toEqual([2, 0]);
      expect(ds.skipped.count).toBe(1);
      expect(ds.dropSummary).toEqual([
        `CocoDataset (${file}): skipped 1 invalid item (skipInvalid), e.g. ${file}: annotations[2].image_id: 99 is not the id of any image in "images"`,
      ]);
    },
  },
  {
    id: 'datasets.coco-zero-width',
    item: '2',
    what: 'COCO image with width 0',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.images[1].width = 0;
      const { file, msg } = cocoError('zero-w', c);
      expect(msg).toBe(
        `${file}: images[1].width: expected a positive number, got 0 (file_name "b.png")`,
      );
    },
  },
  {
    id: 'datasets.coco-negative-height',
    item: '2',
    what: 'COCO image with height -30',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.images[0].height = -30;
      const { file, msg } = cocoError('neg-h', c);
      expect(msg).toBe(
        `${file}: images[0].height: expected a positive number, got -30 (file_name "a.png")`,
      );
    },
  },
  {
    id: 'datasets.coco-rle-size-mismatch',
    item: '2',
    what: 'COCO RLE whose size is not its image [height, width]',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.annotations[2].segmentation = { size: [10, 10], counts: [100] };
      const { file, msg } = cocoError('rle-size', c);
      expect(msg).toBe(
        `${file}: annotations[2].segmentation.size: [10,10] is not the [height, width] of its image 2 ([20,20])`,
      );
    },
  },
  {
    id: 'datasets.coco-rle-counts-mismatch',
    item: '2',
    what: 'COCO uncompressed RLE whose counts do not sum to height x width',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.annotations[2].segmentation = { size: [20, 20], counts: [100, 50] };
      const { file, msg } = cocoError('rle-counts', c);
      expect(msg).toBe(
        `${file}: annotations[2].segmentation.counts: uncompressed counts sum to 150, expected 20 x 20 = 400 non-negative integers`,
      );
    },
  },
  {
    id: 'datasets.coco-rle-valid',
    item: 'pass',
    what: 'COCO uncompressed RLE that fits its image is kept as the mask',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.annotations[2].segmentation = { size: [20, 20], counts: [100, 300] };
      const { file } = cocoDir('rle-ok', c);
      const ds = coco(file, { testMode: true });
      expect(ds.dataList[1].instances[0].mask).toEqual({ size: [20, 20], counts: [100, 300] });
    },
  },
  {
    id: 'datasets.coco-malformed-json',
    item: '2',
    what: 'COCO file that is not JSON',
    expect: 'clear-error',
    run() {
      const { file, msg } = cocoError('bad-json', '{"images": [ {"id": 1,');
      expect(msg).toMatch(new RegExp(`^${esc(file)}: invalid JSON \\(.+\\)$`));
    },
  },
  {
    id: 'datasets.coco-missing-images',
    item: '2',
    what: 'COCO file without an `images` field',
    expect: 'clear-error',
    run() {
      const c: Record<string, unknown> = cocoBase();
      delete c.images;
      const { file, msg } = cocoError('no-images', c);
      expect(msg).toBe(`${file}: images: expected an array of images, got nothing (missing)`);
    },
  },
  {
    id: 'datasets.coco-bbox-wrong-length',
    item: '2',
    what: 'COCO bbox with three numbers',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.annotations[1].bbox = [1, 2, 3];
      const { file, msg } = cocoError('bbox-len', c);
      expect(msg).toBe(`${file}: annotations[1].bbox: expected array of 4 numbers, got [1,2,3]`);
    },
  },
  {
    id: 'datasets.coco-bbox-non-number',
    item: '2',
    what: 'COCO bbox with a string coordinate',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.annotations[0].bbox = [2, 3, 'ten', 5];
      const { file, msg } = cocoError('bbox-str', c);
      expect(msg).toBe(`${file}: annotations[0].bbox[2]: expected a number, got "ten"`);
    },
  },
  {
    id: 'datasets.coco-iscrowd-bad-value',
    item: '2',
    what: 'COCO iscrowd 2',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.annotations[0].iscrowd = 2;
      const { file, msg } = cocoError('iscrowd', c);
      expect(msg).toBe(`${file}: annotations[0].iscrowd: expected 0 or 1, got 2`);
    },
  },
  {
    id: 'datasets.coco-reused-category-id',
    item: '2',
    what: 'COCO categories[2] reuses the id of categories[0] (its annotations would all get the last label)',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.categories.push({ id: 1, name: 'bird' });
      const { file, msg } = cocoError('reused-cat', c);
      expect(msg).toBe(
        `${file}: categories[2].id: 1 is already the id of categories[0] ("cat"); categories[2] is "bird": category ids must be unique`,
      );
    },
  },
  {
    id: 'datasets.coco-reused-category-name',
    item: '2',
    what: 'COCO categories[2] reuses the name of categories[0] (two labels named alike)',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.categories.push({ id: 4, name: 'cat' });
      const { file, msg } = cocoError('reused-name', c);
      expect(msg).toBe(
        `${file}: categories[2].name: "cat" is already the name of categories[0] (id 1); categories[2] has id 4: category names must be unique`,
      );
    },
  },
  {
    id: 'datasets.coco-infinite-width',
    item: '2',
    what: 'COCO image width 1e999 (Infinity once parsed): the message shows Infinity, not null',
    expect: 'clear-error',
    run() {
      const text = JSON.stringify(cocoBase()).replace('"width":40', '"width":1e999');
      const { file, msg } = cocoError('inf', text);
      expect(msg).toBe(`${file}: images[0].width: expected a number, got Infinity`);
    },
  },
  {
    id: 'datasets.coco-invalid-polygons-left-out',
    item: '9',
    what: 'COCO polygons of under 3 points or odd length are left out of the mask and summarized',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      const good = [1, 1, 10, 1, 10, 10];
      c.annotations[0].segmentation = [[1, 2, 3, 4], good, [1, 1, 9, 1, 9, 9, 4]];
      c.annotations[2].segmentation = [[5, 5]];
      const { file } = cocoDir('poly', c);
      const ds = coco(file, { testMode: true });
      expect(ds.dataList[0].instances[0].mask).toEqual([good]);
      expect(ds.dataList[1].instances[0]).toEqual({
        bbox: [0, 0, 20, 20],
        bboxLabel: 0,
        ignoreFlag: false,
      });
      expect(ds.dropSummary).toEqual([
        `CocoDataset (${file}): dropped 3 polygons with under 3 points or an odd number of coordinates (left out of the mask) in 1 file, e.g. ${file}: annotations[0].segmentation[0] [1,2,3,4]`,
      ]);
    },
  },
  {
    id: 'datasets.coco-empty-segmentation-no-mask',
    item: '2',
    what: 'COCO `segmentation: []` (bbox-only export) means no mask; LoadAnnotations gives an empty mask, not an RLE size error',
    expect: 'correct-result',
    async run() {
      const c = cocoBase();
      c.annotations[2].segmentation = [];
      const { file } = cocoDir('emptyseg', c);
      const ds = coco(file, {
        testMode: true,
        pipeline: [
          { type: 'LoadImageFromFile' },
          { type: 'LoadAnnotations', withBbox: true, withMask: true },
        ],
      });
      expect(ds.dataList[1].instances[0].mask).toBeUndefined();
      expect(ds.dropSummary).toEqual([]);
      const out = (await ds.get(1)) as unknown as {
        gtMasks: { height: number; width: number; masks: Uint8Array[] };
      };
      expect([out.gtMasks.height, out.gtMasks.width, out.gtMasks.masks.length]).toEqual([
        20, 20, 1,
      ]);
      expect(out.gtMasks.masks[0].reduce((a, b) => a + b, 0)).toBe(0);
    },
  },
  {
    id: 'datasets.coco-box-clipped',
    item: '6',
    what: 'COCO box reaching past the image (and left of it) is clipped to the image',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.annotations[2].bbox = [-5, 10, 30, 100];
      const { file } = cocoDir('clip', c);
      const ds = coco(file, { testMode: true });
      expect(ds.dataList[1].instances[0].bbox).toEqual([0, 10, 20, 20]);
      expect(ds.dropSummary).toEqual([]);
    },
  },
  {
    id: 'datasets.coco-box-sub-pixel-dropped',
    item: '6',
    what: 'COCO box with half a pixel inside the image is dropped and counted',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.annotations[2].bbox = [19.5, 0, 5, 5];
      const { file } = cocoDir('subpixel', c);
      const ds = coco(file, { testMode: true });
      expect(ds.dataList[1].instances).toEqual([]);
      expect(ds.stats.invalidBoxes).toBe(1);
      expect(ds.dropSummary).toEqual([
        `CocoDataset (${file}): dropped 1 boxes empty or outside the image in 1 file, e.g. ${file}: annotations[2].bbox [19.5,0,5,5] (image 2, 20x20)`,
      ]);
    },
  },
  {
    id: 'datasets.coco-box-outside-and-empty-dropped',
    item: '9',
    what: 'COCO boxes outside the image and of zero width are summarized in one line',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.annotations[0].bbox = [50, 50, 10, 10];
      c.annotations[2].bbox = [3, 3, 0, 4];
      const { file } = cocoDir('outside', c);
      const ds = coco(file, { testMode: true });
      expect(ds.dataList.map((d) => d.instances.length)).toEqual([1, 0]);
      expect(ds.stats.invalidBoxes).toBe(2);
      expect(ds.dropSummary).toEqual([
        `CocoDataset (${file}): dropped 2 boxes empty or outside the image in 1 file, e.g. ${file}: annotations[0].bbox [50,50,10,10] (image 1, 40x30)`,
      ]);
    },
  },
  {
    id: 'datasets.coco-category-not-in-classes',
    item: '9',
    what: 'COCO annotations of a category outside metainfo.classes are dropped and summarized',
    expect: 'correct-result',
    run() {
      const { file } = cocoDir('other-cat', cocoBase());
      const ds = coco(file, { testMode: true, metainfo: { classes: ['cat'] } });
      expect(ds.catIds).toEqual([1]);
      expect(ds.dataList.map((d) => d.instances.length)).toEqual([1, 1]);
      expect(ds.stats.otherCategoryAnnotations).toBe(1);
      expect(ds.dropSummary).toEqual([
        `CocoDataset (${file}): dropped 1 annotations of category 3 (not in classes) in 1 file, e.g. ${file}: annotations[1]`,
      ]);
    },
  },
  {
    id: 'datasets.coco-class-not-a-category',
    item: 'pass',
    what: 'metainfo.classes names a class the COCO file does not have',
    expect: 'clear-error',
    run() {
      const { file, msg } = cocoError('no-class', cocoBase(), {
        metainfo: { classes: ['cat', 'dragon'] },
      });
      expect(msg).toBe(
        `${file}: categories: class "dragon" (metainfo.classes[1]) is not a category of this file`,
      );
    },
  },
  {
    id: 'datasets.coco-filter-empty-gt',
    item: '9',
    what: 'COCO training set drops images without annotations and says which',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.images.push({ id: 7, file_name: 'empty.png', width: 10, height: 10 });
      const { file, dir } = cocoDir('empty-gt', c);
      const ds = coco(file);
      expect(ds.dataList.map((d) => d.imgId)).toEqual([1, 2]);
      expect(ds.stats.emptyImages).toBe(1);
      expect(ds.dropSummary).toEqual([
        `CocoDataset (${file}): dropped 1 images without annotations (filterCfg.filterEmptyGt) in 1 file, e.g. ${file}: image 7 (${path.join(dir, 'img', 'empty.png')})`,
      ]);
      expect(dropSummaries(new ConcatDataset({ datasets: [ds] }))).toEqual(ds.dropSummary);
    },
  },
  {
    id: 'datasets.coco-test-mode-keeps-empty',
    item: 'pass',
    what: 'COCO test set keeps images without annotations',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.images.push({ id: 7, file_name: 'empty.png', width: 10, height: 10 });
      const { file } = cocoDir('empty-test', c);
      const ds = coco(file, { testMode: true });
      expect(ds.dataList.map((d) => d.imgId)).toEqual([1, 2, 7]);
      expect(ds.dropSummary).toEqual([]);
    },
  },
  {
    id: 'datasets.coco-valid-file',
    item: 'pass',
    what: 'a valid COCO file loads with the exact counts, labels and boxes',
    expect: 'correct-result',
    run() {
      const { file, dir } = cocoDir('valid', cocoBase());
      const ds = coco(file);
      expect(ds.length).toBe(2);
      expect(ds.classes).toEqual(['cat', 'dog']);
      expect(ds.catIds).toEqual([1, 3]);
      expect(ds.dataList[0]).toMatchObject({
        imgPath: path.join(dir, 'img', 'a.png'),
        imgId: 1,
        width: 40,
        height: 30,
      });
      expect(ds.dataList[0].instances).toEqual([
        { bbox: [2, 3, 12, 8], bboxLabel: 0, ignoreFlag: false },
        { bbox: [20, 10, 28, 18], bboxLabel: 1, ignoreFlag: true },
      ]);
      expect(ds.dataList[1].instances).toEqual([
        { bbox: [0, 0, 20, 20], bboxLabel: 0, ignoreFlag: false },
      ]);
      expect(ds.dropSummary).toEqual([]);
      expect(checkImageFiles(ds)).toBe(2);
    },
  },
  {
    id: 'datasets.coco-iscrowd-ignored',
    item: 'pass',
    what: 'COCO iscrowd 1 or true sets ignoreFlag; an image with only crowd boxes stays in training',
    expect: 'correct-result',
    run() {
      const c = cocoBase();
      c.annotations[2].iscrowd = true;
      const { file } = cocoDir('crowd', c);
      const ds = coco(file);
      expect(ds.dataList.map((d) => d.instances.map((i) => i.ignoreFlag))).toEqual([
        [false, true],
        [true],
      ]);
    },
  },
  {
    id: 'datasets.coco-missing-ann-file',
    item: 'pass',
    what: 'COCO annFile that does not exist',
    expect: 'clear-error',
    run() {
      const file = path.join(tmpDir('ds-nofile'), 'nope.json');
      expect(() => new CocoDataset({ annFile: file })).toThrow(DatasetError);
      expect(thrown(() => new CocoDataset({ annFile: file }))).toBe(
        `${file}: annotation file not found`,
      );
    },
  },
];

export default cases;
