import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CocoMetric, masksToRle } from '../../src/evaluation/index.js';
import { annToRle, rleDecode, rleEncode, rleIou } from '../../src/masks/index.js';
import { METRICS } from '../../src/registry.js';

// One 20x30 image with a polygon square (category 1) and an RLE L-shape (category 2).
const H = 20,
  W = 30;
const lShape = new Uint8Array(H * W);
for (let y = 4; y < 16; y++)
  for (let x = 16; x < 28; x++) if (y >= 12 || x < 20) lShape[y * W + x] = 1;
const polygon = [[2, 2, 12, 2, 12, 10, 2, 10]];
const gt = {
  images: [{ id: 7, width: W, height: H, file_name: 'a.png' }],
  categories: [
    { id: 1, name: 'square' },
    { id: 2, name: 'ell' },
  ],
  annotations: [
    {
      id: 1,
      image_id: 7,
      category_id: 1,
      bbox: [2, 2, 10, 8],
      area: 80,
      iscrowd: 0,
      segmentation: polygon,
    },
    {
      id: 2,
      image_id: 7,
      category_id: 2,
      bbox: [16, 4, 12, 12],
      area: 80,
      iscrowd: 0,
      segmentation: rleEncode(lShape, H, W),
    },
  ],
};
const dir = mkdtempSync(join(tmpdir(), 'segm-'));
const annFile = join(dir, 'gt.json');
writeFileSync(annFile, JSON.stringify(gt));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The gt bitmaps, through the COCO RLE code (polygons rasterised as pycocotools does). */
const gtBits = gt.annotations.map((a) => rleDecode(annToRle(a.segmentation as never, H, W)));
const shift = (m: Uint8Array, dx: number): Uint8Array => {
  const o = new Uint8Array(m.length);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) if (m[y * W + x] && x + dx < W) o[y * W + x + dx] = 1;
  return o;
};

/** A Mask R-CNN style prediction sample: flat boxes, typed arrays, full-size bitmaps. */
const sample = (masks: Uint8Array[]) => ({
  imgId: 7,
  oriShape: [H, W] as [number, number],
  predInstances: {
    bboxes: Float32Array.of(2, 2, 12, 10, 16, 4, 28, 16),
    scores: Float32Array.of(0.9, 0.8),
    labels: Int32Array.of(0, 1),
    masks,
  },
});

const run = (
  masks: Uint8Array[],
  metric: 'segm' | ('bbox' | 'segm')[] = 'segm',
): Record<string, number> => {
  const m = METRICS.build<CocoMetric>({ type: 'CocoMetric', annFile, metric });
  m.datasetMeta = { classes: ['square', 'ell'] };
  m.process({}, [sample(masks)]);
  return m.compute();
};

describe('CocoMetric segm with bitmap masks (Mask R-CNN predictions)', () => {
  it('perfect masks give segm AP 1', () => {
    const r = run(gtBits);
    expect(r['coco/segm_mAP']).toBeCloseTo(1, 9);
    expect(r['coco/segm_mAP_50']).toBeCloseTo(1, 9);
  });

  it('shifted masks score by their mask IoU: AP at a threshold is 1 when IoU >= it (checked with rleIou)', () => {
    const shifted = [shift(gtBits[0], 2), shift(gtBits[1], 4)];
    const ious = shifted.map(
      (m, i) =>
        rleIou(
          [rleEncode(m, H, W)],
          [annToRle(gt.annotations[i].segmentation as never, H, W)],
          [0],
        )[0][0],
    );
    expect(ious[0]).toBeGreaterThan(0.6);
    expect(ious[1]).toBeLessThan(0.75);
    const thrs = Array.from({ length: 10 }, (_, k) => 0.5 + 0.05 * k);
    const ap = (iou: number) => thrs.filter((t) => iou >= t).length / 10;
    const r = run(shifted);
    expect(r['coco/segm_mAP']).toBeCloseTo((ap(ious[0]) + ap(ious[1])) / 2, 9);
    expect(r['coco/segm_mAP']).toBeLessThan(1);
    expect(r['coco/segm_mAP_75']).toBeCloseTo(
      ((ious[0] >= 0.75 ? 1 : 0) + (ious[1] >= 0.75 ? 1 : 0)) / 2,
      9,
    );
  });

  it("['bbox', 'segm'] reports both; the boxes are exact even when the masks are shifted", () => {
    const r = run([shift(gtBits[0], 3), gtBits[1]], ['bbox', 'segm']);
    expect(r['coco/bbox_mAP']).toBeCloseTo(1, 9);
    expect(r['coco/segm_mAP']).toBeLessThan(1);
    expect(r['coco/segm_mAP']).toBeGreaterThan(0.4);
  });

  it('encodes bitmaps as pycocotools does and rejects a wrong size or count', () => {
    expect(masksToRle([Uint8Array.of(0, 1, 1, 0, 1, 0)], { oriShape: [2, 3] }, 1, 1)).toEqual([
      { size: [2, 3], counts: '231' },
    ]);
    expect(masksToRle([{ size: [2, 3], counts: [2, 3, 1] }], { oriShape: [2, 3] }, 1, 1)).toEqual([
      { size: [2, 3], counts: '231' },
    ]);
    expect(() => masksToRle([new Uint8Array(5)], { oriShape: [2, 3] }, 4, 1)).toThrow(
      /img 4.*5 pixels.*2x3/,
    );
    expect(() => masksToRle([new Uint8Array(6)], {}, 4, 1)).toThrow(/oriShape/);
    expect(() => masksToRle([], { oriShape: [2, 3] }, 4, 1)).toThrow(/1 boxes but 0 masks/);
    const m = new CocoMetric({ annFile, metric: 'segm' });
    expect(() => m.process({}, [sample([gtBits[0]])])).toThrow(/2 boxes but 1 masks/);
  });
});
