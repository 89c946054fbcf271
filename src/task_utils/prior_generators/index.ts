/**
 * Prior generators (mmdetection `task_modules/prior_generators`): anchors
 * for RetinaNet / Faster R-CNN (`AnchorGenerator`), SSD
 * (`SSDAnchorGenerator`), YOLO (`YOLOAnchorGenerator`) and points for
 * anchor-free heads (`MlvlPointGenerator`). Values are computed with float32
 * rounding at the same steps as mmdetection's torch code, so they agree bit
 * for bit. Shifting base anchors over the grid is the `TfdetGridAnchors`
 * op (`src/ops/anchors`: typed arrays, WGSL, GLSL). Each generator registers
 * itself in TASK_UTILS.
 */
export { AnchorGenerator, SSDAnchorGenerator } from './anchor_generator.js';
export type { AnchorGeneratorConfig, SSDAnchorGeneratorConfig } from './anchor_generator.js';
export { YOLOAnchorGenerator, type YOLOAnchorGeneratorConfig } from './yolo_anchor_generator.js';
export { MlvlPointGenerator, type MlvlPointGeneratorConfig } from './point_generator.js';
export { featmapStrides } from './base_prior_generator.js';
