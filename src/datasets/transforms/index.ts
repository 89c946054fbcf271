/**
 * Data transforms, registered in TRANSFORMS by class name.
 */
import { TRANSFORMS } from '../../registry.js';
import { FilterAnnotations, PackDetInputs, PackSegInputs } from './formatting.js';
import {
  Expand,
  MinIoURandomCrop,
  Pad,
  RandomCrop,
  RandomFlip,
  RandomResize,
  Resize,
} from './geometric.js';
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
  if (!TRANSFORMS.has(t.name)) TRANSFORMS.register(t);
}

export * from './compose.js';
export * from './formatting.js';
export * from './geometric.js';
export * from './loading.js';
export * from './photometric.js';
export {
  composeColorMaps,
  cropPlane,
  ensureDecoded,
  flipPlane,
  identityColorMap,
  imageFromRaw,
  materialize,
  placePlane,
  probeImage,
  pushColorMap,
  resizeImage,
  resizeNearest,
  resolveImage,
  RESIZE_KERNEL,
  SHARP_INPUT,
} from './pixels.js';
