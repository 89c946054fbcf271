/**
 * The data loader: sampling (seeded shuffle, drop-last, aspect-ratio
 * grouping), decoding ahead with a bounded number of samples in flight, and
 * collation into an NHWC float32 batch plus per-image targets.
 *
 * Parallelism: sharp decodes and resizes on libuv's thread pool, so keeping
 * several samples in flight (`numWorkers`) keeps every core busy while the
 * JavaScript parts (colour pass, collation) run on the main thread.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DATASETS, isTypedConfig, type TypedConfig } from '../registry.js';
import { Rng } from '../utils/random.js';
import { ColorPassPool } from './color_workers.js';
import { fillPadding, writePixels } from './transforms/color_map.js';
import type { Batch, RawBatch } from '../structures/index.js';

import type { PackedInputs } from './types.js';
import type { DatasetLike } from './wrappers.js';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  dataset: DatasetLike | TypedConfig;
  batchSize: number;
  /** Shuffle each epoch with `seed + epoch`. Default false. */
  shuffle?: boolean;
  seed?: number;
  /** Drop the last incomplete batch. Default false. */
  dropLast?: boolean;
  /** Batch images of the same orientation (w >= h, w < h) together, as mmdetection's `AspectRatioBatchSampler`. */
  groupByAspectRatio?: boolean;
  /** Samples decoded concurrently. Default 8 (sharp queues them on libuv's thread pool). */
  numWorkers?: number;
  /** Samples decoded ahead of the consumer. Default `2 * batchSize` (at least `numWorkers`). */
  prefetch?: number;
  /** Pad the batch to a multiple of this (also taken from the samples' Pad). */
  padSizeDivisor?: number;
  /** Value of the batch padding. Default 0. */
  padValue?: number;
  /**
   * Worker threads that do the final colour pass (PhotoMetricDistortion,
   * Normalize, flips, padding) straight into the batch, keeping the main
   * thread (which runs the model) free. Default 0: the pass runs on the main
   * thread (SIMD WebAssembly, ~1 ms per 640x480 image), which measured faster
   * on 2 cores, where extra threads only add a copy and a message per image
   * (bench/data.ts). Worth trying where cores are to spare.
   */
  colorWorkers?: number;
  /**
   * This process's part of each epoch in data-parallel training (torch's
   * DistributedSampler): the epoch's order, padded by wrapping around to a
   * multiple of `worldSize`, and every `worldSize`-th sample from `rank`.
   * Sample `j` of the shard gets the random transforms of global position
   * `j * worldSize + rank`, so the union of the shards' batches is the
   * single-process batch of `worldSize` times the size.
   */
  shard?: { rank: number; worldSize: number };
}

/** The shard of `order` for `rank` of `worldSize` (padded by wrapping around, interleaved). */
export function shardOrder(order: number[], rank: number, worldSize: number): number[] {
  if (worldSize <= 1) return order;
  const per = Math.ceil(order.length / worldSize);
  const out: number[] = [];
  for (let j = 0; j < per; j++) out.push(order[(j * worldSize + rank) % order.length]);
  return out;
}

/**
 * Collate packed samples into one NHWC float32 buffer padded to the largest
 * image (and to a multiple of `padSizeDivisor`); sets each sample's
 * `metainfo.batchInputShape`.
 *
 * @example
 * ```ts
 * // two packed samples (PackDetInputs' output) of 480x640 and 470x600 pixels
 * const packed = (h: number, w: number) => ({
 *   inputs: { data: new Float32Array(h * w * 3), height: h, width: w, channels: 3 },
 *   dataSample: { metainfo: { imgShape: [h, w] }, gtInstances: {}, ignoredInstances: {} },
 * }) as unknown as PackedInputs;
 * const b = collateRaw([packed(480, 640), packed(470, 600)], { padSizeDivisor: 32 });
 * b.shape; // => [2, 480, 640, 3]
 * ```
 */
export function collateRaw(
  samples: PackedInputs[],
  opts: {
    padSizeDivisor?: number;
    padValue?: number;
    indices?: number[];
    alloc?: (n: number) => Float32Array;
  } = {},
): RawBatch {
  const g = batchGeometry(samples, opts.padSizeDivisor);
  const fresh = !opts.alloc;
  const data = opts.alloc
    ? opts.alloc(g.n * g.H * g.W * g.C)
    : new Float32Array(g.n * g.H * g.W * g.C);
  const batchPad = [opts.padValue ?? 0, opts.padValue ?? 0, opts.padValue ?? 0];
  samples.forEach((s, k) => collateOne(data, s, k, g, batchPad, fresh));
  return finishBatch(data, g, samples, opts.indices);
}

