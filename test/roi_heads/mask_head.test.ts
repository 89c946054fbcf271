import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cropAndResizeMasks,
  FCNMaskHead,
  pasteMask,
} from '../../src/roi_heads/mask_heads/index.js';
import { MODELS } from '../../src/registry.js';

interface Fixture {
  paste: {
    imgH: number;
    imgW: number;
    maskSize: number;
    boxes: number[];
    masks: number[];
    probs: number[];
    binary: number[];
  };
  targets: {
    height: number;
    width: number;
    maskSize: number;
    gtMasks: number[][];
    proposals: number[];
    inds: number[];
    soft: number[];
    targets: number[];
  };
}
const fx = JSON.parse(
  readFileSync(new URL('../fixtures/masks/paste.json', import.meta.url), 'utf8'),
) as Fixture;

const head = (extra: Record<string, unknown> = {}): FCNMaskHead =>
  MODELS.build<FCNMaskHead>({
    type: 'FCNMaskHead',
    numClasses: 3,
    inChannels: 4,
    convOutChannels: 4,
    numConvs: 2,
    ...extra,
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('FCNMaskHead layers', () => {
  it('maps [n, 14, 14, C] RoI features to [n, 28, 28, numClasses] logits, mmdet names, Kaiming fan-out init', () => {
    const h = head();
    const y = h.forward(tf.randomNormal([2, 14, 14, 4]) as tf.Tensor4D);
    expect(y.shape).toEqual([2, 28, 28, 3]);
    expect(h.namedParameters().map(([n]) => n)).toEqual([
      'convs.0.conv.weight',
      'convs.0.conv.bias',
      'convs.1.conv.weight',
      'convs.1.conv.bias',
      'upsample.weight',
      'upsample.bias',
      'convLogits.weight',
      'convLogits.bias',
    ]);
    expect(h.upsample!.weight.shape).toEqual([2, 2, 4, 4]);
    expect(Array.from(h.convLogits.bias!.dataSync())).toEqual([0, 0, 0]);
    expect(head({ classAgnostic: true }).forward(tf.zeros([1, 14, 14, 4])).shape).toEqual([
      1, 28, 28, 1,
    ]);
    expect(
      head({ upsampleCfg: { type: 'bilinear', scaleFactor: 2 } }).forward(tf.zeros([1, 7, 7, 4]))
        .shape,
    ).toEqual([1, 14, 14, 3]);
  });

  it('rejects a plain CrossEntropyLoss, unknown keys and wrong input channels', () => {
    expect(() => head({ lossMask: { type: 'CrossEntropyLoss', useSigmoid: true } })).toThrow(
      /useMask/,
    );
    expect(() => head({ numConv: 4 })).toThrow(/numConv/);
    expect(() => head().forward(tf.zeros([1, 14, 14, 5]) as tf.Tensor4D)).toThrow(/\[n, h, w, 4\]/);
  });
});

describe('mask targets', () => {
  it('hand-made: crop to the left half of a half-set mask is all ones; the full mask at 2x2 is [1, 0, 1, 0]', () => {
    const m = {
      height: 4,
      width: 4,
      masks: [Uint8Array.of(1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0)],
    };
    expect(
      Array.from(cropAndResizeMasks(m, Float32Array.of(0, 0, 2, 4), Int32Array.of(0), 2)),
    ).toEqual([1, 1, 1, 1]);
    expect(
      Array.from(cropAndResizeMasks(m, Float32Array.of(0, 0, 4, 4), Int32Array.of(0), 2)),
    ).toEqual([1, 0, 1, 0]);
    // a box reaching past the image is clipped first (mmdet mask_target_single): same as [2, 0, 4, 4]
    expect(
      Array.from(cropAndResizeMasks(m, Float32Array.of(2, -3, 9, 4), Int32Array.of(0), 2)),
    ).toEqual([0, 0, 0, 0]);
    // the head picks each positive's own gt and returns [n, S, S] with S from trainCfg.maskSize
    const two = {
      height: 4,
      width: 4,
      masks: [m.masks[0], Uint8Array.from(m.masks[0], (v) => 1 - v)],
    };
    const t = head({ trainCfg: { maskSize: 2 } }).getTargets(
      Float32Array.of(0, 0, 4, 4, 0, 0, 4, 4),
      Int32Array.of(1, 0),
      two,
    );
    expect(t.shape).toEqual([2, 2, 2]);
    expect(Array.from(t.dataSync())).toEqual([0, 1, 0, 1, 1, 0, 1, 0]);
  });

  it('match torchvision roi_align(aligned=True) on clipped proposals (fixture)', () => {
    const f = fx.targets;
    const gt = {
      height: f.height,
      width: f.width,
      masks: f.gtMasks.map((m) => Uint8Array.from(m)),
    };
    const soft = cropAndResizeMasks(
      gt,
      Float32Array.from(f.proposals),
      Int32Array.from(f.inds),
      f.maskSize,
      false,
    );
    expect(soft.length).toBe(f.soft.length);
    let maxErr = 0;
    soft.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(v - f.soft[k]))));
    expect(maxErr).toBeLessThan(1e-5);
    const t = head().getTargets(Float32Array.from(f.proposals), Int32Array.from(f.inds), gt);
    expect(t.shape).toEqual([6, 28, 28]);
    const bin = t.dataSync();
    const diff = f.targets.filter(
      (v, k) => v !== bin[k] && Math.abs(f.soft[k] - 0.5) > 1e-5,
    ).length;
    expect(diff).toBe(0);
    expect(f.targets.reduce((s, v) => s + v, 0)).toBeGreaterThan(1000);
  });

  it('reject an index outside the gt masks', () => {
    const m = { height: 2, width: 2, masks: [Uint8Array.of(1, 0, 0, 1)] };
    expect(() => cropAndResizeMasks(m, Float32Array.of(0, 0, 2, 2), Int32Array.of(1), 2)).toThrow(
      /gt index 1/,
    );
  });
});

