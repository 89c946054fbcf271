/** The decode-head loss: per-pixel softmax cross-entropy with ignore index 255, by hand and against torch. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { CrossEntropyLoss } from '../../src/losses/index.js';
import { MODELS } from '../../src/registry.js';
import {
  FCNHead,
  OHEMPixelSampler,
  pixelAccuracy,
  stackLabels,
} from '../../src/segmentors/index.js';
import type { SegSample } from '../../src/structures/index.js';
import { imgMeta } from '../helpers/meta.js';

const fx = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../fixtures/segmentors/seg_loss.json', import.meta.url)),
    'utf8',
  ),
);

beforeAll(async () => {
  await setBackend('cpu');
});

const meta = imgMeta(6, 6, { imgPath: 'x.png' });
const sample = (data: number[], height: number, width: number): SegSample => ({
  metainfo: meta,
  gtSemSeg: { data: Uint8Array.from(data), height, width },
});

/** A head whose only layer is the classifier, to call lossByFeat on given logits. */
function headWith(lossDecode: Record<string, unknown>, numClasses: number): FCNHead {
  return MODELS.build<FCNHead>({
    type: 'FCNHead',
    inChannels: 4,
    channels: 4,
    numConvs: 0,
    concatInput: false,
    numClasses,
    lossDecode,
  });
}