/**
 * {@link collateRaw} with the colour pass of deferred images run by a
 * {@link ColorPassPool} straight into `alloc`'s buffer, which must be a
 * Float32Array over a SharedArrayBuffer.
 */
export async function collateShared(
  samples: PackedInputs[],
  opts: {
    padSizeDivisor?: number;
    padValue?: number;
    indices?: number[];
    alloc: (n: number) => { data: Float32Array; fresh: boolean };
    pool: ColorPassPool;
  },
): Promise<RawBatch> {
  const g = batchGeometry(samples, opts.padSizeDivisor);
  const { data, fresh } = opts.alloc(g.n * g.H * g.W * g.C);
  const batchPad = [opts.padValue ?? 0, opts.padValue ?? 0, opts.padValue ?? 0];
  const rowStride = g.W * g.C;
  await Promise.all(
    samples.map((s, k) => {
      const def = s.inputs.deferred;
      if (!def || !(def.src.data instanceof Uint8Array) || def.src.channels !== 3) {
        collateOne(data, s, k, g, batchPad, fresh);
        return undefined;
      }
      return opts.pool.run({
        pixels: def,
        out: data,
        offset: k * g.H * rowStride,
        rowStride,
        padW: s.inputs.width,
        padH: s.inputs.height,
        batchW: g.W,
        batchH: g.H,
        batchPad,
        zeroed: fresh,
      });
    }),
  );
  return finishBatch(data, g, samples, opts.indices);
}

interface BatchGeometry {
  n: number;
  H: number;
  W: number;
  C: number;
}

function batchGeometry(samples: PackedInputs[], padSizeDivisor?: number): BatchGeometry {
  if (samples.length === 0) throw new Error('collate: empty batch');
  let H = 0,
    W = 0;
  let div = padSizeDivisor ?? 1;
  const C = samples[0].inputs?.channels;
  for (const s of samples) {
    if (!s || !s.inputs)
      throw new Error(
        'collate: a sample has no `inputs`; end the pipeline with PackDetInputs / PackSegInputs',
      );
    if (s.inputs.channels !== C)
      throw new Error(`collate: images have ${C} and ${s.inputs.channels} channels`);
    H = Math.max(H, s.inputs.height);
    W = Math.max(W, s.inputs.width);
    const d = s.dataSample.metainfo.padSizeDivisor;
    if (d && d > div) div = d;
  }
  return { n: samples.length, H: Math.ceil(H / div) * div, W: Math.ceil(W / div) * div, C: C };
}

/** Write sample `k` into the batch on this thread. */
function collateOne(
  data: Float32Array,
  s: PackedInputs,
  k: number,
  g: BatchGeometry,
  batchPad: number[],
  fresh: boolean,
): void {
  const { H, W, C } = g;
  const { data: src, height: h, width: w } = s.inputs;
  const base = k * H * W * C;
  const row = w * C;
  const def = s.inputs.deferred;
  // Written pixels cover the source image; the image's own padding reaches [0, w) x [0, h) (Pad's value);
  // the batch padding fills the rest up to W x H. A fresh buffer is already zero where the value is 0.
  if (def) {
    writePixels(def.src, def.colorMap, def.flipH, def.flipV, data, base, W * C);
    fillPadding(data, base, W * C, def.src.width, def.src.height, w, h, def.padVal, fresh);
  } else if (w === W && src instanceof Float32Array) data.set(src, base);
  else for (let y = 0; y < h; y++) data.set(src.subarray(y * row, (y + 1) * row), base + y * W * C);
  fillPadding(data, base, W * C, w, h, W, H, batchPad, fresh);
}

function finishBatch(
  data: Float32Array,
  g: BatchGeometry,
  samples: PackedInputs[],
  indices?: number[],
): RawBatch {
  for (const s of samples) s.dataSample.metainfo.batchInputShape = [g.H, g.W];
  return {
    data,
    shape: [g.n, g.H, g.W, g.C],
    dataSamples: samples.map((s) => s.dataSample),
    indices: indices ?? samples.map((_, i) => i),
  };
}

