/**
 * Darknet-53 (parameter count from the architecture, output shapes,
 * width/depth multipliers, frozenStages, normEval), the YOLOv3 neck, and the
 * YOLO configs: they load and build; the COCO model has mmdet's parameter
 * counts; the shapes model runs a loss and a prediction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import '../../src/backbones/index.js';
import '../../src/necks/index.js';
import '../../src/detectors/index.js';
import { Darknet } from '../../src/backbones/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { YOLOV3 } from '../../src/detectors/index.js';
import { YOLOV3Neck } from '../../src/necks/index.js';
import { BatchNorm2d } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import { syntheticBatch } from '../detectors/helpers.js';

beforeAll(async () => {
  await setBackend('wasm');
});

/** Parameters of a ConvModule (conv without bias + BN weight and bias). */
const cm = (i: number, o: number, k: number): number => k * k * i * o + 2 * o;
/** Darknet-53 from its definition: stem 3->32, then per stage a stride-2 conv and n blocks (1x1 c->c/2, 3x3 c/2->c). */
function darknetParams(w = 1, blocks = [1, 2, 8, 8, 4]): number {
  const c = (x: number): number => Math.round(x * w);
  let t = cm(3, c(32), 3);
  const ch = [32, 64, 128, 256, 512, 1024].map(c);
  blocks.forEach((n, i) => {
    const o = ch[i + 1];
    t += cm(ch[i], o, 3) + n * (cm(o, o / 2, 1) + cm(o / 2, o, 3));
  });
  return t;
}
const detectionBlock = (i: number, o: number): number =>
  cm(i, o, 1) + cm(o, 2 * o, 3) + cm(2 * o, o, 1) + cm(o, 2 * o, 3) + cm(2 * o, o, 1);

describe('YOLOv3 at full size (COCO config)', () => {
  it('loads, builds, and has mmdet parameter counts: Darknet-53 40,584,928, neck 14,709,760, head 6,654,461', async () => {
    const cfg = await loadConfig('configs/yolo/yolov3_d53_8xb8-ms-608-273e_coco.ts');
    const model = MODELS.build<YOLOV3>(cfg.model, { path: 'model' });
    expect(darknetParams()).toBe(40_584_928);
    expect(model.backbone.numParameters()).toBe(40_584_928);
    const neck =
      detectionBlock(1024, 512) +
      cm(512, 256, 1) +
      detectionBlock(768, 256) +
      cm(256, 128, 1) +
      detectionBlock(384, 128);
    expect(neck).toBe(14_709_760);
    expect(model.neck!.numParameters()).toBe(neck);
    // per level: 3x3 bridge ConvModule + 1x1 conv with bias to 3 * (5 + 80) = 255
    const head = [512, 256, 128].reduce((s, i) => s + cm(i, 2 * i, 3) + 2 * i * 255 + 255, 0);
    expect(head).toBe(6_654_461);
    expect(model.bboxHead.numParameters()).toBe(head);
    expect(model.numParameters()).toBe(61_949_149);
    // Darknet-53 outputs at strides 8, 16, 32; the neck returns them coarsest first
    model.eval();
    const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const feats = tf.tidy(() => model.backbone.forward(x) as tf.Tensor4D[]);
    expect(feats.map((t) => t.shape)).toEqual([
      [1, 8, 8, 256],
      [1, 4, 4, 512],
      [1, 2, 2, 1024],
    ]);
    const outs = tf.tidy(() => model.neck!.forward(feats) as tf.Tensor4D[]);
    expect(outs.map((t) => t.shape)).toEqual([
      [1, 2, 2, 512],
      [1, 4, 4, 256],
      [1, 8, 8, 128],
    ]);
    const { predMaps } = model.bboxHead.forward(outs) as { predMaps: tf.Tensor4D[] };
    expect(predMaps.map((t) => t.shape[3])).toEqual([255, 255, 255]);
    tf.dispose([x, ...feats, ...outs, ...predMaps]);
    model.dispose();
  });
});

describe('Darknet options', () => {
  it('widenFactor and deepenFactor scale channels and blocks; outIndices pick stages', () => {
    const d = new Darknet({ widenFactor: 0.25, deepenFactor: 0.33, outIndices: [2, 5] });
    expect(d.numParameters()).toBe(darknetParams(0.25, [1, 1, 3, 3, 1]));
    expect(d.outChannels).toEqual([32, 256]);
    const outs = d.forward(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D);
    expect(outs.map((t) => t.shape)).toEqual([
      [2, 8, 8, 32],
      [2, 1, 1, 256],
    ]);
    expect(() => new Darknet({ widenFactor: 0.1 })).toThrow(/widenFactor 0.1 gives 3 channels/);
    expect(() => MODELS.build({ type: 'Darknet', depth: 21 }, { path: 'model.backbone' })).toThrow(
      /model\.backbone.*depth/,
    );
    expect(() =>
      MODELS.build({ type: 'Darknet', outIndices: [6] }, { path: 'model.backbone' }),
    ).toThrow(/outIndices/);
    expect(() => d.forward(tf.zeros([1, 3, 8, 8]) as tf.Tensor4D)).toThrow(/NHWC/);
  });

  it('frozenStages freezes conv1 and the first stages; normEval keeps BatchNorms in eval; both survive train()', () => {
    const d = new Darknet({
      widenFactor: 0.125,
      deepenFactor: 0.2,
      frozenStages: 2,
      normEval: false,
    });
    d.train();
    const trainable = new Map(d.namedParameters().map(([n, v]) => [n, v.trainable]));
    expect(trainable.get('conv1.conv.weight')).toBe(false);
    expect(trainable.get('convResBlock1.res0.conv2.bn.weight')).toBe(false);
    expect(trainable.get('convResBlock2.conv.conv.weight')).toBe(true);
    const bns = new Map(d.namedModules().filter(([, m]) => m instanceof BatchNorm2d));
    expect(bns.get('conv1.bn')!.training).toBe(false);
    expect(bns.get('convResBlock2.conv.bn')!.training).toBe(true);
    // a frozen stage's running statistics do not move in a training forward
    const before = (bns.get('conv1.bn') as BatchNorm2d).runningMean.dataSync().slice();
    const after1 = (bns.get('convResBlock2.conv.bn') as BatchNorm2d).runningMean.dataSync().slice();
    d.forward(tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D);
    expect(Array.from((bns.get('conv1.bn') as BatchNorm2d).runningMean.dataSync())).toEqual(
      Array.from(before),
    );
    expect(
      Array.from((bns.get('convResBlock2.conv.bn') as BatchNorm2d).runningMean.dataSync()),
    ).not.toEqual(Array.from(after1));
    const e = new Darknet({ widenFactor: 0.125, deepenFactor: 0.2 }); // normEval defaults to true
    e.train();
    expect(
      e
        .namedModules()
        .filter(([, m]) => m instanceof BatchNorm2d)
        .every(([, m]) => !m.training),
    ).toBe(true);
    expect(e.namedParameters().every(([, v]) => v.trainable)).toBe(true);
  });
});

