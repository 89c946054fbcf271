/**
 * Evaluation: COCO bbox/segm (pycocotools-exact), VOC mAP and semantic
 * segmentation metrics, as streaming metrics registered in `METRICS` and as
 * plain functions.
 */
export * from './cocoFormat.js';
export * from './cocoEval.js';
