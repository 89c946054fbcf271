/**
 * Evaluation: COCO bbox/segm (pycocotools-exact), VOC mAP and semantic
 * segmentation metrics, as streaming metrics registered in `METRICS`
 * (`CocoMetric`, `VOCMetric`, `SegMetric`) and as plain functions
 * (`evaluateCoco`, `evalMap`, `segMetricsFromAreas`).
 */
export * from './coco_format.js';
export * from './coco_check.js';
export * from './coco_eval.js';
export * from './metric.js';
export * from './coco_metric.js';
export * from './voc_eval.js';
export * from './voc_metric.js';
export * from './seg_metric.js';
