/**
 * tfdet: object detection and segmentation on TensorFlow.js.
 *
 * @packageDocumentation
 */
export * from './registry.js';
export * from './config/index.js';
export * from './backend/index.js';
export * from './nn/index.js';
