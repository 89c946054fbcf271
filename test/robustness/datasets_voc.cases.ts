/**
 * Bad VOC input to VOCDataset / VOCSegDataset: boxes outside the image
 * (clipped or dropped by the shared box rule), flipped and non-numeric
 * coordinates, a <size> that disagrees with the image header, unknown
 * classes, empty and malformed XML, missing split lists. All data is
 * generated into temp folders (PNG images, `imgSuffix: '.png'`).
 */
import * as path from 'node:path';
import { expect } from 'vitest';
import {
  ConcatDataset,
  VOCDataset,
  checkImageFiles,
  dropSummaries,
  parseVocXml,
} from '../../src/datasets/index.js';
import { tmpDir, type RobustCase } from './harness.js';
import { cat, thrown, vocDir, vocOpts, vocXml, writeText } from './datasets.fixtures.js';

/** One image `a` with `objs` in a 40x30 image, loaded in test mode. */
function vocOne(tag: string, objs: Parameters<typeof vocDir>[1][number]['xml']) {
  const v = vocDir(tag, [{ id: 'a', xml: objs }]);
  return { ...v, ds: new VOCDataset(vocOpts(v.root, { testMode: true })) };
}

const SUMMARY = (v: { split: string }) => `VOCDataset (${v.split}): `;

