/**
 * Throughput of the training data pipeline against bare sharp.
 *
 *   npx tsx bench/data.ts [--images 64] [--iters 128] [--scale 640] [--workers 8] [--repeats 8]
 *
 * Pipeline: decode JPEG 640x480 -> Resize(scale, keepRatio) -> RandomFlip ->
 * PhotoMetricDistortion -> Normalize -> Pad(32) -> PackDetInputs -> collate
 * to an NHWC float32 batch of 8 (DataLoader). Ceiling: sharp decode + resize
 * of the same files to raw pixels, same concurrency. The two alternate in
 * short rounds (`--repeats` pairs of `--iters` images) so that other load on
 * the machine hits both alike; the ratio is the median of the per-pair
 * ratios. CPU time per image (process.cpuUsage, all threads) is reported too:
 * it barely moves with other load, and on an idle machine where both runs
 * saturate the cores the throughput ratio equals the CPU-cost ratio. Prints
 * a table and one JSON line; the goal is pipeline >= 70% of the ceiling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { BaseDetDataset } from '../src/datasets/base.js';
import { DataLoader } from '../src/datasets/loader.js';
import { renderSyntheticImage } from '../src/datasets/synthetic.js';
import { RESIZE_KERNEL, SHARP_INPUT } from '../src/datasets/transforms/index.js';
import { colorPassKernelAvailable } from '../src/datasets/transforms/color_pass.js';
import type { DataInfo } from '../src/datasets/types.js';
import { Rng } from '../src/utils/random.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '64' },
    iters: { type: 'string', default: '128' },
    scale: { type: 'string', default: '640' },
    workers: { type: 'string', default: '8' },
    repeats: { type: 'string', default: '8' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(
    'usage: npx tsx bench/data.ts [--images 64] [--iters 128] [--scale 640] [--workers 8] [--repeats 8]',
  );
  process.exit(0);
}
const nImages = Number(args.images),
  iters = Number(args.iters),
  scale = Number(args.scale);
const workers = Number(args.workers),
  repeats = Number(args.repeats);

const dir = mkdtempSync(join(tmpdir(), 'tfdet-bench-data-'));

async function makeImages(): Promise<DataInfo[]> {
  await mkdir(dir, { recursive: true });
  const infos: DataInfo[] = [];
  for (let i = 0; i < nImages; i++) {
    const r = renderSyntheticImage(Rng.derive(7, i), 640, {
      objectsPerImage: [2, 6],
      sizeRange: [60, 300],
      occlusionProb: 0.3,
    });
    const file = join(dir, `${i}.jpg`);
    // 640x480: the top 480 rows of a 640x640 render.
    await writeFile(
      file,
      await sharp(r.pixels.subarray(0, 640 * 480 * 3), {
        raw: { width: 640, height: 480, channels: 3 },
      })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const instances = r.objects
      .filter((o) => o.bbox[1] < 470)
      .map((o) => ({
        bbox: [o.bbox[0], o.bbox[1], o.bbox[2], Math.min(o.bbox[3], 480)] as [
          number,
          number,
          number,
          number,
        ],
        bboxLabel: o.label,
        ignoreFlag: false,
      }));
    infos.push({ imgPath: file, imgId: i, width: 640, height: 480, instances });
  }
  return infos;
}

class BenchDataset extends BaseDetDataset {
  static infos: DataInfo[] = [];
  protected loadDataList(): DataInfo[] {
    return BenchDataset.infos.map((d) => ({ ...d }));
  }
}

const pipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations' },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'PhotoMetricDistortion' },
  { type: 'Normalize', mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];

/** CPU time (all threads of this process) per image of the last measured run, ms. */
let lastCpuMsPerImage = 0;

async function ceiling(files: string[]): Promise<number> {
  // Same file reads, decode and resize as the pipeline's load, nothing else; same concurrency.
  let next = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < iters) {
        const f = files[next++ % files.length];
        const buf = readFileSync(f);
        await sharp(buf, SHARP_INPUT)
          .autoOrient()
          .resize(scale, scale, { fit: 'inside', kernel: RESIZE_KERNEL })
          .raw()
          .toBuffer();
      }
    }),
  );
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  lastCpuMsPerImage = (c.user + c.system) / 1000 / iters;
  return (iters / dt) * 1000;
}

