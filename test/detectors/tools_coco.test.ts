/**
 * Issue 7, must-show 5: `tools/test.ts --out` writes COCO results that
 * `tools/eval_coco.ts` scores exactly as `tools/test.ts` itself does. A tiny
 * RetinaNet is trained for a few iterations by `tools/train.ts` on a small
 * synthetic set written to a temporary folder, all through the command lines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSyntheticShapes } from '../../src/datasets/index.js';
import { lastJson, runToolOk as tool } from '../engine/helpers.js';

const CONFIG = path.resolve('test/fixtures/detectors/tiny_retinanet_shapes.ts');

let dir = '';
let dataOpts: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-tools-coco-'));
  const data = path.join(dir, 'data');
  await makeSyntheticShapes({ outDir: data, numTrain: 8, numVal: 6, imageSize: 64, seed: 5 });
  const ann = path.join(data, 'annotations', 'instances_val.json');
  dataOpts = [
    '--cfg-options',
    ...['train', 'val', 'test'].map((s) => `${s}Dataloader.dataset.dataRoot=${data}/`),
    `valEvaluator.annFile=${ann}`,
    `testEvaluator.annFile=${ann}`,
    '--backend',
    'wasm',
  ];
  await tool('train', [CONFIG, '--work-dir', path.join(dir, 'work'), ...dataOpts]);
}, 240_000);

describe('tools/test.ts --out and tools/eval_coco.ts', () => {
  it('score the same COCO results identically', async () => {
    const results = path.join(dir, 'results.json');
    const metrics = lastJson(
      await tool('test', [
        CONFIG,
        path.join(dir, 'work', 'epoch_4.safetensors'),
        '--json',
        '--out',
        results,
        '--work-dir',
        path.join(dir, 'test'),
        ...dataOpts,
      ]),
    );
    const dets = JSON.parse(fs.readFileSync(results, 'utf8')) as {
      image_id: number;
      bbox: number[];
      score: number;
      category_id: number;
    }[];
    expect(dets.length).toBeGreaterThan(0);
    expect(Object.keys(dets[0]).sort()).toEqual(['bbox', 'category_id', 'image_id', 'score']);
    const gt = path.join(dir, 'data', 'annotations', 'instances_val.json');
    const stats = lastJson(
      await tool('eval_coco', ['--gt', gt, '--dt', results, '--iou-type', 'bbox', '--json']),
    );
    // CocoMetric evaluates with maxDets [100, 300, 1000] as mmdetection does; every image keeps at most
    // 100 detections (maxPerImg), so its items at 1000 equal pycocotools' at 100.
    const pairs: [string, string][] = [
      ['mAP', 'AP'],
      ['mAP_50', 'AP50'],
      ['mAP_75', 'AP75'],
      ['mAP_s', 'APs'],
      ['mAP_m', 'APm'],
      ['mAP_l', 'APl'],
      ['AR@100', 'AR100'],
      ['AR_s@1000', 'ARs'],
      ['AR_m@1000', 'ARm'],
      ['AR_l@1000', 'ARl'],
    ];
    for (const [ours, coco] of pairs)
      expect([ours, metrics[`coco/bbox_${ours}`]]).toEqual([ours, stats[coco]]);
    // A model that learned something: not all zeros (so the equality above is not vacuous).
    expect(stats.AP50).toBeGreaterThan(0);
  }, 120_000);
});
