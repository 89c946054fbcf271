/** Mask R-CNN end to end on tiny inputs: configs build, one training step reaches the mask head, prediction gives full-size masks, tools/infer.ts draws them. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import '../../src/backbones/index.js';
import '../../src/necks/index.js';
import '../../src/detectors/index.js';
import '../../src/roi_heads/index.js';
import type { DetBatch, DetDataSample, LossDict } from '../../src/structures/index.js';
import { saveCheckpoint, setInitSeed, type Module } from '../../src/nn/index.js';
import { renderSyntheticImage } from '../../src/datasets/synthetic.js';
import { MODELS } from '../../src/registry.js';
import { Rng } from '../../src/utils/random.js';
import { maskBatch } from '../detectors/helpers.js';

const SHAPES = 'configs/mask_rcnn/mask_rcnn_r18_fpn_shapes.ts';
type Detector = Module & {
  loss(b: DetBatch): LossDict;
  predict(b: DetBatch): Promise<DetDataSample[]>;
};

let model: Detector;
let tiny: Detector;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mrcnn-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  setInitSeed(3);
  const cfg = await loadConfig(SHAPES);
  model = MODELS.build<Detector>(cfg.model, { path: 'model' });
  // For the training step (convolution gradients are slow on the cpu backend): a one-conv mask head of 4 channels, 16 RoIs per image.
  const m = structuredClone(cfg.model);
  m.roiHead.maskHead = { ...m.roiHead.maskHead, numConvs: 1, convOutChannels: 4 };
  m.trainCfg.rcnn.sampler.num = 16;
  tiny = MODELS.build<Detector>(m, { path: 'model' });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('Mask R-CNN', () => {
  it('the COCO config is mmdet’s: R-50-FPN, RoIAlign 14 on P2-P5, FCNMaskHead 4x256 over 80 classes, 28x28 targets, bbox + segm metric', async () => {
    const cfg = await loadConfig('configs/mask_rcnn/mask_rcnn_r50_fpn_1x_coco.ts');
    expect(cfg.model.type).toBe('MaskRCNN');
    expect(cfg.model.roiHead.maskRoiExtractor).toMatchObject({
      roiLayer: { outputSize: 14 },
      featmapStrides: [4, 8, 16, 32],
    });
    expect(cfg.model.roiHead.maskHead).toMatchObject({
      type: 'FCNMaskHead',
      numConvs: 4,
      convOutChannels: 256,
      numClasses: 80,
    });
    expect(cfg.model.trainCfg.rcnn.maskSize).toBe(28);
    expect(cfg.model.testCfg.rcnn.maskThrBinary).toBe(0.5);
    expect(cfg.trainDataloader.dataset.pipeline[1]).toMatchObject({
      type: 'LoadAnnotations',
      withMask: true,
    });
    expect(cfg.testEvaluator.metric).toEqual(['bbox', 'segm']);
    for (const t of [cfg.model.type, cfg.model.roiHead.type, cfg.model.roiHead.maskHead.type])
      expect(MODELS.has(t)).toBe(true);
  });

  it('one training step: loss_mask is finite and its gradient reaches the mask head', () => {
    const b = maskBatch(2, 64, 1);
    tiny.train();
    const params = tiny.trainableParameters().filter(([n]) => n.startsWith('roiHead.maskHead.'));
    expect(params.length).toBe(6);
    const { value, grads } = tf.variableGrads(
      () => {
        const l = tiny.loss(b);
        expect(Object.keys(l)).toEqual(
          expect.arrayContaining(['loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask']),
        );
        return l.loss_mask as tf.Scalar;
      },
      params.map(([, v]) => v),
    );
    const loss = value.dataSync()[0];
    // sigmoid BCE of a fresh head: around log 2, not 0
    expect(Number.isFinite(loss) && loss > 0.05 && loss < 5).toBe(true);
    for (const [name, v] of params)
      expect(tf.abs(grads[v.name]).sum().dataSync()[0], name).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads), b.inputs]);
  });

  it('prediction gives one full-size 0/1 mask per detection, inside its box', async () => {
    const b = maskBatch(1, 64, 2);
    model.eval();
    const [p] = await model.predict(b);
    const inst = p.predInstances;
    expect(inst.masks).toBeDefined();
    expect(inst.masks!.length).toBe(inst.labels.length);
    for (const [i, m] of inst.masks!.entries()) {
      expect(m.length).toBe(64 * 64);
      const [x1, y1, x2, y2] = inst.bboxes.subarray(4 * i, 4 * i + 4);
      for (let k = 0; k < m.length; k++) {
        if (m[k] !== 1) {
          expect(m[k]).toBe(0);
          continue;
        }
        const x = k % 64,
          y = Math.floor(k / 64);
        expect(
          x >= Math.floor(x1) - 1 &&
            x < Math.ceil(x2) + 1 &&
            y >= Math.floor(y1) - 1 &&
            y < Math.ceil(y2) + 1,
        ).toBe(true);
      }
    }
    b.inputs.dispose();
  });

  it('tools/infer.ts writes masks as COCO RLE and draws them', async () => {
    const ckpt = path.join(tmp, 'm.safetensors');
    saveCheckpoint(ckpt, { state: model.stateDict() });
    const r = renderSyntheticImage(Rng.derive(5, 0), 96, {
      objectsPerImage: [2, 2],
      sizeRange: [30, 50],
      occlusionProb: 0,
    });
    const img = path.join(tmp, 'a.png');
    await sharp(Buffer.from(r.pixels), { raw: { width: 96, height: 96, channels: 3 } })
      .png()
      .toFile(img);
    const out = path.join(tmp, 'out');
    const run = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/infer.ts',
        SHAPES,
        ckpt,
        img,
        '--out-dir',
        out,
        '--score-thr',
        '0',
        '--backend',
        'cpu',
      ],
      { maxBuffer: 1 << 24 },
    );
    expect(run.stdout).toMatch(/detections with masks/);
    const res = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    const dets = res.results[0].detections as {
      segmentation: { size: number[]; counts: string };
    }[];
    expect(dets.length).toBeGreaterThan(0);
    for (const d of dets) expect(d.segmentation.size).toEqual([96, 96]);
    const meta = await sharp(path.join(out, 'a_pred.png')).metadata();
    expect([meta.width, meta.height]).toEqual([96, 96]);
  });
});
