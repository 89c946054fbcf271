/**
 * Accuracy of the browser bundle: a work dir's checkpoint (the demo's,
 * work_dirs/demo, by default) scored in the page over the validation images
 * of the shapes set, per backend, beside tools/test.ts on the same images.
 *
 *   npx tsx bench/browser_map.ts [--work-dir work_dirs/demo] [--data data/synthetic]
 *                                [--backends wasm,webgl,webgpu] [--limit N] [--tol 0.005]
 *   npx tsx bench/browser_map.ts --smoke [--backends ...]   (a 40 / 30 image set, the SSD trained --smoke-epochs 4)
 *
 * `--keep` keeps the temp folder (the reference's COCO results, the subset annotations).
 *
 * The page gets the original JPEGs (decoded by the browser, as a user's
 * page would) and runs `detect(img, { scoreThr: 0 })`: every detection the
 * model's own testCfg keeps, as CocoMetric in tools/test.ts receives them
 * (all predInstances, no score threshold). Boxes become COCO results
 * `[x, y, w, h]` with `category_id` mapped as CocoMetric does (the data
 * set's categories whose names are the config's classes, in the annotation
 * file's order), scored with src/evaluation's `evaluateCoco` with
 * CocoMetric's parameters. The reference is `tools/test.ts CONFIG
 * CHECKPOINT --json` (wasm) on the same images (with `--limit`, a subset
 * annotation file holding the first N images is given to both).
 *
 * `detect()` rounds boxes to 0.01 px and scores to 1e-4 (results.json's
 * precision); the page resizes bilinearly from the browser's decode where
 * Node resizes with sharp from its own decode (src/browser/preprocess.ts).
 * Prints a table and one JSON line; exit status 0 whatever the difference.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeSyntheticShapes } from '../src/datasets/index.js';
import {
  evaluateCoco,
  loadCocoDataset,
  type CocoJson,
  type CocoResult,
} from '../src/evaluation/index.js';
import { callPage, runTool, startBenchPage, trainBriefly, workDirFiles } from './browser_page.js';

const { values: args } = parseArgs({
  options: {
    'work-dir': { type: 'string', default: 'work_dirs/demo' },
    data: { type: 'string', default: 'data/synthetic' },
    backends: { type: 'string', default: 'wasm,webgl,webgpu' },
    limit: { type: 'string' },
    tol: { type: 'string', default: '0.005' },
    smoke: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'smoke-epochs': { type: 'string', default: '4' },
  },
});
const BACKENDS = args.backends.split(',').map((s) => s.trim());
const TOL = Number(args.tol);

interface PageImage {
  id: number;
  width: number;
  height: number;
  dets: [number, number, number, number, number, number][];
}

/** The first `limit` images of `gt` with their annotations (all when `limit` is undefined). */
function subset(gt: CocoJson, limit: number | undefined): CocoJson {
  if (limit === undefined || limit >= gt.images.length) return gt;
  const images = gt.images.slice(0, limit);
  const ids = new Set(images.map((i) => i.id));
  return { ...gt, images, annotations: gt.annotations.filter((a) => ids.has(a.image_id)) };
}

