export * from './torchvision_detection.js';
