/** Drawing detections, instance masks, label maps and ground truth on images. */
export * from './draw.js';
export * from './seg.js';
