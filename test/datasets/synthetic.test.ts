import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CocoDataset,
  VOCDataset,
  VOCSegDataset,
  decodeIndexedPng,
  rasterizePolygons,
  vocPalette,
} from '../../src/datasets/index.js';
import type { SyntheticResult } from '../../src/datasets/synthetic.js';
import { polygonsToRle, rleDecode } from '../../src/masks/index.js';
import sharp from 'sharp';
import { SHAPES, smallSynthetic, tempDir } from './helpers.js';

describe('synthetic shapes', () => {
  const t = tempDir();
  const t2 = tempDir();
  let syn: SyntheticResult;
  beforeAll(async () => {
    syn = await smallSynthetic(t.dir);
  });
  afterAll(() => {
    t.cleanup();
    t2.cleanup();
  });

  it('writes the VOC and COCO layouts', () => {
    expect(syn.images).toHaveLength(16);
    expect(
      readFileSync(join(t.dir, 'ImageSets/Main/train.txt'), 'utf8').trim().split('\n'),
    ).toHaveLength(12);
    expect(
      readFileSync(join(t.dir, 'ImageSets/Segmentation/val.txt'), 'utf8').trim().split('\n'),
    ).toHaveLength(4);
    const coco = JSON.parse(readFileSync(join(t.dir, 'annotations/instances_val.json'), 'utf8'));
    expect(coco.images).toHaveLength(4);
    expect(coco.categories.map((c: { name: string }) => c.name)).toEqual(SHAPES);
    for (const a of coco.annotations) {
      expect(a.iscrowd).toBe(0);
      expect(a.area).toBeGreaterThan(0);
      expect(Array.isArray(a.segmentation) && a.segmentation.length).toBeGreaterThan(0);
    }
  });

  it('is deterministic from the seed', async () => {
    await smallSynthetic(t2.dir);
    for (const f of [
      'JPEGImages/000003.jpg',
      'Annotations/000007.xml',
      'SegmentationClass/000002.png',
      'annotations/instances_train.json',
    ]) {
      expect(readFileSync(join(t2.dir, f)).equals(readFileSync(join(t.dir, f)))).toBe(true);
    }
  });

  it('label maps, polygons and boxes describe the same pixels', async () => {
    for (const im of syn.images.slice(0, 8)) {
      const cls = decodeIndexedPng(readFileSync(join(t.dir, 'SegmentationClass', `${im.id}.png`)));
      const obj = decodeIndexedPng(readFileSync(join(t.dir, 'SegmentationObject', `${im.id}.png`)));
      im.objects.forEach((o, k) => {
        const m = rasterizePolygons(o.polygons, im.width, im.height);
        let area = 0,
          objMismatch = 0,
          clsMismatch = 0,
          outside = 0;
        for (let i = 0; i < m.length; i++) {
          if ((m[i] === 1) !== (obj.data[i] === k + 1)) objMismatch++;
          if (m[i]) {
            if (cls.data[i] !== o.label + 1) clsMismatch++;
            area++;
            const x = i % im.width,
              y = Math.floor(i / im.width);
            if (!(x >= o.bbox[0] && x < o.bbox[2] && y >= o.bbox[1] && y < o.bbox[3])) outside++;
          }
        }
        expect([objMismatch, clsMismatch, outside]).toEqual([0, 0, 0]);
        expect(area).toBe(o.area);
        // COCO's own rasteriser (maskApi) agrees up to boundary pixels.
        const coco = rleDecode(polygonsToRle(o.polygons, im.height, im.width));
        let inter = 0,
          union = 0;
        for (let i = 0; i < m.length; i++) {
          inter += m[i] & coco[i];
          union += m[i] | coco[i];
        }
        expect(inter / union).toBeGreaterThan(0.85);
      });
    }
  });

  it('writes real palette PNGs and JPEGs whose shapes differ from the background', async () => {
    const im = syn.images[0];
    const png = await sharp(join(t.dir, 'SegmentationClass', `${im.id}.png`))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const idx = decodeIndexedPng(
      readFileSync(join(t.dir, 'SegmentationClass', `${im.id}.png`)),
    ).data;
    const pal = vocPalette();
    const ch = png.info.channels;
    for (let i = 0; i < idx.length; i += 97)
      for (let c = 0; c < 3; c++) expect(png.data[i * ch + c]).toBe(pal[idx[i] * 3 + c]);
    const jpg = await sharp(join(t.dir, 'JPEGImages', `${im.id}.jpg`)).metadata();
    expect([jpg.format, jpg.width, jpg.height, jpg.channels]).toEqual(['jpeg', 128, 128, 3]);
  });

  it('round trip: VOC and COCO load back the same boxes and labels', () => {
    const voc = new VOCDataset({
      dataRoot: t.dir,
      annFile: 'ImageSets/Main/train.txt',
      metainfo: { classes: SHAPES },
    });
    const coco = new CocoDataset({
      dataRoot: t.dir,
      annFile: 'annotations/instances_train.json',
      dataPrefix: { img: 'JPEGImages' },
      testMode: true,
    });
    expect(coco.classes).toEqual(SHAPES);
    const train = syn.images.filter((i) => i.split === 'train');
    expect(voc.length).toBe(train.length);
    expect(coco.length).toBe(train.length);
    train.forEach((im, i) => {
      const v = voc.getDataInfo(i),
        c = coco.getDataInfo(i);
      expect(v.imgPath).toBe(c.imgPath);
      const want = im.objects.map((o) => [...o.bbox, o.label]);
      expect(v.instances.map((x) => [...x.bbox, x.bboxLabel])).toEqual(want);
      expect(c.instances.map((x) => [...x.bbox, x.bboxLabel])).toEqual(want);
      expect(v.instances.map((x) => x.truncated)).toEqual(im.objects.map((o) => o.occluded));
    });
  });

  it('segmentation split loads as class indices', async () => {
    const ds = new VOCSegDataset({
      dataRoot: t.dir,
      annFile: 'ImageSets/Segmentation/val.txt',
      testMode: true,
      pipeline: [
        { type: 'LoadImageFromFile' },
        { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true },
        { type: 'PackSegInputs' },
      ],
    });
    expect(ds.length).toBe(4);
    const s = (await ds.get(0)) as any;
    const seg = s.dataSample.gtSemSeg.data as Uint8Array;
    expect(seg.length).toBe(128 * 128);
    expect(Math.max(...seg)).toBeLessThanOrEqual(5);
    expect(new Set(seg).size).toBeGreaterThan(1);
  });

  it('a label map loaded after Resize is packed at the original size, one loaded before at the input size', async () => {
    const pipe = (after: boolean) => {
      const load = { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true };
      const resize = { type: 'Resize', scale: [64, 64], keepRatio: true };
      return [
        { type: 'LoadImageFromFile' },
        ...(after ? [resize, load] : [load, resize]),
        { type: 'PackSegInputs' },
      ];
    };
    const shapes: number[][] = [];
    for (const after of [true, false]) {
      const ds = new VOCSegDataset({
        dataRoot: t.dir,
        annFile: 'ImageSets/Segmentation/val.txt',
        testMode: true,
        pipeline: pipe(after),
      });
      const s = (await ds.get(0)) as any;
      const g = s.dataSample.gtSemSeg;
      expect(g.data.length).toBe(g.height * g.width);
      expect([s.inputs.height, s.inputs.width]).toEqual([64, 64]);
      shapes.push([g.height, g.width]);
    }
    expect(shapes).toEqual([
      [128, 128],
      [64, 64],
    ]);
  });

  it('makes ~1000 images quickly', async () => {
    // Timing is loose: the machine is shared. The note in the report has the quiet figure.
    const big = tempDir();
    try {
      const t0 = performance.now();
      const r = await smallSynthetic(big.dir, 150, 50, 256, 9);
      const ms = performance.now() - t0;
      expect(r.images).toHaveLength(200);
      expect(ms).toBeLessThan(20_000);
      const sizes = r.images.flatMap((i) =>
        i.objects.map((o) => Math.max(o.bbox[2] - o.bbox[0], o.bbox[3] - o.bbox[1])),
      );
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(112);
      expect(new Set(r.images.flatMap((i) => i.objects.map((o) => o.label))).size).toBe(5);
    } finally {
      big.cleanup();
    }
  });
});
