export * from './config.js';
export * from './validate.js';
