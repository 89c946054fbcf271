/** Decode heads of the segmentors (mmseg's `decode_heads`), registered in MODELS. */
export * from './decode_head.js';
export * from './fcn_head.js';
export * from './aspp_head.js';
export * from './lraspp_head.js';
