/**
 * predict() of every family keeps no tensor: the backbone's, neck's and
 * heads' intermediate tensors are freed, so a long tools/infer.ts or
 * tools/test.ts run does not grow until the backend runs out of memory
 * (on wasm, a crash several images in at 800 pixels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import { registerAllModules } from '../../src/engine/register_all.js';
import type { Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';

const CONFIGS = [
  'configs/retinanet/retinanet_r18_shapes.ts',
  'configs/fcos/fcos_r18_shapes.ts',
  'configs/ssd/ssd_r18_shapes.ts',
  'configs/yolo/yolov3_d53-tiny_shapes.ts',
  'configs/faster_rcnn/faster_rcnn_r18_fpn_shapes.ts',
  'configs/mask_rcnn/mask_rcnn_r18_fpn_shapes.ts',
  'configs/fcn/fcn_r18_shapes.ts',
  'configs/deeplabv3/deeplabv3_r18-d8_shapes.ts',
];

beforeAll(async () => {
  await setBackend('wasm');
  await registerAllModules();
});

describe('predict() frees what it computes', () => {
  it.each(CONFIGS)('%s: no tensor left after predict', async (file) => {
    const cfg = await loadConfig(file);
    const model = MODELS.build<Module & { predict(b: unknown): Promise<unknown> }>(cfg.model);
    model.eval();
    const [H, W] = [64, 96];
    const meta = {
      imgShape: [H, W],
      oriShape: [H, W],
      batchInputShape: [H, W],
      padShape: [H, W],
      scaleFactor: [1, 1],
    };
    for (let i = 0; i < 2; i++) {
      const inputs = tf.randomUniform([1, H, W, 3], -1, 1, 'float32', i + 1);
      const before = tf.memory().numTensors;
      await model.predict({ inputs, dataSamples: [{ metainfo: meta }] });
      expect(tf.memory().numTensors - before, `run ${i + 1}`).toBe(0);
      inputs.dispose();
    }
    model.dispose();
  });
});