/** {@link collateRaw} as a tf tensor. */
export function collate(
  samples: PackedInputs[],
  opts: { padSizeDivisor?: number; padValue?: number; indices?: number[] } = {},
): Batch {
  const r = collateRaw(samples, opts);
  return {
    inputs: tf.tensor4d(r.data, r.shape, 'float32'),
    dataSamples: r.dataSamples,
    indices: r.indices,
  };
}

/**
 * Batches of a data set, decoded ahead in parallel.
 *
 * The order of epoch `e` depends only on `seed` and `e`, and each sample's
 * random transforms draw from a generator derived from `(seed, e, position)`,
 * so a run resumed at `(epoch, iter)` sees exactly the data it would have
 * seen, whatever the decode concurrency.
 *
 * @example
 * ```ts
 * const loader = new DataLoader({ dataset, batchSize: 8, shuffle: true, seed: 0, groupByAspectRatio: true });
 * for await (const batch of loader.epochBatches(0)) {
 *   batch.inputs.shape;            // eight images: [8, H, W, 3]
 *   batch.dataSamples[0].gtInstances.bboxes;
 *   batch.inputs.dispose();
 * }
 * ```
 */
export class DataLoader {
  static readonly unbuiltArgs = ['dataset'] as const;
  readonly dataset: DatasetLike;
  readonly opts: Required<Omit<DataLoaderOptions, 'dataset' | 'padSizeDivisor' | 'shard'>> & {
    padSizeDivisor?: number;
    shard: { rank: number; worldSize: number };
  };

  constructor(options: DataLoaderOptions) {
    this.dataset = isTypedConfig(options.dataset)
      ? DATASETS.build<DatasetLike>(options.dataset, { path: 'dataset' })
      : options.dataset;
    if (!(options.batchSize >= 1))
      throw new Error(`DataLoader: batchSize must be >= 1, got ${options.batchSize}`);
    this.opts = {
      batchSize: options.batchSize,
      shuffle: options.shuffle ?? false,
      seed: options.seed ?? 0,
      dropLast: options.dropLast ?? false,
      groupByAspectRatio: options.groupByAspectRatio ?? false,
      numWorkers: Math.max(1, options.numWorkers ?? 8),
      prefetch: Math.max(
        1,
        options.prefetch ?? Math.max(2 * options.batchSize, options.numWorkers ?? 8),
      ),
      padSizeDivisor: options.padSizeDivisor,
      padValue: options.padValue ?? 0,
      colorWorkers:
        typeof SharedArrayBuffer === 'function' ? Math.max(0, options.colorWorkers ?? 0) : 0,
      shard: options.shard ?? { rank: 0, worldSize: 1 },
    };
    if (this.dataset.length === 0)
      throw new Error(
        'DataLoader: the data set is empty (check the split list, annFile and filterCfg)',
      );
  }

  /** The sample order of epoch `epoch` (this process's shard of it in data-parallel training). */
  order(epoch: number): number[] {
    const n = this.dataset.length;
    const full = this.opts.shuffle
      ? Rng.derive(this.opts.seed, epoch).permutation(n)
      : Array.from({ length: n }, (_, i) => i);
    return shardOrder(full, this.opts.shard.rank, this.opts.shard.worldSize);
  }

  /** Indices of each batch of epoch `epoch`. */
  batchIndices(epoch: number): number[][] {
    const bs = this.opts.batchSize;
    const order = this.order(epoch);
    const batches: number[][] = [];
    if (!this.opts.groupByAspectRatio) {
      for (let i = 0; i < order.length; i += bs) batches.push(order.slice(i, i + bs));
    } else {
      const shapes = this.dataset.imageShapes();
      const buckets: number[][] = [[], []];
      for (const i of order) {
        const [h, w] = shapes[i];
        const b = buckets[w >= h ? 0 : 1];
        b.push(i);
        if (b.length === bs) batches.push(b.splice(0, bs));
      }
      // Leftovers of both buckets, in sampler order, make the last (mixed) batches.
      const rest = order.filter((i) => buckets[0].includes(i) || buckets[1].includes(i));
      for (let i = 0; i < rest.length; i += bs) batches.push(rest.slice(i, i + bs));
    }
    if (this.opts.dropLast && batches.length && batches[batches.length - 1].length < bs)
      batches.pop();
    return batches;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = Math.ceil(this.dataset.length / this.opts.shard.worldSize),
      bs = this.opts.batchSize;
    return this.opts.dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
  }

