/** Dense heads (registered in MODELS): AnchorHead, RetinaHead, FCOSHead, SSDHead. */
export * from './types.js';
export * from './dense_utils.js';
export * from './anchor_head.js';
export * from './retina_head.js';
export * from './fcos_head.js';
export * from './ssd_head.js';
export * from './rpn_head.js';
export * from './yolov3_head.js';
