export * from './module.js';
export * from './layers.js';
export * from './checkpoint.js';
export * as init from './init.js';
export { setInitSeed, biasInitWithProb } from './init.js';
