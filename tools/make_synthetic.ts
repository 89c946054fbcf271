/**
 * Write the synthetic shapes data set (JPEG + VOC XML + COCO JSON + VOC-style
 * label maps).
 *
 *   npx tsx tools/make_synthetic.ts --out data/synthetic --num-train 800 --num-val 200 --size 256 --seed 0
 */
import { parseArgs } from 'node:util';
import { makeSyntheticShapes } from '../src/datasets/synthetic.js';
import { runCli, UsageError } from '../src/engine/cli.js';

const HELP = `usage: npx tsx tools/make_synthetic.ts [options]

  --out DIR          output folder (default data/synthetic)
  --num-train N      training images (default 800)
  --num-val N        validation images (default 200)
  --size PX          image side in pixels (default 256)
  --seed N           random seed (default 0); same seed, same bytes
  --min-objects N    objects per image, lower bound (default 1)
  --max-objects N    objects per image, upper bound (default 4)
  --occlusion P      probability that an object is partly covered by a bar (default 0.3)
  -h, --help         this text

Writes JPEGImages/, Annotations/ (VOC XML), ImageSets/{Main,Segmentation}/{train,val}.txt,
SegmentationClass/ and SegmentationObject/ (palette PNG), annotations/instances_{train,val}.json (COCO, polygons).
Classes: circle, square, triangle, star, hexagon.`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        out: { type: 'string', default: 'data/synthetic' },
        'num-train': { type: 'string', default: '800' },
        'num-val': { type: 'string', default: '200' },
        size: { type: 'string', default: '256' },
        seed: { type: 'string', default: '0' },
        'min-objects': { type: 'string', default: '1' },
        'max-objects': { type: 'string', default: '4' },
        occlusion: { type: 'string', default: '0.3' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message, `\n${HELP}`);
  }
}

async function main(): Promise<void> {
  const a = parseOptions();
  if (a.help) {
    console.log(HELP);
    return;
  }
  const int = (k: keyof typeof a, min: number): number => {
    const v = Number(a[k]);
    if (!Number.isInteger(v) || v < min)
      throw new UsageError(
        `--${String(k)}: expected an integer >= ${min}, got ${JSON.stringify(a[k])}`,
        `\n${HELP}`,
      );
    return v;
  };
  const occlusion = Number(a.occlusion);
  if (!(occlusion >= 0 && occlusion <= 1))
    throw new UsageError(
      `--occlusion: expected a number in [0, 1], got ${JSON.stringify(a.occlusion)}`,
      `\n${HELP}`,
    );
  const opts = {
    outDir: a.out,
    numTrain: int('num-train', 0),
    numVal: int('num-val', 0),
    imageSize: int('size', 32),
    seed: int('seed', 0),
    objectsPerImage: [int('min-objects', 1), int('max-objects', 1)] as [number, number],
    occlusionProb: occlusion,
  };
  const t0 = performance.now();
  const r = await makeSyntheticShapes(opts);
  const objects = r.images.reduce((s, i) => s + i.objects.length, 0);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `wrote ${r.images.length} images (${objects} objects, classes ${r.classes.join(', ')}) to ${r.outDir} in ${s} s`,
  );
}

runCli(main);
