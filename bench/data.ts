/**
 * Throughput of the training data pipeline against bare sharp.
 *
 *   npx tsx bench/data.ts [--images 64] [--iters 256] [--scale 640] [--workers 4] [--repeats 3]
 *
 * Pipeline: decode JPEG 640x480 -> Resize(scale, keepRatio) -> RandomFlip ->
 * PhotoMetricDistortion -> Normalize -> Pad(32) -> PackDetInputs -> collate
 * to an NHWC float32 batch of 8 (DataLoader). Ceiling: sharp decode + resize
 * of the same files to raw pixels, same concurrency. Prints a table and one
 * JSON line; the goal is pipeline >= 70% of the ceiling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { BaseDetDataset } from '../src/datasets/base.js';
import { DataLoader } from '../src/datasets/loader.js';
import { renderSyntheticImage } from '../src/datasets/synthetic.js';
import { RESIZE_KERNEL, SHARP_INPUT } from '../src/datasets/transforms/index.js';
import type { DataInfo } from '../src/datasets/types.js';
import { Rng } from '../src/utils/random.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '64' },
    iters: { type: 'string', default: '256' },
    scale: { type: 'string', default: '640' },
    workers: { type: 'string', default: '4' },
    repeats: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: npx tsx bench/data.ts [--images 64] [--iters 256] [--scale 640] [--workers 4] [--repeats 3]');
  process.exit(0);
}
const nImages = Number(args.images), iters = Number(args.iters), scale = Number(args.scale);
const workers = Number(args.workers), repeats = Number(args.repeats);

const dir = mkdtempSync(join(tmpdir(), 'tfdet-bench-data-'));

async function makeImages(): Promise<DataInfo[]> {
  await mkdir(dir, { recursive: true });
  const infos: DataInfo[] = [];
  for (let i = 0; i < nImages; i++) {
    const r = renderSyntheticImage(Rng.derive(7, i), 640, { objectsPerImage: [2, 6], sizeRange: [60, 300], occlusionProb: 0.3 });
    const file = join(dir, `${i}.jpg`);
    // 640x480: the top 480 rows of a 640x640 render.
    await writeFile(file, await sharp(r.pixels.subarray(0, 640 * 480 * 3), { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    const instances = r.objects.filter((o) => o.bbox[1] < 470).map((o) => ({
      bbox: [o.bbox[0], o.bbox[1], o.bbox[2], Math.min(o.bbox[3], 480)] as [number, number, number, number],
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

async function ceiling(files: string[]): Promise<number> {
  // Same file reads, decode and resize as the pipeline's load, nothing else; same concurrency.
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < iters) {
        const f = files[next++ % files.length]!;
        const buf = readFileSync(f);
        await sharp(buf, SHARP_INPUT).autoOrient().resize(scale, scale, { fit: 'inside', kernel: RESIZE_KERNEL }).raw().toBuffer();
      }
    }),
  );
  return (iters / (performance.now() - t0)) * 1000;
}

async function pipelineRate(loader: DataLoader, epochBase: number): Promise<number> {
  let n = 0, epoch = epochBase;
  const t0 = performance.now();
  while (n < iters) {
    for await (const b of loader.epochBatches(epoch++)) {
      n += b.inputs.shape[0];
      b.inputs.dispose();
      if (n >= iters) break;
    }
  }
  return (n / (performance.now() - t0)) * 1000;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  BenchDataset.infos = await makeImages();
  const files = BenchDataset.infos.map((d) => d.imgPath);
  const ds = new BenchDataset({ pipeline });
  const loader = new DataLoader({ dataset: ds, batchSize: 8, shuffle: true, seed: 0, numWorkers: workers, prefetch: 16 });
  // Warm-up: page cache, JIT, sharp's thread pool.
  await ceiling(files);
  await pipelineRate(loader, 1000);
  const ceil: number[] = [], pipe: number[] = [];
  for (let r = 0; r < repeats; r++) {
    ceil.push(await ceiling(files));
    pipe.push(await pipelineRate(loader, r * 100));
  }
  const best = (a: number[]): number => Math.max(...a);
  const c = best(ceil), p = best(pipe);
  const threads = process.env.UV_THREADPOOL_SIZE ?? '4';
  console.log(`data pipeline, ${nImages} JPEG 640x480 files, resize to ${scale}, batch 8, ${workers} in flight, ${availableParallelism()} cores, libuv pool ${threads}`);
  console.log('| what | images/s (best of ' + repeats + ') | all runs |');
  console.log('|---|---|---|');
  console.log(`| sharp decode+resize (ceiling) | ${c.toFixed(1)} | ${ceil.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(`| full pipeline + collate | ${p.toFixed(1)} | ${pipe.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(`| ratio | ${(p / c).toFixed(3)} | goal >= 0.70 |`);
  console.log(JSON.stringify({ bench: 'data', cores: availableParallelism(), images: nImages, iters, scale, workers, ceilingImgPerS: +c.toFixed(1), pipelineImgPerS: +p.toFixed(1), ratio: +(p / c).toFixed(3) }));
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
