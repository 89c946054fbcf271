/** Mask heads of the RoI heads (registered in MODELS): FCNMaskHead, and their mask geometry. */
export * from './fcn_mask_head.js';
export * from './mask_ops.js';
