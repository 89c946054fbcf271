import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COCO_CLASSES, CocoDataset, DatasetError, loadCocoJson } from '../../src/datasets/index.js';
import { rleArea, rleEncode } from '../../src/masks/index.js';
import { REAL, SHAPES, smallSynthetic, tempDir } from './helpers.js';

const REAL_COCO = join(REAL, 'coco_val2014_100/instances_val2014_100.json');

function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('CocoDataset on real COCO val2014 (100 images, 839 annotations, 9 crowd)', () => {
  const ds = new CocoDataset({
    annFile: REAL_COCO,
    dataPrefix: { img: 'val2014' },
    testMode: true,
  });

  it('maps category ids to contiguous labels in id order', () => {
    expect(ds.length).toBe(100);
    expect(ds.classes).toEqual([...COCO_CLASSES]);
    expect(ds.catIds.slice(0, 3)).toEqual([1, 2, 3]);
    expect(ds.catIds[79]).toBe(90);
    expect(ds.catToLabel.get(90)).toBe(79);
  });

  it('converts xywh to xyxy and crowd to ignore', () => {
    const raw = JSON.parse(readFileSync(REAL_COCO, 'utf8'));
    const byImg = new Map<number, any[]>();
    for (const a of raw.annotations) byImg.set(a.image_id, [...(byImg.get(a.image_id) ?? []), a]);
    let n = 0,
      crowd = 0;
    for (let i = 0; i < ds.length; i++) {
      const d = ds.getDataInfo(i);
      const anns = byImg.get(d.imgId as number) ?? [];
      expect(d.instances).toHaveLength(anns.length);
      d.instances.forEach((ins, k) => {
        const [x, y, w, h] = anns[k].bbox;
        expect(ins.bbox).toEqual([x, y, x + w, y + h]);
        expect(ins.bboxLabel).toBe(ds.catToLabel.get(anns[k].category_id));
        expect(ins.ignoreFlag).toBe(anns[k].iscrowd === 1);
        n++;
        if (ins.ignoreFlag) crowd++;
      });
      expect(d.imgPath).toMatch(/^val2014\/COCO_val2014_\d+\.jpg$/);
    }
    expect([n, crowd]).toEqual([839, 9]);
  });

  it('keeps a user class list and its order', () => {
    const sub = new CocoDataset({ annFile: REAL_COCO, metainfo: { classes: ['dog', 'person'] } });
    expect(sub.catIds).toEqual([18, 1]);
    expect(sub.stats.otherCategoryAnnotations).toBeGreaterThan(0);
    const all = sub.dataList.flatMap((d) => d.instances.map((i) => i.bboxLabel));
    expect(new Set(all)).toEqual(new Set([0, 1]));
    expect(
      () => new CocoDataset({ annFile: REAL_COCO, metainfo: { classes: ['dragon'] } }),
    ).toThrow(/class "dragon" \(metainfo\.classes\[0\]\) is not a category/);
  });
});

