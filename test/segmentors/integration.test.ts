/**
 * Integration (issue 8, must-show 3): a tiny EncoderDecoder takes one
 * training step on a tiny batch (finite losses, gradients reach the
 * backbone) and predicts; the shapes FCN config trains one epoch through
 * the Runner on a few synthetic VOC-segmentation images, is scored by
 * SegMetric, and tools/test.ts gives the same mIoU from its checkpoint.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import { makeSyntheticShapes } from '../../src/datasets/index.js';
import { Runner } from '../../src/engine/index.js';
import { registerAllModules } from '../../src/engine/register_all.js';
import { setInitSeed, type Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import type { EncoderDecoder } from '../../src/segmentors/index.js';
import type { SegBatch } from '../../src/structures/index.js';
import { imgMeta } from '../helpers/meta.js';

const exec = promisify(execFile);
let dir = '';

beforeAll(async () => {
  await setBackend('wasm');
  await registerAllModules();
  setInitSeed(3);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-seg-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const meta = (h: number, w: number) => imgMeta(h, w, { imgPath: 'x.png' });

/** Two 32x32 images: a bright square (class 1) and a dark bar (class 2) on grey, a few ignored pixels. */
function tinyBatch(): SegBatch {
  const S = 32;
  const px = new Float32Array(2 * S * S * 3);
  const samples = [0, 1].map((b) => {
    const lab = new Uint8Array(S * S);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const sq = y >= 4 + 8 * b && y < 16 + 8 * b && x >= 6 && x < 18;
        const bar = x >= 24 && x < 28;
        lab[y * S + x] = y === 0 ? 255 : sq ? 1 : bar ? 2 : 0;
        const v = sq ? 1.5 : bar ? -1.5 : 0;
        for (let c = 0; c < 3; c++) px[((b * S + y) * S + x) * 3 + c] = v + 0.1 * c;
      }
    }
    return { metainfo: meta(S, S), gtSemSeg: { data: lab, height: S, width: S } };
  });
  return { inputs: tf.tensor4d(px, [2, S, S, 3]), dataSamples: samples };
}

const HEADS: [string, Record<string, unknown>][] = [
  [
    'FCN (deconv up-sampling)',
    {
      type: 'FCNHead',
      inChannels: 32,
      inIndex: 1,
      channels: 16,
      numClasses: 3,
      normCfg: { type: 'BN' },
      upsample: 'deconv',
      upsampleFactor: 8,
    },
  ],
  [
    'DeepLabV3 (ASPP)',
    {
      type: 'ASPPHead',
      inChannels: 32,
      inIndex: 1,
      channels: 16,
      numClasses: 3,
      dilations: [1, 2, 3],
      normCfg: { type: 'BN' },
    },
  ],
];

