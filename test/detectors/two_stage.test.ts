/** Faster R-CNN end to end on tiny inputs: one training step, one prediction, and the configs. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/backbones/index.js';
import '../../src/necks/index.js';
import '../../src/detectors/index.js';
import type { TwoStageDetector } from '../../src/detectors/index.js';
import { loadConfig } from '../../src/config/index.js';
import { MODELS } from '../../src/registry.js';
import { syntheticBatch, tinyFasterRcnn, trainSteps } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('FasterRCNN', () => {
  it('one training step: the four losses are finite and every part (backbone included) gets a gradient', () => {
    const model = MODELS.build<TwoStageDetector>(tinyFasterRcnn, { path: 'model' });
    const batch = syntheticBatch(2, 64, 7);
    model.train();
    const params = model.trainableParameters();
    const { value, grads } = tf.variableGrads(
      () => {
        const l = model.loss(batch);
        expect(Object.keys(l).sort()).toEqual([
          'acc',
          'loss_bbox',
          'loss_cls',
          'loss_rpn_bbox',
          'loss_rpn_cls',
        ]);
        for (const v of Object.values(l).flat())
          expect(Number.isFinite(v.dataSync()[0])).toBe(true);
        return tf.addN(
          Object.entries(l)
            .filter(([k]) => k.includes('loss'))
            .flatMap(([, v]) => v),
        ) as tf.Scalar;
      },
      params.map(([, v]) => v),
    );
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const byName = new Map(params.map(([n, v]) => [n, grads[v.name]]));
    for (const name of [
      'backbone.conv1.weight',
      'neck.fpnConvs.0.conv.weight',
      'rpnHead.rpnConv.weight',
      'roiHead.bboxHead.sharedFcs.0.weight',
      'roiHead.bboxHead.fcReg.weight',
    ]) {
      const g = byName.get(name);
      expect(g, name).toBeDefined();
      expect(tf.sum(tf.abs(g!)).dataSync()[0], name).toBeGreaterThan(0);
    }
    // A few more steps on the same batch lower the loss.
    const losses = trainSteps(model, [batch], 4, 2e-3);
    expect(losses[3]).toBeLessThan(losses[0]);
    model.dispose();
  });

  it('predict: boxes in original pixels (rescale) or input pixels, at most maxPerImg; tensor mode gives the raw outputs', async () => {
    const model = MODELS.build<TwoStageDetector>(tinyFasterRcnn, { path: 'model' });
    const batch = syntheticBatch(2, 64, 3);
    batch.dataSamples[0].metainfo = {
      ...batch.dataSamples[0].metainfo,
      scaleFactor: [0.5, 0.5],
      oriShape: [128, 128],
    };
    model.eval();
    const [a, b] = await model.predict(batch);
    const [a2] = await model.predict(batch, false);
    expect(a.predInstances.scores.length).toBeLessThanOrEqual(100);
    expect(a.predInstances.scores.length).toBeGreaterThan(0);
    expect(a2.predInstances.bboxes.length).toBe(a.predInstances.bboxes.length);
    a.predInstances.bboxes.forEach((v, i) =>
      expect(v).toBeCloseTo(a2.predInstances.bboxes[i] * 2, 3),
    );
    for (const v of b.predInstances.bboxes) expect(v).toBeLessThanOrEqual(64);
    expect(b.metainfo.imgId).toBe(1);
    const raw = model.forward(batch, 'tensor') as {
      rpnOuts: { clsScores: tf.Tensor[] };
      roiOuts: { clsScore: tf.Tensor };
    };
    expect(raw.rpnOuts.clsScores[0].shape).toEqual([2, 8, 8, 3]);
    expect(raw.roiOuts.clsScore.shape[1]).toBe(6);
    model.dispose();
  });

  it('rejects unknown keys with their path', () => {
    expect(() =>
      MODELS.build(
        { ...tinyFasterRcnn, trainCfg: { ...tinyFasterRcnn.trainCfg, rpnProposals: {} } },
        { path: 'model' },
      ),
    ).toThrow(/rpnProposals/);
    expect(() =>
      MODELS.build(
        {
          ...tinyFasterRcnn,
          roiHead: {
            ...tinyFasterRcnn.roiHead,
            bboxHead: { ...tinyFasterRcnn.roiHead.bboxHead, numClass: 3 },
          },
        },
        { path: 'model' },
      ),
    ).toThrow(/numClass/);
  });
});

describe('Faster R-CNN configs', () => {
  const files = readdirSync('configs/faster_rcnn').map((f) => `configs/faster_rcnn/${f}`);
  it('cover COCO, VOC and the shapes set', () => {
    for (const ds of ['coco', 'voc0712', 'shapes'])
      expect(files.some((f) => f.includes(ds))).toBe(true);
  });
  for (const file of files) {
    it(`${file} loads${file.includes('coco') || file.includes('shapes') ? ' and builds' : ''}`, async () => {
      const cfg = await loadConfig(file);
      expect(cfg.model.type).toBe('FasterRCNN');
      for (const t of [
        cfg.model.backbone.type,
        cfg.model.neck.type,
        cfg.model.rpnHead.type,
        cfg.model.roiHead.type,
        cfg.model.roiHead.bboxHead.type,
      ])
        expect(MODELS.has(t)).toBe(true);
      if (file.includes('voc')) {
        expect(cfg.model.roiHead.bboxHead.numClasses).toBe(20);
        return;
      }
      const model = MODELS.build<TwoStageDetector>(cfg.model, { path: 'model' });
      if (file.includes('coco')) {
        // mmdet R-50-FPN Faster R-CNN: ResNet-50 without fc 23,508,032 + FPN 3,344,384 + RPN 593,935 + 2-FC head 14,306,705.
        const n = model.namedParameters().reduce((s, [, v]) => s + v.size, 0);
        expect(n).toBe(41_753_056);
      } else {
        const b = syntheticBatch(1, 64, 3);
        model.train();
        for (const v of Object.values(model.loss(b)).flat())
          expect(Number.isFinite(v.dataSync()[0])).toBe(true);
        model.eval();
        expect((await model.predict(b))[0].predInstances.scores).toBeInstanceOf(Float32Array);
      }
      model.dispose();
    }, 60_000);
  }
});
