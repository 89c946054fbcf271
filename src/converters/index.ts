export * from './torchvision_detection.js';
export * from './torchvision_segmentation.js';
export * from './mmdet.js';
