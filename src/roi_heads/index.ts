/**
 * RoI heads of two-stage detectors (registered in MODELS): StandardRoIHead,
 * the box heads (ConvFCBBoxHead, Shared2FCBBoxHead) and, when present, the
 * mask heads.
 */
import '../heads/index.js';
export * from './bbox_heads/convfc_bbox_head.js';
export * from './standard_roi_head.js';
export * from './roi_extractors/index.js';
export * from './mask_heads/index.js';
