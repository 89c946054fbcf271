/**
 * What the engine needs of a data loader, and building one from the
 * config's `trainDataloader` / `valDataloader` / `testDataloader`.
 *
 * The engine reads batches epoch by epoch through `epochBatches(epoch,
 * startIter)`: the order of an epoch is a function of the seed and the epoch,
 * so a resumed run asks for the same epoch from the batch where it stopped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ConfigError, validateArgs } from '../config/index.js';
import { DataLoader, shardOrder } from '../datasets/loader.js';
import { DATASETS } from '../registry.js';
import type { EngineBatch } from '../structures/index.js';
import { Rng } from '../utils/random.js';

/** The loader interface of the engine. */
export interface EngineLoader<B = EngineBatch> {
  /** Batches per epoch. */
  readonly length: number;
  /** The batches of `epoch`, from batch `startIter` on. */
  epochBatches(epoch: number, startIter?: number): AsyncIterable<B>;
  /** The data set, when the loader has one (for `metainfo`). */
  readonly dataset?: unknown;
}

/** A data set the {@link ArrayDataLoader} can serve: random access plus its own collate. */
export interface CollatableDataset<S = unknown, B = EngineBatch> {
  readonly length: number;
  get(index: number, options: { rng: Rng }): S | Promise<S>;
  /** Makes a batch from samples. */
  collate(samples: S[]): B;
  readonly metainfo?: Record<string, unknown>;
}

/**
 * An in-memory loader for data sets that bring their own `collate` (small
 * synthetic sets, tests, non-image data). Same order and randomness
 * contract as the image {@link DataLoader}: epoch `e` is shuffled with
 * `Rng.derive(seed, e)` and the sample at position `p` gets
 * `Rng.derive(seed, e, p, 0x51ed)` for its random transforms.
 */
export class ArrayDataLoader<S = unknown, B = EngineBatch> implements EngineLoader<B> {
  constructor(
    readonly dataset: CollatableDataset<S, B>,
    readonly options: {
      batchSize: number;
      shuffle?: boolean;
      seed?: number;
      dropLast?: boolean;
      /** This process's shard in data-parallel training (see the image DataLoader's `shard`). */
      shard?: { rank: number; worldSize: number };
    },
  ) {
    if (!(options.batchSize >= 1))
      throw new Error(`ArrayDataLoader: batchSize must be >= 1, got ${options.batchSize}`);
    if (dataset.length === 0) throw new Error('ArrayDataLoader: the data set is empty');
  }

  get length(): number {
    const n = Math.ceil(this.dataset.length / (this.options.shard?.worldSize ?? 1));
    const bs = this.options.batchSize;
    return this.options.dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
  }

  /** The sample order of `epoch`. */
  order(epoch: number): number[] {
    const n = this.dataset.length;
    const full = this.options.shuffle
      ? Rng.derive(this.options.seed ?? 0, epoch).permutation(n)
      : Array.from({ length: n }, (_, i) => i);
    const s = this.options.shard;
    return s ? shardOrder(full, s.rank, s.worldSize) : full;
  }

  async *epochBatches(epoch: number, startIter = 0): AsyncGenerator<B> {
    const order = this.order(epoch);
    const bs = this.options.batchSize;
    for (let b = startIter; b < this.length; b++) {
      const samples: S[] = [];
      for (let p = b * bs; p < Math.min(order.length, (b + 1) * bs); p++) {
        samples.push(
          await this.dataset.get(order[p], {
            rng: Rng.derive(
              this.options.seed ?? 0,
              epoch,
              p * (this.options.shard?.worldSize ?? 1) + (this.options.shard?.rank ?? 0),
              0x51ed,
            ),
          }),
        );
      }
      yield this.dataset.collate(samples);
    }
  }
}

const dataloaderSchema = z.looseObject({
  batchSize: z.number().int().positive(),
  numWorkers: z.number().int().min(0).optional(),
  persistentWorkers: z.boolean().optional(),
  dropLast: z.boolean().optional(),
  pinMemory: z.boolean().optional(),
  prefetch: z.number().int().positive().optional(),
  padSizeDivisor: z.number().int().positive().optional(),
  padValue: z.number().optional(),
  sampler: z.looseObject({ type: z.string(), shuffle: z.boolean().optional() }).optional(),
  batchSampler: z.looseObject({ type: z.string() }).nullable().optional(),
  dataset: z.looseObject({ type: z.unknown() }),
});

/**
 * Builds a loader from an mmdetection-style dataloader config:
 * `{batchSize, numWorkers, sampler: {type: 'DefaultSampler', shuffle}, batchSampler: {type: 'AspectRatioBatchSampler'}, dataset}`.
 * A data set with its own `collate` gets an {@link ArrayDataLoader}; image
 * data sets get the pipeline {@link DataLoader}.
 *
 * @example
 * ```ts
 * const loader = buildDataloader(cfg.trainDataloader, { seed: 42, path: 'trainDataloader' });
 * for await (const batch of loader.epochBatches(0)) { ... }
 * ```
 */
export function buildDataloader(
  cfg: unknown,
  options: { seed: number; path?: string; shard?: { rank: number; worldSize: number } },
): EngineLoader {
  const path = options.path ?? 'dataloader';
  const c = validateArgs(dataloaderSchema, cfg, path, 'dataloader');
  const sampler = c.sampler ?? { type: 'DefaultSampler', shuffle: false };
  if (!['DefaultSampler', 'InfiniteSampler'].includes(sampler.type)) {
    throw new ConfigError(
      `${path}.sampler.type`,
      "'DefaultSampler' or 'InfiniteSampler'",
      JSON.stringify(sampler.type),
    );
  }
  const shuffle = sampler.shuffle ?? true;
  const dataset = DATASETS.build<{ length: number; collate?: unknown }>(c.dataset, {
    path: `${path}.dataset`,
  });
  if (typeof dataset.collate === 'function') {
    return new ArrayDataLoader(dataset as unknown as CollatableDataset, {
      batchSize: c.batchSize,
      shuffle,
      seed: options.seed,
      dropLast: c.dropLast,
      shard: options.shard,
    });
  }
  return new DataLoader({
    dataset: dataset as never,
    batchSize: c.batchSize,
    shuffle,
    seed: options.seed,
    dropLast: c.dropLast,
    numWorkers: c.numWorkers || undefined,
    prefetch: c.prefetch,
    padSizeDivisor: c.padSizeDivisor,
    padValue: c.padValue,
    groupByAspectRatio: c.batchSampler?.type === 'AspectRatioBatchSampler',
    shard: options.shard,
  }) as unknown as EngineLoader;
}

/** Disposes the tensors at the top level of a batch (`inputs` and any other tensor field). */
export function disposeBatch(batch: unknown): void {
  if (typeof batch !== 'object' || batch === null) return;
  for (const v of Object.values(batch)) if (v instanceof tf.Tensor && !v.isDisposed) v.dispose();
}
