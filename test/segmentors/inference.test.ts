/** EncoderDecoder inference: sliding windows against whole-image inference, and the mapping back to the original image. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import '../../src/backbones/index.js';
import { Module, setInitSeed } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import { EncoderDecoder, slideWindows, type FCNHead } from '../../src/segmentors/index.js';
import type { SegSample } from '../../src/structures/index.js';
import { imgMeta } from '../helpers/meta.js';

beforeAll(async () => {
  await setBackend('cpu');
  setInitSeed(5);
});

/** A backbone that passes the image through, so a 1x1 classifier makes per-pixel logits. */
class PassThrough extends Module {
  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    return [x];
  }
}

const meta = (o: Partial<SegSample['metainfo']>): SegSample['metainfo'] =>
  imgMeta(16, 16, { imgPath: 'x.png', ...o });

const tinyCfg = (testCfg: Record<string, unknown>) => ({
  type: 'EncoderDecoder',
  backbone: {
    type: 'ResNet',
    depth: 18,
    baseChannels: 4,
    numStages: 2,
    strides: [1, 2],
    dilations: [1, 1],
    outIndices: [1],
  },
  decodeHead: {
    type: 'ASPPHead',
    inChannels: 8,
    channels: 4,
    numClasses: 3,
    dilations: [1, 2],
    normCfg: { type: 'BN' },
  },
  testCfg,
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('slide inference', () => {
  it("window grid of mmseg's slide_inference", () => {
    expect(slideWindows(10, 6, [6, 6], [4, 4])).toEqual([
      [0, 0, 6, 6],
      [4, 0, 10, 6],
    ]);
    expect(slideWindows(10, 7, [6, 6], [4, 4])).toEqual([
      [0, 0, 6, 6],
      [0, 1, 6, 7],
      [4, 0, 10, 6],
      [4, 1, 10, 7],
    ]);
    // a crop larger than the image: one window, the whole image
    expect(slideWindows(5, 3, [8, 8], [4, 4])).toEqual([[0, 0, 5, 3]]);
  });

  it('one window covering the image equals whole inference', () => {
    const whole = MODELS.build<EncoderDecoder>(tinyCfg({ mode: 'whole' }));
    const slide = MODELS.build<EncoderDecoder>(
      tinyCfg({ mode: 'slide', cropSize: [32, 32], stride: [16, 16] }),
    );
    slide.loadStateDict(whole.stateDict());
    whole.eval();
    slide.eval();
    const x = tf.randomNormal([2, 24, 32, 3]) as tf.Tensor4D;
    const a = whole.inference(x);
    const b = slide.inference(x);
    expect(b.shape).toEqual([2, 24, 32, 3]);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  });

  it('overlapping windows are averaged pixel by pixel', () => {
    // ASPP's image-pool branch makes every window's logits depend on the whole window
    const model = MODELS.build<EncoderDecoder>(
      tinyCfg({ mode: 'slide', cropSize: [12, 12], stride: [8, 8] }),
    );
    model.eval();
    const [H, W, C] = [20, 17, 3];
    const x = tf.randomNormal([1, H, W, 3]) as tf.Tensor4D;
    const got = model.inference(x).dataSync();
    const sum = new Float64Array(H * W * C);
    const cnt = new Float64Array(H * W);
    const wins = slideWindows(H, W, [12, 12], [8, 8]);
    expect(wins).toHaveLength(4);
    for (const [y1, x1, y2, x2] of wins) {
      const crop = model
        .encodeDecode(tf.slice(x, [0, y1, x1, 0], [1, y2 - y1, x2 - x1, 3]))
        .arraySync()[0];
      for (let y = y1; y < y2; y++) {
        for (let xx = x1; xx < x2; xx++) {
          cnt[y * W + xx]++;
          for (let c = 0; c < C; c++) sum[(y * W + xx) * C + c] += crop[y - y1][xx - x1][c];
        }
      }
    }
    let worst = 0;
    for (let i = 0; i < H * W * C; i++)
      worst = Math.max(worst, Math.abs(got[i] - sum[i] / cnt[Math.floor(i / C)]));
    expect(worst).toBeLessThan(1e-5);
    // windows really disagree where they overlap, so the average is not trivially one of them
    const a = model
      .encodeDecode(tf.slice(x, [0, 0, 0, 0], [1, 12, 12, 3]))
      .slice([0, 8, 8, 0], [1, 1, 1, 3]);
    const b = model
      .encodeDecode(tf.slice(x, [0, 8, 5, 0], [1, 12, 12, 3]))
      .slice([0, 0, 3, 0], [1, 1, 1, 3]);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-4);
  });

  it('slide mode needs cropSize and stride; testCfg keys are checked', () => {
    expect(() => MODELS.build(tinyCfg({ mode: 'slide' }))).toThrow(/cropSize and stride/);
    expect(() => MODELS.build(tinyCfg({ mode: 'wholes' }))).toThrow(/testCfg\.mode/);
    expect(() => MODELS.build(tinyCfg({ mode: 'whole', crop: 3 }))).toThrow(/crop/);
  });
});

describe('predict', () => {
  it('removes the padding, undoes the flip and resizes to the original image', async () => {
    const model = new EncoderDecoder({
      backbone: new PassThrough(),
      decodeHead: {
        type: 'FCNHead',
        inChannels: 3,
        channels: 3,
        numConvs: 0,
        concatInput: false,
        dropoutRatio: 0,
        numClasses: 3,
      },
    });
    // the classifier picks the largest channel
    const head = model.decodeHead as FCNHead;
    head.convSeg.weight.assign(tf.reshape(tf.eye(3), [1, 1, 3, 3]));
    head.convSeg.bias!.assign(tf.zeros([3]));
    // a 6x4 image (flipped by the pipeline) in an 8x8 batch: left half channel 0, right half channel 1, padding channel 2
    const px = new Float32Array(8 * 8 * 3);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) px[(y * 8 + x) * 3 + (y >= 6 || x >= 4 ? 2 : x < 2 ? 0 : 1)] = 1;
    }
    const gt = Uint8Array.from({ length: 12 * 8 }, (_, i) => i % 3);
    const [out] = await model.predict({
      inputs: tf.tensor4d(px, [1, 8, 8, 3]),
      dataSamples: [
        {
          metainfo: meta({
            oriShape: [12, 8],
            imgShape: [6, 4],
            padShape: [8, 8],
            flip: true,
            flipDirection: 'horizontal',
          }),
          // loaded after Resize: PackSegInputs labels it with the original size
          gtSemSeg: { data: gt, height: 12, width: 8 },
        },
      ],
    });
    expect(out.predSemSeg.height).toBe(12);
    expect(out.predSemSeg.width).toBe(8);
    const rows = Array.from({ length: 12 }, (_, y) =>
      Array.from(out.predSemSeg.data.subarray(y * 8, y * 8 + 8)).join(''),
    );
    // unflipped: class 1 on the left, class 0 on the right; no padding class anywhere
    for (const r of rows) expect(r).toBe('11110000');
    // the ground truth loaded after Resize has the original size: passed on with that size
    expect(out.gtSemSeg).toEqual({ data: gt, height: 12, width: 8 });
    expect(out.segLogits).toBeUndefined();
  });

  it('outputLogits returns the logits at the original size', async () => {
    const model = MODELS.build<EncoderDecoder>(tinyCfg({ mode: 'whole', outputLogits: true }));
    model.eval();
    const [out] = await model.predict({
      inputs: tf.randomNormal([1, 16, 16, 3]) as tf.Tensor4D,
      dataSamples: [{ metainfo: meta({ oriShape: [20, 24], imgShape: [16, 16] }) }],
    });
    expect(out.segLogits!.data.length).toBe(20 * 24 * 3);
    const l = out.segLogits!.data;
    // the prediction is the arg-max of the returned logits
    for (const i of [0, 57, 479]) {
      const row = [l[i * 3], l[i * 3 + 1], l[i * 3 + 2]];
      expect(out.predSemSeg.data[i]).toBe(row.indexOf(Math.max(...row)));
    }
  });
});
