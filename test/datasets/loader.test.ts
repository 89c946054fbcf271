import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseDetDataset,
  DataLoader,
  VOCDataset,
  collateRaw,
  type DataInfo,
  type PackedInputs,
} from '../../src/datasets/index.js';
import { SHAPES, smallSynthetic, tempDir } from './helpers.js';
import { imgMeta } from '../helpers/meta.js';

const t = tempDir('tfdet-loader-');
const pipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations' },
  {
    type: 'RandomResize',
    scale: [
      [80, 80],
      [112, 112],
    ],
    keepRatio: true,
  },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'PhotoMetricDistortion' },
  { type: 'Normalize', mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
let ds: VOCDataset;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await smallSynthetic(t.dir, 10, 2, 96, 21);
  ds = new VOCDataset({
    dataRoot: t.dir,
    annFile: 'ImageSets/Main/train.txt',
    metainfo: { classes: SHAPES },
    pipeline,
  });
});
afterAll(() => t.cleanup());

async function collect(
  loader: DataLoader,
  epoch: number,
  start = 0,
): Promise<{ idx: number[]; sum: number; shape: number[]; boxes: number[][] }[]> {
  const out = [];
  for await (const b of loader.rawBatches(epoch, start)) {
    out.push({
      idx: b.indices,
      sum: b.data.reduce((a, v) => a + v, 0),
      shape: b.shape,
      boxes: b.dataSamples.map((s) => [...s.gtInstances.bboxes]),
    });
  }
  return out;
}

