/**
 * Data transforms, registered in TRANSFORMS by class name.
 */
import { TRANSFORMS } from '../../registry.js';
import { FilterAnnotations, PackDetInputs, PackSegInputs } from './formatting.js';
import { MinIoURandomCrop, RandomCrop } from './crop.js';
import { Expand } from './expand.js';
import { RandomFlip } from './flip.js';
import { Pad } from './pad.js';
import { RandomResize, Resize } from './resize.js';
import { LoadAnnotations, LoadImageFromFile } from './loading.js';
import { Normalize, PhotoMetricDistortion } from './photometric.js';

for (const t of [
  LoadImageFromFile,
  LoadAnnotations,
  Resize,
  RandomResize,
  RandomFlip,
  RandomCrop,
  MinIoURandomCrop,
  Expand,
  Pad,
  PhotoMetricDistortion,
  Normalize,
  FilterAnnotations,
  PackDetInputs,
  PackSegInputs,
]) {
  TRANSFORMS.register(t);
}

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
