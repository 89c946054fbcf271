/**
 * `tools/test.ts` scores one checkpoint on the same images alike through
 * CocoMetric with an annotation file (COCO JSON) and through VOCDataset +
 * VOCMetric (VOC XML, ground truth from the predicted samples): AP@0.5
 * within 0.02, and above 0. A tiny RetinaNet is trained for a few epochs by
 * `tools/train.ts` on a small synthetic set written to a temporary folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSyntheticShapes } from '../../src/datasets/index.js';
import { lastJson, runToolOk as tool } from '../engine/helpers.js';

const CONFIG = path.resolve('test/fixtures/detectors/tiny_retinanet_shapes.ts');

let dir = '';
let data = '';
let dataOpts: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-voc-coco-'));
  data = path.join(dir, 'data');
  await makeSyntheticShapes({ outDir: data, numTrain: 64, numVal: 16, imageSize: 64, seed: 3 });
  const ann = path.join(data, 'annotations', 'instances_val.json');
  dataOpts = [
    '--cfg-options',
    ...['train', 'val', 'test'].map((s) => `${s}Dataloader.dataset.dataRoot=${data}/`),
    `valEvaluator.annFile=${ann}`,
    `testEvaluator.annFile=${ann}`,
    'trainCfg.maxEpochs=24',
    '--backend',
    'wasm',
  ];
  await tool('train', [CONFIG, '--work-dir', path.join(dir, 'work'), ...dataOpts]);
}, 240_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tools/test.ts: VOCMetric and CocoMetric on one checkpoint', () => {
  it('agree on AP@0.5 within 0.02, above 0', async () => {
    const ckpt = path.join(dir, 'work', 'epoch_24.safetensors');
    const coco = lastJson(
      await tool('test', [CONFIG, ckpt, '--json', '--work-dir', path.join(dir, 't1'), ...dataOpts]),
    );
    // the same images as a VOC data set, the metric reading ground truth from the samples;
    // all-point AP without the +1 pixel, the closest to COCO's 101-point AP@0.5
    const vocCfg = path.join(dir, 'voc.ts');
    fs.writeFileSync(
      vocCfg,
      `export default {
  _base_: [${JSON.stringify(CONFIG)}],
  testDataloader: { dataset: { _delete_: true, type: 'VOCDataset', dataRoot: ${JSON.stringify(`${data}/`)},
    annFile: 'ImageSets/Main/val.txt', testMode: true,
    metainfo: { classes: ['circle', 'square', 'triangle', 'star', 'hexagon'] },
    pipeline: [
      { type: 'LoadImageFromFile' }, { type: 'LoadAnnotations', withBbox: true },
      { type: 'Normalize', mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true },
      { type: 'Pad', sizeDivisor: 16 }, { type: 'PackDetInputs' },
    ] } },
  testEvaluator: { _delete_: true, type: 'VOCMetric', evalMode: 'area', useLegacyCoordinate: false },
};
`,
    );
    const voc = lastJson(
      await tool('test', [vocCfg, ckpt, '--json', '--work-dir', path.join(dir, 't2')]),
    );
    const c50 = coco['coco/bbox_mAP_50'];
    const v50 = voc['pascal_voc/AP50'];
    console.log(`AP50: COCO ${c50}, VOC ${v50}`);
    expect(c50).toBeGreaterThan(0);
    expect(v50).toBeGreaterThan(0);
    expect(Math.abs(v50 - c50)).toBeLessThanOrEqual(0.02);
  }, 120_000);
});
