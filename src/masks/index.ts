/**
 * COCO mask API: run-length encoding, decoding, area, boxes, IoU, merging and
 * polygon rasterisation, bit-identical to COCO's maskApi / pycocotools.mask.
 */
export * from './codec.js';
export * from './iou.js';
export * from './rasterize.js';
