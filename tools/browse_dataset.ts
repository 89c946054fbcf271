/**
 * Draw the ground truth of a data set after its pipeline, to check it by eye.
 *
 *   npx tsx tools/browse_dataset.ts --type VOCDataset --data-root data/synthetic --ann-file ImageSets/Main/train.txt \
 *       --classes circle,square,triangle,star,hexagon --out work_dirs/browse --num 16 --aug
 *   npx tsx tools/browse_dataset.ts --config my_dataset.json --out work_dirs/browse
 */
import { readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../src/engine/cli.js';
import { registerAllModules } from '../src/engine/register_all.js';
import { DATASETS } from '../src/registry.js';
import { dropSummaries } from '../src/datasets/data_checks.js';
import type { DatasetLike } from '../src/datasets/wrappers.js';
import type { PackedInputs } from '../src/datasets/types.js';
import { ensureDir } from '../src/utils/fs.js';
import { Rng } from '../src/utils/random.js';
import { drawGroundTruth, writeImage } from '../src/visualization/draw.js';

const HELP = `usage: npx tsx tools/browse_dataset.ts [options]

  --config FILE      JSON file with a data set config ({"type": "CocoDataset", ...}, pipeline included)
  --type NAME        data set type when no config: VOCDataset (default), CocoDataset, VOCSegDataset
  --data-root DIR    data root
  --ann-file PATH    split list (VOC) or instances JSON (COCO), relative to the data root
  --img-prefix DIR   image folder (COCO: e.g. val2017/; VOC: JPEGImages)
  --classes A,B,...  class names (default: the data set's)
  --aug              add training augmentation (RandomResize, RandomFlip, PhotoMetricDistortion) to the default pipeline
  --masks            load instance masks (COCO polygons / RLE)
  --num N            images to draw (default 16)
  --seed N           seed of the random picks and augmentation (default 0)
  --out DIR          output folder (default work_dirs/browse)
  -h, --help         this text`;

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      config: { type: 'string' },
      type: { type: 'string', default: 'VOCDataset' },
      'data-root': { type: 'string' },
      'ann-file': { type: 'string' },
      'img-prefix': { type: 'string' },
      classes: { type: 'string' },
      aug: { type: 'boolean', default: false },
      masks: { type: 'boolean', default: false },
      num: { type: 'string', default: '16' },
      seed: { type: 'string', default: '0' },
      out: { type: 'string', default: 'work_dirs/browse' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (a.help) {
    console.log(HELP);
    return;
  }
  await registerAllModules();
  let cfg: Record<string, unknown>;
  if (a.config) {
    cfg = JSON.parse(readFileSync(a.config, 'utf8')) as Record<string, unknown>;
  } else {
    if (!a['ann-file']) throw new Error('give --config or --ann-file (see --help)');
    const seg = a.type === 'VOCSegDataset';
    const pipeline: Record<string, unknown>[] = [
      { type: 'LoadImageFromFile' },
      seg
        ? { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true }
        : { type: 'LoadAnnotations', withMask: a.masks },
    ];
    if (a.aug) {
      pipeline.push(
        {
          type: 'RandomResize',
          scale: [
            [512, 384],
            [768, 576],
          ],
          keepRatio: true,
        },
        { type: 'RandomFlip', prob: 0.5 },
        { type: 'PhotoMetricDistortion' },
      );
    }
    pipeline.push({ type: seg ? 'PackSegInputs' : 'PackDetInputs' });
    cfg = {
      type: a.type,
      dataRoot: a['data-root'],
      annFile: a['ann-file'],
      testMode: true,
      pipeline,
      ...(a['img-prefix'] ? { dataPrefix: { img: a['img-prefix'] } } : {}),
      ...(a.classes ? { metainfo: { classes: a.classes.split(',').map((s) => s.trim()) } } : {}),
    };
  }
  const ds = DATASETS.build<DatasetLike>(cfg, { path: 'dataset' });
  for (const line of dropSummaries(ds)) console.log(line);
  const num = Math.min(Number(a.num), ds.length);
  const seed = Number(a.seed);
  const picks = new Rng(seed).permutation(ds.length).slice(0, num);
  ensureDir(a.out);
  for (const [k, idx] of picks.entries()) {
    const s = (await ds.get(idx, { rng: Rng.derive(seed, idx) })) as PackedInputs;
    if (!s.dataSample) throw new Error('the pipeline must end with PackDetInputs / PackSegInputs');
    const img = await drawGroundTruth(s, ds.metainfo.classes);
    const name = basename(s.dataSample.metainfo.imgPath, extname(s.dataSample.metainfo.imgPath));
    const file = join(a.out, `${String(k).padStart(3, '0')}_${name}.png`);
    await writeImage(img, file);
    const gt = s.dataSample.gtInstances.labels.length,
      ig = s.dataSample.ignoredInstances.labels.length;
    console.log(`${file}: ${gt} objects${ig ? `, ${ig} ignored` : ''}`);
  }
}

runCli(main);