const cases: RobustCase[] = [
  {
    id: 'datasets.voc-box-past-image-clipped',
    item: '6',
    what: 'VOC box whose xmax/ymax lie past a 40x30 image is clipped to it',
    expect: 'correct-result',
    run() {
      const { ds } = vocOne('clip', [cat([31, 11, 60, 45])]);
      expect(ds.dataList[0].instances).toEqual([
        { bbox: [30, 10, 40, 30], bboxLabel: 0, ignoreFlag: false, truncated: false },
      ]);
      expect(ds.dropSummary).toEqual([]);
    },
  },
  {
    id: 'datasets.voc-negative-coords-clipped',
    item: '6',
    what: 'VOC box with negative xmin/ymin is clipped at 0',
    expect: 'correct-result',
    run() {
      const { ds } = vocOne('neg', [cat([-5, -3, 10, 8])]);
      expect(ds.dataList[0].instances[0].bbox).toEqual([0, 0, 10, 8]);
    },
  },
  {
    id: 'datasets.voc-sub-pixel-box-dropped',
    item: '6',
    what: 'VOC box with less than a pixel inside the image is dropped and counted in the summary',
    expect: 'correct-result',
    run() {
      // xmin 40.5 -> x1 39.5: half a pixel of the 40-wide image is left.
      const v = vocOne('subpx', [cat([40.5, 1, 60, 10]), cat([1, 1, 10, 10])]);
      expect(v.ds.dataList[0].instances.map((i) => i.bbox)).toEqual([[0, 0, 10, 10]]);
      expect(v.ds.stats.invalidBoxes).toBe(1);
      expect(v.ds.dropSummary).toEqual([
        `${SUMMARY(v)}dropped 1 boxes empty or outside the image in 1 file, e.g. ${v.xml('a')}: object[0].bndbox [39.5, 0, 60, 10] (image 40x30)`,
      ]);
    },
  },
  {
    id: 'datasets.voc-box-outside-dropped',
    item: '9',
    what: 'VOC boxes entirely outside the image in two files: one summary line counting both',
    expect: 'correct-result',
    run() {
      const v = vocDir('outside', [
        { id: 'a', xml: [cat([50, 40, 60, 50])] },
        { id: 'b', xml: [cat([1, 1, 5, 5]), cat([45, 1, 50, 5])] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root, { testMode: true }));
      expect(ds.dataList.map((d) => d.instances.length)).toEqual([0, 1]);
      expect(ds.dropSummary).toEqual([
        `${SUMMARY(v)}dropped 2 boxes empty or outside the image in 2 files, e.g. ${v.xml('a')}: object[0].bndbox [49, 39, 60, 50] (image 40x30)`,
      ]);
    },
  },
  {
    id: 'datasets.voc-xmin-gt-xmax',
    item: '6',
    what: 'VOC box with xmin > xmax',
    expect: 'clear-error',
    run() {
      const v = vocDir('flip', [
        { id: 'a', xml: [cat([1, 1, 5, 5]), { name: 'dog', box: [20, 1, 10, 5] }] },
      ]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: object[1].bndbox: xmax 10 < xmin 20 (object "dog")`,
      );
    },
  },
  {
    id: 'datasets.voc-ymin-gt-ymax',
    item: '6',
    what: 'VOC box with ymin > ymax',
    expect: 'clear-error',
    run() {
      const v = vocDir('flipy', [{ id: 'a', xml: [cat([1, 9, 5, 2])] }]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: object[0].bndbox: ymax 2 < ymin 9 (object "cat")`,
      );
    },
  },
  {
    id: 'datasets.voc-non-numeric-coordinate',
    item: '6',
    what: 'VOC bndbox with ymax "12px": the message names file, object index and name, field and value',
    expect: 'clear-error',
    run() {
      const v = vocDir('nan', [
        { id: 'a', xml: [cat([1, 1, 5, 5]), { name: 'dog', box: [1, 2, 3, '12px'] }] },
      ]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: object[1].bndbox.ymax: expected a number, got "12px" (object "dog")`,
      );
    },
  },
  {
    id: 'datasets.voc-empty-coordinate',
    item: '6',
    what: 'VOC bndbox with an empty <xmin/>',
    expect: 'clear-error',
    run() {
      const v = vocDir('emptycoord', [{ id: 'a', xml: [{ name: 'cat', box: ['', 1, 5, 5] }] }]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: object[0].bndbox.xmin: expected a number, got "" (object "cat")`,
      );
    },
  },
  {
    id: 'datasets.voc-size-disagrees-with-header',
    item: '6',
    what: 'VOC <size> 40x30 for an image whose header says 32x30',
    expect: 'clear-error',
    run() {
      const v = vocDir('size', [{ id: 'a', xml: [cat([1, 1, 5, 5])], image: [32, 30] }]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: size: 40x30 does not match the image ${v.img('a')} (32x30 in its header)`,
      );
    },
  },
  {
    id: 'datasets.voc-size-disagrees-skip-invalid',
    item: '9',
    what: 'VOC <size> that disagrees with the header under skipInvalid: the image is skipped and summarized',
    expect: 'correct-result',
    run() {
      const v = vocDir('size-skip', [
        { id: 'a', xml: [cat([1, 1, 5, 5])], image: [32, 30] },
        { id: 'b', xml: [cat([1, 1, 5, 5])] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root, { skipInvalid: true }));
      expect(ds.dataList.map((d) => d.imgId)).toEqual(['b']);
      expect(ds.dropSummary).toEqual([
        `${SUMMARY(v)}skipped 1 invalid item (skipInvalid), e.g. ${v.xml('a')}: size: 40x30 does not match the image ${v.img('a')} (32x30 in its header)`,
      ]);
    },
  },
  {
    id: 'datasets.voc-size-missing-read-from-header',
    item: 'pass',
    what: 'VOC XML without <size>: the size comes from the image header and boxes are clipped to it',
    expect: 'correct-result',
    run() {
      const v = vocDir('nosize', [
        { id: 'a', xml: [cat([1, 1, 50, 50])], size: null, image: [24, 16] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root));
      expect(ds.dataList[0]).toMatchObject({ width: 24, height: 16 });
      expect(ds.dataList[0].instances[0].bbox).toEqual([0, 0, 24, 16]);
    },
  },
  {
    id: 'datasets.voc-size-missing-and-no-image',
    item: 'pass',
    what: 'VOC XML without <size> and no image to read it from',
    expect: 'clear-error',
    run() {
      const v = vocDir('nosize-noimg', [
        { id: 'a', xml: [cat([1, 1, 5, 5])], size: null, image: null },
      ]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: size: missing, and the image ${v.img('a')} has no readable header`,
      );
    },
  },
  {
    id: 'datasets.voc-size-zero',
    item: '2',
    what: 'VOC <size> with width 0',
    expect: 'clear-error',
    run() {
      const v = vocDir('size0', [
        { id: 'a', xml: [cat([1, 1, 5, 5])], size: [0, 30], image: [40, 30] },
      ]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: size: expected positive width and height, got "0" x "30"`,
      );
    },
  },
  {
    id: 'datasets.voc-unknown-class-summary',
    item: '9',
    what: 'VOC objects of an unknown class in two files: one line with count, file count and an example',
    expect: 'correct-result',
    run() {
      const x = (box: [number, number, number, number]) => ({ name: 'trianglee', box });
      const v = vocDir('unknown', [
        { id: 'a', xml: [x([1, 1, 5, 5]), cat([1, 1, 5, 5]), x([2, 2, 6, 6])] },
        { id: 'b', xml: [x([1, 1, 5, 5])] },
        { id: 'c', xml: [cat([1, 1, 5, 5])] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root, { testMode: true }));
      expect(ds.stats.unknownClassObjects).toBe(3);
      expect(ds.dataList.map((d) => d.instances.length)).toEqual([1, 0, 1]);
      expect(ds.dropSummary).toEqual([
        `${SUMMARY(v)}dropped 3 objects of unknown class "trianglee" in 2 files, e.g. ${v.xml('a')}`,
      ]);
      expect(dropSummaries(new ConcatDataset({ datasets: [ds] }))).toEqual(ds.dropSummary);
    },
  },
  {
    id: 'datasets.voc-filter-empty-gt',
    item: '9',
    what: 'VOC training set with filterEmptyGt drops images with no (non-difficult) boxes and says which',
    expect: 'correct-result',
    run() {
      const v = vocDir('emptygt', [
        { id: 'a', xml: [cat([1, 1, 5, 5])] },
        { id: 'b', xml: [] },
        { id: 'c', xml: [cat([1, 1, 5, 5], true)] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root, { filterCfg: { filterEmptyGt: true } }));
      expect(ds.dataList.map((d) => d.imgId)).toEqual(['a']);
      expect(ds.stats.emptyImages).toBe(2);
      expect(ds.dropSummary).toEqual([
        `${SUMMARY(v)}dropped 2 images without boxes (filterCfg.filterEmptyGt) in 2 files, e.g. ${v.xml('b')}`,
      ]);
    },
  },
  {
    id: 'datasets.voc-skip-invalid',
    item: '9',
    what: 'VOC skipInvalid skips a malformed XML and a missing XML, counts them, and loads the rest',
    expect: 'correct-result',
    run() {
      const v = vocDir('skip', [
        { id: 'a', xml: [cat([1, 1, 5, 5])] },
        { id: 'b', xml: '<annotation><object><name>cat</name></annotation>' },
        { id: 'c', xml: [cat([1, 1, 5, 5])] },
      ]);
      writeText(v.split, 'a\nb\nc\nmissing\n');
      const ds = new VOCDataset(vocOpts(v.root, { skipInvalid: true }));
      expect(ds.dataList.map((d) => d.imgId)).toEqual(['a', 'c']);
      expect(ds.skipped.count).toBe(2);
      expect(ds.skipped.messages[0]).toMatch(
        /^.*\/Annotations\/b\.xml: line \d+: malformed XML \(.+\)$/,
      );
      expect(ds.skipped.messages[0].startsWith(v.xml('b'))).toBe(true);
      expect(ds.skipped.messages[1]).toBe(`${v.xml('missing')}: annotation file not found`);
      expect(ds.dropSummary).toEqual([
        `${SUMMARY(v)}skipped 2 invalid items (skipInvalid), e.g. ${ds.skipped.messages[0]}`,
      ]);
    },
  },
  {
    id: 'datasets.voc-two-bndbox',
    item: '6',
    what: 'VOC object with two <bndbox> elements: says so, not "xmin: expected a number, got undefined"',
    expect: 'clear-error',
    run() {
      const bb = '<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>';
      const xml = `<annotation><size><width>40</width><height>30</height></size><object><name>cat</name>${bb}${bb}</object></annotation>`;
      const v = vocDir('twobb', [{ id: 'a', xml }]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: object[0].bndbox: 2 <bndbox> elements, expected one`,
      );
    },
  },
  {
    id: 'datasets.voc-two-names',
    item: '6',
    what: 'VOC object with two <name> elements: says so, not "name: missing"',
    expect: 'clear-error',
    run() {
      expect(
        thrown(() =>
          parseVocXml(
            '<annotation><object><name>cat</name><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>',
            'n.xml',
          ),
        ),
      ).toBe('n.xml: object[0].name: 2 <name> elements, expected one');
    },
  },
  {
    id: 'datasets.voc-difficult-not-0-or-1',
    item: '6',
    what: 'VOC <difficult>yes</difficult> is an error (it used to read as not difficult)',
    expect: 'clear-error',
    run() {
      const xml = vocXml([cat([1, 1, 5, 5])]).replace(
        '<difficult>0</difficult>',
        '<difficult>yes</difficult>',
      );
      const v = vocDir('difficult-yes', [{ id: 'a', xml }]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: object[0].difficult: expected 0 or 1, got "yes" (object "cat")`,
      );
      const empty = vocXml([cat([1, 1, 5, 5])]).replace('<difficult>0</difficult>', '<difficult/>');
      expect(parseVocXml(empty, 'e.xml').objects[0].difficult).toBe(false);
    },
  },
  {
    id: 'datasets.voc-valid-split',
    item: 'pass',
    what: 'a valid VOC split loads with exact ids, sizes, labels and 0-based boxes',
    expect: 'correct-result',
    run() {
      const v = vocDir('valid', [
        { id: 'a', xml: [cat([1, 2, 10, 12]), { name: 'dog', box: [5, 5, 40, 30] }] },
        { id: 'b', xml: [{ name: 'dog', box: [3, 3, 8, 9] }], size: [20, 10] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root));
      expect(ds.length).toBe(2);
      expect(ds.dataList.map((d) => [d.imgId, d.width, d.height, d.imgPath, d.xmlPath])).toEqual([
        ['a', 40, 30, v.img('a'), v.xml('a')],
        ['b', 20, 10, v.img('b'), v.xml('b')],
      ]);
      expect(ds.dataList.map((d) => d.instances.map((i) => [i.bboxLabel, ...i.bbox]))).toEqual([
        [
          [0, 0, 1, 10, 12],
          [1, 4, 4, 40, 30],
        ],
        [[1, 2, 2, 8, 9]],
      ]);
      expect(ds.dropSummary).toEqual([]);
      expect(checkImageFiles(ds)).toBe(2);
    },
  },
  {
    id: 'datasets.voc-difficult-ignored',
    item: 'pass',
    what: 'VOC difficult objects are kept with ignoreFlag; bboxMinSize marks small boxes ignored in training',
    expect: 'correct-result',
    run() {
      const v = vocDir('difficult', [
        { id: 'a', xml: [cat([1, 1, 10, 10], true), cat([1, 1, 20, 20]), cat([1, 1, 3, 3])] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root, { filterCfg: { bboxMinSize: 4 } }));
      expect(ds.dataList[0].instances.map((i) => i.ignoreFlag)).toEqual([true, false, true]);
      const test = new VOCDataset(
        vocOpts(v.root, { filterCfg: { bboxMinSize: 4 }, testMode: true }),
      );
      expect(test.dataList[0].instances.map((i) => i.ignoreFlag)).toEqual([true, false, false]);
    },
  },
  {
    id: 'datasets.voc-missing-split-file',
    item: 'pass',
    what: 'VOC annFile (ImageSets split list) that does not exist',
    expect: 'clear-error',
    run() {
      const root = tmpDir('ds-nosplit');
      expect(
        thrown(() => new VOCDataset(vocOpts(root, { annFile: 'ImageSets/Main/val.txt' }))),
      ).toBe(`${path.join(root, 'ImageSets/Main/val.txt')}: split list not found`);
    },
  },
  {
    id: 'datasets.voc-empty-split-file',
    item: 'pass',
    what: 'VOC split list with no ids',
    expect: 'clear-error',
    run() {
      const v = vocDir('emptysplit', [{ id: 'a', xml: [cat([1, 1, 5, 5])] }]);
      writeText(v.split, '\n  \n');
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.split}: empty image list (no ids in the file)`,
      );
    },
  },
  {
    id: 'datasets.voc-missing-xml',
    item: 'pass',
    what: 'VOC split naming an id without an annotation file',
    expect: 'clear-error',
    run() {
      const v = vocDir('noxml', [{ id: 'a', xml: [cat([1, 1, 5, 5])] }]);
      writeText(v.split, 'a\nb\n');
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('b')}: annotation file not found`,
      );
    },
  },
];

export default cases;
