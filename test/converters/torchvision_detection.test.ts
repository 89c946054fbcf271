/**
 * torchvision's detectors, converted, give torchvision's detections: a
 * script (scripts/fixtures/torchvision/export_detectors.py, Debian's torch
 * 1.13 / torchvision 0.14) builds each model with seeded weights that give
 * hundreds of detections per image, saves it with torch.save and runs it on
 * 5 images; `tools/convert_checkpoint.ts --from torchvision --config`
 * converts the .pth (every key matched) and `tools/infer.ts` runs the
 * config on the same images. Each torchvision detection must have its match:
 * the same label, the box within 0.5 px, the score within 1e-3 (but for a
 * few NMS near-ties, 0.1% at most); and the counts agree alike.
 *
 * The images are test/helpers/torchvision_parity.ts's 5 (kangaroo photos cut to
 * a short side of 160, the `min_size` both sides use to stay in the test
 * budget: the resize is the identity on both sides); the detection cap is
 * raised alike on both sides so that no near-tie at the cap decides.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig, mergeConfig } from '../../src/config/index.js';
import { registerAllModules } from '../../src/engine/register_all.js';
import { generalizedRcnnTransform } from '../../configs/_base_/datasets/torchvision_coco.js';
import { rleDecode } from '../../src/masks/index.js';
import { loadCheckpoint, type Module } from '../../src/nn/index.js';
import { MODELS as MODELS_REGISTRY } from '../../src/registry.js';
import {
  convertThroughTool,
  hasTorchvision,
  PARITY_SHORT_SIDE,
  runTorchScript,
  writeParityImages,
} from '../helpers/torchvision_parity.js';

const SCRIPT = 'scripts/fixtures/torchvision/export_detectors.py';
const MIN_SIZE = PARITY_SHORT_SIDE;
const CAP = 2000;

/** Per model: the cap raised alike on both sides, and our label of torchvision's label `l`. */
const MODELS: Record<
  string,
  {
    /** Detections per image on both sides, and our config's setting of it. */
    cap: number;
    capCfg: Record<string, unknown>;
    label: (l: number) => number;
    /** The model with 6 classes, and the layers that then differ from the COCO model's. */
    sixClasses: Record<string, unknown>;
    classLayers: string[];
    /** Two-stage: proposals per image after the RPN's NMS, set alike on both sides. */
    proposals?: number;
  }
> = {
  // masks: 30 detections per image on both sides (the mask head's convs on 2000 RoIs would not fit the budget)
  maskrcnn_resnet50_fpn: {
    cap: 30,
    capCfg: { testCfg: { rcnn: { maxPerImg: 30 } } },
    label: (l) => l - 1,
    sixClasses: { roiHead: { bboxHead: { numClasses: 6 }, maskHead: { numClasses: 6 } } },
    classLayers: [
      'roiHead.bboxHead.fcCls.bias',
      'roiHead.bboxHead.fcCls.weight',
      'roiHead.bboxHead.fcReg.bias',
      'roiHead.bboxHead.fcReg.weight',
      'roiHead.maskHead.convLogits.bias',
      'roiHead.maskHead.convLogits.weight',
    ],
  },
  retinanet_resnet50_fpn: {
    cap: CAP,
    capCfg: { testCfg: { maxPerImg: CAP } },
    label: (l) => l,
    sixClasses: { bboxHead: { numClasses: 6 } },
    classLayers: ['bboxHead.retinaCls.bias', 'bboxHead.retinaCls.weight'],
  },
  fcos_resnet50_fpn: {
    cap: CAP,
    capCfg: { testCfg: { maxPerImg: CAP } },
    label: (l) => l,
    sixClasses: { bboxHead: { numClasses: 6 } },
    classLayers: ['bboxHead.convCls.bias', 'bboxHead.convCls.weight'],
  },
  // torchvision's background is class 0, ours is last
  fasterrcnn_resnet50_fpn: {
    cap: CAP,
    capCfg: { testCfg: { rcnn: { maxPerImg: CAP } } },
    label: (l) => l - 1,
    sixClasses: { roiHead: { bboxHead: { numClasses: 6 } } },
    classLayers: [
      'roiHead.bboxHead.fcCls.bias',
      'roiHead.bboxHead.fcCls.weight',
      'roiHead.bboxHead.fcReg.bias',
      'roiHead.bboxHead.fcReg.weight',
    ],
  },
};
/**
 * v2: the settings and class layers of v1; the two-stage models with 250
 * proposals per image alike on both sides (torchvision's 1000 at native
 * size), as the four-conv box head on 1000 RoIs would not fit the budget.
 */
