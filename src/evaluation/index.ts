/**
 * Evaluation: COCO bbox/segm (pycocotools-exact), VOC mAP and semantic
 * segmentation metrics, as streaming metrics registered in `METRICS`
 * (`CocoMetric`, `VOCMetric`, `SegMetric`) and as plain functions
 * (`evaluateCoco`, `evalMap`, `segMetricsFromAreas`).
 */
export * from './cocoFormat.js';
export * from './cocoEval.js';
export * from './metric.js';
export * from './cocoMetric.js';
export * from './vocEval.js';
export * from './vocMetric.js';
export * from './segMetric.js';
