/**
 * What the Runner builds from a config besides the model, the loops and the
 * hooks: the run's seed, the optimizer config after mmengine's `autoScaleLr`
 * and the chained LR schedulers.
 */
import { ConfigError, type Config } from '../config/index.js';
import { PARAM_SCHEDULERS, isTypedConfig } from '../registry.js';
import { isPlainObject } from '../utils/plain.js';
import type { RunLogger } from './logging.js';
import type { LRScheduler } from './optim/schedulers.js';
import type { TrainLoopLike } from './runner.js';

/** A finite 32-bit seed from the config or a fresh one. */
export function resolveSeed(cfg: Config): { seed: number; given: boolean } {
  const s = cfg.randomness?.seed ?? cfg.seed;
  if (s === undefined || s === null)
    return { seed: Math.floor(Math.random() * 2 ** 31), given: false };
  if (!Number.isInteger(s))
    throw new ConfigError('randomness.seed', 'an integer', JSON.stringify(s));
  return { seed: s >>> 0, given: true };
}

/** Whether `v` is a plain object (a config dict). */
export const isPlain = isPlainObject;

/**
 * `cfg.optimWrapper` with the learning rate scaled by `autoScaleLr`
 * (mmengine's linear scaling rule) when it is enabled; the change is logged.
 */
export function autoScaledLr(cfg: Config, logger: RunLogger, worldSize = 1): Record<string, any> {
  let owCfg = cfg.optimWrapper as Record<string, any>;
  const auto = cfg.autoScaleLr as { enable?: boolean; baseBatchSize?: number } | undefined;
  if (auto?.enable) {
    // mmengine's linear scaling rule: lr * (total batch size / the batch size the lr was tuned for).
    const bs = Number(cfg.trainDataloader?.batchSize) * worldSize;
    if (!(Number(auto.baseBatchSize) > 0))
      throw new ConfigError(
        'autoScaleLr.baseBatchSize',
        'a positive batch size',
        JSON.stringify(auto.baseBatchSize ?? null),
      );
    const ratio = bs / auto.baseBatchSize!;
    owCfg = { ...owCfg, optimizer: { ...owCfg.optimizer, lr: owCfg.optimizer.lr * ratio } };
    logger.info(
      `autoScaleLr: lr ${owCfg.optimizer.lr / ratio} was set for batch size ${auto.baseBatchSize}; the batch size is ${bs}${worldSize > 1 ? ` (${worldSize} workers)` : ''}, so lr is ${owCfg.optimizer.lr}`,
    );
  }
  return owCfg;
}

/** `cfg.paramScheduler` (one config or a list), built; a missing `end` is the train loop's. */
export function buildParamSchedulers(cfg: Config, trainLoop: TrainLoopLike): LRScheduler[] {
  const sched = cfg.paramScheduler ?? [];
  const list = Array.isArray(sched) ? sched : [sched];
  return list.map((s: unknown, i: number) => {
    if (!isTypedConfig(s))
      throw new ConfigError(
        `paramScheduler.${i}`,
        'a scheduler config {type, ...}',
        JSON.stringify(s),
      );
    const built = PARAM_SCHEDULERS.build<LRScheduler>(s, {
      path: Array.isArray(sched) ? `paramScheduler.${i}` : 'paramScheduler',
    });
    built.setDefaultEnd(built.byEpoch ? trainLoop.maxEpochs : trainLoop.maxIters);
    return built;
  });
}
