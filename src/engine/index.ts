/**
 * The training engine: Runner, loops, hooks, optimizers and LR schedulers.
 */
export * from './optim/optimizers.js';
export * from './optim/optim_wrapper.js';
export * from './optim/schedulers.js';
export * from './hooks/hook.js';
export * from './hooks/builtin.js';
export * from './data.js';
export * from './logging.js';
export * from './train_step.js';
export * from './loops.js';
export * from './runner.js';
export * from './complexity.js';
export * from './plot.js';