const PROPOSALS = 250;
MODELS.retinanet_resnet50_fpn_v2 = MODELS.retinanet_resnet50_fpn;
for (const v1 of ['maskrcnn_resnet50_fpn', 'fasterrcnn_resnet50_fpn']) {
  const m = MODELS[v1];
  const rcnn = (m.capCfg.testCfg as Record<string, unknown>).rcnn;
  MODELS[`${v1}_v2`] = {
    ...m,
    proposals: PROPOSALS,
    capCfg: { testCfg: { rcnn, rpn: { maxPerImg: PROPOSALS } } },
  };
}
const torchvisionHere = hasTorchvision('torchvision detector parity');

interface TvResult {
  image: string;
  boxes: number[][];
  scores: number[];
  labels: number[];
  /** Mask R-CNN: each mask above 0.5, row-major bits in base64. */
  masks?: string[];
}
interface OurDet {
  bbox: number[];
  score: number;
  label: number;
  segmentation?: { size: [number, number]; counts: string };
}

/** IoU of torchvision's packed-bit mask and our RLE. */
function maskIou(bits: string, rle: NonNullable<OurDet['segmentation']>): number {
  const packed = Buffer.from(bits, 'base64');
  const ours = rleDecode(rle, 'C');
  let inter = 0;
  let union = 0;
  for (let i = 0; i < ours.length; i++) {
    const a = (packed[i >> 3] >> (7 - (i & 7))) & 1;
    const b = ours[i] ? 1 : 0;
    inter += a & b;
    union += a | b;
  }
  return union ? inter / union : 1;
}

/**
 * Unmatched torchvision detections: each needs an unused one of ours with
 * its label, box and score. `ious` receives the mask IoU of each match.
 */
function unmatched(
  tv: TvResult,
  ours: OurDet[],
  label: (l: number) => number,
  ious: number[] = [],
): string[] {
  const used = new Uint8Array(ours.length);
  const missing: string[] = [];
  tv.scores.forEach((score, i) => {
    const box = tv.boxes[i];
    let hit = -1;
    // nearest rank first: equal scores may come in either order
    for (let d = 0; d < ours.length && hit < 0; d++) {
      for (const j of [i - d, i + d]) {
        if (j < 0 || j >= ours.length || used[j]) continue;
        const o = ours[j];
        if (
          o.label === label(tv.labels[i]) &&
          Math.abs(o.score - score) <= 1e-3 &&
          o.bbox.every((v, k) => Math.abs(v - box[k]) <= 0.5)
        ) {
          hit = j;
          break;
        }
      }
      if (d > 50) break;
    }
    if (hit >= 0) {
      used[hit] = 1;
      if (tv.masks) ious.push(maskIou(tv.masks[i], ours[hit].segmentation!));
    } else
      missing.push(
        `#${i} label ${tv.labels[i]} score ${score.toFixed(4)} box [${box.map((v) => v.toFixed(2))}]`,
      );
  });
  return missing;
}

