/**
 * The Runner (mmengine's): builds the model, the loops, the optimizer, the
 * schedulers and the hooks from a config, runs training, validation and
 * testing, and saves and restores everything a run's trajectory depends on.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, configToJSON, dumpConfig, type Config } from '../config/index.js';
import { setInitSeed, setNormCollective, type LoadReport, type Module } from '../nn/index.js';
import { HOOKS, LOOPS, MODELS, isTypedConfig, type TypedConfig } from '../registry.js';
import type { DirLock } from '../utils/lock.js';
import { LocalCollective, type Collective } from './dist/collective.js';
import { configNameOf, resolveWorkDir, takeWorkDir } from './work_dir.js';
import { Rng } from '../utils/random.js';
import type { EngineBatch, LossDict } from '../structures/index.js';
import { checkImageFiles, dropSummaries } from '../datasets/data_checks.js';
import { buildDataloader, type EngineLoader } from './data.js';
import './hooks/index.js';
import './loops.js';
import {
  Hook,
  priorityValue,
  type HookStage,
  type Priority,
  type TrainStepOutputs,
} from './hooks/hook.js';
import { RunLogger, timestamp, type ConsoleLike } from './logging.js';
import { buildOptimWrapper, type OptimWrapper } from './optim/optim_wrapper.js';
import { type LRScheduler } from './optim/schedulers.js';
import { autoScaledLr, buildParamSchedulers, isPlain, resolveSeed } from './runner_build.js';
import {
  adoptCheckpointSeed,
  checkpointToResume,
  loadRunnerWeights,
  resumeRunner,
  saveRunnerCheckpoint,
} from './runner_checkpoint.js';
import { LossWatch, runTrainStep } from './train_step.js';

/** What the engine needs of a model. */
export interface DetectorLike extends Module {
  loss(batch: unknown): LossDict<tf.Tensor | tf.Tensor[]>;
  predict(batch: unknown): Promise<unknown[]> | unknown[];
}

/** A train loop as the runner drives it. */
export interface TrainLoopLike {
  readonly maxEpochs: number;
  readonly maxIters: number;
  /** Set by a hook (EarlyStopping) to end training after the current iteration/epoch. */
  stopTraining: boolean;
  /** Whether checkpoints and schedules count epochs (EpochBasedTrainLoop) or iterations. */
  readonly byEpoch: boolean;
  run(): Promise<void>;
}

/** A val/test loop. */
export interface EvalLoopLike {
  run(): Promise<Record<string, number>>;
}

/** Options of {@link Runner}. */
export interface RunnerOptions {
  /** The config file (names the default work dir and the dumped config). */
  configFile?: string;
  /** Overrides `cfg.workDir`. */
  workDir?: string;
  /** Console sink (default process.stdout). */
  console?: ConsoleLike;
  /** Custom loader builder (default {@link buildDataloader}). */
  buildDataloader?: (
    cfg: unknown,
    options: { seed: number; path: string; shard?: { rank: number; worldSize: number } },
  ) => EngineLoader;
  /** Write no files under the work dir (tools/test.ts without a log). Default false. */
  noFiles?: boolean;
  /**
   * Train in a work dir that holds an earlier run's checkpoints without
   * resuming it (they are replaced as this run saves). Default false: such a
   * work dir is an error unless the run resumes.
   */
  overwrite?: boolean;
  /**
   * The work dir's lock, already taken by the caller (tools/train.ts takes it
   * before anything slow, so a second run fails at once). Default: train()
   * takes it. Released when the training ends either way.
   */
  workDirLock?: DirLock;
  /**
   * The workers of a data-parallel training (default: this process alone).
   * Each worker runs a Runner with the same config and seed; the training
   * data is sharded, gradients are averaged before every step, and only rank
   * 0 validates, logs to files and writes checkpoints.
   */
  dist?: Collective;
}