  /**
   * The batches of epoch `epoch`, starting at batch `startIter` (for resume).
   * At most `prefetch` samples are decoded ahead; `numWorkers` at a time.
   */
  async *epochBatches(epoch: number, startIter = 0): AsyncGenerator<Batch> {
    for await (const r of this.batches(epoch, startIter, true)) {
      const inputs = tf.tensor4d(r.data, r.shape, 'float32');
      this.lent.push({ tensor: inputs, data: r.data });
      yield { inputs, dataSamples: r.dataSamples, indices: r.indices };
    }
  }

  // Batch buffers handed out inside tensors; reused once the consumer disposes the tensor,
  // which spares the garbage collector a large allocation per batch.
  private lent: { tensor: tf.Tensor; data: Float32Array }[] = [];
  private pool?: ColorPassPool;

  private allocBatch(n: number): { data: Float32Array; fresh: boolean } {
    const shared = this.opts.colorWorkers > 0;
    const i = this.lent.findIndex(
      (e) =>
        e.tensor.isDisposed &&
        e.data.length === n &&
        e.data.buffer instanceof SharedArrayBuffer === shared,
    );
    if (i >= 0) return { data: this.lent.splice(i, 1)[0].data, fresh: false };
    // Forget disposed buffers of other sizes and cap the list (live tensors own their data anyway).
    this.lent = this.lent.filter((e) => !e.tensor.isDisposed).slice(-8);
    return {
      data: shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n),
      fresh: true,
    };
  }

  /** Stop the colour-pass workers (they do not keep the process alive; this frees them early). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.close();
  }

  /** {@link epochBatches} without making tensors (the collated Float32Array and its shape). */
  rawBatches(epoch: number, startIter = 0): AsyncGenerator<RawBatch> {
    return this.batches(epoch, startIter, false);
  }

  private async *batches(
    epoch: number,
    startIter: number,
    recycle: boolean,
  ): AsyncGenerator<RawBatch> {
    const batches = this.batchIndices(epoch).slice(startIter);
    const flat: { idx: number; pos: number }[] = [];
    let pos = startIter * this.opts.batchSize;
    for (const b of batches) for (const idx of b) flat.push({ idx, pos: pos++ });
    const results: Promise<PackedInputs>[] = new Array(flat.length);
    let next = 0;
    let running = 0;
    let consumed = 0;
    const pump = (): void => {
      while (
        next < flat.length &&
        running < this.opts.numWorkers &&
        next - consumed < this.opts.prefetch
      ) {
        const { idx, pos: p } = flat[next];
        const { rank, worldSize } = this.opts.shard;
        const rng = Rng.derive(this.opts.seed, epoch, p * worldSize + rank, 0x51ed);
        running++;
        const pr = this.dataset.get(idx, { rng, deferPixels: true });
        results[next] = pr.then(
          (r) => {
            running--;
            pump();
            return r as PackedInputs;
          },
          (e: unknown) => {
            running--;
            pump();
            throw e;
          },
        );
        // Avoid unhandled-rejection noise for samples whose batch is never awaited (consumer stopped early).
        results[next].catch(() => undefined);
        next++;
      }
    };
    pump();
    let k = 0;
    for (const b of batches) {
      const samples: PackedInputs[] = [];
      for (let j = 0; j < b.length; j++, k++) {
        samples.push(await results[k]);
        consumed = k + 1;
        results[k] = undefined as unknown as Promise<PackedInputs>;
        pump();
      }
      const copts = {
        padSizeDivisor: this.opts.padSizeDivisor,
        padValue: this.opts.padValue,
        indices: b,
      };
      if (this.opts.colorWorkers > 0) {
        this.pool ??= new ColorPassPool(this.opts.colorWorkers);
        const alloc = recycle
          ? (n: number) => this.allocBatch(n)
          : (n: number) => ({ data: new Float32Array(new SharedArrayBuffer(n * 4)), fresh: true });
        yield await collateShared(samples, { ...copts, alloc, pool: this.pool });
      } else {
        yield collateRaw(samples, {
          ...copts,
          alloc: recycle ? (n: number) => this.allocBatch(n).data : undefined,
        });
      }
    }
  }

  /** Iterate epoch 0 (use {@link epochBatches} for later epochs). */
  [Symbol.asyncIterator](): AsyncGenerator<Batch> {
    return this.epochBatches(0);
  }
}