/** bbox mAP and mAP@0.5 with CocoMetric's parameters. */
function score(gt: CocoJson, dt: CocoResult[], catIds: number[]): { mAP: number; mAP50: number } {
  const r = evaluateCoco(gt, dt, {
    iouType: 'bbox',
    imgIds: gt.images.map((i) => i.id),
    catIds,
    useCats: true,
    maxDets: [100, 300, 1000],
  });
  return { mAP: r.stats[0], mAP50: r.stats[1] };
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-bench-browser-map-'));
  let workDir = path.resolve(args['work-dir']);
  let data = path.resolve(args.data);
  let smokeNote: string | undefined;
  if (args.smoke) {
    data = path.join(dir, 'data');
    await makeSyntheticShapes({ outDir: data, numTrain: 40, numVal: 30, imageSize: 256, seed: 7 });
    workDir = path.join(dir, 'work', 'ssd');
    const t = performance.now();
    const epochs = Number(args['smoke-epochs']);
    await trainBriefly('configs/ssd/ssd_r18_shapes.ts', workDir, data, epochs);
    smokeNote = `smoke: shapes set of 40 train / 30 val 256-px images (seed 7), configs/ssd/ssd_r18_shapes.ts trained ${epochs} epochs (${epochs * 10} iterations, batch 4, wasm) in ${((performance.now() - t) / 1000).toFixed(0)} s`;
    console.log(smokeNote);
  }
  const files = workDirFiles(workDir);
  const cfg = JSON.parse(fs.readFileSync(files.config, 'utf8')) as {
    classes?: string[];
    testDataloader?: {
      dataset?: { dataPrefix?: { img?: string }; metainfo?: { classes?: string[] } };
    };
  };
  const annFull = path.join(data, 'annotations/instances_val.json');
  const gtAll = loadCocoDataset(annFull);
  const limit = args.limit === undefined ? undefined : Number(args.limit);
  const gt = subset(gtAll, limit);
  let ann = annFull;
  if (gt !== gtAll) {
    ann = path.join(dir, `instances_val_first${limit}.json`);
    fs.writeFileSync(ann, JSON.stringify(gt));
  }
  const classes = cfg.testDataloader?.dataset?.metainfo?.classes ?? cfg.classes;
  // CocoMetric.catIdsOf: the data set's categories named in the classes, in the file's order
  const catIds = classes
    ? gt.categories.filter((c) => classes.includes(c.name)).map((c) => c.id)
    : gt.categories.map((c) => c.id);
  const imgPrefix = cfg.testDataloader?.dataset?.dataPrefix?.img ?? '';
  console.log(
    `work dir ${workDir}: ${path.basename(files.config)}, ${path.basename(files.checkpoint)}; ${gt.images.length} validation images of ${data}`,
  );

  // reference: tools/test.ts on the same images (wasm)
  const t0 = performance.now();
  const refOut = path.join(dir, 'ref.bbox.json');
  const out = await runTool('test', [
    files.config,
    files.checkpoint,
    '--json',
    '--backend',
    'wasm',
    '--work-dir',
    path.join(dir, 'test'),
    '--out',
    refOut,
    '--cfg-options',
    `testDataloader.dataset.dataRoot=${data}/`,
    `testDataloader.dataset.annFile=${ann}`,
    `testEvaluator.annFile=${ann}`,
    'testDataloader.numWorkers=0',
  ]);
  const metrics = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
  const ref = {
    backend: 'tools/test.ts (Node wasm)',
    mAP: metrics['coco/bbox_mAP'],
    mAP50: metrics['coco/bbox_mAP_50'],
    seconds: (performance.now() - t0) / 1000,
    detections: 0,
  };
  // the scoring here on tools/test.ts's own results (must give its numbers), and on them rounded
  // as detect() rounds (boxes 0.01 px, scores 1e-4)
  const refDt = JSON.parse(fs.readFileSync(refOut, 'utf8')) as CocoResult[];
  ref.detections = refDt.length;
  const rescored = score(gt, refDt, catIds);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const rounded = score(
    gt,
    refDt.map((d) => {
      const [x, y, w, h] = d.bbox!;
      const [x1, y1, x2, y2] = [r2(x), r2(y), r2(x + w), r2(y + h)];
      return { ...d, bbox: [x1, y1, x2 - x1, y2 - y1], score: Math.round(d.score * 1e4) / 1e4 };
    }),
    catIds,
  );
  console.log(
    `tools/test.ts: mAP ${ref.mAP.toFixed(4)}, mAP@0.5 ${ref.mAP50.toFixed(4)} (${ref.seconds.toFixed(0)} s)`,
  );

  const bp = await startBenchPage(dir, {
    '/cfg/': path.dirname(files.config),
    '/ckpt/': path.dirname(files.checkpoint),
    '/data/': data,
  });
  const chromium = bp.browser.version();
  const rows: {
    backend: string;
    mAP: number;
    mAP50: number;
    diffMAP: number;
    diffMAP50: number;
    within: boolean;
    seconds: number;
    msPerImage: number;
    detections: number;
    error?: string;
  }[] = [];
  try {
    for (const backend of BACKENDS) {
      const t = performance.now();
      const { page, logs } = await bp.open();
      try {
        const r = await callPage<{
          error?: string;
          backend?: string;
          ms: number;
          images: PageImage[];
        }>(page, 'benchDetect', {
          backend,
          config: `/cfg/${path.basename(files.config)}`,
          checkpoint: `/ckpt/${path.basename(files.checkpoint)}`,
          images: gt.images.map((im) => ({
            id: im.id,
            url: `/data/${path.posix.join(imgPrefix, im.file_name ?? '')}`,
          })),
          scoreThr: 0,
        });
        if (r.error || r.backend !== backend)
          throw new Error(r.error ?? `the page ran ${r.backend}, not ${backend}`);
        const dt: CocoResult[] = r.images.flatMap((im) =>
          im.dets.map(([x1, y1, x2, y2, s, label]) => {
            const catId = catIds[label];
            if (catId === undefined)
              throw new Error(`image ${im.id}: label ${label} has no category`);
            return {
              image_id: im.id,
              category_id: catId,
              bbox: [x1, y1, x2 - x1, y2 - y1],
              score: s,
            };
          }),
        );
        const m = score(gt, dt, catIds);
        const row = {
          backend,
          ...m,
          diffMAP: m.mAP - ref.mAP,
          diffMAP50: m.mAP50 - ref.mAP50,
          within: Math.abs(m.mAP50 - ref.mAP50) <= TOL,
          seconds: (performance.now() - t) / 1000,
          msPerImage: r.ms / r.images.length,
          detections: dt.length,
        };
        rows.push(row);
        console.log(
          `${backend}: mAP ${m.mAP.toFixed(4)}, mAP@0.5 ${m.mAP50.toFixed(4)} (${row.seconds.toFixed(0)} s)`,
        );
      } catch (e) {
        console.error(`${backend} failed: ${(e as Error).message}\n${logs.join('\n')}`);
        rows.push({
          backend,
          mAP: NaN,
          mAP50: NaN,
          diffMAP: NaN,
          diffMAP50: NaN,
          within: false,
          seconds: (performance.now() - t) / 1000,
          msPerImage: NaN,
          detections: 0,
          error: (e as Error).message.split('\n')[0],
        });
      } finally {
        await page.close();
      }
    }
  } finally {
    await bp.close();
  }

  const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : '—');
  const sg = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(4)}` : '—');
  console.log('');
  console.log(
    `bbox mAP of ${path.basename(files.checkpoint)} (${path.basename(files.config)}) on ${gt.images.length} validation images: the page (original JPEGs, detect scoreThr 0) per backend against tools/test.ts; Chromium ${chromium}`,
  );
  console.log(
    '| backend                   | mAP    | mAP@0.5 | Δ mAP   | Δ mAP@0.5 | within ±' +
      TOL +
      ' | detections | seconds | ms/image |',
  );
  console.log(
    '|---------------------------|--------|---------|---------|-----------|----------------|------------|---------|----------|',
  );
  console.log(
    `| ${ref.backend.padEnd(25)} | ${f(ref.mAP)} | ${f(ref.mAP50).padStart(7)} |         |           |                | ${String(ref.detections).padStart(10)} | ${f(ref.seconds, 1).padStart(7)} |          |`,
  );
  for (const [name, m] of [
    ['its results scored here', rescored],
    ['its results rounded', rounded],
  ] as const)
    console.log(
      `| ${('  ' + name).padEnd(25)} | ${f(m.mAP)} | ${f(m.mAP50).padStart(7)} | ${sg(m.mAP - ref.mAP).padStart(7)} | ${sg(m.mAP50 - ref.mAP50).padStart(9)} |                | ${String(ref.detections).padStart(10)} |         |          |`,
    );
  for (const r of rows)
    console.log(
      `| page ${r.backend.padEnd(20)} | ${f(r.mAP)} | ${f(r.mAP50).padStart(7)} | ${sg(r.diffMAP).padStart(7)} | ${sg(r.diffMAP50).padStart(9)} | ${(r.error ? `failed: ${r.error}` : r.within ? 'yes' : 'NO').padEnd(14)} | ${String(r.detections).padStart(10)} | ${f(r.seconds, 1).padStart(7)} | ${f(r.msPerImage, 0).padStart(8)} |`,
    );
  console.log('');
  console.log(
    "'its results scored here': tools/test.ts's COCO results (--out) through this bench's scoring (category ids and parameters as CocoMetric); 'rounded': the same with boxes to 0.01 px and scores to 1e-4, as detect() returns them.",
  );
  console.log(
    'webgpu and webgl run on SwiftShader (the GPU emulated on the CPU) here: the seconds are not GPU figures.',
  );
  if (smokeNote) console.log(`${smokeNote}: a barely trained model, not the demo's numbers.`);
  console.log(
    JSON.stringify({
      bench: 'browser_map',
      workDir,
      config: files.config,
      checkpoint: files.checkpoint,
      data,
      images: gt.images.length,
      smoke: args.smoke,
      tol: TOL,
      reference: { ...ref, rescoredHere: rescored, rescoredRounded: rounded },
      rows,
      allWithin: rows.every((r) => r.within),
      chromium,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' },
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    }),
  );
  if (args.keep) console.log(`kept ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
