import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from '../../src/registry.js';
import {
  ConcatDataset,
  DatasetError,
  RepeatDataset,
  VOC_CLASSES,
  VOCDataset,
  parseVocXml,
  readSplitList,
} from '../../src/datasets/index.js';
import { REAL, SHAPES, smallSynthetic, tempDir } from './helpers.js';

const xml = (
  objects: string,
  size = '<size><width>100</width><height>80</height><depth>3</depth></size>',
): string => `<annotation><filename>a.jpg</filename>${size}${objects}</annotation>`;
const obj = (name: string, box: [number, number, number, number] | null, difficult = 0): string =>
  `<object><name>${name}</name><difficult>${difficult}</difficult><truncated>1</truncated>${
    box
      ? `<bndbox><xmin>${box[0]}</xmin><ymin>${box[1]}</ymin><xmax>${box[2]}</xmax><ymax>${box[3]}</ymax></bndbox>`
      : ''
  }</object>`;

describe('parseVocXml', () => {
  it('parses real VOC2012 XML (100 files, 273 objects, 38 difficult)', () => {
    const dir = join(REAL, 'rodm_voc100/Annotations');
    let objects = 0,
      difficult = 0;
    const names = new Set<string>();
    for (const f of readdirSync(dir)) {
      const a = parseVocXml(readFileSync(join(dir, f), 'utf8'), f);
      expect(a.width).toBeGreaterThan(0);
      objects += a.objects.length;
      difficult += a.objects.filter((o) => o.difficult).length;
      for (const o of a.objects) {
        names.add(o.name);
        expect(o.bbox[2]).toBeGreaterThan(o.bbox[0]);
      }
    }
    expect(objects).toBe(273);
    expect(difficult).toBe(38);
    expect([...names].every((n) => (VOC_CLASSES as readonly string[]).includes(n))).toBe(true);
    const one = parseVocXml(
      readFileSync(join(REAL, 'rodm_voc100/Annotations/2007_000027.xml'), 'utf8'),
      'x.xml',
    );
    expect(one).toMatchObject({ width: 486, height: 500, filename: '2007_000027.jpg' });
    // VOC's 1-based inclusive xmin=174..xmax=349 -> 0-based edges [173, 349).
    expect(one.objects[0]).toEqual({
      name: 'person',
      bbox: [173, 100, 349, 351],
      difficult: false,
      truncated: false,
    });
  });

  it('parses mmdetection test XML', () => {
    const a = parseVocXml(
      readFileSync(join(REAL, 'mmdet/VOC2012_Annotations/000001.xml'), 'utf8'),
      'm.xml',
    );
    expect(a.width).toBe(335);
    expect(a.objects[0].name).toBe('train');
    expect(a.objects[0].bbox).toEqual([138, 199, 207, 301]);
  });

  it('rejects malformed XML naming the file and line', () => {
    expect(() =>
      parseVocXml('<annotation><object><name>dog</name></annotation>', 'Annotations/x.xml'),
    ).toThrow(/^Annotations\/x\.xml: line \d+: malformed XML/);
  });

  it('rejects an object without bndbox, naming the object', () => {
    expect(() =>
      parseVocXml(
        xml(obj('dog', [1, 1, 5, 5]) + obj('cat', null) + obj('cat', [1, 1, 2, 2])),
        'A/000005.xml',
      ),
    ).toThrow('A/000005.xml: object[1].bndbox: missing');
  });

  it('rejects x2 < x1 and non-numeric coordinates', () => {
    expect(() => parseVocXml(xml(obj('dog', [50, 1, 10, 5])), 'b.xml')).toThrow(
      'b.xml: object[0].bndbox: xmax 10 < xmin 50',
    );
    expect(() =>
      parseVocXml(xml(obj('dog', ['a' as unknown as number, 1, 10, 5])), 'c.xml'),
    ).toThrow('c.xml: object[0].bndbox.xmin: expected a number, got "a"');
  });
});

