/**
 * tfdet: object detection and segmentation on TensorFlow.js.
 *
 * @packageDocumentation
 */
export * from './registry.js';
export { ConfigError, validateArgs } from './config/validate.js';
