/**
 * Data transforms, each registered in TRANSFORMS (by its class name) where it is defined.
 */
export * from './compose.js';
export * from './formatting.js';
export { currentSize, keepInstances, masksToBoxes, sampleRng } from './sample_utils.js';
export * from './resize.js';
export * from './flip.js';
export * from './crop.js';
export * from './expand.js';
export * from './pad.js';
export * from './loading.js';
export * from './photometric.js';
export {
  ensureDecoded,
  imageFromRaw,
  probeImage,
  resizeImage,
  resolveImage,
  RESIZE_KERNEL,
  SHARP_INPUT,
} from './decode.js';
export { cropPlane, flipPlane, placePlane, resizeNearest } from './planes.js';
export { composeColorMaps, identityColorMap, materialize, pushColorMap } from './color_map.js';
