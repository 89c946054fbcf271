export * from './fpn.js';
export * from './channel_mapper.js';
export * from './ssd_neck.js';
export * from './yolov3_neck.js';