describe('EncoderDecoder', () => {
  it.each(HEADS)(
    '%s: one training step (finite losses, gradients reach the backbone) and one prediction',
    async (_name, decodeHead) => {
      const model = MODELS.build<EncoderDecoder>({
        type: 'EncoderDecoder',
        backbone: {
          type: 'ResNetV1c',
          depth: 18,
          baseChannels: 8,
          numStages: 3,
          strides: [1, 2, 1],
          dilations: [1, 1, 2],
          outIndices: [1, 2],
          contractDilation: true,
          normEval: false,
        },
        decodeHead,
        auxiliaryHead: [
          {
            type: 'FCNHead',
            inChannels: 16,
            inIndex: 0,
            channels: 8,
            numConvs: 1,
            concatInput: false,
            numClasses: 3,
            lossDecode: {
              type: 'CrossEntropyLoss',
              lossWeight: 0.4,
              ignoreIndex: 255,
              avgNonIgnore: true,
            },
          },
        ],
      });
      // contractDilation: the first block of the dilated stage uses half its dilation
      const mods = new Map(model.backbone.namedModules()) as Map<
        string,
        Module & { options?: { dilation?: number; padding?: number } }
      >;
      expect(mods.get('layer3.0.conv1')!.options).toMatchObject({ dilation: 1, padding: 1 });
      expect(mods.get('layer3.1.conv1')!.options).toMatchObject({ dilation: 2, padding: 2 });
      const batch = tinyBatch();
      const vars = model.trainableParameters().map(([, v]) => v);
      let terms: Record<string, number> = {};
      const { value, grads } = tf.variableGrads(() => {
        const losses = model.loss(batch);
        terms = Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.dataSync()[0]]));
        return tf.addN(
          Object.entries(losses)
            .filter(([k]) => k.includes('loss'))
            .map(([, v]) => v),
        ) as tf.Scalar;
      }, vars);
      expect(Object.keys(terms).sort()).toEqual([
        'aux_0.acc_seg',
        'aux_0.loss_ce',
        'decode.acc_seg',
        'decode.loss_ce',
      ]);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      // 3 classes from a near-uniform start: about ln 3 for the decode head, 0.4 ln 3 for the auxiliary one
      expect(terms['decode.loss_ce']).toBeGreaterThan(0.5);
      expect(terms['decode.loss_ce']).toBeLessThan(3);
      expect(terms['aux_0.loss_ce'] / terms['decode.loss_ce']).toBeLessThan(1);
      const byName = new Map(model.trainableParameters().map(([n, v]) => [v.name, n]));
      const gradNorm = (prefix: string) =>
        Object.entries(grads)
          .filter(([k]) => byName.get(k)?.startsWith(prefix))
          .reduce((s, [, g]) => s + tf.sum(tf.square(g)).dataSync()[0], 0);
      expect(gradNorm('backbone.stem')).toBeGreaterThan(0);
      expect(gradNorm('backbone.layer3')).toBeGreaterThan(0);
      expect(gradNorm('auxiliaryHead.0')).toBeGreaterThan(0);
      // the fixed bilinear up-sampling gets no gradient (not trainable)
      expect([...byName.values()].some((n) => n.includes('upsample'))).toBe(false);
      model.eval();
      const preds = await model.predict(batch);
      expect(preds).toHaveLength(2);
      expect(preds[0].predSemSeg.height).toBe(32);
      expect(preds[0].predSemSeg.data.length).toBe(32 * 32);
      expect(Math.max(...preds[1].predSemSeg.data)).toBeLessThan(3);
      expect(preds[0].gtSemSeg!.data).toBe(batch.dataSamples[0].gtSemSeg!.data);
    },
  );

  it('the shapes FCN config trains an epoch through the Runner and is scored by SegMetric', async () => {
    const data = path.join(dir, 'shapes');
    await makeSyntheticShapes({ outDir: data, numTrain: 4, numVal: 2, imageSize: 64, seed: 1 });
    const root = `${data}/`;
    const cfg = await loadConfig('configs/fcn/fcn_r18_shapes.ts', {
      cfgOptions: [
        `trainDataloader.dataset.dataRoot=${root}`,
        `valDataloader.dataset.dataRoot=${root}`,
        `testDataloader.dataset.dataRoot=${root}`,
        'trainDataloader.batchSize=2',
        'trainDataloader.numWorkers=0',
        'valDataloader.numWorkers=0',
        'testDataloader.numWorkers=0',
        'trainCfg.maxEpochs=1',
        'paramScheduler.1.end=1',
      ],
    });
    cfg.workDir = path.join(dir, 'work');
    const chunks: string[] = [];
    const runner = new Runner(cfg, {
      console: { write: (s: string) => chunks.push(s) > 0, isTTY: false, columns: 200 },
    });
    await runner.train();
    expect(runner.iter).toBe(2);
    const metrics = runner.lastMetrics;
    expect(Object.keys(metrics).sort()).toEqual(['aAcc', 'mAcc', 'mIoU']);
    expect(metrics.mIoU).toBeGreaterThan(0);
    expect(metrics.aAcc).toBeLessThanOrEqual(100);
    expect(chunks.join('')).toMatch(
      /decode\.loss_ce: [0-9.]+ {2}decode\.acc_seg: [0-9.]+ {2}aux\.loss_ce/,
    );
    const ckpt = path.join(cfg.workDir, 'epoch_1.safetensors');
    expect(fs.existsSync(ckpt)).toBe(true);
    runner.dispose();
    // tools/test.ts scores the checkpoint with no segmentation special case and draws the label maps
    const show = path.join(dir, 'show');
    const r = await exec(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/test.ts',
        'configs/fcn/fcn_r18_shapes.ts',
        ckpt,
        '--json',
        '--show-dir',
        show,
        '--work-dir',
        path.join(dir, 'test'),
        '--cfg-options',
        `testDataloader.dataset.dataRoot=${root}`,
        'testDataloader.numWorkers=0',
      ],
      { maxBuffer: 1 << 24 },
    );
    const lines = r.stdout.trim().split('\n');
    const scored = JSON.parse(lines[lines.length - 1]) as Record<string, number>;
    expect(scored.mIoU).toBeCloseTo(metrics.mIoU, 6);
    expect(fs.readdirSync(show).filter((f) => f.endsWith('.png'))).toHaveLength(2);
  });
});