describe('CocoDataset hard inputs', () => {
  const t = tempDir();
  let base: any;
  const write = (name: string, obj: unknown): string => {
    const f = join(t.dir, name);
    writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return f;
  };
  beforeAll(async () => {
    await smallSynthetic(join(t.dir, 'syn'), 6, 2, 96, 5);
    base = JSON.parse(readFileSync(join(t.dir, 'syn/annotations/instances_train.json'), 'utf8'));
  });
  afterAll(() => t.cleanup());
  const clone = (): any => JSON.parse(JSON.stringify(base));

  it('a wrong type names the JSON path and the value', () => {
    const c = clone();
    c.annotations[3].bbox = 'abc';
    const f = write('instances_bad.json', c);
    const e = errorOf(() => new CocoDataset({ annFile: f }));
    expect(e).toBeInstanceOf(DatasetError);
    expect(e.message).toBe(`${f}: annotations[3].bbox: expected array of 4 numbers, got "abc"`);
    const c2 = clone();
    c2.images[1].width = '96';
    expect(() => loadCocoJson(write('bad2.json', c2))).toThrow(
      /bad2\.json: images\[1\]\.width: expected a number, got "96"/,
    );
    const c3 = clone();
    c3.annotations[0].bbox = [1, 2, 'x', 4];
    expect(() => loadCocoJson(write('bad3.json', c3))).toThrow(
      /annotations\[0\]\.bbox\[2\]: expected a number, got "x"/,
    );
    expect(() => loadCocoJson(write('bad4.json', '{"images": ['))).toThrow(
      /bad4\.json: invalid JSON/,
    );
    expect(() => loadCocoJson(write('bad5.json', { images: [] }))).toThrow(
      /bad5\.json: categories: expected an array of categories, got nothing \(missing\)/,
    );
  });

  it('an annotation pointing at a missing image: error or counted skip', () => {
    const c = clone();
    c.annotations[2].image_id = 999;
    const f = write('orphan.json', c);
    expect(() => new CocoDataset({ annFile: f })).toThrow(
      `${f}: annotations[2].image_id: 999 is not the id of any image in "images"`,
    );
    const ds = new CocoDataset({ annFile: f, skipInvalid: true, testMode: true });
    expect(ds.skipped.count).toBe(1);
    expect(ds.dataList.reduce((s, d) => s + d.instances.length, 0)).toBe(
      base.annotations.length - 1,
    );
  });

  it('drops and counts degenerate boxes; filters empty images in training only', () => {
    const c = clone();
    c.annotations[0].bbox[2] = 0.5; // w < 1
    c.annotations[1].area = 0;
    c.annotations[2].bbox = [500, 500, 10, 10]; // outside the image
    const firstImg = c.images[0].id;
    c.annotations = c.annotations.filter((a: any, i: number) => i < 3 || a.image_id !== firstImg);
    const f = write('degenerate.json', c);
    const test = new CocoDataset({ annFile: f, testMode: true });
    expect(test.stats.invalidBoxes).toBe(3);
    expect(test.length).toBe(6);
    const train = new CocoDataset({ annFile: f });
    expect(train.stats.emptyImages).toBeGreaterThanOrEqual(1);
    expect(train.length).toBe(6 - train.stats.emptyImages);
    expect(train.dataList.every((d) => d.instances.length > 0)).toBe(true);
  });

  it('decodes polygon, compressed and uncompressed RLE masks', async () => {
    const c = clone();
    const img = c.images[0];
    const [h, w] = [img.height, img.width];
    const m = new Uint8Array(h * w);
    for (let y = 10; y < 30; y++) for (let x = 20; x < 25; x++) m[y * w + x] = 1;
    const rle = rleEncode(m, h, w);
    // Uncompressed counts of the same mask (column-major runs).
    const counts: number[] = [];
    let prev = 0,
      run = 0;
    for (let x = 0; x < w; x++)
      for (let y = 0; y < h; y++) {
        const v = m[y * w + x];
        if (v !== prev) {
          counts.push(run);
          run = 0;
          prev = v;
        }
        run++;
      }
    counts.push(run);
    c.annotations = c.annotations.filter((a: any) => a.image_id === img.id).slice(0, 1);
    c.annotations.push({
      ...c.annotations[0],
      id: 1001,
      bbox: [20, 10, 5, 20],
      segmentation: rle,
      iscrowd: 1,
    });
    c.annotations.push({
      ...c.annotations[0],
      id: 1002,
      bbox: [20, 10, 5, 20],
      segmentation: { size: [h, w], counts },
      iscrowd: 1,
    });
    const f = write('masks.json', c);
    const ds = new CocoDataset({
      annFile: f,
      dataRoot: join(t.dir, 'syn'),
      dataPrefix: { img: 'JPEGImages' },
      testMode: true,
      pipeline: [
        { type: 'LoadImageFromFile' },
        { type: 'LoadAnnotations', withMask: true },
        { type: 'PackDetInputs' },
      ],
    });
    const s = (await ds.get(0)) as any;
    const [poly] = s.dataSample.gtInstances.masks.masks as Uint8Array[];
    const [a, b] = s.dataSample.ignoredInstances.masks.masks as Uint8Array[];
    expect(Buffer.from(a).equals(Buffer.from(m))).toBe(true);
    expect(Buffer.from(b).equals(Buffer.from(m))).toBe(true);
    expect(poly.reduce((x: number, y: number) => x + y, 0)).toBeGreaterThan(
      0.8 * c.annotations[0].area,
    );
    expect(rleArea(rle)).toBe(100);
  });

  it('a missing image file fails with its name (or is skipped and re-drawn in training)', async () => {
    const c = clone();
    c.images[0].file_name = 'ghost.jpg';
    const f = write('ghost.json', c);
    const pipeline = [
      { type: 'LoadImageFromFile' },
      { type: 'LoadAnnotations' },
      { type: 'PackDetInputs' },
    ];
    const opts = {
      annFile: f,
      dataRoot: join(t.dir, 'syn'),
      dataPrefix: { img: 'JPEGImages' },
      pipeline,
    };
    const strict = new CocoDataset({ ...opts, testMode: true });
    await expect(strict.get(0)).rejects.toThrow(/JPEGImages\/ghost\.jpg: image file not found/);
    const lenient = new CocoDataset({ ...opts, skipInvalid: true });
    const s = (await lenient.get(0)) as any;
    expect(s.dataSample.metainfo.imgPath).not.toMatch(/ghost/);
    expect(lenient.skipped.count).toBe(1);
  });

  it('uses the file classes when none are given', () => {
    const ds = new CocoDataset({ annFile: write('plain.json', base), testMode: true });
    expect(ds.classes).toEqual(SHAPES);
  });
});
