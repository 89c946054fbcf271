/**
 * The end-to-end demo (`npm run demo`): makes the synthetic shapes set if it
 * is absent, trains the quick shapes SSD on the default backend on every core
 * (data-parallel workers, `--nproc auto`), tests it on the validation split,
 * prints the COCO table, and writes drawn predictions and training curves to
 * the work dir.
 *
 *   npx tsx tools/demo.ts [--config FILE] [--work-dir DIR] [--backend NAME] [--nproc N|auto]
 *                         [--num-train N] [--num-val N] [--cfg-options K=V ...]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { setBackend, type BackendName } from '../src/backend/index.js';
import { loadConfig } from '../src/config/index.js';
import {
  collate,
  imageFromRaw,
  makeSyntheticShapes,
  SYNTHETIC_CLASSES,
  type ImageBuffer,
  type PackedInputs,
} from '../src/datasets/index.js';
import { Runner } from '../src/engine/index.js';
import { assertFullLoad } from '../src/nn/index.js';
import { trainDataParallel } from '../src/engine/dist/launch.js';
import { parseNproc } from '../src/engine/dist/procs.js';
import { preprocessArgv, runCli } from '../src/engine/cli.js';
import { plotPanels, readScalars, seriesOf, type Series } from '../src/engine/plot.js';
import { registerAllModules } from '../src/engine/register_all.js';
import type { DetDataSample } from '../src/structures/index.js';
import { DATASETS } from '../src/registry.js';
import { drawDetections, writeImage } from '../src/visualization/index.js';
import { ensureDir, writeFileAtomic } from '../src/utils/fs.js';
import { acquireDirLock } from '../src/utils/lock.js';

const HELP = `usage: tools/demo.ts [options]

  --config FILE          default configs/ssd/ssd_r18_shapes.ts
  --work-dir DIR         default work_dirs/demo
  --backend NAME         auto | tensorflow | webgpu | wasm | cpu (default auto)
  --nproc N|auto         data-parallel workers (default auto: the cores available). The config's
                         batch is split over them: N is the largest divisor of its batchSize not
                         above the cores asked for that leaves each worker 2 images or more; each
                         takes batchSize / N, and with the config's SyncBN the run trains the same
                         detector on any number of cores
  --num-train N          training images to generate if data/synthetic is absent (default 1500)
  --num-val N            validation images to generate (default 300)
  --cfg-options K=V ...  config overrides (e.g. trainCfg.maxEpochs=2)
  --allow-imports        let a JSON config or an override import the modules in its customImports
`;

/** Equally sized RGB images side by side, `cols` per row, on a dark background. */
function tileImages(images: ImageBuffer[], cols: number): Sharp {
  const w = Math.max(...images.map((m) => m.width));
  const h = Math.max(...images.map((m) => m.height));
  return sharp({
    create: {
      width: w * cols,
      height: h * Math.ceil(images.length / cols),
      channels: 3,
      background: '#202020',
    },
  }).composite(
    images.map((m, i) => ({
      input: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
      raw: { width: m.width, height: m.height, channels: 3 as const },
      left: (i % cols) * w,
      top: Math.floor(i / cols) * h,
    })),
  );
}

/**
 * The workers that split `batch`: the largest divisor of it not above `cores`
 * that leaves each worker at least {@link MIN_PER_WORKER} images (with fewer,
 * the fixed cost of a step per worker outweighs the split).
 */
function workersFor(batch: number, cores: number): number {
  for (let n = Math.min(batch, cores); n > 1; n--)
    if (batch % n === 0 && batch / n >= MIN_PER_WORKER) return n;
  return 1;
}
const MIN_PER_WORKER = 2;

