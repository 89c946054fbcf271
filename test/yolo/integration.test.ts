/**
 * Issue 8 must-show 3 for YOLOv3: one training iteration (finite losses,
 * gradients reaching the backbone's first conv) and one prediction of a tiny
 * YOLOv3 on tiny inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import '../../src/backbones/index.js';
import '../../src/necks/index.js';
import '../../src/detectors/index.js';
import type { YOLOV3 } from '../../src/detectors/index.js';
import { setInitSeed } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import { syntheticBatch } from '../detectors/helpers.js';
import { tinyYolo } from './helpers.js';

beforeAll(async () => {
  await setBackend('wasm');
});

describe('YOLOv3 integration', () => {
  it('one training iteration reaches the backbone, one prediction comes out', async () => {
    setInitSeed(3);
    const model = MODELS.build<YOLOV3>(tinyYolo, { path: 'model' });
    const batch = syntheticBatch(2, 64, 5);
    model.train();
    const params = model.trainableParameters();
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => {
        const l = model.loss(batch);
        expect(Object.keys(l).sort()).toEqual(['loss_cls', 'loss_conf', 'loss_wh', 'loss_xy']);
        for (const v of Object.values(l)) expect(Array.isArray(v) && v.length).toBe(3);
        const terms = Object.values(l).flatMap((v) => (Array.isArray(v) ? v : [v]));
        for (const t of terms) expect(Number.isFinite(t.dataSync()[0])).toBe(true);
        return tf.addN(terms) as tf.Scalar;
      },
      params.map(([, v]) => v),
    );
    const total = value.dataSync()[0];
    expect(Number.isFinite(total)).toBe(true);
    expect(total).toBeGreaterThan(0);
    const byName = new Map(params.map(([n, v]) => [n, grads[v.name]]));
    const g0 = byName.get('backbone.conv1.conv.weight');
    expect(g0).toBeDefined();
    expect(tf.norm(g0!).dataSync()[0]).toBeGreaterThan(0);
    for (const name of [
      'neck.detect3.conv5.conv.weight',
      'bboxHead.convsPred.0.weight',
      'bboxHead.convsPred.2.bias',
    ]) {
      expect(tf.norm(byName.get(name)!).dataSync()[0]).toBeGreaterThan(0);
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors - before).toBeLessThan(50);

    model.eval();
    const preds = await model.predict(batch);
    expect(preds).toHaveLength(2);
    for (const p of preds) {
      const inst = p.predInstances;
      expect(inst.scores.length).toBeGreaterThan(0);
      expect(inst.scores.length).toBeLessThanOrEqual(20);
      expect(inst.bboxes.length).toBe(4 * inst.scores.length);
      for (const s of inst.scores) expect(s >= 0 && s <= 1).toBe(true);
      for (const l of inst.labels) expect(l >= 0 && l < 5).toBe(true);
      for (let i = 1; i < inst.scores.length; i++)
        expect(inst.scores[i]).toBeLessThanOrEqual(inst.scores[i - 1]);
    }
    model.dispose();
  });
});
