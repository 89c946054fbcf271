import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Compose,
  DatasetError,
  Expand,
  FilterAnnotations,
  LoadAnnotations,
  LoadImageFromFile,
  MinIoURandomCrop,
  Normalize,
  PackDetInputs,
  Pad,
  PhotoMetricDistortion,
  RandomCrop,
  RandomFlip,
  RandomResize,
  Resize,
  hueSaturationMatrix,
  resolveImage,
  type DataSample,
  type PackedInputs,
} from '../../src/datasets/index.js';
import { TRANSFORMS } from '../../src/registry.js';
import { Rng } from '../../src/utils/random.js';
import { tempDir } from './helpers.js';

const W = 100,
  H = 80;
// Box 0: a red block; box 1: a green block; pixel (x, y) elsewhere encodes its coordinates as (x, y, 7).
const BOXES: [number, number, number, number][] = [
  [10, 20, 40, 50],
  [60, 5, 90, 30],
];

function coordImage(): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set([x, y, 7], (y * W + x) * 3);
  return px;
}

function boxMask(b: readonly number[]): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = b[1]; y < b[3]; y++) for (let x = b[0]; x < b[2]; x++) m[y * W + x] = 1;
  return m;
}

const t = tempDir('tfdet-tf-');
const PNG = join(t.dir, 'coord.png');
const SEG = join(t.dir, 'coord_seg.png');

function sample(extra: Partial<DataSample> = {}): DataSample {
  return {
    imgPath: PNG,
    imgId: 'coord',
    width: W,
    height: H,
    instances: BOXES.map((b, i) => ({
      bbox: [...b] as [number, number, number, number],
      bboxLabel: i,
      ignoreFlag: false,
      mask: undefined,
    })),
    ...extra,
  };
}

/** Load + annotations with bitmap masks of the boxes and a label map (box index + 1). */
async function loaded(lazy = true): Promise<DataSample> {
  const r = await new LoadImageFromFile({ lazy }).transform(sample());
  new LoadAnnotations().transform(r);
  r.gtMasks = { width: W, height: H, masks: BOXES.map(boxMask) };
  const seg = new Uint8Array(W * H);
  BOXES.forEach((b, i) => boxMask(b).forEach((v, k) => v && (seg[k] = i + 1)));
  r.gtSegMap = seg;
  return r;
}

function pixel(r: DataSample, x: number, y: number): number[] {
  const img = r.img!;
  const o = (y * img.width + x) * img.channels;
  return Array.from(img.data.subarray(o, o + 3));
}

/** Check that every instance's mask, box and label-map region agree (mask == box area, seg == mask). */
function expectAnnotationsAgree(r: DataSample): void {
  const { width: w, masks } = r.gtMasks!;
  masks.forEach((m, i) => {
    const b = r.gtBboxes!.subarray(i * 4, i * 4 + 4);
    let bad = 0;
    for (let k = 0; k < m.length; k++) {
      const x = k % w,
        y = Math.floor(k / w);
      const inBox = x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
      if (inBox !== (m[k] === 1)) bad++;
      if (m[k] && r.gtSegMap && r.gtSegMap[k] !== r.gtBboxesLabels![i] + 1) bad++;
    }
    expect(bad).toBe(0);
  });
}