/**
 * Runs a config.
 *
 * @example
 * ```ts
 * const cfg = await loadConfig('configs/retinanet/retinanet_r18_fpn_shapes.ts');
 * const runner = new Runner(cfg, { configFile: 'configs/retinanet/retinanet_r18_fpn_shapes.ts' });
 * await runner.train();          // epochs, validation, checkpoints in work_dirs/retinanet_r18_fpn_shapes
 * const metrics = await runner.test();
 * ```
 */
export class Runner {
  readonly cfg: Config;
  readonly model: DetectorLike;
  readonly workDir: string;
  readonly configName: string;
  readonly timestamp: string;
  /** `<workDir>/<timestamp>`: the text log and `vis_data/scalars.json`. */
  readonly logDir: string;
  readonly logger: RunLogger;
  /** The run's seed: model init (setInitSeed), data order, and the engine's generator. */
  seed: number;
  /** The engine's own generator (saved and restored with checkpoints). */
  readonly rng: Rng;
  readonly hooks: Hook[] = [];
  optimWrapper?: OptimWrapper;
  paramSchedulers: LRScheduler[] = [];
  trainLoop?: TrainLoopLike;
  /** The training loader (this worker's shard in data-parallel training), once training is built. */
  trainLoader?: EngineLoader;
  valLoop?: EvalLoopLike;
  testLoop?: EvalLoopLike;
  /** Completed epochs (during epoch `e` it is `e`, 0-based). */
  epoch = 0;
  /** Completed iterations (global). */
  iter = 0;
  /** Completed iterations inside the current epoch (the resume position in the data order). */
  innerIter = 0;
  /** Report of the last `loadFrom` (missing, unexpected and mismatched keys). */
  loadReport?: LoadReport;
  /** Metrics of the last validation. */
  lastMetrics: Record<string, number> = {};
  private readonly options: RunnerOptions;
  private hookOrder = 0;
  private readonly seedGiven: boolean;
  private readonly hookSeq = new WeakMap<Hook, number>();
  /** Warns when the loss blows up by orders of magnitude (finite values pass the NaN check). */
  readonly lossWatch = new LossWatch();
  /** The data-parallel workers this Runner is one of ({@link RunnerOptions.dist}). */
  readonly dist: Collective;

  /** Whether this is rank 0, the worker that validates, logs to files and saves. */
  get isMain(): boolean {
    return this.dist.rank === 0;
  }

  constructor(cfg: Config, options: RunnerOptions = {}) {
    this.options = options;
    this.dist = options.dist ?? new LocalCollective();
    // SyncBN layers of this thread share their statistics with these workers (none: plain BN).
    setNormCollective(options.dist);
    this.cfg = cfg;
    this.configName = configNameOf(options.configFile);
    this.workDir = resolveWorkDir(cfg.workDir, options.configFile, options.workDir);
    this.cfg.workDir = this.workDir;
    const { seed: own, given } = resolveSeed(cfg);
    // Every worker takes rank 0's seed (mmengine's sync_random_seed): with a seed
    // drawn at random, each would otherwise shuffle its own order and the shards
    // would overlap. (One process: its own.)
    const seed = this.dist.allGather(own)[0];
    this.seed = seed;
    this.cfg.randomness = { ...(cfg.randomness ?? {}), seed };
    this.rng = new Rng(seed);
    this.timestamp = timestamp();
    this.logDir = path.join(this.workDir, this.timestamp);
    this.logger = new RunLogger(options.noFiles ? undefined : this.logDir, {
      console: options.console,
    });
    this.seedGiven = given;
    if (!isPlain(cfg.model))
      throw new ConfigError(
        'model',
        'a model config {type, ...}',
        JSON.stringify(cfg.model ?? null),
      );
    setInitSeed(seed);
    this.model = MODELS.build<DetectorLike>(cfg.model, { path: 'model' });
    for (const m of ['loss', 'predict'] as const) {
      if (typeof (this.model as unknown as Record<string, unknown>)[m] !== 'function') {
        throw new ConfigError('model.type', `a model with ${m}(batch)`, String(cfg.model.type));
      }
    }
    this.registerDefaultHooks();
  }

