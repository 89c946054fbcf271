/**
 * Task utilities of the heads, registered in TASK_UTILS: assigners,
 * samplers, prior (anchor / point) generators and box coders. Importing this
 * module registers all of them (and the ops they use).
 */
import '../ops/index.js';
export * from './assigners.js';
export * from './samplers.js';
export * from './grid_assigner.js';
export * from './prior_generators/index.js';
export * from './coders/index.js';
