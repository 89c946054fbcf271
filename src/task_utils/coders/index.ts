/**
 * Box coders (mmdetection `task_modules/coders`), registered in TASK_UTILS:
 * `DeltaXYWHBBoxCoder`, `DistancePointBBoxCoder`, `SSDVarianceBBoxCoder`
 * and `YOLOBBoxCoder`.
 */
export * from './bbox_coders.js';
export * from './yolo_bbox_coder.js';