describe('mask loss', () => {
  it('is the mean BCE-with-logits of the label channel (hand-computed)', () => {
    // 1 positive, 2x2 masks, 2 classes: channel 1 holds logits [0, ln 3, -ln 3, 2], channel 0 is noise
    const l3 = Math.log(3);
    const logits1 = [0, l3, -l3, 2];
    const preds = tf.tensor4d(
      [9, logits1[0], -7, logits1[1], 5, logits1[2], 3, logits1[3]],
      [1, 2, 2, 2],
    );
    const targets = tf.tensor3d([1, 1, 0, 0], [1, 2, 2]);
    // -log(sigmoid(0)) = ln 2, -log(sigmoid(ln 3)) = ln(4/3), -log(1 - sigmoid(-ln 3)) = ln(4/3), -log(1 - sigmoid(2)) = ln(1 + e^2)
    const want = (Math.log(2) + 2 * Math.log(4 / 3) + Math.log(1 + Math.exp(2))) / 4;
    const h = head({ numClasses: 2 });
    expect(h.loss(preds, targets, Int32Array.of(1)).loss_mask.dataSync()[0]).toBeCloseTo(want, 5);
    const weighted = head({
      numClasses: 2,
      lossMask: { type: 'CrossEntropyLoss', useMask: true, lossWeight: 2 },
    });
    expect(weighted.loss(preds, targets, Int32Array.of(1)).loss_mask.dataSync()[0]).toBeCloseTo(
      2 * want,
      5,
    );
    // the gradient reaches the label channel only, (sigmoid(x) - t) / 4
    const g = tf
      .grad((p: tf.Tensor) => h.loss(p as tf.Tensor4D, targets, Int32Array.of(1)).loss_mask)(preds)
      .dataSync();
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    const t = [1, 1, 0, 0];
    for (let k = 0; k < 4; k++) {
      expect(Math.abs(g[2 * k])).toBe(0);
      expect(g[2 * k + 1]).toBeCloseTo((sig(logits1[k]) - t[k]) / 4, 5);
    }
  });

  it('class-agnostic uses channel 0; no positives give 0', () => {
    const h = head({ numClasses: 2, classAgnostic: true });
    const loss = h
      .loss(tf.zeros([1, 2, 2, 1]), tf.tensor3d([1, 0, 1, 0], [1, 2, 2]), Int32Array.of(1))
      .loss_mask.dataSync()[0];
    expect(loss).toBeCloseTo(Math.log(2), 6);
    expect(
      h
        .loss(tf.zeros([0, 2, 2, 1]), tf.zeros([0, 2, 2]) as tf.Tensor3D, new Int32Array(0))
        .loss_mask.dataSync()[0],
    ).toBe(0);
    expect(() =>
      head({ numClasses: 2 }).loss(
        tf.zeros([1, 2, 2, 2]),
        tf.zeros([1, 2, 2]) as tf.Tensor3D,
        Int32Array.of(2),
      ),
    ).toThrow(/label 2/);
  });
});