const fmt = (v: number | undefined): string => (v === undefined || v < 0 ? '  -  ' : v.toFixed(3));

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: preprocessArgv(process.argv.slice(2)),
    options: {
      config: { type: 'string', default: 'configs/ssd/ssd_r18_shapes.ts' },
      'work-dir': { type: 'string', default: 'work_dirs/demo' },
      backend: { type: 'string', default: 'auto' },
      nproc: { type: 'string', default: 'auto' },
      'num-train': { type: 'string', default: '1500' },
      'num-val': { type: 'string', default: '300' },
      'cfg-options': { type: 'string', multiple: true },
      'allow-imports': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const nprocAsked = parseNproc(values.nproc); // a bad value fails before any work
  const t0 = performance.now();
  const secs = (): string => ((performance.now() - t0) / 1000).toFixed(0);
  const dataRoot = 'data/synthetic';
  if (!fs.existsSync(path.join(dataRoot, 'annotations', 'instances_val.json'))) {
    const numTrain = Number(values['num-train']);
    const numVal = Number(values['num-val']);
    console.log(
      `[${secs()} s] making the synthetic shapes set in ${dataRoot} (${numTrain} train, ${numVal} val)`,
    );
    await makeSyntheticShapes({ outDir: dataRoot, numTrain, numVal, seed: 0 });
  }
  const backend = await setBackend(values.backend as BackendName);
  console.log(`[${secs()} s] backend ${backend.reason}`);
  await registerAllModules();
  const cfgOptions = values['cfg-options'] ?? [];
  const allowImports = values['allow-imports'] ?? false;
  const cfg = await loadConfig(values.config, { cfgOptions, allowImports });
  const workDir = path.resolve(values['work-dir']);
  cfg.workDir = workDir;
  const globalBatch = (cfg.trainDataloader as { batchSize: number }).batchSize;
  const nproc = workersFor(globalBatch, nprocAsked);
  const tTrain = performance.now();
  let runner: Runner;
  let trained: { epoch: number; iter: number; logDir: string };
  if (nproc === 1) {
    // The demo owns its work dir: a second `npm run demo` starts over in it.
    runner = new Runner(cfg, { configFile: values.config, overwrite: true });
    await runner.train();
    trained = { epoch: runner.epoch, iter: runner.iter, logDir: runner.logDir };
  } else {
    console.log(
      `[${secs()} s] data-parallel training: ${nproc} workers x ${globalBatch / nproc} images`,
    );
    const lock = acquireDirLock(workDir);
    let result;
    try {
      const job = {
        configFile: values.config,
        cfgOptions: [...cfgOptions, `trainDataloader.batchSize=${globalBatch / nproc}`],
        allowImports,
        workDir,
        backend: values.backend,
        overwrite: true,
      };
      result = await trainDataParallel(job, nproc, lock);
    } finally {
      lock.release();
    }
    // Tested and drawn here, from the last checkpoint the workers wrote.
    runner = new Runner(cfg, { configFile: values.config });
    const last = fs.readFileSync(path.join(workDir, 'last_checkpoint'), 'utf8').trim();
    assertFullLoad(await runner.loadFrom(last), last, values.config);
    trained = { epoch: result.epoch, iter: result.iter, logDir: result.logDir };
  }
  const trainS = (performance.now() - tTrain) / 1000;
  console.log(
    `[${secs()} s] trained ${trained.epoch} epochs (${trained.iter} iterations) in ${trainS.toFixed(0)} s`,
  );
  const tTest = performance.now();
  const metrics = await runner.test();
  const testS = (performance.now() - tTest) / 1000;
  const m = (k: string): number | undefined => metrics[`coco/bbox_${k}`];
  console.log('\nCOCO bbox evaluation on the synthetic validation split');
  console.log('| mAP   | mAP_50 | mAP_75 | mAP_s | mAP_m | mAP_l |');
  console.log('|-------|--------|--------|-------|-------|-------|');
  console.log(
    `| ${fmt(m('mAP'))} | ${fmt(m('mAP_50'))}  | ${fmt(m('mAP_75'))}  | ${fmt(m('mAP_s'))} | ${fmt(m('mAP_m'))} | ${fmt(m('mAP_l'))} |`,
  );
  const map50 = m('mAP_50') ?? 0;
  console.log(
    `\nbbox mAP@0.5 = ${map50.toFixed(3)} (target >= 0.90: ${map50 >= 0.9 ? 'met' : 'NOT met'}); test took ${testS.toFixed(0)} s`,
  );

  // Drawn predictions on the first validation images, at twice their size.
  const visDir = path.join(workDir, 'vis');
  ensureDir(visDir);
  const ds = DATASETS.build<{
    length: number;
    get(i: number): Promise<unknown>;
    getDataInfo(i: number): { imgPath: string };
  }>(cfg.testDataloader.dataset, {
    path: 'testDataloader.dataset',
  });
  const n = Math.min(12, ds.length);
  const packed = (await Promise.all(
    Array.from({ length: n }, (_, i) => ds.get(i)),
  )) as PackedInputs[];
  const batch = collate(packed);
  runner.model.eval();
  const preds = (await runner.model.predict(batch)) as DetDataSample[];
  batch.inputs.dispose();
  const tiles: ImageBuffer[] = [];
  for (let i = 0; i < n; i++) {
    const imgPath = ds.getDataInfo(i).imgPath;
    const big = imageFromRaw(
      await sharp(imgPath)
        .autoOrient()
        .removeAlpha()
        .resize({ width: 2 * preds[i].metainfo.oriShape[1], kernel: 'nearest' })
        .raw()
        .toBuffer({ resolveWithObject: true }),
    );
    const p = preds[i].predInstances;
    const drawn = await drawDetections(big, {
      bboxes: p.bboxes.map((v) => 2 * v),
      labels: p.labels,
      scores: p.scores,
      classNames: cfg.classes ?? SYNTHETIC_CLASSES,
      scoreThr: 0.3,
    });
    await writeImage(
      drawn,
      path.join(visDir, `${path.basename(imgPath).replace(/\.\w+$/, '')}.png`),
    );
    tiles.push(drawn);
  }
  const gridFile = path.join(workDir, 'predictions.png');
  writeFileAtomic(gridFile, await tileImages(tiles, 4).png().toBuffer());

  // Curves from the run's scalars log: training losses by iteration, validation mAP by epoch.
  const scalarsFile = path.join(trained.logDir, 'vis_data', 'scalars.json');
  const records = fs.existsSync(scalarsFile)
    ? readScalars(fs.readFileSync(scalarsFile, 'utf8'), scalarsFile)
    : [];
  const lossKeys = Object.keys(records.find((r) => typeof r.loss === 'number') ?? {}).filter((k) =>
    k.startsWith('loss'),
  );
  const curve = (keys: string[]): Series[] =>
    keys
      .map((k) => seriesOf(records, k))
      .filter((s): s is Series => s !== undefined && s.points.length > 0);
  const panels = [
    { title: 'training losses', xLabel: 'iteration', series: curve(lossKeys) },
    {
      title: 'validation bbox mAP',
      xLabel: 'epoch',
      series: curve(['coco/bbox_mAP', 'coco/bbox_mAP_50']),
    },
  ].filter((p) => p.series.length > 0);
  const curvesFile = path.join(workDir, 'curves.png');
  const curves = plotPanels(panels, {
    title: `${path.basename(values.config)} on the synthetic shapes set`,
  });
  writeFileAtomic(curvesFile, await sharp(Buffer.from(curves)).png().toBuffer());
  const summary = {
    backend: backend.name,
    config: values.config,
    epochs: trained.epoch,
    iters: trained.iter,
    workers: nproc,
    trainSeconds: trainS,
    testSeconds: testS,
    totalSeconds: Number(secs()),
    metrics,
  };
  writeFileAtomic(path.join(workDir, 'demo_summary.json'), JSON.stringify(summary, null, 2));
  console.log(
    `[${secs()} s] done. predictions: ${gridFile} (and ${visDir}/), curves: ${curvesFile}`,
  );
  console.log(
    JSON.stringify({
      demo: {
        mAP50: map50,
        mAP: m('mAP'),
        totalSeconds: Number(secs()),
        trainSeconds: Math.round(trainS),
        backend: backend.name,
      },
    }),
  );
}

runCli(main);