async function pipelineRate(loader: DataLoader, epochBase: number): Promise<number> {
  let n = 0,
    epoch = epochBase;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (n < iters) {
    for await (const b of loader.epochBatches(epoch++)) {
      n += b.inputs.shape[0];
      b.inputs.dispose();
      if (n >= iters) break;
    }
  }
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  lastCpuMsPerImage = (c.user + c.system) / 1000 / n;
  return (n / dt) * 1000;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  BenchDataset.infos = await makeImages();
  const files = BenchDataset.infos.map((d) => d.imgPath);
  const ds = new BenchDataset({ pipeline });
  // The colour pass on the main thread (the default) and in 2 worker threads.
  const loader = new DataLoader({
    dataset: ds,
    batchSize: 8,
    shuffle: true,
    seed: 0,
    numWorkers: workers,
    colorWorkers: 0,
  });
  const threaded = new DataLoader({
    dataset: ds,
    batchSize: 8,
    shuffle: true,
    seed: 0,
    numWorkers: workers,
    colorWorkers: 2,
  });
  // Warm-up: page cache, JIT, sharp's thread pool.
  await ceiling(files);
  await pipelineRate(loader, 1000);
  await pipelineRate(threaded, 1000);
  const ceil: number[] = [],
    pipe: number[] = [],
    ratios: number[] = [],
    pipe0: number[] = [],
    ratios0: number[] = [];
  const cpuCeil: number[] = [],
    cpuPipe: number[] = [],
    cpuPipe0: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c = await ceiling(files);
    cpuCeil.push(lastCpuMsPerImage);
    const p = await pipelineRate(loader, r * 100);
    cpuPipe.push(lastCpuMsPerImage);
    const p0 = await pipelineRate(threaded, r * 100);
    cpuPipe0.push(lastCpuMsPerImage);
    ceil.push(c);
    pipe.push(p);
    ratios.push(p / c);
    pipe0.push(p0);
    ratios0.push(p0 / c);
  }
  await threaded.close();
  const median = (a: number[]): number => {
    const b = [...a].sort((x, y) => x - y);
    return b.length % 2 ? b[b.length >> 1] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
  };
  const threads = process.env.UV_THREADPOOL_SIZE ?? '4';
  const load = loadavg()[0];
  console.log(
    `data pipeline, ${nImages} JPEG 640x480 files, resize to ${scale}, batch 8, ${workers} in flight, ${availableParallelism()} cores, libuv pool ${threads}, load average ${load.toFixed(1)}`,
  );
  console.log(`| what | images/s median | best | all ${repeats} rounds |`);
  console.log('|---|---|---|---|');
  console.log(
    `| sharp decode+resize (ceiling) | ${median(ceil).toFixed(1)} | ${Math.max(...ceil).toFixed(1)} | ${ceil.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log(
    `| full pipeline + collate (default: colour pass on the main thread) | ${median(pipe).toFixed(1)} | ${Math.max(...pipe).toFixed(1)} | ${pipe.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log(
    `| full pipeline + collate, colour pass in 2 worker threads | ${median(pipe0).toFixed(1)} | ${Math.max(...pipe0).toFixed(1)} | ${pipe0.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log(
    `| ratio, default (median of rounds) | ${median(ratios).toFixed(3)} | ${Math.max(...ratios).toFixed(3)} | goal >= 0.70 |`,
  );
  console.log(
    `| ratio, worker threads (median of rounds) | ${median(ratios0).toFixed(3)} | ${Math.max(...ratios0).toFixed(3)} | |`,
  );
  // CPU time per image is far less sensitive to other load than wall time; on an otherwise idle machine where
  // both saturate the cores, the throughput ratio is the inverse ratio of CPU cost.
  const cc = median(cpuCeil),
    cp = median(cpuPipe),
    cp0 = median(cpuPipe0);
  console.log('');
  console.log(
    '| CPU ms per image (all threads, median) | ceiling | pipeline (default) | pipeline (2 colour workers) |',
  );
  console.log('|---|---|---|---|');
  console.log(`| | ${cc.toFixed(2)} | ${cp.toFixed(2)} | ${cp0.toFixed(2)} |`);
  console.log(
    `| CPU-cost ratio (ceiling / pipeline) | | ${(cc / cp).toFixed(3)} | ${(cc / cp0).toFixed(3)} |`,
  );
  console.log(
    JSON.stringify({
      bench: 'data',
      cores: availableParallelism(),
      loadAvg: +load.toFixed(2),
      images: nImages,
      iters,
      scale,
      workers,
      repeats,
      ceilingImgPerS: +median(ceil).toFixed(1),
      pipelineImgPerS: +median(pipe).toFixed(1),
      ratio: +median(ratios).toFixed(3),
      pipelineColorWorkersImgPerS: +median(pipe0).toFixed(1),
      ratioColorWorkers: +median(ratios0).toFixed(3),
      cpuMsPerImageCeiling: +cc.toFixed(3),
      cpuMsPerImagePipeline: +cp.toFixed(3),
      cpuRatio: +(cc / cp).toFixed(3),
      cpuRatioColorWorkers: +(cc / cp0).toFixed(3),
      simdColorPass: colorPassKernelAvailable(),
    }),
  );
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
