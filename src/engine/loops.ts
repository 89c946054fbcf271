/**
 * Train, validation and test loops (mmengine's names and semantics).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ConfigError, validateArgs } from '../config/index.js';
import { LOOPS, METRICS, isTypedConfig } from '../registry.js';

import { disposeBatch, type EngineLoader } from './data.js';
import { allGatherLarge, mergeShards } from './dist/gather.js';
import type { EvalLoopLike, Runner, TrainLoopLike } from './runner.js';

/** A streaming metric: `process` per batch, `compute` at the end. */
export interface MetricLike {
  datasetMeta?: Record<string, unknown>;
  prefix?: string;
  process(dataBatch: unknown, predictions: readonly unknown[]): void;
  compute(): Record<string, number> | Promise<Record<string, number>>;
  /**
   * One JSON-serialisable entry per processed sample, in order (mmengine's
   * `BaseMetric.results`); `compute` reads it. Data-parallel validation
   * gathers the workers' lists into rank 0's metric.
   */
  results?: unknown[];
}

/**
 * One or more metrics built from METRICS (`valEvaluator` may be a config or
 * a list of configs); their results are merged.
 */
export class Evaluator {
  readonly metrics: MetricLike[];
  constructor(cfg: unknown, path: string, datasetMeta?: Record<string, unknown>) {
    const list = Array.isArray(cfg) ? cfg : [cfg];
    this.metrics = list.map((c, i) => {
      const where = Array.isArray(cfg) ? `${path}.${i}` : path;
      if (!isTypedConfig(c))
        throw new ConfigError(where, 'a metric config {type, ...}', JSON.stringify(c));
      const m = METRICS.build<MetricLike>(c, { path: where });
      if (datasetMeta && m.datasetMeta === undefined) m.datasetMeta = datasetMeta;
      return m;
    });
  }
  process(dataBatch: unknown, predictions: readonly unknown[]): void {
    for (const m of this.metrics) m.process(dataBatch, predictions);
  }
  async compute(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const m of this.metrics) {
      const r = await m.compute();
      for (const [k, v] of Object.entries(r))
        out[m.prefix && !k.includes('/') ? `${m.prefix}/${k}` : k] = v;
    }
    return out;
  }
}

const epochLoopSchema = z.strictObject({
  runner: z.custom<Runner>(),
  dataloader: z.custom<EngineLoader>(),
  maxEpochs: z.number().int().positive(),
  valBegin: z.number().int().min(1).optional(),
  valInterval: z.number().int().positive().optional(),
});

/**
 * Trains for `maxEpochs` epochs, validating after every `valInterval`-th
 * epoch (from `valBegin`) and after the last.
 */
export class EpochBasedTrainLoop implements TrainLoopLike {
  readonly runner: Runner;
  readonly dataloader: EngineLoader;
  readonly maxEpochs: number;
  readonly valBegin: number;
  readonly valInterval: number;
  readonly byEpoch = true;
  stopTraining = false;

  constructor(args: z.infer<typeof epochLoopSchema>) {
    const a = validateArgs(epochLoopSchema, args, 'trainCfg', "loop type 'EpochBasedTrainLoop'");
    this.runner = a.runner;
    this.dataloader = a.dataloader;
    this.maxEpochs = a.maxEpochs;
    this.valBegin = a.valBegin ?? 1;
    this.valInterval = a.valInterval ?? 1;
  }

  get maxIters(): number {
    return this.maxEpochs * this.dataloader.length;
  }

  async run(): Promise<void> {
    const r = this.runner;
    await r.callHook('beforeTrain');
    while (r.epoch < this.maxEpochs && !this.stopTraining) {
      await this.runEpoch();
      if (
        r.valLoop &&
        r.epoch >= this.valBegin &&
        (r.epoch % this.valInterval === 0 || r.epoch === this.maxEpochs)
      ) {
        await r.valLoop.run();
      }
    }
    await r.callHook('afterTrain');
  }

