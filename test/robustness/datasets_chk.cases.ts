/**
 * Checks across the dataset loaders: checkImageFiles (every missing or
 * undecodable image named in one error), the box rule both loaders share
 * (clipBoxToImage), and messages for files that are empty or not VOC at all
 * and for data errors raised while DATASETS.build constructs a data set
 * (they start with the file). COCO cases: datasets.cases.ts; VOC: datasets_voc.cases.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import {
  ConcatDataset,
  VOCDataset,
  VOCSegDataset,
  checkImageFiles,
  clipBoxToImage,
  parseVocXml,
} from '../../src/datasets/index.js';
import { DATASETS } from '../../src/registry.js';
import { tmpDir, type RobustCase } from './harness.js';
import {
  cat,
  coco,
  cocoBase,
  cocoDir,
  thrown,
  vocDir,
  vocOpts,
  writePng,
  writeText,
} from './datasets.fixtures.js';

const cases: RobustCase[] = [
  {
    id: 'datasets.clip-box-to-image',
    item: '6',
    what: 'clipBoxToImage: the rule both loaders use, exact values',
    expect: 'correct-result',
    run() {
      expect(clipBoxToImage([-3, -2, 50, 25], 40, 30)).toEqual([0, 0, 40, 25]);
      expect(clipBoxToImage([10, 5, 20, 15], 40, 30)).toEqual([10, 5, 20, 15]);
      expect(clipBoxToImage([39, 0, 45, 10], 40, 30)).toEqual([39, 0, 40, 10]);
      expect(clipBoxToImage([39.5, 0, 45, 10], 40, 30)).toBeNull();
      expect(clipBoxToImage([50, 50, 60, 60], 40, 30)).toBeNull();
      expect(clipBoxToImage([-10, -10, -1, -1], 40, 30)).toBeNull();
    },
  },
  {
    id: 'datasets.coco-build-error-starts-with-file',
    item: '12',
    what: 'DATASETS.build of a CocoDataset with bad data: the message starts with the file, not "expected valid arguments"',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.images[1].id = 1;
      const { file } = cocoDir('build', c);
      const msg = thrown(() =>
        DATASETS.build({ type: 'CocoDataset', annFile: file, testMode: true }),
      );
      expect(msg.startsWith(`${file}: images[1].id: 1 is already the id of images[0]`)).toBe(true);
      expect(msg).toMatch(/ \(loading .*, a \w+ type 'CocoDataset'\)$/);
      expect(msg).not.toContain('expected valid arguments');
    },
  },
  {
    id: 'datasets.check-image-files-lists-all',
    item: '14',
    what: 'checkImageFiles names every missing and every undecodable image in one error',
    expect: 'clear-error',
    run() {
      const c = cocoBase();
      c.images.push(
        { id: 3, file_name: 'gone.png', width: 10, height: 10 },
        { id: 4, file_name: 'junk.png', width: 10, height: 10 },
        { id: 5, file_name: 'also_gone.jpg', width: 10, height: 10 },
        { id: 6, file_name: 'folder.png', width: 10, height: 10 },
      );
      const { file, dir } = cocoDir('check', c, { images: false });
      const img = (n: string) => path.join(dir, 'img', n);
      writePng(img('a.png'), 40, 30);
      writePng(img('b.png'), 20, 20);
      writeText(img('junk.png'), 'this is not a PNG');
      fs.mkdirSync(img('folder.png'));
      const ds = coco(file, { testMode: true });
      const msg = thrown(() => checkImageFiles(ds));
      expect(msg).toBe(
        [
          '4 of 6 images: cannot be read (headers checked before training):',
          `  ${img('gone.png')}: missing`,
          `  ${img('junk.png')}: not a readable JPEG or PNG (header does not parse)`,
          `  ${img('also_gone.jpg')}: missing`,
          `  ${img('folder.png')}: not a file`,
        ].join('\n'),
      );
    },
  },
  {
    id: 'datasets.check-image-files-through-concat',
    item: '14',
    what: 'checkImageFiles walks a ConcatDataset and names the missing image of its second member',
    expect: 'clear-error',
    run() {
      const a = cocoDir('concat-a', cocoBase());
      const b = cocoDir('concat-b', cocoBase());
      fs.rmSync(path.join(b.dir, 'img', 'b.png'));
      const cat = new ConcatDataset({ datasets: [coco(a.file), coco(b.file)] });
      expect(() => checkImageFiles(cat)).toThrow(
        `1 of 4 images: cannot be read (headers checked before training):\n  ${path.join(b.dir, 'img', 'b.png')}: missing`,
      );
    },
  },
  {
    id: 'datasets.voc-empty-annotation',
    item: '12',
    what: 'VOC file that is just <annotation></annotation>: says it is empty, not "missing root element"',
    expect: 'clear-error',
    run() {
      const v = vocDir('emptyann', [{ id: 'a', xml: '<annotation></annotation>' }]);
      const msg = thrown(() => new VOCDataset(vocOpts(v.root)));
      expect(msg).toBe(
        `${v.xml('a')}: annotation: the <annotation> element is empty (no <size>, no <object>)`,
      );
      expect(msg).not.toContain('missing root element');
      expect(thrown(() => parseVocXml('<annotation/>', 'x.xml'))).toBe(
        'x.xml: annotation: the <annotation> element is empty (no <size>, no <object>)',
      );
    },
  },
  {
    id: 'datasets.voc-zero-byte-file',
    item: '12',
    what: 'VOC annotation file of zero bytes: says the file is empty, not a parser error',
    expect: 'clear-error',
    run() {
      const v = vocDir('zerobyte', [{ id: 'a', xml: '' }]);
      expect(thrown(() => new VOCDataset(vocOpts(v.root)))).toBe(
        `${v.xml('a')}: empty file (no <annotation> element)`,
      );
    },
  },
  {
    id: 'datasets.voc-wrong-root',
    item: '12',
    what: 'VOC file whose root is not <annotation>',
    expect: 'clear-error',
    run() {
      expect(thrown(() => parseVocXml('<labelme><shapes/></labelme>', 'y.xml'))).toBe(
        'y.xml: annotation: missing root element <annotation>',
      );
    },
  },
  {
    id: 'datasets.voc-build-error-starts-with-file',
    item: '12',
    what: 'DATASETS.build of a VOCDataset with a bad XML: the message starts with the file',
    expect: 'clear-error',
    run() {
      const v = vocDir('build', [{ id: 'a', xml: [{ name: 'cat', box: [1, 'x', 5, 5] }] }]);
      const msg = thrown(() => DATASETS.build({ type: 'VOCDataset', ...vocOpts(v.root) }));
      expect(
        msg.startsWith(
          `${v.xml('a')}: object[0].bndbox.ymin: expected a number, got "x" (object "cat")`,
        ),
      ).toBe(true);
      expect(msg).toMatch(/ \(loading .*, a \w+ type 'VOCDataset'\)$/);
      expect(msg).not.toContain('expected valid arguments');
    },
  },
  {
    id: 'datasets.voc-check-image-files',
    item: '14',
    what: 'checkImageFiles on a VOC set names the missing and the truncated image together',
    expect: 'clear-error',
    run() {
      const v = vocDir('check', [
        { id: 'a', xml: [cat([1, 1, 5, 5])] },
        { id: 'b', xml: [cat([1, 1, 5, 5])] },
        { id: 'c', xml: [cat([1, 1, 5, 5])] },
      ]);
      const ds = new VOCDataset(vocOpts(v.root));
      fs.rmSync(v.img('a'));
      fs.writeFileSync(v.img('c'), fs.readFileSync(v.img('c')).subarray(0, 12));
      expect(thrown(() => checkImageFiles(ds))).toBe(
        [
          '2 of 3 images: cannot be read (headers checked before training):',
          `  ${v.img('a')}: missing`,
          `  ${v.img('c')}: not a readable JPEG or PNG (header does not parse)`,
        ].join('\n'),
      );
    },
  },
  {
    id: 'datasets.voc-seg-missing-label-map',
    item: 'pass',
    what: 'VOCSegDataset split naming an id without a label map',
    expect: 'clear-error',
    run() {
      const root = tmpDir('ds-seg');
      writePng(path.join(root, 'SegmentationClass', 'a.png'), 8, 6);
      const split = writeText(path.join(root, 'ImageSets', 'Segmentation', 'train.txt'), 'a\nb\n');
      const opts = { dataRoot: root, annFile: 'ImageSets/Segmentation/train.txt' };
      expect(thrown(() => new VOCSegDataset(opts))).toBe(
        `${path.join(root, 'SegmentationClass', 'b.png')}: label map missing or not a PNG`,
      );
      const ds = new VOCSegDataset({ ...opts, skipInvalid: true });
      expect(ds.dataList.map((d) => [d.imgId, d.width, d.height])).toEqual([['a', 8, 6]]);
      expect(ds.dropSummary).toEqual([
        `VOCSegDataset (${split}): skipped 1 invalid item (skipInvalid), e.g. ${path.join(root, 'SegmentationClass', 'b.png')}: label map missing or not a PNG`,
      ]);
    },
  },
];

export default cases;
