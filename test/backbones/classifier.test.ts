/** ImageClassifier, the classification heads and the top-k Accuracy metric. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { METRICS, MODELS } from '../../src/registry.js';
import { setInitSeed } from '../../src/nn/index.js';
import { convertTorchvisionFile, readSafetensorsFile } from '../../src/backbones/index.js';
import {
  Accuracy,
  ImageClassifier,
  labelSmoothingCrossEntropy,
} from '../../src/classifiers/index.js';

beforeAll(async () => {
  await setBackend('wasm');
  setInitSeed(1);
});

describe('Accuracy', () => {
  it('top-1 / top-5 in percent, streaming over batches, reset by compute', () => {
    const acc = METRICS.build<Accuracy>({ type: 'Accuracy', topk: [1, 5] });
    const scores = (hot: number[]): number[] =>
      Array.from({ length: 10 }, (_, c) => (hot.includes(c) ? 1 - hot.indexOf(c) * 0.1 : 0));
    acc.process({}, [
      { predScore: scores([3, 1, 2, 0, 4]), gtLabel: 3 }, // top-1 hit
      { predScore: scores([3, 1, 2, 0, 4]), gtLabel: 4 }, // rank 4: top-5 hit
    ]);
    acc.process({}, [
      { predScore: scores([3, 1, 2, 0, 4]), gtLabel: 9 }, // miss
      { predScore: Float32Array.from(scores([7])), gtLabel: 7 },
    ]);
    expect(acc.compute()).toEqual({ 'accuracy/top1': 50, 'accuracy/top5': 75 });
    expect(acc.compute()).toEqual({ 'accuracy/top1': 0, 'accuracy/top5': 0 });
  });
  it('ties count in favour of the true class; bad labels are reported', () => {
    const acc = new Accuracy({ topk: 1 });
    acc.process(null, [{ predScore: [0.5, 0.5, 0], gtLabel: 1 }]);
    expect(acc.compute()).toEqual({ 'accuracy/top1': 100 });
    expect(() => acc.process(null, [{ predScore: [0.5, 0.5], gtLabel: 2 }])).toThrow(
      /sample 0: gtLabel 2 is not a class index in 0..1/,
    );
  });
});

describe('ImageClassifier', () => {
  it('loads converted torchvision weights with Pretrained and reproduces torchvision logits', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-clf-'));
    const ckpt = path.join(dir, 'mbv3.safetensors');
    convertTorchvisionFile(
      'test/fixtures/backbones/mobilenet_v3_small_w050_c16.weights.safetensors',
      ckpt,
    );
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const clf = MODELS.build<ImageClassifier>({
      type: 'ImageClassifier',
      backbone: { type: 'MobileNetV3', arch: 'small', widenFactor: 0.5, outIndices: [12] },
      head: {
        type: 'StackedLinearClsHead',
        numClasses: 16,
        inChannels: 288,
        midChannels: [512],
        actCfg: { type: 'HSwish' },
      },
      init: { type: 'Pretrained', checkpoint: ckpt },
    });
    expect(log.mock.calls.flat().join(' ')).toMatch(/into ImageClassifier: all keys matched/);
    log.mockRestore();
    clf.eval();
    const io = readSafetensorsFile(
      'test/fixtures/backbones/mobilenet_v3_small_w050_c16.io.safetensors',
    ).tensors;
    const logits = clf.forward(io.get('input') as tf.Tensor4D);
    const ref = io.get('logits')!;
    const err =
      tf.max(tf.abs(tf.sub(logits, ref))).dataSync()[0] / tf.max(tf.abs(ref)).dataSync()[0];
    expect(err).toBeLessThan(1e-4);
    const { labels } = clf.predict(io.get('input') as tf.Tensor4D);
    expect(labels.dataSync()[0]).toBe(tf.argMax(ref, 1).dataSync()[0]);
    clf.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('trains: a few SGD steps fit a tiny batch (loss falls, top-1 rises)', () => {
    const clf = MODELS.build<ImageClassifier>({
      type: 'ImageClassifier',
      backbone: { type: 'ResNet', depth: 18, baseChannels: 8, outIndices: [3], normEval: false },
      head: { type: 'LinearClsHead', numClasses: 4, inChannels: 64 },
    });
    clf.train();
    // four classes told apart by which quadrant is bright
    const imgs: number[][][][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 8; i++) {
      const c = i % 4;
      labels.push(c);
      imgs.push(
        Array.from({ length: 32 }, (_, y) =>
          Array.from({ length: 32 }, (_, x) => {
            const on = (y < 16 ? 0 : 2) + (x < 16 ? 0 : 1) === c;
            return [on ? 1 : 0, on ? 1 : 0, on ? 1 : 0].map(
              (v) => v + 0.1 * Math.sin(i * 7 + x + y),
            );
          }),
        ),
      );
    }
    const x = tf.tensor4d(imgs);
    const opt = tf.train.adam(0.01);
    const vars = clf.trainableParameters().map(([, v]) => v);
    const losses: number[] = [];
    for (let s = 0; s < 15; s++) {
      const l = opt.minimize(() => clf.loss(x, labels), true, vars)!;
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.5);
    clf.eval();
    const acc = new Accuracy({ topk: [1] });
    const scores = clf.predict(x).scores.arraySync();
    acc.process(
      {},
      scores.map((s, i) => ({ predScore: s, gtLabel: labels[i] })),
    );
    expect(acc.compute()['accuracy/top1']).toBeGreaterThanOrEqual(75);
    clf.dispose();
  });

  it('labelSmoothingCrossEntropy matches -log softmax at the label, with label smoothing', () => {
    const logits = tf.tensor2d([
      [2, 0, -1],
      [0, 0, 0],
    ]);
    const p = (v: number[], i: number): number =>
      Math.exp(v[i]) / v.reduce((s, a) => s + Math.exp(a), 0);
    const expected = -(Math.log(p([2, 0, -1], 0)) + Math.log(1 / 3)) / 2;
    expect(labelSmoothingCrossEntropy(logits, [0, 2]).dataSync()[0]).toBeCloseTo(expected, 5);
    const smooth = labelSmoothingCrossEntropy(logits, [0, 2], 0.3).dataSync()[0];
    expect(smooth).toBeGreaterThan(expected);
  });
});
