/**
 * torchvision's segmentation models, converted, give torchvision's logits:
 * scripts/fixtures/torchvision/export_segmentors.py (Debian's torch 1.13 /
 * torchvision 0.14) builds each model with seeded weights whose label maps
 * are varied (many classes win somewhere), saves it with torch.save and runs
 * it on the 5 parity images through the weights' own transform at
 * resize_size 160 (the identity on these images, see
 * test/helpers/torchvision_parity.ts); `tools/convert_checkpoint.ts --from
 * torchvision --config` converts the .pth (every key matched) and our
 * config's test pipeline and model give the logits at the input size:
 * within 1e-3 of torchvision's everywhere, the same arg-max on at least
 * 99.9% of the pixels. `tools/infer.ts`'s label map is checked alike for
 * one model.
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
import { semanticSegmentationTransform } from '../../configs/_base_/datasets/torchvision_voc_seg.js';
import { collate, Compose, decodeIndexedPng, type PackedInputs } from '../../src/datasets/index.js';
import { loadCheckpoint, type Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import type { SegDataSample } from '../../src/structures/index.js';
import {
  convertThroughTool,
  hasTorchvision,
  PARITY_SHORT_SIDE,
  runTorchScript,
  writeParityImages,
} from '../helpers/torchvision_parity.js';

const SCRIPT = 'scripts/fixtures/torchvision/export_segmentors.py';
const C = 21;
const NAMES = [
  'fcn_resnet50',
  'fcn_resnet101',
  'deeplabv3_resnet50',
  'deeplabv3_resnet101',
  'deeplabv3_mobilenet_v3_large',
  'lraspp_mobilenet_v3_large',
];
/** The layers a model with another number of classes leaves to their initialisation. */
function classLayers(name: string): string[] {
  const heads = name.startsWith('lraspp')
    ? ['decodeHead.convSeg', 'decodeHead.lowClassifier']
    : ['auxiliaryHead.convSeg', 'decodeHead.convSeg'];
  return heads.flatMap((h) => [`${h}.bias`, `${h}.weight`]).sort();
}
/** The model whose label maps are also checked through tools/infer.ts. */
const THROUGH_INFER = 'deeplabv3_resnet50';

const torchvisionHere = hasTorchvision('torchvision segmentation parity');

/** Arg-max over the last axis of `[H, W, C]` values. */
function argmax(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length / C);
  for (let p = 0; p < out.length; p++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (v[p * C + c] > v[p * C + best]) best = c;
    out[p] = best;
  }
  return out;
}

/** A little-endian float32 file. */
function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

describe.runIf(torchvisionHere)('torchvision segmentation models converted from .pth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-tvseg-'));
  const images: string[] = [];

  beforeAll(async () => {
    await setBackend('wasm');
    await registerAllModules();
    images.push(...(await writeParityImages(dir)));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(NAMES)(
    '%s: logits within 1e-3, the same arg-max on >= 99.9% of pixels of 5 images',
    async (name) => {
      runTorchScript(SCRIPT, [
        '--out',
        dir,
        '--images',
        images.join(','),
        '--models',
        name,
        '--resize-size',
        String(PARITY_SHORT_SIDE),
      ]);
      const tv = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as {
        torch: string;
        torchvision: string;
        results: { image: string; logits: string; shape: [number, number, number] }[];
      };
      const cfg = path.join(dir, `${name}.config.json`);
      fs.writeFileSync(
        cfg,
        JSON.stringify({
          _base_: path.resolve(`configs/torchvision/${name}.ts`),
          testPipeline: semanticSegmentationTransform(PARITY_SHORT_SIDE),
        }),
      );
      const ckpt = await convertThroughTool(dir, name, cfg);

      const loaded = await loadConfig(cfg, { cfgOptions: [] });
      const { state } = loadCheckpoint(ckpt);
      try {
        // fine-tuning with 6 classes (--load-from): only the two classifiers are left out
        const hasAux = (loaded.model as Record<string, unknown>).auxiliaryHead !== undefined;
        const six = MODELS.build<Module>(
          mergeConfig(loaded.model as Record<string, unknown>, {
            decodeHead: { numClasses: 6 },
            ...(hasAux ? { auxiliaryHead: { numClasses: 6 } } : {}),
          }),
        );
        const lr6 = six.loadStateDict(state, { strict: false });
        six.dispose();
        expect(lr6.missingKeys).toEqual([]);
        expect(lr6.unexpectedKeys).toEqual([]);
        expect(lr6.mismatchedKeys.map((k) => k.split(':')[0]).sort()).toEqual(classLayers(name));

        const model = MODELS.build<Module & { predict(b: unknown): Promise<SegDataSample[]> }>(
          mergeConfig(loaded.model as Record<string, unknown>, {
            testCfg: { outputLogits: true },
          }),
        );
        model.loadStateDict(state, { strict: true });
        model.eval();
        const pipeline = new Compose(loaded.testPipeline as { type: string }[]);
        const lines: string[] = [];
        try {
          for (const [i, t] of tv.results.entries()) {
            const packed = (await pipeline.run({
              imgPath: images[i],
              imgId: i,
              width: 0,
              height: 0,
              instances: [],
            })) as unknown as PackedInputs;
            const batch = collate([packed]);
            const [pred] = await model.predict(batch);
            batch.inputs.dispose();
            const ref = readF32(path.join(dir, t.logits));
            const ours = pred.segLogits!;
            expect([ours.height, ours.width, ours.channels], t.image).toEqual(t.shape);
            let maxDiff = 0;
            for (let k = 0; k < ref.length; k++)
              maxDiff = Math.max(maxDiff, Math.abs(ref[k] - ours.data[k]));
            const refLabels = argmax(ref);
            const same = agreement(refLabels, pred.predSemSeg.data);
            // non-degenerate: several classes win on at least 1% of the pixels
            const counts = new Map<number, number>();
            for (const l of refLabels) counts.set(l, (counts.get(l) ?? 0) + 1);
            const winners = [...counts.values()].filter((n) => n >= refLabels.length / 100);
            lines.push(
              `${t.image} ${t.shape[1]}x${t.shape[0]}: max |diff| ${maxDiff.toExponential(2)}, arg-max agrees on ${(100 * same).toFixed(3)}%, ${winners.length} classes win >= 1%`,
            );
            expect(winners.length, t.image).toBeGreaterThanOrEqual(4);
            expect(maxDiff, t.image).toBeLessThanOrEqual(1e-3);
            expect(same, t.image).toBeGreaterThanOrEqual(0.999);
          }
        } finally {
          model.dispose();
        }
        console.log(
          `${name} (torch ${tv.torch}, torchvision ${tv.torchvision}, resize_size ${PARITY_SHORT_SIDE}):\n  ${lines.join('\n  ')}`,
        );
      } finally {
        tf.dispose([...state.values()]);
      }

      if (name !== THROUGH_INFER) return;
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
          '--backend',
          'wasm',
          '--no-draw',
        ],
        { maxBuffer: 1 << 24 },
      );
      for (const [i, t] of tv.results.entries()) {
        const map = decodeIndexedPng(fs.readFileSync(path.join(out, `img${i}_seg.png`)), t.image);
        const ref = argmax(readF32(path.join(dir, t.logits)));
        expect([map.height, map.width], t.image).toEqual(t.shape.slice(0, 2));
        expect(agreement(ref, map.data), t.image).toBeGreaterThanOrEqual(0.999);
      }
    },
    300_000,
  );
});
