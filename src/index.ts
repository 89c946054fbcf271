/**
 * tfdet: object detection and segmentation on TensorFlow.js.
 *
 * @packageDocumentation
 */
export * from './registry.js';
export { ConfigError, validateArgs, formatValue } from './config/validate.js';
export * from './backend/index.js';
export * from './nn/index.js';