describe('YOLOV3Neck', () => {
  it('upsampled top-down features are concatenated (upsampled first) with the finer map', () => {
    const neck = new YOLOV3Neck({
      numScales: 2,
      inChannels: [16, 8],
      outChannels: [8, 4],
      normCfg: null,
      actCfg: null,
    });
    // parameters: detect1 (16 -> 8), conv1 1x1 8 -> 4, detect2 (8 + 4 -> 4), all convs with bias (no norm)
    const db = (i: number, o: number): number =>
      i * o + o + 9 * o * 2 * o + 2 * o + 2 * o * o + o + 9 * o * 2 * o + 2 * o + 2 * o * o + o;
    expect(neck.numParameters()).toBe(db(16, 8) + 8 * 4 + 4 + db(12, 4));
    const fine = tf.randomNormal([1, 4, 4, 8]) as tf.Tensor4D;
    const coarse = tf.randomNormal([1, 2, 2, 16]) as tf.Tensor4D;
    const [o1, o2] = neck.forward([fine, coarse]);
    expect(o1.shape).toEqual([1, 2, 2, 8]);
    expect(o2.shape).toEqual([1, 4, 4, 4]);
    // the same output by hand: conv1(o1), x2 nearest, concat [up, fine], detect2
    const conv1 = (neck as unknown as { convs: { forward(x: tf.Tensor4D): tf.Tensor4D }[] })
      .convs[0];
    const detect2 = neck.detects[1];
    const up = tf.image.resizeNearestNeighbor(conv1.forward(o1), [4, 4]);
    const want = detect2.forward(tf.concat([up, fine], 3));
    expect(tf.max(tf.abs(tf.sub(want, o2))).dataSync()[0]).toBeLessThan(1e-5);
    expect(
      () => new YOLOV3Neck({ numScales: 3, inChannels: [16, 8], outChannels: [8, 4] }),
    ).toThrow(/numScales 3/);
    expect(() => neck.forward([coarse, fine])).toThrow(/input 0 must be NHWC with 8 channels/);
  });
});

describe('YOLO configs', () => {
  it('the VOC config loads and builds with 20 classes and a VOC metric', async () => {
    const cfg = await loadConfig('configs/yolo/yolov3_d53_8xb8-ms-416-273e_voc0712.ts');
    expect(cfg.model.bboxHead.numClasses).toBe(20);
    expect(cfg.valEvaluator.type).toBe('VOCMetric');
    expect(cfg.trainDataloader.dataset.type).toBe('ConcatDataset');
    for (const part of [
      cfg.model.type,
      cfg.model.backbone.type,
      cfg.model.neck.type,
      cfg.model.bboxHead.type,
    ])
      expect(MODELS.has(part)).toBe(true);
    // the part that differs from the COCO model builds (backbone and neck are the COCO ones)
    const head = MODELS.build<
      YOLOV3['bboxHead'] & { convsPred: { at(i: number): { weight: tf.Variable } } }
    >(
      { ...cfg.model.bboxHead, trainCfg: cfg.model.trainCfg, testCfg: cfg.model.testCfg },
      { path: 'model.bboxHead' },
    );
    expect(head.convsPred.at(0).weight.shape).toEqual([1, 1, 1024, 3 * (5 + 20)]);
    head.dispose();
  });

  it('the shapes config builds, computes finite losses and predicts', async () => {
    const cfg = await loadConfig('configs/yolo/yolov3_d53-tiny_shapes.ts');
    expect(cfg.trainDataloader.dataset.type).toBe('CocoDataset');
    const model = MODELS.build<YOLOV3>(cfg.model, { path: 'model' });
    const b = syntheticBatch(2, 64, 3);
    model.train();
    const losses = model.loss(b);
    for (const v of Object.values(losses).flat())
      expect(Number.isFinite(v.dataSync()[0])).toBe(true);
    model.eval();
    expect((await model.predict(b))[0].predInstances.scores).toBeInstanceOf(Float32Array);
    model.dispose();
  });
});
