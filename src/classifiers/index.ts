export * from './cls_head.js';
export * from './image_classifier.js';
export * from './accuracy.js';
