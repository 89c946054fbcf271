/**
 * tfdet: object detection and segmentation on TensorFlow.js.
 *
 * @packageDocumentation
 */
export * from './registry.js';
export * from './structures/index.js';
export * from './config/index.js';
export * from './backend/index.js';
export * from './nn/index.js';
export * from './ops/index.js';
export * from './masks/index.js';
export * from './evaluation/index.js';
export * from './datasets/index.js';
export * from './visualization/index.js';
export * from './backbones/index.js';
export * from './necks/index.js';
export * from './classifiers/index.js';
export * from './converters/index.js';
export * from './losses/index.js';
export * from './task_utils/index.js';
export * from './heads/index.js';
export * from './roi_heads/index.js';
export * from './detectors/index.js';
export * from './segmentors/index.js';
export * from './engine/index.js';
