/**
 * Fixtures of the tools' cases: a random-init checkpoint per model family
 * (built in-process, saved with the project's checkpoint writer), a good
 * and a corrupt image, and the in-process prediction of a model on an image
 * (what tools/infer.ts must report for it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import { collate, Compose, type PackedInputs } from '../../src/datasets/index.js';
import { registerAllModules } from '../../src/engine/register_all.js';
import { saveCheckpoint, setInitSeed, type Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import type { InstanceData } from '../../src/structures/index.js';
import { tmpDir } from './harness.js';

export const FAMILIES = {
  detection: 'test/fixtures/detectors/tiny_retinanet_shapes.ts',
  segmentation: 'configs/fcn/fcn_r18_shapes.ts',
  instance: 'configs/mask_rcnn/mask_rcnn_r18_fpn_shapes.ts',
} as const;
export type Family = keyof typeof FAMILIES;

interface Pred {
  predInstances?: InstanceData;
  predSemSeg?: { data: Uint8Array; height: number; width: number };
}
type Predictor = Module & { predict(b: unknown): Promise<Pred[]> };

export interface Built {
  config: string;
  ckpt: string;
  model: Predictor;
  pipeline: Compose;
}

let dir: string | undefined;
/** One temp folder for the fixtures of this run. */
export function fixtureDir(): string {
  dir ??= tmpDir('tools-fx');
  return dir;
}

const built = new Map<Family, Promise<Built>>();

/** The model of `family` with seed-0 random weights, and its checkpoint file. */
export function buildFamily(family: Family): Promise<Built> {
  let p = built.get(family);
  if (!p) {
    p = (async () => {
      await setBackend('cpu');
      await registerAllModules();
      const config = FAMILIES[family];
      const cfg = await loadConfig(config);
      setInitSeed(0);
      const model = MODELS.build<Predictor>(cfg.model, { path: 'model' });
      model.eval();
      const ckpt = path.join(fixtureDir(), `${family}.safetensors`);
      saveCheckpoint(ckpt, { state: model.stateDict() });
      const steps = ((cfg.testDataloader ?? cfg.valDataloader)?.dataset?.pipeline ?? []) as {
        type: string;
      }[];
      const pipeline = new Compose(steps.filter((t) => t.type !== 'LoadAnnotations'));
      return { config, ckpt, model, pipeline };
    })();
    built.set(family, p);
  }
  return p;
}

/** A 64x64 PNG with a few coloured rectangles (deterministic per `seed`). */
export async function goodImage(file: string, seed = 1): Promise<string> {
  const W = 64;
  const px = new Uint8Array(W * W * 3);
  for (let y = 0; y < W; y++)
    for (let x = 0; x < W; x++) {
      const inBox = x > 10 + seed && x < 40 && y > 12 && y < 44 - seed;
      const o = 3 * (y * W + x);
      px[o] = inBox ? 220 : 30;
      px[o + 1] = inBox ? 40 : 30 + seed * 20;
      px[o + 2] = inBox ? 60 : 30;
    }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(px), { raw: { width: W, height: W, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}

/** A PNG whose header is intact and whose pixel data is cut off (decoding fails). */
export async function corruptImage(file: string): Promise<string> {
  const tmp = `${file}.full.png`;
  await goodImage(tmp, 3);
  const bytes = fs.readFileSync(tmp);
  fs.rmSync(tmp);
  fs.writeFileSync(file, bytes.subarray(0, 60));
  return file;
}

/** The model's prediction for `file`, through the config's test pipeline, as tools/infer.ts runs it. */
export async function predictInProcess(b: Built, file: string): Promise<Pred> {
  const meta = await sharp(file).metadata();
  const packed = (await b.pipeline.run({
    imgPath: file,
    imgId: 0,
    width: meta.width,
    height: meta.height,
    instances: [],
  })) as unknown as PackedInputs;
  const batch = collate([packed]);
  const [pred] = await b.model.predict(batch);
  batch.inputs.dispose();
  return pred;
}
