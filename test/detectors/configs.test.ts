/**
 * Every config under configs/ loads (with its _base_ chain) and names registered
 * components; the single-stage shapes models (YOLOv3 too) are also built and run here (the
 * other families' configs are built and run by their own tests).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerAllModules } from '../../src/engine/register_all.js';
import type { SingleStageDetector } from '../../src/detectors/index.js';
import { loadConfig } from '../../src/config/index.js';
import { MODELS } from '../../src/registry.js';
import { syntheticBatch } from './helpers.js';

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory()
      ? f === '_base_'
        ? []
        : files(p)
      : f.endsWith('.ts')
        ? [p]
        : [];
  });

beforeAll(async () => {
  await registerAllModules();
  await tf.setBackend('cpu');
});

describe('configs', () => {
  const all = files('configs');
  it('there are RetinaNet, FCOS and SSD configs for COCO, VOC and the shapes set', () => {
    for (const fam of ['retinanet', 'fcos', 'ssd']) {
      for (const ds of ['coco', 'voc0712', 'shapes'])
        expect(all.some((f) => f.includes(`${fam}/`) && f.includes(ds))).toBe(true);
    }
  });
  for (const file of all) {
    it(`${file} loads and builds`, async () => {
      const cfg = await loadConfig(file);
      // torchvision's models come as inference configs: their pipeline and class names, no data set
      if (file.includes('torchvision/')) {
        expect(cfg.testPipeline).toBeTruthy();
        // the segmentation models' 21 VOC labels (one per output channel), else COCO's 90 categories (+ background)
        const m = cfg.model as { type: string; decodeHead?: { numClasses: number } };
        const n = (cfg.classes as string[]).length;
        if (m.type === 'EncoderDecoder') expect(n).toBe(m.decodeHead!.numClasses);
        else expect(n).toBeGreaterThanOrEqual(90);
      } else expect(cfg.trainDataloader?.dataset).toBeTruthy();
      const m = cfg.model as Record<string, { type?: string } | undefined> & { type: string };
      const parts = [
        m.type,
        ...['backbone', 'neck', 'bboxHead', 'rpnHead', 'roiHead', 'decodeHead'].map(
          (k) => m[k]?.type,
        ),
      ];
      for (const part of parts) if (part) expect([part, MODELS.has(part)]).toEqual([part, true]);
      // Building the full-size (ResNet-50, VGG-16) models takes tens of seconds on the cpu backend; build the small single-stage ones (YOLOv3 included).
      if (!file.includes('shapes') || !/^(RetinaNet|FCOS|SSD|YOLOV3)$/.test(m.type)) return;
      const model = MODELS.build<SingleStageDetector>(cfg.model, { path: 'model' });
      {
        const b = syntheticBatch(1, 64, 3);
        model.train();
        const losses = model.loss(b);
        expect(Object.keys(losses).some((k) => k.includes('loss'))).toBe(true);
        for (const v of Object.values(losses).flat())
          expect(Number.isFinite(v.dataSync()[0])).toBe(true);
        model.eval();
        expect((await model.predict(b))[0].predInstances.scores).toBeInstanceOf(Float32Array);
      }
      model.dispose();
    });
  }
});
