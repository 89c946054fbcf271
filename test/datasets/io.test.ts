import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeIndexedPng,
  encodeIndexedPng,
  headerSize,
  readImageSize,
  vocPalette,
} from '../../src/datasets/index.js';
import { parseImageHeader } from '../../src/datasets/image_header.js';
import {
  classColour,
  drawDetections,
  inputsToRgb,
  writeImage,
} from '../../src/visualization/index.js';
import { tempDir } from './helpers.js';

const t = tempDir('tfdet-io-');
afterAll(() => t.cleanup());

describe('indexed PNG', () => {
  it('round-trips indices, and sharp sees the VOC palette colours', async () => {
    const w = 37,
      h = 11;
    const idx = Uint8Array.from({ length: w * h }, (_, i) => (i % 23 === 0 ? 255 : i % 21));
    const png = encodeIndexedPng(idx, w, h);
    const back = decodeIndexedPng(png);
    expect([back.width, back.height]).toEqual([w, h]);
    expect(Buffer.from(back.data).equals(Buffer.from(idx))).toBe(true);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const pal = vocPalette();
    expect(Array.from(pal.subarray(3, 6))).toEqual([128, 0, 0]);
    expect(Array.from(pal.subarray(255 * 3, 256 * 3))).toEqual([224, 224, 192]);
    for (const i of [0, 5, 23, 200])
      for (let c = 0; c < 3; c++) expect(data[i * info.channels + c]).toBe(pal[idx[i] * 3 + c]);
  });

  it('reads greyscale and low bit-depth label maps written by sharp', async () => {
    const grey = Buffer.from(Uint8Array.from({ length: 40 }, (_, i) => i));
    const png = await sharp(grey, { raw: { width: 8, height: 5, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect(Array.from(decodeIndexedPng(png).data)).toEqual(Array.from(grey));
    const pal4 = await sharp(
      Buffer.from(new Uint8Array(16 * 4 * 3).map((_, i) => (i % 3 === 0 ? 200 : 0))),
      { raw: { width: 16, height: 4, channels: 3 } },
    )
      .png({ palette: true, colours: 4 })
      .toBuffer();
    const d = decodeIndexedPng(pal4);
    expect([d.width, d.height]).toEqual([16, 4]);
    expect(new Set(d.data).size).toBe(1);
  });

  it('rejects non-PNG and colour PNG label maps clearly', async () => {
    expect(() => decodeIndexedPng(Buffer.from('hello'), 'seg/1.png')).toThrow(
      'seg/1.png: not a PNG file',
    );
    const rgb = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    expect(() => decodeIndexedPng(rgb, 'x.png')).toThrow(
      /x\.png: expected a palette or greyscale PNG, got colour type 2/,
    );
  });
});

describe('image headers', () => {
  it('size, channels and EXIF orientation from JPEG and PNG headers', async () => {
    const raw = { raw: { width: 30, height: 20, channels: 3 as const } };
    const px = Buffer.alloc(30 * 20 * 3, 90);
    const jpg = await sharp(px, raw).jpeg().withMetadata({ orientation: 8 }).toBuffer();
    expect(parseImageHeader(jpg)).toEqual({
      format: 'jpeg',
      width: 30,
      height: 20,
      channels: 3,
      depth: 8,
      orientation: 8,
    });
    const grey = await sharp(px, raw).toColourspace('b-w').jpeg().toBuffer();
    expect(parseImageHeader(grey)).toMatchObject({ channels: 1, orientation: 1 });
    const png = await sharp(px, raw).ensureAlpha().png().toBuffer();
    expect(parseImageHeader(png)).toMatchObject({
      format: 'png',
      width: 30,
      height: 20,
      channels: 4,
      depth: 8,
    });
    expect(headerSize(jpg)).toEqual({ width: 30, height: 20 });
    expect(parseImageHeader(Buffer.from('GIF89a'))).toBeNull();
    const f = join(t.dir, 'h.jpg');
    writeFileSync(f, jpg);
    expect(readImageSize(f)).toEqual({ width: 30, height: 20 });
    expect(readImageSize(join(t.dir, 'missing.jpg'))).toBeNull();
  });
});

describe('visualization', () => {
  it('draws boxes, masks and labels; skips low scores', async () => {
    const W = 64,
      H = 48;
    const img = { data: new Uint8Array(W * H * 3), width: W, height: H, channels: 3 };
    const mask = new Uint8Array(W * H);
    for (let y = 30; y < 40; y++) for (let x = 40; x < 60; x++) mask[y * W + x] = 1;
    const out = await drawDetections(
      img,
      {
        bboxes: [
          [5, 20, 30, 44],
          [40, 30, 60, 40],
        ],
        labels: [0, 1],
        scores: [0.9, 0.8],
        masks: [new Uint8Array(W * H), mask],
        classNames: ['a', 'b'],
        scoreThr: 0.5,
      },
      { text: false },
    );
    const at = (x: number, y: number): number[] =>
      Array.from(out.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
    expect(at(5, 30)).toEqual(classColour(0));
    expect(at(10, 30)).toEqual([0, 0, 0]);
    const c1 = classColour(1);
    expect(at(50, 35)).toEqual(c1.map((v) => Math.round(v * 0.45)));
    const low = await drawDetections(img, {
      bboxes: [5, 20, 30, 44],
      labels: [0],
      scores: [0.1],
      scoreThr: 0.5,
    });
    expect(low.data.every((v) => v === 0)).toBe(true);
    const withText = await drawDetections(img, {
      bboxes: [[5, 20, 30, 44]],
      labels: [0],
      scores: [0.9],
      classNames: ['cat'],
    });
    expect([withText.width, withText.height, withText.channels]).toEqual([W, H, 3]);
    const file = join(t.dir, 'v.png');
    await writeImage(withText, file);
    expect((await sharp(file).metadata()).width).toBe(W);
  });

  it('undoes Normalize for display', () => {
    const inputs = {
      data: Float32Array.of((200 - 10) / 2, (100 - 20) / 4, (50 - 30) / 5),
      width: 1,
      height: 1,
      channels: 3,
    };
    expect(
      Array.from(
        inputsToRgb(inputs, { imgNormCfg: { mean: [10, 20, 30], std: [2, 4, 5], toRgb: true } })
          .data,
      ),
    ).toEqual([200, 100, 50]);
  });
});

describe('tools', () => {
  const tsx = join(import.meta.dirname, '../../node_modules/.bin/tsx');
  const root = join(import.meta.dirname, '../..');
  it('make_synthetic and browse_dataset run end to end', () => {
    const out = join(t.dir, 'syn');
    expect(
      execFileSync(tsx, ['tools/make_synthetic.ts', '--help'], { cwd: root, encoding: 'utf8' }),
    ).toMatch(/--num-train/);
    const log = execFileSync(
      tsx,
      [
        'tools/make_synthetic.ts',
        '--out',
        out,
        '--num-train',
        '4',
        '--num-val',
        '2',
        '--size',
        '64',
        '--seed',
        '1',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(log).toMatch(/wrote 6 images/);
    expect(existsSync(join(out, 'annotations/instances_val.json'))).toBe(true);
    const browse = join(t.dir, 'browse');
    execFileSync(
      tsx,
      [
        'tools/browse_dataset.ts',
        '--type',
        'CocoDataset',
        '--data-root',
        out,
        '--ann-file',
        'annotations/instances_train.json',
        '--img-prefix',
        'JPEGImages',
        '--masks',
        '--aug',
        '--num',
        '2',
        '--out',
        browse,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(readdirSync(browse).filter((f) => f.endsWith('.png'))).toHaveLength(2);
    expect(
      readFileSync(join(browse, readdirSync(browse)[0]))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });
});
