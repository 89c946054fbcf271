import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  annToRle,
  countsToString,
  polygonsToRle,
  rleArea,
  rleDecode,
  rleEncode,
  rleFrBbox,
  rleFrPoly,
  rleIou,
  rleMerge,
  rleToBbox,
  stringToCounts,
  type RLE,
} from '../../src/masks/index.js';

const fx = JSON.parse(
  readFileSync(new URL('../fixtures/masks/mask_api.json', import.meta.url), 'utf8'),
);

const bits = (m: Uint8Array) => Array.from(m).join('');

describe('rle encode/decode (pycocotools fixture)', () => {
  it.each(fx.encode.map((c: any, i: number) => [i, c]) as [number, any][])('case %i', (_i, c) => {
    const mask = Uint8Array.from(c.mask as string, (ch) => (ch === '1' ? 1 : 0));
    const rle = rleEncode(mask, c.h, c.w);
    expect(rle).toEqual(c.rle);
    expect(bits(rleDecode(c.rle))).toBe(c.mask);
    expect(rleArea(c.rle)).toBe(c.area);
    expect(rleToBbox(c.rle)).toEqual(c.bbox);
  });

  it('big masks with multi-character codes', () => {
    for (const c of fx.big) {
      const m = new Uint8Array(c.h * c.w);
      for (const [y0, y1, x0, x1] of c.rects)
        for (let y = y0; y < y1; y++) m.fill(1, y * c.w + x0, y * c.w + x1);
      expect(rleEncode(m, c.h, c.w)).toEqual(c.rle);
      expect(rleArea(c.rle)).toBe(c.area);
      expect(rleToBbox(c.rle)).toEqual(c.bbox);
      // (toEqual on millions of elements is slow; compare the bytes)
      expect(Buffer.compare(rleDecode(c.rle), m)).toBe(0);
    }
  });

  it('column-major order option', () => {
    const c = fx.encode[2];
    const rowMajor = Uint8Array.from(c.mask as string, (ch) => (ch === '1' ? 1 : 0));
    const f = rleDecode(c.rle, 'F');
    expect(rleEncode(f, c.h, c.w, 'F')).toEqual(c.rle);
    expect(f).not.toEqual(rowMajor);
  });

  it('string codec round trip, including large and negative deltas', () => {
    const cnts = [0, 5, 3_000_000, 1, 70_000_000, 2, 1, 4_000_000_000, 0, 12];
    const s = countsToString(cnts);
    expect(Array.from(stringToCounts(s))).toEqual(cnts);
    expect(countsToString([1, 2, 3, 4])).toBe('1232');
  });

  it('rejects malformed input', () => {
    expect(() => rleDecode({ size: [2, 2], counts: [1, 9] })).toThrow(/more than height\*width/);
    expect(() => rleArea({ size: [2] as any, counts: '1' })).toThrow(/size/);
    expect(() => rleEncode(new Uint8Array(3), 2, 2)).toThrow(/height\*width/);
  });
});

describe('merge / iou (pycocotools fixture)', () => {
  it('merge union and intersection', () => {
    for (const c of fx.merge) {
      expect(rleMerge(c.rles)).toEqual(c.union);
      expect(rleMerge(c.rles, true)).toEqual(c.intersect);
    }
  });
  it('rle iou with crowd', () => {
    for (const c of fx.iou) expect(rleIou(c.dt, c.gt, c.iscrowd)).toEqual(c.iou);
  });
  it('masks of different sizes: iou -1 and an empty merge, as maskApi', () => {
    const a = rleEncode(new Uint8Array(9).fill(1), 3, 3);
    const b = rleEncode(new Uint8Array(12).fill(1), 3, 4);
    expect(rleIou([a], [b], [0])).toEqual([[-1]]);
    expect(rleMerge([a, b])).toEqual({ size: [0, 0], counts: '' });
    expect(rleIou([], [b], [0])).toEqual([]);
    expect(() => rleIou([a], [[0, 0, 1, 1]], [0])).toThrow(/both be boxes or both be RLEs/);
  });
  it('box iou with crowd', () => {
    for (const c of fx.bboxIou) expect(rleIou(c.dt, c.gt, c.iscrowd)).toEqual(c.iou);
  });
});

describe('polygons and boxes (pycocotools fixture)', () => {
  it.each(fx.polygons.map((c: any, i: number) => [i, c]) as [number, any][])(
    'polygon case %i',
    (_i, c) => {
      c.polygons.forEach((p: number[], j: number) =>
        expect(rleFrPoly(p, c.h, c.w)).toEqual(c.parts[j]),
      );
      const rle = polygonsToRle(c.polygons, c.h, c.w);
      expect(rle).toEqual(c.rle);
      expect(annToRle(c.polygons, c.h, c.w)).toEqual(c.rle);
      expect(rleArea(rle)).toBe(c.area);
      expect(rleToBbox(rle)).toEqual(c.bbox);
    },
  );
  it('boxes', () => {
    for (const c of fx.frBbox) expect(rleFrBbox(c.bbox, c.h, c.w)).toEqual(c.rle);
  });
  it('uncompressed RLE', () => {
    for (const c of fx.uncompressed) {
      expect(annToRle(c.uncompressed, 0, 0)).toEqual(c.rle);
      expect(rleArea(c.uncompressed)).toBe(rleArea(c.rle as RLE));
    }
  });
});