  /** One epoch from the runner's position in it (non-zero after a mid-epoch resume). */
  async runEpoch(): Promise<void> {
    const r = this.runner;
    await r.callHook('beforeTrainEpoch');
    r.model.train();
    let idx = r.innerIter;
    for await (const batch of this.dataloader.epochBatches(r.epoch, r.innerIter)) {
      await r.callHook('beforeTrainIter', idx, batch);
      const out = r.trainStep(batch);
      await r.callHook('afterTrainIter', idx, batch, out);
      idx++;
    }
    r.innerIter = 0;
    r.epoch++;
    await r.callHook('afterTrainEpoch');
  }
}

const iterLoopSchema = z.strictObject({
  runner: z.custom<Runner>(),
  dataloader: z.custom<EngineLoader>(),
  maxIters: z.number().int().positive(),
  valBegin: z.number().int().min(1).optional(),
  valInterval: z.number().int().positive().optional(),
});

/**
 * Trains for `maxIters` iterations, cycling through the data (each pass is a
 * new epoch of the sampler), validating every `valInterval` iterations.
 */
export class IterBasedTrainLoop implements TrainLoopLike {
  readonly runner: Runner;
  readonly dataloader: EngineLoader;
  readonly maxIters: number;
  readonly valBegin: number;
  readonly valInterval: number;
  readonly byEpoch = false;
  stopTraining = false;

  constructor(args: z.infer<typeof iterLoopSchema>) {
    const a = validateArgs(iterLoopSchema, args, 'trainCfg', "loop type 'IterBasedTrainLoop'");
    this.runner = a.runner;
    this.dataloader = a.dataloader;
    this.maxIters = a.maxIters;
    this.valBegin = a.valBegin ?? 1;
    this.valInterval = a.valInterval ?? 1000;
  }

  get maxEpochs(): number {
    return Math.ceil(this.maxIters / this.dataloader.length);
  }

  async run(): Promise<void> {
    const r = this.runner;
    await r.callHook('beforeTrain');
    await r.callHook('beforeTrainEpoch');
    r.model.train();
    while (r.iter < this.maxIters && !this.stopTraining) {
      let finished = true;
      let idx = r.innerIter;
      for await (const batch of this.dataloader.epochBatches(r.epoch, r.innerIter)) {
        await r.callHook('beforeTrainIter', idx, batch);
        const out = r.trainStep(batch);
        await r.callHook('afterTrainIter', idx, batch, out);
        idx++;
        if (
          r.valLoop &&
          r.iter >= this.valBegin &&
          (r.iter % this.valInterval === 0 || r.iter === this.maxIters)
        ) {
          await r.valLoop.run();
          r.model.train();
        }
        if (r.iter >= this.maxIters || this.stopTraining) {
          finished = r.innerIter >= this.dataloader.length;
          break;
        }
      }
      if (finished) {
        r.epoch++;
        r.innerIter = 0;
      }
    }
    await r.callHook('afterTrainEpoch');
    await r.callHook('afterTrain');
  }
}

const evalLoopSchema = z.strictObject({
  runner: z.custom<Runner>(),
  dataloader: z.custom<EngineLoader>(),
  evaluator: z.unknown(),
  fp16: z
    .boolean()
    .optional()
    .refine((v) => v !== true, {
      message: 'fp16 (mixed precision) is not supported yet: leave it out or set it to false',
    }),
});

/** Shared body of {@link ValLoop} and {@link TestLoop}. */
abstract class EvalLoop implements EvalLoopLike {
  readonly runner: Runner;
  readonly dataloader: EngineLoader;
  readonly evaluator: Evaluator;
  protected abstract readonly stage: 'Val' | 'Test';

  constructor(args: z.infer<typeof evalLoopSchema>, path: string) {
    const a = validateArgs(evalLoopSchema, args, path, 'eval loop');
    this.runner = a.runner;
    this.dataloader = a.dataloader;
    const ds = this.dataloader.dataset as { metainfo?: Record<string, unknown> } | undefined;
    this.evaluator = new Evaluator(
      a.evaluator,
      path.startsWith('val') ? 'valEvaluator' : 'testEvaluator',
      ds?.metainfo,
    );
  }

