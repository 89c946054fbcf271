/** Runtime defaults (mmdet `default_runtime.py`): hooks, logging, seed. */
export default {
  defaultScope: 'tfdet',
  defaultHooks: {
    timer: { type: 'IterTimerHook' },
    logger: { type: 'LoggerHook', interval: 50 },
    paramScheduler: { type: 'ParamSchedulerHook' },
    checkpoint: { type: 'CheckpointHook', interval: 1 },
    samplerSeed: { type: 'DistSamplerSeedHook' },
  },
  randomness: { seed: 0 },
  logLevel: 'INFO',
  loadFrom: null,
  resume: false,
};