  // ---------------------------------------------------------------- hooks

  /**
   * Adds a hook (an instance or a `{type, priority, ...}` config built from
   * HOOKS), keeping the list ordered by priority.
   */
  registerHook(hook: Hook | TypedConfig, priority?: Priority): Hook {
    let h: Hook;
    if (hook instanceof Hook) {
      h = hook;
    } else {
      const { priority: p, ...rest } = hook as TypedConfig & { priority?: Priority };
      h = HOOKS.build<Hook>(rest, { path: `hooks.${String(rest.type)}` });
      if (p !== undefined) h.priority = p;
    }
    if (priority !== undefined) h.priority = priority;
    priorityValue(h.priority);
    this.hookSeq.set(h, this.hookOrder++);
    this.hooks.push(h);
    this.hooks.sort(
      (a, b) =>
        priorityValue(a.priority) - priorityValue(b.priority) ||
        this.hookSeq.get(a)! - this.hookSeq.get(b)!,
    );
    return h;
  }

  private registerDefaultHooks(): void {
    const defaults: Record<string, TypedConfig> = {
      timer: { type: 'IterTimerHook' },
      logger: { type: 'LoggerHook', interval: 50 },
      paramScheduler: { type: 'ParamSchedulerHook' },
      checkpoint: { type: 'CheckpointHook', interval: 1 },
      samplerSeed: { type: 'DistSamplerSeedHook' },
    };
    const given = (this.cfg.defaultHooks ?? {}) as Record<string, TypedConfig | null>;
    if (!isPlain(given))
      throw new ConfigError('defaultHooks', 'a dict of hook configs', JSON.stringify(given));
    const merged: Record<string, TypedConfig | null> = { ...defaults };
    for (const [k, v] of Object.entries(given))
      merged[k] =
        v === null ? null : isPlain(v) && defaults[k] && !v.type ? { ...defaults[k], ...v } : v;
    for (const [k, v] of Object.entries(merged)) {
      if (v === null) continue;
      if (!isTypedConfig(v))
        throw new ConfigError(`defaultHooks.${k}`, 'a hook config {type, ...}', JSON.stringify(v));
      this.registerHookAt(v, `defaultHooks.${k}`);
    }
    const custom = this.cfg.customHooks ?? [];
    if (!Array.isArray(custom))
      throw new ConfigError('customHooks', 'a list of hook configs', JSON.stringify(custom));
    custom.forEach((c: unknown, i: number) => {
      if (!isTypedConfig(c))
        throw new ConfigError(`customHooks.${i}`, 'a hook config {type, ...}', JSON.stringify(c));
      this.registerHookAt(c, `customHooks.${i}`);
    });
  }

  private registerHookAt(c: TypedConfig, where: string): void {
    const { priority, ...rest } = c as TypedConfig & { priority?: Priority };
    const h = HOOKS.build<Hook>(rest, { path: where });
    this.registerHook(h, priority);
  }

  /** Calls `stage` on every hook in priority order. */
  async callHook(stage: HookStage, ...args: unknown[]): Promise<void> {
    for (const h of this.hooks) {
      await (h[stage] as (...a: unknown[]) => void | Promise<void>).call(h, this, ...args);
    }
  }

  /** The first registered hook of a class. */
  getHook<H extends Hook>(cls: abstract new (...a: any[]) => H): H | undefined {
    return this.hooks.find((h): h is H => h instanceof cls);
  }

  // ---------------------------------------------------------------- building