describe('VOCDataset', () => {
  const t = tempDir();
  const root = (name: string): string => join(t.dir, name);
  beforeAll(async () => {
    await smallSynthetic(root('syn'), 8, 4, 96, 11);
    // A hand-made devkit with broken files.
    const bad = root('bad');
    for (const d of ['Annotations', 'ImageSets/Main', 'JPEGImages'])
      mkdirSync(join(bad, d), { recursive: true });
    writeFileSync(
      join(bad, 'Annotations/ok.xml'),
      xml(
        obj('dog', [10, 10, 40, 40]) + obj('cat', [1, 1, 9, 9], 1) + obj('unicorn', [1, 1, 5, 5]),
      ),
    );
    writeFileSync(join(bad, 'Annotations/broken.xml'), '<annotation><object>');
    writeFileSync(join(bad, 'Annotations/nobox.xml'), xml(obj('dog', null)));
    writeFileSync(join(bad, 'Annotations/flipped.xml'), xml(obj('dog', [40, 10, 10, 40])));
    writeFileSync(join(bad, 'Annotations/empty.xml'), xml(''));
    writeFileSync(join(bad, 'ImageSets/Main/all.txt'), 'ok\nbroken\nnobox\nflipped\nempty\n');
    writeFileSync(join(bad, 'ImageSets/Main/good.txt'), 'ok\nempty\n');
    writeFileSync(join(bad, 'ImageSets/Main/none.txt'), '\n\n');
    // Size missing from the XML: taken from the image header.
    writeFileSync(
      join(bad, 'Annotations/nosize.xml'),
      '<annotation>' + obj('dog', [2, 2, 8, 8]) + '</annotation>',
    );
    writeFileSync(join(bad, 'ImageSets/Main/nosize.txt'), 'nosize\n');
    writeFileSync(
      join(bad, 'JPEGImages/nosize.jpg'),
      readFileSync(join(root('syn'), 'JPEGImages/000001.jpg')),
    );
  });
  afterAll(() => t.cleanup());

  it('loads a devkit; difficult -> ignore; unknown classes left out and counted', () => {
    const ds = new VOCDataset({
      dataRoot: root('bad'),
      annFile: 'ImageSets/Main/good.txt',
      testMode: true,
    });
    expect(ds.length).toBe(2);
    const d = ds.getDataInfo(0);
    expect(d.imgPath).toBe(join(root('bad'), 'JPEGImages/ok.jpg'));
    expect(d.instances).toEqual([
      {
        bbox: [9, 9, 40, 40],
        bboxLabel: VOC_CLASSES.indexOf('dog'),
        ignoreFlag: false,
        truncated: true,
      },
      {
        bbox: [0, 0, 9, 9],
        bboxLabel: VOC_CLASSES.indexOf('cat'),
        ignoreFlag: true,
        truncated: true,
      },
    ]);
    expect(ds.stats.unknownClassObjects).toBe(1);
  });

  it('filters empty images for training only', () => {
    const train = new VOCDataset({
      dataRoot: root('bad'),
      annFile: 'ImageSets/Main/good.txt',
      filterCfg: { filterEmptyGt: true },
    });
    expect(train.length).toBe(1);
    expect(train.stats.emptyImages).toBe(1);
  });

  it('one clear error for the first bad file, or counted skips with skipInvalid', () => {
    expect(
      () => new VOCDataset({ dataRoot: root('bad'), annFile: 'ImageSets/Main/all.txt' }),
    ).toThrow(/bad\/Annotations\/broken\.xml: line \d+: malformed XML/);
    const ds = new VOCDataset({
      dataRoot: root('bad'),
      annFile: 'ImageSets/Main/all.txt',
      skipInvalid: true,
      testMode: true,
    });
    expect(ds.length).toBe(2);
    expect(ds.skipped.count).toBe(3);
    expect(ds.skipped.messages.join('\n')).toMatch(/nobox\.xml: object\[0\]\.bndbox: missing/);
    expect(ds.skipped.messages.join('\n')).toMatch(
      /flipped\.xml: object\[0\]\.bndbox: xmax 10 < xmin 40/,
    );
  });

  it('empty image list is an error naming the list', () => {
    expect(
      () => new VOCDataset({ dataRoot: root('bad'), annFile: 'ImageSets/Main/none.txt' }),
    ).toThrow(/none\.txt: empty image list/);
    expect(() => readSplitList(join(root('bad'), 'nope.txt'))).toThrow(
      /nope\.txt: split list not found/,
    );
  });

  it('reads a missing size from the image header', () => {
    const ds = new VOCDataset({
      dataRoot: root('bad'),
      annFile: 'ImageSets/Main/nosize.txt',
      testMode: true,
    });
    expect([ds.getDataInfo(0).width, ds.getDataInfo(0).height]).toEqual([96, 96]);
  });

  it('concatenates years (VOC2007 + VOC2012) and repeats, built from configs', () => {
    const cfg = { type: 'VOCDataset', dataRoot: root('syn'), metainfo: { classes: SHAPES } };
    const cat = DATASETS.build<ConcatDataset>({
      type: 'ConcatDataset',
      datasets: [
        { ...cfg, annFile: 'ImageSets/Main/train.txt' },
        { ...cfg, annFile: 'ImageSets/Main/val.txt', testMode: true },
      ],
    });
    expect(cat).toBeInstanceOf(ConcatDataset);
    expect(cat.length).toBe(12);
    expect(cat.getDataInfo(8).imgId).toBe('000009');
    expect(cat.locate(9)).toEqual([1, 1]);
    const rep = new RepeatDataset({ dataset: cat, times: 3 });
    expect(rep.length).toBe(36);
    expect(rep.getDataInfo(13).imgId).toBe(cat.getDataInfo(1).imgId);
    expect(() => DATASETS.build({ type: 'VOCDataset', annFile: 'x', dataRot: '/tmp' })).toThrow(
      /dataRot.*did you mean 'dataRoot'/,
    );
  });

  it('errors name the file for a missing annotation', () => {
    writeFileSync(join(root('bad'), 'ImageSets/Main/missing.txt'), 'ghost\n');
    const err = (() => {
      try {
        new VOCDataset({ dataRoot: root('bad'), annFile: 'ImageSets/Main/missing.txt' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DatasetError);
    expect(String((err as Error).message)).toMatch(
      /Annotations\/ghost\.xml: annotation file not found/,
    );
  });
});
