/** Losses (registered in MODELS as mmdet): focal, cross-entropy, smooth L1 / L1, GIoU. */
export * from './utils.js';
export * from './focal_loss.js';
export * from './cross_entropy_loss.js';
export * from './smooth_l1_loss.js';
export * from './iou_loss.js';
export * from './mse_loss.js';
