export * from './torchvision_detection.js';
export * from './mmdet.js';
