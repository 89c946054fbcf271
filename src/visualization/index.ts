/** Drawing detections and ground truth on images. */
export * from './draw.js';