describe('DataLoader', () => {
  it('batches NHWC float32 tensors padded to the batch maximum and the divisor', async () => {
    const loader = new DataLoader({ dataset: ds, batchSize: 4, shuffle: true, seed: 1 });
    const batches = [];
    for await (const b of loader.epochBatches(0)) batches.push(b);
    expect(batches.map((b) => b.inputs.shape[0])).toEqual([4, 4, 2]);
    for (const b of batches) {
      expect(b.inputs.dtype).toBe('float32');
      const [, h, w, c] = b.inputs.shape;
      expect(c).toBe(3);
      expect(h % 32).toBe(0);
      expect(w % 32).toBe(0);
      for (const s of b.dataSamples) {
        expect(s.metainfo.batchInputShape).toEqual([h, w]);
        expect(s.metainfo.padShape[0]).toBeLessThanOrEqual(h);
        const [sx, sy] = s.metainfo.scaleFactor;
        // Boxes live in network-input pixels: inside the image, scaled from the original.
        const bx = s.gtInstances.bboxes;
        for (let i = 0; i < bx.length; i += 4) {
          expect(bx[i + 2]).toBeLessThanOrEqual(s.metainfo.imgShape[1] + 1e-3);
          expect(bx[i + 2] - bx[i]).toBeGreaterThan(0);
        }
        expect(sx).toBeGreaterThan(0.8);
        expect(sy).toBeLessThan(1.2);
      }
      b.inputs.dispose();
    }
    expect(new Set(batches.flatMap((b) => b.indices)).size).toBe(10);
  });

  it('order and augmentation depend only on seed and epoch, not on decode concurrency; resume matches', async () => {
    const a = await collect(
      new DataLoader({
        dataset: ds,
        batchSize: 3,
        shuffle: true,
        seed: 7,
        numWorkers: 1,
        prefetch: 1,
      }),
      2,
    );
    const b = await collect(
      new DataLoader({
        dataset: ds,
        batchSize: 3,
        shuffle: true,
        seed: 7,
        numWorkers: 6,
        prefetch: 9,
      }),
      2,
    );
    expect(b).toEqual(a);
    const other = await collect(
      new DataLoader({ dataset: ds, batchSize: 3, shuffle: true, seed: 7 }),
      3,
    );
    expect(other.map((x) => x.idx)).not.toEqual(a.map((x) => x.idx));
    const resumed = await collect(
      new DataLoader({ dataset: ds, batchSize: 3, shuffle: true, seed: 7, numWorkers: 3 }),
      2,
      2,
    );
    expect(resumed).toEqual(a.slice(2));
  });

  it('the colour pass gives the same batches on the main thread and in worker threads', async () => {
    const main = await collect(
      new DataLoader({
        dataset: ds,
        batchSize: 4,
        shuffle: true,
        seed: 2,
        colorWorkers: 0,
        padValue: 0.5,
      }),
      0,
    );
    const workers = new DataLoader({
      dataset: ds,
      batchSize: 4,
      shuffle: true,
      seed: 2,
      colorWorkers: 2,
      padValue: 0.5,
    });
    expect(await collect(workers, 0)).toEqual(main);
    await workers.close();
  });

  it('recycled batch buffers (tensor disposed) hold exactly the fresh pixels', async () => {
    const mk = (): DataLoader =>
      new DataLoader({ dataset: ds, batchSize: 2, shuffle: true, seed: 4, padSizeDivisor: 64 });
    const fresh = await collect(mk(), 1);
    const l = mk();
    const sums: number[] = [];
    for (const epoch of [0, 1]) {
      for await (const b of l.epochBatches(epoch)) {
        if (epoch === 1)
          sums.push((b.inputs.dataSync() as Float32Array).reduce((a, v) => a + v, 0));
        b.inputs.dispose();
      }
    }
    expect(sums).toEqual(fresh.map((f) => f.sum));
  });

  it('drop last, no shuffle, length', () => {
    const l = new DataLoader({ dataset: ds, batchSize: 4, dropLast: true });
    expect(l.batchIndices(0)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(l.length).toBe(2);
    expect(new DataLoader({ dataset: ds, batchSize: 4 }).length).toBe(3);
  });

  it('groups by aspect ratio', () => {
    class Shapes extends BaseDetDataset {
      protected loadDataList(): DataInfo[] {
        return Array.from({ length: 11 }, (_, i) => ({
          imgPath: `${i}.jpg`,
          imgId: i,
          width: i % 3 === 0 ? 50 : 100,
          height: i % 3 === 0 ? 100 : 50,
          instances: [],
        }));
      }
    }
    const l = new DataLoader({
      dataset: new Shapes(),
      batchSize: 2,
      shuffle: true,
      seed: 3,
      groupByAspectRatio: true,
    });
    const batches = l.batchIndices(0);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    const full = batches.filter((b) => b.length === 2);
    const pure = full.filter((b) => new Set(b.map((i) => i % 3 === 0)).size === 1);
    expect(pure.length).toBeGreaterThanOrEqual(full.length - 1);
  });

  it('collate pads plain uint8 inputs and rejects bad batches', () => {
    const mk = (h: number, w: number, v: number): PackedInputs => ({
      inputs: { data: new Uint8Array(h * w * 3).fill(v), height: h, width: w, channels: 3 },
      dataSample: {
        metainfo: imgMeta(h, w),
        gtInstances: { bboxes: new Float32Array(0), labels: new Int32Array(0) },
        ignoredInstances: { bboxes: new Float32Array(0), labels: new Int32Array(0) },
      },
    });
    const b = collateRaw([mk(2, 3, 5), mk(4, 1, 9)], { padValue: -1 });
    expect(b.shape).toEqual([2, 4, 3, 3]);
    expect(b.data[0]).toBe(5);
    expect(b.data[2 * 3 * 3]).toBe(-1); // image 0, row 2
    expect(b.data[4 * 3 * 3 + 3]).toBe(-1); // image 1, row 0, x 1
    expect(() => collateRaw([])).toThrow(/empty batch/);
  });

  it('an empty data set is an error', () => {
    class Empty extends BaseDetDataset {
      protected loadDataList(): DataInfo[] {
        return [];
      }
    }
    expect(() => new DataLoader({ dataset: new Empty(), batchSize: 2 })).toThrow(
      /data set is empty/,
    );
  });

  it('skipped images are re-drawn in training and counted', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(t.dir, 'JPEGImages/000002.jpg'), 'broken');
    const lenient = new VOCDataset({
      dataRoot: t.dir,
      annFile: 'ImageSets/Main/train.txt',
      metainfo: { classes: SHAPES },
      pipeline,
      skipInvalid: true,
    });
    const got = await collect(new DataLoader({ dataset: lenient, batchSize: 5 }), 0);
    expect(got.map((g) => g.shape[0])).toEqual([5, 5]);
    expect(lenient.skipped.count).toBe(1);
    expect(lenient.skipped.messages[0]).toMatch(/000002\.jpg: cannot decode image/);
    const strict = new VOCDataset({
      dataRoot: t.dir,
      annFile: 'ImageSets/Main/train.txt',
      metainfo: { classes: SHAPES },
      pipeline,
    });
    await expect(collect(new DataLoader({ dataset: strict, batchSize: 5 }), 0)).rejects.toThrow(
      /000002\.jpg: cannot decode image/,
    );
  });
});