  /** The loader of `key`; with `sharded`, this worker's shard in data-parallel training. */
  private loader(
    key: 'trainDataloader' | 'valDataloader' | 'testDataloader',
    sharded: boolean,
  ): EngineLoader {
    const c = this.cfg[key];
    if (!isPlain(c))
      throw new ConfigError(
        key,
        'a dataloader config {batchSize, sampler, dataset}',
        JSON.stringify(c ?? null),
      );
    const build = this.options.buildDataloader ?? buildDataloader;
    const { rank, worldSize } = this.dist;
    const shard = sharded && worldSize > 1 ? { rank, worldSize } : undefined;
    const loader = build(c, { seed: this.seed, path: key, shard });
    for (const line of dropSummaries(loader.dataset)) this.logger.info(`${key}.dataset: ${line}`);
    return loader;
  }

  private buildEvalLoop(kind: 'val' | 'test'): EvalLoopLike | undefined {
    const loopCfg = (kind === 'val' ? this.cfg.valCfg : (this.cfg.testCfg ?? this.cfg.valCfg)) as
      TypedConfig | undefined;
    const loaderKey =
      kind === 'val'
        ? 'valDataloader'
        : this.cfg.testDataloader
          ? 'testDataloader'
          : 'valDataloader';
    const evaluator =
      kind === 'val' ? this.cfg.valEvaluator : (this.cfg.testEvaluator ?? this.cfg.valEvaluator);
    if (!loopCfg || !this.cfg[loaderKey] || !evaluator) return undefined;
    const type = loopCfg.type ?? (kind === 'val' ? 'ValLoop' : 'TestLoop');
    return LOOPS.build<EvalLoopLike>(
      { ...loopCfg, type: kind === 'test' && type === 'ValLoop' ? 'TestLoop' : type },
      {
        path: `${kind}Cfg`,
        defaults: { runner: this, dataloader: this.loader(loaderKey, kind === 'val'), evaluator },
      },
    );
  }

  private buildTraining(): void {
    if (!isPlain(this.cfg.trainCfg))
      throw new ConfigError(
        'trainCfg',
        "a loop config {type: 'EpochBasedTrainLoop', maxEpochs}",
        JSON.stringify(this.cfg.trainCfg ?? null),
      );
    if (!isPlain(this.cfg.optimWrapper))
      throw new ConfigError(
        'optimWrapper',
        "{type: 'OptimWrapper', optimizer: {...}}",
        JSON.stringify(this.cfg.optimWrapper ?? null),
      );
    const owCfg = autoScaledLr(this.cfg, this.logger, this.dist.worldSize);
    this.optimWrapper = buildOptimWrapper(owCfg, this.model);
    const loader = this.loader('trainDataloader', true);
    this.trainLoader = loader;
    checkImageFiles(loader.dataset); // every image's header, before the first iteration
    this.trainLoop = LOOPS.build<TrainLoopLike>(
      { type: 'EpochBasedTrainLoop', ...this.cfg.trainCfg },
      { path: 'trainCfg', defaults: { runner: this, dataloader: loader } },
    );
    this.paramSchedulers = buildParamSchedulers(this.cfg, this.trainLoop);
    this.valLoop = this.buildEvalLoop('val');
  }

  private logStart(): void {
    const det = !!this.cfg.randomness?.deterministic;
    this.logger.file(
      `seed: ${this.seed}${this.seedGiven ? '' : ' (none in the config; drawn at random)'}, deterministic: ${det}, backend: ${tf.getBackend()}`,
    );
    if (det && !['cpu', 'wasm'].includes(tf.getBackend())) {
      this.logger.info(
        `warning: randomness.deterministic is set but the '${tf.getBackend()}' backend may reduce in a different order from run to run; use --backend cpu or wasm for bit-exact runs`,
      );
    }
  }

  /** The trainable parameter count and the frozen one, for the start-of-run log. */
  private describeModel(): string {
    const all = this.model.numParameters();
    const trainable = this.model.numParameters(true);
    return `model ${this.model.constructor.name}: ${all.toLocaleString('en-US')} parameters, ${trainable.toLocaleString('en-US')} trainable`;
  }

  // ---------------------------------------------------------------- running

