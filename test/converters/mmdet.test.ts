/**
 * mmdetection's key names (test/fixtures/mmdet, from its model definitions:
 * scripts/fixtures/mmdet/state_dict_keys.py) onto the configs that mirror
 * them: every key lands on one of our model's, with its shape, and none of
 * the model's is left unfilled.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import { convertMmdet, detectMmdetModel, type MmdetModel } from '../../src/converters/index.js';
import { registerAllModules } from '../../src/engine/register_all.js';
import { loadCheckpoint, readWeights, type Module } from '../../src/nn/index.js';
import { main as convertCheckpoint } from '../../tools/convert_checkpoint.js';
import { MODELS } from '../../src/registry.js';

const CASES: [MmdetModel, string][] = [
  ['retinanet', 'configs/retinanet/retinanet_r50_fpn_1x_coco.ts'],
  ['faster_rcnn', 'configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.ts'],
  ['mask_rcnn', 'configs/mask_rcnn/mask_rcnn_r50_fpn_1x_coco.ts'],
  ['fcos', 'configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.ts'],
  ['ssd300', 'configs/ssd/ssd300_coco.ts'],
  ['yolov3', 'configs/yolo/yolov3_d53_8xb8-ms-608-273e_coco.ts'],
  ['fcn', 'configs/fcn/fcn_r50-d8_4xb4-20k_voc12-512x512.ts'],
  ['deeplabv3', 'configs/deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12-512x512.ts'],
];

/** The fixture's keys and shapes (comment lines name its sources). */
function fixture(name: string): [string, number[]][] {
  return readFileSync(`test/fixtures/mmdet/${name}.txt`, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [k, s] = l.split(' ');
      return [k, s ? s.split(',').map(Number) : []];
    });
}

beforeAll(async () => {
  await setBackend('cpu');
  await registerAllModules();
});

describe('mmdetection key mapping', () => {
  it.each(CASES)(
    '%s: every key of the fixture maps onto %s and fills it',
    async (name, cfgFile) => {
      const keys = fixture(name);
      expect(keys.length).toBeGreaterThan(60);
      expect(detectMmdetModel(keys.map(([k]) => k))).toBe(name);
      const cfg = await loadConfig(cfgFile);
      const model = MODELS.build<Module>(cfg.model, { path: 'model' });
      const sd = new Map(
        keys.map(([k, shape]) => [
          k,
          k.endsWith('num_batches_tracked') ? tf.scalar(0, 'int32') : tf.zeros(shape),
        ]),
      );
      const r = convertMmdet(sd, undefined, { disposeSource: true });
      try {
        expect(r.skipped).toEqual([]);
        const ours = model.stateDict();
        const mapped = [...r.state.keys()];
        expect(mapped.filter((k) => !ours.has(k))).toEqual([]); // no mmdetection key left over
        expect([...ours.keys()].filter((k) => !r.state.has(k))).toEqual([]); // none of ours unfilled
        const wrong = mapped.filter(
          (k) => JSON.stringify(r.state.get(k)!.shape) !== JSON.stringify(ours.get(k)!.shape),
        );
        expect(wrong).toEqual([]);
        const report = model.loadStateDict(r.state, { strict: true });
        expect(report).toEqual({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
      } finally {
        for (const t of r.state.values()) t.dispose();
        model.dispose();
      }
    },
  );

  it("reads SSD's layout from before mmdetection 2.14 as the current one", () => {
    const old = new Map([
      ['backbone.features.0.weight', tf.zeros([64, 3, 3, 3])],
      ['backbone.extra.3.weight', tf.zeros([256, 128, 3, 3])],
      ['backbone.l2_norm.weight', tf.zeros([512])],
      ['bbox_head.cls_convs.0.weight', tf.zeros([324, 512, 3, 3])],
    ]);
    const r = convertMmdet(old);
    expect(r.model).toBe('ssd300');
    expect([...r.state.keys()]).toEqual([
      'backbone.features.0.weight',
      'neck.extraLayers.1.1.conv.weight',
      'neck.l2Norm.weight',
      'bboxHead.clsConvs.0.weight',
    ]);
    for (const t of [...old.values(), ...r.state.values()]) t.dispose();
  });

  it("leaves out mmdetection 2.x's EMA buffers and reports them", () => {
    const sd = new Map([
      ['backbone.conv1.weight', tf.zeros([64, 3, 1, 1])],
      ['bbox_head.retina_cls.weight', tf.zeros([720, 256, 1, 1])],
      ['ema_backbone_conv1_weight', tf.zeros([64, 3, 1, 1])],
    ]);
    const r = convertMmdet(sd);
    expect([...r.state.keys()]).toEqual(['backbone.conv1.weight', 'bboxHead.retinaCls.weight']);
    expect(r.skipped).toEqual(['ema_backbone_conv1_weight (an EMA copy, not a model weight)']);
    for (const t of [...sd.values(), ...r.state.values()]) t.dispose();
  });

  it('refuses weights from no model it knows, naming its keys', () => {
    const sd = new Map([['conv1.weight', tf.zeros([1])]]);
    expect(() => convertMmdet(sd)).toThrow(/cannot tell which mmdetection model.*conv1\.weight/);
    sd.get('conv1.weight')!.dispose();
  });
});

const PY = process.env.TFDET_TORCH_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status !== 0)
  console.log(
    `[skip] convert_checkpoint --from mmdet on a torch.save'd checkpoint: ${PY} cannot import torch (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`,
  );

describe.runIf(probe.status === 0)('tools/convert_checkpoint.ts --from mmdet', () => {
  it("converts a torch.save'd RetinaNet checkpoint ({meta, state_dict}) that fills the config's model", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfdet-mmdet-'));
    try {
      const pth = join(dir, 'retinanet.pth');
      const out = join(dir, 'retinanet.safetensors');
      const r = spawnSync(
        PY,
        ['scripts/fixtures/mmdet/state_dict_keys.py', '--save', 'retinanet', pth],
        {
          encoding: 'utf8',
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const lines: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => void lines.push(a.join(' '));
      let code: number;
      try {
        code = await convertCheckpoint([pth, out, '--from', 'mmdet', '--config', CASES[0][1]]);
      } finally {
        console.log = log;
      }
      expect(code).toBe(0);
      expect(lines.join('\n')).toMatch(/retinanet_r50_fpn_1x_coco\.ts: all keys matched/);
      expect(lines.join('\n')).toMatch(
        /\(pth, mmdet retinanet\) -> .*: 354 tensors mapped; none skipped/,
      );
      // a conv's values land transposed OIHW -> HWIO
      const src = readWeights(pth).tensors;
      const theirs = src.get('bbox_head.retina_cls.weight')!; // [720, 256, 3, 3]
      const ck = loadCheckpoint(out);
      const ours = ck.state.get('bboxHead.retinaCls.weight')!; // [3, 3, 256, 720]
      expect(ours.shape).toEqual([3, 3, 256, 720]);
      const t = theirs.arraySync() as number[][][][];
      const o = ours.arraySync() as number[][][][];
      for (const [a, b, y, x] of [
        [0, 0, 0, 0],
        [719, 255, 2, 1],
        [5, 17, 1, 2],
      ] as const)
        expect(o[y][x][b][a]).toBe(t[a][b][y][x]);
      for (const m of [src, ck.state, ck.optimizerState]) for (const v of m.values()) v.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
