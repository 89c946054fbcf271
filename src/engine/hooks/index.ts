/**
 * The default hooks (mmengine's): IterTimerHook, LoggerHook,
 * ParamSchedulerHook, CheckpointHook, and the custom EMAHook and
 * EarlyStoppingHook, one per file; importing this module registers them
 * in HOOKS (in this order).
 */
import { HOOKS } from '../../registry.js';
import { CheckpointHook } from './checkpoint_hook.js';
import { DistSamplerSeedHook } from './dist_sampler_seed_hook.js';
import { EarlyStoppingHook } from './early_stopping_hook.js';
import { EMAHook } from './ema_hook.js';
import { IterTimerHook } from './iter_timer_hook.js';
import { LoggerHook } from './logger_hook.js';
import { ParamSchedulerHook } from './param_scheduler_hook.js';
import { RuntimeInfoHook } from './runtime_info_hook.js';

export * from './iter_timer_hook.js';
export * from './logger_hook.js';
export * from './param_scheduler_hook.js';
export * from './checkpoint_hook.js';
export * from './ema_hook.js';
export * from './early_stopping_hook.js';
export * from './dist_sampler_seed_hook.js';
export * from './runtime_info_hook.js';

for (const h of [
  IterTimerHook,
  LoggerHook,
  ParamSchedulerHook,
  CheckpointHook,
  EMAHook,
  EarlyStoppingHook,
  DistSamplerSeedHook,
  RuntimeInfoHook,
]) {
  HOOKS.register(h);
}