beforeAll(async () => {
  writeFileSync(
    PNG,
    await sharp(coordImage(), { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
  writeFileSync(SEG, readFileSync(PNG));
});
afterAll(() => t.cleanup());

describe('LoadImageFromFile', () => {
  it('loads RGB with meta', async () => {
    const r = await loaded(false);
    expect(r.img!.data).toBeInstanceOf(Uint8Array);
    expect([r.img!.width, r.img!.height, r.img!.channels]).toEqual([W, H, 3]);
    expect(pixel(r, 33, 44)).toEqual([33, 44, 7]);
    expect(r).toMatchObject({
      oriShape: [H, W],
      imgShape: [H, W],
      scaleFactor: [1, 1],
      flip: false,
    });
  });

  it('applies EXIF orientation and converts grey and RGBA to RGB', async () => {
    const rot = join(t.dir, 'rot.jpg');
    // Orientation 6: stored landscape, shown rotated 90° clockwise -> portrait.
    await sharp(coordImage(), { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toFile(rot);
    const r = await new LoadImageFromFile({ lazy: false }).transform(sample({ imgPath: rot }));
    expect([r.img!.width, r.img!.height]).toEqual([H, W]);
    expect(r.oriShape).toEqual([W, H]);
    // Top-right of the shown image is the stored top-left (0, 0).
    const [R, G] = pixel(r, H - 1, 0);
    expect(R).toBeLessThan(4);
    expect(G).toBeLessThan(4);

    // Resize fused into the decode works in the oriented frame.
    const fused = await new LoadImageFromFile().transform(sample({ imgPath: rot }));
    await new Resize({ scale: [160, 160], keepRatio: true }).transform(fused);
    new RandomFlip({ prob: 1 }).transform(fused);
    const img = await resolveImage(fused);
    expect([img.width, img.height]).toEqual([128, 160]);
    expect(fused.scaleFactor).toEqual([1.6, 1.6]);
    // After the horizontal flip the stored top-left (0, 0) is at the top-left again.
    const [R0, G0] = pixel(fused, 0, 0);
    expect(R0).toBeLessThan(6);
    expect(G0).toBeLessThan(6);

    const grey = join(t.dir, 'grey.png');
    await sharp(Buffer.alloc(20 * 10, 77), { raw: { width: 20, height: 10, channels: 1 } })
      .png()
      .toFile(grey);
    const g = await new LoadImageFromFile({ lazy: false }).transform(sample({ imgPath: grey }));
    expect([g.img!.channels, ...pixel(g, 3, 3)]).toEqual([3, 77, 77, 77]);

    const rgba = join(t.dir, 'rgba.png');
    await sharp(Buffer.from(new Uint8Array(20 * 10 * 4).map((_, i) => [10, 20, 30, 128][i % 4])), {
      raw: { width: 20, height: 10, channels: 4 },
    })
      .png()
      .toFile(rgba);
    const a = await new LoadImageFromFile({ lazy: false }).transform(sample({ imgPath: rgba }));
    expect([a.img!.channels, ...pixel(a, 5, 5)]).toEqual([3, 10, 20, 30]);
  });

  it('a truncated JPEG is one clear error naming the file', async () => {
    const ok = await sharp(coordImage(), { raw: { width: W, height: H, channels: 3 } })
      .jpeg()
      .toBuffer();
    const bad = join(t.dir, 'truncated.jpg');
    writeFileSync(bad, ok.subarray(0, Math.floor(ok.length * 0.6)));
    const p = new Compose([{ type: 'LoadImageFromFile' }, { type: 'PackDetInputs' }]);
    const err = await p.run(sample({ imgPath: bad })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(
      new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot decode image`),
    );
    const garbage = join(t.dir, 'garbage.jpg');
    writeFileSync(garbage, 'not an image');
    await expect(p.run(sample({ imgPath: garbage }))).rejects.toThrow(
      /garbage\.jpg: cannot decode image/,
    );
  });
});

describe('RandomFlip', () => {
  for (const direction of ['horizontal', 'vertical', 'diagonal'] as const) {
    it(`${direction}: pixels, boxes, masks and label map move together; twice = identity`, async () => {
      const f = new RandomFlip({ prob: 1, direction });
      const r = await loaded(false);
      const before = {
        img: Buffer.from(r.img!.data),
        boxes: [...r.gtBboxes!],
        masks: r.gtMasks!.masks.map((m) => Buffer.from(m)),
        seg: Buffer.from(r.gtSegMap!),
      };
      await f.transform(r);
      expect(r.flip).toBe(true);
      expect(r.flipDirection).toBe(direction);
      expectAnnotationsAgree(r);
      // The pixel now at (x, y) came from the mirrored position.
      const [x, y] = [13, 27];
      const sx = direction === 'vertical' ? x : W - 1 - x,
        sy = direction === 'horizontal' ? y : H - 1 - y;
      expect(pixel(r, x, y)).toEqual([sx, sy, 7]);
      const b = r.gtBboxes!;
      const want =
        direction === 'vertical'
          ? [10, H - 50, 40, H - 20]
          : direction === 'horizontal'
            ? [W - 40, 20, W - 10, 50]
            : [W - 40, H - 50, W - 10, H - 20];
      expect([...b.subarray(0, 4)]).toEqual(want);
      await f.transform(r);
      expect(Buffer.from(r.img!.data).equals(before.img)).toBe(true);
      expect([...r.gtBboxes!]).toEqual(before.boxes);
      r.gtMasks!.masks.forEach((m, i) => expect(Buffer.from(m).equals(before.masks[i])).toBe(true));
      expect(Buffer.from(r.gtSegMap!).equals(before.seg)).toBe(true);
    });
  }

  it('flip fused into the decode equals flip after it; prob 0 never flips; probabilities per direction', async () => {
    const fused = await loaded(true);
    await new RandomFlip({ prob: 1 }).transform(fused);
    await resolveImage(fused);
    const after = await loaded(false);
    await new RandomFlip({ prob: 1 }).transform(after);
    expect(Buffer.from(fused.img!.data).equals(Buffer.from(after.img!.data))).toBe(true);
    const none = await loaded(false);
    await new RandomFlip({ prob: 0 }).transform(none);
    expect(none.flip).toBe(false);
    const f = new RandomFlip({ prob: [0.25, 0.5], direction: ['horizontal', 'vertical'] });
    const counts: Record<string, number> = {};
    const rng = new Rng(3);
    for (let i = 0; i < 2000; i++) {
      const r = f.transform({
        ...sample(),
        img: { data: new Uint8Array(3), width: 1, height: 1, channels: 3 },
        rng,
      }) as DataSample;
      counts[String(r.flipDirection)] = (counts[String(r.flipDirection)] ?? 0) + 1;
    }
    expect(counts.horizontal / 2000).toBeCloseTo(0.25, 1);
    expect(counts.vertical / 2000).toBeCloseTo(0.5, 1);
    expect(
      () => new RandomFlip({ prob: [0.7, 0.7], direction: ['horizontal', 'vertical'] }),
    ).toThrow(/more than 1/);
  });
});

describe('Resize', () => {
  it('keeps the ratio, scales boxes by the recorded factor, masks and map follow', async () => {
    for (const lazy of [true, false]) {
      const r = await loaded(lazy);
      await new Resize({ scale: [400, 200], keepRatio: true }).transform(r);
      // min(400/100, 200/80) = 2.5 -> 250x200
      expect(r.imgShape).toEqual([200, 250]);
      expect(r.scaleFactor).toEqual([2.5, 2.5]);
      expect([...r.gtBboxes!.subarray(0, 4)]).toEqual(BOXES[0].map((v) => v * 2.5));
      const img = await resolveImage(r);
      expect([img.width, img.height]).toEqual([250, 200]);
      expectAnnotationsAgree(r);
      // Pixel (x, y) of the resized image shows original coordinates ~ (x / 2.5, y / 2.5).
      const [R, G] = pixel(r, 150, 100);
      expect(Math.abs(R - 150 / 2.5)).toBeLessThanOrEqual(1);
      expect(Math.abs(G - 100 / 2.5)).toBeLessThanOrEqual(1);
    }
  });

  it('fixed scale without keepRatio; factors compose over two resizes; mmcv rounding', async () => {
    const r = await loaded(false);
    await new Resize({ scale: [50, 160] }).transform(r);
    expect(r.scaleFactor).toEqual([0.5, 2]);
    expect([...r.gtBboxes!.subarray(0, 4)]).toEqual([5, 40, 20, 100]);
    await new Resize({ scaleFactor: 2 }).transform(r);
    expect(r.scaleFactor).toEqual([1, 4]);
    expect(r.imgShape).toEqual([320, 100]);
    expect(new Resize({ scale: [1333, 800], keepRatio: true }).outputSize(500, 375)).toEqual([
      1067, 800,
    ]);
    expect(() => new Resize({})).toThrow(/scale/);
  });

  it('RandomResize draws edges within the range', async () => {
    const rr = new RandomResize({
      scale: [
        [100, 60],
        [200, 120],
      ],
      keepRatio: false,
    });
    const rng = new Rng(0);
    for (let i = 0; i < 20; i++) {
      const [w, h] = rr.sampleScale(rng);
      expect(w).toBeGreaterThanOrEqual(100);
      expect(w).toBeLessThanOrEqual(200);
      expect(h).toBeGreaterThanOrEqual(60);
      expect(h).toBeLessThanOrEqual(120);
    }
    const r = await loaded();
    r.rng = new Rng(5);
    await rr.transform(r);
    const [h, w] = r.imgShape!;
    expect(r.scaleFactor).toEqual([w / W, h / H]);
    expect(r.gtBboxes![2]).toBeCloseTo(40 * (w / W), 4);
  });
});

/** Offset of a crop of the coordinate image: its top-left pixel encodes the source position. */
function cropOffset(r: DataSample): [number, number] {
  const [x, y] = pixel(r, 0, 0);
  return [x, y];
}

describe('crops', () => {
  it('RandomCrop: pixels, boxes, masks and map stay aligned; boxes clipped; empty crops re-drawn', async () => {
    let nulls = 0,
      kept = 0;
    for (let seed = 0; seed < 30; seed++) {
      const r = await loaded();
      r.rng = new Rng(seed);
      const out = await new RandomCrop({ cropSize: [50, 40] }).transform(r);
      if (!out) {
        nulls++;
        continue;
      }
      kept++;
      expect(out.imgShape).toEqual([40, 50]);
      const [ox, oy] = cropOffset(out);
      // Every kept box is the original shifted by the offset and clipped to the crop.
      const b = out.gtBboxes!;
      for (let i = 0; i < b.length / 4; i++) {
        const src = BOXES[out.gtBboxesLabels![i]];
        expect([...b.subarray(i * 4, i * 4 + 4)]).toEqual([
          Math.max(src[0] - ox, 0),
          Math.max(src[1] - oy, 0),
          Math.min(src[2] - ox, 50),
          Math.min(src[3] - oy, 40),
        ]);
      }
      // A box that overlaps the crop is kept.
      const overlapping = BOXES.filter(
        (s) => s[2] > ox && s[0] < ox + 50 && s[3] > oy && s[1] < oy + 40,
      ).length;
      expect(b.length / 4).toBe(overlapping);
      expectAnnotationsAgree(out);
    }
    expect(kept).toBeGreaterThan(10);
    expect(nulls + kept).toBe(30);
  });

  it('MinIoURandomCrop keeps exactly the boxes whose centre is inside (mmdetection rule)', async () => {
    let cropped = 0;
    for (let seed = 0; seed < 40; seed++) {
      const r = await loaded();
      r.rng = new Rng(seed);
      const out = await new MinIoURandomCrop({ minIous: [0.1, 0.3], minCropSize: 0.3 }).transform(
        r,
      );
      const [h, w] = out.imgShape!;
      if (w === W && h === H) continue;
      cropped++;
      const [ox, oy] = cropOffset(out);
      const inside = BOXES.map((s, i) => [s, i] as const).filter(([s]) => {
        const cx = (s[0] + s[2]) / 2,
          cy = (s[1] + s[3]) / 2;
        return cx > ox && cy > oy && cx < ox + w && cy < oy + h;
      });
      expect(Array.from(out.gtBboxesLabels!)).toEqual(inside.map(([, i]) => i));
      inside.forEach(([s], k) => {
        expect([...out.gtBboxes!.subarray(k * 4, k * 4 + 4)]).toEqual([
          Math.max(s[0] - ox, 0),
          Math.max(s[1] - oy, 0),
          Math.min(s[2] - ox, w),
          Math.min(s[3] - oy, h),
        ]);
      });
      expectAnnotationsAgree(out);
    }
    expect(cropped).toBeGreaterThan(5);
  });

  it('Expand places the image on a mean canvas; boxes move with it', async () => {
    const r = await loaded();
    r.rng = new Rng(1);
    const out = await new Expand({ mean: [1, 2, 3], ratioRange: [2, 3], prob: 1 }).transform(r);
    const [h, w] = out.imgShape!;
    expect(w).toBeGreaterThanOrEqual(2 * W);
    const b = out.gtBboxes!;
    const [left, top] = [b[0] - 10, b[1] - 20];
    expect(pixel(out, left + 33, top + 44)).toEqual([33, 44, 7]);
    expect(pixel(out, left === 0 ? w - 1 : 0, top === 0 ? h - 1 : 0)).toEqual([1, 2, 3]);
    expectAnnotationsAgree(out);
    expect(out.gtSegMap![0] === 255 || left === 0).toBe(true);
  });
});

describe('Normalize, PhotoMetricDistortion, Pad, Pack', () => {
  const mean = [10, 20, 30],
    std = [2, 4, 5];

  it('Pad to a divisor: image 0, masks 0, label map 255; Normalize values exact (RGB and BGR)', async () => {
    for (const toRgb of [true, false]) {
      const r = await loaded();
      new Normalize({ mean, std, toRgb }).transform(r);
      await new Pad({ sizeDivisor: 32 }).transform(r);
      expect(r.padShape).toEqual([96, 128]);
      expect(r.imgShape).toEqual([H, W]);
      const img = r.img!;
      expect(img.data).toBeInstanceOf(Float32Array);
      const p = pixel(r, 33, 44);
      const src = toRgb ? [33, 44, 7] : [7, 44, 33];
      p.forEach((v, c) => expect(v).toBeCloseTo((src[c] - mean[c]) / std[c], 5));
      expect(pixel(r, 120, 90)).toEqual([0, 0, 0]);
      expect(r.gtSegMap![90 * 128 + 120]).toBe(255);
      expect(r.gtMasks!.width).toBe(128);
      expectAnnotationsAgree(r);
    }
  });

  it('a pipeline that ends before the packer returns final pixels', async () => {
    const r = (await new Compose([
      { type: 'LoadImageFromFile' },
      { type: 'RandomFlip', prob: 1 },
      { type: 'Normalize', mean, std },
    ]).run(sample())) as DataSample;
    expect(r.img!.data).toBeInstanceOf(Float32Array);
    expect(pixel(r, 0, 0).map((v) => +v.toFixed(4))).toEqual(
      [(W - 1 - 10) / 2, (0 - 20) / 4, (7 - 30) / 5].map((v) => +v.toFixed(4)),
    );
  });

  it('the loader path (deferred colour pass) gives the same pixels as the eager one', async () => {
    const pipe = (): Compose =>
      new Compose([
        { type: 'LoadImageFromFile' },
        { type: 'LoadAnnotations' },
        { type: 'RandomFlip', prob: 1 },
        { type: 'PhotoMetricDistortion' },
        { type: 'Normalize', mean, std },
        { type: 'Pad', sizeDivisor: 32 },
        { type: 'PackDetInputs' },
      ]);
    const eager = (await pipe().run({ ...sample(), rng: new Rng(9) })) as PackedInputs;
    const deferred = (await pipe().run({
      ...sample(),
      rng: new Rng(9),
      deferPixels: true,
    })) as PackedInputs;
    expect(deferred.inputs.deferred).toBeDefined();
    const { collateRaw } = await import('../../src/datasets/loader.js');
    const b = collateRaw([deferred]);
    expect(b.shape).toEqual([1, 96, 128, 3]);
    let maxDiff = 0;
    for (let i = 0; i < b.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(b.data[i] - eager.inputs.data[i]));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('PhotoMetricDistortion: greys stay grey under hue/saturation; brightness shifts; deterministic per seed', async () => {
    const M = hueSaturationMatrix(18, 1.4);
    for (let r = 0; r < 3; r++) expect(M[r * 3] + M[r * 3 + 1] + M[r * 3 + 2]).toBeCloseTo(1, 6);
    const I = hueSaturationMatrix(0, 1);
    I.forEach((v, i) => expect(v).toBeCloseTo([1, 0, 0, 0, 1, 0, 0, 0, 1][i], 6));
    const pmd = new PhotoMetricDistortion({ brightnessDelta: 32 });
    const a = pmd.sampleMap(new Rng(4)),
      b = pmd.sampleMap(new Rng(4));
    expect([...a.m, ...a.t]).toEqual([...b.m, ...b.t]);
    const onlyBrightness = new PhotoMetricDistortion({
      contrastRange: [1, 1],
      saturationRange: [1, 1],
      hueDelta: 0,
    });
    let shifted = 0;
    for (let s = 0; s < 20; s++) {
      const m = onlyBrightness.sampleMap(new Rng(s));
      const d = m.t[0];
      expect(Math.abs(d)).toBeLessThanOrEqual(32);
      if (d !== 0) shifted++;
      const sorted = [...m.m].sort((x, y) => y - x);
      sorted.slice(0, 3).forEach((v) => expect(v).toBeCloseTo(1, 9));
    }
    expect(shifted).toBeGreaterThan(3);
  });

  it('FilterAnnotations and PackDetInputs split ignored instances', async () => {
    const r = await loaded(false);
    r.gtIgnoreFlags![1] = 1;
    const packed = await new PackDetInputs().transform(r);
    expect(Array.from(packed.dataSample.gtInstances.labels)).toEqual([0]);
    expect(Array.from(packed.dataSample.ignoredInstances.labels)).toEqual([1]);
    expect(packed.dataSample.ignoredInstances.masks!.masks).toHaveLength(1);
    expect(packed.dataSample.metainfo).toMatchObject({
      imgId: 'coord',
      oriShape: [H, W],
      imgShape: [H, W],
      padShape: [H, W],
      flip: false,
    });
    const s = await loaded(false);
    s.gtBboxes!.set([5, 5, 5.5, 30], 0);
    const f = new FilterAnnotations({ minGtBboxWh: [1, 1] }).transform(s)!;
    expect(Array.from(f.gtBboxesLabels!)).toEqual([1]);
    expect(f.gtMasks!.masks).toHaveLength(1);
    const e = await loaded(false);
    e.gtBboxes!.fill(0);
    expect(new FilterAnnotations().transform(e)).toBeNull();
  });

  it('every transform is registered and validates its options', () => {
    for (const n of [
      'LoadImageFromFile',
      'LoadAnnotations',
      'Resize',
      'RandomResize',
      'RandomFlip',
      'RandomCrop',
      'MinIoURandomCrop',
      'Expand',
      'PhotoMetricDistortion',
      'Normalize',
      'Pad',
      'FilterAnnotations',
      'PackDetInputs',
      'PackSegInputs',
    ]) {
      expect(TRANSFORMS.has(n)).toBe(true);
    }
    expect(() =>
      TRANSFORMS.build(
        { type: 'Resize', scale: [10, 10], keep_ratio: true },
        { path: 'pipeline.2' },
      ),
    ).toThrow(/pipeline\.2\.keep_ratio: expected a known key.*did you mean 'keepRatio'/);
    expect(() => new Compose([{ type: 'RandomFlp' }])).toThrow(
      /pipeline\.0\.type: 'RandomFlp' is not registered.*RandomFlip/,
    );
  });
});