  /** {@link computeShardedMetrics} over this loop's data set. */
  private computeSharded(): Promise<Record<string, number>> {
    const ds = this.dataloader.dataset as { length?: number } | undefined;
    if (typeof ds?.length !== 'number')
      throw new Error('data-parallel validation: the validation loader has no data set length');
    return computeShardedMetrics(this.runner, this.evaluator, ds.length);
  }

  async run(): Promise<Record<string, number>> {
    const r = this.runner;
    const s = this.stage;
    await r.callHook(`before${s}`);
    await r.callHook(`before${s}Epoch`);
    const wasTraining = r.model.training;
    r.model.eval();
    let idx = 0;
    try {
      for await (const batch of this.dataloader.epochBatches(0)) {
        await r.callHook(`before${s}Iter`, idx, batch);
        tf.engine().startScope();
        let preds: unknown[];
        try {
          preds = await r.model.predict(batch);
          this.evaluator.process(batch, preds);
        } finally {
          tf.engine().endScope();
          disposeBatch(batch);
        }
        await r.callHook(`after${s}Iter`, idx, batch, preds);
        idx++;
      }
    } finally {
      r.model.train(wasTraining);
    }
    const metrics =
      s === 'Val' && r.dist.worldSize > 1
        ? await this.computeSharded()
        : await this.evaluator.compute();
    if (s === 'Val') r.lastMetrics = metrics;
    await r.callHook(`after${s}Epoch`, metrics);
    await r.callHook(`after${s}`);
    return metrics;
  }
}

/**
 * mmengine's `collect_results` and `evaluate` in data-parallel validation
 * (every worker runs the validation loop on its shard, with the same hook
 * calls):
 * every metric's per-sample `results` go to rank 0, merged back into the
 * data set's order without the shards' padding; rank 0 computes and every
 * worker gets its metrics before any hook acts on them.
 */
async function computeShardedMetrics(
  r: Runner,
  evaluator: Evaluator,
  length: number,
): Promise<Record<string, number>> {
  const lists = evaluator.metrics.map((m, i) => {
    if (!Array.isArray(m.results))
      throw new Error(
        `valEvaluator${evaluator.metrics.length > 1 ? `.${i}` : ''}: ${m.constructor.name} has no 'results' list; ` +
          "data-parallel validation merges each metric's per-sample results (as mmengine's BaseMetric.results): " +
          "give the metric a 'results' array of JSON-serialisable entries, one per sample, or train with --nproc 1",
      );
    return m.results;
  });
  const shards = allGatherLarge(r.dist, lists);
  let metrics: Record<string, number> | null = null;
  if (r.isMain) {
    const per = lists.length ? shards.map((s) => s[0].length) : [];
    r.logger.info(
      `validation: ${length} samples, sharded over ${r.dist.worldSize} workers (${per.join(' + ')} results)`,
    );
    evaluator.metrics.forEach((m, i) => {
      m.results = mergeShards(
        shards.map((s) => s[i]),
        length,
      );
    });
    metrics = await evaluator.compute();
  } else for (const m of evaluator.metrics) m.results = [];
  return r.dist.allGather(metrics)[0]!;
}

/** Runs the validation data through `predict` and the evaluator. */
export class ValLoop extends EvalLoop {
  protected readonly stage = 'Val' as const;
  constructor(args: z.infer<typeof evalLoopSchema>) {
    super(args, 'valCfg');
  }
}

/** Runs the test data through `predict` and the evaluator. */
export class TestLoop extends EvalLoop {
  protected readonly stage = 'Test' as const;
  constructor(args: z.infer<typeof evalLoopSchema>) {
    super(args, 'testCfg');
  }
}

LOOPS.register(EpochBasedTrainLoop, { name: 'EpochBasedTrainLoop' });
LOOPS.register(IterBasedTrainLoop, { name: 'IterBasedTrainLoop' });
LOOPS.register(ValLoop, { name: 'ValLoop' });
LOOPS.register(TestLoop, { name: 'TestLoop' });
