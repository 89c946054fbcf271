export * from './optim/optimizers.js';
export * from './optim/optim_wrapper.js';
export * from './optim/schedulers.js';
