/**
 * Detectors (glue over backbone, neck and head), registered in MODELS.
 * Importing this module registers the heads, losses and task utils too.
 */
import '../heads/index.js';
export * from './base.js';
export * from './single_stage.js';
export * from './two_stage.js';
export * from './yolo.js';