describe('mask pasting', () => {
  const f = fx.paste;
  const M = f.maskSize;
  const n = f.boxes.length / 4;

  it('matches mmdet _do_paste_mask (grid_sample) on boxes partly outside, tiny, non-square and outside (fixture)', () => {
    let maxErr = 0;
    for (let i = 0; i < n; i++) {
      const p = pasteMask(
        f.masks.slice(i * M * M, (i + 1) * M * M),
        M,
        M,
        f.boxes.slice(4 * i, 4 * i + 4),
        f.imgH,
        f.imgW,
      );
      const ref = f.probs.slice(i * f.imgH * f.imgW, (i + 1) * f.imgH * f.imgW);
      p.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(v - ref[k]))));
    }
    expect(maxErr).toBeLessThan(2e-6);
  });

  it('predictByFeat: sigmoid of the label channel, pasted and thresholded at maskThrBinary', () => {
    const h = head({ numClasses: 2 });
    // channel 1 (the label) carries the fixture's probabilities as logits, channel 0 the opposite
    const logits = new Float32Array(n * M * M * 2);
    for (let k = 0; k < n * M * M; k++) {
      const p = Math.min(Math.max(f.masks[k], 1e-7), 1 - 1e-7);
      logits[2 * k] = -10;
      logits[2 * k + 1] = Math.log(p / (1 - p));
    }
    const preds = tf.tensor4d(logits, [n, M, M, 2]);
    const masks = h.predictByFeat(preds, Float32Array.from(f.boxes), new Int32Array(n).fill(1), [
      f.imgH,
      f.imgW,
    ]);
    expect(masks).toHaveLength(n);
    const flat = masks.flatMap((m) => Array.from(m));
    expect(flat).toHaveLength(f.binary.length);
    const wrong = flat.filter(
      (v, k) => v !== f.binary[k] && Math.abs(f.probs[k] - 0.5) > 1e-4,
    ).length;
    expect(wrong).toBe(0);
    const on = (i: number): number => masks[i].reduce((s, v) => s + v, 0);
    expect(on(0)).toBeGreaterThan(50); // inside box: a blob
    expect(on(6)).toBe(0); // box outside the image
    // a higher threshold keeps fewer pixels
    const strict = head({ numClasses: 2, testCfg: { maskThrBinary: 0.8 } }).predictByFeat(
      preds,
      Float32Array.from(f.boxes),
      new Int32Array(n).fill(1),
      [f.imgH, f.imgW],
    );
    expect(strict[0].reduce((s, v) => s + v, 0)).toBeLessThan(on(0));
  });

  it('hand-made: a mask of ones fills its box (plus the half-covered border pixels), nothing else', () => {
    const m = pasteMask(new Float32Array(28 * 28).fill(1), 28, 28, [2, 1, 6, 3], 5, 8);
    const bin = Array.from(m, (v) => (v >= 0.5 ? 1 : 0));
    // rows 1..2, columns 2..5 inside; everything else 0
    const want = Array.from({ length: 40 }, (_, k) =>
      Math.floor(k / 8) >= 1 && Math.floor(k / 8) < 3 && k % 8 >= 2 && k % 8 < 6 ? 1 : 0,
    );
    expect(bin).toEqual(want);
  });
});