describe.runIf(torchvisionHere)('torchvision detectors converted from .pth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-tvdet-'));
  const images: string[] = [];

  beforeAll(async () => {
    await setBackend('wasm');
    await registerAllModules();
    images.push(...(await writeParityImages(dir)));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(Object.keys(MODELS))(
    '%s: same labels, boxes within 0.5 px, scores within 1e-3 on 5 images',
    async (name) => {
      runTorchScript(SCRIPT, [
        '--out',
        dir,
        '--images',
        images.join(','),
        '--models',
        name,
        '--min-size',
        String(MIN_SIZE),
        '--detections-per-img',
        String(MODELS[name].cap),
        ...(MODELS[name].proposals ? ['--proposals', String(MODELS[name].proposals)] : []),
      ]);
      const tv = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as {
        torch: string;
        torchvision: string;
        results: TvResult[];
      };
      // non-degenerate weights: many detections per image, not one box repeated
      for (const t of tv.results) {
        expect(t.scores.length, t.image).toBeGreaterThanOrEqual(20);
        expect(new Set(t.boxes.map((b) => b.map(Math.round).join())).size).toBeGreaterThan(10);
      }
      const cfg = path.join(dir, `${name}.json.config.json`);
      fs.writeFileSync(
        cfg,
        JSON.stringify({
          _base_: path.resolve(`configs/torchvision/${name}.ts`),
          model: MODELS[name].capCfg,
          testPipeline: generalizedRcnnTransform(MIN_SIZE),
        }),
      );
      const ckpt = await convertThroughTool(dir, name, cfg);

      // fine-tuning from it with 6 classes (--load-from): only the class layers are left out
      const six = await loadConfig(cfg, { cfgOptions: [] });
      const model = MODELS_REGISTRY.build<Module>(
        mergeConfig(six.model as Record<string, unknown>, MODELS[name].sixClasses),
      );
      const { state } = loadCheckpoint(ckpt);
      const lr = model.loadStateDict(state, { strict: false });
      tf.dispose([...state.values()]);
      model.dispose();
      expect(lr.missingKeys).toEqual([]);
      expect(lr.unexpectedKeys).toEqual([]);
      expect(lr.mismatchedKeys.map((k) => k.split(':')[0]).sort()).toEqual(
        MODELS[name].classLayers,
      );
      const out = path.join(dir, `${name}_infer`);
      await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'tools/infer.ts',
          cfg,
          ckpt,
          ...images,
          '--out-dir',
          out,
          '--score-thr',
          '0',
          '--backend',
          'wasm',
          '--no-draw',
        ],
        { maxBuffer: 1 << 24 },
      );
      const ours = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as {
        results: { image: string; detections: OurDet[] }[];
      };
      // An NMS decision at an IoU of 0.5000 (or a score at 0.0500) goes either way with the last
      // bit of the arithmetic, and what it keeps changes what it suppresses next: a few such
      // near-ties are allowed (0.1% of the detections), every other detection must match.
      const counts: string[] = [];
      const missing: string[] = [];
      const ious: number[] = [];
      let total = 0;
      let countDiff = 0;
      tv.results.forEach((t, i) => {
        const o = ours.results[i].detections;
        expect(path.basename(ours.results[i].image)).toBe(t.image);
        missing.push(...unmatched(t, o, MODELS[name].label, ious).map((m) => `${t.image} ${m}`));
        countDiff += Math.abs(o.length - t.scores.length);
        total += t.scores.length;
        counts.push(String(o.length));
      });
      const allowed = Math.max(2, Math.floor(total / 1000));
      console.log(
        `${name} (torch ${tv.torch}, torchvision ${tv.torchvision}, min_size ${MIN_SIZE}): ${counts.join(', ')} detections per image; ` +
          `${total - missing.length} of ${total} matched${missing.length ? `; unmatched (near-ties): ${missing.join('; ')}` : ''}`,
      );
      expect(missing.length, missing.join('\n')).toBeLessThanOrEqual(allowed);
      if (tv.results[0].masks) {
        const low = ious.filter((v) => v < 0.99);
        console.log(
          `${name}: mask IoU over ${ious.length} matched detections: min ${Math.min(...ious).toFixed(4)}, mean ${(ious.reduce((a, b) => a + b, 0) / ious.length).toFixed(5)}`,
        );
        expect(low, 'masks with IoU < 0.99').toEqual([]);
      }
      expect(countDiff).toBeLessThanOrEqual(allowed);
    },
    300_000,
  );
});