describe('decode head loss', () => {
  it('hand-computed: ignored pixels count neither in the sum nor (avgNonIgnore) in the mean', () => {
    // 1x3 map, 2 classes: [0, 0] labelled 0 -> ln 2; [0, ln 3] labelled 1 -> ln(4/3); third pixel ignored
    const logits = tf.tensor4d([0, 0, 0, Math.log(3), 50, -50], [1, 1, 3, 2]);
    const labels = [0, 1, 255];
    const nonIgnore = headWith(
      { type: 'CrossEntropyLoss', ignoreIndex: 255, avgNonIgnore: true },
      2,
    );
    const l1 = nonIgnore.lossByFeat(logits, [sample(labels, 1, 3)], [1, 3]);
    expect(l1.loss_ce.dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 6);
    // predictions: class 0 (tie -> first), class 1, class 0 (ignored): accuracy 100 over the two counted pixels
    expect(l1.acc_seg.dataSync()[0]).toBeCloseTo(100, 6);
    // mmseg's default avg_non_ignore=False divides by every pixel
    const allPixels = headWith({ type: 'CrossEntropyLoss', ignoreIndex: 255, lossWeight: 0.4 }, 2);
    expect(
      allPixels.lossByFeat(logits, [sample(labels, 1, 3)], [1, 3]).loss_ce.dataSync()[0],
    ).toBeCloseTo((0.4 * (Math.log(2) + Math.log(4 / 3))) / 3, 6);
  });

  it('equals torch: F.interpolate(bilinear) then F.cross_entropy(ignore_index=255), value, per-pixel values and gradient', () => {
    const [n, h, w, c] = fx.shape as number[];
    const [, H, W] = fx.labelShape as number[];
    const logits = tf.tensor4d(fx.logits, [n, h, w, c]);
    const labels = fx.labels as number[];
    // image 1 is 4 rows high: its last two rows are batch padding (255 in the fixture)
    const samples = [
      sample(labels.slice(0, H * W), H, W),
      sample(labels.slice(H * W, H * W + 4 * W), 4, W),
    ];
    expect(Array.from(stackLabels(samples, H, W, 255))).toEqual(labels);
    const head = headWith({ type: 'CrossEntropyLoss', ignoreIndex: 255, avgNonIgnore: true }, c);
    const out = head.lossByFeat(logits, samples, [H, W]);
    expect(out.loss_ce.dataSync()[0]).toBeCloseTo(fx.loss, 5);
    expect(out.acc_seg.dataSync()[0]).toBeCloseTo(fx.accSeg, 4);
    const g = tf.grad((x: tf.Tensor) => head.lossByFeat(x as tf.Tensor4D, samples, [H, W]).loss_ce)(
      logits,
    );
    const got = g.dataSync();
    (fx.grad as number[]).forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-5));
    // the per-pixel losses of the existing CrossEntropyLoss (reduction 'none') on the resized logits
    const up = tf.image.resizeBilinear(logits, [H, W], false, true);
    const none = new CrossEntropyLoss({ ignoreIndex: 255, reduction: 'none' })
      .forward(tf.reshape(up, [-1, c]), Int32Array.from(labels))
      .dataSync();
    (fx.lossNone as number[]).forEach((v, i) => expect(Math.abs(none[i] - v)).toBeLessThan(1e-5));
  });

  it('OHEMPixelSampler keeps the pixels whose label probability is under max(thresh, the minKept-th smallest), as mmseg', () => {
    // probabilities of the label: softmax([a, 0])[0] for a = 3, 1, 0, -1, -2 -> 0.953, 0.731, 0.5, 0.269, 0.119
    const logits = tf.tensor2d([
      [3, 0],
      [1, 0],
      [0, 0],
      [-1, 0],
      [-2, 0],
      [9, 0],
    ]);
    const labels = Int32Array.from([0, 0, 0, 0, 0, 255]);
    expect(
      Array.from(new OHEMPixelSampler({ thresh: 0.7, minKept: 1 }).sample(logits, labels, 1)),
    ).toEqual([0, 0, 1, 1, 1, 0]);
    // minKept 2 per image, 2 images: the threshold rises to sorted[4] (mmseg's index minKept * batch) = 0.953, itself not kept
    expect(
      Array.from(new OHEMPixelSampler({ thresh: 0.7, minKept: 2 }).sample(logits, labels, 2)),
    ).toEqual([0, 1, 1, 1, 1, 0]);
    expect(
      Array.from(new OHEMPixelSampler({ thresh: 0.7, minKept: 4 }).sample(logits, labels, 1)),
    ).toEqual([0, 1, 1, 1, 1, 0]);
    // without thresh: the minKept pixels of largest loss
    expect(Array.from(new OHEMPixelSampler({ minKept: 2 }).sample(logits, labels, 1))).toEqual([
      0, 0, 0, 1, 1, 0,
    ]);
    expect(
      Array.from(
        new OHEMPixelSampler({ thresh: 0.7 }).sample(
          logits,
          Int32Array.from([255, 255, 255, 255, 255, 255]),
          1,
        ),
      ),
    ).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => new OHEMPixelSampler({ thresh: 1.5 })).toThrow();
  });

  it('a decode head with a sampler trains only the sampled pixels, averaged over all non-ignored ones', () => {
    const logits = tf.tensor4d([3, 0, 0, 0, -1, 0, 0, 0], [1, 1, 4, 2]);
    const head = MODELS.build<FCNHead>({
      type: 'FCNHead',
      inChannels: 4,
      channels: 4,
      numConvs: 0,
      concatInput: false,
      numClasses: 2,
      sampler: { type: 'OHEMPixelSampler', thresh: 0.7, minKept: 1 },
      lossDecode: { type: 'CrossEntropyLoss', ignoreIndex: 255, avgNonIgnore: true },
    });
    // label 0 everywhere but the last pixel (ignored): pixel 0 is easy (p = 0.953) and drops out
    const out = head.lossByFeat(logits, [sample([0, 0, 0, 255], 1, 4)], [1, 4]);
    const ce = (a: number) => Math.log(1 + Math.exp(-a));
    expect(out.loss_ce.dataSync()[0]).toBeCloseTo((ce(0) + ce(-1)) / 3, 6);
  });

  it('stackLabels and pixelAccuracy errors and edge cases', () => {
    expect(() => stackLabels([{ metainfo: meta }], 2, 2, 255)).toThrow(/no gtSemSeg/);
    expect(() => stackLabels([sample([1, 2, 3], 2, 2)], 2, 2, 255)).toThrow(/3 values for 2x2/);
    expect(() => stackLabels([sample([1, 2, 3, 4, 5, 6], 2, 3)], 2, 2, 255)).toThrow(
      /larger than the batch/,
    );
    expect(pixelAccuracy(Int32Array.from([1, 1]), Int32Array.from([255, 255]), 255)).toBe(0);
    expect(pixelAccuracy(Int32Array.from([1, 0, 2]), Int32Array.from([1, 1, 255]), 255)).toBe(50);
  });
});
