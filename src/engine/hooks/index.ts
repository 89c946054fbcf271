/**
 * The default hooks (mmengine's): IterTimerHook, LoggerHook,
 * ParamSchedulerHook, CheckpointHook, and the custom EMAHook and
 * EarlyStoppingHook, one per file, each registered in HOOKS where it is defined.
 */

export * from './iter_timer_hook.js';
export * from './logger_hook.js';
export * from './param_scheduler_hook.js';
export * from './checkpoint_hook.js';
export * from './ema_hook.js';
export * from './early_stopping_hook.js';
export * from './dist_sampler_seed_hook.js';
export * from './runtime_info_hook.js';
