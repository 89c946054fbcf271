/** Mask R-CNN end to end on tiny inputs: one training step with mask targets, one prediction with pasted masks. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/backbones/index.js';
import '../../src/necks/index.js';
import '../../src/detectors/index.js';
import type { TwoStageDetector } from '../../src/detectors/index.js';
import { MODELS } from '../../src/registry.js';
import { maskBatch, tinyFasterRcnn } from './helpers.js';

const tinyMaskRcnn = {
  ...tinyFasterRcnn,
  type: 'MaskRCNN',
  roiHead: {
    ...tinyFasterRcnn.roiHead,
    maskRoiExtractor: {
      type: 'SingleRoIExtractor',
      roiLayer: { type: 'RoIAlign', outputSize: 14, samplingRatio: 0 },
      outChannels: 16,
      featmapStrides: [8, 16],
    },
    maskHead: {
      type: 'FCNMaskHead',
      numConvs: 2,
      inChannels: 16,
      convOutChannels: 16,
      numClasses: 5,
    },
  },
  trainCfg: { ...tinyFasterRcnn.trainCfg, rcnn: { ...tinyFasterRcnn.trainCfg.rcnn, maskSize: 28 } },
  testCfg: {
    ...tinyFasterRcnn.testCfg,
    rcnn: { ...tinyFasterRcnn.testCfg.rcnn, maxPerImg: 20, maskThrBinary: 0.5 },
  },
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('MaskRCNN', () => {
  it('one training step: loss_mask joins the Faster R-CNN losses and its gradient reaches the mask head and the backbone', () => {
    const model = MODELS.build<TwoStageDetector>(tinyMaskRcnn, { path: 'model' });
    const batch = maskBatch(2, 64, 5);
    model.train();
    const params = model.trainableParameters();
    const { grads } = tf.variableGrads(
      () => {
        const l = model.loss(batch);
        expect(Object.keys(l).sort()).toEqual([
          'acc',
          'loss_bbox',
          'loss_cls',
          'loss_mask',
          'loss_rpn_bbox',
          'loss_rpn_cls',
        ]);
        const m = (l.loss_mask as tf.Scalar).dataSync()[0];
        // Untrained logits near 0: binary CE near ln 2.
        expect(m).toBeGreaterThan(0.3);
        expect(m).toBeLessThan(1.5);
        return tf.addN(
          Object.entries(l)
            .filter(([k]) => k.includes('loss'))
            .flatMap(([, v]) => v),
        ) as tf.Scalar;
      },
      params.map(([, v]) => v),
    );
    const byName = new Map(params.map(([n, v]) => [n, grads[v.name]]));
    const maskParams = params.map(([n]) => n).filter((n) => n.startsWith('roiHead.maskHead.'));
    expect(maskParams.length).toBeGreaterThan(0);
    for (const name of [
      ...maskParams.filter((n) => n.endsWith('weight')),
      'backbone.conv1.weight',
    ]) {
      expect(tf.sum(tf.abs(byName.get(name)!)).dataSync()[0], name).toBeGreaterThan(0);
    }
    model.dispose();
  });

  it('a missing gt mask is a clear error', () => {
    const model = MODELS.build<TwoStageDetector>(tinyMaskRcnn, { path: 'model' });
    const batch = maskBatch(1, 64, 5);
    delete batch.dataSamples[0].gtInstances.masks;
    model.train();
    expect(() => model.loss(batch)).toThrow(/masks/);
    model.dispose();
  });

  it('predict: one full-size binary mask per detection, at the original size when rescaled', async () => {
    const model = MODELS.build<TwoStageDetector>(tinyMaskRcnn, { path: 'model' });
    const batch = maskBatch(2, 64, 9);
    batch.dataSamples[0].metainfo = {
      ...batch.dataSamples[0].metainfo,
      scaleFactor: [0.5, 0.5],
      oriShape: [128, 128],
    };
    model.eval();
    const [a, b] = await model.predict(batch);
    for (const [d, side] of [
      [a, 128],
      [b, 64],
    ] as const) {
      const inst = d.predInstances as typeof d.predInstances & { masks?: Uint8Array[] };
      expect(inst.scores.length).toBeGreaterThan(0);
      expect(inst.masks).toHaveLength(inst.scores.length);
      for (const m of inst.masks!) {
        expect(m.length).toBe(side * side);
        expect(m.every((v) => v === 0 || v === 1)).toBe(true);
      }
    }
    const [a2] = await model.predict(batch, false);
    const m2 = (a2.predInstances as { masks?: Uint8Array[] }).masks!;
    expect(m2[0].length).toBe(64 * 64);
    model.dispose();
  });
});