  /**
   * Trains: resumes or loads weights as the config says, runs the train
   * loop (with validation), and returns the model.
   *
   * @throws NonFiniteLossError when a loss term is NaN/Inf (nothing of that step is applied; the checkpoints stay).
   */
  async train(): Promise<DetectorLike> {
    const resumeFile = this.resumeFile();
    const lock = this.options.noFiles
      ? undefined
      : takeWorkDir(
          this,
          resumeFile !== undefined,
          this.options.overwrite ?? false,
          this.options.workDirLock,
        );
    try {
      if (resumeFile) adoptCheckpointSeed(this, resumeFile);
      this.buildTraining();
      this.logStart();
      this.logger.file(`config:\n${configToJSON(this.cfg)}`);
      this.logger.info(this.describeModel());
      await this.callHook('beforeRun');
      if (resumeFile) await this.resume(resumeFile);
      else if (this.cfg.loadFrom) await this.loadFrom(this.cfg.loadFrom);
      // Written once the run has started: a failed resume leaves the resumed run's config as it was.
      if (!this.options.noFiles)
        dumpConfig(this.cfg, path.join(this.workDir, `${this.configName}.json`));
      try {
        await this.trainLoop!.run();
      } catch (e) {
        this.logger.error((e as Error).message);
        throw e;
      }
      await this.callHook('afterRun');
      return this.model;
    } finally {
      lock?.release();
    }
  }

  /** Runs the validation loop once (building it if needed) and returns its metrics. */
  async val(): Promise<Record<string, number>> {
    this.valLoop ??= this.buildEvalLoop('val');
    if (!this.valLoop)
      throw new ConfigError(
        'valCfg',
        'valCfg, valDataloader and valEvaluator to validate',
        'missing',
      );
    return this.valLoop.run();
  }

  /** Runs the test loop (testCfg/testDataloader/testEvaluator, falling back to the val ones). */
  async test(): Promise<Record<string, number>> {
    this.testLoop ??= this.buildEvalLoop('test');
    if (!this.testLoop)
      throw new ConfigError(
        'testCfg',
        'testCfg (or valCfg), testDataloader and testEvaluator to test',
        'missing',
      );
    this.logStart();
    await this.callHook('beforeRun');
    const m = await this.testLoop.run();
    await this.callHook('afterRun');
    return m;
  }

  /**
   * One optimization step: forward + loss, gradients of the trainable
   * parameters (averaged over the workers in data-parallel training),
   * finiteness check of every loss term (read before anything is applied),
   * clipping and the optimizer update. Frees the batch's tensors.
   */
  trainStep(batch: EngineBatch): TrainStepOutputs {
    return runTrainStep(this, batch);
  }

  // ---------------------------------------------------------------- checkpoints (runner_checkpoint.ts)

  /** The checkpoint to resume from, per `resume` / `loadFrom` (mmengine's rules), or undefined. */
  resumeFile(): string | undefined {
    return checkpointToResume(this);
  }

  /**
   * Saves the model, the optimizer moments, the counters, the generators'
   * states and every hook's state to `file` (safetensors + JSON sidecar,
   * each written atomically).
   */
  async saveCheckpoint(file: string, extraMeta: Record<string, unknown> = {}): Promise<void> {
    return saveRunnerCheckpoint(this, file, extraMeta);
  }

  /**
   * Restores a checkpoint for resuming: weights and buffers (strict),
   * optimizer moments and step counts, epoch/iteration and the position in
   * the epoch's data order, the engine's generator and every hook's state.
   */
  async resume(file: string): Promise<void> {
    return resumeRunner(this, file);
  }

  /**
   * Loads weights only (fine-tuning): every tensor whose name and shape
   * match; the rest are reported (and kept in {@link loadReport}).
   */
  async loadFrom(file: string): Promise<LoadReport> {
    return loadRunnerWeights(this, file);
  }

  /** Frees the model, the optimizer state and the hooks' tensors. */
  dispose(): void {
    this.optimWrapper?.dispose();
    for (const h of this.hooks) (h as { dispose?: () => void }).dispose?.();
    this.model.dispose();
  }
}
