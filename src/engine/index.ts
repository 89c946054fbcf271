/**
 * The training engine (mmengine's design): a {@link Runner} built from a
 * config runs the train/val/test loops; optimizers follow torch.optim's
 * update rules; LR schedulers follow mmengine's (chained, active in
 * `[begin, end)`); hooks run at mmengine's stages in priority order.
 *
 * @example
 * ```ts
 * import { loadConfig } from '../config/index.js';
 * import { HOOKS } from '../registry.js';
 * import { Hook, Runner } from '../engine/index.js';
 *
 * class PrintEpochHook extends Hook {
 *   override afterTrainEpoch(r: Runner) { console.log('finished epoch', r.epoch); }
 * }
 * HOOKS.register(PrintEpochHook);
 *
 * const cfg = await loadConfig('configs/retinanet/retinanet_r18_shapes.ts', { cfgOptions: ['trainCfg.maxEpochs=2'] });
 * cfg.customHooks = [{ type: 'PrintEpochHook', priority: 'LOW' }];
 * const runner = new Runner(cfg, { configFile: 'configs/retinanet/retinanet_r18_shapes.ts' });
 * await runner.train();   // work_dirs/retinanet_r18_shapes/{epoch_N.safetensors, last_checkpoint, <timestamp>/...}
 * await runner.test();
 * ```
 */
export * from './optim/optimizers.js';
export * from './optim/optim_wrapper.js';
export * from './optim/schedulers.js';
export * from './hooks/hook.js';
export * from './hooks/index.js';
export * from './data.js';
export * from './logging.js';
export * from './train_step.js';
export * from './loops.js';
export * from './runner.js';
export * from './complexity.js';
export * from './plot.js';
export * from './register_all.js';
