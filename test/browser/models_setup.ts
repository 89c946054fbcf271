/**
 * What the page tests run on: the browser bundle built into a temporary
 * folder, a small synthetic shapes set (128-px images), and the shapes
 * configs of SSD, Faster R-CNN, Mask R-CNN and FCN each trained for a few
 * iterations by tools/train.ts. Also, per model, the validation images as
 * the Node pipeline sees them after its Resize (sharp), written as PNG, so
 * that the page and Node get the same pixels (see test/browser/models.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { buildBrowser, type BrowserBuild } from '../../scripts/build_browser.js';
import { loadConfig } from '../../src/config/index.js';
import { Compose, makeSyntheticShapes, type DataSample } from '../../src/datasets/index.js';
import { runToolOk } from '../engine/helpers.js';

export interface TrainedModel {
  name: string;
  config: string;
  /** The resolved config the training wrote (work dir). */
  resolved: string;
  checkpoint: string;
  /** Validation images after the test pipeline's Resize, as PNG. */
  resizedPngs: string[];
}

export interface PageFixture {
  dir: string;
  build: BrowserBuild;
  data: string;
  valImages: string[];
  models: TrainedModel[];
}

export const MODEL_SPECS = [
  { name: 'ssd', config: 'configs/ssd/ssd_r18_shapes.ts', epochs: 3, seg: false },
  {
    name: 'faster_rcnn',
    config: 'configs/faster_rcnn/faster_rcnn_r18_fpn_shapes.ts',
    epochs: 2,
    seg: false,
  },
  {
    name: 'mask_rcnn',
    config: 'configs/mask_rcnn/mask_rcnn_r18_fpn_shapes.ts',
    epochs: 2,
    seg: false,
  },
  { name: 'fcn', config: 'configs/fcn/fcn_r18_shapes.ts', epochs: 2, seg: true },
];

/** `--cfg-options` pointing a shapes config at `data`, with `epochs` and no validation. */
function dataOptions(data: string, epochs: number, seg: boolean): string[] {
  const opts = [
    ...['train', 'val', 'test'].map((s) => `${s}Dataloader.dataset.dataRoot=${data}/`),
    `trainCfg.maxEpochs=${epochs}`,
    `trainCfg.valInterval=${epochs + 1}`,
    'trainDataloader.batchSize=4',
    'trainDataloader.numWorkers=0',
  ];
  if (!seg)
    for (const e of ['val', 'test'])
      opts.push(`${e}Evaluator.annFile=${data}/annotations/instances_val.json`);
  return ['--cfg-options', ...opts];
}

/** Writes the image as the config's test pipeline has it after Resize (RGB, sharp), as PNG. */
async function resizedPng(config: string, image: string, out: string): Promise<void> {
  const cfg = await loadConfig(config);
  const steps = (cfg.testDataloader.dataset.pipeline as { type: string }[]).filter((t) =>
    ['LoadImageFromFile', 'Resize'].includes(t.type),
  );
  const meta = await sharp(image).metadata();
  const r = (await new Compose(steps).run({
    imgPath: image,
    imgId: 0,
    width: meta.width,
    height: meta.height,
    instances: [],
  })) as DataSample & { img: { data: Uint8Array; width: number; height: number } };
  const { data, width, height } = r.img;
  await sharp(Buffer.from(data), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(out);
}

/** The fixture with `numVal` validation images and the models named in `only` (default all). */
export async function setUpPageFixture(numVal = 3, only?: readonly string[]): Promise<PageFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-browser-'));
  const build = await buildBrowser(path.join(dir, 'dist'));
  const data = path.join(dir, 'data');
  await makeSyntheticShapes({
    outDir: data,
    numTrain: 24,
    numVal: numVal,
    imageSize: 128,
    seed: 11,
  });
  const valImages = fs
    .readFileSync(path.join(data, 'ImageSets/Main/val.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((id) => path.join(data, 'JPEGImages', `${id}.jpg`));
  const models: TrainedModel[] = [];
  for (const spec of MODEL_SPECS.filter((m) => !only || only.includes(m.name))) {
    const work = path.join(dir, 'work', spec.name);
    await runToolOk('train', [
      spec.config,
      '--work-dir',
      work,
      '--backend',
      'wasm',
      ...dataOptions(data, spec.epochs, spec.seg),
    ]);
    const pngDir = path.join(dir, 'png', spec.name);
    fs.mkdirSync(pngDir, { recursive: true });
    const resizedPngs: string[] = [];
    for (const img of valImages) {
      const out = path.join(pngDir, path.basename(img).replace(/\.jpg$/, '.png'));
      await resizedPng(spec.config, img, out);
      resizedPngs.push(out);
    }
    const base = path.basename(spec.config).replace(/\.ts$/, '');
    models.push({
      name: spec.name,
      config: spec.config,
      resolved: path.join(work, `${base}.json`),
      checkpoint: path.join(work, `epoch_${spec.epochs}.safetensors`),
      resizedPngs,
    });
  }
  return { dir, build, data, valImages, models };
}
